"""fsopen/fsconfig/fsmount/fspick on the model (mountsim/syscalls/fscontext.py).

Expected values are the kernel's: fs/fsopen.c and fs/namespace.c:SYSCALL fsmount, each
checked on Linux 6.18 inside `unshare -m` (observed values are marked so).
"""

import errno

from mountsim import uapi
from tests.helpers import model

SET_FLAG, SET_STRING, SET_BINARY, SET_PATH = (uapi.FSCONFIG_SET_FLAG, uapi.FSCONFIG_SET_STRING,
                                              uapi.FSCONFIG_SET_BINARY, uapi.FSCONFIG_SET_PATH)
SET_FD, CREATE, RECONF, EXCL = (uapi.FSCONFIG_SET_FD, uapi.FSCONFIG_CMD_CREATE,
                                uapi.FSCONFIG_CMD_RECONFIGURE, uapi.FSCONFIG_CMD_CREATE_EXCL)
AT_FDCWD = uapi.AT_FDCWD


def opened(fstype="tmpfs"):
    r = model()
    assert r.call("fsopen", fstype, 0, label=3) == 3
    return r


def last_line(r):
    return r.s.mountinfo(1).splitlines()[-1]


class TestFsopen:
    def test_errors_in_order(self):
        """If flags are unknown, then EINVAL even for an unknown type; if the type is unknown,
        then ENODEV; nsfs and rootfs are ENODEV too (source: fs/fsopen.c SYSCALL fsopen;
        observed on Linux 6.18)."""
        r = model()
        assert r.call("fsopen", "nosuchfs", 2) == "EINVAL"
        assert r.call("fsopen", "nosuchfs", 0) == "ENODEV"
        assert r.call("fsopen", "nsfs", 0) == "ENODEV"
        assert r.call("fsopen", "rootfs", 0) == "ENODEV"

    def test_unprivileged(self):
        """If the caller lacks CAP_SYS_ADMIN over its mount namespace, then EPERM before the
        flags are looked at (source: fs/fsopen.c SYSCALL fsopen, may_mount() first)."""
        r = model()
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        assert r.call("fsopen", "tmpfs", 2) == "EPERM"


class TestFsconfigArgs:
    def test_validation_before_fd(self):
        """If key/value/aux do not fit the command, then EINVAL before the fd is looked up;
        an unknown command is EOPNOTSUPP; a negative fd is EINVAL first of all (source:
        fs/fsopen.c SYSCALL fsconfig argument switch; observed on Linux 6.18)."""
        r = model()
        assert r.call("fsconfig", -1, 99, None, None, 0) == "EINVAL"
        assert r.call("fsconfig", 999, 99, None, None, 0) == uapi.errno_name(errno.EOPNOTSUPP)
        assert r.call("fsconfig", 999, SET_FLAG, "ro", None, 0) == "EBADF"
        assert r.call("fsconfig", 999, SET_FLAG, None, None, 0) == "EINVAL"
        assert r.call("fsconfig", 999, SET_FLAG, "ro", "x", 0) == "EINVAL"
        assert r.call("fsconfig", 999, SET_FLAG, "ro", None, 1) == "EINVAL"
        assert r.call("fsconfig", 999, SET_STRING, "source", None, 0) == "EINVAL"
        assert r.call("fsconfig", 999, SET_BINARY, "k", "v", 0) == "EINVAL"
        assert r.call("fsconfig", 999, SET_PATH, "k", "v", -5) == "EINVAL"
        assert r.call("fsconfig", 999, SET_FD, "k", "v", 0) == "EINVAL"
        assert r.call("fsconfig", 999, CREATE, "k", None, 0) == "EINVAL"

    def test_not_an_fscontext(self):
        """If the fd is not an fs_context, then EINVAL (source: fs/fsopen.c SYSCALL fsconfig,
        f_op != &fscontext_fops)."""
        r = model()
        assert r.call("open", "/a", uapi.O_PATH, label=5) == 5
        assert r.call("fsconfig", 5, SET_FLAG, "ro", None, 0) == "EINVAL"

    def test_set_fd_bad_aux(self):
        """If SET_FD names a closed fd, then EBADF (source: fs/fsopen.c fsconfig, fget(aux))."""
        r = opened()
        assert r.call("fsconfig", 3, SET_FD, "k", None, 999) == "EBADF"


