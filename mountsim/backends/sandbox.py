"""The live backend's sandbox side: what runs in the zygote and in every sandbox process.

Model-only (it drives the real kernel; no kernel function is mirrored). The controller's
side, which starts the zygote and talks to the sandboxes, is live.py; its docstring says
how the four layers of isolation fit together. This module is the part that runs as real
root *inside* them:

- `zygote_main()`: the zygote, whose loop is C (zygote.c, so that the zygote writes few
  pages between forks). For each sandbox it asks the spawner (spawner.c, a small C
  program) for an init: pid 1 of a new pid namespace, the controller's child, not a
  Python process (forking this interpreter for it cost most of a sandbox's CPU). It then
  forks the trace's main process (pid 2) into that pid namespace (setns(CLONE_NEWPID) on
  its pid_for_children, then back), which returns from the loop into Python.
- `_sandbox_main()` / `_setup_sandbox()`: the main process notes the host's namespaces
  (guard.py), then unshare(CLONE_NEWNS); mount(NULL, "/", NULL, MS_REC|MS_PRIVATE) — so
  no mount event can propagate back to the host (sharedsubtree.rst: a private mount
  neither forwards nor receives propagation); a fresh tmpfs on /tmp; pivot_root into it;
  umount2(put_old, MNT_DETACH). Its table is then one tmpfs at "/" on top of the
  namespace's hidden root (the rootfs copy), exactly the model's default host. Then it
  says hello. It runs under the seccomp filter (seccomp.py) from its first instruction:
  the zygote installed it on itself, and every fork inherits it.
- `_serve()` / `_do_step()` / `_do_fork()`: every trace pid is a real process serving
  pickled commands over a socketpair; each step passes the guard on what its paths
  resolve to before it runs. Fds: each process maps trace fd -> real fd, and a trace fd
  with no mapping becomes BAD_FD, which no process can have open (fs.nr_open <= 2^30).

Imports are kept to what these processes use (no attrs, no trace.program: the syscall
table comes from trace/signatures.py). Every trace process is a fork of the zygote, and
a fork costs in proportion to what the forked interpreter holds and touches: attrs
imports `threading`, whose at-fork hook runs Python code in every new child; without it
a fork and exit of a sandbox process takes about 190 fewer page faults and 0.3 ms less
CPU here (measured with the zygote's imports, nested forks as init -> main), and a live
campaign is bound by exactly that CPU (README, Performance). tests/cli/test_startup.py
checks that this module alone imports neither.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import pickle
import resource
import signal
import socket
import sys
import traceback
from typing import Any

from .. import errors, uapi
from ..trace import signatures
from ..trace.signatures import RETURNS_FD, SYSCALLS
from . import _sys, guard, seccomp

BAD_FD = 0x7FFFFFFF            # above fs.nr_open's maximum: the kernel answers EBADF
NOFILE = 1024                  # RLIMIT_NOFILE of sandbox processes
_REFUSED_CLONE = (uapi.CLONE_VM | uapi.CLONE_THREAD | uapi.CLONE_SIGHAND | uapi.CLONE_FILES
                  | uapi.CLONE_VFORK | uapi.CLONE_SETTLS | uapi.CLONE_PIDFD
                  | uapi.CLONE_INTO_CGROUP)
_FSCONFIG_FD_AUX = (uapi.FSCONFIG_SET_PATH, uapi.FSCONFIG_SET_PATH_EMPTY, uapi.FSCONFIG_SET_FD)
_DEFAULTS = {"mode": 0o777, "key": None, "value": None, "aux": 0}



# -- inside the sandbox ------------------------------------------------------------------

def _must(res: tuple[int, int], what: str) -> None:
    if res[0] == -1:
        raise OSError(res[1], f"sandbox setup: {what}: {os.strerror(res[1])}")


def _setup_sandbox(start_dirs: list[str]) -> None:
    """Enter a fresh namespace whose only visible mount is a new tmpfs at "/".

    MS_REC|MS_PRIVATE comes before anything else is mounted: from then on no mount or
    umount here can propagate to the host's peer groups.
    """
    _must(_sys.call("unshare", uapi.CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _must(_sys.call("mount", None, "/", None, uapi.MS_REC | uapi.MS_PRIVATE, None),
          "make / rprivate")
    _must(_sys.call("mount", "tmpfs", "/tmp", "tmpfs", 0, None), "mount tmpfs on /tmp")
    os.mkdir("/tmp/.put_old", 0o700)
    _must(_sys.call("pivot_root", "/tmp", "/tmp/.put_old"), "pivot_root")
    os.chdir("/")
    _must(_sys.call("umount2", "/.put_old", uapi.MNT_DETACH), "detach the old root")
    os.rmdir("/.put_old")
    os.umask(0o022)                            # the model's initial umask (task.FsStruct)
    for d in start_dirs:
        os.makedirs("/" + d.strip("/"), 0o755, exist_ok=True)


class _Task:
    """What one sandbox process keeps: its channel, its trace-fd -> real-fd map, and what
    the guard knows of the sandbox. (A plain class: see the module docstring on imports.)"""

    __slots__ = ("chan", "facts", "fds", "listmount_buf")

    def __init__(self, chan: _sys.Chan, facts: guard.SandboxFacts) -> None:
        self.chan, self.facts = chan, facts
        self.fds: dict[int, int] = {}
        self.listmount_buf: Any = None


def _sandbox_main(sock: socket.socket) -> None:
    """The trace's main process, just forked by the zygote into the sandbox's pid namespace
    (pid 2 there, after the init). Never returns. Reads ("start", start_dirs), sets up the
    mount namespace, then serves; it says "hello" once ready (the controller learns its
    host pid from it).

    It holds the sandbox's lifeline (the write end the zygote forked it with; every trace
    process inherits it, none can close it: trace fds are mapped): the init exits once no
    sandbox process is left, so the namespace does not outlive its last trace process.
    """
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)    # the zygote ignores it; a trace waits
    chan = _sys.Chan(sock)
    try:
        (_, start_dirs), _, _ = chan.recv()
    except (EOFError, OSError, ValueError):
        os._exit(0)                             # the controller is gone
    try:
        facts = guard.gather_facts(_HOST_FACTS)
        _setup_sandbox(start_dirs)
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except BaseException as e:                  # report and die before touching anything else
        _reply(chan, ("failed", str(e)))
        os._exit(1)
    task = _Task(chan, facts)
    _warm_up(task)
    _reply(chan, ("hello", os.getpid()))
    _serve(task)


_WARM_UP = (("mount", ("none", "/", "tmpfs", 0, None)), ("mkdir", ("/", 0o755)),
            ("openat", (uapi.AT_FDCWD, "/", uapi.O_RDONLY)), ("umount2", ("/", 0)),
            ("open_tree", (uapi.AT_FDCWD, "/", 0)),
            ("move_mount", (uapi.AT_FDCWD, "/", uapi.AT_FDCWD, "/", 0)))


def _warm_up(task: _Task) -> None:
    """Before the process says hello: take once the copy-on-write faults that a fresh fork
    takes on the first use of what every step uses (the guard, argument conversion, a
    raw syscall, the mount count, pickling), so that steps do not. Only calls that change
    nothing: the guard's lookups of "/", umask() with the umask it has, listmount() of its
    own namespace. Best effort: any error is ignored."""
    try:
        for name, args in _WARM_UP:
            guard.path_refusal(task.facts, name, _call_args(task, name, args))
        _sys.call("umask", 0o022)                  # _setup_sandbox() set it so
        _too_many_mounts(task)
        uapi.errno_name(2)
        pickle.loads(pickle.dumps((("steps", [("mount", ("none", "/", None, 0, None), 3)],
                                    frozenset({2}), False), (0, None, None)),
                                  pickle.HIGHEST_PROTOCOL))
    except Exception:                              # noqa: BLE001 - only a warm-up
        pass


def _reply(chan: _sys.Chan, obj: Any) -> None:
    try:
        chan.send(obj)
    except OSError:
        os._exit(0)                             # the controller is gone


def _serve(task: _Task) -> None:
    """The command loop of one sandbox process. Never returns: EOF means the controller left."""
    while True:
        try:
            msg, fds, _ = task.chan.recv()
        except (EOFError, OSError):
            os._exit(0)
        try:
            if msg[0] == "exit":
                os._exit(msg[1] & 0xFF)
            if msg[0] == "steps":
                _do_steps(task, msg[1], msg[2], msg[3])
                continue
            reply = _do_fork(task, msg[1], msg[2], fds[0])
            if reply is None:                  # we are the new child; it has said hello
                continue
        except Exception:                      # a backend bug: say so rather than hang
            reply = ("crash", traceback.format_exc())
        _reply(task.chan, reply)


def _do_steps(task: _Task, steps: list, pids: frozenset[int], links_made: bool) -> None:
    """Run *steps* in order, one reply each as soon as it is known; stop after a refusal
    (the session stops there) or a crash. The guard's facts change within the list as the
    controller would change them between two steps: links_made once a symlink is made."""
    task.facts.pids, task.facts.links_made = pids, links_made
    for name, args, label in steps:
        try:
            reply = _do_step(task, name, args, label)
        except Exception:                      # a backend bug: say so rather than hang
            reply = ("crash", traceback.format_exc())
        _reply(task.chan, reply)
        if reply[0] in ("refused", "crash"):
            return
        if reply[1] is None and name in MAKES_LINKS:
            task.facts.links_made = True


def clone_flags(name: str, args: tuple) -> tuple[int, str | None]:
    """The namespace/clone flags of a fork-like step, or a reason it cannot run live."""
    if name in ("fork", "vfork"):
        return 0, None
    if name == "clone":
        flags = int(args[0] or 0) if args else 0
    else:
        cl = args[0] or {}
        flags = int(cl.get("flags") or 0)
        if cl.get("set_tid_size"):
            return flags, "clone3 set_tid is not reproduced live"
    refused = flags & _REFUSED_CLONE
    if refused:
        return flags, f"{name} flags {uapi.flags_to_str('clone', refused)} are not reproduced live"
    return flags, None


def _do_fork(task: _Task, name: str, args: tuple, child_sock_fd: int) -> tuple | None:
    """fork/vfork/clone/clone3 for real. Returns the parent's reply, or None in the child.

    vfork runs as fork: the parent must keep answering while the child runs.
    """
    flags, _ = clone_flags(name, args)
    if name in ("fork", "vfork"):
        try:
            ret, err = os.fork(), 0
        except OSError as e:
            ret, err = -1, e.errno or 0
    elif name == "clone":
        if not flags & uapi.CSIGNAL:
            flags |= uapi.SIGCHLD
        ret, err = _sys.fork_call("clone", flags, 0, 0, 0, 0)
    else:
        size = args[1] if len(args) > 1 and args[1] is not None else 88
        ret, err = _sys.fork_call("clone3", _sys.clone_args(args[0] or {}), size)
    if ret == 0:
        task.chan.close()                      # the parent's channel is not ours
        task.chan = _sys.Chan(socket.socket(fileno=child_sock_fd))
        _reply(task.chan, ("hello", os.getpid()))
        return None
    os.close(child_sock_fd)
    return (ret, None, None) if ret > 0 else (-1, uapi.errno_name(err), None)


def _fd(task: _Task, v: Any) -> Any:
    """A trace fd as this process's real fd (AT_FDCWD and other negatives pass through)."""
    if not isinstance(v, int) or v < 0:
        return v
    return task.fds.get(v, BAD_FD)


