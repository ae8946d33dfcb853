"""sysctl.py: /proc/sys/fs/mount-max read and written through a proc mount."""

from __future__ import annotations

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.trace.program import Program, Step

W = uapi.O_WRONLY


def session():
    s = ModelBackend().start(Program(start_dirs=["/p", "/a"]))
    s.execute(Step(1, "mount", ("proc", "/p", "proc", 0, None)))
    return s


def call(s, name, *args, label=None, pid=1):
    r = s.execute(Step(pid, name, args, label=label))
    return r.errno or r.ret


class TestRead:
    def test_reads_the_value(self, runner):
        """If /proc/sys/fs/mount-max is read, then it shows the limit and a newline:
        100000 on this host, fs/namespace.c's default (sysctl_mount_max = 100000)."""
        assert runner.call("mount", "proc", "/c", "proc", 0, None) == 0
        assert runner.call("openat", uapi.AT_FDCWD, "/c/sys/fs/mount-max", uapi.O_RDONLY,
                           label=5) == 5
        assert runner.call("read", 5, None, 100) == 7
        assert runner.s.execute(Step(1, "read", (5, None, 100))).ret == 0     # end of file


class TestWrite:
    def test_write_limits_new_mounts(self):
        """If mount-max is set to N, then a namespace can hold N mounts and the next mount is
        ENOSPC (count_mounts(); proc_dointvec_minmax() stores the value)."""
        s = session()
        assert call(s, "openat", uapi.AT_FDCWD, "/p/sys/fs/mount-max", W, label=7) == 7
        assert call(s, "write", 7, "4\n", 2) == 2
        assert call(s, "mount", "tmpfs", "/a", "tmpfs", 0, None) == 0     # "/", "/p", "/a"…
        assert call(s, "mount", "tmpfs", "/a", "tmpfs", 0, None) == "ENOSPC"

    def test_write_out_of_range(self):
        """If the value is below 1 or not a number, then EINVAL (extra1 = SYSCTL_ONE)."""
        s = session()
        assert call(s, "openat", uapi.AT_FDCWD, "/p/sys/fs/mount-max", W, label=7) == 7
        assert call(s, "write", 7, "0\n", 2) == "EINVAL"
        assert call(s, "write", 7, "lots", 4) == "EINVAL"

    def test_non_root_cannot_open_for_writing(self):
        """If a task whose kernel euid is not 0 opens it for writing, then EACCES (test_perm():
        mode 0644, only root gets the owner's write bit)."""
        s = session()
        assert call(s, "fork", label=2) == 2
        assert call(s, "setresuid", 1000, 1000, 1000, pid=2) == 0
        assert call(s, "openat", uapi.AT_FDCWD, "/p/sys/fs/mount-max", W, label=7, pid=2) == "EACCES"
