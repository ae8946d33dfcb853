"""fcntl's fd-table commands and close-on-exec bits on the model and on the live kernel.

Real recordings are full of them: dash saves stdio with fcntl(1, F_DUPFD, 10) and marks the
copy FD_CLOEXEC, bash moves its script to fd 255 and marks it, and every O_CLOEXEC open
decides what an exec closes (tests/corpus/programs/exec-cloexec: a dash fd survives its
exec of umount, perl's O_CLOEXEC ones do not).

Expected values are the kernel's: each program runs on both, and any difference fails.
The rules exercised (fs/fcntl.c do_fcntl(), f_dupfd(); fs/file.c alloc_fd(), do_dup2()):
F_GETFD reads the bit O_CLOEXEC, OPEN_TREE_CLOEXEC, dup3(O_CLOEXEC) and F_DUPFD_CLOEXEC set
and dup, dup2 and F_DUPFD leave clear; F_SETFD takes only FD_CLOEXEC; O_PATH fds take all
four commands; F_DUPFD copies share the file (a pinned mount stays busy until the last copy
closes; an open_tree clone moves through the copy); a negative start is EINVAL, an fd not
open EBADF.
"""

from __future__ import annotations

import pytest

from mountsim import uapi
from mountsim.trace.program import Program, Step
from tests.helpers import kernel_agrees

pytestmark = pytest.mark.live
AT = uapi.AT_FDCWD
F_DUPFD, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC = (uapi.F_DUPFD, uapi.F_GETFD, uapi.F_SETFD,
                                              uapi.F_DUPFD_CLOEXEC)
EMPTY = uapi.MOVE_MOUNT_F_EMPTY_PATH


def program(*calls) -> Program:
    steps = [Step(pid=1, name=n, args=a, label=lab) for n, a, lab in calls]
    return Program(start_dirs=["/a", "/b", "/c"], steps=steps)


def getfd(fd: int):
    return ("fcntl", (fd, F_GETFD), None)


def test_close_on_exec_bits(live):
    """If fds are made with and without their call's close-on-exec flag, then F_GETFD reads
    1 exactly for O_CLOEXEC, open_tree's OPEN_TREE_CLOEXEC, dup3(O_CLOEXEC) and
    F_DUPFD_CLOEXEC; F_SETFD sets and clears it from FD_CLOEXEC alone."""
    prog = program(("openat", (AT, "/a", uapi.O_PATH | uapi.O_CLOEXEC), 3),
                   ("openat", (AT, "/a", uapi.O_RDONLY | uapi.O_DIRECTORY), 4),
                   getfd(3), getfd(4),
                   ("fcntl", (4, F_DUPFD, 10), 10), getfd(10),
                   ("fcntl", (4, F_DUPFD_CLOEXEC, 0), 5), getfd(5),
                   ("dup", (3,), 6), getfd(6),
                   ("dup3", (4, 7, uapi.O_CLOEXEC), 7), getfd(7),
                   ("dup2", (3, 8), 8), getfd(8),
                   ("open_tree", (AT, "/b", uapi.OPEN_TREE_CLOEXEC), 9), getfd(9),
                   ("fcntl", (5, F_SETFD, 0), None), getfd(5),
                   ("fcntl", (4, F_SETFD, uapi.FD_CLOEXEC | 2), None), getfd(4),
                   ("fcntl", (3, F_SETFD, 2), None), getfd(3))
    got = kernel_agrees(live, prog)
    bits = [r.ret for s, r in zip(prog.steps, got) if s.name == "fcntl" and s.args[1] == F_GETFD]
    assert bits == [1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0]


def test_dupfd_shares_the_file_and_checks_its_arguments(live):
    """If an open_tree clone and a pinning O_PATH fd are copied with F_DUPFD (from 20) and
    the originals closed, then the clone still moves through its copy and /a stays busy
    until the copy is closed; F_DUPFD from a negative start is EINVAL, on an fd never opened
    EBADF (before the start is looked at), and F_GETFD of a closed fd EBADF."""
    prog = program(("mount", ("none", "/a", "tmpfs", 0, None), None),
                   ("openat", (AT, "/a", uapi.O_PATH), 3),
                   ("fcntl", (3, F_DUPFD, 20), 20),
                   ("close", (3,), None),
                   ("umount2", ("/a", 0), None),
                   ("open_tree", (AT, "/a", uapi.OPEN_TREE_CLONE), 4),
                   ("fcntl", (4, F_DUPFD_CLOEXEC, 3), 5),
                   ("close", (4,), None),
                   ("move_mount", (5, "", AT, "/c", EMPTY), None),
                   ("fcntl", (20, F_DUPFD, -1), None),
                   ("fcntl", (99, F_DUPFD, -1), None),
                   getfd(4),
                   ("close", (20,), None),
                   ("umount2", ("/a", 0), None))
    got = kernel_agrees(live, prog)
    assert got[4].errno == "EBUSY" and got[8].ret == 0
    assert [r.errno for r in got[9:12]] == ["EINVAL", "EBADF", "EBADF"]
    assert got[13].ret == 0
