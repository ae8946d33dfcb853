"""Trace files to Programs: headers, the strace line envelope, and argument decoding.

The call itself is parsed by quickcall.py when it has one of the common shapes, else by the
Lark grammar in grammar.py (the same trees either way); this module handles what is
line-level: `# ` headers and the `expect-tree` block, `[pid N]` prefixes, joining
`<unfinished ...>` with `<... name resumed>`, lines to ignore (`+++ exited`, `--- SIG`,
`strace:` notices), what a `strace -e trace=…` filter hid (filtered_trace(): forks,
files, closes), and decoding each argument by its kind (program.SYSCALLS). Any line
that cannot be understood raises TraceError(file, line, one clear sentence).
"""

from __future__ import annotations

import ast
import re
from typing import Any

import attrs

from .. import uapi
from ..errors import TraceError
from .quickcall import quick_call
from .rawcall import raw_args, raw_name, unread_struct
from .program import (RETURNS_PID, STRUCTS, SYSCALLS, ExpectRow, Note, Program, Result,
                      Step, fds_named)
from .signatures import FCNTL_CMDS, makes_fd

_PID = re.compile(r"^\[pid\s+(\d+)\]\s*")
_BARE_PID = re.compile(r"^(\d+)\s+(?=[a-z_<+\-]|\d)")    # `strace -f -o FILE` style
# -t "12:34:56", -tt "12:34:56.123456", -ttt "1700000000.123456", -r "     0.000123"
_STAMP = re.compile(r"^\s*(?:(\d\d):(\d\d):(\d\d)(\.\d+)?|(\d+\.\d+))\s+")
_UNFINISHED = re.compile(r"\s*<unfinished \.\.\.>\s*$")
_KILLED_INSIDE = re.compile(r"^<unfinished \.\.\.>\)\s*=\s*\?\s*$")
_RESUMED = re.compile(r"^<\.\.\.\s+(\w+)\s+resumed>\s*")
# `= ? ERESTARTSYS (To be restarted if SA_RESTART is set)` and the other ERESTART* codes: a
# signal interrupted the call in the kernel (include/linux/errno.h: never seen by programs)
_RESTART = re.compile(r"\)\s*=\s*\?\s+(ERESTART\w+)(?:\s+\([^()]*\))?\s*$")
_TIMING = re.compile(r"\s+<\d+\.\d+>\s*$")
_IGNORE = re.compile(r"^(--- |strace: |\s*$)")
_EXITED = re.compile(r"^\+\+\+ (?:exited with (\d+)|killed by (SIG\w+)(?: \(core dumped\))?) \+\+\+\s*$")
_CALL_NAME = re.compile(r"^(\w+)\(")
_SIGCHLD = re.compile(r"^--- SIGCHLD \{si_signo=SIGCHLD, si_code=\w+, si_pid=(\d+)\b")
# What every process of an unfiltered strace -f shows: at least one of these
_EVERY_PROCESS = frozenset({"execve", "execveat", "brk", "mmap", "munmap", "mprotect", "close",
                            "openat", "open", "read", "write", "newfstatat", "fstat",
                            "rt_sigaction", "rt_sigprocmask", "exit_group", "wait4"})
# -y/--decode-fds: `3</a/b>`, `AT_FDCWD</a>`, `3<socket:[123]>` (outside strings only)
_FD_NOTE = re.compile(r"(\b\d+|AT_FDCWD)<(?:[^<>\"]|<[^<>\"]*>)*>")
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_PROP_WORD = re.compile(r"^(shared|master|propagate_from):\d+$|^unbindable$|^private$")
_STRUCT_FAMILY = {("clone_args", "flags"): "clone", ("mount_attr", "attr_set"): "mount_attr",
                  ("mount_attr", "attr_clr"): "mount_attr", ("mount_attr", "propagation"): "mount",
                  ("mnt_id_req", "param"): "statmount", ("open_how", "flags"): "open",
                  ("open_how", "resolve"): "resolve"}


class _Ellipsis:
    """strace's `...` for elided values."""


class Truncated(str):
    """A string strace cut short (`"abc"...`, past `-s`): only a prefix of the data."""


