"""Shared set-up for the 7.0/7.1 namespace-creation tests (test_newns.py, test_nullfs.py).

Model-only: each helper names the selftest helper it stands for (tools/testing/selftests/
filesystems/utils.c, empty_mntns.h, statmount.h).
"""

import pytest

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.nullfs import is_nullfs
from mountsim.trace.program import Program
from tests.helpers import MS_PRIVATE, MS_REC, MS_SHARED, Runner

AT_FDCWD = uapi.AT_FDCWD
NS = uapi.OPEN_TREE_NAMESPACE | uapi.OPEN_TREE_CLOEXEC
NS_REC = NS | uapi.AT_RECURSIVE
LSMT_ROOT = uapi.LSMT_ROOT


def run(kernel: str = "7.1", dirs=("/a", "/b", "/tmp", "/proc")) -> Runner:
    return Runner(ModelBackend(kernel=kernel).start(Program(start_dirs=list(dirs))))


def write_file(r: Runner, path: str, text: str, pid=None) -> None:
    fd = r.call("open", path, uapi.O_WRONLY, pid=pid)
    assert r.call("write", fd, text, len(text), pid=pid) == len(text)
    assert r.call("close", fd, pid=pid) == 0


def write_maps(r: Runner, pid=None) -> None:
    """utils.c: uid_map "0 <uid> 1", setgroups "deny", gid_map "0 <gid> 1" (uid/gid 0)."""
    write_file(r, "/proc/self/uid_map", "0 0 1", pid)
    write_file(r, "/proc/self/setgroups", "deny", pid)
    write_file(r, "/proc/self/gid_map", "0 0 1", pid)


def task(r: Runner, pid: int | None = None):
    return r.s.k.tasks[pid or r.pid]


def fd_ns(r: Runner, fd: int, pid: int | None = None):
    return task(r, pid).files.fds[fd].ns


def req(mnt_id=LSMT_ROOT, param=0, ns_id=0):
    return {"size": 32, "spare": 0, "mnt_id": mnt_id, "param": param, "mnt_ns_id": ns_id}


def listmount(r: Runner, ns_id=0, flags=0, pid=None):
    ret = r.call("listmount", req(ns_id=ns_id), None, 256, flags, pid=pid)
    assert isinstance(ret, int), ret
    return r.s.k.last_out


def statmount(r: Runner, mnt_id, mask, ns_id=0, pid=None):
    ret = r.call("statmount", req(mnt_id, mask, ns_id), None, 4096, 0, pid=pid)
    assert ret == 0, ret
    return r.s.k.last_out


def enter_userns(r: Runner, pid=None) -> None:
    """utils.c:enter_userns(): unshare(CLONE_NEWUSER) only, then the id maps (proc is
    mounted on /proc first, in the initial namespace)."""
    if r.call("mount", "proc", "/proc", "proc", 0, None, pid=pid) != 0:
        pytest.fail("proc")
    assert r.call("unshare", uapi.CLONE_NEWUSER, pid=pid) == 0
    write_maps(r, pid)


def setup_userns(r: Runner, pid=None) -> None:
    """utils.c:setup_userns(): unshare(CLONE_NEWNS|CLONE_NEWUSER), the id maps, then
    MS_REC|MS_PRIVATE on "/"."""
    assert r.call("mount", "proc", "/proc", "proc", 0, None, pid=pid) == 0
    assert r.call("unshare", uapi.CLONE_NEWNS | uapi.CLONE_NEWUSER, pid=pid) == 0
    write_maps(r, pid)
    assert r.make("/", MS_REC | MS_PRIVATE, pid=pid) == 0


def root_id(r: Runner, pid=None) -> int:
    """get_unique_mnt_id("/"): the unique id of the caller's root mount."""
    return task(r, pid).fs.root.mnt.unique_id


def shared_nullfs_root(r: Runner) -> int:
    """Expose the nullfs root of the caller's namespace and make it shared; return an fd of
    a directory on the (now detached) old root. Model-only set-up: lazily unmount the two
    mounts stacked on the nullfs root and re-enter the namespace (mntns_install() lands on
    the topmost mount on the namespace root, LOOKUP_DOWN)."""
    assert r.call("mount", "proc", "/proc", "proc", 0, None) == 0
    nsfd = r.call("open", "/proc/self/ns/mnt", uapi.O_RDONLY)
    old = r.call("open", "/tmp", uapi.O_PATH)
    for _ in range(2):
        assert r.call("umount2", "/", uapi.MNT_DETACH) == 0
        assert r.call("setns", nsfd, uapi.CLONE_NEWNS) == 0
    assert is_nullfs(task(r).fs.root.mnt)
    assert r.make("/", MS_SHARED) == 0
    return old


def fsmount_tmpfs(r: Runner, flags: int, attr: int = 0, pid=None):
    fs_fd = r.call("fsopen", "tmpfs", uapi.FSOPEN_CLOEXEC, pid=pid)
    assert r.call("fsconfig", fs_fd, uapi.FSCONFIG_CMD_CREATE, None, None, 0, pid=pid) == 0
    return r.call("fsmount", fs_fd, flags, attr, pid=pid)