class TestVfsParseFsParam:
    def test_tmpfs_parameters(self):
        """If tmpfs gets an unknown key, a flag with a value or a value-taking key as a flag,
        then EINVAL; "ro" as a string is taken by the VFS whatever the value (source:
        fs/fs_context.c vfs_parse_fs_param(), vfs_parse_sb_flag(); observed on Linux 6.18)."""
        r = opened()
        assert r.call("fsconfig", 3, SET_STRING, "bogus", "1", 0) == "EINVAL"
        assert r.call("fsconfig", 3, SET_FLAG, "bogus", None, 0) == "EINVAL"
        assert r.call("fsconfig", 3, SET_FLAG, "size", None, 0) == "EINVAL"
        assert r.call("fsconfig", 3, SET_STRING, "noswap", "1", 0) == "EINVAL"
        assert r.call("fsconfig", 3, SET_STRING, "ro", "x", 0) == 0
        assert r.call("fsconfig", 3, SET_FLAG, "bind", None, 0) == "EINVAL"
        assert r.call("fsconfig", 3, SET_BINARY, "k", "v", 1) == "EINVAL"

    def test_source(self):
        """If "source" is given as a flag or twice, then EINVAL (source: fs/fs_context.c
        vfs_parse_fs_param_source(); observed on Linux 6.18)."""
        r = opened()
        assert r.call("fsconfig", 3, SET_FLAG, "source", None, 0) == "EINVAL"
        assert r.call("fsconfig", 3, SET_STRING, "source", "src", 0) == 0
        assert r.call("fsconfig", 3, SET_STRING, "source", "src2", 0) == "EINVAL"

    def test_ramfs_ignores_unknown(self):
        """If ramfs gets an unknown parameter, then it is ignored (source: fs/ramfs/inode.c
        ramfs_parse_param(); observed on Linux 6.18)."""
        r = opened("ramfs")
        assert r.call("fsconfig", 3, SET_STRING, "bogus", "1", 0) == 0
        assert r.call("fsconfig", 3, SET_FLAG, "bogus", None, 0) == 0


class TestVfsFsconfigLocked:
    def test_phases(self):
        """If a context is created twice, reconfigured before being picked, or given
        parameters while awaiting its mount, then EBUSY (source: fs/fsopen.c
        vfs_fsconfig_locked(), vfs_cmd_create(), vfs_cmd_reconfigure(); observed on 6.18)."""
        r = opened()
        assert r.call("fsconfig", 3, RECONF, None, None, 0) == "EBUSY"
        assert r.call("fsconfig", 3, CREATE, None, None, 0) == 0
        assert r.call("fsconfig", 3, CREATE, None, None, 0) == "EBUSY"
        assert r.call("fsconfig", 3, EXCL, None, None, 0) == "EBUSY"
        assert r.call("fsconfig", 3, SET_STRING, "size", "2m", 0) == "EBUSY"

    def test_after_fsmount_reconfigures(self):
        """If a context has been mounted, then parameters are accepted again for a
        reconfigure, CMD_CREATE and fsmount are EBUSY, and CMD_RECONFIGURE changes the
        superblock (source: fs/fs_context.c vfs_clean_context(), finish_clean_context();
        observed on Linux 6.18: "ro" then RECONFIGURE makes the super options ro)."""
        r = opened()
        r.call("fsconfig", 3, SET_STRING, "source", "mysrc", 0)
        assert r.call("fsconfig", 3, CREATE, None, None, 0) == 0
        assert r.call("fsmount", 3, 0, 0, label=4) == 4
        assert r.call("fsmount", 3, 0, 0) == "EBUSY"
        assert r.call("fsconfig", 3, SET_STRING, "size", "3m", 0) == 0
        assert r.call("fsconfig", 3, CREATE, None, None, 0) == "EBUSY"
        assert r.call("fsconfig", 3, RECONF, None, None, 0) == 0
        assert r.call("fsconfig", 3, SET_FLAG, "ro", None, 0) == 0
        assert r.call("fsconfig", 3, RECONF, None, None, 0) == 0
        assert r.call("move_mount", 4, "", AT_FDCWD, "/a", uapi.MOVE_MOUNT_F_EMPTY_PATH) == 0
        assert last_line(r).endswith(" - tmpfs mysrc ro,size=3072k")


