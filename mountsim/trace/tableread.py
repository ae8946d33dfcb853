"""Reads of /proc/<pid>/{mountinfo,mounts,mountstats} (and /proc/mounts) in a trace that
started on a table the model only partly knows. Model-only.

When a trace starts from `# start-mountinfo:` lines (or from an unknown machine), the ids
the kernel gives new mounts depend on every mount the recording machine had, in every
namespace: the model cannot know them, and a 1,024-byte read(2) of the real table ends
at another line than the model's. Such reads are compared as a whole: the texts of all
the reads of one open file, up to end of file, are joined and compared with the model's
whole table after both are normalised (mount ids, peer groups and devices renumbered in
order of first appearance, trace/normalise.py). Each read then answers what was recorded.

mounts and mountstats print no ids or devices (normalise() passes their lines through),
but their rows are in the same unique-id order and one read(2) of them ends wherever the
recording machine's longer or shorter lines put it, so they are grouped and compared
whole the same way, exactly.
"""

from __future__ import annotations

import re

from .program import Program, Step

_TABLE = re.compile(r"(^|/)(mountinfo|mounts|mountstats)$")


def _table_fd_events(program: Program):
    """The steps as they touch fds open on a table file (a path ending in "mountinfo",
    "mounts" or "mountstats"), per (pid, fd): ("open", i, step, key) where one is opened,
    ("end", …) where such an fd is closed or its number reused, ("use", …) for a read or
    lseek on it."""
    open_tables: set[tuple[int, int]] = set()
    for i, s in enumerate(program.steps):
        if s.name in ("open", "openat") and s.result is not None and not s.result.errno:
            path = s.args[0] if s.name == "open" else s.args[1]
            key = (s.pid, s.result.ret)
            if key in open_tables:
                open_tables.discard(key)
                yield "end", i, s, key
            if isinstance(path, str) and _TABLE.search(path):
                open_tables.add(key)
                yield "open", i, s, key
        elif s.name == "close" and s.args and (s.pid, s.args[0]) in open_tables:
            open_tables.discard((s.pid, s.args[0]))
            yield "end", i, s, (s.pid, s.args[0])
        elif s.name in ("read", "lseek") and s.args and (s.pid, s.args[0]) in open_tables:
            yield "use", i, s, (s.pid, s.args[0])


def table_read_groups(program: Program) -> dict[int, list[int]]:
    """step index of the first read of a table file -> the indices of all its reads.

    A group is the reads of one (pid, fd) after a successful open of a table file, up to a
    read that returns 0, a close of the fd or another open on it.
    """
    groups: dict[int, list[int]] = {}
    current: dict[tuple[int, int], list[int]] = {}
    for event, i, s, key in _table_fd_events(program):
        if event == "open":
            current[key] = []
        elif event == "end":
            current.pop(key, None)
        elif s.name == "read" and key in current:
            group = current[key]
            if not group:
                groups[i] = group
            group.append(i)
            if s.result is None or s.result.errno or s.result.ret == 0:
                current.pop(key)
    return groups


def table_positions(program: Program) -> set[int]:
    """Indices of the lseek(SEEK_CUR or SEEK_END) calls on an open table file. The position
    they answer counts bytes of the recording machine's table, whose ids and devices have
    other lengths than the model's: only whether they succeed is comparable (df reads
    /proc/self/mountinfo to its end and asks where it is)."""
    return {i for event, i, s, _ in _table_fd_events(program)
            if event == "use" and s.name == "lseek" and len(s.args) > 2 and s.args[2] != 0}


def recorded_text(program: Program, group: list[int]) -> str | None:
    """The joined text of a group's recorded reads; None where strace did not print it all
    (a string cut by -s) or a read failed."""
    parts = []
    for i in group:
        s = program.steps[i]
        if s.result is None or s.result.errno:
            return None
        if s.result.ret == 0:
            continue
        text = s.out if isinstance(s.out, str) else None
        if text is None or type(text).__name__ == "Truncated":
            return None
        parts.append(text)
    return "".join(parts)


def drain(session, step: Step) -> str:
    """Read the model's table through *step*'s fd to end of file; its whole text."""
    out = []
    while True:
        got = session.execute(Step(step.pid, "read", (step.args[0], None, 1 << 16),
                                   file=step.file, line=step.line))
        if got.errno or not got.ret:
            return "".join(out)
        out.append(got.out if isinstance(got.out, str) else "")
