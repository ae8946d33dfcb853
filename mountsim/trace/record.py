"""strace -f output of a recorded command -> a trace in the project's format.

Model-only: pure text processing, testable without a kernel. The input is what the
recording sandbox (backends/recorder.py) collected: strace's lines and a mountinfo
snapshot of every process taken as it exited.

Which snapshot becomes the `expect-tree`: that of P, the process of the last kept line
that is not an exit. replay compares the expect-tree with the table of the process that
issued the last line, so the trace ends with P's last line: P's exit and every kept line
after it (exits of other processes and added closes only, by the choice of P) are left
out. Between P's last line and its exit no other kept call happened, so the snapshot is
the kernel's table at the end of the replay — except that exits of other processes in
that window are not replayed. Those could only matter if such a process held the last
reference to a namespace whose mounts are masters of P's (the kernel then hands P's
slaves to another master or makes them private); the recordings in models/ never do.
The `locked` column is omitted: mountinfo does not show MNT_LOCKED.

The start namespace. In the kernel, strace and S stay in the start namespace for the
whole run and keep it alive. In the model a namespace dies with its last task, which
would drop the start namespace's mounts from their peer groups as soon as every traced
process has left it (`unshare -m …`). So the trace's main pid is strace's pid, and its
first line is `[pid STRACE] fork() = FIRST`, marked as added: strace did fork the command,
and it stands in the model for the processes that hold the namespace.

Which lines are kept: the calls the model knows (trace/program.py SYSCALLS), except that
write is kept only on an fd of /proc/<pid>/{uid_map,gid_map,setgroups} (with its open), read
and lseek only on an fd of /proc/<pid>/{mountinfo,mounts,mountstats} (with its open), and
open/openat/openat2 are kept only when (a) their fd is later used by a kept call (transitively),
(b) they open a /proc/*/ns/* file, (c) they succeed with O_CREAT (the file may become a
mount point: bwrap bind-mounts /dev/null on a file it created), or (d) their fd stays open
across a mount-relevant call of any process (it pins a mount: a shell's `exec 3</srv/d`
keeps /srv busy for the umount it runs; opens closed before are dropped). close is kept only for an
fd whose open was kept. fd tables are followed per process through fork/clone
(CLONE_FILES shares one), dup2/dup3, fcntl, close_range and execve; where the kernel
closed a kept fd without a close call (dup2 over it, close_range) a `close(N) = 0` line is
added after a `#` comment saying why. A successful execve/execveat is kept: the replay
closes the close-on-exec fds there and recomputes the process's credentials (a uid-1000
process's capabilities go, a set-user-id binary's recorded geteuid() shows its owner).
creat(p, m) is written as the equivalent open(p, O_WRONLY|O_CREAT|O_TRUNC, m)
below a comment with strace's line (the model has no creat). strace 6.1 does not know
statmount/listmount and prints `syscall_0x1c9(0x7f…, …)` with raw pointers; such calls are
named (x86_64 numbers) in a `#` comment but not replayed, as their arguments are not in
the trace. Split calls (`<unfinished ...>` + `<... resumed>`) are joined and placed where
they started, so a clone comes before its child's first line. strace runs with
`--decode-pids=pidns`: a clone made inside a child pid namespace returns that namespace's
pid, and the line is rewritten to strace's pid (the one the child's lines carry), with
the other in a comment. Every line gets a `[pid N]` prefix with strace's pids.

Calls of concurrent processes are in strace's order, not necessarily the kernel's; if
the last line's process was killed by a signal it has no snapshot and the trace has no
expect-tree (the summary says so).
"""

from __future__ import annotations

import os
import re
import shlex
from typing import TYPE_CHECKING

import attrs

from .. import uapi
from ..errors import TraceError
from ..user_namespace import host_caps
from .parse import join_resumed, parse_text
from .program import RETURNS_FD, RETURNS_PID, SYSCALLS, Step, fds_used

if TYPE_CHECKING:
    from ..backends.recorder import Run

# x86_64 numbers of the syscalls strace 6.1 may print as syscall_0xNNN
# (arch/x86/entry/syscalls/syscall_64.tbl).
NEW_SYSCALLS = {428: "open_tree", 429: "move_mount", 430: "fsopen", 431: "fsconfig",
                432: "fsmount", 433: "fspick", 442: "mount_setattr", 457: "statmount",
                458: "listmount"}
EXITS = ("exit", "exit_group")


# -- strace output to a trace -------------------------------------------------------------

