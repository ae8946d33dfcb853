"""nullfs namespace roots (7.0), empty mount namespaces (7.1) and pivot_root's 7.0 check
order on the model (mountsim/nullfs.py, newns.copy_empty_mnt_ns(), syscalls/ns.py).

Expected values come from the selftests named in each docstring (tools/testing/selftests/
filesystems/empty_mntns/ of linux-source-7.2) or from fs/namespace.c, kernel/fork.c,
kernel/nsproxy.c as cited.
"""

import pytest

from mountsim import uapi
from mountsim.nullfs import is_nullfs
from tests.helpers import MS_PRIVATE, MS_REC
from tests.ns7 import (AT_FDCWD, enter_userns, fsmount_tmpfs, listmount, root_id, run,
                       shared_nullfs_root, statmount, task)


class TestNullfsRoot:
    """fs/namespace.c:init_mount_tree() (7.0): nullfs at mount id 1, rootfs on top."""

    def test_host_table_unchanged(self):
        """If the machine is rooted in nullfs, then mountinfo still shows only what is under
        the reader's root, the tmpfs at "/" (source: fs/proc_namespace.c:show_mountinfo():
        seq_path_root() skips what is not reachable from the root; fs/namespace.c (7.2)
        init_mount_tree(): nullfs mount id 1, rootfs mount id 2 on top)."""
        r = run("7.0")
        ns = task(r).mnt_ns
        assert is_nullfs(ns.root) and ns.root.mnt_id == 1
        assert ns.root.overmount.sb.fstype == "rootfs" and ns.root.overmount.mnt_id == 2
        assert r.table() == [("/", "")]
        assert len(listmount(r)) == 1

    def test_statmount_of_hidden_root(self):
        """If a privileged caller stats the hidden nullfs root, then it is its own parent and
        has no mount point in the mask; an unprivileged caller gets EPERM (source:
        fs/namespace.c (7.2) do_statmount(): is_path_reachable() || ns_capable_noaudit();
        statmount_mnt_point() turns SEQ_SKIP into nothing, statmount_string() "If nothing
        was emitted, return to avoid setting the flag")."""
        r = run("7.0")
        root = task(r).mnt_ns.root
        sm = statmount(r, root.unique_id, uapi.STATMOUNT_MNT_BASIC | uapi.STATMOUNT_MNT_POINT
                       | uapi.STATMOUNT_FS_TYPE)
        assert sm["fs_type"] == "nullfs" and sm["mnt_parent_id"] == sm["mnt_id"]
        assert not sm["mask"] & uapi.STATMOUNT_MNT_POINT
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        req = {"size": 32, "spare": 0, "mnt_id": root.unique_id,
               "param": uapi.STATMOUNT_MNT_BASIC, "mnt_ns_id": 0}
        assert r.call("statmount", req, None, 4096, 0) == "EPERM"

    @pytest.mark.parametrize("kernel,expect", [("7.1", "fd"), ("7.2", "EINVAL")])
    def test_reconfigure_refused(self, kernel, expect):
        """If a task in an empty namespace fspick()s its nullfs root, then 7.2 refuses the
        kernel-internal superblock with EINVAL where 7.1 returns a context (source:
        fs/fs_context.c (linux-source-7.2) fs_context_for_reconfigure();
        internal_sb_reconfigure_test.c (7.3), TEST_F(internal_sb_reconfigure, nullfs_root);
        observed on 7.1.13 and 7.2.12)."""
        r = run(kernel)
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS) == 0
        ret = r.call("fspick", AT_FDCWD, "/", uapi.FSPICK_CLOEXEC)
        assert ("fd" if isinstance(ret, int) else ret) == expect

    def test_6_18_has_no_nullfs(self):
        """If the kernel is 6.18, then the namespace root is the rootfs itself (source:
        fs/namespace.c (6.18) init_mount_tree())."""
        r = run("6.18")
        assert task(r).mnt_ns.root.sb.fstype == "rootfs"

    def test_dotdot_stays_on_top(self):
        """If a task walks ".." from "/" it stays in its root: the nullfs root has no parent
        (source: fs/namei.c:follow_dotdot(); empty_mntns_test.c, TEST_F(empty_mntns,
        root_is_own_parent) for the nullfs root's parent)."""
        r = run("7.0")
        assert r.call("chroot", "/..") == 0
        assert r.table() == [("/", "")]


