"""Model-only, for memory: a kernel object's rarely-set fields packed into fewer slots.

A Python slot costs 8 bytes an object whatever it holds. A million mounts bring a million
Mount objects, two million dentries and a million superblocks, so three booleans kept as
bits of one int field, or three never-together references kept in one field, save tens of
megabytes. The kernel packs the same way (d_flags, s_flags, mnt_t_flags); the attribute
names stay the model's, so no caller changes.
"""

from __future__ import annotations

from typing import Any


def _accessors(field: str, get: str, set_: str, **env: Any) -> tuple[Any, Any]:
    """A getter and a setter compiled for one slot name, as attrs and namedtuple compile
    theirs: `self.bits` in the code itself, not getattr(self, "bits") (a third cheaper on
    the path walk's hot reads)."""
    assert field.isidentifier()
    ns: dict[str, Any] = {"shared_int": shared_int, **env}
    exec(f"def get(self):\n    {get.format(f='self.' + field)}\n"
         f"def set_(self, v):\n    {set_.format(f='self.' + field)}\n", ns)
    return ns["get"], ns["set_"]


def bit(field: str, mask: int, doc: str) -> property:
    """A bool attribute stored as *mask* in the int slot *field*. Setting it to what it
    already is writes nothing (path walks clear mnt_expiry_mark on every call)."""
    get, set_ = _accessors(
        field, f"return bool({{f}} & {mask})",
        f"n = {{f}} | {mask} if v else {{f}} & ~{mask}\n    if n != {{f}}: {{f}} = shared_int(n)")
    return property(get, set_, doc=doc)


def bits(field: str, shift: int, width: int, doc: str, values: tuple = ()) -> property:
    """An int attribute stored in *width* bits from *shift* of the int slot *field*; with
    *values*, an attribute taking one of them (stored as its index)."""
    mask = ((1 << width) - 1) << shift
    n = f"({{f}} & {mask}) >> {shift}"
    code = "index[v]" if values else "v"
    get, set_ = _accessors(
        field, f"return values[{n}]" if values else f"return {n}",
        f"{{f}} = shared_int({{f}} & ~{mask} | ({code} << {shift}) & {mask})",
        values=values, index={v: i for i, v in enumerate(values)})
    return property(get, set_, doc=doc)


def variant(field: str, kind: Any, doc: str) -> property:
    """An attribute stored in the slot *field* shared with others that never hold a value
    at the same time; it reads as None while *field* holds something not of *kind*
    (a type, or a predicate on the value). Setting None clears only its own value."""
    is_kind = kind if not isinstance(kind, type) else (lambda a: type(a) is kind)
    get, set_ = _accessors(
        field, "a = {f}\n    return a if a is not None and is_kind(a) else None",
        "if v is not None or is_kind({f}): {f} = v", is_kind=is_kind)
    return property(get, set_, doc=doc)


INTS: dict[int, int] = {}


def shared_int(v: int) -> int:
    """One int object per distinct value: Python caches only -5..256, so every mount whose
    flags hold MNT_SHARED or MNT_LOCKED, every 0o755 directory, would carry its own 32-byte
    int. Flag words, modes and owners take few distinct values (tens in a trace, a few
    thousand over a whole campaign), so the table stays small. (A loop over every mount of
    a namespace calls INTS.setdefault(v, v) itself: the same, without a Python call.)"""
    return INTS.setdefault(v, v)
