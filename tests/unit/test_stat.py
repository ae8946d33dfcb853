"""statmount(2) and listmount(2) on the model (mountsim/syscalls/stat.py).

Expected values are the kernel's (fs/namespace.c 6.18, tools/testing/selftests/
filesystems/statmount/), each checked on Linux 6.18 inside `unshare -m`. The output buffer
is read from `k.last_out`.
"""

from mountsim import uapi
from mountsim.mount import MNT_UNIQUE_ID_OFFSET
from tests.helpers import MS_SHARED, MS_SLAVE, model

LSMT_ROOT = uapi.LSMT_ROOT


def req(mnt_id=LSMT_ROOT, param=0, size=32, **kw):
    return {"size": size, "spare": 0, "mnt_id": mnt_id, "param": param, "mnt_ns_id": 0, **kw}


def listmount(r, mnt_id=LSMT_ROOT, n=100, flags=0, **kw):
    ret = r.call("listmount", req(mnt_id, **kw), None, n, flags)
    return ret, r.s.k.last_out


def statmount(r, mnt_id, mask, bufsize=4096, flags=0, **kw):
    ret = r.call("statmount", req(mnt_id, mask, **kw), None, bufsize, flags)
    return ret if ret != 0 else r.s.k.last_out


def setup():
    """/a tmpfs; /a/x tmpfs (size=1m) shared; /a/y a slave bind of /a/x."""
    r = model()
    r.call("mount", "t1", "/a", "tmpfs", 0, None)
    r.call("mkdir", "/a/x", 0o755), r.call("mkdir", "/a/y", 0o755)
    r.call("mount", "t2", "/a/x", "tmpfs", 0, "size=1m")
    r.make("/a/x", MS_SHARED), r.bind("/a/x", "/a/y"), r.make("/a/y", MS_SLAVE)
    _, all_ids = listmount(r)
    return r, all_ids


class TestCopyMntIdReq:
    def test_size_and_id_checks(self):
        """If the request size is under 24, then EINVAL; over 4096, E2BIG; an mnt_id at or
        below MNT_UNIQUE_ID_OFFSET, EINVAL (source: fs/namespace.c copy_mnt_id_req();
        observed on Linux 6.18)."""
        r, ids = setup()
        assert r.call("listmount", req(ids[0], size=23), None, 10, 0) == "EINVAL"
        assert r.call("listmount", req(ids[0], size=4097), None, 10, 0) == "E2BIG"
        assert r.call("listmount", req(5), None, 10, 0) == "EINVAL"
        assert r.call("statmount", req(0, 2), None, 4096, 0) == "EINVAL"
        assert r.call("listmount", req(ids[0], size=24), None, 10, 0) == 3

    def test_spare_is_a_mnt_ns_fd(self):
        """If `spare` is not an open fd, then EBADF; an fd that is not a namespace file,
        EINVAL (source: 6.18 grab_requested_mnt_ns() mnt_ns_fd; observed on Linux 6.18)."""
        r, ids = setup()
        assert r.call("listmount", req(spare=999), None, 10, 0) == "EBADF"
        r.call("open", "/a", uapi.O_PATH, label=5)
        assert r.call("listmount", req(spare=5), None, 10, 0) == "EINVAL"


class TestListmount:
    def test_flags_and_count(self):
        """If flags are unknown, then EINVAL; over a million ids, EOVERFLOW; param not a
        unique id, EINVAL (source: SYSCALL listmount, prepare_klistmount(); observed 6.18)."""
        r, ids = setup()
        assert r.call("listmount", req(), None, 10, 2) == "EINVAL"
        assert r.call("listmount", req(), None, 1_000_001, 0) == "EOVERFLOW"
        assert r.call("listmount", req(param=5), None, 10, 0) == "EINVAL"

    def test_whole_subtree_in_id_order(self):
        """If a mount is listed, then every mount below it (all depths) comes back in unique
        id order, LISTMOUNT_REVERSE reverses, param resumes after the last id seen, and
        nr_mnt_ids bounds the answer (source: do_listmount(); observed on Linux 6.18)."""
        r, ids = setup()
        root, a, x, y = ids
        assert root > MNT_UNIQUE_ID_OFFSET and ids == sorted(ids)
        assert listmount(r, a) == (2, [x, y])
        assert listmount(r, a, flags=uapi.LISTMOUNT_REVERSE) == (2, [y, x])
        assert listmount(r, a, param=x) == (1, [y])
        assert listmount(r, a, param=y, flags=uapi.LISTMOUNT_REVERSE) == (1, [x])
        assert listmount(r, a, n=1) == (1, [x])
        assert listmount(r, a, n=0) == (0, [])
        assert listmount(r, root)[1] == [a, x, y]

    def test_unknown_id(self):
        """If the id is not a mount of the namespace, then ENOENT (source: do_listmount(),
        lookup_mnt_in_ns(); observed on Linux 6.18)."""
        r, ids = setup()
        assert r.call("listmount", req(ids[-1] + 1000), None, 10, 0) == "ENOENT"
        assert r.call("listmount", req(mnt_ns_id=12345), None, 10, 0) == "ENOENT"


