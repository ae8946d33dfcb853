"""MOVE_MOUNT_BENEATH when the target path is the root of a namespace's root mount, on the
model and on the live kernel.

Expected values are the kernel's (each program runs on both; any difference fails).
do_move_mount() checks a mount beneath against `over`: the target path's own mount when
its parent is the topmost mount's parent, else that parent's overmount. A namespace's
root mount is its own parent, so for a target at the root of a detached tree with a
mount on top, `over` is the tree's root mount itself, not the mount on top: after chroot
into that tree, "/" (or an fd to the same root) is refused as the caller's root, while
the same target without the chroot succeeds, as do targets by the mount on top or by a
directory below. Found by the generator (seeds 11 and 12: `mountsim fuzz --seed 11`).
"""

from __future__ import annotations

import pytest

from mountsim import uapi
from mountsim.trace.program import Program, Step
from tests.helpers import kernel_agrees

pytestmark = pytest.mark.live
AT = uapi.AT_FDCWD
E, B, T = uapi.MOVE_MOUNT_F_EMPTY_PATH, uapi.MOVE_MOUNT_BENEATH, uapi.MOVE_MOUNT_T_EMPTY_PATH


def tmpfs(fs_fd: int, mnt_fd: int) -> list:
    """A detached tmpfs at *mnt_fd* (fsopen, create, fsmount)."""
    return [("fsopen", ("tmpfs", 0), fs_fd),
            ("fsconfig", (fs_fd, uapi.FSCONFIG_CMD_CREATE, None, None, 0), None),
            ("fsmount", (fs_fd, 0, 0), mnt_fd)]


def run(live, chroot: bool, target: tuple) -> object:
    """A detached clone R of /a (fd 10), a tmpfs on its root; then a fresh tmpfs moved
    beneath *target* ((dfd, path, extra flags)), with the caller chrooted into R or not."""
    calls = [("mkdir", ("/a/x", 0o755), None),
             ("open_tree", (AT, "/a", uapi.OPEN_TREE_CLONE), 10)]
    if chroot:
        calls += [("fchdir", (10,), None), ("chroot", (".",), None)]
    calls += tmpfs(11, 12) + [("move_mount", (12, "", 10, "", E | T), None)]
    calls += tmpfs(14, 13) + [("move_mount", (13, "", target[0], target[1], E | B | target[2]), None)]
    prog = Program(start_dirs=["/a", "/b"],
                   steps=[Step(pid=1, name=n, args=a, label=lab) for n, a, lab in calls])
    return kernel_agrees(live, prog)[-1]


@pytest.mark.parametrize("chroot,target,expected", [
    (True, (AT, "/", 0), "EINVAL"),        # R is the caller's root
    (True, (10, "", T), "EINVAL"),         # the same root by its fd
    (False, (10, "", T), None),            # R is not the caller's root: beneath the tmpfs
    (True, (12, "", T), None),             # the mount on top named itself
    (True, (AT, "/x", 0), "EINVAL"),       # /x is no mount's root: nothing to go beneath
], ids=["chroot-slash", "chroot-fd", "no-chroot-fd", "chroot-top-fd", "chroot-dir"])
def test_beneath_a_namespace_root_checks_the_root_mount(live, chroot, target, expected):
    """If the target path is the root of a detached tree's root mount R with a tmpfs on
    top, then beneath it is EINVAL exactly when R is the caller's root; by the tmpfs's own
    fd, or without the chroot, the new mount goes between R and the tmpfs."""
    r = run(live, chroot, target)
    assert (r.errno if r.errno else r.ret) == (expected or 0)