_LINE = re.compile(r"^(\d+)\s+(.*)$")
_UNFINISHED = re.compile(r"\s*<unfinished \.\.\.>\s*$")
_RESUMED = re.compile(r"^<\.\.\.\s+(\w+)\s+resumed>\s*")
_NAME = re.compile(r"^(\w+)\(")
_RESULT = re.compile(r"\)\s+=\s+(\?|-?(?:0x[0-9a-fA-F]+|\d+))(?:\s+(E[A-Z0-9]+))?"
                     r"(?:\s+\(.*\))?(?:\s+/\*.*\*/)?\s*$")
_RAW_NR = re.compile(r"^syscall_0x([0-9a-fA-F]+)\(")
_PIDNS = re.compile(r"\s+=\s+(\d+) /\* (\d+) in strace's PID NS \*/$")
_KILLED = re.compile(r"^\+\+\+ killed by (\w+)")


@attrs.define(eq=False)
class Call:
    """One syscall as strace printed it, split halves joined."""

    idx: int
    pid: int
    name: str
    body: str
    done: bool = True                # False while (or if forever) unfinished
    ret: int | None = None           # None: "?" or not printed
    errno: str | None = None
    step: Step | None = None         # the project's parse of it (kept candidates only)
    closed_at: int | None = None     # open-like calls: index of the call that closed the fd
    raw_name: str | None = None      # "syscall_0x1c9" when strace did not know the name
    printed: str | None = None       # strace's text when the line was rewritten (creat)

    @property
    def ok(self) -> bool:
        return self.done and self.ret is not None and self.ret >= 0 and self.errno is None


def read_calls(text: str) -> tuple[list[Call], list[int], dict[int, str]]:
    """strace -f -o output -> (calls in start order, pids in order of appearance,
    pid -> signal that killed it)."""
    calls: list[Call] = []
    pending: dict[int, Call] = {}
    pids: list[int] = []
    killed: dict[int, str] = {}
    for raw in text.splitlines():
        m = _LINE.match(raw)
        if not m:
            continue
        pid, body = int(m.group(1)), m.group(2).rstrip()
        if pid not in pids:
            pids.append(pid)
        k = _KILLED.match(body)
        if k:
            killed[pid] = k.group(1)
            continue
        if body.startswith(("+++", "---")) or not body:
            continue
        r = _RESUMED.match(body)
        if r:
            c = pending.pop(pid, None)
            if c is None:
                continue
            c.body = join_resumed(c.body, body[r.end():])
            c.done = True
            _set_result(c)
            continue
        unfinished = bool(_UNFINISHED.search(body))
        if unfinished:
            body = _UNFINISHED.sub("", body)
        n = _NAME.match(body)
        if not n:
            continue
        c = Call(len(calls), pid, n.group(1), body, done=not unfinished)
        raw_nr = _RAW_NR.match(body)
        if raw_nr and int(raw_nr.group(1), 16) in NEW_SYSCALLS:
            c.raw_name, c.name = c.name, NEW_SYSCALLS[int(raw_nr.group(1), 16)]
            c.body = c.name + body[len(c.raw_name):]
        calls.append(c)
        if unfinished:
            pending[pid] = c
        else:
            _set_result(c)
    for c in calls:
        _creat_as_open(c)
    return calls, pids, killed


_CREAT = re.compile(r'^creat\(("(?:\\.|[^"\\])*"), (\w+)\)(.*)$')


def _creat_as_open(c: Call) -> None:
    """creat(p, m) is open(p, O_CREAT|O_WRONLY|O_TRUNC, m) (creat(2)); the model knows
    only the latter, and a created file can become a mount point (bwrap's --dev files)."""
    m = _CREAT.match(c.body) if c.name == "creat" and c.done else None
    if m:
        c.printed, c.name = c.body, "open"
        c.body = f"open({m.group(1)}, O_WRONLY|O_CREAT|O_TRUNC, {m.group(2)}){m.group(3)}"


def _set_result(c: Call) -> None:
    t = _PIDNS.search(c.body)
    if t and c.name in RETURNS_PID:
        # The caller is in a child pid namespace: the kernel returned the pid there, strace
        # (--decode-pids=pidns) says which pid its lines use. The trace needs the latter.
        c.body = (c.body[:t.start()] + f" = {t.group(2)} /* {t.group(1)} in the caller's "
                  "PID namespace */")
    m = _RESULT.search(c.body)
    if not m or m.group(1) == "?":
        return
    c.ret = _number(m.group(1))
    c.errno = m.group(2)


