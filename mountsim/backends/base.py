"""The interface every backend implements. Model-only.

A backend starts a `Session` from a Program's start state; the session executes Steps one at
a time and can show any of its processes' `/proc/<pid>/mountinfo`. Both the model and the
live kernel implement it, so `replay`, `diff` and the Hypothesis campaign are backend-agnostic.
"""

from __future__ import annotations

from typing import Protocol

from ..trace.program import Program, Result, Step


class Session(Protocol):
    def execute(self, step: Step) -> Result:
        """Run one syscall as the trace's process `step.pid`; never raises KernelError."""

    def mountinfo(self, pid: int) -> str:
        """The text of /proc/<pid>/mountinfo for trace pid *pid*, as that process reads it."""

    def pids(self) -> list[int]:
        """Trace pids of the processes alive in this session."""

    def close(self) -> None:
        """Tear down: end processes, release everything."""


class Backend(Protocol):
    name: str

    def unavailable(self) -> str | None:
        """None when usable here, else a one-line reason (for skips and messages)."""

    def start(self, program: Program) -> Session:
        """A session in the program's start state (default: the model host)."""
