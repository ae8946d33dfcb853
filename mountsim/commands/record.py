"""`mountsim record -- COMMAND…`: run a real command under strace in a sandbox and write
its mount-relevant syscalls as a trace that `mountsim replay` checks the model against.

Model-only (it drives the real kernel and strace; no kernel function is mirrored).

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

Which snapshot becomes the `expect-tree`: that of P, the process of the last kept line
that is not an exit. replay compares the expect-tree with the table of the process that
issued the last line, so the trace ends with P's last line: P's exit and every kept line
after it (exits of other processes and added closes only, by the choice of P) are left
out. Between P's last line and its exit no other kept call happened, so the snapshot is
the kernel's table at the end of the replay — except that exits of other processes in
that window are not replayed. Those could only matter if such a process held the last
reference to a namespace whose mounts are masters of P's (the kernel then hands P's
slaves to another master or makes them private); the recordings in models/ never do.
The `locked` column is omitted: mountinfo does not show MNT_LOCKED.

The start namespace. In the kernel, strace and S stay in the start namespace for the
whole run and keep it alive. In the model a namespace dies with its last task, which
would drop the start namespace's mounts from their peer groups as soon as every traced
process has left it (`unshare -m …`). So the trace's main pid is strace's pid, and its
first line is `[pid STRACE] fork() = FIRST`, marked as added: strace did fork the command,
and it stands in the model for the processes that hold the namespace.

Which lines are kept: the calls the model knows (trace/program.py SYSCALLS), except that
open/openat are kept only when (a) their fd is later used by a kept call (transitively),
(b) they open a /proc/*/ns/* file, (c) they succeed with O_CREAT (the file may become a
mount point: bwrap bind-mounts /dev/null on a file it created), or (d) they are O_PATH or
O_DIRECTORY opens whose fd stays open across a mount-relevant call of the same process
(it pins a mount; the opendir() of fd-closing loops is dropped). close is kept only for an
fd whose open was kept. fd tables are followed per process through fork/clone
(CLONE_FILES shares one), dup2/dup3, fcntl, close_range and execve; where the kernel
closed a kept fd without a close call (close-on-exec at execve, dup2 over it,
close_range) a `close(N) = 0` line is added after a `#` comment saying why. execve is
dropped. creat(p, m) is written as the equivalent open(p, O_WRONLY|O_CREAT|O_TRUNC, m)
below a comment with strace's line (the model has no creat). strace 6.1 does not know
statmount/listmount and prints `syscall_0x1c9(0x7f…, …)` with raw pointers; such calls are
named (x86_64 numbers) in a `#` comment but not replayed, as their arguments are not in
the trace. Split calls (`<unfinished ...>` + `<... resumed>`) are joined and placed where
they started, so a clone comes before its child's first line. strace runs with
`--decode-pids=pidns`: a clone made inside a child pid namespace returns that namespace's
pid, and the line is rewritten to strace's pid (the one the child's lines carry), with
the other in a comment. Every line gets a `[pid N]` prefix with strace's pids.

Known limits: x86_64 only. A process killed by a signal has no snapshot; if it is P, the
trace is written without an expect-tree (the summary says so). Calls of concurrent
processes are in strace's order, not necessarily the kernel's.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import os
import pickle
import re
import select
import shlex
import shutil
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
from ..errors import TraceError
from ..trace.parse import parse_text
from ..trace.program import RETURNS_FD, RETURNS_PID, SYSCALLS, Step

SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc")
EMPTY_DIRS = ("tmp", "mnt", "srv", "home", "root", "run", "var", "opt")
DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
           ("urandom", 1, 9), ("tty", 5, 0))
NEW_ROOT = "/tmp"                       # where the sandbox's tmpfs is mounted before pivot_root
PUT_OLD = ".mountsim-old-root"

# x86_64 numbers of the syscalls strace 6.1 may print as syscall_0xNNN
# (arch/x86/entry/syscalls/syscall_64.tbl).
NEW_SYSCALLS = {428: "open_tree", 429: "move_mount", 430: "fsopen", 431: "fsconfig",
                432: "fsmount", 433: "fspick", 442: "mount_setattr", 457: "statmount",
                458: "listmount"}
NR_EXIT, NR_EXIT_GROUP = 60, 231
EXITS = ("exit", "exit_group")


class RecordError(Exception):
    """Recording cannot run or failed; one line for the user, exit 2."""


# -- arguments -------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.usage = "mountsim record [options] -- COMMAND [ARG…]"
    p.epilog = ("Needs root and strace. The command runs in a throwaway mount namespace on a "
                "fresh tmpfs root (read-only /usr and /etc, proc on /proc); the host's mount "
                "table is never changed. The command starts in the sandbox's /, with the "
                "system PATH; without -o its standard output goes to standard error. "
                "Example: mountsim record -o x.trace -- unshare -m --propagation slave "
                "mount --make-rshared /")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the trace to FILE (default: standard output)")
    p.add_argument("--dir", action="append", default=[], metavar="PATH",
                   help="create the empty directory PATH (and its parents) in the sandbox's "
                   "root tmpfs before the command starts (repeatable)")
    p.add_argument("--bind", action="append", default=[], metavar="PATH",
                   help="also make the host's PATH visible in the sandbox, bind mounted "
                   "read-only at the same path (repeatable)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="kill the command after this many seconds (default: %(default)s)")
    p.add_argument("--raw", metavar="FILE",
                   help="also save strace's complete, unfiltered output to FILE")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND",
                   help="the command to record and its arguments (after --)")


def main(args: argparse.Namespace) -> int:
    command = list(args.argv)
    if command[:1] == ["--"]:
        command = command[1:]
    try:
        return _record(args, command)
    except RecordError as e:
        print(f"mountsim record: {e}", file=sys.stderr)
        return 2


def _record(args: argparse.Namespace, command: list[str]) -> int:
    if not command:
        raise RecordError("no command given (usage: mountsim record [options] -- COMMAND [ARG…])")
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        raise RecordError("recording needs Linux on x86_64")
    if os.geteuid() != 0:
        raise RecordError("must run as root (the sandbox needs a private mount namespace)")
    strace = shutil.which("strace", path=SANDBOX_PATH)
    if strace is None:
        raise RecordError("strace not found (install it: apt-get install strace)")
    binds = _bind_list(args.bind)
    exe = _resolve(command[0], binds)
    if args.timeout <= 0:
        raise RecordError("--timeout must be positive")
    for d in args.dir:
        if not d.startswith("/") or ".." in d.split("/"):
            raise RecordError(f"--dir needs an absolute path without '..': {d!r}")
    for path in (args.output, args.raw):
        if path and not _writable(path):
            raise RecordError(f"cannot write {path}")
    out = None
    try:
        before = _host_table()
        run = _run_sandbox(strace, exe, command, binds, args.dir, args.timeout,
                           quiet_stdout=not args.output)
        after = _host_table()
        if before != after:
            print("mountsim record: BUG: the host's mount table changed while recording",
                  file=sys.stderr)
            return 3
        if args.raw:
            try:
                with open(args.raw, "w", encoding="utf-8", errors="surrogateescape") as f:
                    f.write(run.strace_text)
            except OSError as e:
                raise RecordError(f"cannot write {args.raw}: {e.strerror}")
        rec = build(run.strace_text, run.snapshots)
        text = render(rec, run.start_table, command, run.strace_pid)
        if args.output:
            try:
                out = open(args.output, "w", encoding="utf-8", errors="surrogateescape")
            except OSError as e:
                raise RecordError(f"cannot write {args.output}: {e.strerror}")
        (out or sys.stdout).write(text)
        (out or sys.stdout).flush()
    finally:
        if out is not None:
            out.close()
    where = args.output or "standard output"
    problem = _check_parses(text, where)
    print(f"mountsim record: {where}: {summary(rec, run)}", file=sys.stderr)
    if problem:
        print(f"mountsim record: BUG: the trace does not parse: {problem}", file=sys.stderr)
        return 3
    return 0


def _writable(path: str) -> bool:
    if os.path.isdir(path):
        return False
    if os.path.exists(path):
        return os.access(path, os.W_OK)
    return os.access(os.path.dirname(os.path.abspath(path)), os.W_OK)


def _bind_list(extra: list[str]) -> list[str]:
    out = []
    for p in extra:
        if not p.startswith("/"):
            raise RecordError(f"--bind needs an absolute path: {p!r}")
        p = os.path.normpath(p)
        if p == "/" or not os.path.lexists(p):
            raise RecordError(f"--bind: no such path on the host: {p}")
        out.append(p)
    return out


def _visible(path: str, binds: list[str]) -> bool:
    """Whether the host *path* is reachable inside the sandbox (same path, same file)."""
    real = os.path.realpath(path)
    tops = ["/" + d for d in SYSTEM_DIRS] + binds
    return any(real == t or real.startswith(t.rstrip("/") + "/") for t in
               (os.path.realpath(t) for t in tops if os.path.lexists(t)))


def _resolve(name: str, binds: list[str]) -> str:
    """The command's path as the sandbox will find it; RecordError if it cannot."""
    if "/" in name:
        exe = name if os.path.isabs(name) else os.path.abspath(name)
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            raise RecordError(f"command not found: {name}")
    else:
        exe = shutil.which(name, path=SANDBOX_PATH)
        if exe is None:
            raise RecordError(f"command not found: {name} (searched {SANDBOX_PATH})")
    if not _visible(exe, binds):
        raise RecordError(f"{exe} is not visible in the sandbox (add --bind DIR)")
    return exe


