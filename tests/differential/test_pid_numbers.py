"""Pid numbers in child pid namespaces, as a proc mounted there shows them, on the model and
on the live kernel (recorded: tests/corpus/programs/bwrap-pidns-shell, unshare-pid-fork).

Expected values are the kernel's: each program runs on both, and any difference fails
(readlink's body included). The rules exercised (kernel/pid.c alloc_pid(): a number in each
namespace from the child's up, idr_alloc_cyclic() from 1 in a new one; fs/proc/self.c
proc_self_get_link() and thread_self.c: task_tgid_nr_ns() in the proc superblock's pid
namespace, -ENOENT when the caller is not in it; fs/proc/base.c proc_pid_lookup():
find_task_by_pid_ns() there). The sandbox's own processes are numbered by the live sandbox,
so every proc read here is one mounted inside a pid namespace the program made.
"""

from __future__ import annotations

import pytest

from mountsim import uapi
from mountsim.trace.program import Program, Step
from tests.helpers import kernel_agrees

pytestmark = pytest.mark.live
AT = uapi.AT_FDCWD
DIR = uapi.O_RDONLY | uapi.O_DIRECTORY


def program(*calls) -> Program:
    steps = [Step(pid=p, name=n, args=a, label=lab) for p, n, a, lab in calls]
    return Program(start_dirs=["/d", "/e"], steps=steps)


def test_proc_self_and_pid_lookups_use_the_proc_mounts_namespace(live):
    """If a process unshares a pid namespace and forks, and the child mounts proc, then
    /proc/self reads 1 for the child and 2 for its own child, thread-self "2/task/2", the
    parent (outside that namespace) gets ENOENT, /proc/1 and /proc/2 exist and /proc/3 does
    not; a grandchild in a nested namespace is 3 in that proc and 1 in its own."""
    prog = program((1, "unshare", (uapi.CLONE_NEWPID,), None),
                   (1, "fork", (), 2),
                   (2, "mount", ("proc", "/d", "proc", 0, None), None),
                   (2, "readlink", ("/d/self", None, 64), None),
                   (2, "fork", (), 3),
                   (3, "readlink", ("/d/self", None, 64), None),
                   (3, "readlink", ("/d/thread-self", None, 64), None),
                   (1, "readlink", ("/d/self", None, 64), None),
                   (3, "openat", (AT, "/d/1", DIR), 5),
                   (3, "openat", (AT, "/d/2/ns", DIR), 6),
                   (3, "openat", (AT, "/d/3", DIR), 7),
                   (2, "unshare", (uapi.CLONE_NEWPID,), None),
                   (2, "fork", (), 4),
                   (4, "readlink", ("/d/self", None, 64), None),
                   (4, "mount", ("proc", "/e", "proc", 0, None), None),
                   (4, "readlink", ("/e/self", None, 64), None),
                   (4, "openat", (AT, "/e/1", DIR), 8),
                   (4, "openat", (AT, "/e/2", DIR), 9))
    got = kernel_agrees(live, prog)
    assert [got[i].out for i in (3, 5, 6, 13, 15)] == ["1", "2", "2/task/2", "3", "1"]
    assert got[7].errno == "ENOENT"
    assert [got[i].errno for i in (8, 9, 10, 16, 17)] == [None, None, "ENOENT", None, "ENOENT"]


def test_setns_into_the_callers_own_pid_namespace(live):
    """If a process has unshared a pid namespace for its children, then a second unshare
    is EINVAL (copy_pid_ns(): one is already pending), setns() into its own active pid
    namespace (its file from a proc it mounted) succeeds and drops the pending one
    (pidns_install(): the active namespace itself is allowed), so unshare works again and
    the next child is pid 1 of that new namespace. The sandbox's guard lets the setns run:
    the namespace is the sandbox's own, not the host's."""
    prog = program((1, "mount", ("proc", "/d", "proc", 0, None), None),
                   (1, "openat", (AT, "/d/self/ns/pid", uapi.O_RDONLY), 3),
                   (1, "unshare", (uapi.CLONE_NEWPID,), None),
                   (1, "unshare", (uapi.CLONE_NEWPID,), None),
                   (1, "setns", (3, uapi.CLONE_NEWPID), None),
                   (1, "unshare", (uapi.CLONE_NEWPID,), None),
                   (1, "fork", (), 2),
                   (2, "mount", ("proc", "/e", "proc", 0, None), None),
                   (2, "readlink", ("/e/self", None, 64), None))
    got = kernel_agrees(live, prog)
    assert [got[i].errno for i in (2, 3, 4, 5)] == [None, "EINVAL", None, None]
    assert got[8].out == "1"


def test_proc_self_of_a_process_two_namespaces_down(live):
    """If a process two pid namespaces below the proc's (the sandbox's) opens through
    /proc/self, then it runs: the sandbox's guard, which expands /proc/self once the trace
    made a symlink and wants the number it names to be a sandbox process's, knows that
    process's number in the sandbox's namespace too (NSpid), which neither its parent's
    fork (the number one namespace down) nor its own pid shows."""
    prog = program((1, "symlink", ("x", "/e/l"), None),
                   (1, "mount", ("proc", "/d", "proc", 0, None), None),
                   (1, "clone", (uapi.CLONE_NEWPID | uapi.SIGCHLD,), 2),
                   (2, "fork", (), 3),
                   (3, "openat", (AT, "/d/self/ns/mnt", uapi.O_RDONLY), 5),
                   (3, "readlink", ("/e/l", None, 64), None))
    got = kernel_agrees(live, prog)
    assert got[4].errno is None and got[5].out == "x"