def _number(s: str) -> int:
    """A number as strace prints it: decimal, 0x hex, or 0-prefixed octal (umask)."""
    neg = s.startswith("-")
    body = s.lstrip("-")
    if len(body) > 1 and body.startswith("0") and not body.startswith(("0x", "0X")):
        v = int(body, 8)
    else:
        v = int(body, 0)
    return -v if neg else v


@attrs.define(eq=False)
class _Fd:
    producer: Call | None            # the open-like call that made it; None: not ours
    cloexec: bool = False


@attrs.define
class Recording:
    """The filtered trace: what to print, and what the summary says."""

    main_pid: int
    lines: list[tuple[Call | None, str]]     # (call or None for comments, text)
    final_pid: int | None
    final_table: str | None
    kept: int = 0
    dropped: int = 0
    undecoded: int = 0
    after_snapshot: int = 0
    added_closes: int = 0
    processes: int = 0
    killed: dict[int, str] = attrs.Factory(dict)
    why_no_table: str = ""


def _parse_step(c: Call) -> Step | None:
    try:
        prog = parse_text(f"[pid {c.pid}] {c.body}", "<strace>")
    except TraceError:
        return None
    return prog.steps[0] if prog.steps else None


_OPENS = frozenset({"open", "openat", "openat2"})    # kept only as below (module docstring)


def _open_info(c: Call) -> tuple[int, str | None]:
    """(flags, path) of an open-like call, from the parse or, failing that, the text."""
    st = c.step
    if st is not None:
        if st.name == "openat":
            return int(st.args[2] or 0), st.args[1]
        if st.name == "openat2":
            return int((st.args[2] or {}).get("flags") or 0), st.args[1]
        if st.name == "open":
            return int(st.args[1] or 0), st.args[0]
        if st.name in ("open_tree", "fspick"):
            return int(st.args[2] or 0), st.args[1]
        return int(st.args[1] or 0), None                # fsopen, fsmount
    flags = 0
    for name, bit in (("O_PATH", uapi.O_PATH), ("O_DIRECTORY", uapi.O_DIRECTORY),
                      ("O_CLOEXEC", uapi.O_CLOEXEC), ("O_CREAT", uapi.O_CREAT)):
        if re.search(rf"\b{name}\b", c.body):
            flags |= bit
    m = re.search(r'"((?:\\.|[^"\\])*)"', c.body)
    return flags, m.group(1) if m else None


def _is_cloexec(c: Call) -> bool:
    flags, _ = _open_info(c)
    if c.name in ("fsopen", "fsmount", "fspick"):
        return bool(flags & 1)
    return bool(flags & uapi.O_CLOEXEC)


def _ns_open(c: Call) -> bool:
    """Opens always kept: of a /proc/<pid>/ns/* file (setns material), and successful
    O_CREAT opens (the file they may create can become a mount point, as bwrap's are)."""
    flags, path = _open_info(c)
    if c.ok and c.name in _OPENS and flags & uapi.O_CREAT:
        return True
    return bool(path and re.match(r"^/proc/(self|thread-self|\d+)(/task/\d+)?/ns/", path))


_IDMAP_PATH = re.compile(r"^/proc/(self|thread-self|\d+)(/task/\d+)?/(uid_map|gid_map|setgroups)$")


def _idmap_open(c: Call) -> bool:
    """An open of a user namespace's uid_map, gid_map or setgroups: writes to its fd are
    kept (they decide what the namespace maps, hence EOVERFLOW/EPERM later). Relative
    opens through a /proc/<pid> dirfd (bwrap's openat(fd, "uid_map")) count too."""
    _, path = _open_info(c)
    if not path:
        return False
    if _IDMAP_PATH.match(path):
        return True
    return c.name == "openat" and not path.startswith("/") and \
        path.rsplit("/", 1)[-1] in ("uid_map", "gid_map", "setgroups")


_TABLE_PATH = re.compile(r"^/proc/(?:\d+|self|thread-self)(?:/task/\d+)?/(?:mountinfo|mounts|mountstats)$")


def _table_open(c: Call) -> bool:
    """An open of /proc/<pid>/mountinfo (mounts, mountstats): reads of its fd are kept, the
    only file contents the model has (other files' contents are unknown to it)."""
    _, path = _open_info(c)
    return bool(path and _TABLE_PATH.match(path))


# write: id map writes; read/lseek: mount tables (the only file contents of the model)
_KEPT_ON = {"write": _idmap_open, "read": _table_open, "lseek": _table_open}


