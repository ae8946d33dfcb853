"""7.3's covers for lazily unmounted mounts on the model (namespace.py needs_cover(),
leave_cover(), umount_tree(); kernel.py lookup_mnt(); nullfs.py knullfs_mount()).

Expected values come from fs/namespace.c and fs/nullfs.c of linux-source-7.3 and -7.2 as
cited, and agree with Debian's 7.3.4 and 7.2.12 in the VM (models/lazy-umount-*.trace).
"""

import pytest

from mountsim import uapi
from mountsim.fs import S_IFREG
from mountsim.mount import MNT
from mountsim.namespace import (UMOUNT_COVER, UMOUNT_PROPAGATE, UMOUNT_SYNC, needs_cover,
                                umount_tree)
from mountsim.versions import semantics
from tests.helpers import MS_PRIVATE, MS_REC
from tests.ns7 import AT_FDCWD, run, task

O_PATH_DIR = uapi.O_PATH | uapi.O_DIRECTORY
CLONE_REC = uapi.OPEN_TREE_CLONE | uapi.AT_RECURSIVE


def nested(kernel: str):
    """A private namespace with a tmpfs on /a and another on /a/x holding the directory y."""
    r = run(kernel)
    assert r.call("unshare", uapi.CLONE_NEWNS) == 0
    assert r.make("/", MS_REC | MS_PRIVATE) == 0
    assert r.tmpfs("/a") == 0
    assert r.call("mkdir", "/a/x", 0o755) == 0
    assert r.tmpfs("/a/x") == 0
    assert r.call("mkdir", "/a/x/y", 0o755) == 0
    return r


def dissolved(kernel: str, pin_parent: bool = False):
    """/a (tmpfs) with a tmpfs on /a/x holding y; a recursive clone of /a entered with
    fchdir() and closed, so dissolve_on_fput() unmounts it (UMOUNT_COVER / _CONNECTED)."""
    r = nested(kernel)
    fd = r.call("open_tree", AT_FDCWD, "/a", CLONE_REC)
    assert r.call("fchdir", fd) == 0
    if pin_parent:
        assert isinstance(r.call("openat", AT_FDCWD, ".", O_PATH_DIR), int)
    assert r.call("close", fd) == 0
    return r


class TestSemantics:
    """versions.py: `lazy_umount_covers`."""

    @pytest.mark.parametrize("kernel,expect", [("6.18", False), ("7.0", False), ("7.2", False),
                                               ("7.3", True)])
    def test_row(self, kernel, expect):
        """If the row is 7.3, then lazily unmounted children leave covers; every earlier row
        keeps them connected (source: fs/namespace.c (7.3) needs_cover(), leave_cover();
        (7.2) disconnect_mount(), UMOUNT_CONNECTED)."""
        assert semantics(kernel).lazy_umount_covers is expect


class TestNeedsCover:
    """fs/namespace.c:needs_cover() (7.3)."""

    def test_flags(self):
        """If the parent is unmounted, then a cover is needed for UMOUNT_COVER or a locked
        child, never for UMOUNT_SYNC, and not for a plain lazy umount of an unlocked child
        (source: fs/namespace.c (7.3) needs_cover(): "if (how & UMOUNT_SYNC) return false
        ... return (how & UMOUNT_COVER) || IS_MNT_LOCKED(mnt)")."""
        r = run("7.3")
        assert r.tmpfs("/a") == 0
        assert r.call("mkdir", "/a/x", 0o755) == 0
        assert r.tmpfs("/a/x") == 0
        child = r.s.k.lookup_mnt(task(r).fs.root.mnt, task(r).fs.root.dentry.children["a"])
        child = r.s.k.lookup_mnt(child, child.root.children["x"])
        assert not needs_cover(child, UMOUNT_COVER)          # parent still mounted
        child.parent.flags |= MNT.UMOUNT
        assert needs_cover(child, UMOUNT_COVER)
        assert not needs_cover(child, UMOUNT_COVER | UMOUNT_SYNC)
        assert not needs_cover(child, UMOUNT_PROPAGATE)
        child.flags |= MNT.LOCKED
        assert needs_cover(child, UMOUNT_PROPAGATE)
        child.parent.flags &= ~MNT.UMOUNT


