"""`mountsim record`: a real command recorded under strace in a sandbox, then replayed.

The live tests need root, strace and util-linux; elsewhere they are skipped with a one-line
reason. The filtering tests feed hand-written strace output (the format strace 6.1 prints
with `-f -o FILE`) to `record.build` and need nothing.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from mountsim.backends.model import ModelBackend
from mountsim.cli import main
from mountsim.backends import recorder
from mountsim.trace import record
from mountsim.trace.parse import parse_file, parse_text


def _why_not_live() -> str | None:
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        return "recording needs Linux on x86_64"
    if os.geteuid() != 0:
        return "recording needs root"
    for tool in ("strace", "unshare", "mount", "sh"):
        if shutil.which(tool, path=recorder.SANDBOX_PATH) is None:
            return f"{tool} is not installed"
    return None


WHY = _why_not_live()
needs_recording = pytest.mark.skipif(WHY is not None, reason=WHY or "")


def _host_table() -> str:
    with open("/proc/self/mountinfo") as f:
        return f.read()


def _record(tmp_path, *command: str) -> tuple[int, str]:
    out = str(tmp_path / "rec.trace")
    before = _host_table()
    rc = main(["record", "-o", out, "--", *command])
    assert _host_table() == before, "recording changed the host's mount table"
    return rc, out


# -- end to end ----------------------------------------------------------------------------

# openat2 with RESOLVE_* flags, a mount through /proc/self/fd/N, an O_CLOEXEC fd pinning
# the new mount, then an exec of umount: the kernel closes that fd, so umount succeeds
_PY_OPENAT2 = """
import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
def openat2(path, flags, resolve):
    how = ctypes.create_string_buffer(struct.pack("<3Q", flags, 0, resolve), 24)
    return libc.syscall(437, -100, path.encode(), how, 24)
