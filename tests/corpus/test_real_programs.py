"""Real programs recorded with plain `strace -f -o FILE` on this machine replay exactly.

tests/corpus/programs/record.sh recorded each (util-linux unshare, mount, umount, nsenter,
pivot_root, chroot; bubblewrap), each in a mount namespace of its own, with the table it
started from (NAME.mountinfo, given to replay as --start-mountinfo) and, for those recorded
with strings in full (-s 65536, every table read compared), the same table as a fresh copy
lists it (NAME.copy, --start-copy: the order the mounts were attached in). Every recorded
result is the kernel's; the replay must agree with each one. What the model cannot replay yet is
listed below with the reason and the lines that differ, exactly.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from mountsim.backends.model import ModelBackend
from mountsim.cli import main
from mountsim.trace.parse import parse_file, start_caps, start_copy, start_table
from mountsim.trace.program import RETURNS_PID, Result
from mountsim.trace.replay import replay

HERE = Path(__file__).resolve().parent / "programs"
# What the model cannot replay yet: the recorded line of each known difference, and why.
# Exactly these differ: one more (a regression) or one fewer (a fix: update this) fails.
GAPS: dict[str, tuple[tuple[int, ...], str]] = {
    "systemd-nspawn": ((2240,), "/usr/share/locale/locale.alias is a symlink into /etc, which "
                       "is empty in the volatile container; the model found the name as a "
                       "file on the host and cannot know it is a link"),
    "nsenter-outside": ((139, 141, 330), "nsenter -t enters the pid and mount namespaces of a "
                        "process the trace did not make: unknown to the model (setns says "
                        "so), so the pid readlink then reads there is unknown too"),
    "runc-run": ((4343,), "/proc/self/exe of the container's cat, a symlink to busybox on a "
                 "filesystem whose contents the model cannot know at exec time"),
}


def _cases():
    for path in sorted(HERE.glob("*.strace")):
        yield pytest.param(path, id=path.stem)


@pytest.mark.parametrize("path", list(_cases()))
def test_real_program_replays_exactly(path):
    """If a real program's plain strace output is replayed from the table it started on,
    then every recorded result agrees (and nothing is left unjudged but unmodelled calls),
    but for the known gaps above, which differ at exactly their lines."""
    program = parse_file(str(path))
    start_table(program, str(path.with_suffix(".mountinfo")))
    if path.with_suffix(".copy").exists():
        start_copy(program, str(path.with_suffix(".copy")))
    start_caps(program, str(HERE / "recording.caps"))
    rep = replay(program, ModelBackend().start(program))
    lines, why = GAPS.get(path.stem, ((), ""))
    assert [int(d.split(":")[1]) for d in rep.diffs] == list(lines), (why, rep.diffs)
    assert len([s for s in program.steps if s.name in ("mount", "umount2", "unshare", "setns",
                                                        "pivot_root", "chroot")]) > 0


@pytest.mark.parametrize("path", list(_cases()))
def test_every_process_of_a_recording_is_made_by_a_fork_it_shows(path):
    """If a plain `strace -f` recording is parsed, then every process that has lines is the
    main process or the child of a fork step, also inside child pid namespaces, where the
    fork returned the child's pid there ("clone(...) = 3", pid_vnr()) and its lines carry
    strace's (bwrap-pidns-shell, unshare-pid-fork; in unshare-pid-concurrent the children
    speak in another order than they were forked)."""
    program = parse_file(str(path))
    made = {s.label for s in program.steps if s.name in RETURNS_PID and s.label is not None}
    speaking = {s.pid for s in program.steps}
    assert speaking - made - {program.main_pid} == set()
    rep = replay(program, ModelBackend().start(program))
    assert not [n for n in rep.notes if "was never created" in n.msg]


def test_proc_self_names_the_pid_in_the_proc_mounts_namespace():
    """If processes forked inside a new pid namespace read /proc/self of a proc mounted
    there, then they read their pid in that namespace, as recorded (3, 5, 8 under bwrap's
    pid 1 and its shell; 2, 6 and "7/task/7" for thread-self under unshare --pid --fork:
    proc_self_get_link(), proc_thread_self_get_link(), task_tgid_nr_ns()), and
    /proc/1 there is the namespace's init."""
    for name, bodies in (("bwrap-pidns-shell", ["3", "5", "8"]),
                         ("unshare-pid-fork", ["2", "6", "7/task/7"])):
        path = HERE / f"{name}.strace"
        program = parse_file(str(path))
        links = [s for s in program.steps if s.name == "readlink"
                 and s.args[0] in ("/proc/self", "/proc/thread-self")]
        assert [s.out for s in links] == bodies
        start_table(program, str(path.with_suffix(".mountinfo")))
        start_copy(program, str(path.with_suffix(".copy")))
        rep = replay(program, ModelBackend().start(program))
        assert rep.diffs == []