def parse_file(path: str) -> Program:
    """Parse the trace at *path*. Errors: TraceError (also for an unreadable file)."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError as e:
        raise TraceError(path, 0, f"cannot read: {e.strerror}")
    return parse_text(text, path)


def parse_text(text: str, path: str = "<string>", pid: int | None = None) -> Program:
    """Parse trace *text*; *path* names it in error messages. *pid*: the process every
    unprefixed line belongs to (a `strace -ff -o PREFIX` file, PREFIX.<pid>)."""
    prog = Program(file=path)
    return _parse_lines(prog, [(path, n, raw, pid) for n, raw in enumerate(text.splitlines(), 1)])


def parse_ff(paths: list[str]) -> Program:
    """`strace -ff -o PREFIX` output: one file per process, PREFIX.<pid>, lines unprefixed.

    The files are merged into one trace by timestamp when every call line has one (-t, -tt,
    -ttt; ties keep file order), else file by file in the order given, with a note that the
    interleaving is unknown. Errors: TraceError for a file not named PREFIX.<pid>.
    """
    rows: list[tuple[float, int, tuple[str, int, str, int | None]]] = []
    stamped = True
    for k, path in enumerate(paths):
        suffix = path.rsplit(".", 1)[-1]
        if not suffix.isdigit():
            raise TraceError(path, 0, "an -ff file is named PREFIX.<pid>; this one has no pid")
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as e:
            raise TraceError(path, 0, f"cannot read: {e.strerror}")
        for n, raw in enumerate(text.splitlines(), 1):
            t = stamp_of(raw)
            if t is None and raw.strip() and not raw.startswith("#"):
                stamped = False
            rows.append((t or 0.0, k, (path, n, raw, int(suffix))))
    order = sorted(rows, key=lambda r: (r[0], r[1], r[2][1])) if stamped else rows
    prog = Program(file=paths[0] if paths else "<none>")
    prog = _parse_lines(prog, [r[2] for r in order])
    if not stamped:
        prog.notes.append(Note(prog.file, 0, "-ff files without timestamps: merged file by "
                               "file, the interleaving of processes is unknown (record with -tt)"))
    return prog


def _parse_lines(prog: Program, lines: list[tuple[str, int, str, int | None]]) -> Program:
    """The line loop: (file, line number, text, pid of an unprefixed line) in trace order."""
    pending: dict[int, tuple[int, str]] = {}        # pid -> (line, text before <unfinished>)
    exited: set[int] = set()
    known: set[int] = set()                         # pids the trace has created or started with
    forked_early: set[int] = set()                  # parents whose fork was emitted unfinished
    pidns = _PidNsChildren(prog)
    forks_hidden, prog.filtered, closes_hidden, parents = filtered_trace(lines)
    pid_header = headers = False
    i = 0
    while i < len(lines):
        path, n, raw, file_pid = lines[i]
        i += 1
        if raw.startswith("#"):
            i = _header(prog, [ln[2] for ln in lines], i, n, raw, path)
            pid_header = pid_header or raw[1:].strip().lower().startswith("main-pid")
            headers = True
            continue
        body, pid = _envelope(raw.rstrip())
        if pid is None:
            pid = file_pid
        if _IGNORE.match(body):
            continue
        if pid is not None and not pid_header and not prog.steps and not pending:
            prog.main_pid = pid                     # no header: the first process is main
            pid_header = True
        if pid is None:
            pid = prog.main_pid
        if pid != prog.main_pid and pid not in known:
            if _fork_before_resumed(prog, pending, forked_early, pid, path):
                pidns.saw_fork(len(prog.steps) - 1, known, spoke=True)
            elif not pidns.first_line(pid) and forks_hidden:
                _unseen_fork(prog, parents.get(pid), known - exited, pid, path, n)
        known.add(pid)
        ex = _EXITED.match(body)
        if ex:                                      # the process is gone: as exit_group()
            if pid not in exited:
                exited.add(pid)
                status = int(ex.group(1)) if ex.group(1) is not None else 0
                prog.steps.append(Step(pid, "exit_group", (status,), None, None, None,
                                       path, n, raw.strip()))
            continue
        if body.startswith("+++ "):
            raise TraceError(path, n, f"not a strace exit line: {body[:60]!r}")
        r = _RESUMED.match(body)
        if r and _KILLED_INSIDE.match(body[r.end():]) and pid in pending:
            # "<... read resumed> <unfinished ...>) = ?": the process died inside the call
            start, _ = pending.pop(pid)
            prog.notes.append(Note(prog.file, start, f"pid {pid}: {r.group(1)} never returned "
                                   "(the process was killed inside it); not replayed"))
            continue
        if _UNFINISHED.search(body):
            pending[pid] = (n, _UNFINISHED.sub("", body))
            continue
        if r:
            if pid not in pending:
                raise TraceError(path, n, f"'{r.group(1)} resumed' without an unfinished call in pid {pid}")
            n, head = pending.pop(pid)
            if pid in forked_early and _FORK_HEAD.match(head):
                forked_early.discard(pid)           # emitted when the child first spoke
                continue
            body = join_resumed(head, body[r.end():])
        before = len(prog.steps)
        _call(prog, body, pid, path, n, raw)
        if len(prog.steps) > before:
            if prog.steps[-1].name in ("exit", "exit_group"):
                exited.add(pid)
            pidns.saw_step(before, known)
    pidns.finish()
    if closes_hidden:
        _close_after_last_use(prog)
    for pid, (n, _) in pending.items():
        prog.notes.append(Note(prog.file, n, f"pid {pid}: call never resumed"))
    if prog.start_mountinfo:
        _table_error(prog.start_mountinfo, prog.start_mountinfo_lines, prog.file)
    prog.start_unknown = not headers and bool(prog.steps)
    prog.filtered = prog.filtered and bool(prog.steps)
    if prog.filtered:
        prog.notes.append(Note(prog.file, prog.steps[0].line, "a filtered trace (strace -e "
                               "trace=…) shows none of the calls that make files: the "
                               "contents of every filesystem are unknown, decided by the "
                               "recorded results"))
    return prog


_FORK_HEAD = re.compile(r"^(clone3?|v?fork)\(")


def filtered_trace(lines: list[tuple[str, int, str, int | None]]
                   ) -> tuple[bool, bool, bool, dict[int, int]]:
    """What a `strace -f -e trace=…` filter hid: (forks, the calls that made files, close),
    and child -> parent as its SIGCHLD lines tell.

    Only raw strace output is judged (no `#` header: `mountsim record` never filters), and
    only with its `+++ exited` lines. Forks are hidden when no line is a fork-like call while
    several processes speak; files, when not one line is a call that every process makes
    (execve, mmap, close, …); closes, when no line is close or close_range. SIGCHLD is
    shown whatever the filter: `P --- SIGCHLD {…, si_pid=C, …}` says C was P's child (or an
    orphan P reaped)."""
    exits = forks = every = closes = False
    pids: set[int] = set()
    parents: dict[int, int] = {}
    for _, _, raw, file_pid in lines:
        if raw.startswith("#"):
            return False, False, False, {}
        body, pid = _envelope(raw.rstrip())
        pid = pid if pid is not None else file_pid
        m = _CALL_NAME.match(body) or _RESUMED.match(body)
        if m:
            forks = forks or m.group(1) in RETURNS_PID
            every = every or m.group(1) in _EVERY_PROCESS
            closes = closes or m.group(1) in ("close", "close_range")
            pids.add(pid)
        elif body.startswith("+++ "):
            exits = True
            pids.add(pid)
        else:
            c = _SIGCHLD.match(body)
            if c and pid is not None:
                parents.setdefault(int(c.group(1)), pid)
    if not exits:
        return False, False, False, {}
    return not forks and len(pids) > 1, not every, not closes, parents


def _close_after_last_use(prog: Program) -> None:
    """A filtered trace that shows no close: each fd a shown call made is taken as closed
    right after the last call that uses it (before its number is made again), as programs
    close what they are done with; an fd the model kept open would hold its mount busy
    (umount's EBUSY) where the program had closed it. Forks copy the open fds. The closes go
    where calls the model does not see go (Program.made_fds: the model's file at that number
    is gone)."""
    last: dict[tuple[int, int], int] = {}          # (pid, fd) open -> its last use
    closed: list[tuple[int, int]] = []

    def close(key: tuple[int, int]) -> None:
        after = last.pop(key) + 1
        if after < len(prog.steps):
            prog.made_fds.setdefault(after, []).append(key)
            closed.append(key)

    for i, st in enumerate(prog.steps):
        uses = [(st.pid, fd) for fd in fds_named(st)]
        uses += [(pid, dfd) for pid, dfd, _ in prog.execs.get(i, ())]   # execveat(fd, "")
        for key in uses:
            if key in last:
                last[key] = i
        if st.name in ("exit", "exit_group"):
            for key in [key for key in last if key[0] == st.pid]:
                close(key)
        if st.label is None or st.result is None or st.result.errno:
            continue
        if st.name in RETURNS_PID:
            for (pid, fd) in [key for key in last if key[0] == st.pid]:
                last[(st.label, fd)] = i
        elif makes_fd(st.name, st.args):
            key = (st.pid, st.label)
            if key in last:
                close(key)
            last[key] = i
    for key in list(last):
        close(key)
    if closed:
        prog.notes.append(Note(prog.file, prog.steps[0].line, "a filtered trace (strace -e "
                               "trace=…) shows no close: each fd is taken as closed right "
                               "after the last call that uses it"))


def _unseen_fork(prog: Program, parent: int | None, alive: set[int], child: int,
                 path: str, n: int) -> None:
    """In a filtered trace, *child* speaks with no fork line: it is taken as forked by its
    parent (from SIGCHLD; else the trace's first process) just before its first line, so it
    has the parent's namespaces, root and fds as they are then. The fork has no recorded
    result: nothing of it is compared."""
    if parent not in alive:
        parent = prog.main_pid
    if parent not in alive:
        return                                      # noted by replay: never created
    prog.steps.append(Step(parent, "fork", (), None, child, None, path, n,
                           f"(pid {child}: no fork line in this filtered trace)"))
    if not any(note.msg.startswith("a filtered trace") for note in prog.notes):
        prog.notes.append(Note(prog.file, n, "a filtered trace (strace -e trace=…) shows no "
                               "fork: a process is taken as forked by its parent (SIGCHLD "
                               "says which, else the first process) just before its first "
                               "line"))


def join_resumed(head: str, rest: str) -> str:
    """An `<unfinished ...>` call's text joined with its `<... resumed>` rest. strace
    resumes mid-argument-list: after a comma (`readlink("/proc/self",` + `"3", 64) = 1`),
    before one, or with the "=> {...}" of a struct the call wrote back (clone3's
    parent_tid)."""
    sep = "" if not rest or rest.startswith((",", ")")) or head.endswith("(") else \
        " " if head.endswith(",") or rest.startswith("=>") else ", "
    return head + sep + rest


def _fork_before_resumed(prog: Program, pending: dict[int, tuple[int, str]],
                         forked_early: set[int], child: int, path: str) -> bool:
    """A pid the trace has not created speaks while a fork-like call is unfinished: that
    call has made it (with -f, strace prints the child's first calls before the parent's
    `<... vfork resumed> = CHILD`). Emit the fork now, returning *child*; whether one was."""
    for parent, (n, head) in sorted(pending.items(), key=lambda kv: kv[1][0]):
        if _FORK_HEAD.match(head) and parent not in forked_early:
            body = head.rstrip().rstrip(",") + f") = {child}"
            before = len(prog.steps)
            _call(prog, body, parent, path, n, f"{head} <unfinished ...> = {child}")
            forked_early.add(parent)
            return len(prog.steps) > before
    return False


class _PidNsChildren:
    """Which child each fork-like call made, when its caller is in a child pid namespace.

    A fork returns the child's pid in the *caller's* pid namespace (copy_process() ->
    pid_vnr()), and strace prints that number; the child's own lines carry strace's pid for
    it (plain `strace -f`; `mountsim record` passes --decode-pids=pidns and rewrites the
    number). Inside a child pid namespace the two differ ("clone(...) = 3" made pid 9662),
    so the number names no process of the trace. This tracks which processes are in a
    child pid namespace (made with CLONE_NEWPID, or after their parent's
    unshare/setns(CLONE_NEWPID), or by such a process). While parsing, each such fork gets
    the next pid that speaks without a fork naming it (so that the fork comes before its
    child's first line); at the end the children are given in order of their pids: alloc_pid()
    numbers a child in every namespace at once, so of forks made one after another the
    earlier has the smaller pid at strace's level too (children may speak in any order).
    Model-only bookkeeping of the trace.
    """

    __slots__ = ("prog", "nested", "for_children", "waiting", "uncertain", "made")

    def __init__(self, prog: Program) -> None:
        self.prog = prog
        self.nested: set[int] = set()        # in a child pid namespace (relative to strace)
        self.for_children: set[int] = set()  # pid_for_children is such a namespace
        self.waiting: list[tuple[int, bool]] = []   # (step index, child nested) to relabel
        self.uncertain: list[int] = []       # fork steps whose child is a guess so far
        self.made: set[int] = set()          # children named exactly by their fork's result

    def saw_step(self, i: int, known: set[int]) -> None:
        step = self.prog.steps[i]
        if step.result is None or step.result.errno:
            return
        if step.name in RETURNS_PID:
            self.saw_fork(i, known, spoke=False)
        elif step.name == "unshare" and _int_arg(step.args, 0) & uapi.CLONE_NEWPID:
            self.for_children.add(step.pid)
        elif step.name == "setns" and _int_arg(step.args, 1) & uapi.CLONE_NEWPID:
            self.for_children.add(step.pid)

    def saw_fork(self, i: int, known: set[int], spoke: bool) -> None:
        """Step *i* is a fork; *spoke*: it was emitted when its label, a new pid, spoke."""
        step = self.prog.steps[i]
        if step.label is None:
            return
        caller = step.pid
        child_nested = (caller in self.nested or caller in self.for_children
                        or bool(_fork_flags(step) & uapi.CLONE_NEWPID))
        if caller in self.nested and not spoke and step.label not in known:
            self.waiting.append((i, child_nested))
            self.uncertain.append(i)
            return
        if caller in self.nested and spoke:
            self.uncertain.append(i)
        else:
            self.made.add(step.label)
        if child_nested:
            self.nested.add(step.label)

    def first_line(self, pid: int) -> bool:
        """*pid* speaks for the first time and no unfinished fork claims it: the fork
        whose label it is, else the oldest fork in a child pid namespace still waiting (not
        for a pid a fork outside them named: that one is its child). Whether a fork made it."""
        if pid in self.made:
            return True
        for j, (i, child_nested) in enumerate(self.waiting):
            if self.prog.steps[i].label == pid:       # already strace's pid (record's)
                del self.waiting[j]
                self.uncertain.remove(i)
                break
        else:
            if not self.waiting:
                return False
            i, child_nested = self.waiting.pop(0)
            self.prog.steps[i] = attrs.evolve(self.prog.steps[i], label=pid)
        if child_nested:
            self.nested.add(pid)
        return True

    def finish(self) -> None:
        """Give the guessed forks their children in order of the children's pids, unless a
        fork would then come after its child's first line (the guesses stay)."""
        steps = self.prog.steps
        first: dict[int, int] = {}
        for j, s in enumerate(steps):
            first.setdefault(s.pid, j)
        forks = [i for i in self.uncertain if steps[i].label in first]
        children = sorted(steps[i].label for i in forks)
        if all(first[c] > i for i, c in zip(forks, children)):
            for i, c in zip(forks, children):
                if steps[i].label != c:
                    steps[i] = attrs.evolve(steps[i], label=c)


def _int_arg(args: Any, i: int | str) -> int:
    """args[i] as an int; 0 when it is missing, NULL or not a number."""
    try:
        return int(args[i] or 0)
    except (LookupError, TypeError, ValueError):
        return 0


def _fork_flags(step: Step) -> int:
    """The clone flags of a fork-like step: clone's first argument, clone3's `flags` (0
    for fork and vfork)."""
    if step.name == "clone3":
        cl = step.args[0] if step.args else None
        return _int_arg(cl, "flags") if isinstance(cl, dict) else 0
    return _int_arg(step.args, 0) if step.name == "clone" else 0


def _envelope(body: str) -> tuple[str, int | None]:
    """Strip what strace puts around a call: `[pid N]` or a bare pid (-f -o), timestamps
    (-t/-tt/-ttt/-r). Returns (the rest, the pid or None)."""
    pid = None
    m = _PID.match(body) or _BARE_PID.match(body)
    if m:
        pid, body = int(m.group(1)), body[m.end():]
    t = _STAMP.match(body)
    if t:
        body = body[t.end():]
    return body, pid


def stamp_of(raw: str) -> float | None:
    """The timestamp of an -t/-tt/-ttt line in seconds (None without one): for merging
    `-ff -o PREFIX` files."""
    m = _PID.match(raw) or _BARE_PID.match(raw)
    t = _STAMP.match(raw[m.end():] if m else raw)
    if not t:
        return None
    if t.group(5) is not None:
        return float(t.group(5))
    return int(t.group(1)) * 3600 + int(t.group(2)) * 60 + int(t.group(3)) + float(t.group(4) or 0)


def _outside_strings(body: str, fn) -> str:
    """Apply *fn* to the parts of *body* that are not inside "…" strings."""
    out, pos = [], 0
    for m in _STRING.finditer(body):
        out.append(fn(body[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(fn(body[pos:]))
    return "".join(out)


def _header(prog: Program, lines: list[str], i: int, n: int, raw: str, path: str) -> int:
    """Handle one `#` line (and a whole expect-tree block); returns the next line index."""
    body = raw[1:].strip()
    key, sep, val = body.partition(":")
    key = key.strip().lower()
    if not sep:
        return i
    val = val.strip()
    if key == "kernel":
        prog.kernel = val
    elif key == "main-pid":
        if not val.isdigit():
            raise TraceError(path, n, f"main-pid must be a number, not {val!r}")
        prog.main_pid = int(val)
    elif key == "start-mountinfo":
        why = mountinfo_line_error(val)
        if why:
            raise TraceError(path, n, f"start-mountinfo: {why}")
        prog.start_mountinfo.append(val)
        prog.start_mountinfo_lines.append(n)
    elif key == "start-contents":
        if val not in ("complete", "unknown"):
            raise TraceError(path, n, f"start-contents is 'complete' or 'unknown', not {val!r}")
        prog.start_contents_known = val == "complete"
    elif key == "start-dirs":
        prog.start_dirs.extend(val.split())
    elif key == "start-caps":
        prog.start_caps = parse_caps(val, path, n)
    elif key == "expect-tree":
        prog.expect_tree, prog.expect_line = [], n
        while i < len(lines) and lines[i].startswith("#"):
            row = lines[i][1:].split()
            if not row or row[0].lower() == "end" or not row[0].startswith("/"):
                break
            prog.expect_tree.append(_expect_row(row, path, i + 1))
            i += 1
    return i


CAP_SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def parse_caps(val: str, path: str, n: int) -> dict[str, int]:
    """`CapInh=0 CapPrm=1fffeffffff …` (hex, as /proc/<pid>/status prints them): the sets
    named; the others default to the first process's usual (all but inheritable and
    ambient). Errors: a one-line TraceError."""
    caps: dict[str, int] = {}
    for word in val.split():
        name, eq, hexval = word.partition("=")
        if not eq or name not in CAP_SETS:
            raise TraceError(path, n, f"start-caps: expected NAME=HEX with NAME one of "
                             f"{', '.join(CAP_SETS)}, not {word!r}")
        try:
            caps[name] = int(hexval, 16) & uapi.CAP_FULL_SET
        except ValueError:
            raise TraceError(path, n, f"start-caps: {hexval!r} is not a hex number") from None
    return caps


_MI_OPTIONAL = re.compile(r"^(shared|master|propagate_from):\d+$|^unbindable$")
_INT_MAX = 2**31 - 1           # mnt_id, mnt_group_id: an int, printed with %i
_MAJOR_MAX, _MINOR_MAX = 2**12 - 1, 2**20 - 1   # include/linux/kdev_t.h: MINORBITS 20


def mountinfo_line_error(line: str) -> str | None:
    """Why *line* is not a /proc/<pid>/mountinfo line (proc(5)), or None.

    Fields: mount id, parent id, major:minor, root, mount point, mount options, optional
    fields (shared:N master:N propagate_from:N unbindable), "-", fstype, source, super options.
    """
    left, sep, right = line.partition(" - ")
    if not sep:
        return "no ' - ' separator before the filesystem type"
    f, r = left.split(), right.split()
    if len(f) < 6:
        return f"{len(f)} fields before ' - ', need at least 6 (id parent major:minor root mountpoint options)"
    if not (f[0].isdigit() and f[1].isdigit()):
        return f"mount id and parent id must be numbers, not {f[0]!r} {f[1]!r}"
    # fs/proc_namespace.c:show_mountinfo() prints "%i %i %u:%u" of mnt_id, the parent's
    # mnt_id, MAJOR(s_dev), MINOR(s_dev), and "shared:%i"/"master:%i" of group ids
    if int(f[0]) > _INT_MAX or int(f[1]) > _INT_MAX:
        return f"mount id and parent id must be at most {_INT_MAX}, not {f[0]} {f[1]}"
    major, colon, minor = f[2].partition(":")
    if not (colon and major.isdigit() and minor.isdigit()):
        return f"device must be major:minor, not {f[2]!r}"
    if int(major) > _MAJOR_MAX or int(minor) > _MINOR_MAX:
        return f"device {f[2]} out of range (major at most {_MAJOR_MAX}, minor {_MINOR_MAX})"
    if not (f[3].startswith("/") and f[4].startswith("/")):
        return "root and mount point must be absolute paths"
    bad = [w for w in f[6:] if not _MI_OPTIONAL.match(w)]
    if bad:
        return f"not an optional field: {bad[0]!r} (shared:N, master:N, propagate_from:N, unbindable)"
    big = [w for w in f[6:] if ":" in w and int(w.partition(":")[2]) > _INT_MAX]
    if big:
        return f"peer group id out of range in {big[0]!r} (at most {_INT_MAX})"
    if len(r) < 3:
        return "need filesystem type, source and super options after ' - '"
    return None


def _table_error(table: list[str], numbers: list[int], path: str,
                 what: str = "start-mountinfo") -> None:
    """The start-mountinfo lines as a table: unique ids, parents present, one root, each
    master:N naming a shared:N. Errors: TraceError at the offending line."""
    ids: dict[int, str] = {}
    groups: set[int] = set()
    for line, n in zip(table, numbers):
        f = line.split(" - ", 1)[0].split()
        mid = int(f[0])
        if mid in ids:
            raise TraceError(path, n, f"{what}: mount id {mid} appears twice")
        ids[mid] = f[4]
        groups.update(int(w[7:]) for w in f[6:] if w.startswith("shared:"))
    roots = 0
    for line, n in zip(table, numbers):
        f = line.split(" - ", 1)[0].split()
        parent = int(f[1])
        if parent not in ids or parent == int(f[0]):
            roots += 1
            if f[4] != "/":
                raise TraceError(path, n, f"{what}: parent {parent} of {f[4]} is not in the table")
            if roots > 1:
                raise TraceError(path, n, f"{what}: a second mount whose parent is not in the table")
        for w in f[6:]:
            if w.startswith("master:") and int(w[7:]) not in groups:
                raise TraceError(path, n, f"{what}: {w} names no shared:{w[7:]} in the table")


def start_table(prog: Program, path: str) -> None:
    """Take the starting table from a mountinfo file (`replay --start-mountinfo FILE`: the
    recording machine's /proc/<pid>/mountinfo). Errors: TraceError naming FILE:LINE."""
    prog.start_mountinfo, prog.start_mountinfo_lines = _table_file(path)
    _table_error(prog.start_mountinfo, prog.start_mountinfo_lines, path)
    prog.start_mountinfo_file = path
    prog.start_unknown = False


def start_copy(prog: Program, path: str) -> None:
    """Take the start table's copy listing from a mountinfo file (`replay --start-copy
    FILE`: `unshare -m --propagation unchanged cat /proc/self/mountinfo` on the recording
    machine), for the order the table's mounts were attached in (machine.order_as_copied()).
    Errors: TraceError naming FILE:LINE."""
    if not prog.start_mountinfo:
        raise TraceError(path, 0, "a copy listing (--start-copy) needs the start table it "
                         "copies (--start-mountinfo)")
    prog.start_copy, prog.start_copy_lines = _table_file(path)
    _table_error(prog.start_copy, prog.start_copy_lines, path, "start-copy")
    prog.start_copy_file = path


def start_caps(prog: Program, path: str) -> None:
    """Take the first process's capability sets from a file (`replay --start-caps FILE`:
    the recording machine's `/proc/self/status`, or just its Cap* lines, as root would have
    started the command). Errors: TraceError naming FILE:LINE."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise TraceError(path, 0, f"cannot read: {e.strerror}")
    caps: dict[str, int] = {}
    for n, line in enumerate(lines, 1):
        key, sep, val = line.partition(":")
        if key.strip() in CAP_SETS:
            caps.update(parse_caps(f"{key.strip()}={val.strip()}", path, n))
    if not caps:
        raise TraceError(path, 0, f"no capability sets ({', '.join(CAP_SETS)} lines, as "
                         "/proc/self/status prints them)")
    prog.start_caps = caps


def _table_file(path: str) -> tuple[list[str], list[int]]:
    """The mountinfo lines of *path* and their line numbers; TraceError at a bad line."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError as e:
        raise TraceError(path, 0, f"cannot read: {e.strerror}")
    lines, numbers = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        why = mountinfo_line_error(line)
        if why:
            raise TraceError(path, n, f"not a mountinfo line: {why}")
        lines.append(line)
        numbers.append(n)
    if not lines:
        raise TraceError(path, 0, "no mountinfo lines")
    return lines, numbers


def _nesting_error(body: str) -> str | None:
    """Braces, brackets and parentheses nested deeper than any strace output (64)."""
    depth = 0
    for ch in "".join(c for c in _STRING.sub("", body) if c in "{[()]}"):   # not in strings
        if ch in "{[(":
            depth += 1
            if depth > 64:
                return "nested more than 64 levels deep"
        elif ch in "}])":
            depth -= 1
    return None


def _expect_row(row: list[str], path: str, n: int) -> ExpectRow:
    if len(row) < 3:
        raise TraceError(path, n, "expect-tree row needs: mountpoint fstype propagation [locked]")
    locked = None
    words = row[2:]
    if words[-1] in ("locked", "unlocked"):
        locked = words[-1] == "locked"
        words = words[:-1]
    for w in words:
        if not _PROP_WORD.match(w):
            raise TraceError(path, n, f"not a propagation word: {w!r} (shared:N, master:N, "
                             "propagate_from:N, unbindable, private)")
    prop = tuple(w for w in words if w != "private")
    mp = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), row[0])
    return ExpectRow(mp, row[1], prop, locked, n)


# Calls the model does not know that put a new file at an fd number: the number is the
# result, or (pipe, pipe2, socketpair) the pair they write back.
_FD_RESULT = frozenset({
    "open_by_handle_at", "socket", "accept", "accept4",
    "eventfd", "eventfd2", "epoll_create", "epoll_create1", "memfd_create", "memfd_secret",
    "signalfd", "signalfd4", "timerfd_create", "inotify_init", "inotify_init1",
    "fanotify_init", "pidfd_open", "pidfd_getfd", "userfaultfd", "perf_event_open",
    "io_uring_setup"})
_FD_PAIR = frozenset({"pipe", "pipe2", "socketpair"})
_RET_FD = re.compile(r"\)\s*=\s*(\d+)(?:\s*<[^<>]*>)?\s*$")
_PAIR = re.compile(r"\[(\d+)(?:<[^<>]*>)?,\s*(\d+)(?:<[^<>]*>)?\]")
_RET_ZERO = re.compile(r"\)\s*=\s*0\s*$")
_FCNTL_CMD = re.compile(r"^fcntl\([^,]*,\s*(F_[A-Z_]+)")
_PRCTL_OPTION = re.compile(r"^prctl\((0x[0-9a-f]+|[A-Z_0-9]+)")
_PRCTL_MODELLED = frozenset(uapi.FLAG_NAMES["prctl"].values())
_FCNTL_MODELLED = frozenset(n for n, v in uapi.FLAG_NAMES["fcntl"].items() if v in FCNTL_CMDS)


def modelled(name: str, body: str) -> bool:
    """Is this call one the model runs? fcntl only with the fd table's commands (F_DUPFD,
    F_DUPFD_CLOEXEC, F_GETFD, F_SETFD); its others (file locks, status flags) are skipped;
    prctl only with the credential options (uapi.FLAG_NAMES["prctl"])."""
    if name == "fcntl":
        m = _FCNTL_CMD.match(body)
        return m is not None and m.group(1) in _FCNTL_MODELLED
    if name == "prctl":                   # PR_GET_DUMPABLE, or 0x3 from strace -X raw
        m = _PRCTL_OPTION.match(body)
        return m is not None and (m.group(1) in uapi.FLAG_NAMES["prctl"] or (
            m.group(1)[:1].isdigit() and int(m.group(1), 0) in _PRCTL_MODELLED))
    return name in SYSCALLS or name == "umount"


def made_fds(name: str, body: str) -> list[int]:
    """The fd numbers a successful call the model does not know installed (Model-only)."""
    if name in _FD_PAIR:
        if not _RET_ZERO.search(body):
            return []
        m = _PAIR.search(body)
        return [int(m.group(1)), int(m.group(2))] if m else []
    if name in _FD_RESULT:
        m = _RET_FD.search(body)
        return [int(m.group(1))] if m else []
    return []


_EXECVE = re.compile(r'^execve\(("(?:\\.|[^"\\])*")')
_EXECVEAT = re.compile(r'^execveat\((AT_FDCWD|\d+)(?:<[^<>]*>)?,\s*("(?:\\.|[^"\\])*")')


def exec_target(name: str, body: str, path: str, n: int) -> tuple[int, str] | None:
    """(dfd, path) of a successful execve/execveat (Model-only: what /proc/<pid>/exe
    leads to afterwards; execveat(fd, "", …, AT_EMPTY_PATH) is (fd, ""))."""
    if name not in ("execve", "execveat") or not _RET_ZERO.search(body):
        return None
    m = _EXECVE.match(body) if name == "execve" else _EXECVEAT.match(body)
    if m is None:
        return None
    if name == "execve":
        return uapi.AT_FDCWD, _c_string(m.group(1), path, n)
    dfd = uapi.AT_FDCWD if m.group(1) == "AT_FDCWD" else int(m.group(1))
    return dfd, _c_string(m.group(2), path, n)


def _call(prog: Program, body: str, pid: int, path: str, n: int, raw: str) -> None:
    body = _TIMING.sub("", body)
    head = _CALL_NAME.match(body)
    undecoded = raw_name(body)                  # syscall_0x1c9(...): an older strace
    if head and not undecoded and not modelled(head.group(1), body):
        prog.unmodelled[head.group(1)] = prog.unmodelled.get(head.group(1), 0) + 1
        prog.first_unmodelled = prog.first_unmodelled or n
        made = made_fds(head.group(1), body)
        if made:
            prog.made_fds.setdefault(len(prog.steps), []).extend((pid, fd) for fd in made)
        ran = exec_target(head.group(1), body, path, n)
        if ran:
            prog.execs.setdefault(len(prog.steps), []).append((pid, *ran))
        return                                  # its other arguments are never needed
    restart = _RESTART.search(body)
    if restart:                                 # interrupted; its restart is a line of its own
        prog.notes.append(Note(path, n, f"{head.group(1) if head else 'call'}: interrupted by a "
                               f"signal ({restart.group(1)}); not replayed (strace shows the "
                               "restarted call on a line of its own)"))
        return
    if "<" in body:
        body = _outside_strings(body, lambda seg: _FD_NOTE.sub(r"\1", seg))
    deep = _nesting_error(body)
    if deep:
        raise TraceError(path, n, f"cannot parse the call: {deep}")
    tree = quick_call(body)
    if tree is None:
        tree = _lark_parse(body, path, n)
    name = undecoded[1] if undecoded else str(tree.children[0])
    if name == "umount":
        name = "umount2"
    children = tree.children[1:]
    args_tree = children[0] if len(children) == 2 else None
    result = _result(children[-1], path, n)
    if name not in SYSCALLS:
        prog.notes.append(Note(path, n, f"not modelled: {name}"))
        return
    values = [_value(a, path, n) for a in (args_tree.children if args_tree else [])]
    if undecoded:
        values = raw_args(name, values)
        if isinstance(values, str):
            prog.notes.append(Note(path, n, f"{undecoded[0]} is {name}, printed undecoded by this "
                                   f"strace; {values}: not replayed"))
            return
    unread = unread_struct(name, values)
    if unread:
        prog.notes.append(Note(path, n, f"{name}: strace printed the address of {unread}, "
                               "not its contents: not replayed"))
        return
    args, out = _decode(name, values, path, n)
    label = None
    if result is not None and not result.errno and (makes_fd(name, args) or name in RETURNS_PID):
        label = result.ret
    prog.steps.append(Step(pid, name, tuple(args), result, label, out, path, n, raw.strip()))


def _lark_parse(body: str, path: str, n: int):
    """The call by the Lark grammar: the shapes quickcall.py leaves, and every error."""
    from lark.exceptions import LarkError, UnexpectedInput

    from .grammar import parser
    try:
        return parser().parse(body)
    except UnexpectedInput as e:
        col = getattr(e, "column", "?")
        raise TraceError(path, n, f"cannot parse the call at column {col}: {_snippet(body, e)}")
    except LarkError as e:
        raise TraceError(path, n, f"cannot parse the call: {e}")


def _snippet(body: str, e: Any) -> str:
    col = getattr(e, "column", 1) or 1
    return repr(body[max(col - 15, 0):col + 15])


def _result(t: Any, path: str, n: int) -> Result | None:
    if t.data == "unknown":
        return None
    if t.data == "fd_result":
        return Result(int(str(t.children[0]).split("<")[0]))
    txt = str(t.children[0])
    # strace prints umask's result in octal with a leading 0 ("= 022")
    ret = int(txt, 8) if len(txt) > 1 and txt[0] == "0" and txt.isdigit() else int(txt, 0)
    errno = next((str(c) for c in t.children[1:] if c.type == "ERRNO"), None)
    if ret < 0 and errno is None and ret != -1:
        return Result(-1, uapi.errno_name(-ret))
    return Result(ret, errno)


def _value(t: Any, path: str, n: int) -> Any:
    """A parse tree node (lark's, or quickcall's of the same shape: a token is a str, a node
    has .data and .children) as Python: str, int, ("sym", name), ("or", [...]), dict, list,
    None."""
    if isinstance(t, str):
        return str(t)
    kind = t.data
    if kind == "named":
        return ("named", str(t.children[0]), _value(t.children[1], path, n))
    if kind == "changed":                  # `in => out`: strace shows what the call wrote
        return _value(t.children[0], path, n)
    if kind == "orexpr":
        parts = [_value(c, path, n) for c in t.children]
        return parts[0] if len(parts) == 1 else ("or", parts)
    if kind == "string":
        s = _c_string(str(t.children[0]), path, n)
        return Truncated(s) if len(t.children) > 1 else s
    if kind == "number":
        s = str(t.children[0])
        return ("num", s)
    if kind == "fdpath":
        return ("num", str(t.children[0]).split("<")[0])
    if kind == "null":
        return None
    if kind == "symbol":
        return ("sym", str(t.children[0]))
    if kind == "shift":
        a, b = (_value(c, path, n) for c in t.children)
        return ("num", str(_int(a, None, path, n) << _int(b, None, path, n)))
    if kind == "struct":
        d: dict[str, Any] = {}
        for c in (t.children[0].children if t.children and not isinstance(t.children[0], str)
                  else []):
            v = _value(c, path, n)
            if isinstance(v, tuple) and v and v[0] == "named":
                d[v[1]] = v[2]
        return d
    if kind == "array":
        return [_value(c, path, n) for c in (t.children[0].children if t.children else [])]
    if kind == "funcall" and str(t.children[0]) == "makedev" and len(t.children) > 1:
        # mknod's dev: makedev(0x1, 0x3) as new_encode_dev() packs it (include/linux/kdev_t.h)
        nums = [_int(_value(c, path, n), None, path, n) for c in t.children[1].children]
        if len(nums) == 2:
            major, minor = nums
            return ("num", str((minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)))
    if kind in ("funcall", "ellipsis"):
        return _Ellipsis()
    raise TraceError(path, n, f"unexpected value {kind}")


def _c_string(s: str, path: str, n: int) -> str:
    """A C string literal as strace prints it (octal and hex escapes included)."""
    inner = s[1:-1]
    try:
        data = ast.literal_eval('b"' + inner.replace('"', '\\"').replace('\\\\"', '\\"') + '"')
        return data.decode("utf-8", errors="surrogateescape")
    except (ValueError, SyntaxError):
        raise TraceError(path, n, f"bad escape in string {s!r}")


def _int(v: Any, family: str | None, path: str, n: int) -> int:
    """An integer argument: a number, a symbolic name, or names joined by '|'."""
    if isinstance(v, tuple) and v[0] == "num":
        s = v[1]
        neg = s.startswith("-")
        body = s[1:] if neg else s
        val = int(body, 8) if len(body) > 1 and body.startswith("0") and body[1] != "x" else int(body, 0)
        return -val if neg else val
    if isinstance(v, tuple) and v[0] == "sym":
        table = uapi.FLAG_NAMES.get(family or "", {})
        if v[1] in table:
            return table[v[1]]
        if v[1] in uapi.ALL_NAMES:
            return uapi.ALL_NAMES[v[1]]
        import signal                             # here: its enums cost ~1 ms to import
        if v[1] in signal.Signals.__members__:     # clone3's exit_signal=SIGUSR1
            return int(signal.Signals[v[1]])
        raise TraceError(path, n, f"unknown flag {v[1]}" + (f" for {family}" if family else ""))
    if isinstance(v, tuple) and v[0] == "or":
        out = 0
        for part in v[1]:
            out |= _int(part, family, path, n)
        return out
    if isinstance(v, _Ellipsis):
        return 0
    raise TraceError(path, n, f"expected a number or flags, got {_show(v)}")


def _show(v: Any) -> str:
    if isinstance(v, str):
        return f"string {v!r}"
    if v is None:
        return "NULL"
    return type(v).__name__


def _decode(name: str, values: list, path: str, n: int) -> tuple[list, Any]:
    """Arguments in kernel order, converted by kind; (args, out buffer)."""
    spec = SYSCALLS[name]
    if name == "clone":
        named = {v[1]: v[2] for v in values if isinstance(v, tuple) and v[0] == "named"}
        return [_int(named.get("flags", ("num", "0")), "clone", path, n)], None
    values = [v[2] if isinstance(v, tuple) and v and v[0] == "named" else v for v in values]
    required = sum(1 for _, kind in spec if not kind.endswith("?"))
    if not required <= len(values) <= len(spec):
        want = f"{required}" if required == len(spec) else f"{required} to {len(spec)}"
        raise TraceError(path, n, f"{name} takes {want} arguments, got {len(values)}")
    args, out = [], None
    for (pname, kind), v in zip(spec, values):
        kind = kind.rstrip("?")
        args.append(_convert(name, pname, kind, v, path, n))
        if kind.startswith("out:"):
            out = _plain(v, path, n)
    return args, out


def _convert(call: str, pname: str, kind: str, v: Any, path: str, n: int) -> Any:
    if kind in ("path", "str"):
        if v is None or isinstance(v, str):
            return v
        if kind == "str" and isinstance(v, tuple) and v[0] == "num" and not v[1].startswith("-"):
            # strace prints a pointer it chose not to read as a number, e.g. mount's
            # filesystemtype and data when the flags make the kernel ignore them (MS_BIND,
            # MS_MOVE, MS_REMOUNT, propagation changes): strace src/mount.c. Read as NULL.
            return None
        raise TraceError(path, n, f"{call}: {pname} must be a string or NULL, got {_show(v)}")
    if kind.startswith("out:"):
        return None
    if kind == "ints":
        if v is None:
            return None
        if not isinstance(v, list):
            raise TraceError(path, n, f"{call}: {pname} must be a [...] list")
        return [_int(x, None, path, n) for x in v if not isinstance(x, _Ellipsis)]
    if kind.startswith("struct:"):
        sname = kind.split(":", 1)[1]
        if v is None:
            return None
        if not isinstance(v, dict):
            raise TraceError(path, n, f"{call}: {pname} must be a {{...}} struct")
        fields = {}
        for f, fv in v.items():
            if f not in STRUCTS[sname]:
                raise TraceError(path, n, f"{call}: struct {sname} has no field {f!r}")
            # a pointer field strace followed (clone3's child_tid=[N], set_tid=[..], tls={..})
            # is the tracee's address: the model never reads it
            fields[f] = None if fv is None or isinstance(fv, (list, dict)) else \
                _int(fv, _STRUCT_FAMILY.get((sname, f)), path, n)
        return fields
    family = kind.split(":", 1)[1] if kind.startswith("flags:") else None
    if v is None:
        return 0
    return _int(v, family, path, n)


def _plain(v: Any, path: str, n: int) -> Any:
    """An output buffer as plain Python (dicts, lists, ints, strings)."""
    if isinstance(v, dict):
        return {k: _plain(x, path, n) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x, path, n) for x in v]
    if isinstance(v, tuple):
        try:
            return _int(v, None, path, n)
        except TraceError:
            return str(v[1]) if len(v) > 1 else None
    return v
