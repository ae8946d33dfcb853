"""open_tree(OPEN_TREE_NAMESPACE), the propagation-safe copy of 7.0-rc2 and
fsmount(FSMOUNT_NAMESPACE) on the model (mountsim/newns.py).

Expected values come from the selftests named in each docstring (tools/testing/selftests/
filesystems/ of linux-source-7.2) or from fs/namespace.c as cited. The traces in models/
that cover the same ground agreed with Debian's 7.0.13 and 7.1.13 kernels (VM backend).
"""

import pytest

from mountsim import uapi
from mountsim.nullfs import is_nullfs
from tests.helpers import MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE, MS_UNBINDABLE
from tests.ns7 import (AT_FDCWD, NS, NS_REC, enter_userns, fd_ns, fsmount_tmpfs, listmount,
                       run, setup_userns, shared_nullfs_root, statmount, task)


class TestOpenTreeNamespace:
    """fs/namespace.c: vfs_open_tree() with OPEN_TREE_NAMESPACE -> create_new_namespace()."""

    def test_create_namespace_basic_root(self):
        """If open_tree("/", OPEN_TREE_NAMESPACE) succeeds, then the fd is a new namespace
        whose listmount shows one mount, the copy of "/" (the nullfs root is hidden)
        (source: open_tree_ns/open_tree_ns_test.c, TEST_F(open_tree_ns, create_namespace),
        variant basic_root)."""
        r = run("7.0")
        assert r.tmpfs("/a") == 0
        fd = r.call("open_tree", AT_FDCWD, "/", NS)
        assert isinstance(fd, int) and fd >= 3
        new_ns = fd_ns(r, fd)
        assert new_ns is not task(r).mnt_ns and new_ns.seq != task(r).mnt_ns.seq
        ids = listmount(r, ns_id=new_ns.seq)
        assert len(ids) == 1 and new_ns.mounts.get(ids[0]).parent is new_ns.root
        assert is_nullfs(new_ns.root)

    @pytest.mark.parametrize("path,expect", [("/", 2), ("/a", 2)])
    def test_recursive(self, path, expect):
        """If AT_RECURSIVE is given, then the mounts below the path are copied too (source:
        open_tree_ns_test.c, TEST_F(open_tree_ns, create_namespace), variants
        recursive_root, recursive_tmp)."""
        r = run("7.0")
        assert r.tmpfs("/a") == 0 and r.call("mkdir", "/a/x", 0o755) == 0
        assert r.tmpfs("/a/x") == 0
        fd = r.call("open_tree", AT_FDCWD, path, NS_REC)
        assert len(listmount(r, ns_id=fd_ns(r, fd).seq)) == (3 if path == "/" else expect)

    def test_verify_mount_properties(self):
        """If the new namespace's first listed mount is stat'ed, then its parent is another
        mount (the hidden copy of the rootfs/nullfs root) (source: open_tree_ns_test.c,
        TEST_F(open_tree_ns, verify_mount_properties))."""
        r = run("7.0")
        fd = r.call("open_tree", AT_FDCWD, "/", NS)
        ns_id = fd_ns(r, fd).seq
        ids = listmount(r, ns_id=ns_id)
        sm = statmount(r, ids[0], uapi.STATMOUNT_MNT_BASIC, ns_id=ns_id)
        assert sm["mnt_id"] != sm["mnt_parent_id"]

    def test_setns_into_namespace(self):
        """If a child setns()es into the namespace fd, then it succeeds and its root is the
        copy of "/" (source: open_tree_ns_test.c, TEST_F(open_tree_ns,
        setns_into_namespace); fs/namespace.c:mntns_install() LOOKUP_DOWN)."""
        r = run("7.0")
        assert r.tmpfs("/a") == 0
        fd = r.call("open_tree", AT_FDCWD, "/", NS)
        child = r.fork()
        assert r.call("setns", fd, uapi.CLONE_NEWNS, pid=child) == 0
        assert r.table(child) == [("/", "")]
        assert task(r, child).mnt_ns is fd_ns(r, fd)

    @pytest.mark.parametrize("flags", [
        uapi.AT_RECURSIVE | uapi.OPEN_TREE_CLOEXEC,
        uapi.OPEN_TREE_NAMESPACE | uapi.OPEN_TREE_CLONE,
        uapi.OPEN_TREE_NAMESPACE | uapi.OPEN_TREE_CLONE | uapi.AT_RECURSIVE,
    ])
    def test_invalid_flag_combinations(self, flags):
        """If AT_RECURSIVE comes alone, or OPEN_TREE_CLONE with OPEN_TREE_NAMESPACE, then
        EINVAL (source: open_tree_ns_test.c, variant invalid_recursive_alone;
        fs/namespace.c (7.2) vfs_open_tree(): hweight32(flags & (OPEN_TREE_CLONE |
        OPEN_TREE_NAMESPACE)) > 1)."""
        r = run("7.0")
        assert r.call("open_tree", AT_FDCWD, "/", flags) == "EINVAL"

    def test_flags_before_permission(self):
        """If an unprivileged caller passes both OPEN_TREE_CLONE and OPEN_TREE_NAMESPACE,
        then EINVAL, not EPERM: the flag checks come first (source: fs/namespace.c (7.2)
        vfs_open_tree() check order)."""
        r = run("7.0")
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        assert r.call("open_tree", AT_FDCWD, "/", uapi.OPEN_TREE_NAMESPACE
                      | uapi.OPEN_TREE_CLONE) == "EINVAL"
        assert r.call("open_tree", AT_FDCWD, "/nonexistent", NS) == "EPERM"

    def test_requires_cap_sys_admin(self):
        """If the caller has no CAP_SYS_ADMIN in its user namespace, then EPERM (source:
        open_tree_ns_test.c, TEST_F(open_tree_ns_caps, requires_cap_sys_admin))."""
        r = run("7.0")
        child = r.fork()
        assert r.call("setresuid", 1000, 1000, 1000, pid=child) == 0
        assert r.call("open_tree", AT_FDCWD, "/", NS, pid=child) == "EPERM"

    def test_create_in_userns(self):
        """If the caller unshared a user namespace only, then the new namespace is owned by
        it and lists at least one mount (source: open_tree_ns_test.c,
        TEST_F(open_tree_ns_userns, create_in_userns))."""
        r = run("7.0")
        enter_userns(r)
        fd = r.call("open_tree", AT_FDCWD, "/", NS)
        new_ns = fd_ns(r, fd)
        assert new_ns.user_ns is task(r).cred.user_ns
        assert len(listmount(r, ns_id=new_ns.seq)) >= 1

    def test_setns_in_userns(self):
        """If a child of the user-namespace caller setns()es into the new namespace, then it
        succeeds (source: open_tree_ns_test.c, TEST_F(open_tree_ns_userns, setns_in_userns))."""
        r = run("7.0")
        enter_userns(r)
        fd = r.call("open_tree", AT_FDCWD, "/", NS)
        child = r.fork()
        assert r.call("setns", fd, uapi.CLONE_NEWNS, pid=child) == 0

    def test_umount_fails_einval_in_userns(self):
        """If the namespace was made from a user namespace that does not own the caller's
        mount namespace, then every mount in it is locked: umount2(MNT_DETACH) of each,
        deepest first, is EINVAL (source: open_tree_ns_test.c,
        TEST_F(open_tree_ns_userns, umount_fails_einval))."""
        r = run("7.0")
        assert r.tmpfs("/a") == 0
        enter_userns(r)
        fd = r.call("open_tree", AT_FDCWD, "/", NS_REC)
        ns_id = fd_ns(r, fd).seq
        ids = listmount(r, ns_id=ns_id, flags=uapi.LISTMOUNT_REVERSE)
        assert len(ids) == 3          # /, /a and the /proc of enter_userns()
        assert r.call("setns", fd, uapi.CLONE_NEWNS) == 0
        for i in ids:
            where = statmount(r, i, uapi.STATMOUNT_MNT_POINT, ns_id=ns_id)["mnt_point"]
            assert r.call("umount2", where, uapi.MNT_DETACH) == "EINVAL"

    def test_umount_succeeds(self):
        """If the caller owns its mount namespace, then nothing is locked: each mount,
        deepest first and "/" last, can be unmounted lazily (source: open_tree_ns_test.c,
        TEST_F(open_tree_ns_userns, umount_succeeds))."""
        r = run("7.0")
        assert r.tmpfs("/a") == 0
        assert r.call("unshare", uapi.CLONE_NEWNS) == 0
        assert r.make("/", MS_SLAVE | MS_REC) == 0
        fd = r.call("open_tree", AT_FDCWD, "/", NS_REC)
        ns_id = fd_ns(r, fd).seq
        ids = listmount(r, ns_id=ns_id, flags=uapi.LISTMOUNT_REVERSE)
        assert r.call("setns", fd, uapi.CLONE_NEWNS) == 0
        points = [statmount(r, i, uapi.STATMOUNT_MNT_POINT, ns_id=ns_id)["mnt_point"] for i in ids]
        assert points == ["/a", "/"]
        for where in points:
            assert r.call("umount2", where, uapi.MNT_DETACH) == 0

    def test_fails_on_unbindable(self):
        """If the path is an unbindable mount, then open_tree(OPEN_TREE_NAMESPACE) fails
        with EINVAL (source: open_tree_ns_test.c, TEST_F(open_tree_ns_unbindable,
        fails_on_unbindable); fs/namespace.c:__do_loopback() IS_MNT_UNBINDABLE)."""
        r = run("7.0")
        assert r.tmpfs("/a") == 0 and r.make("/a", MS_UNBINDABLE) == 0
        assert r.call("open_tree", AT_FDCWD, "/a", NS) == "EINVAL"

    def test_recursive_skips_unbindable(self):
        """If a recursive copy meets an unbindable mount, then it is silently dropped
        (source: open_tree_ns_test.c, TEST_F(open_tree_ns_unbindable,
        recursive_skips_on_unbindable))."""
        r = run("7.0")
        assert r.tmpfs("/a") == 0 and r.make("/a", MS_UNBINDABLE) == 0
        assert r.tmpfs("/b") == 0
        fd = r.call("open_tree", AT_FDCWD, "/", NS_REC)
        ns_id = fd_ns(r, fd).seq
        points = [statmount(r, i, uapi.STATMOUNT_MNT_POINT, ns_id=ns_id)["mnt_point"]
                  for i in listmount(r, ns_id=ns_id)]
        assert "/a" not in points and "/b" in points

    def test_copy_is_slave_in_userns(self):
        """If the caller's user namespace does not own its mount namespace, then copies of
        shared mounts become slaves (CL_SLAVE), so later mounts in the caller's namespace
        propagate into the new one (source: fs/namespace.c (7.0) create_new_namespace():
        copy_flags |= CL_SLAVE when user_ns != ns->user_ns)."""
        r = run("7.0")
        assert r.tmpfs("/a") == 0 and r.make("/a", MS_SHARED) == 0
        enter_userns(r)
        fd = r.call("open_tree", AT_FDCWD, "/a", NS)
        new_ns = fd_ns(r, fd)
        top = new_ns.root.overmount
        assert top.is_slave and not top.is_shared and top.is_locked    # lock_mnt_tree()

    def test_refused_on_6_18(self):
        """If the kernel is 6.18, then OPEN_TREE_NAMESPACE is an unknown flag: EINVAL
        (source: fs/namespace.c (6.18) vfs_open_tree() flag mask)."""
        r = run("6.18")
        assert r.call("open_tree", AT_FDCWD, "/", NS) == "EINVAL"
        assert r.call("open_tree", AT_FDCWD, "/", uapi.OPEN_TREE_NAMESPACE
                      | uapi.OPEN_TREE_CLONE) == "EINVAL"

    def test_close_frees_namespace(self):
        """If the only fd of the new namespace is closed, then the namespace and its mounts
        are gone (source: fs/namespace.c:put_mnt_ns() -> umount_tree())."""
        r = run("7.0")
        fd = r.call("open_tree", AT_FDCWD, "/", NS)
        new_ns = fd_ns(r, fd)
        assert r.call("close", fd) == 0
        assert new_ns.root is None and not new_ns.mounts