class TestEmptyMntns:
    """UNSHARE_EMPTY_MNTNS / CLONE_EMPTY_MNTNS (7.1): copy_mnt_ns() with CLONE_EMPTY_MNTNS."""

    def test_basic(self):
        """If a task unshares an empty namespace, then it holds exactly one mount, and root
        and cwd are on it (source: empty_mntns/empty_mntns_test.c, TEST_F(empty_mntns, basic))."""
        r = run("7.1")
        enter_userns(r)
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS) == 0
        assert len(listmount(r)) == 1
        t = task(r)
        assert t.fs.root.mnt is t.fs.pwd.mnt and listmount(r) == [root_id(r)]

    def test_cwd_reset(self):
        """If the cwd was on another mount, then it is reset to the new root, whose mount
        point is "/" (source: empty_mntns_test.c, TEST_F(empty_mntns, cwd_reset))."""
        r = run("7.1")
        enter_userns(r)
        assert r.call("unshare", uapi.CLONE_NEWNS) == 0
        assert r.make("/", MS_REC | MS_PRIVATE) == 0
        assert r.tmpfs("/tmp") == 0 and r.call("chdir", "/tmp") == 0
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS) == 0
        t = task(r)
        assert t.fs.pwd.mnt is t.fs.root.mnt
        assert statmount(r, root_id(r), uapi.STATMOUNT_MNT_POINT)["mnt_point"] == "/"

    def test_mount_properties(self):
        """If the root is stat'ed, then it is nullfs, its own parent, mounted at "/"
        (source: empty_mntns_test.c, TEST_F(empty_mntns, mount_properties),
        TEST_F(empty_mntns, root_is_own_parent), TEST_F(empty_mntns, overmount_tmpfs))."""
        r = run("7.1")
        enter_userns(r)
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS) == 0
        sm = statmount(r, root_id(r), uapi.STATMOUNT_MNT_BASIC | uapi.STATMOUNT_MNT_POINT
                       | uapi.STATMOUNT_FS_TYPE)
        assert sm["mnt_point"] == "/" and sm["fs_type"] == "nullfs"
        assert sm["mnt_id"] == sm["mnt_parent_id"] == root_id(r)

    def test_many_source_mounts_and_repeat(self):
        """If the namespace had many mounts, then the empty one still has one; a second
        unshare gives another root (source: empty_mntns_test.c, TEST_F(empty_mntns,
        many_source_mounts), TEST_F(empty_mntns, repeated_unshare))."""
        r = run("7.1")
        enter_userns(r)
        assert r.call("unshare", uapi.CLONE_NEWNS) == 0
        assert r.make("/", MS_REC | MS_PRIVATE) == 0
        assert r.tmpfs("/tmp") == 0
        for i in range(5):
            assert r.call("mkdir", f"/tmp/sub{i}", 0o755) == 0
            assert r.bind(f"/tmp/sub{i}", f"/tmp/sub{i}") == 0
        assert len(listmount(r)) >= 5
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS) == 0
        first = root_id(r)
        assert len(listmount(r)) == 1
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS) == 0
        assert len(listmount(r)) == 1 and root_id(r) != first

    def test_nullfs_is_immutable(self):
        """If a file is created in the empty root, then ENOENT (empty_dir_lookup())
        (source: empty_mntns_test.c, TEST_F(empty_mntns, overmount_tmpfs))."""
        r = run("7.1")
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS) == 0
        assert r.call("open", "/test", uapi.O_CREAT | uapi.O_RDWR, 0o644) == "ENOENT"
        assert r.call("mkdir", "/test", 0o755) == "ENOENT"

    def test_overmount_tmpfs(self):
        """If a tmpfs is moved onto "/", then listmount shows two mounts, "/" still resolves
        to nullfs until fchdir(mntfd) + chroot(".") (source: empty_mntns_test.c,
        TEST_F(empty_mntns, overmount_tmpfs))."""
        r = run("7.1")
        enter_userns(r)
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS) == 0
        mntfd = fsmount_tmpfs(r, 0)
        assert r.call("move_mount", mntfd, "", AT_FDCWD, "/", uapi.MOVE_MOUNT_F_EMPTY_PATH) == 0
        assert len(listmount(r)) == 2
        assert task(r).fs.root.mnt.sb.fstype == "nullfs"
        assert r.call("fchdir", mntfd) == 0 and r.call("chroot", ".") == 0
        assert task(r).fs.root.mnt.sb.fstype == "tmpfs"
        fd = r.call("open", "/testfile", uapi.O_CREAT | uapi.O_RDWR, 0o644)
        assert isinstance(fd, int) and fd >= 0

    def test_eperm_without_caps(self):
        """If the caller is not privileged, then EPERM (source: empty_mntns_test.c,
        TEST_F(empty_mntns, eperm_without_caps))."""
        r = run("7.1")
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS) == "EPERM"

    def test_with_other_ns_flags(self):
        """If combined with other namespace flags, then it still yields one mount (source:
        empty_mntns_test.c, TEST_F(empty_mntns, with_other_ns_flags))."""
        r = run("7.1")
        enter_userns(r)
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS | uapi.CLONE_NEWUTS
                      | uapi.CLONE_NEWIPC) == 0
        assert len(listmount(r)) == 1

    def test_invalid_flags(self):
        """If unshare gets an unknown flag, then EINVAL (source: empty_mntns_test.c,
        TEST(invalid_flags))."""
        r = run("7.1")
        assert r.call("unshare", 0x80000000) == "EINVAL"

    def test_clone_newns_full_copy(self):
        """If plain CLONE_NEWNS is unshared, then the whole tree is still copied (source:
        empty_mntns_test.c, TEST(clone_newns_full_copy))."""
        r = run("7.1")
        assert r.tmpfs("/a") == 0 and r.tmpfs("/b") == 0
        before = len(listmount(r))
        assert r.call("unshare", uapi.CLONE_NEWNS) == 0
        assert len(listmount(r)) >= before == 3

    @pytest.mark.parametrize("kernel", ["6.18", "7.0"])
    def test_refused_before_7_1(self, kernel):
        """If the kernel is older than 7.1, then UNSHARE_EMPTY_MNTNS (CLONE_PARENT_SETTID's
        bit) is unknown to unshare and CLONE_EMPTY_MNTNS to clone3: EINVAL (source:
        kernel/fork.c (6.18) check_unshare_flags(), clone3_args_valid())."""
        r = run(kernel)
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS) == "EINVAL"
        assert r.call("clone3", {"flags": uapi.CLONE_EMPTY_MNTNS, "exit_signal": 17}, 88,
                      label=150) == "EINVAL"

    def test_clone3_basic(self):
        """If clone3() gets CLONE_EMPTY_MNTNS, then the child has one mount, its root, in a
        new namespace; the parent is unchanged (source: empty_mntns/clone3_empty_mntns_test.c,
        TEST_F(clone3_empty_mntns, basic), TEST_F(clone3_empty_mntns, parent_unchanged))."""
        r = run("7.1")
        assert r.tmpfs("/a") == 0
        before = listmount(r)
        child = r.call("clone3", {"flags": uapi.CLONE_EMPTY_MNTNS, "exit_signal": 17}, 88,
                       label=150)
        assert child == 150
        assert len(listmount(r, pid=child)) == 1
        assert task(r, child).mnt_ns is not task(r).mnt_ns
        assert listmount(r) == before

    @pytest.mark.parametrize("extra", [uapi.CLONE_NEWNS, uapi.CLONE_NEWUSER,
                                       uapi.CLONE_NEWUTS | uapi.CLONE_NEWIPC, uapi.CLONE_NEWPID])
    def test_clone3_with_flags(self, extra):
        """If combined with CLONE_NEWNS, CLONE_NEWUSER, other namespaces or CLONE_NEWPID,
        then the child still gets an empty namespace (source: clone3_empty_mntns_test.c,
        TEST_CLONE3_FLAGS(with_explicit_newns/with_newuser/with_other_ns_flags),
        TEST_F(clone3_empty_mntns, with_newpid))."""
        r = run("7.1")
        child = r.call("clone3", {"flags": uapi.CLONE_EMPTY_MNTNS | extra, "exit_signal": 17},
                       88, label=150)
        assert child == 150 and len(listmount(r, pid=child)) == 1

    def test_clone3_with_clone_fs_fails(self):
        """If CLONE_FS comes with it, then EINVAL: it implies CLONE_NEWNS before
        copy_process() refuses CLONE_NEWNS|CLONE_FS (source: clone3_empty_mntns_test.c,
        TEST_F(clone3_empty_mntns, with_clone_fs_fails); kernel/fork.c kernel_clone())."""
        r = run("7.1")
        assert r.call("clone3", {"flags": uapi.CLONE_EMPTY_MNTNS | uapi.CLONE_FS,
                                 "exit_signal": 17}, 88, label=150) == "EINVAL"

    def test_clone3_eperm_without_caps(self):
        """If the caller is unprivileged, then EPERM (source: clone3_empty_mntns_test.c,
        TEST_F(clone3_empty_mntns, eperm_without_caps))."""
        r = run("7.1")
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        assert r.call("clone3", {"flags": uapi.CLONE_EMPTY_MNTNS, "exit_signal": 17}, 88,
                      label=150) == "EPERM"

    def test_clone3_unknown_flags_rejected(self):
        """If clone3() gets an undefined high flag, then EINVAL (source:
        clone3_empty_mntns_test.c, TEST(unknown_flags_rejected))."""
        r = run("7.1")
        assert r.call("clone3", {"flags": 1 << 40, "exit_signal": 17}, 88, label=150) == "EINVAL"

    def test_setns_into_child_mntns(self):
        """If the parent setns()es into the child's empty namespace, then its root is the
        nullfs root (source: clone3_empty_mntns_test.c, TEST_F(clone3_empty_mntns,
        setns_into_child_mntns))."""
        r = run("7.1", dirs=("/proc",))
        assert r.call("mount", "proc", "/proc", "proc", 0, None) == 0
        child = r.call("clone3", {"flags": uapi.CLONE_EMPTY_MNTNS, "exit_signal": 17}, 88,
                       label=150)
        fd = r.call("open", f"/proc/{child}/ns/mnt", uapi.O_RDONLY)
        assert r.call("setns", fd, uapi.CLONE_NEWNS) == 0
        assert len(listmount(r)) == 1 and task(r).fs.root.mnt.sb.fstype == "nullfs"

    def test_peer_of_shared_namespace_root(self):
        """If the namespace root is shared, then the empty namespace's root is its peer
        (copy_flags 0 keeps the group), and a slave for another user namespace (source:
        fs/namespace.c (7.2) copy_mnt_ns(): clone_mnt(old, root, copy_flags), copy_flags =
        0 | CL_SLAVE when user_ns != ns->user_ns)."""
        r = run("7.1")
        shared_nullfs_root(r)
        root = task(r).fs.root.mnt
        child = r.fork()
        assert r.call("unshare", uapi.UNSHARE_EMPTY_MNTNS, pid=child) == 0
        assert task(r, child).fs.root.mnt.group_id == root.group_id
        other = r.fork()
        assert r.call("unshare", uapi.CLONE_NEWUSER | uapi.UNSHARE_EMPTY_MNTNS, pid=other) == 0
        new_root = task(r, other).fs.root.mnt
        assert new_root.master is root and not new_root.is_locked


