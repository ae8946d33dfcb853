"""mount_setattr(2) on the model (mountsim/syscalls/setattr.py).

Expected values are the kernel's (fs/namespace.c 6.18, tools/testing/selftests/
mount_setattr/mount_setattr_test.c), each checked on Linux 6.18 inside `unshare -m`.
"""

import pytest

from mountsim import uapi
from mountsim.syscalls import setattr as setattr_mod
from tests.helpers import MS_PRIVATE, MS_SHARED, MS_SLAVE, model

AT_FDCWD, AT_RECURSIVE, AT_EMPTY_PATH = uapi.AT_FDCWD, uapi.AT_RECURSIVE, uapi.AT_EMPTY_PATH
RDONLY, NOSUID, IDMAP = uapi.MOUNT_ATTR_RDONLY, uapi.MOUNT_ATTR_NOSUID, uapi.MOUNT_ATTR_IDMAP
NOATIME, STRICT, ATIME = uapi.MOUNT_ATTR_NOATIME, uapi.MOUNT_ATTR_STRICTATIME, uapi.MOUNT_ATTR__ATIME


def A(attr_set=0, attr_clr=0, propagation=0, userns_fd=0):
    return {"attr_set": attr_set, "attr_clr": attr_clr, "propagation": propagation,
            "userns_fd": userns_fd}


def setattr(r, path, attr, flags=0, size=32, dfd=AT_FDCWD, pid=None):
    return r.call("mount_setattr", dfd, path, flags, attr, size, pid=pid)


def opts(r, mountpoint):
    for line in r.s.mountinfo(1).splitlines():
        f = line.split()
        if f[4] == mountpoint:
            return f[5], " ".join(f[6:f.index("-")])
    raise KeyError(mountpoint)


def with_proc():
    r = model(("/a", "/b", "/c", "/d", "/proc"))
    assert r.call("mount", "proc", "/proc", "proc", 0, None) == 0
    return r


def child_userns(r):
    """A child that unshared its user namespace, and fd 7 on that namespace's file."""
    child = r.fork()
    assert r.call("unshare", uapi.CLONE_NEWUSER, pid=child) == 0
    assert r.call("open", f"/proc/{child}/ns/user", 0, label=7) == 7
    return 7


class TestWantsMountSetattr:
    def test_checks_in_order(self):
        """If flags are unknown, then EINVAL before the size checks; usize > 4096 is E2BIG,
        usize < 32 EINVAL (source: fs/namespace.c SYSCALL mount_setattr,
        wants_mount_setattr(); observed on Linux 6.18)."""
        r = model()
        assert setattr(r, "/a", A(RDONLY), flags=1, size=4097) == "EINVAL"
        assert setattr(r, "/a", A(RDONLY), size=4097) == "E2BIG"
        assert setattr(r, "/a", A(RDONLY), size=8) == "EINVAL"

    def test_nop_skips_lookup(self):
        """If nothing is to be set, cleared or propagated, then 0 without even looking the
        path up (source: wants_mount_setattr() "Don't bother walking"; observed on 6.18)."""
        r = model()
        assert setattr(r, "/nonexist", A()) == 0
        assert setattr(r, "/nonexist", A(RDONLY)) == "ENOENT"

    def test_unprivileged(self):
        """If the caller lacks CAP_SYS_ADMIN, then EPERM after the size checks (source:
        wants_mount_setattr(), may_mount())."""
        r = model()
        r.call("setresuid", 1000, 1000, 1000)
        assert setattr(r, "/a", A(RDONLY), size=8) == "EINVAL"
        assert setattr(r, "/a", A(RDONLY)) == "EPERM"