class TestFsmount:
    def test_errors_in_order(self):
        """If flags, attr_flags or the atime enum are bad, then EINVAL before EBADF; a
        non-fscontext fd is EINVAL; no superblock yet is EINVAL (source: fs/namespace.c
        SYSCALL fsmount; observed on Linux 6.18)."""
        r = opened()
        assert r.call("fsmount", 999, 2, 0) == "EINVAL"
        assert r.call("fsmount", 3, 0, uapi.MOUNT_ATTR_IDMAP) == "EINVAL"
        assert r.call("fsmount", 3, 0, 0x30) == "EINVAL"
        assert r.call("fsmount", 999, 0, 0) == "EBADF"
        assert r.call("open", "/a", uapi.O_PATH, label=5) == 5
        assert r.call("fsmount", 5, 0, 0) == "EINVAL"
        assert r.call("fsmount", 3, 0, 0) == "EINVAL"

    def test_detached_mount(self):
        """If fsmount succeeds, then the fd holds a detached mount with the attr flags,
        devname "none" without a source, and closing it unmounts it (source: fs/namespace.c
        SYSCALL fsmount, vfs_create_mount(); observed on 6.18: "rw,noatime ... tmpfs none rw")."""
        r = opened()
        r.call("fsconfig", 3, CREATE, None, None, 0)
        assert r.call("fsmount", 3, 0, uapi.MOUNT_ATTR_NOATIME, label=4) == 4
        f = r.s.k.tasks[1].files.fds[4]
        assert f.need_unmount and f.path.mnt.ns.is_anon and f.path.mnt.ns.root is f.path.mnt
        assert r.call("move_mount", 4, "", AT_FDCWD, "/a", uapi.MOVE_MOUNT_F_EMPTY_PATH) == 0
        assert last_line(r).split(" ", 4)[4] == "/a rw,noatime - tmpfs none rw"

    def test_strictatime(self):
        """If attr_flags is MOUNT_ATTR_STRICTATIME, then no atime flag shows (source:
        fs/namespace.c SYSCALL fsmount atime switch; observed on Linux 6.18)."""
        r = opened()
        r.call("fsconfig", 3, CREATE, None, None, 0)
        r.call("fsmount", 3, 0, uapi.MOUNT_ATTR_STRICTATIME | uapi.MOUNT_ATTR_RDONLY, label=4)
        r.call("move_mount", 4, "", AT_FDCWD, "/a", uapi.MOVE_MOUNT_F_EMPTY_PATH)
        assert last_line(r).split()[5] == "ro"


class TestFspick:
    def test_errors(self):
        """If flags are unknown, then EINVAL; a missing path ENOENT; a path that is not a
        mount root EINVAL (source: fs/fsopen.c SYSCALL fspick; observed on Linux 6.18)."""
        r = model()
        assert r.call("fspick", AT_FDCWD, "/nonexist", 16) == "EINVAL"
        assert r.call("fspick", AT_FDCWD, "/nonexist", 0) == "ENOENT"
        assert r.call("fspick", AT_FDCWD, "/a", 0) == "EINVAL"

    def test_reconfigure(self):
        """If a picked context gets "rw" and CMD_RECONFIGURE, then the superblock turns rw
        while the mount stays ro; CMD_CREATE and fsmount are EBUSY (source: fs/fsopen.c
        fspick(), vfs_cmd_reconfigure(); observed on Linux 6.18)."""
        r = model()
        r.tmpfs("/a", uapi.MS_RDONLY)
        assert r.call("fspick", AT_FDCWD, "/a", 0, label=3) == 3
        assert r.call("fsmount", 3, 0, 0) == "EBUSY"
        assert r.call("fsconfig", 3, SET_FLAG, "rw", None, 0) == 0
        assert r.call("fsconfig", 3, CREATE, None, None, 0) == "EBUSY"
        assert r.call("fsconfig", 3, RECONF, None, None, 0) == 0
        line = last_line(r)
        assert line.split()[5].startswith("ro") and line.endswith(" rw")