class TestCopyUnderOneLock:
    """create_new_namespace() 7.0-rc1 vs 7.0-rc2 (a41dbf5e004e)."""

    @pytest.mark.parametrize("kernel,linked", [("7.0", False), ("7.0-rc1", True)])
    def test_failed_copy_leaves_no_peer(self, kernel, linked):
        """If the namespace root is shared and the copy of the tree fails (EINVAL from
        may_copy_tree()), then 7.0 unmounts the copy of the root and the peer group is as
        before, while 7.0-rc1 leaves it in the peer ring (source: commit a41dbf5e004e
        "mount: hold namespace_sem across copy in create_new_namespace()": "will leave the
        mounts linked in the propagation lists"; fs/namespace.c (7.2) create_new_namespace()
        umount_tree(new_ns_root, 0) on error)."""
        r = run(kernel)
        old = shared_nullfs_root(r)
        root = task(r).fs.root.mnt
        assert r.call("open_tree", old, "", NS | uapi.AT_EMPTY_PATH) == "EINVAL"
        assert (root.next_peer() is not root) is linked

    @pytest.mark.parametrize("kernel,expect", [("7.0", ""), ("7.0-rc1", "master:")])
    def test_observable_difference(self, kernel, expect):
        """If the shared namespace root goes private after a failed creation, then its slave
        becomes private on 7.0 but is handed to the leftover copy on 7.0-rc1, keeping a
        master (source: commit a41dbf5e004e; fs/pnode.c:change_mnt_propagation(): a
        departing master hands its slaves to a remaining peer)."""
        r = run(kernel)
        old = shared_nullfs_root(r)
        child = r.fork()
        assert r.call("unshare", uapi.CLONE_NEWNS, pid=child) == 0
        assert r.make("/", MS_SLAVE, pid=child) == 0
        assert r.call("open_tree", old, "", NS | uapi.AT_EMPTY_PATH) == "EINVAL"
        assert r.make("/", MS_PRIVATE) == 0
        [(where, fields)] = r.table(child)
        assert where == "/" and fields.startswith(expect) and (expect or fields == "")

    def test_success_is_same_on_both(self):
        """If the copy succeeds, then both rows give a new namespace whose root copy is a
        peer of the shared namespace root (source: fs/namespace.c:clone_mnt() with
        copy_flags 0 keeps mnt_group_id)."""
        for kernel in ("7.0", "7.0-rc1"):
            r = run(kernel)
            shared_nullfs_root(r)
            fd = r.call("open_tree", AT_FDCWD, "/", NS)
            assert fd_ns(r, fd).root.group_id == task(r).fs.root.mnt.group_id != 0