def test_setns_into_a_namespace_outside_the_trace_says_so():
    """If a recording enters the namespaces of a process it did not make (nsenter -t), then
    the replay's difference at each setns names that cause, not a bad fd."""
    rep = _replay(HERE / "nsenter-outside.strace")
    setns = [d for d in rep.diffs if ": setns: " in d]
    assert len(setns) == 2 and all("outside the trace" in d for d in setns)


TABLES = HERE / "bwrap-rbind-tables.strace"      # strace -s 65536: every table read compared


def _replay(path: Path, table: str | None = ".mountinfo", copy: str | None = ".copy"):
    program = parse_file(str(path))
    if table is not None:
        start_table(program, str(path.with_suffix(table)))
    if copy is not None:
        start_copy(program, str(path.with_suffix(copy)))
    return replay(program, ModelBackend().start(program))


def test_a_start_table_without_its_copy_order_gets_the_hint_that_explains_its_differences():
    """If the start table is given alone (the host's mountinfo lists by creation: this
    machine's /proc, /sys and /dev were moved under its root, so they are listed before it),
    then the rows of bwrap's recursive copy come out in another order than the kernel's, and
    replay says why, at the table's first mount listed before its parent, and how to give
    the order (--start-copy); with the copy listing the same trace is exact
    (test_real_program_replays_exactly)."""
    rep = _replay(TABLES, copy=None)
    assert rep.diffs and all(": read: the table read differs" in d for d in rep.diffs)
    hints = [n for n in rep.notes if "listed before its parent" in n.msg]
    # line 1 of the kernel's table: /proc (22), whose parent / (27) is on line 6
    assert [(n.file, n.line) for n in hints] == [(str(TABLES.with_suffix(".mountinfo")), 1)]
    assert hints[0].msg.startswith("mount 22 is listed before its parent 27")
    assert "--start-copy" in hints[0].msg
    assert "unshare -m --propagation unchanged cat /proc/self/mountinfo" in hints[0].msg


def test_a_program_that_reads_its_table_and_a_copy_needs_both_orders():
    """If a program reads the host's own table and then a fresh copy's (read-then-copy),
    then neither listing alone replays it: the host's gives the copy's rows in creation
    order, the copy's gives the host's rows in attach order; the two together are exact."""
    path = HERE / "read-then-copy.strace"
    host_only, copy_only = _replay(path, copy=None), _replay(path, table=".copy", copy=None)
    both = _replay(path)
    assert len(host_only.diffs) == 1 and len(copy_only.diffs) == 1
    assert host_only.diffs != copy_only.diffs
    assert both.diffs == []


def test_an_unknown_machine_gets_the_hint_to_give_its_table():
    """If the same recording is replayed with no start table, then the host's mounts that
    bwrap bound recursively are unknown to the model, calls differ, and replay says at line
    1 that the start table is missing and how to save one."""
    rep = _replay(TABLES, table=None, copy=None)
    assert rep.diffs
    hints = [n for n in rep.notes if n.msg.startswith("no start table")]
    assert [(n.file, n.line) for n in hints] == [(str(TABLES), 1)]
    assert "--start-mountinfo" in hints[0].msg and "--start-copy" in hints[0].msg
    assert "mountsim record" in hints[0].msg