def _call_args(task: _Task, name: str, args: tuple) -> list[Any]:
    """The trace's decoded args as syscall(2) arguments, fds translated, defaults filled."""
    out: list[Any] = []
    spec = SYSCALLS[name]
    for i, (pname, kind) in enumerate(spec):
        v = args[i] if i < len(args) else _DEFAULTS.get(pname, 0)
        kind = kind.rstrip("?")
        if kind == "fd":
            v = _fd(task, v)
        elif kind in ("int", "mode") or kind.startswith("flags:"):
            v = 0 if v is None else int(v)
        out.append(v)
    if name == "fsconfig" and out[1] in _FSCONFIG_FD_AUX:
        out[4] = _fd(task, out[4])           # aux is a dfd (SET_PATH*) or an fd (SET_FD)
    if name == "mount_setattr":
        out[3] = _mount_attr(task, out[3], out[4])
    elif name == "capset":
        out = [_sys.cap_header(out[0]), _sys.cap_data(out[1])]
    elif name == "setgroups":
        out[1] = _sys.gid_list(out[1])
    return out


def _fd_fields(task: _Task, req: dict | None) -> dict | None:
    """mnt_id_req with its fd union (`mnt_ns_fd`, `mnt_fd`: 7.0) as this process's real fd."""
    if not req:
        return req
    return {k: (_fd(task, int(v)) if k in ("mnt_ns_fd", "mnt_fd") and v else v)
            for k, v in req.items()}


