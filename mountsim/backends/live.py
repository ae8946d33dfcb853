"""The live-kernel backend: a program's Steps as real syscalls in a throwaway mount namespace.

Model-only (it drives the real kernel; no kernel function is mirrored).

Isolation, the hard requirement (README, "Security"): a trace is untrusted input run as
real root, so it runs inside four layers.
1. Namespaces. Each sandbox has a pid namespace of its own, whose init (pid 1) is
   spawner.c's small C program: it moves at once to a private mount namespace rooted on a
   tmpfs of its own, then only reaps. The trace's main process (pid 2), forked into that
   pid namespace by the zygote, notes the host's namespaces (guard.py), then does, in
   this order: unshare(CLONE_NEWNS); mount(NULL, "/", NULL, MS_REC|MS_PRIVATE) — so no
   mount event can propagate back to the host (sharedsubtree.rst: a private mount neither
   forwards nor receives propagation); a fresh tmpfs on /tmp; pivot_root into it;
   umount2(put_old, MNT_DETACH). Its table is then one tmpfs at "/" on top of the
   namespace's hidden root (the rootfs copy), exactly the model's default host. A proc
   mounted in the sandbox shows only sandbox processes, and no pid a trace names can
   reach a host process (nor the init's root: it is the init's own tmpfs).
2. The step guard (guard.py): every step is checked before it runs, in the controller
   (filesystem types, limits) and in the sandbox process on what its paths resolve to.
   A refused step raises guard.Refused; the run is "not comparable", never executed.
3. seccomp (seccomp.py): only the syscalls the backend issues get through.
4. Limits: processes, steps and mounts per sandbox (guard.MAX_*), RLIMIT_NOFILE, timeouts.

What runs inside the sandbox (the zygote, the init's set-up, every trace process's command
loop) is sandbox.py; this module is the controller's side.

Processes. A *zygote*, forked once per backend from the controller and then a fresh
interpreter that imports only sandbox.py (a fork costs in proportion to what the forking
process holds and touches), forks every trace process's first ancestor, the main
process, from a loop in C (zygote.c: after a fork, each page the zygote writes is
copied). The *spawner* (spawner.c; both compiled on first use by native.build()), started
by the controller beside the zygote, clones each sandbox's init with CLONE_PARENT: the init
is the controller's child, and the controller reaps it. An init that were a fork of the
zygote cost most of a sandbox's CPU (README, Performance). The init reaps the sandbox's
orphans and exits once no sandbox process is left (they all hold its lifeline pipe);
killing the init kills the whole sandbox (zap_pid_ns_processes()). Main processes are
the zygote's children, reaped by the kernel (the zygote ignores SIGCHLD). Sandboxes are
set up ahead of time: when a session closes, the backend asks the zygote for the next ones
(POOL, same start_dirs), which set up while the controller goes on; start() takes the
oldest. A session runs a process's consecutive steps in one message (run-ahead, see
LiveSession); the main process pre-touches what steps use before it says hello. Every trace pid
is a real process running `sandbox._serve`: pickled commands in, pickled results out over a
socketpair. A fork is a real fork (os.fork, or the raw clone/clone3 syscall with the
trace's flags); the controller hands the forking process the child's socketpair end with
SCM_RIGHTS, and learns the child's host pid from the SCM_CREDENTIALS of its first message
(the kernel translates the pid into the receiver's pid namespace, so CLONE_NEWPID is fine).

Fds. Each process maps trace fd -> real fd; fd arguments go through the map, and a trace
fd with no mapping becomes BAD_FD, which no process can have open (fs.nr_open <= 2^30).

Limitations: x86_64; gcc to build the spawner once; no start-mountinfo
(LiveUnsupported); clone flags that share memory, signal handlers or the fd table
(CLONE_VM/THREAD/SIGHAND/FILES/VFORK/SETTLS/PIDFD/INTO_CGROUP, set_tid) are refused
with ENOSYS and a note; the sandbox has no /proc, so /proc/<pid>/ns/* paths only exist
if the program mounts proc itself, and then with the sandbox's pids (the main process is
pid 2, after the init).
"""

