"""Search permission along a path and on the targets of chdir, fchdir and chroot, and the
ids tmpfs's uid= and gid= name, on the model and on the live kernel.

Expected values are the kernel's: each program runs on both, and any difference fails. The
rules exercised (fs/namei.c link_path_walk() -> may_lookup() -> inode_permission(MAY_EXEC)
before every component; fs/open.c chdir/fchdir/chroot: path_permission(MAY_EXEC |
MAY_CHDIR) before chroot's CAP_SYS_CHROOT; generic_permission(): the owner's bits when the
caller's fsuid owns the inode, else the group's (gid 0 here), then CAP_DAC_READ_SEARCH only
over an inode whose ids the caller's user namespace maps, capable_wrt_inode_uidgid();
mm/shmem.c shmem_parse_one(): uid=/gid= are make_kuid() in the caller's namespace, which
must map them, printed as the initial namespace's ids). The generator's tmpfs modes found
both (a mode=+17 root searched from a new user namespace: EACCES live, ENOENT in the model;
uid=0 from a user namespace with no map: EINVAL live).
"""

from __future__ import annotations

import pytest

from mountsim import uapi
from mountsim.trace.program import Program, Step
from tests.helpers import kernel_agrees

pytestmark = pytest.mark.live
AT = uapi.AT_FDCWD


def program(*calls) -> Program:
    steps = [Step(pid=p, name=n, args=a, label=lab) for p, n, a, lab in calls]
    return Program(start_dirs=["/d", "/e", "/f"], steps=steps)


def test_search_permission_in_walks_and_on_chdir_targets(live):
    """If a tmpfs root has mode 017 (no bits for its owner, root) and another 0700, then
    root of the initial namespace still walks through both (CAP_DAC_READ_SEARCH); a child
    in a new user namespace with no id map is still uid 0 to the kernel, so the owner's
    bits apply and no capability covers an inode it does not map: a walk through /d, chdir
    and chroot to /d, and fchdir to an fd of /d opened before are EACCES (chroot's before
    its EPERM would be), while /f (mode 0755) is searchable; a process of the initial
    namespace that became uid 1000 gets the group's bits: through 0710 yes, 0700 no. The
    parent of a path's last name must be searchable too (rename's new name in /d)."""
    prog = program(
        (1, "mount", ("tmpfs", "/d", "tmpfs", 0, "mode=+17"), None),
        (1, "mkdir", ("/d/x", 0o755), None),
        (1, "mount", ("tmpfs", "/e", "tmpfs", 0, "mode=0700"), None),
        (1, "mkdir", ("/e/y", 0o755), None),
        (1, "mkdir", ("/e/y/z", 0o755), None),
        (1, "openat", (AT, "/d", uapi.O_PATH | uapi.O_DIRECTORY), 3),
        (1, "clone", (uapi.CLONE_NEWUSER | uapi.CLONE_NEWNS | uapi.SIGCHLD,), 2),
        (2, "mkdir", ("/d/x/w", 0o755), None),
        (2, "chdir", ("/d",), None),
        (2, "chroot", ("/d",), None),
        (2, "fchdir", (3,), None),
        (2, "chdir", ("/f",), None),
        (2, "mkdir", ("/f/v", 0o755), None),
        (1, "mkdir", ("/f/g", 0o710), None),
        (1, "mkdir", ("/f/h", 0o700), None),
        (1, "fork", (), 4),
        (4, "setresuid", (1000, 1000, 1000), None),
        (4, "chdir", ("/f/g",), None),
        (4, "chdir", ("/f/h",), None),
        (4, "chdir", ("/e/y",), None),
        (4, "chdir", ("/d",), None),
        (2, "rename", ("/f/v", "/d/w"), None))
    got = kernel_agrees(live, prog)
    assert [r.errno for r in got[7:13]] == ["EACCES"] * 4 + [None, None]
    assert [r.errno for r in got[17:]] == [None, "EACCES", "EACCES", None, "EACCES"]


def test_tmpfs_uid_and_gid_are_read_in_the_callers_namespace(live):
    """If tmpfs is mounted with uid=/gid= in a user namespace with no id map, then it is
    EINVAL (make_kuid() gives no id); in the initial namespace uid=5,gid=0x10 prints
    uid=5,gid=16 (fsparam_u32: base 0), uid=-1 is EINVAL."""
    prog = program(
        (1, "mount", ("tmpfs", "/d", "tmpfs", 0, "uid=5,gid=0x10"), None),
        (1, "mount", ("tmpfs", "/e", "tmpfs", 0, "uid=-1"), None),
        (1, "clone", (uapi.CLONE_NEWUSER | uapi.CLONE_NEWNS | uapi.SIGCHLD,), 2),
        (2, "mount", ("tmpfs", "/f", "tmpfs", 0, "uid=0"), None),
        (2, "mount", ("tmpfs", "/f", "tmpfs", 0, "gid=0"), None))
    got = kernel_agrees(live, prog)
    assert [r.errno for r in got] == [None, "EINVAL", None, "EINVAL", "EINVAL"]


def test_rename_checks_trailing_slashes_before_ancestors_on_this_kernel(live):
    """If a file is renamed with a trailing slash onto its own parent (or onto its parent
    with a trailing slash), then 6.18 answers ENOTDIR: do_renameat2() checks the slashes
    before lock_rename()'s ancestor trap (ENOTEMPTY). 7.0's __start_renaming() checks the
    ancestors first (models/rename-ancestor-first.trace, on the VM's 7.x kernels)."""
    prog = program((1, "openat", (AT, "/e/f", uapi.O_WRONLY | uapi.O_CREAT, 0o644), 3),
                   (1, "rename", ("/e/f/", "/e"), None),
                   (1, "rename", ("/e/f", "/e/"), None))
    got = kernel_agrees(live, prog)
    assert [r.errno for r in got[1:]] == ["ENOTDIR", "ENOTDIR"]
