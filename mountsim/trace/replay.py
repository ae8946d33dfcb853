"""Replay a Program on a backend and compare with what the trace recorded. Model-only.

Every recorded result is compared with the backend's; after the last step the table of the
process that issued the last line is compared with the `expect-tree` block (peer groups
renumbered on both sides). Differences come back as `FILE:LINE: expected …, got …` lines.
Steps the model cannot judge (an fd or pid it never saw created) become notes; with
`strict` they count as differences.
"""

from __future__ import annotations


import attrs

from .. import uapi
from ..cgroup import CGROUP_FS
from .normalise import normalise, unescape
from .parse import Truncated
from .tableread import drain, recorded_text, table_positions, table_read_groups
from .program import SYSCALLS, RETURNS_PID, ExpectRow, Note, Program, Result, Step, fds_named
from .signatures import makes_fd


@attrs.define
class Report:
    """The outcome of one replay."""

    program: Program
    diffs: list[str] = attrs.Factory(list)
    notes: list[Note] = attrs.Factory(list)
    results: list[tuple[Step, Result, str]] = attrs.Factory(list)   # (step, result, why)
    final_pid: int = 0
    mountinfo: str = ""

    @property
    def ok(self) -> bool:
        return not self.diffs


def renumber(words_rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Peer-group numbers -> 1, 2, 3… in order of first appearance (rows, then words)."""
    seen: dict[str, int] = {}
    out = []
    for words in words_rows:
        new = []
        for w in words:
            tag, sep, num = w.partition(":")
            if sep:
                n = seen.setdefault(num, len(seen) + 1)
                new.append(f"{tag}:{n}")
            else:
                new.append(w)
        out.append(tuple(new))
    return out


def model_rows(session, pid: int) -> list[tuple[str, str, tuple[str, ...], bool]]:
    """(mountpoint, fstype, propagation words, locked) per mountinfo line of *pid*."""
    from ..proc_namespace import show_mountinfo
    task = session.task(pid)
    rows = []
    for m in task.mnt_ns:
        line = show_mountinfo(m, task.fs.root)
        if line is None:
            continue
        left, right = line.split(" - ", 1)
        f = left.split()
        words = tuple(w for w in f[6:])
        rows.append((unescape(f[4]), right.split()[0], words, m.is_locked))
    return rows


def fd_args(step: Step) -> list[int]:
    kinds = SYSCALLS.get(step.name, ())
    return [a for (n, kind), a in zip(kinds, step.args) if kind == "fd" and isinstance(a, int) and a >= 0]


def compare_result(step: Step, got: Result) -> str | None:
    """None when *got* matches the recorded result, else the difference as text."""
    exp = step.result
    if exp is None:
        return None
    if exp.errno or got.errno:
        if exp.errno != got.errno:
            return f"expected {_fmt(exp)}, model gave {_fmt(got)}"
        return None
    if makes_fd(step.name, step.args) or step.name in RETURNS_PID:
        return None                        # numbers are the trace's labels on both sides
    if exp.ret != got.ret:
        return f"expected {_fmt(exp)}, model gave {_fmt(got)}"
    if step.name == "read" and isinstance(step.out, str) and isinstance(got.out, str):
        return compare_read(step.out, got.out)
    if step.name in _READLINKS and isinstance(step.out, str) and isinstance(got.out, str):
        return None if _same_text(step.out, got.out) else \
            f"the link reads {got.out!r} in the model, {step.out!r} recorded"
    return None


_READLINKS = frozenset({"readlink", "readlinkat"})


def compare_read(recorded: str, got: str) -> str | None:
    """The text a read(2) returned against the recorded buffer (a prefix, when strace
    printed it cut short with `...`); None when they agree."""
    if _same_text(recorded, got):
        return None
    i = next((j for j, (a, b) in enumerate(zip(recorded, got)) if a != b), min(len(recorded), len(got)))
    return (f"read text differs at byte {i}: expected {recorded[i:i + 40]!r}, "
            f"model gave {got[i:i + 40]!r}")


def _same_text(recorded: str, got: str) -> bool:
    """*got* is what strace printed: all of it, or its start when strace cut it short."""
    return got.startswith(recorded) if isinstance(recorded, Truncated) else got == recorded


def _fmt(r: Result) -> str:
    return f"= -1 {r.errno}" if r.errno else f"= {r.ret}"


def replay(program: Program, session, strict: bool = False, on_step=None) -> Report:
    """Run *program* on *session* (a started backend session) and compare.

    *on_step(step, result, error)* is called after each executed step (explanations and
    frames read the state there; error is the KernelError of a failed call, or None)."""
    rep = Report(program, notes=list(program.notes))
    if program.unmodelled:
        counts = sorted(program.unmodelled.items(), key=lambda kv: (-kv[1], kv[0]))
        rep.notes.insert(0, Note(program.file, program.first_unmodelled, "not modelled (skipped): "
                                 + ", ".join(f"{name} x{c}" for name, c in counts)))
    last_pid = program.main_pid
    # ids of new mounts are the recording machine's own when the start was not the model host
    tables = table_read_groups(program) if program.start_mountinfo or program.start_unknown else {}
    positions = table_positions(program) if tables else set()
    as_recorded: set[int] = set()
    cgroup_ns, cgroup_noted = (first_cgroup_ns(program) if tables else None), False
    unseen = _Unseen(program, session)
    for index, step in enumerate(program.steps):
        unseen.before(index, step, rep)
        where = f"{step.file}:{step.line}"
        if index in as_recorded:
            rep.results.append((step, step.result, "a table read compared as a whole"))
            continue
        if not _knows_pid(session, step.pid):
            rep.notes.append(Note(step.file, step.line, f"pid {step.pid} was never created in the model"))
            continue
        if any(isinstance(a, Truncated) for a in step.args):
            rep.notes.append(Note(step.file, step.line, f"{step.name}: an argument was cut "
                                  "short by strace -s; the call is not replayed"))
            continue
        missing = [fd for fd in fd_args(step) if not session.has_fd(step.pid, fd)]
        if missing and (step.result is None or step.result.errno != "EBADF"):
            rep.notes.append(Note(step.file, step.line,
                                  f"fd {missing[0]} was never opened in the model; {step.name} skipped"))
            unseen.skipped(step, missing[0])
            continue
        if index in tables:
            if cgroup_ns is not None and cgroup_ns < index and not cgroup_noted:
                cgroup_noted = True
                rep.notes.append(Note(step.file, step.line, CGROUP_ROOT_NOTE.format(
                    line=program.steps[cgroup_ns].line)))
            d = _compare_table(program, tables[index], session, step,
                               cgroup_ns is not None and cgroup_ns < index)
            if d:
                rep.diffs.append(f"{where}: read: {d}")
            as_recorded.update(tables[index])
            rep.results.append((step, step.result, "a table read compared as a whole"))
            continue
        got = session.execute(step)
        err = getattr(session, "last_error", None) if got.errno else None
        rep.results.append((step, got, f"{err.why} [{err.where}]" if err else ""))
        if on_step is not None:
            on_step(step, got, err)
        last_pid = step.pid
        d = compare_result(step, got)
        if d and index in positions and not got.errno and step.result is not None \
                and not step.result.errno:
            d = None                           # bytes of a table numbered otherwise
        if d:
            why = getattr(session, "last_error", None)
            rep.diffs.append(f"{where}: {step.name}: {d}" + (f" ({why.why})" if why and why.why else ""))
    rep.final_pid = last_pid
    if _knows_pid(session, last_pid):
        rep.mountinfo = session.mountinfo(last_pid)
        if program.expect_tree is not None:
            rep.diffs.extend(compare_tree(program, model_rows(session, last_pid)))
    elif program.expect_tree is not None:
        rep.diffs.append(f"{program.file}:{program.expect_line}: process {last_pid} has exited; "
                         "no table to compare")
    if strict:
        rep.diffs.extend(f"{n.file}:{n.line}: {n.msg}" for n in rep.notes)
    if rep.diffs:
        rep.notes.extend(start_hints(program, rep.diffs))   # advice, never a failure itself
    return rep


def inherited_fds(program: Program) -> list[int]:
    """The fd numbers above stdio that the first process uses (as an fd argument, or in a
    /proc/self/fd/N or /proc/<pid>/fd/N path) before a call makes them: it had them open
    when the recording began. Model-only."""
    pid = program.main_pid
    made = {fd for p, fd in program.made_fds.get(0, ()) if p == pid}
    found: list[int] = []
    for i, step in enumerate(program.steps):
        if step.pid != pid:
            continue
        used = fds_named(step)
        found.extend(fd for fd in used if fd > 2 and fd not in made and fd not in found)
        made.update(fd for p, fd in program.made_fds.get(i + 1, ()) if p == pid)
        if step.label is not None and makes_fd(step.name, step.args):
            made.add(step.label)
    return found


_REPLACES = frozenset({"dup2", "dup3"})     # their target may be open: they close it themselves


class _Unseen:
    """What a recording shows happened in calls the model does not run, applied to a
    session that can take it (the model's: forget_fd(), exec_done(), unknown_fd_closed();
    others have none of them and are left alone).

    - A recorded program starts with stdio open, files unknown, and so are the other fds
      its first process uses before anything makes them (inherited_fds(): bwrap --bind-fd
      3 reads /proc/self/fd/3 of a descriptor its shell opened).
    - Calls the model does not know made fds (Program.made_fds) and ran execs
      (Program.execs), just before a step; strace may print a child's first lines before
      the fork that makes it returns in the parent, so those of processes not made yet wait.
    - A modelled call the kernel gave a number the model still holds shows the kernel had
      closed it (by a call the model did not see); not dup2/dup3, whose target may be open.
    - A close the model skipped (its fd unknown) ends that unknown fd.
    """

    def __init__(self, program: Program, session) -> None:
        self.program, self.session = program, session
        self.forget = getattr(session, "forget_fd", None)
        self.ran_exec = getattr(session, "exec_done", None)
        self.waiting: list[tuple[int, int]] = []
        if self.forget is not None and (program.start_unknown or program.start_mountinfo):
            for fd in (0, 1, 2, *inherited_fds(program)):
                self.forget(program.main_pid, fd)

    def before(self, index: int, step: Step, rep: Report) -> None:
        if self.forget is None:
            return
        made = self.waiting + self.program.made_fds.get(index, [])
        self.waiting = []
        for pid, fd in made:
            if _knows_pid(self.session, pid):
                self.forget(pid, fd)
            else:
                self.waiting.append((pid, fd))
        for pid, dfd, name in self.program.execs.get(index, ()):
            if self.ran_exec is not None and _knows_pid(self.session, pid):
                self.ran_exec(pid, dfd, name)
        if (step.label is not None and makes_fd(step.name, step.args) and step.result is not None
                and step.name not in _REPLACES and not step.result.errno
                and _knows_pid(self.session, step.pid)
                and self.session.has_fd(step.pid, step.label)):
            self.forget(step.pid, step.label)
            rep.notes.append(Note(step.file, step.line, f"fd {step.label} was still open in "
                                  "the model (closed by a call it does not see, such as an "
                                  "exec's close-on-exec); closed there first"))

    def skipped(self, step: Step, fd: int) -> None:
        """*step* was not run (its *fd* unknown): a close ends that unknown fd; a call that
        made an fd in the recording (dup2 of a pipe, an open relative to an unknown
        directory fd) leaves that number open with a file the model does not know."""
        if step.name == "close" and hasattr(self.session, "unknown_fd_closed"):
            self.session.unknown_fd_closed(step.pid, fd)
        elif (self.forget is not None and makes_fd(step.name, step.args) and step.label is not None
              and step.result is not None and not step.result.errno):
            self.forget(step.pid, step.label)


SAVE_TABLE = "cat /proc/self/mountinfo > FILE"
SAVE_COPY = "unshare -m --propagation unchanged cat /proc/self/mountinfo > FILE"


def start_hints(program: Program, diffs: list[str]) -> list[Note]:
    """When a recording differs, what about its start may explain it (Model-only).

    An unknown machine: the model began on one root of unknown contents, so the mounts the
    recording machine had are unknown to it. A start table listing a mount before its
    parent, and no copy listing: mountinfo lists a namespace's mounts in the order they were
    made, but a recursive copy follows the order they were attached (see
    machine.order_as_copied()); a mount listed before its parent was moved there later, so
    that order is not in the table."""
    if program.start_unknown:
        return [Note(program.file, 1, "no start table: the model began on one mount at / of "
                     "unknown contents, so mounts the recording machine had are unknown to it; "
                     f"give its table with --start-mountinfo FILE (`{SAVE_TABLE}` there) and "
                     f"--start-copy FILE2 (`{SAVE_COPY}`), or record with `mountsim record`")]
    if (not program.start_mountinfo or program.start_copy
            or not any(": read: the table read" in d for d in diffs)):
        return []
    i = listed_before_parent(program.start_mountinfo)
    if i is None:
        return []
    f = program.start_mountinfo[i].split()
    return [Note(program.start_mountinfo_file or program.file, program.start_mountinfo_lines[i],
                 f"mount {f[0]} is listed before its parent {f[1]}: this table lists mounts in "
                 "the order they were made, not the order they were attached, which decides the "
                 "order of a recursive copy's rows; give that order with --start-copy FILE, "
                 f"saved with `{SAVE_COPY}` (a fresh copy lists its mounts in it)")]


def listed_before_parent(lines: list[str]) -> int | None:
    """The index of the first mountinfo line whose parent is listed after it, or None."""
    first = {ln.split(None, 1)[0]: i for i, ln in reversed(list(enumerate(lines)))}
    for i, ln in enumerate(lines):
        parent = ln.split(None, 2)[1]
        if first.get(parent, -1) > i:
            return i
    return None


CGROUP_ROOT_NOTE = ("cgroup and cgroup2 mounts show their root relative to the reader's cgroup "
                    "namespace (cgroup_show_path()), which the model does not follow: table "
                    "reads after line {line}, where the trace made one, are compared without it")


def first_cgroup_ns(program: Program) -> int | None:
    """The index of the first step that makes or enters a cgroup namespace
    (unshare/clone/clone3 with CLONE_NEWCGROUP, setns with that nstype), or None."""
    for i, s in enumerate(program.steps):
        if s.name == "clone3":
            flags = s.args[0].get("flags") if s.args and isinstance(s.args[0], dict) else None
        else:
            at = {"unshare": 0, "clone": 0, "setns": 1}.get(s.name)
            flags = s.args[at] if at is not None and len(s.args) > at else None
        if isinstance(flags, int) and flags & uapi.CLONE_NEWCGROUP:
            return i
    return None


def _mask_cgroup_roots(lines: list[str]) -> list[str]:
    """Normalised mountinfo lines with the root field of cgroup mounts blanked out."""
    out = []
    for ln in lines:
        left, sep, right = ln.partition(" - ")
        f = left.split(" ")
        if sep and len(f) > 3 and right.split(" ", 1)[0] in CGROUP_FS:
            f[3] = "(cgroup-ns)"
            ln = " ".join(f) + sep + right
        out.append(ln)
    return out


def _compare_table(program: Program, group: list[int], session, step: Step,
                   cgroup_ns: bool = False) -> str | None:
    """The model's whole table against the joined recorded reads, both normalised (and
    without cgroup mounts' roots once the trace is in a cgroup namespace)."""
    recorded = recorded_text(program, group)
    model = drain(session, step)
    if recorded is None:
        return None                             # strace did not print it all: nothing to judge
    a, b = normalise(recorded).splitlines(), normalise(model).splitlines()
    if cgroup_ns:
        a, b = _mask_cgroup_roots(a), _mask_cgroup_roots(b)
    if a == b:
        return None
    i = next((j for j, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return (f"the table read differs (normalised) at line {i + 1}: expected "
            f"{a[i] if i < len(a) else 'end of table'!r}, model gave "
            f"{b[i] if i < len(b) else 'end of table'!r}")


def _knows_pid(session, pid: int) -> bool:
    return pid in session.pids()


def compare_tree(program: Program, rows) -> list[str]:
    """Compare the expect-tree block with the model's rows; one message per difference."""
    exp: list[ExpectRow] = program.expect_tree or []
    exp_words = renumber([r.propagation for r in exp])
    got_words = renumber([r[2] for r in rows])
    diffs = []
    where = f"{program.file}:{program.expect_line}"
    for i in range(max(len(exp), len(rows))):
        e = exp[i] if i < len(exp) else None
        g = rows[i] if i < len(rows) else None
        e_txt = f"{e.mountpoint} {e.fstype} {' '.join(exp_words[i]) or 'private'}" if e else "no more rows"
        g_txt = f"{g[0]} {g[1]} {' '.join(got_words[i]) or 'private'}" if g else "no more rows"
        line = f"{program.file}:{e.line}" if e else where
        if e_txt != g_txt:
            diffs.append(f"{line}: expected {e_txt}, model gave {g_txt}")
        elif e.locked is not None and e.locked != g[3]:
            diffs.append(f"{line}: expected {e.mountpoint} {'locked' if e.locked else 'unlocked'}, "
                         f"model gave {'locked' if g[3] else 'unlocked'}")
    return diffs