class TestFsmountNamespace:
    """fs/namespace.c (7.1) SYSCALL fsmount with FSMOUNT_NAMESPACE."""

    @pytest.mark.parametrize("flags", [uapi.FSMOUNT_NAMESPACE,
                                       uapi.FSMOUNT_NAMESPACE | uapi.FSMOUNT_CLOEXEC])
    def test_create_namespace(self, flags):
        """If fsmount() gets FSMOUNT_NAMESPACE, then it returns a namespace fd whose
        namespace lists exactly the new tmpfs (source: fsmount_ns/fsmount_ns_test.c,
        TEST_F(fsmount_ns, create_namespace), variants basic_tmpfs, namespace_only)."""
        r = run("7.1")
        fd = fsmount_tmpfs(r, flags)
        new_ns = fd_ns(r, fd)
        assert new_ns is not None and not new_ns.is_anon
        ids = listmount(r, ns_id=new_ns.seq)
        assert len(ids) == 1 and new_ns.mounts.get(ids[0]).sb.fstype == "tmpfs"

    def test_setns_into_namespace(self):
        """If a child setns()es into it, then its root is the new tmpfs (source:
        fsmount_ns_test.c, TEST_F(fsmount_ns, setns_into_namespace), verify_tmpfs_type)."""
        r = run("7.1")
        fd = fsmount_tmpfs(r, uapi.FSMOUNT_NAMESPACE)
        child = r.fork()
        assert r.call("setns", fd, uapi.CLONE_NEWNS, pid=child) == 0
        assert task(r, child).fs.root.mnt.sb.fstype == "tmpfs"
        assert r.table(child) == [("/", "")]

    @pytest.mark.parametrize("attr,flag", [(uapi.MOUNT_ATTR_RDONLY, "ro"),
                                           (uapi.MOUNT_ATTR_NOEXEC, "noexec"),
                                           (uapi.MOUNT_ATTR_NOSUID, "nosuid")])
    def test_mount_attrs(self, attr, flag):
        """If attr_flags are given, then the mount in the new namespace has them (source:
        fsmount_ns_test.c, TEST_F(fsmount_ns_mount_attrs, readonly/noexec/nosuid))."""
        r = run("7.1")
        fd = fsmount_tmpfs(r, uapi.FSMOUNT_NAMESPACE, attr)
        child = r.fork()
        assert r.call("setns", fd, uapi.CLONE_NEWNS, pid=child) == 0
        line = r.s.mountinfo(child).splitlines()[0]
        assert flag in line.split()[5].split(",")

    def test_requires_cap_sys_admin(self):
        """If the caller lacks CAP_SYS_ADMIN, then FSMOUNT_NAMESPACE is EPERM (source:
        fsmount_ns_test.c, TEST_F(fsmount_ns_caps, requires_cap_sys_admin))."""
        r = run("7.1")
        fs_fd = r.call("fsopen", "tmpfs", uapi.FSOPEN_CLOEXEC)
        assert r.call("fsconfig", fs_fd, uapi.FSCONFIG_CMD_CREATE, None, None, 0) == 0
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        assert r.call("fsmount", fs_fd, uapi.FSMOUNT_NAMESPACE, 0) == "EPERM"

    def test_userns_umount_fails_einval(self):
        """If made in a user namespace that does not own the caller's mount namespace, then
        the tmpfs in the new namespace is locked: umount2 is EINVAL (source:
        fsmount_ns_test.c, TEST_F(fsmount_ns_userns, umount_fails_einval): setup_userns(),
        so the lock comes from the locked rootfs copy under the caller's root)."""
        r = run("7.1")
        setup_userns(r)
        fd = fsmount_tmpfs(r, uapi.FSMOUNT_NAMESPACE)
        assert fd_ns(r, fd).user_ns is task(r).cred.user_ns
        assert r.call("setns", fd, uapi.CLONE_NEWNS) == 0
        assert r.call("umount2", "/", uapi.MNT_DETACH) == "EINVAL"

    def test_umount_succeeds(self):
        """If the caller owns its mount namespace, then the tmpfs can be unmounted (source:
        fsmount_ns_test.c, TEST_F(fsmount_ns_userns, umount_succeeds))."""
        r = run("7.1")
        assert r.call("unshare", uapi.CLONE_NEWNS) == 0
        fd = fsmount_tmpfs(r, uapi.FSMOUNT_NAMESPACE)
        assert r.call("setns", fd, uapi.CLONE_NEWNS) == 0
        assert r.call("umount2", "/", uapi.MNT_DETACH) == 0

    def test_flags_checked_first(self):
        """If an unprivileged caller passes an unknown flag, then 7.1 says EINVAL (flags
        first) where 6.18 and 7.0 say EPERM (may_mount() first) (source: fs/namespace.c
        (7.2) SYSCALL fsmount; the FSMOUNT_NAMESPACE patch moved the flags check)."""
        for kernel, expect in (("7.1", "EINVAL"), ("7.0", "EPERM"), ("6.18", "EPERM")):
            r = run(kernel)
            assert r.call("setresuid", 1000, 1000, 1000) == 0
            assert r.call("fsmount", 99, 0x80, 0) == expect

    @pytest.mark.parametrize("kernel", ["6.18", "7.0"])
    def test_refused_before_7_1(self, kernel):
        """If the kernel is older than 7.1, then FSMOUNT_NAMESPACE is an unknown flag: EINVAL
        (source: fs/namespace.c (6.18) SYSCALL fsmount flags & ~FSMOUNT_CLOEXEC)."""
        r = run(kernel)
        assert fsmount_tmpfs(r, uapi.FSMOUNT_NAMESPACE) == "EINVAL"


