"""Where a picture or a view gets its state: a trace replayed on the model (to its end or to a
line), or mountinfo files of a real machine. Model-only; shared by `show`, `draw`, `why`.
"""

from __future__ import annotations

import attrs

from ..backends.model import ModelBackend, ModelSession
from ..errors import TraceError
from ..trace.parse import parse_file
from ..trace.program import Program
from ..trace.replay import Report, replay
from ..versions import KERNELS


@attrs.define
class Replayed:
    session: ModelSession
    report: Report


def replay_file(path: str, at: int | None = None, kernel: str | None = None,
                on_start=None, on_step=None) -> Replayed:
    """Replay the trace at *path* on the model, stopping after the step on line *at*.

    *on_start(session)* runs before the first step; *on_step* goes to replay(). Errors:
    TraceError for a file that does not parse, an unknown kernel, or an *at* that names no
    step.
    """
    program = parse_file(path)
    if at is not None:
        if not any(s.line == at for s in program.steps):
            raise TraceError(path, at, "no syscall on this line (--at names a step's line)")
        program = attrs.evolve(program, steps=[s for s in program.steps if s.line <= at],
                               expect_tree=None)
    return replay_program(program, kernel, on_start, on_step)


def replay_program(program: Program, kernel: str | None = None, on_start=None,
                   on_step=None) -> Replayed:
    """Replay a parsed *program* on the model (see replay_file())."""
    v = kernel or program.kernel
    if v is not None and v not in KERNELS:
        raise TraceError(program.file, 1, f"unknown kernel version {v!r}")
    session = ModelBackend(kernel).start(program)
    if on_start is not None:
        on_start(session)
    return Replayed(session, replay(program, session, on_step=on_step))


def read_text(path: str) -> str:
    """A mountinfo file's text. Errors: TraceError (line 0) when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as e:
        raise TraceError(path, 0, f"cannot read: {e.strerror}") from None


def pick_pid(r: Replayed, pid: int | None, path: str) -> int:
    """*pid*, or the process that issued the last line. Errors: TraceError if not alive."""
    p = r.report.final_pid if pid is None else pid
    if p not in r.session.pids():
        raise TraceError(path, 0, f"no live process {p} at the end of the replay")
    return p