def _pin_open(c: Call) -> bool:
    """A successful open: kept if its fd is still open when a mount-relevant call (see
    PIN_CALLS) is made, by any process (a shell's `exec 3</srv/d` keeps /srv busy for the
    umount it runs), even when the fd is never used: it pins a mount."""
    return c.ok and c.name in _OPENS


# Calls during which an open fd of the same process may matter (it pins its mount).
PIN_CALLS = frozenset({"mount", "umount2", "unshare", "setns", "fork", "vfork", "clone",
                       "clone3", "chroot", "pivot_root", "open_tree", "move_mount", "fsopen",
                       "fsconfig", "fsmount", "fspick", "mount_setattr"})


def _clone_flags(c: Call) -> int:
    st = c.step
    if st is not None and st.name == "clone":
        return int(st.args[0] or 0)
    if st is not None and st.name == "clone3" and isinstance(st.args[0], dict):
        return int(st.args[0].get("flags") or 0)
    return uapi.CLONE_FILES if "CLONE_FILES" in c.body else 0


def _int_arg(s: str) -> int | None:
    s = s.strip()
    if s in ("~0", "~0U", "-1"):
        return (1 << 32) - 1
    try:
        return _number(s)
    except ValueError:
        return None


# Modelled, but what the recorder keeps of them is only their effect on the fd table (below):
# a kept trace names the files it needs by the calls that made them.
_FD_TABLE_ONLY = frozenset({"dup", "dup2", "dup3", "fcntl"})