class TestLaterRules:
    """create_new_namespace() and clone_mnt() changes after the first 7.0 patch."""

    @pytest.mark.parametrize("kernel,expect", [("7.0-rc1", "ok"), ("7.0", "ENOTDIR"),
                                               ("7.1", "ENOTDIR")])
    def test_not_a_directory(self, kernel, expect):
        """If the path is a regular file, then 7.0 (as 7.0.13 runs it) refuses with ENOTDIR,
        while the 7.0-rc1 patch had no such check (source: fs/namespace.c (7.2)
        create_new_namespace() d_can_lookup(); the OPEN_TREE_NAMESPACE patch of 7.0-rc1
        without it; observed on 7.0.13 and 7.1.13 in the VM backend)."""
        r = run(kernel)
        fd = r.call("open", "/f", uapi.O_WRONLY | uapi.O_CREAT, 0o644)
        assert r.call("close", fd) == 0
        ret = r.call("open_tree", AT_FDCWD, "/f", NS)
        assert (ret if expect != "ok" else "ok" if isinstance(ret, int) else ret) == expect

    @pytest.mark.parametrize("kernel,plain,unbindable_kept", [("7.1", 0, False),
                                                              ("7.2", "EINVAL", True)])
    def test_foreign_caller(self, kernel, plain, unbindable_kept):
        """If the caller's user namespace does not own its mount namespace, then 7.2 refuses
        a plain copy that would leave mounts out and copies unbindable mounts recursively;
        7.1 does neither (source: fs/namespace.c (linux-source-7.2) create_new_namespace():
        CL_COPY_UNBINDABLE and __has_children() for a foreign caller; observed on 7.1.13
        and 7.2.12 in the VM backend)."""
        r = run(kernel)
        assert r.tmpfs("/a") == 0 and r.make("/a", MS_UNBINDABLE) == 0
        assert r.tmpfs("/b") == 0
        enter_userns(r)
        ret = r.call("open_tree", AT_FDCWD, "/", NS)
        assert (0 if isinstance(ret, int) else ret) == plain
        assert isinstance(r.call("open_tree", AT_FDCWD, "/b", NS), int)   # nothing below /b
        fd = r.call("open_tree", AT_FDCWD, "/", NS_REC)
        assert any(m.is_unbindable for m in fd_ns(r, fd)) is unbindable_kept

    @pytest.mark.parametrize("kernel,fields", [("7.1", ""), ("7.2", "unbindable")])
    def test_clone_keeps_unbindable(self, kernel, fields):
        """If a namespace is copied, then 7.2 keeps an unbindable mount unbindable in the
        copy, 7.1 makes it private (source: fs/namespace.c (linux-source-7.2) clone_mnt()
        mnt_t_flags = old->mnt_t_flags & T_UNBINDABLE; observed on 7.1.13 and 7.2.12)."""
        r = run(kernel)
        assert r.tmpfs("/a") == 0 and r.make("/a", MS_UNBINDABLE) == 0
        assert r.call("unshare", uapi.CLONE_NEWNS) == 0
        assert dict(r.table())["/a"] == fields
