"""Model-only, for memory: a kernel object's rarely-set fields packed into fewer slots.

A Python slot costs 8 bytes an object whatever it holds. A million mounts bring a million
Mount objects, two million dentries and a million superblocks, so three booleans kept as
bits of one int field, or three never-together references kept in one field, save tens of
megabytes. The kernel packs the same way (d_flags, s_flags, mnt_t_flags); the attribute
names stay the model's, so no caller changes.
"""

from __future__ import annotations

from typing import Any


def bit(field: str, mask: int, doc: str) -> property:
    """A bool attribute stored as *mask* in the int slot *field*."""
    def get(self: Any) -> bool:
        return bool(getattr(self, field) & mask)

    def set_(self: Any, on: bool) -> None:
        v = getattr(self, field)
        setattr(self, field, shared_int(v | mask if on else v & ~mask))
    return property(get, set_, doc=doc)


def bits(field: str, shift: int, width: int, doc: str, values: tuple = ()) -> property:
    """An int attribute stored in *width* bits from *shift* of the int slot *field*; with
    *values*, an attribute taking one of them (stored as its index)."""
    mask = ((1 << width) - 1) << shift
    index = {v: i for i, v in enumerate(values)}

    def get(self: Any) -> Any:
        n = (getattr(self, field) & mask) >> shift
        return values[n] if values else n

    def set_(self: Any, v: Any) -> None:
        n = index[v] if values else v
        setattr(self, field, shared_int(getattr(self, field) & ~mask | (n << shift) & mask))
    return property(get, set_, doc=doc)


def variant(field: str, kind: Any, doc: str) -> property:
    """An attribute stored in the slot *field* shared with others that never hold a value
    at the same time; it reads as None while *field* holds something not of *kind*
    (a type, or a predicate on the value). Setting None clears only its own value."""
    is_kind = kind if not isinstance(kind, type) else (lambda a: type(a) is kind)

    def get(self: Any) -> Any:
        a = getattr(self, field)
        return a if a is not None and is_kind(a) else None

    def set_(self: Any, v: Any) -> None:
        if v is not None or is_kind(getattr(self, field)):
            setattr(self, field, v)
    return property(get, set_, doc=doc)


_INTS: dict[int, int] = {}


def shared_int(v: int) -> int:
    """One int object per distinct value: Python caches only -5..256, so every mount whose
    flags hold MNT_SHARED or MNT_LOCKED, every 0o755 directory, would carry its own 32-byte
    int. Flag words and modes take few distinct values."""
    return _INTS.setdefault(v, v)