class TestStatmount:
    def test_errors(self):
        """If flags are set, then EINVAL; an unknown id, ENOENT; strings asked for with a
        buffer of only sizeof(struct statmount), EOVERFLOW (source: SYSCALL statmount,
        prepare_kstatmount(); observed on Linux 6.18)."""
        r, ids = setup()
        assert statmount(r, ids[1], 2, flags=1) == "EINVAL"
        assert statmount(r, ids[-1] + 1000, 2) == "ENOENT"
        assert statmount(r, ids[1], uapi.STATMOUNT_FS_TYPE, bufsize=512) == "EOVERFLOW"
        assert statmount(r, ids[1], uapi.STATMOUNT_FS_TYPE, bufsize=518) == "EOVERFLOW"
        assert statmount(r, ids[1], uapi.STATMOUNT_FS_TYPE, bufsize=519)["fs_type"] == "tmpfs"

    def test_fields(self):
        """If everything is asked for, then a tmpfs with options reports mask 0x16ff and a
        slave reports master and propagate_from; a mount without fs options leaves
        MNT_OPTS and OPT_ARRAY unset (source: do_statmount(), statmount_string(); observed
        on Linux 6.18: masks 5887 and 4735, supported_mask 0x7fff)."""
        r, ids = setup()
        root, a, x, y = ids
        sa, sx, sy = (statmount(r, i, 0xFFFF) for i in (a, x, y))
        assert sa["mask"] == 0x127F and sx["mask"] == 0x16FF
        assert sx["supported_mask"] == 0x7FFF
        assert (sx["fs_type"], sx["mnt_root"], sx["mnt_point"], sx["sb_source"]) == ("tmpfs", "/", "/a/x", "t2")
        assert sx["mnt_opts"] == "size=1024k" and sx["sb_magic"] == 0x01021994
        assert (sx["mnt_id"], sx["mnt_parent_id"], sx["mnt_propagation"]) == (x, a, MS_SHARED)
        assert sy["mnt_propagation"] == MS_SLAVE and sy["mnt_master"] == sx["mnt_peer_group"]
        assert sy["propagate_from"] == sx["mnt_peer_group"]
        assert sa["mnt_attr"] == uapi.MOUNT_ATTR_RELATIME and sa["mnt_propagation"] == uapi.MS_PRIVATE

    def test_unknown_mask_bits(self):
        """If only unknown mask bits are asked for, then 0 with an empty mask (source:
        do_statmount(); observed on Linux 6.18)."""
        r, ids = setup()
        assert statmount(r, ids[1], 1 << 40) == {"mask": 0}

    def test_own_ns_id(self):
        """If the caller names its own namespace by id, then the answer is the same; both an
        id and an ns fd are EINVAL (source: grab_requested_mnt_ns(); observed on 6.18)."""
        r, ids = setup()
        nsid = statmount(r, ids[1], uapi.STATMOUNT_MNT_NS_ID)["mnt_ns_id"]
        assert statmount(r, ids[1], 2, mnt_ns_id=nsid)["mnt_id"] == ids[1]
        assert r.call("statmount", req(ids[1], 2, mnt_ns_id=nsid, spare=5), None, 4096, 0) == "EINVAL"

    def test_other_namespace(self):
        """If a mount of another namespace is asked for in ours, then ENOENT; by that
        namespace's id, it is found and its mount point is relative to that namespace's
        first mount on its root (source: lookup_mnt_in_ns(), grab_requested_root();
        observed on Linux 6.18)."""
        r, ids = setup()
        child = r.fork()
        assert r.call("unshare", uapi.CLONE_NEWNS, pid=child) == 0
        assert r.call("mount", "c", "/c", "tmpfs", 0, None, pid=child) == 0
        ns = r.s.k.tasks[child].mnt_ns
        cid = list(ns.mounts)[-1].unique_id
        assert statmount(r, cid, 2) == "ENOENT"
        sm = statmount(r, cid, uapi.STATMOUNT_MNT_POINT | uapi.STATMOUNT_MNT_NS_ID, mnt_ns_id=ns.seq)
        assert sm["mnt_point"] == "/c" and sm["mnt_ns_id"] == ns.seq
        assert listmount(r, mnt_ns_id=ns.seq)[0] == 5
