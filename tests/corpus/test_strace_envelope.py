"""Real strace output, every envelope variant: each parses to the same program.

The files in tests/corpus/strace/ were written by strace 6.1 on this machine (record.sh
re-records them): one program — util-linux `unshare -m --propagation private mount -t
tmpfs none /mnt` — under plain `-f`, `-t`, `-tt`, `-ttt`, `-r`, `-T`, `-y`, `-X raw`,
`-X verbose`, `-X abbrev` and `-s 4`, plus a shell that vforks four commands under `-f` and
under `-ff -tt -o PREFIX`. The expected program of each variant is strace's own plain
output of the same program, not anything the parser produced.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mountsim.backends.model import ModelBackend
from mountsim.errors import TraceError
from mountsim.trace.parse import Truncated, parse_ff, parse_file, parse_text
from mountsim.trace.replay import replay

HERE = Path(__file__).resolve().parent / "strace"
VARIANTS = ["t", "tt", "ttt", "r", "T", "y", "Xraw", "Xverbose", "Xabbrev", "s4"]


def calls(program) -> list[tuple]:
    """(name, args, errno, ret) of each step; pids are each run's own and left out."""
    return [(s.name, s.args, s.result.errno if s.result else None,
             s.result.ret if s.result else None) for s in program.steps]


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_parses_like_plain(variant):
    """If strace printed the same program with another envelope option, then the parser
    yields the same calls (strings cut by -s as prefixes) and the same unmodelled counts."""
    plain, other = parse_file(str(HERE / "plain.strace")), parse_file(str(HERE / f"{variant}.strace"))
    a, b = calls(plain), calls(other)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        if variant == "s4":
            assert x[0] == y[0] and x[2:] == y[2:]
            for u, v in zip(x[1], y[1]):
                assert u == v or isinstance(v, Truncated) and u.startswith(v), (x, y)
        else:
            assert x == y
    assert plain.unmodelled == other.unmodelled
    assert other.main_pid == other.steps[0].pid


def test_exit_lines_end_processes():
    """If strace prints `+++ exited with N +++` for a process, then the program ends that
    process there (as exit_group) — once, even after its own exit_group() call."""
    p = parse_file(str(HERE / "plain-fork.strace"))
    exits = [s.pid for s in p.steps if s.name == "exit_group"]
    assert len(exits) == len(set(exits)) == 5           # the shell and its four children
    assert exits[-1] == p.main_pid


def test_every_pid_speaks_after_the_fork_that_made_it():
    """If strace -f prints a child's lines, then they come after the fork that made it in
    the parsed program (checked on the real shell recording)."""
    p = parse_file(str(HERE / "plain-fork.strace"))
    seen: set[int] = {p.main_pid}
    for s in p.steps:
        assert s.pid in seen, f"line {s.line}: pid {s.pid} speaks before it was created"
        if s.name in ("vfork", "clone") and s.result and not s.result.errno:
            seen.add(s.result.ret)


def test_child_call_before_parent_resumes():
    """If a child's first call is printed before its parent's `<... clone resumed> = PID`
    (strace -f prints each line when the call ends; the child can end one before the
    parent's clone returns), then the clone is placed first and the child's mount replays
    in the child's new namespace (clone(2): CLONE_NEWNS)."""
    text = ("100 mount(\"tmpfs\", \"/a\", \"tmpfs\", 0, NULL) = 0\n"
            "100 clone(child_stack=NULL, flags=CLONE_NEWNS|SIGCHLD <unfinished ...>\n"
            "101 mount(\"tmpfs\", \"/a\", \"tmpfs\", 0, NULL) = 0\n"
            "100 <... clone resumed>) = 101\n"
            "101 +++ exited with 0 +++\n")
    p = parse_text("# start-dirs: /a\n" + text, "<t>")
    assert [(s.pid, s.name) for s in p.steps] == [(100, "mount"), (100, "clone"),
                                                  (101, "mount"), (101, "exit_group")]
    assert p.steps[1].result.ret == 101
    assert replay(p, ModelBackend().start(p)).ok


def test_ff_files_merge_like_f():
    """If the same shell runs under `-ff -tt -o PREFIX`, then merging the per-process files by
    timestamp gives the calls `-f` printed in one file (pids renumbered by first appearance)."""
    ff = parse_ff(sorted(str(p) for p in (HERE / "ff").iterdir()))
    f = parse_file(str(HERE / "plain-fork.strace"))

    def renumbered(program):
        order: dict[int, int] = {}
        for s in program.steps:
            order.setdefault(s.pid, len(order))
        return [(order[s.pid], s.name, s.args if s.name not in ("vfork", "clone") else (),
                 s.result.errno if s.result else None) for s in program.steps]
    assert renumbered(ff) == renumbered(f)