def test_no_new_process_once_the_namespaces_init_has_exited(live):
    """If the first process of a pid namespace (its init) exits, then a fork into that
    namespace is ENOMEM (zap_pid_ns_processes() -> disable_pid_allocation(); alloc_pid()
    checks PIDNS_ADDING), and a clone(CLONE_NEWPID) by the same caller is EINVAL (its
    pid_for_children is still that namespace: copy_pid_ns()), while another process's
    clone(CLONE_NEWPID) makes a working one (found by `fuzz --seed 1`)."""
    prog = program((1, "fork", (), 2),
                   (1, "unshare", (uapi.CLONE_NEWPID,), None),
                   (1, "fork", (), 3),
                   (3, "exit_group", (0,), None),
                   (1, "fork", (), 4),
                   (1, "clone", (uapi.CLONE_NEWPID | uapi.SIGCHLD,), 4),
                   (2, "clone", (uapi.CLONE_NEWPID | uapi.SIGCHLD,), 5),
                   (5, "mount", ("proc", "/d", "proc", 0, None), None),
                   (5, "readlink", ("/d/self", None, 64), None))
    got = kernel_agrees(live, prog)
    assert [got[i].errno for i in (4, 5, 6)] == ["ENOMEM", "EINVAL", None]
    assert got[8].out == "1"


def test_a_namespace_init_whose_sibling_is_never_reaped_exits_without_the_timeout(live, monkeypatch):
    """If the init of a pid namespace exits while another process of that namespace has
    its parent outside it (the unsharer forked twice; trace processes never reap), then the
    kernel parks the init in zap_pid_ns_processes() until that process is reaped, having
    dropped its files and namespaces: the exit step is done there, and the unsharer goes
    on, not after the backend's timeout (before: 30 s a program, which the campaign met as a rate
    of 8 programs/s with seed 3)."""
    import time as clock
    from mountsim.backends import live as live_mod
    monkeypatch.setattr(live_mod, "TIMEOUT", 5.0)
    prog = program((1, "unshare", (uapi.CLONE_NEWPID,), None),
                   (1, "fork", (), 2),
                   (1, "fork", (), 3),
                   (2, "mount", ("tmpfs", "/d", "tmpfs", 0, None), None),
                   (2, "exit_group", (0,), None),
                   (1, "mkdir", ("/e/x", 0o755), None),
                   (1, "readlink", ("/d", None, 64), None))
    start = clock.monotonic()
    got = kernel_agrees(live, prog)
    assert clock.monotonic() - start < live_mod.TIMEOUT
    assert [r.errno for r in got[4:]] == [None, None, "EINVAL"]


def test_proc_pidns_option_shows_the_named_pid_namespace(live):
    """If proc is mounted with pidns= naming a pid namespace file (6.16: mount data, or
    fsconfig's string or fd), then /proc/self there reads the caller's pid in that
    namespace (ENOENT for a caller outside it); a path that is no namespace file, or a
    namespace file of another kind, is EINVAL, a missing one ENOENT, a remount with
    pidns= EBUSY (fs/proc/root.c proc_parse_pidns_param())."""
    prog = program((1, "unshare", (uapi.CLONE_NEWPID,), None),
                   (1, "fork", (), 2),
                   (2, "mount", ("proc", "/d", "proc", 0, None), None),
                   (2, "mount", ("p", "/e", "proc", 0, "pidns=/d/self/ns/pid"), None),
                   (2, "readlink", ("/e/self", None, 64), None),
                   (1, "readlink", ("/e/self", None, 64), None),
                   (2, "mount", ("p", "/e", "proc", 0, "pidns=/d"), None),
                   (2, "mount", ("p", "/e", "proc", 0, "pidns=/nonexistent"), None),
                   (2, "mount", (None, "/e", None, uapi.MS_REMOUNT, "pidns=/d/self/ns/pid"), None),
                   (2, "fsopen", ("proc", 0), 3),
                   (2, "fsconfig", (3, uapi.FSCONFIG_SET_STRING, "pidns", "/d/self/ns/mnt", 0), None),
                   (2, "openat", (AT, "/d/self/ns/pid", uapi.O_RDONLY), 4),
                   (2, "fsconfig", (3, uapi.FSCONFIG_SET_FD, "pidns", None, 4), None),
                   (2, "fsconfig", (3, uapi.FSCONFIG_CMD_CREATE, None, None, 0), None))
    got = kernel_agrees(live, prog)
    assert [r.errno for r in got[3:9]] == [None, None, "ENOENT", "EINVAL", "ENOENT", "EBUSY"]
    assert got[4].out == "1"
    assert [r.errno for r in got[10:]] == ["EINVAL", None, None, None]


def test_the_processes_an_exiting_init_kills_are_gone_when_its_exit_returns(live):
    """If the init of a pid namespace exits while another process of the namespace (whose
    parent, the unsharer, never reaps) is still running, then the kernel has sent SIGKILL
    to it before parking the init in zap_pid_ns_processes(): the session lists it as gone
    as soon as the exit step returns, as the model does (it used to be listed alive in some
    runs, a flaky "final tables differ" in the campaign, seed 32). The killed process holds
    a mount namespace of its own with 300 mounts, whose teardown makes its death slow
    enough to see; five rounds."""
    prog = program((1, "unshare", (uapi.CLONE_NEWPID,), None),
                   (1, "fork", (), 2),
                   (1, "fork", (), 3),
                   (3, "unshare", (uapi.CLONE_NEWNS,), None),
                   *[(3, "mount", ("tmpfs", "/d", "tmpfs", 0, None), None)] * 300,
                   (2, "exit_group", (0,), None))
    for _ in range(5):
        with live.start(prog) as session:
            for step in prog.steps:
                session.execute(step)
            assert session.pids() == [1]
