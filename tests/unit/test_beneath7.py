"""MOVE_MOUNT_BENEATH onto the caller's rootfs and the MNT_LOCKED transfer (7.1).

Expected values come from the 7.1 selftests (tools/testing/selftests/filesystems/
move_mount/move_mount_test.c, as shipped in linux-source-7.3) and, for the versions that
refuse, from 6.18's can_move_mount_beneath() (its checks are what the model runs at 6.18,
agreed with the live 6.18 kernel) and the 7.1 pull request ("Originally MOVE_MOUNT_BENEATH
doesn't support mounting beneath a mount that is locked").
"""

from __future__ import annotations

import pytest

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.trace.program import Program, Step
from tests.helpers import MS_BIND, MS_PRIVATE, MS_REC, Runner

AT_FDCWD = uapi.AT_FDCWD
BENEATH_FD = uapi.MOVE_MOUNT_F_EMPTY_PATH | uapi.MOVE_MOUNT_BENEATH


def run(kernel: str) -> Runner:
    """The selftest fixture: a private copy of the model host's namespace."""
    r = Runner(ModelBackend(kernel=kernel).start(Program(start_dirs=["/a", "/b", "/mnt_dir"])))
    assert r.call("unshare", uapi.CLONE_NEWNS) == 0
    assert r.call("mount", "", "/", None, MS_REC | MS_PRIVATE, None) == 0
    return r


def task(r: Runner):
    return r.s.k.tasks[r.pid]


def fd_mount(r: Runner, fd: int):
    return task(r).files.fds[fd].path.mnt


def clone_root(r: Runner, rec: bool = False) -> int:
    flags = uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_CLOEXEC | (uapi.AT_RECURSIVE if rec else 0)
    fd = r.call("open_tree", AT_FDCWD, "/", flags)
    assert isinstance(fd, int) and fd >= 0
    return fd


def switch_root(r: Runner, fd: int) -> None:
    """The selftests' root switch up to the new root: fchdir(fd_tree), move_mount beneath
    "/", close(fd_tree), chroot(".")."""
    assert r.call("fchdir", fd) == 0
    assert r.call("move_mount", fd, "", AT_FDCWD, "/", BENEATH_FD) == 0
    assert r.call("close", fd) == 0
    assert r.call("chroot", ".") == 0


def setup_userns(r: Runner) -> None:
    """utils.c:setup_userns(): unshare(CLONE_NEWNS|CLONE_NEWUSER), then MS_REC|MS_PRIVATE."""
    assert r.call("unshare", uapi.CLONE_NEWNS | uapi.CLONE_NEWUSER) == 0
    assert r.call("mount", "", "/", None, MS_REC | MS_PRIVATE, None) == 0


def detached_tmpfs(r: Runner) -> int:
    """move_mount_test.c:create_detached_tmpfs()."""
    fs_fd = r.call("fsopen", "tmpfs", uapi.FSOPEN_CLOEXEC)
    assert r.call("fsconfig", fs_fd, uapi.FSCONFIG_CMD_CREATE, None, None, 0) == 0
    mnt_fd = r.call("fsmount", fs_fd, uapi.FSMOUNT_CLOEXEC, 0)
    assert r.call("close", fs_fd) == 0
    return mnt_fd


def visible_at(r: Runner, where: str) -> int:
    """get_unique_mnt_id(where), through mountinfo: the last line for *where* is the top."""
    return [int(ln.split()[0]) for ln in r.s.mountinfo(r.pid).splitlines() if ln.split()[4] == where][-1]


def setup_locked_overmount(r: Runner) -> None:
    """move_mount_test.c:setup_locked_overmount(): tmpfs A and B stacked on /mnt_dir,
    then a user+mount namespace in which both are locked."""
    assert r.tmpfs("/mnt_dir") == 0 and r.tmpfs("/mnt_dir") == 0
    setup_userns(r)
    assert r.call("umount2", "/mnt_dir", uapi.MNT_DETACH) == "EINVAL"