def _host_table() -> str:
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        return f.read()


def _check_parses(text: str, where: str) -> str | None:
    try:
        parse_text(text, where)
    except TraceError as e:
        return str(e)
    return None


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
        if not _visible(host, []):
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


def _run_sandbox(strace: str, exe: str, command: list[str], binds: list[str],
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


# -- strace output to a trace -------------------------------------------------------------

_LINE = re.compile(r"^(\d+)\s+(.*)$")
_UNFINISHED = re.compile(r"\s*<unfinished \.\.\.>\s*$")
_RESUMED = re.compile(r"^<\.\.\.\s+(\w+)\s+resumed>\s*")
_NAME = re.compile(r"^(\w+)\(")
_RESULT = re.compile(r"\)\s+=\s+(\?|-?(?:0x[0-9a-fA-F]+|\d+))(?:\s+(E[A-Z0-9]+))?"
                     r"(?:\s+\(.*\))?(?:\s+/\*.*\*/)?\s*$")
_RAW_NR = re.compile(r"^syscall_0x([0-9a-fA-F]+)\(")
_PIDNS = re.compile(r"\s+=\s+(\d+) /\* (\d+) in strace's PID NS \*/$")
_KILLED = re.compile(r"^\+\+\+ killed by (\w+)")


@attrs.define(eq=False)
class Call:
    """One syscall as strace printed it, split halves joined."""

    idx: int
    pid: int
    name: str
    body: str
    done: bool = True                # False while (or if forever) unfinished
    ret: int | None = None           # None: "?" or not printed
    errno: str | None = None
    step: Step | None = None         # the project's parse of it (kept candidates only)
    closed_at: int | None = None     # open-like calls: index of the call that closed the fd
    raw_name: str | None = None      # "syscall_0x1c9" when strace did not know the name
    printed: str | None = None       # strace's text when the line was rewritten (creat)

    @property
    def ok(self) -> bool:
        return self.done and self.ret is not None and self.ret >= 0 and self.errno is None


def read_calls(text: str) -> tuple[list[Call], list[int], dict[int, str]]:
    """strace -f -o output -> (calls in start order, pids in order of appearance,
    pid -> signal that killed it)."""
    calls: list[Call] = []
    pending: dict[int, Call] = {}
    pids: list[int] = []
    killed: dict[int, str] = {}
    for raw in text.splitlines():
        m = _LINE.match(raw)
        if not m:
            continue
        pid, body = int(m.group(1)), m.group(2).rstrip()
        if pid not in pids:
            pids.append(pid)
        k = _KILLED.match(body)
        if k:
            killed[pid] = k.group(1)
            continue
        if body.startswith(("+++", "---")) or not body:
            continue
        r = _RESUMED.match(body)
        if r:
            c = pending.pop(pid, None)
            if c is None:
                continue
            rest = body[r.end():]
            head = c.body
            sep = ", " if rest and not rest.startswith((",", ")")) and not head.endswith("(") else ""
            c.body = head + sep + rest
            c.done = True
            _set_result(c)
            continue
        unfinished = bool(_UNFINISHED.search(body))
        if unfinished:
            body = _UNFINISHED.sub("", body)
        n = _NAME.match(body)
        if not n:
            continue
        c = Call(len(calls), pid, n.group(1), body, done=not unfinished)
        raw_nr = _RAW_NR.match(body)
        if raw_nr and int(raw_nr.group(1), 16) in NEW_SYSCALLS:
            c.raw_name, c.name = c.name, NEW_SYSCALLS[int(raw_nr.group(1), 16)]
            c.body = c.name + body[len(c.raw_name):]
        calls.append(c)
        if unfinished:
            pending[pid] = c
        else:
            _set_result(c)
    for c in calls:
        _creat_as_open(c)
    return calls, pids, killed


_CREAT = re.compile(r'^creat\(("(?:\\.|[^"\\])*"), (\w+)\)(.*)$')


def _creat_as_open(c: Call) -> None:
    """creat(p, m) is open(p, O_CREAT|O_WRONLY|O_TRUNC, m) (creat(2)); the model knows
    only the latter, and a created file can become a mount point (bwrap's --dev files)."""
    m = _CREAT.match(c.body) if c.name == "creat" and c.done else None
    if m:
        c.printed, c.name = c.body, "open"
        c.body = f"open({m.group(1)}, O_WRONLY|O_CREAT|O_TRUNC, {m.group(2)}){m.group(3)}"


def _set_result(c: Call) -> None:
    t = _PIDNS.search(c.body)
    if t and c.name in RETURNS_PID:
        # The caller is in a child pid namespace: the kernel returned the pid there, strace
        # (--decode-pids=pidns) says which pid its lines use. The trace needs the latter.
        c.body = (c.body[:t.start()] + f" = {t.group(2)} /* {t.group(1)} in the caller's "
                  "PID namespace */")
    m = _RESULT.search(c.body)
    if not m or m.group(1) == "?":
        return
    c.ret = _number(m.group(1))
    c.errno = m.group(2)


def _number(s: str) -> int:
    """A number as strace prints it: decimal, 0x hex, or 0-prefixed octal (umask)."""
    neg = s.startswith("-")
    body = s.lstrip("-")
    if len(body) > 1 and body.startswith("0") and not body.startswith(("0x", "0X")):
        v = int(body, 8)
    else:
        v = int(body, 0)
    return -v if neg else v


@attrs.define(eq=False)
class _Fd:
    producer: Call | None            # the open-like call that made it; None: not ours
    cloexec: bool = False


@attrs.define
class Recording:
    """The filtered trace: what to print, and what the summary says."""

    main_pid: int
    lines: list[tuple[Call | None, str]]     # (call or None for comments, text)
    final_pid: int | None
    final_table: str | None
    kept: int = 0
    dropped: int = 0
    undecoded: int = 0
    after_snapshot: int = 0
    added_closes: int = 0
    processes: int = 0
    killed: dict[int, str] = attrs.Factory(dict)
    why_no_table: str = ""


def _parse_step(c: Call) -> Step | None:
    try:
        prog = parse_text(f"[pid {c.pid}] {c.body}", "<strace>")
    except TraceError:
        return None
    return prog.steps[0] if prog.steps else None


def _fd_args(step: Step) -> list[int]:
    spec = SYSCALLS.get(step.name, ())
    fds = [a for (_, kind), a in zip(spec, step.args)
           if kind.rstrip("?") == "fd" and isinstance(a, int) and a >= 0]
    if step.name == "fsconfig" and len(step.args) > 4 and step.args[1] in (
            uapi.FSCONFIG_SET_PATH, uapi.FSCONFIG_SET_PATH_EMPTY, uapi.FSCONFIG_SET_FD):
        if isinstance(step.args[4], int) and step.args[4] >= 0:
            fds.append(step.args[4])
    if step.name == "mount_setattr" and isinstance(step.args[3], dict):
        attr = step.args[3]
        if int(attr.get("attr_set") or 0) & uapi.MOUNT_ATTR_IDMAP:
            fds.append(int(attr.get("userns_fd") or 0))
    return fds


def _open_info(c: Call) -> tuple[int, str | None]:
    """(flags, path) of an open-like call, from the parse or, failing that, the text."""
    st = c.step
    if st is not None:
        if st.name == "openat":
            return int(st.args[2] or 0), st.args[1]
        if st.name == "open":
            return int(st.args[1] or 0), st.args[0]
        if st.name in ("open_tree", "fspick"):
            return int(st.args[2] or 0), st.args[1]
        return int(st.args[1] or 0), None                # fsopen, fsmount
    flags = 0
    for name, bit in (("O_PATH", uapi.O_PATH), ("O_DIRECTORY", uapi.O_DIRECTORY),
                      ("O_CLOEXEC", uapi.O_CLOEXEC), ("O_CREAT", uapi.O_CREAT)):
        if re.search(rf"\b{name}\b", c.body):
            flags |= bit
    m = re.search(r'"((?:\\.|[^"\\])*)"', c.body)
    return flags, m.group(1) if m else None


def _is_cloexec(c: Call) -> bool:
    flags, _ = _open_info(c)
    if c.name in ("fsopen", "fsmount", "fspick"):
        return bool(flags & 1)
    return bool(flags & uapi.O_CLOEXEC)


def _ns_open(c: Call) -> bool:
    """Opens always kept: of a /proc/<pid>/ns/* file (setns material), and successful
    O_CREAT opens (the file they may create can become a mount point, as bwrap's are)."""
    flags, path = _open_info(c)
    if c.ok and c.name in ("open", "openat") and flags & uapi.O_CREAT:
        return True
    return bool(path and re.match(r"^/proc/(self|thread-self|\d+)(/task/\d+)?/ns/", path))


def _pin_open(c: Call) -> bool:
    """A successful O_PATH or O_DIRECTORY open: kept if it pins a mount while the same
    process makes a mount-relevant call (see PIN_CALLS), even when its fd is never used."""
    flags, _ = _open_info(c)
    return c.ok and c.name in ("open", "openat") and bool(flags & (uapi.O_PATH | uapi.O_DIRECTORY))


# Calls during which an open fd of the same process may matter (it pins its mount).
PIN_CALLS = frozenset({"mount", "umount2", "unshare", "setns", "fork", "vfork", "clone",
                       "clone3", "chroot", "pivot_root", "open_tree", "move_mount", "fsopen",
                       "fsconfig", "fsmount", "fspick", "mount_setattr"})


def _clone_flags(c: Call) -> int:
    st = c.step
    if st is not None and st.name == "clone":
        return int(st.args[0] or 0)
    if st is not None and st.name == "clone3" and isinstance(st.args[0], dict):
        return int(st.args[0].get("flags") or 0)
    return uapi.CLONE_FILES if "CLONE_FILES" in c.body else 0


def _int_arg(s: str) -> int | None:
    s = s.strip()
    if s in ("~0", "~0U", "-1"):
        return (1 << 32) - 1
    try:
        return _number(s)
    except ValueError:
        return None


def build(text: str, snapshots: dict[int, str]) -> Recording:
    """Filter strace's output into a Recording (see the module docstring for the rules)."""
    calls, pids, killed = read_calls(text)
    main_pid = pids[0] if pids else 1
    tables: dict[int, dict[int, _Fd]] = {main_pid: {}}
    deps: dict[int, list[Call]] = {}             # call idx -> producers of its fd args
    seeds: list[Call] = []
    closes: list[tuple[Call, Call]] = []         # (close call, producer)
    implicit: list[tuple[int, int, int, Call, str]] = []  # (after idx, pid, fd, producer, why)
    pins: list[Call] = []                       # O_PATH/O_DIRECTORY opens, kept if they pin
    undecoded: set[int] = set()

    def table(pid: int) -> dict[int, _Fd]:
        return tables.setdefault(pid, {})

    def drop_fd(c: Call, fd: int, why: str) -> None:
        e = table(c.pid).pop(fd, None)
        if e is not None and e.producer is not None:
            implicit.append((c.idx, c.pid, fd, e.producer, why))
            if e.producer.closed_at is None:
                e.producer.closed_at = c.idx

    for c in calls:
        t = table(c.pid)
        if c.raw_name is not None:
            undecoded.add(c.idx)
            continue
        if c.name in SYSCALLS or c.name == "umount":
            c.step = _parse_step(c)
            fds = _fd_args(c.step) if c.step is not None else []
            deps[c.idx] = [t[fd].producer for fd in fds if fd in t and t[fd].producer is not None]
            if c.name == "close":
                fd = c.step.args[0] if c.step is not None else None
                e = t.pop(fd, None) if isinstance(fd, int) else None
                if e is not None and e.producer is not None:
                    closes.append((c, e.producer))
                    if e.producer.closed_at is None:
                        e.producer.closed_at = c.idx
                deps[c.idx] = []
                continue
            if c.name in RETURNS_FD:
                if c.ok:
                    drop_fd(c, c.ret, "the fd number was reused")
                    t[c.ret] = _Fd(c, _is_cloexec(c))
                if _ns_open(c) or c.name not in ("open", "openat"):
                    seeds.append(c)
                elif _pin_open(c):
                    pins.append(c)
                continue
            seeds.append(c)
            if c.name in RETURNS_PID and c.ok:
                flags = _clone_flags(c)
                if flags & uapi.CLONE_FILES:
                    tables[c.ret] = t
                else:
                    tables[c.ret] = {fd: _Fd(e.producer, e.cloexec) for fd, e in t.items()}
            continue
        # Not kept: only what it does to the fd table matters.
        if c.name == "execve" and c.ok:
            if any(tb is t for p, tb in tables.items() if p != c.pid):
                tables[c.pid] = t = {fd: _Fd(e.producer, e.cloexec) for fd, e in t.items()}
            for fd in [fd for fd, e in t.items() if e.cloexec]:
                drop_fd(c, fd, "close-on-exec at execve")
        elif c.name in ("dup2", "dup3") and c.ok:
            if c.ret != _first_arg(c):
                drop_fd(c, c.ret, f"{c.name} replaced it")
            t[c.ret] = _Fd(None)
        elif c.name == "close_range" and c.ok:
            m = re.match(r"close_range\(([^,]+),\s*([^,]+),\s*(.*)\)\s*=", c.body)
            lo, hi = (_int_arg(m.group(1)), _int_arg(m.group(2))) if m else (None, None)
            if lo is not None and hi is not None:
                for fd in [fd for fd in t if lo <= fd <= hi]:
                    if "CLOSE_RANGE_CLOEXEC" in m.group(3):
                        t[fd].cloexec = True
                    else:
                        drop_fd(c, fd, "close_range")
        elif c.name == "fcntl" and c.ok:
            m = re.match(r"fcntl\((\d+),\s*F_SETFD,\s*(\w+)\)", c.body)
            if m and int(m.group(1)) in t:
                t[int(m.group(1))].cloexec = m.group(2) != "0"
            elif re.match(r"fcntl\(\d+,\s*F_DUPFD", c.body):
                t[c.ret] = _Fd(None, "F_DUPFD_CLOEXEC" in c.body)
        elif c.ok and c.ret is not None and c.name in _FD_RETURNING:
            drop_fd(c, c.ret, "the fd number was reused")
            t[c.ret] = _Fd(None)

    kept: set[int] = set()
    pinning = [c for c in seeds if c.name in PIN_CALLS]
    work = list(seeds) + [m for m in pins if any(
        s.pid == m.pid and m.idx < s.idx < (m.closed_at if m.closed_at is not None else len(calls))
        for s in pinning)]
    while work:
        c = work.pop()
        if c.idx in kept:
            continue
        kept.add(c.idx)
        work.extend(deps.get(c.idx, []))
    for c, producer in closes:
        if producer.idx in kept:
            kept.add(c.idx)
    added = [(after, pid, fd, why) for after, pid, fd, producer, why in implicit
             if producer.idx in kept]

    # The final table: P = the last kept line's process, other than exits. Everything kept
    # after P's last line (only exits can be there) is left out: the last line must be P's.
    by_idx = {c.idx: c for c in calls}
    why = ""
    last = [by_idx[i] for i in sorted(kept) if by_idx[i].name not in EXITS]
    final_pid = last[-1].pid if last else main_pid
    cut = last[-1].idx + 1 if last else 0
    exit_call = next((c for c in calls if c.pid == final_pid and c.name in EXITS
                      and c.idx >= cut), None)
    table_text = snapshots.get(final_pid) if exit_call is not None else None
    if table_text is None:
        why = (f"process {final_pid} was killed by {killed[final_pid]}" if final_pid in killed
               else f"process {final_pid} was not seen exiting")
    rec = Recording(main_pid, [], final_pid, table_text, killed=killed, why_no_table=why,
                    processes=len(pids))
    extra: dict[int, list[tuple[int, int, str]]] = {}
    for after, pid, fd, why_ in added:
        extra.setdefault(after, []).append((pid, fd, why_))
    for c in calls:
        if c.idx in undecoded:
            if c.idx < cut:
                rec.lines.append((None, f"# [pid {c.pid}] {c.body}   <- strace printed "
                                  f"{c.raw_name}: arguments not decoded; not replayed"))
            rec.undecoded += 1
            continue
        if c.idx in kept and c.idx < cut:
            if c.printed is not None:
                rec.lines.append((None, f"# strace printed: [pid {c.pid}] {c.printed}"))
                rec.lines.append((None, "# (the same call as open(2), line rewritten by "
                                  "mountsim record:)"))
            rec.lines.append((c, f"[pid {c.pid}] {c.body}"))
            rec.kept += 1
        elif c.idx in kept:
            rec.after_snapshot += 1
        else:
            rec.dropped += 1
        if c.idx < cut:
            for pid, fd, why_ in extra.get(c.idx, []):
                rec.lines.append((None, f"# (the kernel closed fd {fd} of pid {pid} here: "
                                  f"{why_}; the next line is added by mountsim record)"))
                rec.lines.append((None, f"[pid {pid}] close({fd}) = 0"))
                rec.added_closes += 1
    return rec


def _first_arg(c: Call) -> int | None:
    m = re.match(r"\w+\((\d+)", c.body)
    return int(m.group(1)) if m else None


# Calls (besides open-like ones, dup2/dup3 and fcntl) whose result is a new fd.
_FD_RETURNING = frozenset({
    "dup", "creat", "socket", "accept", "accept4", "epoll_create", "epoll_create1", "eventfd",
    "eventfd2", "signalfd", "signalfd4", "timerfd_create", "inotify_init", "inotify_init1",
    "memfd_create", "memfd_secret", "pidfd_open", "pidfd_getfd", "open_by_handle_at",
    "openat2", "fanotify_init", "perf_event_open", "userfaultfd", "io_uring_setup",
    "bpf", "mq_open", "landlock_create_ruleset", "seccomp"})


def _mountinfo_rows(text: str) -> list[tuple[str, str, str]]:
    rows = []
    for ln in text.splitlines():
        if " - " not in ln:
            continue
        left, right = ln.split(" - ", 1)
        f = left.split()
        words = " ".join(f[6:]) or "private"
        rows.append((f[4], right.split()[0], words))
    return rows


def kernel_version() -> str:
    m = re.match(r"(\d+)\.(\d+)", os.uname().release)
    return f"{m.group(1)}.{m.group(2)}" if m else os.uname().release


def render(rec: Recording, start_table: str, command: list[str], holder: int | None) -> str:
    """The trace text. *holder* (strace's pid) becomes the main pid, forking the command."""
    shown = shlex.join(command).replace("\r", "\\r").replace("\n", "\\n")
    out = [f"# Recorded by mountsim record on Linux {os.uname().release}: {shown}",
           "# (run as root under strace -f in a throwaway sandbox: a private mount namespace on",
           "#  a fresh tmpfs root with read-only /usr and /etc and proc on /proc; only the",
           "#  mount-relevant calls are kept)",
           f"# kernel: {kernel_version()}",
           f"# main-pid: {holder or rec.main_pid}"]
    out += [f"# start-mountinfo: {ln}" for ln in start_table.splitlines() if ln.strip()]
    if holder:
        out += [f"# strace (pid {holder}) forked the command and, like the recorder, stays in the",
                "# start namespace for the whole run, keeping it alive (line added by mountsim record):",
                f"[pid {holder}] fork() = {rec.main_pid}"]
    out += [text for _, text in rec.lines]
    if rec.final_table is not None:
        rows = _mountinfo_rows(rec.final_table)
        w1 = max(len(r[0]) for r in rows)
        w2 = max(len(r[1]) for r in rows)
        out.append(f"# The kernel's /proc/{rec.final_pid}/mountinfo, read while process "
                   f"{rec.final_pid} was in exit_group (that")
        out.append("# exit and the lines after it are left out, so the replay ends at that moment).")
        out.append("# expect-tree:")
        out += [f"# {mp:<{w1}}  {fs:<{w2}}  {words}" for mp, fs, words in rows]
    else:
        out.append(f"# No expect-tree: {rec.why_no_table}, so its final table could not be read.")
    return "\n".join(out) + "\n"


def summary(rec: Recording, run: Run) -> str:
    parts = [f"{rec.kept} syscalls kept, {rec.dropped} dropped"]
    if rec.after_snapshot:
        parts.append(f"{rec.after_snapshot} after the final table left out")
    if rec.undecoded:
        parts.append(f"{rec.undecoded} not decoded by strace")
    if rec.added_closes:
        parts.append(f"{rec.added_closes} implicit close(s) added")
    parts.append(f"{rec.processes} process{'es' if rec.processes != 1 else ''}")
    if run.timed_out:
        parts.append("the command timed out and was killed")
    elif run.status < 0:
        parts.append(f"the command was killed by signal {-run.status}")
    else:
        parts.append(f"the command exited with status {run.status}")
    if rec.final_table is None:
        parts.append(f"no expect-tree ({rec.why_no_table})")
    else:
        parts.append(f"expect-tree from pid {rec.final_pid}")
    return "; ".join(parts)
