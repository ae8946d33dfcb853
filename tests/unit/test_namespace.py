"""fs/namespace.c on the model: copying namespaces, locking, moving, pivot_root, limits."""

import re

from mountsim import uapi
from hypothesis import given, strategies as st

from mountsim.mount import IdAllocator
from tests.helpers import MS_MOVE, MS_SHARED, model

NEWNS, NEWUSER = uapi.CLONE_NEWNS, uapi.CLONE_NEWUSER


class TestCopyMntNs:
    def test_unshare_keeps_peer_groups_across_namespaces(self):
        """If a process unshares its mount namespace, then shared mounts stay peers of the
        originals, so mounts propagate between the namespaces (source: mount_namespaces(7)
        "Shared subtrees"; fs/namespace.c:copy_mnt_ns() without CL_SHARED_TO_SLAVE)."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.make("/a", MS_SHARED)
        child = r.fork()
        assert r.call("unshare", NEWNS, pid=child) == 0
        assert r.tmpfs("/a/x") == 0
        assert "/a/x" in [mp for mp, _ in r.table(child)]

    def test_userns_copy_makes_slaves_and_locks(self):
        """If the new mount namespace is owned by a new user namespace, then shared mounts
        become slaves and inherited mounts are MNT_LOCKED: unmounting one fails with EINVAL
        (source: fs/namespace.c:copy_mnt_ns() CL_SHARED_TO_SLAVE + lock_mnt_tree();
        observed on Linux 6.18: umount2 -> EINVAL)."""
        r = model()
        r.tmpfs("/a"), r.make("/a", MS_SHARED)
        child = r.fork()
        assert r.call("unshare", NEWNS | NEWUSER, pid=child) == 0
        fields = dict(r.table(child))["/a"]
        assert fields.startswith("master:")
        assert r.call("umount2", "/a", uapi.MNT_DETACH, pid=child) == "EINVAL"

    def test_propagated_copy_into_userns_is_not_locked(self):
        """If a mount propagates into a namespace owned by a less privileged user namespace,
        then the copy's root is not MNT_LOCKED (only mounts below it would be), so the child
        can unmount it (source: fs/namespace.c:lock_mnt_tree() skips the tree's root;
        observed on Linux 6.18: umount2(MNT_DETACH) of the propagated copy -> 0)."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.make("/a", MS_SHARED)
        child = r.fork()
        assert r.call("unshare", NEWNS | NEWUSER, pid=child) == 0
        assert r.tmpfs("/a/x") == 0
        assert r.call("umount2", "/a/x", uapi.MNT_DETACH, pid=child) == 0

    def test_unshare_newns_needs_cap(self):
        """If an unprivileged process unshares CLONE_NEWNS, then it gets EPERM (source:
        kernel/nsproxy.c:unshare_nsproxy_namespaces(), ns_capable CAP_SYS_ADMIN)."""
        r = model()
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        assert r.call("unshare", NEWNS) == "EPERM"
        assert r.call("unshare", NEWNS | NEWUSER) == 0     # its own user namespace is enough

    def test_unknown_unshare_flag(self):
        """If unshare gets an unknown flag, then EINVAL (source: kernel/fork.c:check_unshare_flags())."""
        assert model().call("unshare", 1 << 40) == "EINVAL"


class TestMoveAndUmount:
    def test_move_under_shared_parent_fails(self):
        """If the mount to move has a shared parent, then MS_MOVE fails with EINVAL
        (source: fs/namespace.c:do_move_mount(), "parent of the source should not be shared";
        sharedsubtree.rst 5d "move semantics")."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.tmpfs("/a/x"), r.make("/a", MS_SHARED)
        assert r.call("mount", "/a/x", "/b", None, MS_MOVE, None) == "EINVAL"

    def test_move_into_itself_is_eloop(self):
        """If a mount is moved below itself, then ELOOP (source: fs/namespace.c:do_move_mount(),
        mount_is_ancestor())."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755)
        assert r.call("mount", "/a", "/a/x", None, MS_MOVE, None) == "ELOOP"

    def test_umount_not_mountpoint(self):
        """If umount2 targets a directory that is not a mount root, then EINVAL (source:
        fs/namespace.c:can_umount(), path_mounted())."""
        assert model().call("umount2", "/a", 0) == "EINVAL"

    def test_umount_bad_flags(self):
        """If umount2 gets an unknown flag, then EINVAL before the path is looked up
        (source: fs/namespace.c:ksys_umount())."""
        assert model().call("umount2", "/nonexistent", 0x100) == "EINVAL"

    def test_umount_own_root_remounts_readonly(self):
        """If a process unmounts its own root without MNT_DETACH, then the call succeeds by
        remounting the root read-only (source: fs/namespace.c:do_umount() -> do_umount_root();
        observed on Linux 6.18: rc 0, then mkdir fails with EROFS)."""
        r = model()
        assert r.call("umount2", "/", 0) == 0
        assert r.call("mkdir", "/z", 0o755) == "EROFS"

    def test_expire_needs_two_calls(self):
        """If MNT_EXPIRE is used on an idle mount, then the first call marks it (EAGAIN) and
        the second unmounts it (source: fs/namespace.c:do_umount(), mnt_expiry_mark)."""
        r = model()
        r.tmpfs("/a")
        assert r.call("umount2", "/a", uapi.MNT_EXPIRE) == "EAGAIN"
        assert r.call("umount2", "/a", uapi.MNT_EXPIRE) == 0