def test_no_hint_when_the_replay_agrees():
    """If the replay agrees (table and copy listing given), then there is no hint."""
    rep = _replay(TABLES)
    assert rep.diffs == []
    assert not [n for n in rep.notes if "start table" in n.msg or "listed before" in n.msg]


def test_a_copy_listing_needs_its_table_and_must_match_it(tmp_path, capsys):
    """If --start-copy comes without --start-mountinfo, or lists other mounts than the
    table (here the copy with one mount left out), then replay exits 2 with one line naming
    the file."""
    copy = TABLES.with_suffix(".copy")
    assert main(["replay", "--start-copy", str(copy), str(TABLES)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(copy) in err[0] and "--start-mountinfo" in err[0]
    short = tmp_path / "short.copy"
    short.write_text("".join(copy.read_text().splitlines(keepends=True)[:-1]))
    assert main(["replay", "--start-mountinfo", str(TABLES.with_suffix(".mountinfo")),
                 "--start-copy", str(short), str(TABLES)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(short) in err[0] and "start-copy:" in err[0]


def test_a_cgroup_namespace_leaves_cgroup_roots_out_of_table_reads():
    """If bwrap --unshare-all enters a new cgroup namespace, then the kernel shows the
    memory cgroup mount's root relative to it ("/../.." in the recorded reads: this process
    sat two levels down that hierarchy, cgroup_show_path()), which the model cannot know;
    replay compares those reads without cgroup roots, says so once, and agrees with every
    other field and call (its /proc/sys/user/max_user_namespaces open included)."""
    path = HERE / "bwrap-unshare-all.strace"
    assert "/../.. /oldroot/sys/fs/cgroup/" in path.read_text()
    program = parse_file(str(path))
    rep = _replay(path)
    assert rep.diffs == []
    notes = [n for n in rep.notes if "cgroup namespace" in n.msg]
    assert len(notes) == 1
    clone = next(s for s in program.steps if s.name == "clone")
    assert f"after line {clone.line}" in notes[0].msg


def test_runc_reads_the_proc_files_it_opens():
    """If runc opens /proc/self/{cgroup,stat,status,cmdline} and
    /proc/sys/kernel/cap_last_cap (runc-run, a real recording), then the model opens them
    as the kernel did (they exist on 6.18: fs/proc/base.c, kernel/sysctl.c), though the
    trace as a whole is still a gap (GAPS)."""
    path = HERE / "runc-run.strace"
    rep = _replay(path)
    wanted = ("/cgroup", "/stat", "/status", "/cmdline", "/cap_last_cap")
    opens = [(s, got) for s, got, _ in rep.results
             if s.name == "openat" and isinstance(s.args[1], str)
             and s.args[1].startswith("/proc/") and s.args[1].endswith(wanted)]
    assert len(opens) >= 5
    assert [(s.line, got.errno) for s, got in opens] == [(s.line, s.result.errno) for s, _ in opens]


def test_runc_descriptors_from_unknown_calls_are_not_mistaken_for_the_models():
    """If runc writes to and seeks on descriptors that pipe2, socketpair and dup3 made (runc
    init's fd 3 is a dup3 of a socketpair end), and opens files at numbers that an exec's
    close-on-exec freed, then replay neither runs those writes on a file the model still
    holds at that number nor installs the new files elsewhere: no write or lseek differs,
    they are noted as unknown descriptors, and since the model closes close-on-exec
    descriptors at each exec, none is found still open where the kernel reuses its number."""
    path = HERE / "runc-run.strace"
    rep = _replay(path)
    assert not [d for d in rep.diffs if ": write: " in d or ": lseek: " in d]
    io = [s for s in parse_file(str(path)).steps if s.name in ("write", "lseek")]
    noted = {n.line for n in rep.notes if "was never opened in the model" in n.msg}
    assert len([s for s in io if s.line in noted]) >= 5      # fd 3 of runc init, and others
    assert not [n for n in rep.notes if "was still open in the model" in n.msg]


def test_fd_links_of_descriptors_the_model_does_not_know_read_as_recorded():
    """If runc reads /proc/self/fd/N of its stdio and of a pipe end that dup3 made
    (runc-run: readlinkat of fd 0-3), then each readlink answers as the kernel did: the
    number is known to be open (stdio, or made by a call the model does not know), and the
    body is the recorded one."""
    path = HERE / "runc-run.strace"
    rep = _replay(path)
    links = [(s, got) for s, got, _ in rep.results if s.name == "readlinkat"
             and isinstance(s.args[1], str) and s.args[1].startswith("/proc/self/fd/")]
    assert len(links) >= 4
    assert [(s.line, got.ret, got.errno) for s, got in links] == \
        [(s.line, s.result.ret, s.result.errno) for s, _ in links]


def _replay_corpus(name: str, edit=None):
    path = HERE / f"{name}.strace"
    program = parse_file(str(path))
    start_table(program, str(path.with_suffix(".mountinfo")))
    start_copy(program, str(path.with_suffix(".copy")))
    if edit is not None:
        edit(program)
    return program, replay(program, ModelBackend().start(program))


def test_a_filtered_recording_replays_the_calls_of_processes_with_no_fork_line():
    """If a recording was filtered (`strace -f -e trace=mount,umount2,unshare`: no fork,
    mkdir or close lines), then each process that speaks is taken as forked by its parent
    (the SIGCHLD lines name it) just before its first line, so the shell's children run in
    the namespace the shell unshared and their calls are judged: a child's recorded umount
    changed to EINVAL is a difference at that line (before, every child's call was skipped
    as "never created" and the replay said ok). The second umount of /mnt/b succeeds as
    recorded: the bind of /mnt/a onto itself propagated onto its peer /mnt/b."""
    program, rep = _replay_corpus("filtered-mount")
    children = {s.pid for s in program.steps} - {program.main_pid}
    judged = [s for s, _, _ in rep.results if s.pid in children and s.result is not None]
    assert len(children) == 8 and len(judged) >= 7 and rep.diffs == []
    umounts = [s for s in program.steps if s.name == "umount2"]
    assert [s.args[0] for s in umounts] == ["/mnt/b", "/mnt/b", "/mnt"]

    def fail_first_umount(p):
        i = p.steps.index(umounts[0])
        p.steps[i] = attrs.evolve(umounts[0], result=Result(-1, "EINVAL"))
    _, bad = _replay_corpus("filtered-mount", fail_first_umount)
    assert [int(d.split(":")[1]) for d in bad.diffs][:1] == [umounts[0].line]


def test_a_filtered_recording_has_unknown_contents_and_closes_after_last_use():
    """If a filtered recording hides the calls that make files, then a directory it made
    unseen (mkdir /mnt/a in a fresh tmpfs) exists as the recorded mount says (the contents
    are decided by recorded results); if it hides close (`-e trace=%file`), then umount's
    O_PATH descriptor of the mountpoint is taken as closed after its last use, and the
    umount that follows succeeds as recorded (kept open it would be EBUSY)."""
    program, rep = _replay_corpus("filtered-mount")
    assert program.filtered and rep.diffs == []
    program, rep = _replay_corpus("filtered-file")
    assert not program.filtered and rep.diffs == []
    paths = [s for s in program.steps if s.name == "openat" and s.args[1] == "/mnt/b"
             and s.result is not None and s.result.ret >= 0]
    assert paths, "umount(8) opens its target O_PATH first"
    assert any("shows no close" in n.msg for n in rep.notes)