def _mount_attr(task: _Task, attr: dict | None, size: int) -> Any:
    if attr is not None and int(attr.get("attr_set") or 0) & uapi.MOUNT_ATTR_IDMAP:
        attr = {**attr, "userns_fd": _fd(task, int(attr.get("userns_fd") or 0))}
    return _sys.mount_attr(attr, size)


def _do_step(task: _Task, name: str, args: tuple, label: int | None) -> tuple:
    """Run one non-fork syscall: (ret, errno name or None, decoded output or None)."""
    if name in ("statmount", "listmount"):
        flags = args[3] if len(args) > 3 else 0
        req = _fd_fields(task, args[0])
        ret, err, out = _sys.stat_call(name, req, int(args[2] or 0), int(flags or 0))
        return (ret, uapi.errno_name(err) if err else None, out)
    if name == "read":
        ret, err, out = _sys.read_call(_fd(task, args[0]), int(args[2] or 0))
        return (ret, uapi.errno_name(err) if err else None, out)
    if name in _DUPS:
        return _do_dup(task, name, args, label)
    if name == "fcntl":
        return _do_fcntl(task, args, label)
    cargs = _call_args(task, name, args)
    why = guard.path_refusal(task.facts, name, cargs)
    if why:
        return ("refused", why, None)
    if name == "openat2":                      # the guard read how as a dict
        cargs[2] = _sys.open_how(cargs[2], cargs[3])
    if name in ("readlink", "readlinkat"):     # the body comes back in our own buffer
        ret, err, out = _sys.readlink_call(name, cargs)
        return (ret, uapi.errno_name(err) if err else None, out)
    ret, err = _sys.call(name, *cargs)
    if err:
        return (-1, uapi.errno_name(err), None)
    if name in _ADDS_MOUNTS and _too_many_mounts(task):
        return ("refused", f"more than {guard.MAX_MOUNTS} mounts in one namespace", None)
    if name in RETURNS_FD:
        trace_fd = label if label is not None else ret
        old = task.fds.get(trace_fd)
        if old is not None and old != ret:
            os.close(old)                      # the trace reused a number: keep one real fd
        task.fds[trace_fd] = ret
        return (trace_fd, None, None)
    if name == "close":
        task.fds.pop(args[0], None)
    return (ret, None, None)