from __future__ import annotations

import collections
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from pathlib import Path
import weakref

import attrs

from .. import native, uapi, versions
from ..trace.program import RETURNS_PID, SYSCALLS, Program, Result, Step
from ..trace.signatures import makes_fd
from . import _sys, guard, sandbox

TIMEOUT = 30.0                 # seconds a sandbox process may take to answer
SPAWNER = Path(__file__).with_name("spawner.c")
SPAWNER_FD = 3                 # spawner.c's socket to the zygote
ZYGOTE_LOOP = Path(__file__).with_name("zygote.c")
FDPASS = Path(__file__).with_name("fdpass.h")      # included by both
ZYGOTE_ANSWER = struct.Struct("=iii")     # zygote.c's struct answer: init, errno, step
_FAILED_STEP = {0: "a bad request", 1: "sandbox init", 2: "the init's pid namespace",
                3: "setns(CLONE_NEWPID)", 4: "fork"}
WALL = 0x40000000              # __WALL: also reap children whose exit signal is not SIGCHLD


def spawner_path() -> Path:
    """The sandbox spawner (spawner.c), compiled on first use (native.build())."""
    return native.build(SPAWNER, "sandbox", headers=(FDPASS,))


def zygote_loop_path() -> Path:
    """The zygote's loop (zygote.c), a shared library compiled on first use."""
    return native.build(ZYGOTE_LOOP, "sandbox", ("-O2", "-shared", "-fPIC"), (FDPASS,))


class LiveUnsupported(Exception):
    """The live kernel cannot reproduce this program (e.g. a start-mountinfo table)."""


class LiveError(RuntimeError):
    """The sandbox itself failed (setup, a crashed or silent process): a backend problem."""


# -- the zygote, from the controller's side -----------------------------------------------

def _interpreter_flags() -> list[str]:
    """The command-line flags that give a new interpreter this one's isolation and site
    settings (its sys.path is passed as is)."""
    f = sys.flags
    flags = ["-I"] if f.isolated else ["-E"] * bool(f.ignore_environment) + ["-s"] * bool(
        f.no_user_site)
    return flags + ["-S"] * bool(f.no_site)




