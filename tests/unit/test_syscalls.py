"""Every classic syscall's main path and error paths, on the model and the live kernel.

Each body runs twice (the `runner` fixture): the expected values are the kernel's, read
off the cited source and checked against Linux 6.18 by the live run.
"""

import pytest

from mountsim import uapi
from mountsim.errors import StepRefused
from tests.helpers import MS_BIND, MS_MOVE, MS_SHARED

AT_FDCWD = uapi.AT_FDCWD


class TestMount:
    def test_new_mount_errors(self, runner):
        """If the type is unknown, then ENODEV; if the target is missing, then ENOENT; if no
        type is given for a new mount, then EINVAL (source: fs/namespace.c:do_new_mount(),
        do_mount() looks the target up first)."""
        r = runner
        assert r.call("mount", "x", "/nope", "tmpfs", 0, None) == "ENOENT"
        assert r.call("mount", "x", "/a", None, 0, None) == "EINVAL"
        if getattr(r.s, "backend", None) is not None:   # the live sandbox
            # an unknown type would make the host's kernel run modprobe (request_module(
            # "fs-nosuchfs")): the sandbox refuses it before it runs (README, "Security")
            with pytest.raises(StepRefused):
                r.call("mount", "x", "/a", "nosuchfs", 0, None)
        else:
            assert r.call("mount", "x", "/a", "nosuchfs", 0, None) == "ENODEV"

    def test_tmpfs_unknown_option(self, runner):
        """If tmpfs gets an option it does not know, then EINVAL (source: mm/shmem.c
        shmem_parse_one(), fs_parse() "Unknown parameter")."""
        assert runner.call("mount", "t", "/a", "tmpfs", 0, "bogus=1") == "EINVAL"

    def test_mount_flags_show_in_mountinfo(self, runner):
        """If MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC are given, then mountinfo shows
        ro,nosuid,nodev,noexec,relatime (source: fs/proc_namespace.c:show_mnt_opts())."""
        r = runner
        assert r.tmpfs("/a", uapi.MS_RDONLY | uapi.MS_NOSUID | uapi.MS_NODEV | uapi.MS_NOEXEC) == 0
        line = r.s.mountinfo(1).splitlines()[-1]
        assert line.split()[5] == "ro,nosuid,nodev,noexec,relatime"

    def test_bind_rec_copies_submounts(self, runner):
        """If a tree is bound with MS_REC, then its submounts are copied; without, not
        (source: fs/namespace.c:do_loopback(), copy_tree() vs clone_mnt())."""
        r = runner
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.tmpfs("/a/x")
        assert r.bind("/a", "/b") == 0 and r.bind("/a", "/c", rec=True) == 0
        mps = [mp for mp, _ in r.table()]
        assert "/c/x" in mps and "/b/x" not in mps

    def test_bind_needs_source(self, runner):
        """If MS_BIND has no source, then EINVAL (source: do_loopback(): !old_name)."""
        assert runner.call("mount", None, "/a", None, MS_BIND, None) == "EINVAL"

    def test_move(self, runner):
        """If a mount is moved with MS_MOVE, then it leaves the old place (source:
        fs/namespace.c:do_move_mount_old())."""
        r = runner
        r.tmpfs("/a")
        assert r.call("mount", "/a", "/b", None, MS_MOVE, None) == 0
        assert [mp for mp, _ in r.table()] == ["/", "/b"]

    def test_move_not_mount_root(self, runner):
        """If MS_MOVE's source is not a mount root, then EINVAL (source: do_move_mount(),
        path_mounted(old_path))."""
        r = runner
        assert r.call("mount", "/a", "/b", None, MS_MOVE, None) == "EINVAL"

    def test_remount_bind_readonly(self, runner):
        """If MS_REMOUNT|MS_BIND|MS_RDONLY is applied to a bind, then only that mount turns
        read-only, not the superblock (source: fs/namespace.c:do_reconfigure_mnt())."""
        r = runner
        r.tmpfs("/a"), r.bind("/a", "/b")
        assert r.call("mount", None, "/b", None, uapi.MS_REMOUNT | MS_BIND | uapi.MS_RDONLY, None) == 0
        lines = {l.split()[4]: l for l in r.s.mountinfo(1).splitlines()}
        assert lines["/b"].split()[5].startswith("ro") and lines["/a"].split()[5].startswith("rw")
        assert lines["/b"].endswith(" rw")     # super options stay rw

    def test_remount_superblock_readonly(self, runner):
        """If MS_REMOUNT|MS_RDONLY is applied, then the superblock is read-only too (source:
        fs/namespace.c:do_remount(), reconfigure_super())."""
        r = runner
        r.tmpfs("/a")
        assert r.call("mount", None, "/a", None, uapi.MS_REMOUNT | uapi.MS_RDONLY, None) == 0
        assert r.s.mountinfo(1).splitlines()[-1].endswith(" ro")
        assert r.call("mkdir", "/a/x", 0o755) == "EROFS"