_DUPS = frozenset({"dup", "dup2", "dup3"})


def _do_dup(task: _Task, name: str, args: tuple, label: int | None) -> tuple:
    """dup/dup2/dup3 on the trace's numbers. The real descriptor is always a fresh one
    (`_dup_fresh()`), never a number the trace names, so that no trace can aim at the
    sandbox's own descriptors; the kernel's checks on the trace's numbers come first, in
    ksys_dup3()'s order, and the trace's newfd then maps to the fresh one (its previous real
    descriptor closed, as do_dup2() closes the file it replaces)."""
    old = args[0]
    new = args[1] if len(args) > 1 else None
    flags = int(args[2] or 0) if len(args) > 2 else 0
    if name == "dup3" and (flags & ~uapi.O_CLOEXEC or old == new):
        return (-1, "EINVAL", None)
    if new is not None and new < 0:
        return (-1, "EBADF", None)
    real_old = _fd(task, old)
    if name == "dup2" and old == new:
        ret, err = _sys.call("fcntl", real_old, uapi.F_GETFD, 0)
        return (new, None, None) if not err else (-1, uapi.errno_name(err), None)
    trace_fd = new if new is not None else label
    return _dup_fresh(task, real_old, bool(flags & uapi.O_CLOEXEC), trace_fd, 3)