@pytest.mark.parametrize("text", ["a\nb", "63 42\n45 63\n", "\x012", "\x00\x00", 'q"\\z', "\t\x7f\xff"])
def test_written_strings_read_back(text):
    """If the writer prints a buffer as strace does (\\n by name, octal otherwise), then the
    parser reads back the same bytes — even an escape followed by a digit ("\\0012", which
    strace prints with three octal digits)."""
    from mountsim.trace.write import _c_string
    p = parse_text(f"write(3, {_c_string(text)}, 3) = 3\n", "<t>")
    assert p.steps[0].args[1] == text


# Lines strace 6.1 wrote on this machine for runc (`strace -f -s 65536 runc run`), verbatim:
# clone3's thread creation printed whole, then split by another thread's line; a read that
# a signal interrupted.
_CLONE3_WHOLE = (
    "21526 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|"
    "CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, "
    "child_tid=0x7ff864fee990, parent_tid=0x7ff864fee990, exit_signal=0, "
    "stack=0x7ff8647ee000, stack_size=0x7fff80, tls=0x7ff864fee6c0} => "
    "{parent_tid=[21527]}, 88) = 21527\n")
_CLONE3_SPLIT = (
    "21526 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|"
    "CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, "
    "child_tid=0x7ff8647ed990, parent_tid=0x7ff8647ed990, exit_signal=0, "
    "stack=0x7ff863fed000, stack_size=0x7fff80, tls=0x7ff8647ed6c0} <unfinished ...>\n"
    "21526 <... clone3 resumed> => {parent_tid=[21528]}, 88) = 21528\n")
_RESTARTED = ("21528 read(14,  <unfinished ...>\n"
              "21528 <... read resumed>0xc0001a344e, 1) = ? ERESTARTSYS (To be restarted if "
              "SA_RESTART is set)\n")


def test_a_resumed_struct_write_back_joins_as_strace_prints_it_whole():
    """If strace splits clone3 before its `=> {parent_tid=[N]}` (the struct the call wrote
    back), then the joined call parses as the same call printed whole does: same flags and
    fields, the child's pid as the result."""
    whole, split = parse_text(_CLONE3_WHOLE), parse_text(_CLONE3_SPLIT)
    (w,), (s,) = whole.steps, split.steps
    assert (s.name, s.result.ret, s.label) == ("clone3", 21528, 21528)
    assert s.args[0]["flags"] == w.args[0]["flags"] and s.args[1:] == w.args[1:]
    assert set(s.args[0]) == set(w.args[0])


def test_a_call_a_signal_interrupted_is_noted_not_replayed():
    """If strace shows `= ? ERESTARTSYS` (the kernel restarts the call; strace prints the
    restart as a call of its own), then the call is no step, and a note names the line it
    began on (as every joined call is named)."""
    p = parse_text(_RESTARTED)
    assert p.steps == []
    assert [(n.line, "ERESTARTSYS" in n.msg) for n in p.notes] == [(1, True)]


# Lines strace 6.1 wrote here (runc's and bwrap's, verbatim): calls the model does not know
# that put files at fd numbers, and a failed one.
_MADE = ("29104 pipe2([5, 6], O_NONBLOCK|O_CLOEXEC) = 0\n"
         "22470 eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 4\n"          # bwrap's
         '29104 memfd_create("runc_cloned:/proc/self/exe", MFD_CLOEXEC|MFD_EXEC) = 3\n'
         "29104 inotify_init1(IN_CLOEXEC) = -1 EMFILE (Too many open files)\n"
         "29110 socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0,  <unfinished ...>\n"
         "29110 <... socketpair resumed>[8, 14]) = 0\n"
         '29104 mkdir("/a", 0755) = 0\n')


def test_fds_made_by_calls_the_model_does_not_know_are_recorded():
    """If strace shows pipe2, eventfd2, memfd_create or socketpair (split) succeed, then the
    program records the fd numbers they installed, per process, before the next step (replay
    closes whatever the model still holds there); a failed call installs none."""
    p = parse_text(_MADE)
    assert [s.name for s in p.steps] == ["mkdir"]
    assert p.made_fds == {0: [(29104, 5), (29104, 6), (22470, 4), (29104, 3),
                              (29110, 8), (29110, 14)]}


