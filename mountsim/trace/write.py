"""Programs back to trace text (strace syntax): the inverse of parse.py.

Used to save shrunk Hypothesis programs and recordings so `mountsim replay`/`diff` can run
them. Flags are printed by name (uapi.flags_to_str), so a saved trace reads like strace's.
"""

from __future__ import annotations

from typing import Any

from .. import uapi
from .program import STRUCTS, SYSCALLS, Program, Result, Step

_STRUCT_FAMILY = {("clone_args", "flags"): "clone", ("mount_attr", "attr_set"): "mount_attr",
                  ("mount_attr", "attr_clr"): "mount_attr", ("mount_attr", "propagation"): "mount",
                  ("mnt_id_req", "param"): "statmount"}


_C_ESCAPES = {ord("\n"): "\\n", ord("\t"): "\\t", ord("\r"): "\\r", ord("\v"): "\\v",
              ord("\f"): "\\f"}


def _c_string(s: str) -> str:
    """A C string as strace prints it: \\n, \\t and friends by name, other bytes in octal,
    three digits when a digit follows (so "\\0124" is never read back as "\\124")."""
    data = s.encode("utf-8", errors="surrogateescape")
    out = []
    for i, ch in enumerate(data):
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= ch < 127:
            out.append(c)
        elif ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        else:
            nxt = data[i + 1:i + 2]
            out.append(f"\\{ch:03o}" if nxt.isdigit() else f"\\{ch:o}")
    return '"' + "".join(out) + '"'


def _flags(family: str, v: int) -> str:
    if v == 0:
        return "0"
    if family == "clone":
        sig = v & 0xFF
        rest = v & ~0xFF
        parts = [uapi.flags_to_str("clone", rest)] if rest else []
        if sig:
            parts.append("SIGCHLD" if sig == uapi.SIGCHLD else str(sig))
        return "|".join(parts)
    return uapi.flags_to_str(family, v)


def _arg(call: str, kind: str, v: Any) -> str:
    kind = kind.rstrip("?")
    if v is None:
        return "NULL"
    if kind in ("path", "str"):
        return _c_string(v)
    if kind == "fd":
        return "AT_FDCWD" if v == uapi.AT_FDCWD else str(v)
    if kind == "mode":
        return f"0{v:o}"
    if kind.startswith("flags:"):
        if call == "unshare" and v & uapi.UNSHARE_EMPTY_MNTNS:
            # unshare(2) never takes CLONE_PARENT_SETTID; 7.1 gave its bit this name
            rest = v & ~uapi.UNSHARE_EMPTY_MNTNS
            return "|".join(([_flags("clone", rest)] if rest else []) + ["UNSHARE_EMPTY_MNTNS"])
        return _flags(kind.split(":", 1)[1], v)
    if kind.startswith("struct:"):
        sname = kind.split(":", 1)[1]
        fields = []
        for f in STRUCTS[sname]:
            if f in v:
                fam = _STRUCT_FAMILY.get((sname, f))
                fv = v[f]
                fields.append(f"{f}=" + ("NULL" if fv is None else _flags(fam, fv) if fam else str(fv)))
        return "{" + ", ".join(fields) + "}"
    return str(v)


def _result(r: Result | None) -> str:
    if r is None:
        return "?"
    if r.errno:
        import errno as _e
        import os
        code = getattr(_e, r.errno, 0)
        return f"-1 {r.errno} ({os.strerror(code)})" if code else f"-1 {r.errno}"
    return str(r.ret)


def format_step(step: Step, main_pid: int | None = None, result: Result | None = None) -> str:
    """One trace line for *step* (its recorded result, or *result* if given)."""
    spec = SYSCALLS[step.name]
    if step.name == "clone":
        args = f"child_stack=NULL, flags={_flags('clone', step.args[0] if step.args else 0)}"
    else:
        args = ", ".join(_arg(step.name, kind, v) for (_, kind), v in zip(spec, step.args))
    res = result if result is not None else step.result
    text = res.out if res is not None and isinstance(res.out, str) else step.out
    if step.name == "read" and isinstance(text, str):      # the buffer read(2) filled
        args = f"{_arg('read', 'fd', step.args[0])}, {_c_string(text)}, {step.args[2]}"
    elif step.name in ("readlink", "readlinkat") and isinstance(text, str):   # the link body
        args = ", ".join(_c_string(text) if kind == "out:readlink" else _arg(step.name, kind, v)
                         for (_, kind), v in zip(spec, step.args))
    if res is None and step.label is not None:
        res = Result(step.label)
    prefix = "" if main_pid is not None and step.pid == main_pid else f"[pid {step.pid}] "
    return f"{prefix}{step.name}({args}) = {_result(res)}"


def format_program(program: Program, results: list[Result] | None = None) -> str:
    """The whole trace: headers, one line per step, and the expect-tree if any."""
    lines = []
    if program.kernel:
        lines.append(f"# kernel: {program.kernel}")
    lines.append(f"# main-pid: {program.main_pid}")
    for ln in program.start_mountinfo:
        lines.append(f"# start-mountinfo: {ln}")
    if program.start_dirs:
        lines.append("# start-dirs: " + " ".join(program.start_dirs))
    for i, step in enumerate(program.steps):
        res = results[i] if results is not None and i < len(results) else None
        lines.append(format_step(step, program.main_pid, res))
    if program.expect_tree is not None:
        lines.append("# expect-tree:")
        for row in program.expect_tree:
            words = " ".join(row.propagation) or "private"
            lock = "" if row.locked is None else (" locked" if row.locked else " unlocked")
            mp = "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in row.mountpoint)
            lines.append(f"# {mp} {row.fstype} {words}{lock}")
    return "\n".join(lines) + "\n"
