"""The recording sandbox: a real command under strace, with every process's final table.

Model-only (it drives the real kernel and strace; no kernel function is mirrored).
Used by `mountsim record` (commands/record.py); trace/record.py turns its output into a trace.

Isolation (the hard requirement: the host's mount table never changes). The recorder
forks a *sandbox* process S that does, in this order: unshare(CLONE_NEWNS);
mount(NULL, "/", NULL, MS_REC|MS_PRIVATE) — from here on no mount event can propagate to
the host's peer groups (sharedsubtree.rst: a private mount neither forwards nor receives
propagation); a fresh tmpfs on /tmp that becomes the new root; read-only bind mounts of
/usr and /etc (and of /bin, /sbin, /lib* where they are directories; on merged-/usr
systems they are symlinks, made as the same symlinks); pivot_root into the tmpfs;
umount2(put_old, MNT_DETACH); proc on /proc; a few character devices (/dev/null, …) made
with mknod on the tmpfs, so no mount is needed for them; empty /tmp /mnt /srv /home /root
/run /var /opt. The recorder compares the host's /proc/self/mountinfo before and after.

Tracing. S forks T, which installs a seccomp filter (below), reads /proc/self/mountinfo —
the table the command starts from, written as `# start-mountinfo:` lines so the model
starts from exactly that table — and execs `strace -f -s 4096 -e signal=none
--decode-pids=pidns` on the command (strace's default, symbolic output; the command is
found in the standard system PATH). strace writes to an unlinked temporary file of the
recorder's, opened as /proc/S/fd/N, so the command sees no extra fd and no file of ours.

The final table. A process's /proc/<pid>/mountinfo is gone once it has exited, so the
table is read while the process sits in its exit: T's seccomp filter answers exit_group(2)
and exit(2) on x86_64 with SECCOMP_RET_USER_NOTIF, and S holds the listener fd (sent over
SCM_RIGHTS). The kernel runs seccomp after the ptrace syscall-entry stop
(syscall_trace_enter() in kernel/entry/common.c), so strace has already printed the call;
the process then blocks until S has read its /proc/<pid>/mountinfo and answered
SECCOMP_USER_NOTIF_FLAG_CONTINUE, and exits normally. Every traced process is
snapshotted this way: event-driven, no polling, no delays, no wrapper binary.

Known limits: x86_64 only. A process killed by a signal has no snapshot.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import pickle
import select
import signal
import socket
import stat
import struct
import sys
import tempfile
import time
from typing import Any

import attrs

from .. import uapi

SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc")
EMPTY_DIRS = ("tmp", "mnt", "srv", "home", "root", "run", "var", "opt")
DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
           ("urandom", 1, 9), ("tty", 5, 0))
NEW_ROOT = "/tmp"                       # where the sandbox's tmpfs is mounted before pivot_root
PUT_OLD = ".mountsim-old-root"

NR_EXIT, NR_EXIT_GROUP = 60, 231      # x86_64: what the seccomp filter pauses


class RecordError(Exception):
    """Recording cannot run or failed; one line for the user, exit 2."""


def visible(path: str, binds: list[str]) -> bool:
    """Whether the host *path* is reachable inside the sandbox (same path, same file)."""
    real = os.path.realpath(path)
    tops = ["/" + d for d in SYSTEM_DIRS] + binds
    return any(real == t or real.startswith(t.rstrip("/") + "/") for t in
               (os.path.realpath(t) for t in tops if os.path.lexists(t)))


# -- the sandbox (runs in the forked process S) ------------------------------------------

@attrs.define
class Run:
    """What the sandbox brought back."""

    start_table: str
    snapshots: dict[int, str]           # pid -> /proc/<pid>/mountinfo read at its exit
    strace_text: str
    status: int                         # strace's exit code (the command's, or -signal)
    strace_pid: int = 0
    timed_out: bool = False


def _sys():
    from ..backends import _sys as s
    return s


def _must(res: tuple[int, int], what: str) -> None:
    if res[0] == -1:
        raise OSError(res[1], f"{what}: {os.strerror(res[1])}")


def _setup_sandbox(binds: list[str], dirs: list[str]) -> None:
    """Enter a private mount namespace and pivot_root into a fresh, populated tmpfs."""
    s = _sys()
    _must(s.call("unshare", uapi.CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _must(s.call("mount", None, "/", None, uapi.MS_REC | uapi.MS_PRIVATE, None),
          "make / rprivate")
    # What to bind, opened before the tmpfs hides anything (a --bind under /tmp, say).
    sources: list[tuple[str, int]] = []
    links: list[tuple[str, str]] = []
    for name in SYSTEM_DIRS:
        host = "/" + name
        if os.path.islink(host):
            links.append((name, os.readlink(host)))
        elif os.path.isdir(host):
            sources.append((host, os.open(host, os.O_PATH | os.O_CLOEXEC)))
    for host in binds:
        if not visible(host, []):
            sources.append((host, os.open(host, os.O_PATH | os.O_CLOEXEC)))
    _must(s.call("mount", "tmpfs", NEW_ROOT, "tmpfs", 0, "mode=0755"), "mount the sandbox tmpfs")
    new = NEW_ROOT
    for name, target in links:
        os.symlink(target, f"{new}/{name}")
    for host, fd in sources:
        _bind_ro(f"/proc/self/fd/{fd}", new + host, directory=os.path.isdir(f"/proc/self/fd/{fd}"),
                 what=host)
        os.close(fd)
    for name in EMPTY_DIRS:
        os.makedirs(f"{new}/{name}", 0o755, exist_ok=True)
    os.chmod(f"{new}/tmp", 0o1777)
    os.mkdir(f"{new}/dev", 0o755)
    for dev, major, minor in DEVICES:
        try:
            os.mknod(f"{new}/dev/{dev}", 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        except OSError:
            pass
    os.mkdir(f"{new}/proc", 0o555)
    os.mkdir(f"{new}/{PUT_OLD}", 0o700)
    _must(s.call("pivot_root", new, f"{new}/{PUT_OLD}"), "pivot_root")
    os.chdir("/")
    _must(s.call("umount2", "/" + PUT_OLD, uapi.MNT_DETACH), "detach the old root")
    os.rmdir("/" + PUT_OLD)
    _must(s.call("mount", "proc", "/proc", "proc",
                 uapi.MS_NOSUID | uapi.MS_NODEV | uapi.MS_NOEXEC, None), "mount proc")
    for d in dirs:
        os.makedirs(d, 0o755, exist_ok=True)


def _bind_ro(src: str, dst: str, directory: bool, what: str) -> None:
    s = _sys()
    if directory:
        os.makedirs(dst, 0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), 0o755, exist_ok=True)
        open(dst, "a").close()
    _must(s.call("mount", src, dst, None, uapi.MS_BIND, None), f"bind {what}")
    _must(s.call("mount", None, dst, None, uapi.MS_REMOUNT | uapi.MS_BIND | uapi.MS_RDONLY,
                 None), f"make {what} read-only")


# seccomp: notify S at exit_group/exit on x86_64, allow everything else.
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
_NR_SECCOMP = 317
_RET_ALLOW, _RET_USER_NOTIF = 0x7FFF0000, 0x7FC00000
_AUDIT_ARCH_X86_64 = 0xC000003E
_LD_ABS, _JEQ_K, _RET_K = 0x20, 0x15, 0x06
_FILTER = ((_LD_ABS, 0, 0, 4),                       # A = seccomp_data.arch
           (_JEQ_K, 0, 3, _AUDIT_ARCH_X86_64),       # other arch -> allow
           (_LD_ABS, 0, 0, 0),                       # A = seccomp_data.nr
           (_JEQ_K, 2, 0, NR_EXIT_GROUP),            # -> notify
           (_JEQ_K, 1, 0, NR_EXIT),                  # -> notify
           (_RET_K, 0, 0, _RET_ALLOW),
           (_RET_K, 0, 0, _RET_USER_NOTIF))
_NOTIF_SIZE, _RESP_SIZE = 80, 24                     # struct seccomp_notif, seccomp_notif_resp
_IOCTL_NOTIF_RECV = 0xC0000000 | _NOTIF_SIZE << 16 | 0x21 << 8 | 0
_IOCTL_NOTIF_SEND = 0xC0000000 | _RESP_SIZE << 16 | 0x21 << 8 | 1
_USER_NOTIF_FLAG_CONTINUE = 1


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _install_exit_listener() -> int:
    """Install the exit filter on the calling process; returns the listener fd."""
    s = _sys()
    raw = b"".join(struct.pack("<HBBI", *ins) for ins in _FILTER)
    buf = ctypes.create_string_buffer(raw, len(raw))
    prog = _SockFprog(len(_FILTER), ctypes.cast(buf, ctypes.c_void_p))
    ctypes.set_errno(0)
    fd = s.libc.syscall(ctypes.c_long(_NR_SECCOMP), ctypes.c_long(_SECCOMP_SET_MODE_FILTER),
                        ctypes.c_long(_SECCOMP_FILTER_FLAG_NEW_LISTENER), ctypes.byref(prog))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp listener: {os.strerror(err)}")
    return fd


def _tracee_main(sock: socket.socket, argv: list[str], env: dict[str, str],
                 quiet_stdout: bool) -> None:
    """T: install the filter, hand its listener to S, report the start table, exec strace.
    With *quiet_stdout* the command's stdout goes to stderr (the trace is on stdout)."""
    listener = -1
    try:
        if quiet_stdout:
            os.dup2(2, 1)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setpgid(0, 0)
        listener = _install_exit_listener()
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            table = f.read()
        data = pickle.dumps(table)
        socket.send_fds(sock, [struct.pack("<I", len(data)) + data], [listener])
        os.close(listener)
        listener = -1
        sock.close()
        os.execve(argv[0], argv, env)
    except BaseException as e:     # noqa: BLE001 - report and die; never return into S's code
        if listener >= 0:          # else our own exit would wait for our own answer
            os.close(listener)
        try:
            sys.stderr.write(f"mountsim record: cannot start strace: {e}\n")
        finally:
            os._exit(127)