def test_openat2_lines_are_steps_with_their_open_how():
    """If strace shows runc's openat2 calls (struct open_how with symbolic flags and
    resolve bits, split across two lines), then they parse as steps the model runs, with
    how decoded and the fd as the step's label."""
    p = parse_text('29104 openat2(-1, "/sys/fs/cgroup", {flags=O_RDONLY|O_CLOEXEC|O_PATH|'
                   'O_DIRECTORY, resolve=0}, 24) = 3\n'
                   '29104 openat2(3, "freezer/f", {flags=O_RDONLY|O_CLOEXEC, '
                   'resolve=RESOLVE_NO_MAGICLINKS|RESOLVE_BENEATH}, 24 <unfinished ...>\n'
                   "29104 <... openat2 resumed>)            = -1 ENOENT (No such file or "
                   "directory)\n")
    assert [(s.name, s.args, s.label) for s in p.steps] == [
        ("openat2", (-1, "/sys/fs/cgroup", {"flags": 0o12200000, "resolve": 0}, 24), 3),
        ("openat2", (3, "freezer/f", {"flags": 0o2000000, "resolve": 0x0A}, 24), None)]


_EXECS = ('29104 execve("/usr/sbin/runc", ["runc", "run", "mountsim-rec"], 0x7ffce3b3ec78 '
          "/* 35 vars */) = 0\n"
          '29111 execveat(6, "", ["runc", "init"], 0x52d52e0 /* 8 vars */, AT_EMPTY_PATH '
          "<unfinished ...>\n"
          "29111 <... execveat resumed>)           = 0\n"
          '5604  execve("/root/.cargo/bin/true", ["true"], 0x7ffff739e688 /* 35 vars */) = -1 '
          "ENOENT (No such file or directory)\n"
          '29104 mkdir("/a", 0755) = 0\n')


def test_successful_execs_are_recorded_for_proc_exe():
    """If strace shows execve and execveat(fd, "", …, AT_EMPTY_PATH) succeed (runc's own
    lines), then the program records what each process runs from then on, by path or by
    fd; a failed execve (bwrap's PATH search) records nothing."""
    p = parse_text(_EXECS)
    assert p.execs == {0: [(29104, -100, "/usr/sbin/runc"), (29111, 6, "")]}


def test_brackets_inside_strings_are_not_nesting():
    """If a call's string holds many brackets (cp's read of an ELF binary did: bytes such as
    '(' and '[' print as themselves), then the line parses; only brackets outside strings
    count toward the depth no strace output exceeds."""
    data = "([{" * 40
    p = parse_text(f'7 openat(AT_FDCWD, "/a", O_RDONLY) = 3\n7 read(3, "{data}", 120) = 120\n')
    assert [(s.name, s.out) for s in p.steps] == [("openat", None), ("read", data)]
    deep = "{" * 70 + "}" * 70
    with pytest.raises(TraceError, match="nested more than 64 levels"):
        parse_text(f'7 mount_setattr(-1, "/a", 0, {deep}, 32) = 0\n')


# crun 1.8.1's lines (recorded here): a child killed by SIGKILL while blocked in read()
_KILLED = ("13443 write(4, \"\\0\", 1 <unfinished ...>\n"
           "13442 <... read resumed>\"\\0\", 1)        = 1\n"
           "13443 <... write resumed>)              = 1\n"
           "13443 read(4,  <unfinished ...>\n"
           "13442 mkdir(\"/a\", 0755) = 0\n"
           "13443 <... read resumed> <unfinished ...>) = ?\n"
           "13443 +++ killed by SIGKILL +++\n")


def test_a_call_the_process_died_inside_is_noted_not_parsed():
    """If strace shows a call resumed only as `<unfinished ...>) = ?` (crun killed its
    child inside read()), then the trace still parses: the call is not a step but a note
    on the line it began, and the process's end follows. (This excerpt shows no fork:
    13443 is taken as forked by the first process when it first speaks.)"""
    p = parse_text("13442 read(3, <unfinished ...>\n" + _KILLED)
    assert [(s.pid, s.name) for s in p.steps] == [(13442, "fork"), (13442, "read"),
                                                 (13443, "write"), (13442, "mkdir"),
                                                 (13443, "exit_group")]
    assert [(n.line, n.msg) for n in p.notes if "never returned" in n.msg] == [
        (5, "pid 13443: read never returned (the process was killed inside it); not replayed")]

