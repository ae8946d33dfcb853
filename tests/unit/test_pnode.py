"""fs/pnode.c on the model: peer groups, slaves, propagation and umount propagation."""

from tests.helpers import MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE, MS_UNBINDABLE, model


class TestChangeMntPropagation:
    def test_shared_bind_joins_peer_group(self):
        """If a shared mount is bind-mounted, then the copy is in the same peer group
        (source: Documentation/filesystems/sharedsubtree.rst, 2a "shared mount")."""
        r = model()
        assert r.tmpfs("/a") == 0 and r.make("/a", MS_SHARED) == 0 and r.bind("/a", "/b") == 0
        t = dict(r.table())
        assert t["/a"] == t["/b"] and t["/a"].startswith("shared:")

    def test_make_slave_of_lone_shared_mount_becomes_private(self):
        """If the only member of a peer group is made a slave, then it has no master and
        is private (source: fs/pnode.c:do_make_slave(), list_empty(&mnt->mnt_share) and
        mnt_master == NULL)."""
        r = model()
        r.tmpfs("/a"), r.make("/a", MS_SHARED)
        assert r.make("/a", MS_SLAVE) == 0
        assert dict(r.table())["/a"] == ""

    def test_slave_gets_master_field(self):
        """If a peer is made a slave, then mountinfo shows master:<group of its old
        peers> and the peers keep shared:<same> (source: sharedsubtree.rst 2b "slave mount",
        fs/proc_namespace.c:show_mountinfo())."""
        r = model()
        r.tmpfs("/a"), r.make("/a", MS_SHARED), r.bind("/a", "/b")
        assert r.make("/b", MS_SLAVE) == 0
        t = dict(r.table())
        group = t["/a"].split(":")[1]
        assert t["/b"] == f"master:{group}"

    def test_only_one_propagation_flag(self):
        """If two propagation flags are passed, then mount fails with EINVAL (source:
        fs/namespace.c:flags_to_propagation_type(), is_power_of_2)."""
        r = model()
        r.tmpfs("/a")
        assert r.make("/a", MS_SHARED | MS_SLAVE) == "EINVAL"

    def test_not_a_mount_root(self):
        """If the target is not the root of a mount, then changing propagation fails with
        EINVAL (source: fs/namespace.c:do_change_type(), path_mounted())."""
        r = model()
        assert r.make("/a", MS_SHARED) == "EINVAL"

    def test_unbindable_cannot_be_bound(self):
        """If a mount is unbindable, then binding it fails with EINVAL (source:
        sharedsubtree.rst 2d "unbindable mount"; fs/namespace.c:__do_loopback())."""
        r = model()
        r.tmpfs("/a"), r.make("/a", MS_UNBINDABLE)
        assert r.bind("/a", "/b") == "EINVAL"
        assert dict(r.table())["/a"] == "unbindable"


class TestPropagateMnt:
    def test_mount_propagates_to_peer(self):
        """If a mount is made under one member of a peer group, then every peer receives a
        copy (source: sharedsubtree.rst 2a; fs/pnode.c:propagate_mnt())."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.make("/a", MS_SHARED), r.bind("/a", "/b")
        assert r.tmpfs("/a/x") == 0
        assert [mp for mp, _ in r.table()] == ["/", "/a", "/b", "/a/x", "/b/x"]

    def test_slave_receives_but_does_not_send(self):
        """If /b is a slave of /a, then mounts under /a appear under /b but not the other
        way round (source: sharedsubtree.rst 2b)."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.call("mkdir", "/a/y", 0o755)
        r.make("/a", MS_SHARED), r.bind("/a", "/b"), r.make("/b", MS_SLAVE)
        assert r.tmpfs("/a/x") == 0 and r.tmpfs("/b/y") == 0
        mps = [mp for mp, _ in r.table()]
        assert "/b/x" in mps and "/a/y" not in mps

    def test_copy_on_slave_is_slave_of_new_group(self):
        """If a mount under a shared master propagates to a slave, then the copy is a slave
        of the new mount's peer group (source: fs/pnode.c:propagate_mnt(), CL_SLAVE)."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755)
        r.make("/a", MS_SHARED), r.bind("/a", "/b"), r.make("/b", MS_SLAVE)
        r.tmpfs("/a/x")
        t = dict(r.table())
        assert t["/a/x"].startswith("shared:")
        assert t["/b/x"] == "master:" + t["/a/x"].split(":")[1]

    def test_private_mount_isolated(self):
        """If the destination is private, then nothing propagates (source:
        sharedsubtree.rst 2c "private mount")."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.bind("/a", "/b")
        r.tmpfs("/a/x")
        assert "/b/x" not in [mp for mp, _ in r.table()]


class TestUmountPropagation:
    def test_umount_propagates_to_peers(self):
        """If a mount is unmounted from one peer, then its twins under the other peers go
        too (source: fs/pnode.c:propagate_umount())."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.make("/a", MS_SHARED), r.bind("/a", "/b")
        r.tmpfs("/a/x")
        assert r.call("umount2", "/b/x", 0) == 0
        assert [mp for mp, _ in r.table()] == ["/", "/a", "/b"]

    def test_busy_twin_blocks_umount(self):
        """If a propagated twin is somebody's cwd, then umount without MNT_DETACH fails
        with EBUSY (source: fs/pnode.c:propagate_mount_busy())."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.make("/a", MS_SHARED), r.bind("/a", "/b")
        r.tmpfs("/a/x")
        assert r.call("chdir", "/b/x") == 0
        assert r.call("umount2", "/a/x", 0) == "EBUSY"
        assert r.call("umount2", "/a/x", 2) == 0           # MNT_DETACH

    def test_rec_private_after_rshared(self):
        """If a tree is made rshared and then rprivate, then no optional fields remain
        (source: fs/namespace.c:do_change_type() with MS_REC)."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.tmpfs("/a/x")
        assert r.make("/a", MS_SHARED | MS_REC) == 0
        assert all(f.startswith("shared:") for mp, f in r.table() if mp.startswith("/a"))
        assert r.make("/a", MS_PRIVATE | MS_REC) == 0
        assert all(f == "" for _, f in r.table())