class _Zygote:
    """Controller-side handle on the zygote process."""

    def __init__(self, wait: bool = True) -> None:
        """Fork, then exec a fresh interpreter that imports only sandbox.py: forks (and
        exits) cost in proportion to the forking process's memory, and the controller's is
        several times the backend's. Where that interpreter cannot start, the forked
        process is the zygote itself (as it always was). Without *wait*, the interpreter
        starts while the caller goes on; ready() waits for it."""
        self.waiting: collections.deque[_Spawn] = collections.deque()  # "ok" not read yet
        self.owner = os.getpid()                # a forked copy of us must not touch it
        self.is_ready = False
        self._start(fresh=True)
        if wait:
            self.ready()

    def ready(self) -> None:
        """Wait for the zygote's "ready" (once); fall back to a forked zygote if it fails."""
        if self.is_ready:
            return
        try:
            self._wait_ready()
        except LiveError:
            self._start(fresh=False)
            self._wait_ready()
        self.is_ready = True

    def _wait_ready(self) -> None:
        try:
            msg, _, _ = self.chan.recv()               # ("ready", None) or ("failed", why)
        except (EOFError, OSError) as e:
            self.stop()
            raise LiveError(f"the zygote did not start: {e}") from e
        if msg[0] != "ready":
            self.stop()
            raise LiveError(f"the zygote did not start: {msg[1]}")

    def _start(self, fresh: bool) -> None:
        self.chan, theirs = _sys.chan_pair(TIMEOUT)
        spawner, theirs_spawner = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # our child, so that the inits it clones with CLONE_PARENT are ours to reap
            self.spawner_pid = os.posix_spawn(
                str(spawner_path()), ["mountsim-spawn"], {},
                file_actions=[(os.POSIX_SPAWN_DUP2, spawner.fileno(), SPAWNER_FD)])
        finally:
            spawner.close()
        keep = sorted((theirs.fileno(), theirs_spawner.fileno()))
        limits = json.dumps({name: getattr(guard, name) for name in sandbox.LIMITS})
        path = json.dumps([os.path.abspath(p) for p in sys.path])
        loop = str(zygote_loop_path())
        argv = [sys.executable, *_interpreter_flags(), "-c", sandbox.ZYGOTE_BOOT,
                f"{theirs.fileno()},{theirs_spawner.fileno()}", limits, path, sandbox.STAMP,
                loop]
        pid = os.fork()
        if pid == 0:
            try:
                self.chan.close()
                os.closerange(3, keep[0])              # hold nothing of the controller's
                os.closerange(keep[0] + 1, keep[1])
                os.closerange(keep[1] + 1, 1 << 20)
                if fresh and sys.executable:
                    for fd in keep:
                        os.set_inheritable(fd, True)
                    try:
                        os.execv(sys.executable, argv)
                    except OSError:
                        pass                           # not here: be the zygote as forked
                    for fd in keep:
                        os.set_inheritable(fd, False)
                sandbox.zygote_main(_sys.Chan(theirs), theirs_spawner, loop)
            finally:
                os._exit(1)
        theirs.close()
        theirs_spawner.close()
        self.pid = pid

    def request(self, start_dirs: list[str]) -> _Spawn:
        """Ask for a new sandbox; it sets itself up while the caller goes on."""
        chan, theirs = _sys.chan_pair(TIMEOUT)
        try:
            socket.send_fds(self.chan.sock, [b"s"], [theirs.fileno()])
            chan.send(("start", list(start_dirs)))     # the main process's first read
        except BaseException:
            chan.close()
            raise
        finally:
            theirs.close()
        s = _Spawn(self, chan, list(start_dirs))
        self.waiting.append(s)
        return s

    def settle(self, spawn: _Spawn) -> None:
        """Read the zygote's answers, in order, up to *spawn*'s."""
        while spawn.init_pid is None and spawn.failed is None:
            try:
                init, err, step = ZYGOTE_ANSWER.unpack(
                    self.chan.sock.recv(ZYGOTE_ANSWER.size, socket.MSG_WAITALL))
            except (OSError, struct.error) as e:
                init, err, step = 0, 0, f"the zygote did not answer: {e or 'EOF'}"
            s = self.waiting.popleft()                 # only once its answer is read
            if isinstance(step, str):
                s.failed = step
            elif not err:
                s.init_pid = init
            else:
                s.failed = f"{_FAILED_STEP.get(step, step)}: {os.strerror(err)}"
                if init:                               # an init that failed: ours to reap
                    _kill_and_reap(init)

    def stop(self) -> None:
        """Close the zygote's channel (it exits on EOF), make sure, and reap it and the
        spawner (which exits once the zygote is gone)."""
        self.chan.close()
        for pid in (self.pid, self.spawner_pid):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