class TestUmountTree:
    """fs/namespace.c:umount_tree() + leave_cover() (7.3) vs disconnect_mount() (7.2)."""

    def test_cover_left_child_detached(self):
        """If a dissolved clone's child was unmounted with it, then on 7.3 the child has no
        parent and the clone root holds a cover at its mountpoint (source: fs/namespace.c
        (7.3) umount_tree(): "if (needs_cover(p, how)) leave_cover(p); umount_mnt(p);")."""
        r = dissolved("7.3")
        clone = task(r).fs.pwd.mnt
        x = clone.root.children["x"]
        assert clone.flags & MNT.UMOUNT and clone.covers == [x]
        assert clone.mounts is None

    def test_connected_up_to_7_2(self):
        """If the same happens on 7.2, then the child stays connected to the clone root and
        no cover is left (source: fs/namespace.c (7.2) umount_tree(): "Don't forget about
        p", disconnect_mount() with UMOUNT_CONNECTED)."""
        r = dissolved("7.2")
        clone = task(r).fs.pwd.mnt
        assert not clone.covers and clone.mounts is not None

    def test_sync_umount_leaves_no_cover(self):
        """If a tree is unmounted with UMOUNT_SYNC, then no cover is left and the lookup at
        the old mountpoint finds what the child covered (source: fs/namespace.c (7.3)
        needs_cover(): "if (how & UMOUNT_SYNC) return false")."""
        r = run("7.3")
        assert r.tmpfs("/a") == 0
        assert r.call("mkdir", "/a/x", 0o755) == 0
        assert r.tmpfs("/a/x") == 0
        k, fs = r.s.k, task(r).fs
        a = k.lookup_mnt(fs.root.mnt, fs.root.dentry.children["a"])
        x = a.root.children["x"]
        a.pins += 1                                          # keep it allocated
        umount_tree(k, a, UMOUNT_PROPAGATE | UMOUNT_SYNC)
        assert not a.covers and k.lookup_mnt(a, x) is None


class TestLookupMnt:
    """fs/namespace.c:__lookup_mnt() (7.3): the stand-in at a cover."""

    def test_directory_stand_in(self):
        """If a lookup crosses the cover a child left on a directory, then it lands on the
        knullfs root, an empty read-only internal mount: x/y and mkdir under it are ENOENT
        (source: fs/namespace.c (7.3) __lookup_mnt() "real_mount(d_is_dir(dentry) ?
        knullfs : knullfs_file)", init_mount_tree() "knullfs->mnt_flags |= MNT_READONLY";
        fs/nullfs.c nullfs_fs_fill_super() make_empty_dir_inode(); VM 7.3.4)."""
        r = dissolved("7.3")
        k = r.s.k
        clone = task(r).fs.pwd.mnt
        got = k.lookup_mnt(clone, clone.root.children["x"])
        assert got is k.knullfs and got.flags & MNT.INTERNAL and got.flags & MNT.READONLY
        assert got.ns is None
        assert r.call("mkdir", "x/y", 0o755) == "ENOENT"
        assert r.call("mkdir", "x/z", 0o755) == "ENOENT"
        assert r.call("mkdir", "x", 0o755) == "EEXIST"

    def test_file_stand_in(self):
        """If the child sat on a non-directory, then the lookup lands on knullfs_file, a
        regular file 0666 on the same superblock (source: fs/namespace.c (7.3)
        knullfs_file_mount(); fs/nullfs.c nullfs_new_file(): "S_IFREG | 0666")."""
        r = run("7.3")
        k = r.s.k
        assert k.knullfs_file.root.kind == S_IFREG and k.knullfs_file.root.mode == 0o666
        assert k.knullfs_file.sb is k.knullfs.sb and k.knullfs.sb is not task(r).mnt_ns.root.sb

    def test_no_stand_in_before_7_3(self):
        """If the kernel is 7.2, then there is no knullfs and x/y is found in the connected
        child (source: fs/namespace.c (7.2) init_mount_tree(), disconnect_mount(); VM
        7.2.12)."""
        r = dissolved("7.2")
        assert r.s.k.knullfs is None
        assert r.call("mkdir", "x/y", 0o755) == "EEXIST"

    def test_internal_stand_in_refuses(self):
        """If the stand-in is named, then mounting on it is ENOENT, copying it and changing
        its propagation EINVAL, and statmount() by an fd on it EINVAL (source: fs/namespace.c
        (7.3) do_lock_mount() cant_mount(), __do_loopback() may_copy_tree(), do_statmount()
        MNT_NS_INTERNAL; VM 7.3.4)."""
        r = dissolved("7.3")
        assert r.tmpfs("x") == "ENOENT"
        assert r.call("open_tree", AT_FDCWD, "x", uapi.OPEN_TREE_CLONE) == "EINVAL"
        assert r.make("x", MS_PRIVATE) == "EINVAL"
        fd = r.call("open_tree", AT_FDCWD, "x", 0)
        req = {"size": 32, "mnt_fd": fd, "param": uapi.STATMOUNT_MNT_ROOT}
        assert r.call("statmount", req, None, 4096, uapi.STATMOUNT_BY_FD) == "EINVAL"


