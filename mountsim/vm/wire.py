"""The VM channel's message format: JSON lines, with Programs, Steps and Results encoded.

Model-only. Both directions are JSON, never pickle: the guest runs untrusted traces, so
nothing it sends may make the host construct anything but plain data. Tuples are tagged
(`{"(": [...]}`) because backends compare outputs by equality and `(1,) != [1]`; dicts
must have string keys. `decode` builds only None/bool/int/float/str/list/tuple/dict.

A message is one line (json.dumps never emits a raw newline); `MAX_LINE` bounds what a
reader will buffer, so a guest cannot exhaust the host's memory with an endless line.
"""

from __future__ import annotations

import json
from typing import Any

from ..trace.program import Program, Result, Step

MAX_LINE = 16 << 20
_TUPLE = "("


class WireError(ValueError):
    """A message that is not what the protocol allows."""


def _enc(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, tuple):
        return {_TUPLE: [_enc(x) for x in v]}
    if isinstance(v, list):
        return [_enc(x) for x in v]
    if isinstance(v, dict):
        if not all(isinstance(k, str) for k in v) or _TUPLE in v:
            raise WireError(f"cannot encode dict keys {list(v)[:3]!r}")
        return {k: _enc(x) for k, x in v.items()}
    raise WireError(f"cannot encode {type(v).__name__}")


def _dec(v: Any) -> Any:
    if isinstance(v, list):
        return [_dec(x) for x in v]
    if isinstance(v, dict):
        if _TUPLE in v:
            if len(v) != 1 or not isinstance(v[_TUPLE], list):
                raise WireError("malformed tuple")
            return tuple(_dec(x) for x in v[_TUPLE])
        return {k: _dec(x) for k, x in v.items()}
    return v


def encode(msg: Any) -> bytes:
    """One message as a JSON line."""
    return json.dumps(_enc(msg), separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> Any:
    """One JSON line back into plain data. Raises WireError."""
    try:
        return _dec(json.loads(line))
    except (ValueError, RecursionError) as e:
        raise WireError(f"bad message: {e}") from None


def step_to_wire(s: Step) -> dict:
    return {"pid": s.pid, "name": s.name, "args": tuple(s.args), "label": s.label,
            "file": s.file, "line": s.line}


def step_from_wire(d: dict) -> Step:
    return Step(pid=int(d["pid"]), name=str(d["name"]), args=tuple(d["args"]),
                label=d.get("label"), file=str(d.get("file", "<program>")),
                line=int(d.get("line", 0)))


def program_to_wire(p: Program) -> dict:
    """The start state only: steps travel one at a time."""
    return {"file": p.file, "kernel": p.kernel, "main_pid": p.main_pid,
            "start_dirs": list(p.start_dirs), "start_mountinfo": list(p.start_mountinfo)}


def program_from_wire(d: dict) -> Program:
    return Program(file=str(d["file"]), kernel=d.get("kernel"), main_pid=int(d["main_pid"]),
                   start_dirs=[str(x) for x in d["start_dirs"]],
                   start_mountinfo=[str(x) for x in d["start_mountinfo"]])


def result_to_wire(r: Result) -> dict:
    return {"ret": r.ret, "errno": r.errno, "out": r.out}


def result_from_wire(d: Any) -> Result:
    """A Result from the guest, type-checked field by field."""
    ret = d.get("ret") if isinstance(d, dict) else None
    if not isinstance(ret, int) or isinstance(ret, bool):
        raise WireError(f"bad result {d!r:.200}")
    err = d.get("errno")
    if err is not None and not isinstance(err, str):
        raise WireError(f"bad errno {err!r:.100}")
    return Result(d["ret"], err, d.get("out"))