class TestBeneathRootfs:
    """The root switch without pivot_root: open_tree, fchdir, move_mount beneath "/",
    chroot("."), umount2(".", MNT_DETACH)."""

    def test_success(self):
        """If a clone of "/" is moved beneath "/", chroot(".") into it and the old root
        lazily unmounted, then every step succeeds and "/" is the clone (source:
        move_mount_test.c, TEST_F(move_mount, beneath_rootfs_success))."""
        r = run("7.1")
        old_root = task(r).fs.root.mnt
        fd = clone_root(r)
        clone = fd_mount(r, fd)
        assert clone is not old_root
        switch_root(r, fd)
        assert task(r).fs.root.mnt is clone
        assert r.call("umount2", ".", uapi.MNT_DETACH) == 0
        assert task(r).fs.root.mnt is clone and old_root.ns is None

    def test_old_root_stacked(self):
        """If a clone is moved beneath "/", then the old root's parent is the clone
        (source: move_mount_test.c, TEST_F(move_mount, beneath_rootfs_old_root_stacked):
        statmount(orig_root_id).mnt_parent_id == clone_id)."""
        r = run("7.1")
        old_root = task(r).fs.root.mnt
        fd = clone_root(r)
        clone = fd_mount(r, fd)
        assert r.call("fchdir", fd) == 0
        assert r.call("move_mount", fd, "", AT_FDCWD, "/", BENEATH_FD) == 0
        assert r.call("chroot", ".") == 0
        req = {"size": uapi.MNT_ID_REQ_SIZE_VER0, "mnt_id": old_root.unique_id,
               "param": uapi.STATMOUNT_MNT_BASIC}
        res = r.s.execute(Step(r.pid, "statmount", (req, None, 4096, 0)))
        assert res.ret == 0 and res.out["mnt_parent_id"] == clone.unique_id

    def test_in_chroot_fail(self):
        """If the caller is chrooted into a directory of the root mount, then "/" is not a
        mount root and beneath "/" is EINVAL (source: move_mount_test.c,
        TEST_F(move_mount, beneath_rootfs_in_chroot_fail); do_lock_mount(): beneath and
        !path_mounted())."""
        r = run("7.1")
        assert r.call("mkdir", "/chroot_dir", 0o755) == 0
        assert r.call("chdir", "/chroot_dir") == 0 and r.call("chroot", ".") == 0
        fd = clone_root(r)
        assert r.call("fchdir", fd) == 0
        assert r.call("move_mount", fd, "", AT_FDCWD, "/", BENEATH_FD) == "EINVAL"

    def test_in_chroot_success(self):
        """If the caller is chrooted into a tmpfs of its own, then a clone of it goes beneath
        it and becomes "/" after chroot(".") (source: move_mount_test.c,
        TEST_F(move_mount, beneath_rootfs_in_chroot_success))."""
        r = run("7.1")
        assert r.call("mkdir", "/chroot_dir", 0o755) == 0
        assert r.tmpfs("/chroot_dir") == 0
        assert r.call("chdir", "/chroot_dir") == 0 and r.call("chroot", ".") == 0
        chroot_mnt = task(r).fs.root.mnt
        fd = clone_root(r)
        clone = fd_mount(r, fd)
        switch_root(r, fd)
        assert task(r).fs.root.mnt is clone and chroot_mnt.parent is clone
        assert r.call("umount2", ".", uapi.MNT_DETACH) == 0

    @pytest.mark.parametrize("kernel", ["6.18", "7.0-rc1", "7.0"])
    def test_refused_before_7_1(self, kernel):
        """If the kernel predates 7.1, then beneath the caller's root is EINVAL and the rest
        of the sequence leaves the old root in place (source: the 7.1 pull "move_mount:
        allow MOVE_MOUNT_BENEATH on the rootfs"; 6.18 can_move_mount_beneath(): "Mounting
        beneath the rootfs only makes sense when the semantics of pivot_root(".", ".") are
        used")."""
        r = run(kernel)
        old_root = task(r).fs.root.mnt
        fd = clone_root(r)
        assert r.call("fchdir", fd) == 0
        assert r.call("move_mount", fd, "", AT_FDCWD, "/", BENEATH_FD) == "EINVAL"
        assert old_root.ns is task(r).mnt_ns and task(r).fs.root.mnt is old_root