def build(text: str, snapshots: dict[int, str]) -> Recording:
    """Filter strace's output into a Recording (see the module docstring for the rules)."""
    calls, pids, killed = read_calls(text)
    main_pid = pids[0] if pids else 1
    tables: dict[int, dict[int, _Fd]] = {main_pid: {}}
    deps: dict[int, list[Call]] = {}             # call idx -> producers of its fd args
    seeds: list[Call] = []
    closes: list[tuple[Call, Call]] = []         # (close call, producer)
    implicit: list[tuple[int, int, int, Call, str]] = []  # (after idx, pid, fd, producer, why)
    pins: list[Call] = []                       # O_PATH/O_DIRECTORY opens, kept if they pin
    undecoded: set[int] = set()

    def table(pid: int) -> dict[int, _Fd]:
        return tables.setdefault(pid, {})

    def drop_fd(c: Call, fd: int, why: str) -> None:
        e = table(c.pid).pop(fd, None)
        if e is not None and e.producer is not None:
            implicit.append((c.idx, c.pid, fd, e.producer, why))
            if e.producer.closed_at is None:
                e.producer.closed_at = c.idx

    for c in calls:
        t = table(c.pid)
        if c.raw_name is not None:
            undecoded.add(c.idx)
            continue
        if (c.name in SYSCALLS or c.name == "umount") and c.name not in _FD_TABLE_ONLY:
            c.step = _parse_step(c)
            fds = fds_used(c.step) if c.step is not None else []
            deps[c.idx] = [t[fd].producer for fd in fds if fd in t and t[fd].producer is not None]
            if c.name == "close":
                fd = c.step.args[0] if c.step is not None else None
                e = t.pop(fd, None) if isinstance(fd, int) else None
                if e is not None and e.producer is not None:
                    closes.append((c, e.producer))
                    if e.producer.closed_at is None:
                        e.producer.closed_at = c.idx
                deps[c.idx] = []
                continue
            if c.name in _KEPT_ON:            # only on the fds whose contents the model has
                producer = deps[c.idx][0] if deps[c.idx] else None
                if producer is not None and _KEPT_ON[c.name](producer):
                    seeds.append(c)
                else:
                    deps[c.idx] = []
                continue
            if c.name in RETURNS_FD:
                if c.ok:
                    drop_fd(c, c.ret, "the fd number was reused")
                    t[c.ret] = _Fd(c, _is_cloexec(c))
                if _ns_open(c) or c.name not in _OPENS:
                    seeds.append(c)
                elif _pin_open(c):
                    pins.append(c)
                continue
            seeds.append(c)
            if c.name in RETURNS_PID and c.ok:
                flags = _clone_flags(c)
                if flags & uapi.CLONE_FILES:
                    tables[c.ret] = t
                else:
                    tables[c.ret] = {fd: _Fd(e.producer, e.cloexec) for fd, e in t.items()}
            continue
        # A successful exec is kept: the replay recomputes the process's credentials and
        # closes its close-on-exec fds there (ModelSession.exec_done()).
        if c.name in ("execve", "execveat") and c.ok:
            seeds.append(c)
            if any(tb is t for p, tb in tables.items() if p != c.pid):
                tables[c.pid] = t = {fd: _Fd(e.producer, e.cloexec) for fd, e in t.items()}
            for fd in [fd for fd, e in t.items() if e.cloexec]:
                e = t.pop(fd)
                if e.producer is not None and e.producer.closed_at is None:
                    e.producer.closed_at = c.idx
        # Not kept: only what it does to the fd table matters.
        elif c.name in ("dup2", "dup3") and c.ok:
            if c.ret != _first_arg(c):
                drop_fd(c, c.ret, f"{c.name} replaced it")
            t[c.ret] = _Fd(None)
        elif c.name == "close_range" and c.ok:
            m = re.match(r"close_range\(([^,]+),\s*([^,]+),\s*(.*)\)\s*=", c.body)
            lo, hi = (_int_arg(m.group(1)), _int_arg(m.group(2))) if m else (None, None)
            if lo is not None and hi is not None:
                for fd in [fd for fd in t if lo <= fd <= hi]:
                    if "CLOSE_RANGE_CLOEXEC" in m.group(3):
                        t[fd].cloexec = True
                    else:
                        drop_fd(c, fd, "close_range")
        elif c.name == "fcntl" and c.ok:
            m = re.match(r"fcntl\((\d+),\s*F_SETFD,\s*(\w+)\)", c.body)
            if m and int(m.group(1)) in t:
                t[int(m.group(1))].cloexec = m.group(2) != "0"
            elif re.match(r"fcntl\(\d+,\s*F_DUPFD", c.body):
                t[c.ret] = _Fd(None, "F_DUPFD_CLOEXEC" in c.body)
        elif c.ok and c.ret is not None and c.name in _FD_RETURNING:
            drop_fd(c, c.ret, "the fd number was reused")
            t[c.ret] = _Fd(None)

    kept: set[int] = set()
    pinning = [c for c in seeds if c.name in PIN_CALLS]
    work = list(seeds) + [m for m in pins if any(
        m.idx < s.idx < (m.closed_at if m.closed_at is not None else len(calls))
        for s in pinning)]
    while work:
        c = work.pop()
        if c.idx in kept:
            continue
        kept.add(c.idx)
        work.extend(deps.get(c.idx, []))
    for c, producer in closes:
        if producer.idx in kept:
            kept.add(c.idx)
    added = [(after, pid, fd, why) for after, pid, fd, producer, why in implicit
             if producer.idx in kept]

    # The final table: P = the last kept line's process, other than exits. Everything kept
    # after P's last line (only exits can be there) is left out: the last line must be P's.
    by_idx = {c.idx: c for c in calls}
    why = ""
    last = [by_idx[i] for i in sorted(kept) if by_idx[i].name not in EXITS]
    final_pid = last[-1].pid if last else main_pid
    cut = last[-1].idx + 1 if last else 0
    exit_call = next((c for c in calls if c.pid == final_pid and c.name in EXITS
                      and c.idx >= cut), None)
    table_text = snapshots.get(final_pid) if exit_call is not None else None
    if table_text is None:
        why = (f"process {final_pid} was killed by {killed[final_pid]}" if final_pid in killed
               else f"process {final_pid} was not seen exiting")
    rec = Recording(main_pid, [], final_pid, table_text, killed=killed, why_no_table=why,
                    processes=len(pids))
    extra: dict[int, list[tuple[int, int, str]]] = {}
    for after, pid, fd, why_ in added:
        extra.setdefault(after, []).append((pid, fd, why_))
    for c in calls:
        if c.idx in undecoded:
            if c.idx < cut:
                rec.lines.append((None, f"# [pid {c.pid}] {c.body}   <- strace printed "
                                  f"{c.raw_name}: arguments not decoded; not replayed"))
            rec.undecoded += 1
            continue
        if c.idx in kept and c.idx < cut:
            if c.printed is not None:
                rec.lines.append((None, f"# strace printed: [pid {c.pid}] {c.printed}"))
                rec.lines.append((None, "# (the same call as open(2), line rewritten by "
                                  "mountsim record:)"))
            rec.lines.append((c, f"[pid {c.pid}] {c.body}"))
            rec.kept += 1
        elif c.idx in kept:
            rec.after_snapshot += 1
        else:
            rec.dropped += 1
        if c.idx < cut:
            for pid, fd, why_ in extra.get(c.idx, []):
                rec.lines.append((None, f"# (the kernel closed fd {fd} of pid {pid} here: "
                                  f"{why_}; the next line is added by mountsim record)"))
                rec.lines.append((None, f"[pid {pid}] close({fd}) = 0"))
                rec.added_closes += 1
    return rec