class TestUmount:
    def test_nofollow_and_force(self, runner):
        """If UMOUNT_NOFOLLOW or MNT_FORCE is given on a plain tmpfs, then it unmounts
        (source: fs/namespace.c:ksys_umount(), do_umount())."""
        r = runner
        r.tmpfs("/a"), r.tmpfs("/b")
        assert r.call("umount2", "/a", uapi.UMOUNT_NOFOLLOW) == 0
        assert r.call("umount2", "/b", uapi.MNT_FORCE) == 0

    def test_open_fd_pins_mount(self, runner):
        """If an fd is open on a mount, then umount2 fails with EBUSY until it is closed
        (source: fs/pnode.c:propagate_mount_busy(), refcount > 2)."""
        r = runner
        r.tmpfs("/a")
        fd = r.call("openat", AT_FDCWD, "/a", uapi.O_RDONLY | uapi.O_DIRECTORY, label=5)
        assert fd == 5
        assert r.call("umount2", "/a", 0) == "EBUSY"
        assert r.call("close", 5) == 0
        assert r.call("umount2", "/a", 0) == 0

    def test_parent_with_children_busy(self, runner):
        """If a mount has submounts, then umount2 without MNT_DETACH fails with EBUSY
        (source: propagate_mount_busy(): !list_empty(&mnt->mnt_mounts))."""
        r = runner
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.tmpfs("/a/x")
        assert r.call("umount2", "/a", 0) == "EBUSY"
        assert r.call("umount2", "/a", uapi.MNT_DETACH) == 0


class TestFilesAndDirs:
    def test_mkdir_rmdir(self, runner):
        """If mkdir hits an existing name, then EEXIST; rmdir of a mountpoint in our
        namespace is EBUSY; of a non-empty directory ENOTEMPTY (source: fs/namei.c
        filename_create(), vfs_rmdir() is_local_mountpoint())."""
        r = runner
        assert r.call("mkdir", "/a", 0o755) == "EEXIST"
        assert r.call("mkdir", "/nope/x", 0o755) == "ENOENT"
        r.call("mkdir", "/a/x", 0o755)
        assert r.call("rmdir", "/a") == "ENOTEMPTY"
        r.tmpfs("/b")
        assert r.call("rmdir", "/b") == "EBUSY"
        assert r.call("rmdir", "/a/x") == 0
        assert r.call("rmdir", "/a/.") == "EINVAL"

    def test_mkdirat_relative_to_fd(self, runner):
        """If mkdirat gets a directory fd, then the name is relative to it (source:
        fs/namei.c:do_mkdirat())."""
        r = runner
        assert r.call("openat", AT_FDCWD, "/a", uapi.O_PATH | uapi.O_DIRECTORY, label=7) == 7
        assert r.call("mkdirat", 7, "sub", 0o755) == 0
        assert r.call("chdir", "/a/sub") == 0

    def test_openat_flags(self, runner):
        """If O_DIRECTORY is used on a file, then ENOTDIR; a bad fd gives EBADF (source:
        fs/namei.c do_open(), fs/open.c)."""
        r = runner
        assert r.call("openat", AT_FDCWD, "/f", uapi.O_CREAT | uapi.O_WRONLY, 0o644, label=8) == 8
        assert r.call("openat", AT_FDCWD, "/f", uapi.O_DIRECTORY | uapi.O_RDONLY, label=9) == "ENOTDIR"
        assert r.call("close", 8) == 0
        assert r.call("close", 8) == "EBADF"
        assert r.call("mkdirat", 55, "x", 0o755) == "EBADF"