def _do_fcntl(task: _Task, args: tuple, label: int | None) -> tuple:
    """fcntl's fd-table commands (the only ones a trace gives: signatures.FCNTL_CMDS) on the
    trace's numbers. F_GETFD and F_SETFD act on the real descriptor the trace's maps to, so
    the kernel answers (a sandbox process never execs: the bit is only ever read back).
    F_DUPFD and F_DUPFD_CLOEXEC make a fresh real descriptor as dup does, mapped to the
    lowest free trace number from *arg* (or the recorded one); an *arg* the kernel refuses
    before making anything (negative, or RLIMIT_NOFILE or above) goes to the kernel as given,
    for its EINVAL."""
    cmd = args[1]
    arg = int(args[2] or 0) if len(args) > 2 else 0
    real = _fd(task, args[0])
    if cmd in (uapi.F_DUPFD, uapi.F_DUPFD_CLOEXEC) and 0 <= arg < NOFILE:
        return _dup_fresh(task, real, cmd == uapi.F_DUPFD_CLOEXEC, label, arg)
    ret, err = _sys.call("fcntl", real, cmd, arg)
    if err:
        return (-1, uapi.errno_name(err), None)
    if cmd in (uapi.F_DUPFD, uapi.F_DUPFD_CLOEXEC):     # not reached: the kernel refused
        os.close(ret)
        return ("refused", f"fcntl made fd {ret} from {arg}, past RLIMIT_NOFILE", None)
    return (ret, None, None)


def _dup_fresh(task: _Task, real_old: int, cloexec: bool, trace_fd: int | None,
               start: int) -> tuple:
    """A fresh real copy of *real_old* (fcntl(F_DUPFD or F_DUPFD_CLOEXEC, 3): the trace's
    close-on-exec bit, so F_GETFD reads it back from the kernel) mapped to *trace_fd*, or to
    the lowest trace number from *start* that maps to nothing (the model's choice too)."""
    ret, err = _sys.call("fcntl", real_old, uapi.F_DUPFD_CLOEXEC if cloexec else uapi.F_DUPFD, 3)
    if err:
        return (-1, uapi.errno_name(err), None)
    if trace_fd is None:
        trace_fd = max(start, 3)
        while trace_fd in task.fds:
            trace_fd += 1
    prev = task.fds.get(trace_fd)
    if prev is not None:
        os.close(prev)
    task.fds[trace_fd] = ret
    return (trace_fd, None, None)


MAKES_LINKS = frozenset({"symlink", "symlinkat"})
_ADDS_MOUNTS = frozenset({"mount", "move_mount", "open_tree", "fsmount"})


def _too_many_mounts(task: _Task) -> bool:
    """Whether the caller's namespace holds more than guard.MAX_MOUNTS mounts (listmount)."""
    if task.listmount_buf is None:
        task.listmount_buf = (ctypes.c_uint64 * (guard.MAX_MOUNTS + 1))()
    req = _sys.mnt_id_req({"size": 24, "mnt_id": uapi.LSMT_ROOT})
    ret, _ = _sys.call("listmount", req, task.listmount_buf, guard.MAX_MOUNTS + 1, 0)
    return ret > guard.MAX_MOUNTS


# -- the zygote: clones the sandboxes' inits ---------------------------------------------

_HOST_FACTS: tuple | None = None    # guard.host_facts() of the zygote, read once there