class TestTraceNames:
    """The trace grammar knows the 7.x names (mountsim/trace/parse.py, write.py)."""

    def test_round_trip(self):
        """If a trace uses UNSHARE_EMPTY_MNTNS, CLONE_EMPTY_MNTNS, OPEN_TREE_NAMESPACE and
        FSMOUNT_NAMESPACE, then they parse to the uapi values and print back by name, the
        unshare bit as UNSHARE_EMPTY_MNTNS rather than CLONE_PARENT_SETTID (source:
        include/uapi/linux/sched.h, include/uapi/linux/mount.h of linux-source-7.2)."""
        from mountsim.trace.parse import parse_text
        from mountsim.trace.write import format_program
        text = ("unshare(CLONE_NEWUSER|UNSHARE_EMPTY_MNTNS) = 0\n"
                "clone3({flags=CLONE_EMPTY_MNTNS, exit_signal=SIGCHLD}, 88) = 101\n"
                'open_tree(AT_FDCWD, "/", OPEN_TREE_NAMESPACE) = 3\n'
                "fsmount(4, FSMOUNT_NAMESPACE, 0) = 5\n")
        prog = parse_text(text)
        assert [s.args[0] if s.name != "clone3" else s.args[0]["flags"] for s in prog.steps][:2] == [
            uapi.CLONE_NEWUSER | 0x00100000, 1 << 37]
        assert prog.steps[2].args[2] == 2 and prog.steps[3].args[1] == 2
        out = format_program(prog)
        for name in ("UNSHARE_EMPTY_MNTNS", "flags=CLONE_EMPTY_MNTNS", "OPEN_TREE_NAMESPACE",
                     "FSMOUNT_NAMESPACE"):
            assert name in out
        assert "CLONE_PARENT_SETTID" not in out


class TestPivotRootOrder:
    """SYSCALL pivot_root (7.0): lookups, then path_pivot_root()'s may_mount()."""

    @pytest.mark.parametrize("kernel,expect", [("6.18", "EPERM"), ("7.0", "ENOENT"),
                                               ("7.1", "ENOENT")])
    def test_unprivileged_missing_put_old(self, kernel, expect):
        """If an unprivileged caller names a missing put_old, then 7.0 answers the lookup's
        ENOENT where 6.18 answers may_mount()'s EPERM (source: fs/namespace.c
        (linux-source-7.2) SYSCALL_DEFINE2(pivot_root) + path_pivot_root(); observed on
        7.0.13 and 7.1.13 in the VM backend, EPERM on the 6.18 host)."""
        r = run(kernel)
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        assert r.call("pivot_root", "/a", "/a/missing") == expect
        assert r.call("pivot_root", "/a", "/b") == "EPERM"