def _first_arg(c: Call) -> int | None:
    m = re.match(r"\w+\((\d+)", c.body)
    return int(m.group(1)) if m else None


# Calls (besides open-like ones, dup2/dup3 and fcntl) whose result is a new fd.
_FD_RETURNING = frozenset({
    "dup", "creat", "socket", "accept", "accept4", "epoll_create", "epoll_create1", "eventfd",
    "eventfd2", "signalfd", "signalfd4", "timerfd_create", "inotify_init", "inotify_init1",
    "memfd_create", "memfd_secret", "pidfd_open", "pidfd_getfd", "open_by_handle_at",
    "openat2", "fanotify_init", "perf_event_open", "userfaultfd", "io_uring_setup",
    "bpf", "mq_open", "landlock_create_ruleset", "seccomp"})


def _mountinfo_rows(text: str) -> list[tuple[str, str, str]]:
    rows = []
    for ln in text.splitlines():
        if " - " not in ln:
            continue
        left, right = ln.split(" - ", 1)
        f = left.split()
        words = " ".join(f[6:]) or "private"
        rows.append((f[4], right.split()[0], words))
    return rows


def kernel_version() -> str:
    m = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return f"{m.group(1)}.{m.group(2)}" if m else os.uname().release


def render(rec: Recording, start_table: str, command: list[str], holder: int | None,
           caps: dict[str, int] | None = None) -> str:
    """The trace text. *holder* (strace's pid) becomes the main pid, forking the command.
    *caps*: the capability sets the command started with (None: this process's, which
    strace and the command inherit)."""
    shown = shlex.join(command).replace("\r", "\\r").replace("\n", "\\n")
    out = [f"# Recorded by mountsim record on Linux {os.uname().release}: {shown}",
           "# (run as root under strace -f in a throwaway sandbox: a private mount namespace on",
           "#  a fresh tmpfs root with read-only /usr and /etc and proc on /proc; only the",
           "#  mount-relevant calls are kept)",
           f"# kernel: {kernel_version()}",
           f"# main-pid: {holder or rec.main_pid}",
           "# start-caps: " + " ".join(f"{k}={v:016x}" for k, v in
                                       (caps if caps is not None else host_caps()).items())]
    out += [f"# start-mountinfo: {ln}" for ln in start_table.splitlines() if ln.strip()]
    if holder:
        out += [f"# strace (pid {holder}) forked the command and, like the recorder, stays in the",
                "# start namespace for the whole run, keeping it alive (line added by mountsim record):",
                f"[pid {holder}] fork() = {rec.main_pid}"]
    out += [text for _, text in rec.lines]
    if rec.final_table is not None:
        rows = _mountinfo_rows(rec.final_table)
        w1 = max(len(r[0]) for r in rows)
        w2 = max(len(r[1]) for r in rows)
        out.append(f"# The kernel's /proc/{rec.final_pid}/mountinfo, read while process "
                   f"{rec.final_pid} was in exit_group (that")
        out.append("# exit and the lines after it are left out, so the replay ends at that moment).")
        out.append("# expect-tree:")
        out += [f"# {mp:<{w1}}  {fs:<{w2}}  {words}" for mp, fs, words in rows]
    else:
        out.append(f"# No expect-tree: {rec.why_no_table}, so its final table could not be read.")
    return "\n".join(out) + "\n"


def summary(rec: Recording, run: Run) -> str:
    parts = [f"{rec.kept} syscalls kept, {rec.dropped} dropped"]
    if rec.after_snapshot:
        parts.append(f"{rec.after_snapshot} after the final table left out")
    if rec.undecoded:
        parts.append(f"{rec.undecoded} not decoded by strace")
    if rec.added_closes:
        parts.append(f"{rec.added_closes} implicit close(s) added")
    parts.append(f"{rec.processes} process{'es' if rec.processes != 1 else ''}")
    if run.timed_out:
        parts.append("the command timed out and was killed")
    elif run.status < 0:
        parts.append(f"the command was killed by signal {-run.status}")
    else:
        parts.append(f"the command exited with status {run.status}")
    if rec.final_table is None:
        parts.append(f"no expect-tree ({rec.why_no_table})")
    else:
        parts.append(f"expect-tree from pid {rec.final_pid}")
    return "; ".join(parts)