class TestBuildMountKattr:
    @pytest.mark.parametrize("attr", [
        A(propagation=1),                                  # not a propagation type
        A(propagation=MS_SHARED | MS_PRIVATE),             # two of them
        A(attr_set=0x400),                                 # unknown attribute
        A(attr_set=NOATIME),                               # atime without __ATIME in attr_clr
        A(attr_clr=NOATIME),                               # __ATIME partly cleared
        A(attr_set=0x30, attr_clr=ATIME),                  # not one of the enum
        A(attr_clr=IDMAP),                                 # idmappings cannot be cleared
        A(attr_set=IDMAP, userns_fd=1 << 32),              # fd > INT_MAX
        A(attr_set=IDMAP, userns_fd=0),                    # not a namespace file
    ])
    def test_einval_before_lookup(self, attr):
        """If the attributes are malformed, then EINVAL before the path lookup (source:
        fs/namespace.c build_mount_kattr(), build_mount_idmapped(); selftest
        mount_setattr_invalid_attributes; observed on Linux 6.18)."""
        assert setattr(model(), "/nonexist", attr) == "EINVAL"

    def test_userns_fd_checks(self):
        """If userns_fd is closed, then EBADF; a mount namespace file EINVAL; the initial
        user namespace EPERM (source: build_mount_idmapped(); observed on Linux 6.18)."""
        r = with_proc()
        assert setattr(r, "/nonexist", A(IDMAP, userns_fd=999)) == "EBADF"
        r.call("open", "/proc/self/ns/mnt", 0, label=5)
        r.call("open", "/proc/self/ns/user", 0, label=6)
        assert setattr(r, "/nonexist", A(IDMAP, userns_fd=5)) == "EINVAL"
        assert setattr(r, "/nonexist", A(IDMAP, userns_fd=6)) == "EPERM"

    def test_atime_transitions(self):
        """If attr_clr holds MOUNT_ATTR__ATIME, then attr_set picks noatime or strictatime
        (source: build_mount_kattr(); observed on 6.18: "rw,nosuid,noatime", "rw,nosuid")."""
        r = model()
        r.tmpfs("/a")
        assert setattr(r, "/a", A(NOSUID | NOATIME, ATIME)) == 0
        assert opts(r, "/a")[0] == "rw,nosuid,noatime"
        assert setattr(r, "/a", A(STRICT, ATIME)) == 0
        assert opts(r, "/a")[0] == "rw,nosuid"


class TestDoMountSetattr:
    def test_not_mount_root(self):
        """If the path is not a mount root, then EINVAL (source: do_mount_setattr(),
        path_mounted(); observed on Linux 6.18)."""
        assert setattr(model(), "/a", A(RDONLY)) == "EINVAL"

    def test_recursive(self):
        """If AT_RECURSIVE is given, then every mount of the tree changes; without it only
        the top (source: mount_setattr_commit(); observed on 6.18)."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.tmpfs("/a/x")
        assert setattr(r, "/a", A(RDONLY)) == 0
        assert setattr(r, "/a", A(NOSUID), flags=AT_RECURSIVE) == 0
        assert opts(r, "/a")[0] == "ro,nosuid,relatime"
        assert opts(r, "/a/x")[0] == "rw,nosuid,relatime"

    def test_propagation(self):
        """If propagation is MS_SHARED recursively, then every mount gets a peer group; a
        lone shared mount made MS_SLAVE becomes private (source: do_mount_setattr()
        invent_group_ids(), change_mnt_propagation(); observed on Linux 6.18)."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.tmpfs("/a/x")
        assert setattr(r, "/a", A(propagation=MS_SHARED), flags=AT_RECURSIVE) == 0
        assert opts(r, "/a")[1] == "shared:1" and opts(r, "/a/x")[1] == "shared:2"
        assert setattr(r, "/a", A(propagation=MS_SLAVE)) == 0
        assert opts(r, "/a")[1] == ""

    def test_detached(self):
        """If the target is a detached tree's root, then it may change; a non-root mount of
        the detached tree is EINVAL (source: do_mount_setattr() `!anon_ns_root(mnt) &&
        !check_mnt(mnt)`; observed on Linux 6.18)."""
        r = model()
        r.tmpfs("/a"), r.call("mkdir", "/a/x", 0o755), r.tmpfs("/a/x")
        flags = uapi.OPEN_TREE_CLONE | AT_RECURSIVE
        assert r.call("open_tree", AT_FDCWD, "/a", flags, label=5) == 5
        assert setattr(r, "", A(RDONLY), flags=AT_EMPTY_PATH, dfd=5) == 0
        assert r.call("open_tree", 5, "x", 0, label=6) == 6
        assert setattr(r, "", A(RDONLY), flags=AT_EMPTY_PATH, dfd=6) == "EINVAL"

    def test_shared_failure_releases_group_ids(self):
        """If a MS_SHARED request fails after invent_group_ids(), then the ids are released
        and the tree is unchanged (source: do_mount_setattr() cleanup_group_ids())."""
        r = model()
        r.tmpfs("/a")
        assert r.call("open_tree", AT_FDCWD, "/a", uapi.OPEN_TREE_CLONE | AT_RECURSIVE, label=5) == 5
        m = r.s.k.tasks[1].files.fds[5].path.mnt
        m.ns.root = None                     # Model-only setup: no longer an anon ns root
        assert setattr(r, "", A(propagation=MS_SHARED), flags=AT_EMPTY_PATH, dfd=5) == "EINVAL"
        assert m.group_id == 0 and not m.is_shared

    def test_locked_flags(self):
        """If a mount's flags are locked (copied into a less privileged namespace), then
        clearing MOUNT_ATTR_RDONLY is EPERM and the table is unchanged (source:
        mount_setattr_prepare(), can_change_locked_flags(); selftest
        mount_setattr_test.c mount_attr_nosymfollow / locked)."""
        r = model()
        r.tmpfs("/a", uapi.MS_RDONLY)
        child = r.fork()
        assert r.call("unshare", uapi.CLONE_NEWUSER | uapi.CLONE_NEWNS, pid=child) == 0
        assert setattr(r, "/a", A(attr_clr=RDONLY), pid=child) == "EPERM"
        assert setattr(r, "/a", A(NOSUID), pid=child) == 0