class TestProcessesAndNamespaces:
    def test_chdir_chroot_fchdir(self, runner):
        """If a process chroots, then "/" is its new root and ".." cannot climb out (source:
        fs/open.c ksys_chroot(), fs/namei.c follow_dotdot())."""
        r = runner
        r.tmpfs("/a"), r.call("mkdir", "/a/in", 0o755)
        assert r.call("chdir", "/nope") == "ENOENT"
        assert r.call("chroot", "/a") == 0
        assert r.call("chdir", "/../..") == 0
        assert r.call("mkdir", "in2", 0o755) == 0            # cwd is still the old "/"
        assert r.call("chdir", "/in/../in") == 0
        assert r.call("openat", AT_FDCWD, "/", uapi.O_PATH, label=6) == 6
        assert r.call("fchdir", 6) == 0

    def test_fork_unshare_diverges(self, runner):
        """If a child unshares its mount namespace, then its mounts are invisible to the
        parent when the parent's mounts are private (source: mount_namespaces(7))."""
        r = runner
        child = r.fork()
        assert r.call("unshare", uapi.CLONE_NEWNS, pid=child) == 0
        assert r.tmpfs("/a", pid=child) == 0
        assert "/a" in [mp for mp, _ in r.table(child)]
        assert "/a" not in [mp for mp, _ in r.table(1)]

    def test_clone3_newns(self, runner):
        """If clone3 is called with CLONE_NEWNS, then the child has its own namespace;
        CSIGNAL bits in flags are EINVAL (source: kernel/fork.c:clone3_args_valid())."""
        r = runner
        args = {"flags": uapi.CLONE_NEWNS, "exit_signal": uapi.SIGCHLD}
        assert r.call("clone3", args, 88, label=150) == 150
        assert r.tmpfs("/a", pid=150) == 0
        assert "/a" not in [mp for mp, _ in r.table(1)]
        assert r.call("clone3", {"flags": uapi.CLONE_NEWNS | uapi.SIGCHLD}, 88, label=151) == "EINVAL"

    def test_setns_back_to_parent_namespace(self, runner):
        """If a child opens its parent's /proc/<pid>/ns/mnt before unsharing, then setns on
        it brings it back (source: fs/namespace.c:mntns_install()); an O_PATH fd is EBADF
        for setns (fget() refuses FMODE_PATH)."""
        r = runner
        r.tmpfs("/b"), r.call("mkdir", "/b/proc", 0o755)
        assert r.call("mount", "proc", "/b/proc", "proc", 0, None) == 0
        child = r.fork()
        assert r.call("openat", AT_FDCWD, "/b/proc/self/ns/mnt", uapi.O_RDONLY, label=20, pid=child) == 20
        assert r.call("openat", AT_FDCWD, "/b/proc/self/ns/mnt", uapi.O_PATH, label=21, pid=child) == 21
        assert r.call("unshare", uapi.CLONE_NEWNS, pid=child) == 0
        assert r.tmpfs("/a", pid=child) == 0
        assert r.call("setns", 21, uapi.CLONE_NEWNS, pid=child) == "EBADF"
        assert r.call("setns", 20, uapi.CLONE_NEWUSER, pid=child) == "EINVAL"
        assert r.call("setns", 20, uapi.CLONE_NEWNS, pid=child) == 0
        assert "/a" not in [mp for mp, _ in r.table(child)]

    def test_pivot_root_errors(self, runner):
        """If new_root or put_old is on the current root mount, then EBUSY (checked before
        "not a mountpoint"); if put_old is not under new_root, then EINVAL (source:
        SYSCALL_DEFINE2(pivot_root), check order)."""
        r = runner
        assert r.call("pivot_root", "/a", "/a") == "EBUSY"
        r.tmpfs("/a")
        assert r.call("pivot_root", "/a", "/b") == "EBUSY"
        r.tmpfs("/b")
        assert r.call("pivot_root", "/a", "/b") == "EINVAL"

    def test_setresuid_drops_mount_rights(self, runner):
        """If root switches to uid 1000, then mount fails with EPERM (source:
        security/commoncap.c cap_emulate_setxuid(); fs/namespace.c may_mount())."""
        r = runner
        child = r.fork()
        assert r.call("setresuid", 1000, 1000, 1000, pid=child) == 0
        assert r.tmpfs("/a", pid=child) == "EPERM"