fd = openat2("/srv/d", os.O_PATH | os.O_CLOEXEC, 4)
libc.mount(b"x", b"/proc/self/fd/%d" % fd, b"tmpfs", 0, None)
openat2("/srv/d", os.O_DIRECTORY | os.O_CLOEXEC, 1)
os.open("/srv/d", os.O_RDONLY | os.O_DIRECTORY)
os.execv("/bin/umount", ["umount", "/srv/d"])
"""

@pytest.mark.parametrize("command", [
    ("unshare", "-m", "--propagation", "slave", "mount", "--make-rshared", "/"),
    ("sh", "-c", "mount -t tmpfs data /srv && mount --make-shared /srv && "
                 "mount --bind /srv /mnt && mkdir /srv/a && mount -t tmpfs a /srv/a"),
    ("sh", "-c", "mount -t tmpfs t /srv && mkdir /srv/d && exec 3</srv/d && "
                 f"python3 -c '{_PY_OPENAT2}'; umount /srv; exec 3<&-; umount /srv"),
], ids=["unshare-make-rshared", "sh-bind-shared", "openat2-cloexec-exec"])
@pytest.mark.live
@needs_recording
def test_record_then_replay_is_green(tmp_path, capsys, command):
    """If a real command is recorded, the host's table is unchanged, the trace parses with
    its start table and expect-tree, and `mountsim replay` of it exits 0."""
    rc, out = _record(tmp_path, *command)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 0, err
    if "openat2" in command[-1]:          # the program ran: its calls and the kernel's answers
        text = open(out).read()
        assert "RESOLVE_NO_SYMLINKS" in text and 'mount("x", "/proc/self/fd/' in text
        assert 'umount2("/srv/d", 0)' in text and 'openat(AT_FDCWD, "/srv/d", O_RDONLY) = 3' in text
    assert err[-1].startswith(f"mountsim record: {out}: ") and "syscalls kept" in err[-1]
    program = parse_file(out)
    assert program.start_mountinfo and program.expect_tree
    assert any(s.name == "mount" for s in program.steps)
    assert [r.mountpoint for r in program.expect_tree][:1] == ["/"]
    assert main(["replay", out]) == 0
    assert capsys.readouterr().out.strip().endswith("calls, ok")


@pytest.mark.live
@needs_recording
def test_record_shared_mount_shows_in_expect_tree(tmp_path, capsys):
    """If the command makes / rshared in its own namespace, the recorded final table (the
    kernel's) says shared for every mount, and the start table (before) says private."""
    rc, out = _record(tmp_path, "unshare", "-m", "mount", "--make-rshared", "/")
    assert rc == 0
    program = parse_file(out)
    assert all(" shared:" not in ln for ln in program.start_mountinfo)
    assert all(r.propagation and r.propagation[0].startswith("shared:")
               for r in program.expect_tree)
    assert program.steps[-1].name == "mount"              # the exit is left out


@pytest.mark.live
@needs_recording
def test_command_exit_status_is_reported_not_returned(tmp_path, capsys):
    """If the recorded command fails, the trace is still written and record exits 0; the
    summary gives the command's status. mount(8): exit status 32 is "mount failure";
    mount(2): MS_MOVE of a path that is not a mount fails with EINVAL."""
    rc, out = _record(tmp_path, "mount", "--move", "/mnt", "/srv")
    err = capsys.readouterr().err
    assert rc == 0 and "the command exited with status 32" in err
    program = parse_file(out)
    assert any(s.name == "mount" and s.result.errno == "EINVAL" for s in program.steps)
    assert main(["replay", out]) == 0


# -- errors: one line, exit 2 ----------------------------------------------------------------

@needs_recording
def test_command_not_found_exits_2_with_one_line(capsys):
    """If the command does not exist, record exits 2 with one line and no traceback."""
    assert main(["record", "--", "no-such-command-mountsim"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mountsim record: command not found: ")


def test_no_command_exits_2(capsys):
    assert main(["record"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["mountsim record: no command given (usage: mountsim record [options] -- "
                   "COMMAND [ARG…])"]


def test_not_root_exits_2_with_one_line(monkeypatch, capsys):
    """If not run as root, record refuses in one line (exit 2)."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(os, "uname", lambda: os.uname_result(("Linux", "h", "6.18.0", "", "x86_64")))
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["record", "--", "true"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "must run as root" in err[0]


def test_no_strace_exits_2_with_one_line(monkeypatch, capsys):
    """If strace is not installed, record says so in one line (exit 2)."""
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(os, "uname", lambda: os.uname_result(("Linux", "h", "6.18.0", "", "x86_64")))
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(shutil, "which", lambda name, path=None: None)
    assert main(["record", "--", "true"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "strace not found" in err[0]


# -- filtering strace output (no root needed) -----------------------------------------------

START = "63 42 0:39 / / rw,relatime - tmpfs tmpfs rw\n"
FINAL = ("63 42 0:39 / / rw,relatime shared:1 - tmpfs tmpfs rw\n"
         "70 63 0:40 / /mnt rw,relatime shared:2 - tmpfs none rw\n")


def _build(text: str, snapshots: dict[int, str] | None = None) -> tuple[record.Recording, str]:
    rec = record.build(text, snapshots or {})
    return rec, record.render(rec, START, ["cmd"], holder=99)


def test_noise_is_dropped_and_mount_calls_kept():
    """If a process opens library files and closes them, neither the opens nor the closes
    are kept; mount calls are, with a [pid N] prefix; a successful execve is kept (not a
    step: the replay runs it as the exec it was)."""
    rec, text = _build(
        '100 execve("/usr/bin/mount", ["mount"], 0x7ffd /* 3 vars */) = 0\n'
        '100 openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3\n'
        '100 close(3)                          = 0\n'
        '100 mount("none", "/", NULL, MS_REC|MS_SHARED, NULL) = 0\n'
        '100 exit_group(0)                     = ?\n'
        '100 +++ exited with 0 +++\n', {100: FINAL})
    steps = parse_text(text).steps
    assert [(s.pid, s.name) for s in steps] == [(99, "fork"), (100, "mount")]
    assert '[pid 100] execve("/usr/bin/mount"' in text and "ld.so.cache" not in text
    assert rec.kept == 2 and rec.after_snapshot == 1 and rec.final_pid == 100


def test_open_whose_fd_a_kept_call_uses_is_kept_with_its_close():
    """If an opened fd is later used by fchdir (kept), the open and its close are kept."""
    _, text = _build(
        '100 openat(AT_FDCWD, "/", O_RDONLY) = 3\n'
        '100 fchdir(3) = 0\n'
        '100 close(3) = 0\n'
        '100 exit_group(0) = ?\n', {100: FINAL})
    assert [s.name for s in parse_text(text).steps] == ["fork", "openat", "fchdir", "close"]


def test_split_clone_is_placed_before_the_childs_lines():
    """If strace splits the parent's clone around the child's first line, the joined clone
    comes first, so the child exists when its line is replayed."""
    _, text = _build(
        '100 clone(child_stack=NULL, flags=CLONE_NEWNS|SIGCHLD <unfinished ...>\n'
        '101 mount("none", "/mnt", NULL, MS_PRIVATE, NULL) = 0\n'
        '100 <... clone resumed>) = 101\n'
        '101 exit_group(0) = ?\n', {101: FINAL})
    steps = parse_text(text).steps
    assert [(s.pid, s.name, s.label) for s in steps[1:]] == [(100, "clone", 101), (101, "mount", None)]


def test_trailing_exits_are_left_out_so_the_last_line_is_the_tables_process():
    """If other processes exit after the last mount call, their exits are left out: the
    expect-tree is checked against the process of the last line, which must be alive."""
    rec, text = _build(
        '100 vfork() = 101\n'
        '101 mount("none", "/", NULL, MS_REC|MS_SHARED, NULL) = 0\n'
        '101 exit_group(0) = ?\n'
        '100 exit_group(0) = ?\n', {101: FINAL, 100: START})
    prog = parse_text(text)
    assert prog.steps[-1].pid == 101 and prog.steps[-1].name == "mount"
    assert [r.mountpoint for r in prog.expect_tree] == ["/", "/mnt"]
    assert prog.expect_tree[1].propagation == ("shared:2",)
    assert rec.after_snapshot == 2


def test_close_on_exec_of_a_kept_fd_happens_at_the_kept_exec():
    """If a kept fd is O_CLOEXEC and the process execs, the execve line is kept and no
    close line added: replayed, the exec closes it (execve(2): close-on-exec) and recomputes
    the credentials (found by a `setpriv --reuid 1000` recording, whose dropped execs left
    the uid-1000 shell its capabilities: its mount succeeded in the model)."""
    _, text = _build(
        '100 open_tree(AT_FDCWD, "/mnt", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC) = 3\n'
        '100 execve("/usr/bin/mount", ["mount"], 0x7ffd /* 3 vars */) = 0\n'
        '100 mount("none", "/", NULL, MS_REC|MS_SHARED, NULL) = 0\n'
        '100 exit_group(0) = ?\n', {100: FINAL})
    prog = parse_text(text)
    assert [s.name for s in prog.steps] == ["fork", "open_tree", "mount"]
    assert [pid for pid, _, _ in prog.execs[2]] == [100]       # just before the mount
    session = ModelBackend().start(prog)
    for i, step in enumerate(prog.steps):
        for pid, dfd, path in prog.execs.get(i, ()):
            session.exec_done(pid, dfd, path)
        session.execute(step)
        if step.name == "open_tree":
            assert session.has_fd(100, 3)
    assert not session.has_fd(100, 3)


def test_pid_in_a_child_pid_namespace_is_translated():
    """If the caller is in a child pid namespace, clone returns that namespace's pid; the
    trace needs strace's (--decode-pids=pidns), which names the child's lines."""
    _, text = _build(
        '100 clone(child_stack=NULL, flags=SIGCHLD) = 2 /* 101 in strace\'s PID NS */\n'
        '101 mount("none", "/", NULL, MS_REC|MS_SHARED, NULL) = 0\n'
        '101 exit_group(0) = ?\n', {101: FINAL})
    steps = parse_text(text).steps
    assert steps[1].name == "clone" and steps[1].label == 101


def test_a_call_resumed_after_a_comma_joins_as_strace_prints_it_whole():
    """If strace splits a kept call after an argument (readlink's buffer is printed at exit:
    `readlink("/proc/self",  <unfinished ...>` then `<... readlink resumed>"3", 64) = 1`,
    lines as strace 6.1 wrote them here under `unshare -fp --mount-proc`), then the joined
    call is the one strace prints uninterrupted and the trace parses (it read
    `readlink("/proc/self",, "3", 64)` before, which no parser accepts)."""
    _, text = _build(
        '100 clone(child_stack=NULL, flags=SIGCHLD) = 101\n'
        '100 readlink("/proc/self",  <unfinished ...>\n'
        '101 openat(AT_FDCWD, "/usr/lib/locale/C.UTF-8/LC_CTYPE", O_RDONLY|O_CLOEXEC '
        '<unfinished ...>\n'
        '100 <... readlink resumed>"3", 64)    = 1\n'
        '101 <... openat resumed>)             = -1 ENOENT (No such file or directory)\n'
        '101 mount("none", "/", NULL, MS_REC|MS_SHARED, NULL) = 0\n'
        '101 exit_group(0) = ?\n', {101: FINAL})
    assert '[pid 100] readlink("/proc/self", "3", 64) = 1' in text.replace("    =", " =")
    link = next(s for s in parse_text(text).steps if s.name == "readlink")
    assert link.args[0] == "/proc/self" and link.out == "3" and link.result.ret == 1


def test_syscalls_unknown_to_strace_are_named_in_a_comment():
    """If strace 6.1 prints listmount as syscall_0x1ca with raw pointers, it is named in a
    comment (x86_64 syscall 458) and not replayed."""
    rec, text = _build(
        '100 syscall_0x1ca(0x7f68, 0x7f69, 0x40, 0, 0x1e2e, 0x7) = 0x9\n'
        '100 mount("none", "/", NULL, MS_REC|MS_SHARED, NULL) = 0\n'
        '100 exit_group(0) = ?\n', {100: FINAL})
    assert "# [pid 100] listmount(0x7f68, " in text and rec.undecoded == 1
    assert [s.name for s in parse_text(text).steps] == ["fork", "mount"]


def test_bind_mount_with_a_type_pointer_parses():
    """If strace prints mount's ignored filesystemtype as a pointer (MS_BIND), the line
    parses, with NULL for it."""
    _, text = _build(
        '100 mount("/srv", "/mnt", 0x55ff98b9af60, MS_BIND, NULL) = 0\n'
        '100 exit_group(0) = ?\n', {100: FINAL})
    assert parse_text(text).steps[1].args[:3] == ("/srv", "/mnt", None)


def test_no_snapshot_means_no_expect_tree():
    """If the last process never reached exit_group (killed), there is no expect-tree and
    the trace says why."""
    rec, text = _build(
        '100 mount("none", "/", NULL, MS_REC|MS_SHARED, NULL) = 0\n'
        '100 +++ killed by SIGKILL +++\n')
    assert parse_text(text).expect_tree is None
    assert "killed by SIGKILL" in rec.why_no_table


def test_clone3_with_written_back_fields_parses():
    """If strace shows what clone3 wrote back (`{...} => {parent_tid=[N]}`), the line parses
    and the arguments are the ones passed in."""
    _, text = _build(
        '100 clone3({flags=CLONE_VM|CLONE_FILES|CLONE_THREAD|CLONE_SIGHAND, exit_signal=0, '
        'stack=0x7efc, stack_size=0x7fff80} => {parent_tid=[101]}, 88) = 101\n'
        '101 mount("none", "/", NULL, MS_REC|MS_SHARED, NULL) = 0\n'
        '101 exit(0) = ?\n', {101: FINAL})
    step = parse_text(text).steps[1]
    assert step.name == "clone3" and step.label == 101 and step.args[1] == 88
    assert step.args[0]["stack_size"] == 0x7FFF80


def test_id_map_writes_are_kept_and_other_writes_dropped():
    """If a process writes its uid_map (directly or through a /proc/<pid> dirfd, as bwrap
    does), those writes and their opens are kept: they decide what the user namespace maps
    (user_namespaces(7)); writes to stdout are not mount-relevant and are dropped."""
    _, text = _build(
        '100 unshare(CLONE_NEWNS|CLONE_NEWUSER) = 0\n'
        '100 openat(AT_FDCWD, "/proc/self/uid_map", O_WRONLY) = 3\n'
        '100 write(3, "0 0 1", 5) = 5\n'
        '100 close(3) = 0\n'
        '100 openat(AT_FDCWD, "/proc", O_RDONLY|O_PATH) = 4\n'
        '100 openat(4, "self", O_RDONLY|O_PATH) = 5\n'
        '100 openat(5, "gid_map", O_RDWR|O_CLOEXEC) = 6\n'
        '100 write(6, "0 0 1\\n", 6) = 6\n'
        '100 write(1, "hello\\n", 6) = 6\n'
        '100 mount("none", "/", NULL, MS_REC|MS_SHARED, NULL) = 0\n'
        '100 exit_group(0) = ?\n', {100: FINAL})
    steps = parse_text(text).steps
    writes = [(s.args[0], s.args[1]) for s in steps if s.name == "write"]
    assert writes == [(3, "0 0 1"), (6, "0 0 1\n")]
    assert [s.args[1] for s in steps if s.name == "openat"] == [
        "/proc/self/uid_map", "/proc", "self", "gid_map"]