class _Spawn:
    """A sandbox asked of the zygote: being set up, or set up and waiting to be used."""

    def __init__(self, zygote: _Zygote, chan: _sys.Chan, start_dirs: list[str]) -> None:
        self.zygote, self.chan, self.start_dirs = zygote, chan, start_dirs
        self.init_pid: int | None = None          # our child (CLONE_PARENT): we reap it
        self.failed: str | None = None

    def complete(self) -> tuple[_sys.Chan, int, int, int]:
        """The sandbox after set-up: (the main process's channel, its host pid, the
        sandbox init's host pid, the main process's pid in the sandbox)."""
        self.zygote.settle(self)
        chan = self.chan
        if self.init_pid is None:
            chan.close()
            raise LiveError(f"sandbox did not start: {self.failed}")
        try:
            (status, detail), _, host_pid = chan.recv()
        except (EOFError, OSError) as e:
            self.discard()
            raise LiveError(f"sandbox did not start: {e}") from e
        if status != "hello" or host_pid is None:
            self.discard()
            raise LiveError(str(detail) if status == "failed" else "sandbox did not start")
        return chan, host_pid, self.init_pid, detail

    def discard(self) -> None:
        """End this sandbox, unused: kill its init (the whole pid namespace goes with it)
        and reap it."""
        self.chan.close()
        if self.failed is None and self.init_pid is None:
            try:
                self.zygote.settle(self)
            except OSError:
                pass
        if self.init_pid is not None:
            _kill_and_reap(self.init_pid)
            self.init_pid = None


_DYING: list[int] = []         # sandbox inits sent SIGKILL and not reaped yet (our children)
MAX_DYING = 8                  # close() waits for the oldest beyond this many
os.register_at_fork(after_in_child=_DYING.clear)    # a fork's children are not these


