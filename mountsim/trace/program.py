"""The program contract shared by the trace parser, every backend, and the generators.

Model-only. A `Program` is what a trace file means once parsed: a start state, a list of
`Step`s (one syscall each, arguments decoded into Python values in kernel order), and an
optional `expect-tree`. Backends execute Steps one at a time through a `Session`
(backends/base.py) and answer a `Result`; replay compares it with the recorded one.

Identifiers in a Step are always the *trace's own numbers*: `pid` is the trace's pid,
fd arguments are the trace's fd numbers, and `label` is the trace's number for what a
successful call creates (an fd, or a child pid for fork/clone). Each backend keeps its own
map from trace numbers to its own objects, so a model and a real kernel can run the same
program although their real fd numbers and pids differ.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

# The syscall table (argument names and kinds; what returns an fd or a pid) lives in
# signatures.py, which imports nothing: the live backend's sandbox side needs it alone.
from .. import uapi
from .signatures import RETURNS_FD, RETURNS_PID, SYSCALLS  # noqa: F401 (re-exported)

# Struct fields, in the kernel's order (strace prints them so).
STRUCTS: dict[str, tuple[str, ...]] = {
    "clone_args": ("flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack",
                   "stack_size", "tls", "set_tid", "set_tid_size", "cgroup"),
    "mount_attr": ("attr_set", "attr_clr", "propagation", "userns_fd"),
    "open_how": ("flags", "mode", "resolve"),
    "cap_user_header": ("version", "pid"),
    "cap_user_data": ("effective", "permitted", "inheritable"),     # strace joins v3's two
    # the u32 after size is one union: `spare` (6.18), `mnt_ns_fd` / `mnt_fd` (7.0); a
    # trace spells it one way, kept as written (syscalls/stat.py:mnt_id_req_fd() reads it)
    "mnt_id_req": ("size", "spare", "mnt_ns_fd", "mnt_fd", "mnt_id", "param", "mnt_ns_id"),
}


@attrs.frozen(slots=True)
class Result:
    """What a syscall returned: `ret` (>= 0, or -1 with `errno` a name like "EINVAL")."""

    ret: int
    errno: str | None = None
    out: Any = None          # decoded output buffer (statmount struct, listmount ids) if any

    @property
    def ok(self) -> bool:
        return self.ret != -1 or self.errno is None

    def __str__(self) -> str:
        if self.errno:
            return f"-1 {self.errno}"
        return str(self.ret)


@attrs.frozen(slots=True)
class Step:
    """One syscall of a program, with its arguments decoded in kernel order."""

    pid: int
    name: str
    args: tuple[Any, ...]
    result: Result | None = None    # recorded result; None when the trace does not say
    label: int | None = None        # trace number of the fd / child pid this call creates
    out: Any = None                 # what the trace printed in the output buffer, if any
    file: str = "<program>"
    line: int = 0
    text: str = ""                  # the source line, for messages

    def arg(self, name: str) -> Any:
        """Argument by its kernel parameter name (SYSCALLS)."""
        for i, (n, _) in enumerate(SYSCALLS[self.name]):
            if n == name:
                return self.args[i] if i < len(self.args) else None
        raise KeyError(name)


@attrs.frozen(slots=True)
class ExpectRow:
    """One row of an `expect-tree` block."""

    mountpoint: str
    fstype: str
    propagation: tuple[str, ...]    # () for private, else ("shared:1", "master:2", ...)
    locked: bool | None             # None: not asserted
    line: int = 0


@attrs.frozen(slots=True)
class Note:
    """Something replay skipped rather than failed: out of scope or unknown to the model."""

    file: str
    line: int
    msg: str


@attrs.define(slots=True)
class Program:
    """A parsed trace (or a generated program) ready to run on any backend."""

    file: str = "<program>"
    kernel: str | None = None               # "# kernel:" header; None = default version
    main_pid: int = 1
    start_mountinfo: list[str] = attrs.Factory(list)
    start_dirs: list[str] = attrs.Factory(list)
    # "# start-caps:" the first process's capability sets, /proc/<pid>/status's names
    # (CapInh, CapPrm, CapEff, CapBnd, CapAmb) to values; None: this machine's
    start_caps: dict[str, int] | None = None
    steps: list[Step] = attrs.Factory(list)
    expect_tree: list[ExpectRow] | None = None
    expect_line: int = 0
    notes: list[Note] = attrs.Factory(list)   # lines the parser ignored on purpose
    unmodelled: dict[str, int] = attrs.Factory(dict)  # calls of syscalls the model lacks, by name
    first_unmodelled: int = 0                 # the line of the first of them
    start_mountinfo_lines: list[int] = attrs.Factory(list)  # the line of each start-mountinfo
    start_mountinfo_file: str | None = None   # where they came from (None: this trace's header)
    # step index -> (pid, fd) that a call the model does not know made (pipe2, dup3,
    # openat2, …) just before that step: whatever the model has at that number is stale
    made_fds: dict[int, list[tuple[int, int]]] = attrs.Factory(dict)
    # step index -> (pid, dfd, path) of a successful execve/execveat just before that step
    # (path "" with dfd: fexecve): what /proc/<pid>/exe leads to from then on
    execs: dict[int, list[tuple[int, int, str]]] = attrs.Factory(dict)
    start_copy: list[str] = attrs.Factory(list)   # the same table as a fresh copy lists it
    start_copy_lines: list[int] = attrs.Factory(list)
    start_copy_file: str | None = None
    start_contents_known: bool = False        # `# start-contents: complete`
    start_unknown: bool = False               # raw strace output, no header: an unknown machine
    # strace -e trace=… output that shows none of the calls every process makes, so not
    # the calls that made files either: contents unknown (parse.filtered_trace())
    filtered: bool = False


def fds_named(step: Step) -> list[int]:
    """fds_used() and the fds *step* reaches through /proc/self/fd/N (thread-self, its own
    pid): programs mount on an O_PATH fd so (firejail, runc)."""
    link = re.compile(rf"^/proc/(?:self|thread-self|{step.pid})/fd/(\d+)")
    return fds_used(step) + [int(m.group(1)) for a in step.args if isinstance(a, str)
                             for m in [link.match(a)] if m]


def fds_used(step: Step) -> list[int]:
    """The fds *step* passes to the kernel: its fd arguments, fsconfig's aux fd, an idmap's
    userns_fd."""
    spec = SYSCALLS.get(step.name, ())
    fds = [a for (_, kind), a in zip(spec, step.args)
           if kind.rstrip("?") == "fd" and isinstance(a, int) and a >= 0]
    if step.name == "fsconfig" and len(step.args) > 4 and step.args[1] in (
            uapi.FSCONFIG_SET_PATH, uapi.FSCONFIG_SET_PATH_EMPTY, uapi.FSCONFIG_SET_FD):
        if isinstance(step.args[4], int) and step.args[4] >= 0:
            fds.append(step.args[4])
    if step.name == "mount_setattr" and isinstance(step.args[3], dict):
        attr = step.args[3]
        if int(attr.get("attr_set") or 0) & uapi.MOUNT_ATTR_IDMAP:
            fds.append(int(attr.get("userns_fd") or 0))
    return fds