class TestPivotRootAndChroot:
    def test_pivot_root_swaps_roots(self):
        """If pivot_root(new, new/old) succeeds, then new is "/" and the old root is under
        /old (source: fs/namespace.c:SYSCALL_DEFINE2(pivot_root))."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/old", 0o755)
        assert r.call("pivot_root", "/a", "/a/old") == 0
        assert [mp for mp, _ in r.table()] == ["/old", "/"]

    def test_pivot_root_shared_fails(self):
        """If the new root's parent is shared, then pivot_root fails with EINVAL (source:
        pivot_root: IS_MNT_SHARED(ex_parent))."""
        r = model()
        r.make("/", MS_SHARED)
        r.tmpfs("/a"), r.call("mkdir", "/a/old", 0o755)
        assert r.call("pivot_root", "/a", "/a/old") == "EINVAL"

    def test_chroot_hides_mounts_outside_root(self):
        """If a process chroots into /a, then mountinfo shows only mounts reachable from its
        root, with paths relative to it (source: fs/proc_namespace.c:show_mountinfo(),
        seq_path_root() SEQ_SKIP)."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.tmpfs("/a/x"), r.tmpfs("/b")
        assert r.call("chroot", "/a") == 0
        assert [mp for mp, _ in r.table()] == ["/", "/x"]


class TestLimitsAndIds:
    def test_mount_max(self):
        """If a namespace holds fs.mount-max mounts, then the next mount fails with ENOSPC
        (source: fs/namespace.c:count_mounts())."""
        r = model()
        r.s.k.mount_max = 3          # rootfs + "/" tmpfs + one more
        assert r.tmpfs("/a") == 0
        assert r.tmpfs("/b") == "ENOSPC"

    def test_mount_ids_reuse_smallest_free(self):
        """If a mount is freed, then its id is the next one handed out (source:
        fs/namespace.c:mnt_alloc_id(), xa_alloc from 1: the smallest free id)."""
        ids = IdAllocator(1)
        a, b, c = ids.alloc(), ids.alloc(), ids.alloc()
        ids.free(b)
        assert (a, b, c, ids.alloc(), ids.alloc()) == (1, 2, 3, 2, 4)

    @given(st.lists(st.tuples(st.sampled_from(["alloc", "free", "reserve"]),
                              st.sampled_from([1, 2, 3, 5, 7, 8, 30, 40, 2_000_000_000,
                                               2**31 - 1])), max_size=120))
    def test_ids_are_the_smallest_free_whatever_a_table_reserved(self, ops):
        """If a start table reserves ids (any, up to INT_MAX) and mounts come and go, then
        each new id is the smallest one not in use (source: fs/namespace.c:mnt_alloc_id(),
        xa_alloc from 1), checked against the set of ids in use."""
        ids, used = IdAllocator(1), set()
        for op, n in ops:
            if op == "alloc":
                want = min(x for x in range(1, len(used) + 2) if x not in used)
                assert ids.alloc() == want
                used.add(want)
            elif op == "free" and n in used:
                ids.free(n)
                used.discard(n)
            elif op == "reserve" and n not in used:
                ids.reserve(n)
                used.add(n)

    def test_unique_ids_never_reused(self):
        """If a mount is unmounted and another made, then the unique id grows (source:
        fs/namespace.c:mnt_alloc_id(), mnt_id_unique = ++mnt_id_ctr)."""
        r = model()
        r.tmpfs("/a")
        first = max(m.unique_id for m in r.s.k.tasks[1].mnt_ns.mounts)
        r.call("umount2", "/a", 0), r.tmpfs("/a")
        assert max(m.unique_id for m in r.s.k.tasks[1].mnt_ns.mounts) > first


class TestMountinfoFormat:
    def test_escapes_space(self):
        """If a mountpoint has a space, then mountinfo prints it as \\040 (source:
        fs/proc_namespace.c:show_mountinfo(), seq_escape " \\t\\n\\\\")."""
        r = model()
        r.call("mkdir", "/a b", 0o755)
        r.tmpfs("/a b")
        assert "/a\\040b" in r.s.mountinfo(1)

    def test_line_shape(self):
        """If a tmpfs is mounted with defaults, then its line reads
        'ID PARENT 0:N / /a rw,relatime - tmpfs tmpfs rw' (observed on Linux 6.18:
        '63 43 0:39 / /tmp/x rw,relatime - tmpfs t rw')."""
        r = model()
        r.tmpfs("/a")
        line = r.s.mountinfo(1).splitlines()[-1]
        assert re.fullmatch(r"\d+ \d+ 0:\d+ / /a rw,relatime - tmpfs tmpfs rw", line)
