"""`syscall_0x1c9(...)`: a mount-API call printed raw by a strace that predates its decoder.

Model-only. strace prints a syscall it has no decoder for as `syscall_0x<nr>(` six hex
arguments `) = <hex result>` (strace 6.1 does so for statmount and listmount, strace < 5.2
for open_tree … fspick, < 5.12 for mount_setattr). The numbers below are the unified
syscall table's (include/uapi/asm-generic/unistd.h, and the same on x86-64 from 424 on).
An argument strace printed as a number is recovered when its kind is a number (fd, flags,
int, mode), when it is a NULL pointer (path, str, struct), or when it is an output buffer
(whose contents the model computes itself). A non-NULL pointer to input is not: then the
call is noted, never guessed.
"""

from __future__ import annotations

import re

from .program import SYSCALLS

RAW_NR: dict[int, str] = {
    428: "open_tree", 429: "move_mount", 430: "fsopen", 431: "fsconfig", 432: "fsmount",
    433: "fspick", 435: "clone3", 442: "mount_setattr", 457: "statmount", 458: "listmount",
}
_RAW = re.compile(r"^syscall_0x([0-9a-f]+)\(")


def raw_name(body: str) -> tuple[str, str] | None:
    """(`syscall_0x1c9`, `statmount`) when *body* is a raw call of a known number."""
    m = _RAW.match(body)
    if not m:
        return None
    name = RAW_NR.get(int(m.group(1), 16))
    return (m.group(0)[:-1], name) if name else None


def raw_args(name: str, values: list) -> list | str:
    """The raw hex arguments as the decoded call's values (parse.py's `("num", …)` and None
    for NULL), or why they cannot be recovered."""
    out: list = []
    for (pname, kind), v in zip(SYSCALLS[name], values):
        kind = kind.rstrip("?")
        if not (isinstance(v, tuple) and v[0] == "num"):
            return f"{pname} is not a number"
        num = int(v[1], 0)
        if kind in ("fd",) and num >= 1 << 31:
            num -= 1 << 32                     # an int: 0xffffff9c is AT_FDCWD
        if kind.startswith("out:"):
            out.append(None)
        elif kind in ("path", "str") or kind.startswith("struct:"):
            if num:
                return f"{pname} is a pointer strace did not read"
            out.append(None)
        else:
            out.append(("num", str(num)))
    return out


def unread_struct(name: str, values: list) -> str | None:
    """The struct argument strace printed as an address (it could not read it: EFAULT, or
    a size too small), or None. Such a call cannot be replayed; the caller notes it."""
    for (pname, kind), v in zip(SYSCALLS.get(name, ()), values):
        if isinstance(v, tuple) and v and v[0] == "named":
            v = v[2]
        if kind.startswith("struct:") and isinstance(v, tuple) and v[0] == "num" \
                and int(v[1], 0) != 0:
            return pname
    return None