def _kill_and_reap(pid: int, wait: bool = True) -> None:
    """SIGKILL our child *pid*, a sandbox init, and reap it: at once with *wait* (TIMEOUT
    at most, so that nothing hangs), else later. An init exits only once every process of
    its pid namespace has been reaped (zap_pid_ns_processes()): ~1 ms of teardown that a
    closing session need not wait for, as SIGKILL has been sent to all of them; the next
    call reaps what has finished by then, at most MAX_DYING are left so, and
    wait_for_dying() waits for the rest. The pid stays ours until reaped, so it cannot
    name another process meanwhile."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _DYING.append(pid)
    for p in _DYING[:-1]:
        _reap(p, 0)
    if wait:
        _reap(pid, TIMEOUT)
    for p in _DYING[:max(0, len(_DYING) - MAX_DYING)]:
        _reap(p, TIMEOUT)


def wait_for_dying() -> None:
    """Wait for (TIMEOUT each at most) and reap every sandbox init left dying."""
    for p in list(_DYING):
        _reap(p, TIMEOUT)


def _reap(pid: int, timeout: float) -> None:
    """Reap the dying init *pid* if it exits within *timeout* seconds (0: if it has)."""
    if timeout:
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            fd = None
        if fd is not None:
            try:
                select.select([fd], [], [], timeout)
            finally:
                os.close(fd)
    try:
        done = os.waitpid(pid, os.WNOHANG | WALL)[0] == pid
    except ChildProcessError:
        done = True
    if done and pid in _DYING:
        _DYING.remove(pid)


def _shutdown(zygote: _Zygote, pool: list[_Spawn]) -> None:
    """End the sandboxes made ahead of time, then the zygote. In a process forked since
    (the zygote and the inits are not its children), only drop our copies of the fds."""
    if os.getpid() != zygote.owner:
        while pool:
            pool.pop().chan.close()
        zygote.chan.close()
        return
    while pool:
        pool.pop().discard()
    zygote.stop()


# -- the controller ----------------------------------------------------------------------

RUN_AHEAD = 64                 # steps sent to a sandbox process at once, at most
POOL = 2                       # sandboxes set up ahead of time (per start_dirs)


@attrs.define
class _Proc:
    """Controller-side view of one trace process."""

    host_pid: int
    pidfd: int
    chan: _sys.Chan
    fds: set[int] = attrs.Factory(set)          # trace fds it has (mirrors the real map)
    alive: bool = True


class LiveSession:
    """A sandbox running one program; see the module docstring.

    Run-ahead: when execute() is given the program's own next step (the same object), the
    session sends it together with the steps of the same process that follow it (up to a
    fork, an exit, another process's step, or one the controller refuses or answers
    itself), in one message; the sandbox process runs them in order, stopping at a refusal,
    and sends each result as soon as it has it; execute() hands them out one by one. The
    kernel sees the same calls in the same order as in lockstep; only the caller could
    tell, by reading a table between two such steps: mountinfo() then raises, and a caller
    that does (`run_pair(with_tables=True)`) sets `run_ahead = False` first.
    """

    def __init__(self, backend: LiveBackend, program: Program) -> None:
        self.backend = backend
        self.procs: dict[int, _Proc] = {}
        self._retired: list[_Proc] = []           # replaced by a reused label; still ours
        self.notes: list[str] = []                # steps not reproduced live, and why
        self.closed = False
        self.refused: str | None = None           # set once a step was refused: no more run
        self.nsteps = 0
        self.run_ahead = True
        self._steps = program.steps
        self._cursor = 0                          # where the next program step is looked for
        self._index: dict[int, int] | None = None  # id(step) -> its index in self._steps
        self._ahead: collections.deque[Step] = collections.deque()  # sent, answer not taken
        self._broken: str | None = None           # why no step can run any more
        self.start_dirs = list(program.start_dirs)
        chan, host_pid, self.init_pid, ns_pid = backend.take(self.start_dirs).complete()
        self.ns_pids: frozenset[int] = frozenset({ns_pid})   # pids as the sandbox sees them
        self.links_made = False                   # a symlink exists (guard.path_refusal())
        try:
            self._adopt(program.main_pid, chan, host_pid, set())
        except OSError:
            chan.close()
            _kill_and_reap(self.init_pid)
            raise

    def _adopt(self, pid: int, chan: _sys.Chan, host_pid: int, fds: set[int]) -> None:
        old = self.procs.get(pid)
        if old is not None:
            self._retired.append(old)
        self.procs[pid] = _Proc(host_pid, os.pidfd_open(host_pid), chan, fds)

    def _proc(self, pid: int) -> _Proc:
        p = self.procs.get(pid)
        if p is None or not p.alive:
            raise KeyError(f"no live process with trace pid {pid}")
        return p

    def execute(self, step: Step) -> Result:
        """Run *step* as trace process step.pid; kernel errors come back as errno names.

        Raises guard.Refused, without running it, for a step the sandbox will not run (and
        for every step after one)."""
        p = self._proc(step.pid)
        if self._broken is None and self._ahead and step is not self._ahead[0]:
            self._broken = (f"{step.file}:{step.line}: a step out of the program's order while "
                            "the sandbox ran ahead (set run_ahead = False for that)")
        if self._broken is not None:              # answers of steps it skipped are pending
            raise LiveError(self._broken)
        why = self.refused or guard.static_refusal(step.name, tuple(step.args),
                                                   len(self._every()), self.nsteps)
        if why:
            self._refuse(step, why)
        self.nsteps += 1
        if step.name in ("exit", "exit_group"):
            self._exit(p, int(step.args[0] or 0) if step.args else 0)
            return Result(0)
        if step.name in RETURNS_PID:
            return self._fork(p, step)
        if step.name not in SYSCALLS or step.name not in _sys.NR[_sys.ARCH]:
            self.notes.append(f"{step.file}:{step.line}: {step.name}: not run live (ENOSYS)")
            return Result(-1, "ENOSYS")
        if self._ahead:
            self._ahead.popleft()
        else:
            batch = self._plan(step)
            p.chan.send(("steps", [(s.name, tuple(s.args), s.label) for s in batch],
                         self.ns_pids, self.links_made))
            self._ahead.extend(batch[1:])
        ret, err, out = self._answer(p, step.name)
        if ret == "refused":
            self._ahead.clear()                   # the sandbox stopped there
            self._refuse(step, err)
        self.links_made = self.links_made or (err is None and step.name in sandbox.MAKES_LINKS)
        if err is None and makes_fd(step.name, step.args):
            p.fds.add(ret)
        elif err is None and step.name == "close":
            p.fds.discard(step.args[0])
        return Result(ret, err, out)

    def _plan(self, step: Step) -> list[Step]:
        """*step*, and the program's steps after it that its process can run with it."""
        if not self.run_ahead:
            return [step]
        if self._index is None:
            self._index = {id(s): i for i, s in enumerate(self._steps)}
        steps, i = self._steps, self._index.get(id(step), -1)
        if i < self._cursor or steps[i] is not step:
            return [step]                         # not the program's next: run it alone
        batch, nprocs = [step], len(self._every())
        for s in steps[i + 1:i + RUN_AHEAD]:
            if (s.pid != step.pid or s.name in ("exit", "exit_group") or s.name in RETURNS_PID
                    or s.name not in SYSCALLS or s.name not in _sys.NR[_sys.ARCH]
                    or guard.static_refusal(s.name, tuple(s.args), nprocs,
                                            self.nsteps + len(batch) - 1)):
                break
            batch.append(s)
        self._cursor = i + len(batch)
        return batch

    def _refuse(self, step: Step, why: str) -> None:
        """Record the refusal (a note naming the line) and stop this session's run."""
        if self.refused is None:
            self.refused = why
            self.notes.append(f"{step.file}:{step.line}: refused: {why}")
        raise guard.Refused(f"{step.file}:{step.line}: refused: {why}")

    def _answer(self, p: _Proc, what: str) -> tuple:
        """*p*'s next (ret, errno, out) reply."""
        try:
            reply, _, _ = p.chan.recv()
        except (EOFError, OSError) as e:
            self._ahead.clear()
            raise LiveError(f"sandbox process {p.host_pid} did not answer {what}: {e}") from e
        if reply[0] == "crash":
            self._ahead.clear()
            raise LiveError(f"sandbox process {p.host_pid} crashed:\n{reply[1]}")
        return reply

    def _ask(self, p: _Proc, msg: tuple, fds: tuple[int, ...] = ()) -> tuple:
        """Send *msg* to *p* and return its (ret, errno, out) reply."""
        p.chan.send(msg, fds)
        return self._answer(p, msg[1])

    def _fork(self, p: _Proc, step: Step) -> Result:
        _, why = sandbox.clone_flags(step.name, tuple(step.args))
        if why:
            self.notes.append(f"{step.file}:{step.line}: {why} (ENOSYS)")
            return Result(-1, "ENOSYS")
        chan, theirs = _sys.chan_pair(TIMEOUT)
        try:
            ret, err, _ = self._ask(p, ("fork", step.name, tuple(step.args)), (theirs.fileno(),))
            if err is None:
                (_, own_pid), _, host_pid = chan.recv()   # the child's hello: its host pid
        except BaseException:
            chan.close()
            raise
        finally:
            theirs.close()
        if err is not None:
            chan.close()
            return Result(-1, err)
        child = step.label if step.label is not None else max(self.procs) + 1
        self._adopt(child, chan, host_pid, set(p.fds))
        self.ns_pids = self.ns_pids | {ret, own_pid} | _sandbox_numbers(host_pid)
        return Result(child)

    def _exit(self, p: _Proc, status: int) -> None:
        """exit/exit_group: wait until the process has exited (its pidfd turns readable),
        or is parked in zap_pid_ns_processes().

        Kernel: do_exit() drops the namespaces (exit_task_namespaces) and runs the deferred
        mntput()s (exit_task_work) before exit_notify() wakes pidfd pollers. The init of a
        pid namespace then waits in zap_pid_ns_processes() until every process of its
        namespace has been reaped, and one whose parent is outside the namespace (the
        trace process that unshared it: trace processes do not reap) never is; by then its
        exit is done for everything a trace can see, so that is where the wait ends too
        (it waited TIMEOUT, 30 s, before).
        """
        p.chan.send(("exit", status))
        deadline = time.monotonic() + TIMEOUT
        parked = False
        while (not select.select([p.pidfd], [], [], 0.002)[0]
               and not (parked := _parked_in_zap(p.host_pid)) and time.monotonic() < deadline):
            pass
        p.alive = False
        p.chan.close()
        if parked:                  # it has SIGKILLed its namespace: wait for those deaths
            self._wait_killed(deadline)

    def _wait_killed(self, deadline: float) -> None:
        """Wait until every trace process with a SIGKILL pending (zap_pid_ns_processes()
        sent it to the whole namespace before it parked) has exited, so that pids() does
        not list a process the kernel is about to reap (found by the campaign: a table
        listing pids 3 and 4 live, gone in the model, one run in a few)."""
        for q in self.procs.values():
            while (q.alive and _sigkill_pending(q.host_pid)
                   and not select.select([q.pidfd], [], [], 0.002)[0]
                   and time.monotonic() < deadline):
                pass

    def has_fd(self, pid: int, fd: int) -> bool:
        p = self.procs.get(pid)
        return p is not None and fd in p.fds

    def mountinfo(self, pid: int) -> str:
        """/proc/<host pid>/mountinfo read from the host: the kernel renders it relative to
        the target task's root, in the target's namespace (fs/proc_namespace.c)."""
        if self._ahead:
            raise LiveError("mountinfo() between steps the sandbox ran ahead: the table would "
                            "show later steps (set run_ahead = False first)")
        p = self._proc(pid)
        with open(f"/proc/{p.host_pid}/mountinfo") as f:
            return f.read()

    def pids(self) -> list[int]:
        """Trace pids still running. A process can die without an exit step: the init of
        its pid namespace exited (zap_pid_ns_processes()); its pidfd is then readable."""
        for p in self.procs.values():
            if p.alive and select.select([p.pidfd], [], [], 0)[0]:
                p.alive = False
        return [pid for pid, p in self.procs.items() if p.alive]

    def host_pids(self) -> list[int]:
        """Host pids of every process this session made, exited ones included."""
        return [p.host_pid for p in self._every()]

    def _every(self) -> list[_Proc]:
        return [*self.procs.values(), *self._retired]

    def close(self) -> None:
        """SIGKILL every process through its pidfd and the sandbox init, whose death ends
        whatever is left in its pid namespace, and ask for the next sandboxes. Returns
        without waiting for the teardown: the init (our child) is reaped later
        (_kill_and_reap()); LiveBackend.close() and wait_for_dying() wait for it."""
        if self.closed:
            return
        self.closed = True
        self._ahead.clear()
        for p in self._every():
            try:
                signal.pidfd_send_signal(p.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.close(p.pidfd)
            p.chan.close()
            p.alive = False
        try:
            os.kill(self.init_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.backend.refill(self.start_dirs)
        _kill_and_reap(self.init_pid, wait=False)

    def __enter__(self) -> LiveSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LiveBackend:
    """Runs programs on this machine's kernel, as root, each in a private mount namespace.

    The zygote sets sandboxes up ahead of time: when a session closes, up to POOL sandboxes
    for the same start_dirs are asked for, and the next start() takes the oldest."""

    name = "live"
    start_caps = None              # this machine's: the model's default (host_caps())

    def __init__(self) -> None:
        self._why: str | None | bool = False            # False: not probed yet
        self._zygote: _Zygote | None = None
        self._pool: list[_Spawn] = []
        self._finalizer: weakref.finalize | None = None

    def unavailable(self) -> str | None:
        """None when usable; else why not (probed once per backend)."""
        if self._why is False:
            self._why = self._probe()
            if self._why is None and self._zygote is None:
                self._launch(wait=False)        # its interpreter starts while we go on
        return self._why  # type: ignore[return-value]

    @staticmethod
    def _probe() -> str | None:
        why = _sys.unsupported_arch()
        if why:
            return why
        if os.geteuid() != 0 or not _sys.has_cap(_sys.CAP_SYS_ADMIN):
            return "the live backend needs root with CAP_SYS_ADMIN"
        err = _sys.probe_unshare_newns()
        if err:
            return f"unshare(CLONE_NEWNS) fails here: {uapi.errno_name(err)}"
        try:
            path = spawner_path()
            zygote_loop_path()
        except native.BuildError as e:
            return f"the live backend's sandbox init cannot be built: {e}"
        if not os.access(path, os.X_OK):        # e.g. a cache on a noexec mount
            return (f"the live backend's sandbox init {path} cannot be run here (a noexec "
                    "mount? set MOUNTSIM_CACHE to a directory where programs can run)")
        return None

    def start(self, program: Program) -> LiveSession:
        if program.start_mountinfo:
            raise LiveUnsupported("the live kernel cannot start from a given start-mountinfo table")
        mine = versions.row_for_release(os.uname().release)
        if program.kernel and program.kernel != mine:
            raise LiveUnsupported(f"the trace is for Linux {program.kernel}; this kernel is "
                                  f"{os.uname().release} (use --backend vm)")
        why = self.unavailable()
        if why:
            raise LiveUnsupported(why)
        return LiveSession(self, program)

    def zygote(self) -> _Zygote:
        """The zygote, started on first use (and again if it died)."""
        z = self._zygote
        if z is not None and (z.owner != os.getpid() or not _alive_child(z.pid)):
            self.close()
            z = None
        if z is None:
            z = self._launch(wait=True)
        z.ready()
        return z

    def _launch(self, wait: bool) -> _Zygote:
        z = self._zygote = _Zygote(wait)
        self._finalizer = weakref.finalize(self, _shutdown, z, self._pool)
        return z

    def take(self, start_dirs: list[str]) -> _Spawn:
        """A sandbox for *start_dirs*: the oldest one set up ahead, or a new one."""
        z = self.zygote()
        for s in self._pool:
            if s.start_dirs == start_dirs:
                self._pool.remove(s)
                return s
        return z.request(start_dirs)

    def refill(self, start_dirs: list[str]) -> None:
        """Ask for sandboxes for *start_dirs* until POOL are on the way (others are ended).
        A zygote that fails is stopped, so that close() never hangs or raises."""
        z = self._zygote
        if z is None:
            return
        for s in [s for s in self._pool if s.start_dirs != start_dirs]:
            self._pool.remove(s)
            s.discard()
        try:
            while len(self._pool) < POOL:
                self._pool.append(z.request(start_dirs))
        except OSError:
            self.close()

    def close(self) -> None:
        """End the sandboxes set up ahead, stop the zygote and wait for the sandboxes of
        closed sessions to be gone (sessions still open are not affected: their inits
        are ours)."""
        if self._finalizer is not None:
            self._finalizer()
        self._zygote = self._finalizer = None
        wait_for_dying()

    def __enter__(self) -> LiveBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sigkill_pending(host_pid: int) -> bool:
    """Whether SIGKILL is pending for the process (SigPnd/ShdPnd of /proc/<pid>/status)."""
    try:
        with open(f"/proc/{host_pid}/status") as f:
            for line in f:
                if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & 1 << 8:
                    return True
    except (OSError, ValueError):
        pass
    return False


def _parked_in_zap(host_pid: int) -> bool:
    """Whether the process sleeps in zap_pid_ns_processes() (its /proc wchan)."""
    try:
        with open(f"/proc/{host_pid}/wchan") as f:
            return f.read() == "zap_pid_ns_processes"
    except OSError:
        return False


def _sandbox_numbers(host_pid: int) -> set[int]:
    """A sandbox process's pid in every pid namespace below the host's (the NSpid line of
    /proc/<pid>/status, from the host's down): what a proc mounted anywhere in the sandbox
    may name it. A process two namespaces down has a number in between that neither its
    parent's fork nor its own getpid() shows."""
    try:
        with open(f"/proc/{host_pid}/status") as f:
            for line in f:
                if line.startswith("NSpid:"):
                    return {int(n) for n in line.split()[2:]}
    except (OSError, ValueError):
        pass
    return set()


def _alive_child(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return False