class TestLockTransfer:
    """attach_recursive_mnt(): the mount placed beneath takes over MNT_LOCKED."""

    def test_rootfs_locked_transfer(self):
        """If, in a user+mount namespace, a recursive clone of "/" goes beneath the locked
        root, then the old root can be lazily unmounted and "/" stays the clone (source:
        move_mount_test.c, TEST_F(move_mount, beneath_rootfs_locked_transfer))."""
        r = run("7.1")
        setup_userns(r)
        fd = clone_root(r, rec=True)
        clone = fd_mount(r, fd)
        switch_root(r, fd)
        assert task(r).fs.root.mnt is clone
        assert r.call("umount2", ".", uapi.MNT_DETACH) == 0
        assert task(r).fs.root.mnt is clone

    def test_rootfs_locked_containment(self):
        """If the lock moved to the clone, then the clone itself cannot be unmounted:
        umount2("/") is EINVAL before and after the switch (source: move_mount_test.c,
        TEST_F(move_mount, beneath_rootfs_locked_containment))."""
        r = run("7.1")
        setup_userns(r)
        assert r.call("umount2", "/", uapi.MNT_DETACH) == "EINVAL"
        fd = clone_root(r, rec=True)
        switch_root(r, fd)
        assert r.call("umount2", ".", uapi.MNT_DETACH) == 0
        assert task(r).fs.root.mnt.is_locked
        assert r.call("umount2", "/", uapi.MNT_DETACH) == "EINVAL"

    def test_non_rootfs_locked_transfer(self):
        """If a detached tmpfs goes beneath locked B on /mnt_dir, then B can be unmounted
        and the new tmpfs shows at /mnt_dir (source: move_mount_test.c,
        TEST_F(move_mount, beneath_non_rootfs_locked_transfer))."""
        r = run("7.1")
        setup_locked_overmount(r)
        mnt_fd = detached_tmpfs(r)
        new = fd_mount(r, mnt_fd)
        assert r.call("move_mount", mnt_fd, "", AT_FDCWD, "/mnt_dir", BENEATH_FD) == 0
        assert r.call("close", mnt_fd) == 0
        assert r.call("umount2", "/mnt_dir", uapi.MNT_DETACH) == 0
        assert visible_at(r, "/mnt_dir") == new.mnt_id

    def test_non_rootfs_locked_containment(self):
        """If the lock moved from B to the new mount, then after B goes the new mount cannot
        be unmounted: EINVAL (source: move_mount_test.c,
        TEST_F(move_mount, beneath_non_rootfs_locked_containment))."""
        r = run("7.1")
        setup_locked_overmount(r)
        mnt_fd = detached_tmpfs(r)
        assert r.call("move_mount", mnt_fd, "", AT_FDCWD, "/mnt_dir", BENEATH_FD) == 0
        assert r.call("close", mnt_fd) == 0
        assert r.call("umount2", "/mnt_dir", uapi.MNT_DETACH) == 0
        assert r.call("umount2", "/mnt_dir", uapi.MNT_DETACH) == "EINVAL"

    @pytest.mark.parametrize("kernel", ["6.18", "7.0"])
    def test_locked_target_refused_before_7_1(self, kernel):
        """If the kernel predates 7.1, then beneath a locked mount is EINVAL (source: the
        7.1 pull "Originally MOVE_MOUNT_BENEATH doesn't support mounting beneath a mount
        that is locked"; 6.18 can_move_mount_beneath(): IS_MNT_LOCKED(mnt_to))."""
        r = run(kernel)
        setup_locked_overmount(r)
        mnt_fd = detached_tmpfs(r)
        assert r.call("move_mount", mnt_fd, "", AT_FDCWD, "/mnt_dir", BENEATH_FD) == "EINVAL"
        assert r.call("umount2", "/mnt_dir", uapi.MNT_DETACH) == "EINVAL"

    def test_propagated_copy_keeps_q_locked(self):
        """If a mount placed beneath /a/x in the initial user namespace propagates into a
        user+mount namespace, where the copy of /a/x's mount is locked, then the copy
        slid under it is locked too and the covering mount keeps its lock (source:
        fs/namespace.c (7.3) attach_recursive_mnt(): "If @q was locked ... Let @child take
        over that job and lock it ... A propagated copy goes away when the mounter of the
        original unmounts it, so @q keeps its lock")."""
        r = run("7.1")
        assert r.tmpfs("/a") == 0 and r.make("/a", uapi.MS_SHARED) == 0
        assert r.call("mkdir", "/a/x", 0o755) == 0 and r.tmpfs("/a/x") == 0
        child = r.fork()
        assert r.call("unshare", uapi.CLONE_NEWNS | uapi.CLONE_NEWUSER, pid=child) == 0
        mnt_fd = detached_tmpfs(r)
        assert r.call("move_mount", mnt_fd, "", AT_FDCWD, "/a/x", BENEATH_FD) == 0
        ns = r.s.k.tasks[child].mnt_ns
        [copy] = [m for m in ns if m.sb is fd_mount(r, mnt_fd).sb]
        assert copy.is_locked and copy.overmount is not None and copy.overmount.is_locked
        assert r.call("umount2", "/a/x", uapi.MNT_DETACH, pid=child) == "EINVAL"