def _recv_start(sock: socket.socket) -> tuple[str, int]:
    msg, fds, _, _ = socket.recv_fds(sock, 1 << 20, 1)
    if len(msg) < 4 or not fds:
        raise OSError("strace's launcher died before it started")
    n = struct.unpack("<I", msg[:4])[0]
    data = msg[4:]
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("strace's launcher died while reporting the start table")
        data += chunk
    return pickle.loads(data), fds[0]


def _serve_exits(listener: int, procfd: int, snapshots: dict[int, str]) -> bool:
    """Answer one exit notification (after reading the exiting process's table).

    Returns False when the listener has no more processes behind it."""
    buf = bytearray(_NOTIF_SIZE)
    try:
        fcntl.ioctl(listener, _IOCTL_NOTIF_RECV, buf, True)
    except OSError:                     # ENOENT: the process died (SIGKILL) meanwhile
        return True
    nid, pid = struct.unpack_from("<QI", buf, 0)
    try:
        fd = os.open(f"{pid}/mountinfo", os.O_RDONLY | os.O_CLOEXEC, dir_fd=procfd)
        try:
            chunks = []
            while True:
                b = os.read(fd, 1 << 16)
                if not b:
                    break
                chunks.append(b)
        finally:
            os.close(fd)
        snapshots[pid] = b"".join(chunks).decode("utf-8", "surrogateescape")
    except OSError:
        pass
    resp = bytearray(struct.pack("<QqiI", nid, 0, 0, _USER_NOTIF_FLAG_CONTINUE))
    try:
        fcntl.ioctl(listener, _IOCTL_NOTIF_SEND, resp, True)
    except OSError:
        pass
    return True