ZYGOTE_BOOT = ("import json, sys; sys.path[:0] = json.loads(sys.argv[3]); "
                "from mountsim.backends.sandbox import zygote_boot; zygote_boot()")
LIMITS = ("MAX_PROCS", "MAX_STEPS", "MAX_MOUNTS")     # guard's, as the controller has them


def _source_stamp() -> str:
    """The sandbox side's source files as this process imported them (path, size, mtime): a
    fresh zygote whose files differ (edited since) would not speak our protocol."""
    parts = []
    for mod in (sys.modules[__name__], _sys, guard, seccomp, uapi, signatures, errors):
        try:
            st = os.stat(mod.__file__)
            parts.append(f"{mod.__file__}:{st.st_size}:{st.st_mtime_ns}")
        except (OSError, TypeError):
            parts.append("?")
    return "|".join(parts)


STAMP = _source_stamp()


def zygote_boot() -> None:
    """Entry of the zygote as a fresh interpreter (`ZYGOTE_BOOT`): argv is the fds of its
    channel and of the spawner's socket ("C,S"), the controller's guard limits (JSON), its
    sys.path (JSON), its source stamp and the path of the zygote loop's library
    (zygote.c). A different stamp: exit, and the controller makes the zygote by fork alone."""
    chan_fd, spawner_fd = (int(x) for x in sys.argv[1].split(","))
    limits = json.loads(sys.argv[2])
    if sys.argv[4] != STAMP:
        os._exit(3)
    for name in LIMITS:
        setattr(guard, name, int(limits[name]))
    zygote_main(_sys.Chan(socket.socket(fileno=chan_fd)), socket.socket(fileno=spawner_fd),
                sys.argv[5])


class _Out(ctypes.Structure):
    """zygote.c's struct out: a new main process's channel and lifeline's write end."""
    _fields_ = [("sock", ctypes.c_int32), ("life", ctypes.c_int32)]


def zygote_main(chan: _sys.Chan, spawner: socket.socket, library: str) -> None:
    """Serve the controller's requests for sandboxes until it goes away; in each new main
    process, become it.

    Every trace process is a fork of this one. The seccomp filter is installed here, once,
    before any sandbox exists, and inherited by every fork: each install costs the kernel
    a compile and a cache of the program's answer for every syscall number
    (seccomp_prepare_filter(), seccomp_cache_prepare()), 0.25 ms a sandbox when each main
    process installed its own. The heap is frozen (gc.freeze()) so that no collection in a
    sandbox walks, and so copies, the pages they share. The loop itself is C (zygote.c):
    after each fork every page the zygote writes is copied, and a Python loop wrote ~118
    of them a sandbox. The main processes it forks are reaped by the kernel (SIGCHLD
    ignored here); the inits are the controller's children (spawner.c).
    """
    global _HOST_FACTS
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C is the controller's business
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    _HOST_FACTS = guard.host_facts()                  # the host's namespaces: ours
    own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        serve = ctypes.PyDLL(library).zygote_serve    # the GIL stays held: we fork inside
    except (OSError, AttributeError) as e:
        _reply(chan, ("failed", f"{library}: {e}"))
        os._exit(1)
    serve.restype = ctypes.c_int
    serve.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Out)] + \
        [ctypes.c_void_p] * 3
    hooks = [ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p)
             for name in ("PyOS_BeforeFork", "PyOS_AfterFork_Parent", "PyOS_AfterFork_Child")]
    err = seccomp.install()
    if err:
        _reply(chan, ("failed", f"seccomp: {os.strerror(err)}"))
        os._exit(1)
    out = _Out()
    gc.freeze()
    _reply(chan, ("ready", None))
    if serve(chan.sock.fileno(), spawner.fileno(), own_pid_ns, ctypes.byref(out), *hooks):
        os._exit(0)                                   # the controller has gone
    chan.sock.detach()                                # closed by zygote_serve() in the child
    spawner.detach()
    _sandbox_main(socket.socket(fileno=out.sock))