def locked_file_and_newer_nsfs(kernel: str) -> tuple[Runner, int]:
    """/f: a file bind mount locked by a user+mount namespace; and an fd on a detached
    clone of a newer mount namespace's file (made by unshare, kept across setns() back), as
    models/beneath-nsfs-lock-7.2.trace does it (checked on 7.2.12)."""
    r = Runner(ModelBackend(kernel=kernel).start(Program(start_dirs=["/proc"])))
    assert r.call("unshare", uapi.CLONE_NEWNS) == 0
    assert r.call("mount", "proc", "/proc", "proc", 0, None) == 0
    for f in ("/f", "/g"):
        fd = r.call("openat", AT_FDCWD, f, uapi.O_CREAT | uapi.O_WRONLY, 0o644)
        assert r.call("close", fd) == 0
    assert r.call("mount", "/g", "/f", None, MS_BIND, None) == 0
    setup_userns(r)
    assert r.call("openat", AT_FDCWD, "/proc/self/ns/mnt", uapi.O_RDONLY, label=5) == 5
    assert r.call("unshare", uapi.CLONE_NEWNS) == 0
    assert r.call("openat", AT_FDCWD, "/proc/self/ns/mnt", uapi.O_RDONLY, label=6) == 6
    assert r.call("setns", 5, uapi.CLONE_NEWNS) == 0
    fd = r.call("open_tree", 6, "", uapi.OPEN_TREE_CLONE | uapi.AT_EMPTY_PATH)
    assert isinstance(fd, int)
    return r, fd


class TestBeneathLockedNsfs:
    """7.3's can_move_mount_beneath(): a mount namespace file cannot take over a lock."""

    @pytest.mark.parametrize("kernel,expect", [("7.2", 0), ("7.3", "EINVAL")])
    def test_nsfs_source_under_locked_target(self, kernel, expect):
        """If the target is locked and the source is a clone of a mount namespace file, then
        7.3 refuses with EINVAL where 7.2 moves it (source: fs/namespace.c (7.3)
        can_move_mount_beneath(): IS_MNT_LOCKED(mnt_to) && is_mnt_ns_file(mnt_from->mnt.mnt_root);
        the check is absent from linux-source-7.2)."""
        r, fd = locked_file_and_newer_nsfs(kernel)
        assert r.call("move_mount", fd, "", AT_FDCWD, "/f", BENEATH_FD) == expect


class TestCopyTreeLockedNsfs:
    """copy_tree(): a locked mount namespace file left out of a copy would reveal what it
    covers; 7.3 refuses the copy."""

    def _locked_nsfs(self, kernel: str) -> Runner:
        """On 7.2 the nsfs clone goes beneath the locked /f and takes its lock (the 7.1
        transfer): a locked nsfs mount covered by the old /f mount."""
        r, fd = locked_file_and_newer_nsfs(kernel)
        assert r.call("move_mount", fd, "", AT_FDCWD, "/f", BENEATH_FD) == 0
        [nsfs] = [m for m in task(r).mnt_ns if m.sb.fstype == "nsfs"]
        assert nsfs.is_locked and nsfs.overmount is not None
        return r

    def test_namespace_copy_skips_it_on_7_2(self):
        """If a namespace holding a locked nsfs mount is copied on 7.2, then the copy leaves
        it (and the mount on it) out (source: fs/namespace.c (7.2) copy_tree(): without
        CL_COPY_MNT_NS_FILE an mnt-ns file is skipped with its subtree)."""
        r = self._locked_nsfs("7.2")
        assert r.call("unshare", uapi.CLONE_NEWNS) == 0
        assert not [m for m in task(r).mnt_ns if m.sb.fstype == "nsfs"]

    def test_namespace_copy_refused_on_7_3(self):
        """If the same namespace is copied under 7.3's rule, then EPERM and nothing changes
        (source: fs/namespace.c (7.3) copy_tree(): "Both a mount namespace file and locked."
        -> -EPERM). The state is built with 7.2's rules, since 7.3 refuses to build it."""
        from mountsim.versions import KERNELS
        r = self._locked_nsfs("7.2")
        ns = task(r).mnt_ns
        r.s.k.sem = KERNELS["7.3"]
        assert r.call("unshare", uapi.CLONE_NEWNS) == "EPERM"
        assert task(r).mnt_ns is ns


class TestCheckForNsfsMounts:
    def test_own_namespace_file_is_a_loop(self, runner):
        """If a detached clone of the caller's own /proc/self/ns/mnt is moved onto a file,
        then ELOOP (source: fs/namespace.c do_move_mount(): check_for_nsfs_mounts() ->
        mnt_ns_loop(), in linux-source-7.2 and 7.3 alike; the live run checks 6.18)."""
        r = runner
        assert r.call("mount", "proc", "/a", "proc", 0, None) == 0
        assert r.call("openat", AT_FDCWD, "/g", uapi.O_CREAT | uapi.O_WRONLY, 0o644, label=3) == 3
        assert r.call("close", 3) == 0
        assert r.call("open_tree", AT_FDCWD, "/a/self/ns/mnt", uapi.OPEN_TREE_CLONE, label=4) == 4
        assert r.call("move_mount", 4, "", AT_FDCWD, "/g", uapi.MOVE_MOUNT_F_EMPTY_PATH) == "ELOOP"