class TestCanIdmapMount:
    def test_unmapped_userns(self):
        """If the user namespace maps no ids, then EINVAL after the lookup (observed on
        Linux 6.18: ENOENT for a missing path, EINVAL on a detached tmpfs)."""
        r = with_proc()
        r.tmpfs("/a")
        fd = child_userns(r)
        assert setattr(r, "/nonexist", A(IDMAP, userns_fd=fd)) == "ENOENT"
        r.call("open_tree", AT_FDCWD, "/a", uapi.OPEN_TREE_CLONE, label=5)
        assert setattr(r, "", A(IDMAP, userns_fd=fd), flags=AT_EMPTY_PATH, dfd=5) == "EINVAL"

    def test_rules(self, monkeypatch):
        """If the user namespace is mapped, then a detached tmpfs root may be idmapped once
        (again: EPERM), an attached mount or ramfs may not (EINVAL), and mountinfo shows
        ",idmapped" (source: can_idmap_mount(); observed on Linux 6.18 with a mapped userns)."""
        monkeypatch.setattr(setattr_mod, "has_mappings", lambda ns: True)
        r = with_proc()
        r.tmpfs("/a"), r.call("mount", "r", "/b", "ramfs", 0, None)
        fd = child_userns(r)
        assert setattr(r, "/a", A(IDMAP, userns_fd=fd)) == "EINVAL"
        r.call("open_tree", AT_FDCWD, "/a", uapi.OPEN_TREE_CLONE, label=5)
        r.call("open_tree", AT_FDCWD, "/b", uapi.OPEN_TREE_CLONE, label=6)
        assert setattr(r, "", A(IDMAP, userns_fd=fd), flags=AT_EMPTY_PATH, dfd=6) == "EINVAL"
        assert setattr(r, "", A(IDMAP, userns_fd=fd), flags=AT_EMPTY_PATH, dfd=5) == 0
        assert setattr(r, "", A(IDMAP, userns_fd=fd), flags=AT_EMPTY_PATH, dfd=5) == "EPERM"
        assert r.call("move_mount", 5, "", AT_FDCWD, "/c", uapi.MOVE_MOUNT_F_EMPTY_PATH) == 0
        assert opts(r, "/c")[0] == "rw,relatime,idmapped"
