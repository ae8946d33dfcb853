"""dup, dup2, dup3 on the model and on the live kernel, step by step (issue #9's real
recordings: runc reopens a dup3'd descriptor; shells redirect with dup2).

Expected values are the kernel's: each program runs on both, and any difference fails.
The kernel rules exercised (fs/file.c ksys_dup3(), do_dup2(), SYSCALL_DEFINE2(dup2)):
a dup shares the file (an open_tree() clone moved through the copy after the original
is closed; a pinned mount is busy until the last copy closes); dup2 onto itself only
checks the fd; dup3 onto itself and with flags other than O_CLOEXEC is EINVAL; dup2 closes
the file it replaces (a detached tree dissolves; the number then names the new file).
"""

from __future__ import annotations

import errno
import os

import pytest

from mountsim import uapi
from mountsim.backends import _sys
from mountsim.backends.model import ModelBackend
from mountsim.differential import run_pair
from mountsim.trace.program import Program, Result, Step

pytestmark = pytest.mark.live
AT = uapi.AT_FDCWD
CLONE = uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_CLOEXEC
EMPTY = uapi.MOVE_MOUNT_F_EMPTY_PATH


def program(*calls) -> Program:
    steps = [Step(pid=1, name=n, args=a, label=lab) for n, a, lab in calls]
    return Program(start_dirs=["/a", "/b", "/c"], steps=steps)


def both(live, prog: Program):
    """Run *prog* on the model and the kernel; the divergence (None) and the model's
    results, so a test can also say the calls it meant to fail did fail."""
    model = ModelBackend().start(prog)
    with live.start(prog) as kernel:
        div = run_pair(prog, model, kernel, with_tables=True)
    return div, model


def test_dup_shares_the_file_and_its_pin(live):
    """If open_tree's clone is dup'd and the original closed, then the copy still moves
    the tree; the mount it pins is busy until the copy is closed too."""
    prog = program(("mount", ("none", "/a", "tmpfs", 0, None), None),
                   ("open_tree", (AT, "/a", CLONE), 3),
                   ("dup", (3,), 4),
                   ("close", (3,), None),
                   ("move_mount", (4, "", AT, "/b", EMPTY), None),
                   ("umount2", ("/b", 0), None),
                   ("close", (4,), None),
                   ("umount2", ("/b", 0), None))
    div, _ = both(live, prog)
    assert div is None, div.describe()


def test_dup2_and_dup3_rules(live):
    """If dup2 targets its own fd, it answers that fd; dup3 onto itself or with O_NONBLOCK
    is EINVAL; a negative newfd or an fd never opened is EBADF; dup2 closes the file it
    replaces (the mount /b's O_PATH fd pinned is no longer busy; an open_tree clone's fd
    is dissolved), and the number then names the new file."""
    prog = program(("mount", ("none", "/a", "tmpfs", 0, None), None),
                   ("mount", ("none", "/b", "tmpfs", 0, None), None),
                   ("openat", (AT, "/b", uapi.O_PATH), 10),
                   ("openat", (AT, "/a", uapi.O_PATH), 5),
                   ("dup2", (5, 10), 10),
                   ("umount2", ("/b", 0), None),
                   ("dup2", (5, 5), 5),
                   ("dup3", (5, 5, 0), None),
                   ("dup3", (5, 6, uapi.O_NONBLOCK), None),
                   ("dup2", (5, -1), None),
                   ("dup2", (99, 8), None),
                   ("open_tree", (AT, "/a", CLONE), 7),
                   ("dup2", (5, 7), 7),
                   ("move_mount", (7, "", AT, "/c", EMPTY), None),
                   ("dup3", (7, 9, uapi.O_CLOEXEC), 9),
                   ("close", (5,), None), ("close", (7,), None),
                   ("umount2", ("/c", 0), None),
                   ("close", (9,), None),
                   ("umount2", ("/c", 0), None))
    div, _ = both(live, prog)
    assert div is None, div.describe()
    session = ModelBackend().start(prog)
    got = [session.execute(s) for s in prog.steps]
    assert got[5] == Result(0)                              # /b no longer pinned
    assert [r.errno for r in got[7:11]] == ["EINVAL", "EINVAL", "EBADF", "EBADF"]
    assert got[6] == Result(5) and got[12] == Result(7) and got[17].errno == "EBUSY"


def test_the_checks_the_sandbox_makes_itself_are_the_kernels():
    """If this process calls dup2/dup3 itself with the arguments the live sandbox answers
    without the kernel (it never hands the kernel a trace's newfd), then the kernel answers
    the same: dup3 onto itself EINVAL, dup3 with O_NONBLOCK EINVAL, a negative newfd
    EBADF, dup2 onto itself the fd."""
    fd = os.open("/", os.O_PATH)
    try:
        assert _sys.call("dup3", fd, fd, 0) == (-1, errno.EINVAL)
        assert _sys.call("dup3", fd, 1000, os.O_NONBLOCK) == (-1, errno.EINVAL)
        assert _sys.call("dup2", fd, -1) == (-1, errno.EBADF)
        assert _sys.call("dup2", fd, fd) == (fd, 0)
    finally:
        os.close(fd)