class TestOpenTreeMoveMount:
    def test_open_tree_clone_attach(self, runner):
        """If a detached copy made by open_tree(OPEN_TREE_CLONE) is attached with move_mount,
        then it appears at the target (source: fs/namespace.c open_detached_copy(),
        do_move_mount() for an anon namespace root)."""
        r = runner
        r.tmpfs("/a")
        assert r.call("open_tree", AT_FDCWD, "/a", uapi.OPEN_TREE_CLONE, label=30) == 30
        assert r.call("move_mount", 30, "", AT_FDCWD, "/b", uapi.MOVE_MOUNT_F_EMPTY_PATH) == 0
        assert [mp for mp, _ in r.table()] == ["/", "/a", "/b"]

    def test_open_tree_flag_errors(self, runner):
        """If AT_RECURSIVE is given without OPEN_TREE_CLONE, or an unknown flag, then EINVAL
        (source: SYSCALL_DEFINE3(open_tree))."""
        r = runner
        assert r.call("open_tree", AT_FDCWD, "/a", uapi.AT_RECURSIVE, label=31) == "EINVAL"
        assert r.call("open_tree", AT_FDCWD, "/a", 0x4, label=31) == "EINVAL"
        assert r.call("open_tree", AT_FDCWD, "/a", 0, label=31) == 31   # plain O_PATH

    def test_closing_detached_tree_dissolves_it(self, runner):
        """If the only fd of a detached tree is closed, then the tree is gone and the fd
        number is free (source: dissolve_on_fput())."""
        r = runner
        r.tmpfs("/a")
        assert r.call("open_tree", AT_FDCWD, "/a", uapi.OPEN_TREE_CLONE, label=32) == 32
        assert r.call("close", 32) == 0
        assert r.call("move_mount", 32, "", AT_FDCWD, "/b", uapi.MOVE_MOUNT_F_EMPTY_PATH) == "EBADF"

    def test_move_mount_t_empty_path(self, runner):
        """If the target is given as an fd with MOVE_MOUNT_T_EMPTY_PATH, then the mount
        moves onto that directory (source: SYSCALL_DEFINE5(move_mount))."""
        r = runner
        r.tmpfs("/a")
        assert r.call("openat", AT_FDCWD, "/b", uapi.O_PATH | uapi.O_DIRECTORY, label=33) == 33
        assert r.call("move_mount", AT_FDCWD, "/a", 33, "", uapi.MOVE_MOUNT_T_EMPTY_PATH) == 0
        assert [mp for mp, _ in r.table()] == ["/", "/b"]

    def test_move_mount_flag_errors(self, runner):
        """If BENEATH and SET_GROUP are combined, or an unknown bit is set, then EINVAL
        (source: SYSCALL_DEFINE5(move_mount))."""
        r = runner
        both = uapi.MOVE_MOUNT_BENEATH | uapi.MOVE_MOUNT_SET_GROUP
        assert r.call("move_mount", AT_FDCWD, "/a", AT_FDCWD, "/b", both) == "EINVAL"
        assert r.call("move_mount", AT_FDCWD, "/a", AT_FDCWD, "/b", 0x8) == "EINVAL"

    def test_move_mount_beneath(self, runner):
        """If a mount is moved beneath the top mount on /b, then it sits between /b's parent
        and the old top (mountinfo order is creation order, parent ids show the stacking)
        (source: fs/namespace.c do_lock_mount(beneath), can_move_mount_beneath())."""
        r = runner
        r.tmpfs("/b"), r.tmpfs("/a")
        assert r.call("move_mount", AT_FDCWD, "/a", AT_FDCWD, "/b", uapi.MOVE_MOUNT_BENEATH) == 0
        lines = r.s.mountinfo(1).splitlines()
        top, under = lines[1].split(), lines[2].split()    # /b's mount, then the moved /a
        assert top[4] == "/b" and under[4] == "/b"
        assert top[1] == under[0]                          # the old top now sits on the new one

    def test_set_group(self, runner):
        """If MOVE_MOUNT_SET_GROUP copies a shared mount's group to a private bind of the
        same superblock, then both show the same shared:N (source: do_set_group())."""
        r = runner
        r.tmpfs("/a"), r.bind("/a", "/b"), r.make("/a", MS_SHARED)
        assert r.call("move_mount", AT_FDCWD, "/a", AT_FDCWD, "/b", uapi.MOVE_MOUNT_SET_GROUP) == 0
        t = dict(r.table())
        assert t["/a"] == t["/b"] and t["/a"].startswith("shared:")
        r.tmpfs("/c")
        assert r.call("move_mount", AT_FDCWD, "/a", AT_FDCWD, "/c", uapi.MOVE_MOUNT_SET_GROUP) == "EINVAL"


