"""The three ways things go wrong, kept apart so each is reported the right way.

- `KernelError`: the simulated kernel refuses a syscall; becomes `= -1 EXXX (...)`.
- `TraceError`: the user's input is malformed; shown as `file:line: msg`, exit 2.
- `MountsimBug`: an invariant of the model broke; one line, exit 3 (traceback with --debug).
- `StepRefused`: the live sandbox will not run a step of an untrusted trace (it could reach
  the host); the run is "not comparable", exit 4.
"""

from __future__ import annotations

import os


class KernelError(Exception):
    """A syscall failed with *errno*. *why* and *where* are kept as data for explanations.

    Model code raises this and never returns -errno; only the syscall layer catches it.
    """

    __slots__ = ("errno", "why", "where")

    def __init__(self, errno: int, why: str = "", where: str = "") -> None:
        super().__init__(errno, why, where)
        self.errno = errno
        self.why = why
        self.where = where

    def __str__(self) -> str:
        from .uapi import errno_name
        s = f"{errno_name(self.errno)} ({os.strerror(self.errno)})"
        if self.why:
            s += f": {self.why}"
        if self.where:
            s += f" [{self.where}]"
        return s


class TraceError(Exception):
    """Malformed user input at *path*:*line*."""

    def __init__(self, path: str, line: int, msg: str) -> None:
        super().__init__(path, line, msg)
        self.path, self.line, self.msg = path, line, msg

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.msg}"


class MountsimBug(Exception):
    """An internal invariant of the model does not hold: a bug in mountsim."""


class StepRefused(Exception):
    """The live sandbox refused to run a step; str() is `file:line: refused: reason`."""
