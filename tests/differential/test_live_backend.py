"""The live backend on the real kernel: isolation, processes, fds, errnos, cleanup.

Every expectation here is the kernel's documented behaviour (man pages named per test),
observed through the backend; none is taken from the model.
"""

from __future__ import annotations

import os
import time

import pytest

from mountsim import uapi
from mountsim.backends.live import MAX_DYING, POOL, LiveUnsupported, wait_for_dying
from mountsim.backends.model import ModelBackend
from mountsim.trace.normalise import normalise, tree_rows
from mountsim.trace.program import Program, Result, Step

pytestmark = pytest.mark.live
DIRS = ["/a", "/b", "/c"]
LSMT_ROOT = uapi.LSMT_ROOT


def run(s, name: str, *args, pid: int = 1, label: int | None = None) -> Result:
    return s.execute(Step(pid=pid, name=name, args=args, label=label))


def mounts(s, pid: int = 1) -> list[tuple[str, str, tuple[str, ...]]]:
    return tree_rows(s.mountinfo(pid))


@pytest.fixture
def sess(live):
    with live.start(Program(start_dirs=list(DIRS))) as s:
        yield s


def _gone(host_pid: int) -> bool:
    return not os.path.exists(f"/proc/{host_pid}")


def _state(host_pid: int) -> str:
    """The process's state letter (proc(5) /proc/<pid>/stat), "" if it is gone."""
    try:
        with open(f"/proc/{host_pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return ""


class TestStart:
    def test_one_tmpfs_at_root(self, sess):
        """If a session starts, then its table is one tmpfs at "/" whose parent is hidden
        (source: pivot_root(2), umount2(2) MNT_DETACH)."""
        lines = sess.mountinfo(1).splitlines()
        assert len(lines) == 1
        f = lines[0].split(" - ")[0].split()
        assert (f[3], f[4], f[6:]) == ("/", "/", [])
        assert lines[0].split(" - ")[1].split()[:2] == ["tmpfs", "tmpfs"]
        assert f[1] != f[0]

    def test_start_dirs_exist(self, sess):
        """If start_dirs are given, then they exist: mkdir says EEXIST (source: mkdir(2))."""
        assert run(sess, "mkdir", "/a", 0o755) == Result(-1, "EEXIST")
        assert run(sess, "mkdir", "/z", 0o755) == Result(0)

    def test_same_as_model_host(self, sess):
        """If both start from the default host, then the normalised tables are equal
        (source: the model's default host is one tmpfs on a hidden rootfs)."""
        model = ModelBackend().start(Program(start_dirs=list(DIRS)))
        assert normalise(sess.mountinfo(1)) == normalise(model.mountinfo(1))

    def test_start_mountinfo_unsupported(self, live):
        """If a program gives a start-mountinfo, then start raises LiveUnsupported."""
        prog = Program(start_mountinfo=["1 0 0:1 / / rw - tmpfs tmpfs rw"])
        with pytest.raises(LiveUnsupported):
            live.start(prog)

    def test_sandbox_holds_no_controller_fds(self, sess):
        """If the sandbox starts, then its first process has only stdio, its channel (a
        socket) and the sandbox's lifeline (the write end of a pipe, spawner.c)."""
        host_pid = sess.host_pids()[0]
        fds = sorted(int(n) for n in os.listdir(f"/proc/{host_pid}/fd"))
        assert fds[:3] == [0, 1, 2] and len(fds) == 5
        kinds = sorted(os.readlink(f"/proc/{host_pid}/fd/{fd}").split(":")[0] for fd in fds[3:])
        assert kinds == ["pipe", "socket"]
        pipe = next(fd for fd in fds[3:] if os.readlink(f"/proc/{host_pid}/fd/{fd}")
                    .startswith("pipe:"))
        with open(f"/proc/{host_pid}/fdinfo/{pipe}") as f:
            flags = int(next(ln for ln in f if ln.startswith("flags:")).split()[1], 8)
        assert flags & os.O_ACCMODE == os.O_WRONLY


class TestInit:
    """The sandbox's init (spawner.c): a small native process, isolated, that lives as
    long as the sandbox's processes do."""

    def test_init_is_pid_1_of_the_sandbox_and_not_python(self, sess):
        """If a sandbox starts, then its init is the spawner program (not an interpreter),
        pid 1 of the main process's pid namespace, whose main process is pid 2."""
        init, main = sess.init_pid, sess.host_pids()[0]
        assert os.path.basename(os.readlink(f"/proc/{init}/exe")).startswith("spawner-")
        with open(f"/proc/{init}/status") as f:
            nspid = next(ln for ln in f if ln.startswith("NSpid:")).split()
        assert nspid[-1] == "1"
        with open(f"/proc/{main}/status") as f:
            nspid = next(ln for ln in f if ln.startswith("NSpid:")).split()
        assert nspid[-1] == "2"
        assert os.readlink(f"/proc/{init}/ns/pid") == os.readlink(f"/proc/{main}/ns/pid")

    def test_init_sees_nothing_of_the_host(self, sess):
        """If a sandbox starts, then its init's root is an empty tmpfs in a mount namespace
        that is neither the host's nor the sandbox's (/proc/1/root from inside)."""
        init, main = sess.init_pid, sess.host_pids()[0]
        assert os.listdir(f"/proc/{init}/root") == []
        ns = {os.readlink(f"/proc/{p}/ns/mnt") for p in (init, main, os.getpid())}
        assert len(ns) == 3
        with open(f"/proc/{init}/mountinfo") as f:
            root = [ln.split() for ln in f if ln.split()[4] == "/"]
        assert root[-1][root[-1].index("-") + 1] == "tmpfs"

    def test_the_zygote_serves_from_its_native_loop(self, live):
        """If the backend has made a sandbox, then its zygote runs zygote.c's loop (the
        library is mapped in it; a Python loop wrote ~118 pages after each fork) under the
        seccomp filter, and keeps running after it forked (its main process is its child)."""
        with live.start(Program(start_dirs=list(DIRS))) as s:
            zpid = live.zygote().pid
            with open(f"/proc/{zpid}/maps") as f:
                mapped = {ln.split()[-1] for ln in f if len(ln.split()) > 5}
            assert any(os.path.basename(m).startswith("zygote-") for m in mapped)
            with open(f"/proc/{zpid}/task/{zpid}/children") as f:
                assert s.host_pids()[0] in {int(p) for p in f.read().split()}

    def test_init_exits_once_no_sandbox_process_is_left(self, live):
        """If every trace process has exited, then the init exits by itself (its lifeline
        has no writer left), before the session is closed."""
        s = live.start(Program(start_dirs=list(DIRS)))
        try:
            run(s, "fork", label=2)
            run(s, "exit", 0, pid=2)
            assert os.waitid(os.P_PID, s.init_pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
            run(s, "exit", 0, pid=1)
            deadline = time.monotonic() + 10
            while (os.waitid(os.P_PID, s.init_pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                   is None and time.monotonic() < deadline):
                time.sleep(0.01)
            assert os.waitid(os.P_PID, s.init_pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        finally:
            s.close()


def test_without_gcc_the_live_backend_says_why(tmp_path, monkeypatch, live):
    """If the spawner was never built here and gcc is missing, then a new live backend is
    unavailable with one line naming gcc (no traceback, nothing started)."""
    from mountsim import native
    from mountsim.backends.live import LiveBackend
    monkeypatch.setenv("MOUNTSIM_CACHE", str(tmp_path))       # no spawner built yet
    monkeypatch.setattr(native, "find_gcc", lambda: None)
    why = LiveBackend().unavailable()
    assert why is not None and "gcc not found" in why and "spawner.c" in why
    assert "\n" not in why


def test_a_spawner_that_cannot_run_is_one_line(monkeypatch, live):
    """If the built spawner cannot be executed (its cache on a noexec mount: access(2)
    X_OK is EACCES there), then a new live backend is unavailable with one line saying
    where and what to set."""
    from mountsim.backends import live as live_mod
    real = os.access
    monkeypatch.setattr(live_mod.os, "access",
                        lambda p, m: False if "spawner-" in str(p) else real(p, m))
    why = live_mod.LiveBackend().unavailable()
    assert why is not None and "noexec" in why and "MOUNTSIM_CACHE" in why
    assert "\n" not in why


class TestIsolation:
    def test_mount_visible_inside_not_outside(self, sess, host_mountinfo_unchanged):
        """If the sandbox mounts, then its table shows it and the host's does not
        (source: mount_namespaces(7); everything was made MS_REC|MS_PRIVATE first)."""
        assert run(sess, "mount", "none", "/a", "tmpfs", 0, None) == Result(0)
        assert [r[0] for r in mounts(sess)] == ["/", "/a"]
        with open("/proc/self/mountinfo") as f:
            assert f.read() == host_mountinfo_unchanged

    def test_shared_mount_stays_inside(self, sess, host_mountinfo_unchanged):
        """If the sandbox makes its root shared and binds it, then the host is unchanged
        (source: sharedsubtree.rst — a private mount receives no propagation)."""
        assert run(sess, "mount", None, "/", None, uapi.MS_SHARED, None) == Result(0)
        assert run(sess, "mount", "/", "/b", None, uapi.MS_BIND | uapi.MS_REC, None) == Result(0)
        assert mounts(sess) == [("/", "tmpfs", ("shared:1",)), ("/b", "tmpfs", ("shared:1",))]
        with open("/proc/self/mountinfo") as f:
            assert f.read() == host_mountinfo_unchanged


class TestProcesses:
    def test_fork_unshare_diverges(self, sess):
        """If a forked child unshares its mount namespace, then later mounts stay on their
        side (source: unshare(2) CLONE_NEWNS; everything is private)."""
        assert run(sess, "fork", label=7) == Result(7)
        assert sorted(sess.pids()) == [1, 7]
        assert run(sess, "unshare", uapi.CLONE_NEWNS, pid=7) == Result(0)
        assert run(sess, "mount", "none", "/a", "tmpfs", 0, None, pid=7) == Result(0)
        assert run(sess, "mount", "none", "/b", "tmpfs", 0, None, pid=1) == Result(0)
        assert [r[0] for r in mounts(sess, 7)] == ["/", "/a"]
        assert [r[0] for r in mounts(sess, 1)] == ["/", "/b"]

    def test_fork_without_label_allocates(self, sess):
        """If fork has no label, then the child gets the next free trace pid."""
        assert run(sess, "fork") == Result(2)
        assert 2 in sess.pids()

    def test_clone3_newns(self, sess):
        """If clone3 gets CLONE_NEWNS, then the child starts in a copy (source: clone(2))."""
        cl = {"flags": uapi.CLONE_NEWNS, "exit_signal": uapi.SIGCHLD}
        assert run(sess, "clone3", cl, 88, label=3) == Result(3)
        assert run(sess, "mount", "none", "/c", "tmpfs", 0, None, pid=3) == Result(0)
        assert [r[0] for r in mounts(sess, 1)] == ["/"]
        assert [r[0] for r in mounts(sess, 3)] == ["/", "/c"]

    def test_clone_flags_newns(self, sess):
        """If clone gets CLONE_NEWNS|SIGCHLD, then the child has its own namespace."""
        assert run(sess, "clone", uapi.CLONE_NEWNS | uapi.SIGCHLD, label=4) == Result(4)
        assert run(sess, "mount", "none", "/c", "tmpfs", 0, None, pid=4) == Result(0)
        assert [r[0] for r in mounts(sess, 1)] == ["/"]

    def test_clone_vm_refused(self, sess):
        """If clone shares memory, then the live backend refuses it with ENOSYS and a note."""
        assert run(sess, "clone", uapi.CLONE_VM | uapi.SIGCHLD, label=4) == Result(-1, "ENOSYS")
        assert sess.notes and 4 not in sess.pids()

    def test_exit(self, sess):
        """If a process exits, then it leaves pids() and its process is gone from the host
        (source: _exit(2); the zombie is reaped at close)."""
        run(sess, "fork", label=5)
        assert run(sess, "exit_group", 0, pid=5) == Result(0)
        assert sorted(sess.pids()) == [1]

    def test_setresuid_drops_caps(self, sess):
        """If a process drops to uid 1000, then mount fails EPERM (source: capabilities(7):
        all-nonzero uids clear the permitted and effective sets)."""
        assert run(sess, "fork", label=6) == Result(6)
        assert run(sess, "setresuid", 1000, 1000, 1000, pid=6) == Result(0)
        assert run(sess, "mount", "none", "/a", "tmpfs", 0, None, pid=6) == Result(-1, "EPERM")
        assert run(sess, "mount", "none", "/a", "tmpfs", 0, None, pid=1) == Result(0)


class TestFds:
    def test_open_tree_clone_move_mount(self, sess):
        """If open_tree(OPEN_TREE_CLONE) makes fd 3, then move_mount(3, "") attaches the copy
        (source: open_tree(2), move_mount(2) MOVE_MOUNT_F_EMPTY_PATH)."""
        assert run(sess, "mount", "none", "/a", "tmpfs", 0, None) == Result(0)
        flags = uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_CLOEXEC
        assert run(sess, "open_tree", uapi.AT_FDCWD, "/a", flags, label=3) == Result(3)
        assert sess.has_fd(1, 3)
        res = run(sess, "move_mount", 3, "", uapi.AT_FDCWD, "/b", uapi.MOVE_MOUNT_F_EMPTY_PATH)
        assert res == Result(0)
        rows = mounts(sess)
        assert [r[0] for r in rows] == ["/", "/a", "/b"]
        assert run(sess, "close", 3) == Result(0)
        assert not sess.has_fd(1, 3)

    def test_fork_copies_fd_map(self, sess):
        """If a process forks, then the child has the parent's fds (source: fork(2))."""
        assert run(sess, "openat", uapi.AT_FDCWD, "/a", uapi.O_PATH, label=9) == Result(9)
        run(sess, "fork", label=2)
        assert run(sess, "fchdir", 9, pid=2) == Result(0)

    def test_unknown_fd_is_ebadf(self, sess):
        """If a trace fd was never opened, then the kernel answers EBADF (source: close(2))."""
        assert run(sess, "close", 0) == Result(-1, "EBADF")
        assert run(sess, "fchdir", 12) == Result(-1, "EBADF")


class TestErrors:
    def test_umount_non_mountpoint(self, sess):
        """If the target is not a mount point, then umount2 fails EINVAL (source: umount(2))."""
        assert run(sess, "umount2", "/a", 0) == Result(-1, "EINVAL")

    def test_mount_missing_path(self, sess):
        """If the target does not exist, then mount fails ENOENT (source: mount(2))."""
        assert run(sess, "mount", "none", "/nope", "tmpfs", 0, None) == Result(-1, "ENOENT")

    def test_unknown_syscall(self, sess):
        """If a step names no known syscall, then the result is ENOSYS with a note."""
        assert run(sess, "frobnicate") == Result(-1, "ENOSYS")
        assert sess.notes


class TestStat:
    def test_listmount_statmount(self, sess):
        """If listmount lists the root's subtree, then statmount of each id decodes
        (source: listmount(2), statmount(2); STATMOUNT_MNT_POINT, STATMOUNT_FS_TYPE)."""
        run(sess, "mount", "none", "/a", "tmpfs", 0, "size=1m")
        req = {"size": uapi.MNT_ID_REQ_SIZE_VER0, "mnt_id": LSMT_ROOT, "param": 0}
        ids = run(sess, "listmount", req, None, 16, 0)
        assert ids.ret == 2 and len(ids.out) == 2
        mask = uapi.STATMOUNT_MNT_POINT | uapi.STATMOUNT_FS_TYPE | uapi.STATMOUNT_MNT_BASIC
        got = []
        for mnt_id in ids.out:
            req = {"size": uapi.MNT_ID_REQ_SIZE_VER0, "mnt_id": mnt_id, "param": mask}
            res = run(sess, "statmount", req, None, 4096, 0)
            assert res.ret == 0 and res.out["mnt_id"] == mnt_id
            got.append((res.out["mnt_point"], res.out["fs_type"]))
        assert got == [("/", "tmpfs"), ("/a", "tmpfs")]

    def test_statmount_bad_id(self, sess):
        """If the id is an old-style one (<= MNT_UNIQUE_ID_OFFSET, 2^31), then EINVAL; if
        it is unused, then ENOENT (source: fs/namespace.c copy_mnt_id_req(), statmount(2))."""
        req = {"size": uapi.MNT_ID_REQ_SIZE_VER0, "mnt_id": 1, "param": 0}
        assert run(sess, "statmount", req, None, 4096, 0).errno == "EINVAL"
        req = {**req, "mnt_id": (1 << 40) + 1}
        assert run(sess, "statmount", req, None, 4096, 0).errno == "ENOENT"


class TestCleanup:
    def test_close_leaves_no_processes(self, live):
        """If a session with several processes closes, then every one of them dies without
        the controller waiting in close(): the trace's processes go by themselves, the
        init (the controller's child) is left a zombie until reaped later, and
        wait_for_dying() reaps it."""
        s = live.start(Program(start_dirs=list(DIRS)))
        run(s, "fork", label=2)
        run(s, "fork", pid=2, label=3)
        run(s, "exit", 0, pid=2)                   # 3 is orphaned: reparented to the sandbox init
        host, init = s.host_pids(), s.init_pid
        s.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (all(_gone(p) for p in host)
                                                   and _state(init) == "Z"):
            time.sleep(0.01)
        assert all(_gone(p) for p in host)
        assert _state(init) == "Z"
        wait_for_dying()
        assert _gone(init)
        s.close()                                  # idempotent

    def test_hundred_sessions_leak_nothing(self, live):
        """If 100 sessions start and close, then no fd or process is left behind."""
        live.start(Program()).close()              # the zygote exists from here on
        fds_before = set(os.listdir("/proc/self/fd"))
        zpid = live.zygote().pid
        seen: list[int] = []
        inits: list[int] = []
        for _ in range(100):
            with live.start(Program(start_dirs=["/a"])) as s:
                run(s, "fork", label=2)
                run(s, "open_tree", uapi.AT_FDCWD, "/a", uapi.OPEN_TREE_CLONE, label=3)
                seen.extend(s.host_pids())
                inits.append(s.init_pid)
            assert len([p for p in inits if not _gone(p)]) <= MAX_DYING
        assert set(os.listdir("/proc/self/fd")) == fds_before
        wait_for_dying()
        assert all(_gone(p) for p in seen + inits)
        # the zygote's children are the main processes of the sandboxes set up ahead
        with open(f"/proc/{zpid}/task/{zpid}/children") as f:
            kids = {int(p) for p in f.read().split()}
        assert len(kids) <= POOL and not kids & set(seen)

    def test_error_midway_still_cleans_up(self, live):
        """If the body raises, then the context manager still ends every process."""
        with pytest.raises(KeyError):
            with live.start(Program()) as s:
                run(s, "fork", label=2)
                host = s.host_pids()
                run(s, "mount", "none", "/", "tmpfs", 0, None, pid=99)
        wait_for_dying()
        assert all(_gone(p) for p in host)