def _sandbox_main(result_w: int, out_fd: int, argv: list[str], env: dict[str, str],
                  binds: list[str], dirs: list[str], timeout: float, quiet_stdout: bool) -> None:
    """S: set up the sandbox, run strace in it, serve exit notifications, report. Never returns."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    try:
        _sys().libc.prctl(36, 1, 0, 0, 0)          # PR_SET_CHILD_SUBREAPER: reap orphans here
        _setup_sandbox(binds, dirs)
        procfd = os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        argv = [argv[0], "-o", f"/proc/{os.getpid()}/fd/{out_fd}"] + argv[1:]
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            mine.close()
            _tracee_main(theirs, argv, env, quiet_stdout)
        theirs.close()
        start_table, listener = _recv_start(mine)
        mine.close()
        snapshots: dict[int, str] = {}
        status, timed_out = _supervise(pid, listener, procfd, snapshots, timeout, stop)
        os.close(listener)
        os.lseek(out_fd, 0, os.SEEK_SET)
        reply: Any = ("ok", start_table, snapshots, status, pid, timed_out)
    except BaseException as e:              # noqa: BLE001 - everything goes back as one line
        reply = ("failed", f"{type(e).__name__}: {e}" if not isinstance(e, OSError) else str(e))
    try:
        data = pickle.dumps(reply)
        view = memoryview(data)
        while view:
            n = os.write(result_w, view)
            view = view[n:]
    finally:
        os._exit(0)


def _supervise(pid: int, listener: int, procfd: int, snapshots: dict[int, str],
               timeout: float, stop: list) -> tuple[int, bool]:
    """Serve exit notifications until strace (pid) is reaped; kill it after *timeout*."""
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    deadline = time.monotonic() + timeout
    status, timed_out, killed = None, False, False
    listening = True
    while True:
        left = deadline - time.monotonic()
        if (left <= 0 or stop) and not killed:
            timed_out = not stop
            _kill_group(pid)
            killed, deadline = True, time.monotonic() + 5
            continue
        if left <= 0 and killed:
            break
        for fd, ev in poller.poll(max(1, int(min(left, 0.5) * 1000))):
            if fd == listener:
                if ev & select.POLLIN:
                    _serve_exits(listener, procfd, snapshots)
                elif ev & (select.POLLHUP | select.POLLERR) and listening:
                    poller.unregister(listener)
                    listening = False
        while True:                         # reap strace and any orphan handed to us
            try:
                r, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                r = 0
            if r == 0:
                break
            if r == pid:
                status = os.waitstatus_to_exitcode(st)
        if status is not None:
            break
    os.close(pidfd)
    if status is None:
        status = -signal.SIGKILL
    # Let late orphans (if any) be reaped rather than left as zombies on the host.
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        try:
            r, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if r == 0:
            time.sleep(0.01)
    return status, timed_out


def _kill_group(pid: int) -> None:
    for target in (-pid, pid):
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_sandbox(strace: str, exe: str, command: list[str], binds: list[str],
                 dirs: list[str], timeout: float, quiet_stdout: bool = False) -> Run:
    """Fork S, wait for its report; RecordError if the sandbox failed."""
    env = dict(os.environ)
    env["PATH"] = SANDBOX_PATH
    argv = [strace, "-f", "-s", "4096", "-e", "signal=none", "--decode-pids=pidns", "--",
            exe] + command[1:]
    out = tempfile.TemporaryFile(mode="w+b")
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _sandbox_main(w, out.fileno(), argv, env, binds, dirs, timeout, quiet_stdout)
    os.close(w)
    chunks = []
    try:
        while True:
            b = os.read(r, 1 << 16)
            if not b:
                break
            chunks.append(b)
    except KeyboardInterrupt:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(r)
    os.waitpid(pid, 0)
    try:
        reply = pickle.loads(b"".join(chunks))
    except Exception:
        raise RecordError("the sandbox process died without a report")
    if reply[0] != "ok":
        raise RecordError(f"sandbox: {reply[1]}")
    _, start_table, snapshots, status, strace_pid, timed_out = reply
    out.seek(0)
    text = out.read().decode("utf-8", "surrogateescape")
    out.close()
    return Run(start_table, snapshots, text, status, strace_pid, timed_out)