class TestDotdot:
    """fs/namei.c follow_dotdot() out of the stand-in and the detached child."""

    @pytest.mark.parametrize("kernel,expect", [("7.2", "EEXIST"), ("7.3", "ENOENT")])
    def test_dotdot_out_of_x(self, kernel, expect):
        """If a cwd goes into x and back up with the clone root still pinned, then 7.2
        climbs to the clone root (x exists) and 7.3 stays in the parentless knullfs root
        (source: fs/namei.c choose_mountpoint_rcu() "while (mnt_has_parent(m))";
        fs/namespace.c (7.3) knullfs is kern_mount()ed, no parent; VM 7.2.12 and 7.3.4)."""
        r = dissolved(kernel, pin_parent=True)
        assert r.call("chdir", "x") == 0 and r.call("chdir", "..") == 0
        assert r.call("mkdir", "x", 0o755) == expect

    def test_last_reference_disconnects_on_7_2(self):
        """If the last reference to the unmounted clone root goes on 7.2, then its connected
        child is disconnected and `..` stays in it (source: fs/namespace.c (7.2)
        mntput_no_expire(): "__umount_mnt(p, &list); hlist_add_head(&p->mnt_umount,
        &mnt->mnt_stuck_children)"; VM 7.2.12: mkdir("x") after chdir("x"), chdir("..")
        succeeds)."""
        r = dissolved("7.2")
        assert r.call("chdir", "x") == 0 and r.call("chdir", "..") == 0
        assert r.call("mkdir", "x", 0o755) == 0


class TestLockedLazyUmount:
    """do_umount(MNT_DETACH) -> umount_tree(UMOUNT_PROPAGATE) with a locked child."""

    @pytest.mark.parametrize("kernel,expect", [("7.2", "EEXIST"), ("7.3", "ENOENT")])
    def test_locked_child(self, kernel, expect):
        """If a lazily unmounted bind has a locked child, then 7.2 keeps it connected (x/y
        found) and 7.3 leaves a cover (x/y ENOENT) (source: fs/namespace.c (7.2)
        disconnect_mount() "Is the mount locked such that it needs to remain connected?";
        (7.3) needs_cover() IS_MNT_LOCKED(mnt); VM 7.2.12 and 7.3.4)."""
        r = nested(kernel)
        assert r.call("unshare", uapi.CLONE_NEWNS | uapi.CLONE_NEWUSER) == 0
        assert r.bind("/a", "/b", rec=True) == 0
        assert r.call("umount2", "/b/x", uapi.MNT_DETACH) == "EINVAL"
        assert r.call("chdir", "/b") == 0
        assert r.call("umount2", "/b", uapi.MNT_DETACH) == 0
        assert r.call("mkdir", "x/y", 0o755) == expect

    def test_unlocked_child_no_cover(self):
        """If the lazily unmounted mount's child is not locked, then 7.3 leaves no cover and
        x is the directory the child covered (source: fs/namespace.c (7.3) do_umount()
        umount_tree(mnt, UMOUNT_PROPAGATE), needs_cover())."""
        r = run("7.3")
        assert r.tmpfs("/a") == 0
        assert r.call("mkdir", "/a/x", 0o755) == 0
        assert r.tmpfs("/a/x") == 0
        assert r.call("mkdir", "/a/x/y", 0o755) == 0
        assert r.call("chdir", "/a") == 0
        assert r.call("umount2", "/a", uapi.MNT_DETACH) == 0
        assert not task(r).fs.pwd.mnt.covers
        assert r.call("mkdir", "x/y", 0o755) == 0