class TestPidNamespaces:
    def test_init_exit_kills_the_namespace(self, runner):
        """If the first process of a new pid namespace exits, then every other process in
        it is killed (source: pid_namespaces(7) "The namespace init process";
        kernel/pid_namespace.c zap_pid_ns_processes())."""
        r = runner
        flags = uapi.CLONE_NEWNS | uapi.CLONE_NEWUSER | uapi.CLONE_NEWPID
        assert r.call("clone3", {"flags": flags, "exit_signal": uapi.SIGCHLD}, 88, label=2) == 2
        assert r.call("fork", pid=2, label=3) == 3
        assert r.call("fork", pid=1, label=4) == 4
        assert sorted(r.s.pids()) == [1, 2, 3, 4]
        r.call("exit_group", 0, pid=2)
        assert sorted(r.s.pids()) == [1, 4]

    def test_proc_mount_needs_a_visible_proc(self, runner):
        """If the owner of a new pid namespace mounts proc while no proc is visible in its
        mount namespace, then EPERM; with /proc mounted first by the host side and a new
        namespace copied, it succeeds (source: fs/namespace.c mount_too_revealing(),
        mnt_already_visible(); user_namespaces(7))."""
        r = runner
        flags = uapi.CLONE_NEWNS | uapi.CLONE_NEWUSER | uapi.CLONE_NEWPID
        assert r.call("clone3", {"flags": flags, "exit_signal": uapi.SIGCHLD}, 88, label=2) == 2
        assert r.call("mount", "proc", "/d", "proc", 0, None, pid=2) == "EPERM"
        assert r.call("mount", "proc", "/c", "proc", 0, None) == 0
        assert r.call("clone3", {"flags": flags, "exit_signal": uapi.SIGCHLD}, 88, label=3) == 3
        assert r.call("mount", "proc", "/d", "proc", 0, None, pid=3) == 0
