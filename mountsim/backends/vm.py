"""The VM backend: programs run on a real Debian 7.x kernel booted in a QEMU guest.

Model-only (it drives a real kernel; no kernel function is mirrored).

One guest serves many programs. The first `start()` boots it (qemu-system-x86_64, TCG,
`-M microvm,pcie=on`, the uncompressed kernel booted directly through its PVH entry, the
project's own initramfs, vm/initramfs.py); each program then runs in the guest's
LiveBackend sandbox (vm/guest.py), so every sandbox rule is the live backend's. Requests
and replies are JSON lines over a virtio-serial port whose host end is a unix socket in
a private temporary directory; nothing the guest sends is ever unpickled (vm/wire.py).

Lifetime. qemu runs with PR_SET_PDEATHSIG=SIGKILL (it dies with the thread that started
it), the guest powers off when its port closes, and a weakref finalizer (which also runs
at interpreter exit, like atexit) kills and reaps qemu: no qemu outlives its backend. A
guest that does not answer within `timeout` seconds is killed and the call raises
VmError saying so; the next start() boots a fresh guest.

Kernel: the guest's `uname -r` selects the model's Semantics row
(versions.row_for_release); `release` and `row` say which build ran. A trace's own
`# kernel:` header does not stop it: the VM runs it on its kernel, and the caller runs the
model at `row` (the live backend, by contrast, refuses a trace for another version).

Limitations: x86_64 hosts; no start-mountinfo (as live); one request at a time.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any

from .. import uapi, versions
from ..errors import StepRefused
from ..trace.program import Program, Result, Step
from ..user_namespace import root_caps
from ..vm import wire
from ..vm.guest import PORT_NAME
from ..vm.kernels import DEFAULT_SERIES, PINS, Kernel, KernelUnavailable, fetch
from .live import LiveUnsupported

QEMU = "qemu-system-x86_64"
# The guest's processes descend from its /init, which the kernel starts with init_cred's
# full capability sets (kernel/cred.c): the model's first process starts so against it.
GUEST_CAPS = root_caps(uapi.CAP_FULL_SET)
TIMEOUT = 30.0              # seconds a guest may take to answer one request
BOOT_TIMEOUT = 90.0         # seconds from qemu's start to the agent's hello (TCG is slow)
PR_SET_PDEATHSIG = 1
# A lean command line. no_timer_check hangs these kernels under TCG; tsc_early_khz (added
# by _cmdline) spares the PIT calibration, which fails on a busy host ("Unable to
# calibrate against PIT") and then hangs the boot.
CMDLINE = "console=ttyS0 quiet panic=-1 nokaslr random.trust_cpu=on tsc=reliable"


class VmError(RuntimeError):
    """The VM failed: it did not boot, hung, crashed, or broke the protocol."""


def _pdeathsig() -> None:                     # runs in the child between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _stop(proc: subprocess.Popen, sock: socket.socket | None, tmp: str) -> None:
    """Kill and reap qemu, close the port, remove the temporary directory."""
    if sock is not None:
        sock.close()
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    shutil.rmtree(tmp, ignore_errors=True)


class Vm:
    """One running guest and its port. Model-only."""

    def __init__(self, kernel: Kernel, image: Path, memory_mb: int = 256) -> None:
        self.tmp = tempfile.mkdtemp(prefix="mountsim-vm-")
        self.console = Path(self.tmp) / "console.log"
        path = os.path.join(self.tmp, "agent.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        self.sock: socket.socket | None = None
        self.buf = b""
        started = time.monotonic()
        with open(Path(self.tmp) / "qemu.log", "wb") as log:
            self.proc = subprocess.Popen(
                _qemu_argv(kernel.vmlinux, image, path, self.console, memory_mb),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True,
                preexec_fn=_pdeathsig)
        self._finalizer = weakref.finalize(self, _stop, self.proc, None, self.tmp)
        try:
            self.sock = self._accept(listener, started + BOOT_TIMEOUT)
        finally:
            listener.close()
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _stop, self.proc, self.sock, self.tmp)
        hello = self._recv("boot", BOOT_TIMEOUT).get("hello")
        if not isinstance(hello, dict) or not isinstance(hello.get("release"), str):
            raise self._fail(f"the guest agent said {hello!r:.200} instead of hello")
        self.release: str = hello["release"]
        uptime = hello.get("uptime")
        self.guest_uptime = float(uptime) if isinstance(uptime, (int, float)) else 0.0
        self.why: str | None = hello.get("why") if isinstance(hello.get("why"), str) else None
        self.boot_seconds = time.monotonic() - started

    def _accept(self, listener: socket.socket, deadline: float) -> socket.socket:
        """qemu's connection to the port, watching that qemu is still running."""
        listener.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                return listener.accept()[0]
            except socket.timeout:
                if self.proc.poll() is not None:
                    raise self._fail(f"qemu exited with status {self.proc.returncode}") from None
        raise self._fail("qemu did not connect the agent port")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self._finalizer.alive and self.proc.poll() is None

    def request(self, msg: dict, timeout: float = TIMEOUT) -> dict:
        """Send one request; its reply. Raises VmError (the guest is then stopped)."""
        if not self.alive():
            raise VmError("the VM is not running")
        try:
            self.sock.sendall(wire.encode(msg))  # type: ignore[union-attr]
        except OSError as e:
            raise self._fail(f"cannot send {msg.get('op')}: {e}") from None
        reply = self._recv(str(msg.get("op")), timeout)
        if reply.get("error") in ("crash", "protocol"):
            raise VmError(f"guest agent {reply['error']} on {msg.get('op')}: {reply.get('msg')}")
        return reply

    def _recv(self, what: str, timeout: float) -> dict:
        """The next reply line, decoded; the guest is stopped on a timeout or bad data."""
        deadline = time.monotonic() + timeout
        parts, size = [self.buf], len(self.buf)
        while b"\n" not in parts[-1]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._fail(f"the guest did not answer {what} within {timeout:g}s")
            self.sock.settimeout(left)  # type: ignore[union-attr]
            try:
                chunk = self.sock.recv(1 << 20)  # type: ignore[union-attr]
            except socket.timeout:
                continue
            except OSError as e:
                raise self._fail(f"port error during {what}: {e}") from None
            if not chunk:
                raise self._fail(f"the guest closed its port during {what}")
            parts.append(chunk)
            size += len(chunk)
            if size > wire.MAX_LINE:
                raise self._fail("the guest sent an over-long message")
        line, _, self.buf = b"".join(parts).partition(b"\n")
        try:
            reply = wire.decode(line)
        except wire.WireError as e:
            raise self._fail(f"bad reply to {what}: {e}") from None
        if not isinstance(reply, dict):
            raise self._fail(f"bad reply to {what}: {reply!r:.100}")
        return reply

    def _fail(self, why: str) -> VmError:
        """Stop the guest; a VmError naming *why*, qemu's pid and the last lines qemu and
        the guest's console wrote (read before stop() removes them)."""
        tails = []
        for name, path in (("qemu", Path(self.tmp) / "qemu.log"), ("console", self.console)):
            try:
                lines = path.read_text(errors="replace").strip().splitlines()[-5:]
            except OSError:
                lines = []
            if lines:
                tails.append(f"; {name}: " + " | ".join(lines))
        pid = self.proc.pid
        self.stop()
        return VmError(f"{why}; qemu (pid {pid}) killed{''.join(tails)}")

    def stop(self) -> None:
        self._finalizer()


def _qemu_argv(vmlinux: Path, image: Path, sock: str, console: Path, memory_mb: int) -> list[str]:
    """qemu's command line: microvm with a PCIe host bridge (Debian's cloud kernels have
    virtio-pci built in, virtio-mmio only as a module), one TCG vCPU, no disks, no net."""
    return [QEMU, "-M", "microvm,pcie=on", "-accel", "tcg", "-cpu", "max", "-smp", "1",
            "-m", str(memory_mb), "-nodefaults", "-no-user-config", "-display", "none",
            "-no-reboot", "-serial", f"file:{console}",
            "-kernel", str(vmlinux), "-initrd", str(image), "-append", _cmdline(),
            "-device", "virtio-serial-pci", "-chardev", f"socket,id=agent,path={sock}",
            "-device", f"virtserialport,chardev=agent,name={PORT_NAME}"]


def _cmdline() -> str:
    """CMDLINE plus tsc_early_khz: under TCG the guest's TSC is the host's, whose rate is
    /proc/cpuinfo's "cpu MHz" on hosts with constant_tsc."""
    try:
        with open("/proc/cpuinfo") as f:
            mhz = next(float(ln.split(":")[1]) for ln in f if ln.startswith("cpu MHz"))
    except (OSError, StopIteration, ValueError):
        return CMDLINE
    return f"{CMDLINE} tsc_early_khz={int(mhz * 1000)}"


class VmSession:
    """One program in a fresh sandbox in the guest (the Session interface)."""

    def __init__(self, vm: Vm, program: Program, timeout: float) -> None:
        self.vm, self.timeout = vm, timeout
        self.notes: list[str] = []
        self.closed = False
        start = {**wire.program_to_wire(program), "kernel": None}   # the guest's kernel runs it
        reply = self._ask({"op": "start", "program": start})
        self.sid = reply["sid"]
        self._pids = _int_list(reply.get("pids"))

    def _ask(self, msg: dict) -> dict:
        reply = self.vm.request(msg, self.timeout)
        err = reply.get("error")
        if err == "unsupported":
            raise LiveUnsupported(str(reply.get("msg")))
        if err == "refused":
            raise StepRefused(str(reply.get("msg")))
        if err == "key":
            raise KeyError(str(reply.get("msg")))
        if err:
            raise VmError(f"guest: {reply.get('msg')}")
        return reply

    def execute(self, step: Step) -> Result:
        reply = self._ask({"op": "execute", "sid": self.sid, "step": wire.step_to_wire(step)})
        self._pids = _int_list(reply.get("pids"))
        self.notes.extend(str(n) for n in reply.get("notes") or ())
        return wire.result_from_wire(reply.get("result"))

    def mountinfo(self, pid: int) -> str:
        text = self._ask({"op": "mountinfo", "sid": self.sid, "pid": pid}).get("text")
        if not isinstance(text, str):
            raise VmError("guest sent a mountinfo that is not text")
        return text

    def pids(self) -> list[int]:
        """Trace pids alive after the last step (the guest reports them with each reply)."""
        return list(self._pids)

    def has_fd(self, pid: int, fd: int) -> bool:
        return bool(self._ask({"op": "has_fd", "sid": self.sid, "pid": pid, "fd": fd}).get("has"))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.vm.alive():
            self._ask({"op": "close", "sid": self.sid})

    def __enter__(self) -> VmSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _int_list(v: Any) -> list[int]:
    if not isinstance(v, list) or not all(isinstance(x, int) for x in v):
        raise VmError(f"guest sent bad pids {v!r:.100}")
    return v


class VmBackend:
    """Runs programs on Debian's *kernel* series ("7.1") in a QEMU guest, booted lazily."""

    name = "vm"
    start_caps = GUEST_CAPS        # what the model's first process starts with against it

    def __init__(self, kernel: str = DEFAULT_SERIES, timeout: float = TIMEOUT,
                 memory_mb: int = 256) -> None:
        self.series, self.timeout, self.memory_mb = kernel, timeout, memory_mb
        self.kernel: Kernel | None = None
        self.image: Path | None = None
        self.vm: Vm | None = None
        self.boots = 0
        self._why: str | None | bool = False           # False: not probed yet

    def unavailable(self) -> str | None:
        """None when a guest can be booted here; else why not (one line). Fetches the
        kernel and builds the initramfs on first use (both cached)."""
        if self._why is False:
            self._why = self._probe()
        return self._why  # type: ignore[return-value]

    def _probe(self) -> str | None:
        if self.series not in PINS:
            return f"no Debian kernel series {self.series!r} (known: {', '.join(PINS)})"
        if os.uname().machine != "x86_64":
            return f"the VM backend needs an x86_64 host, not {os.uname().machine}"
        if not shutil.which(QEMU):
            return f"{QEMU} not found (apt-get install qemu-system-x86)"
        try:
            self.kernel = fetch(self.series)
        except (KernelUnavailable, OSError) as e:
            return f"kernel {self.series}: {e}"
        from ..vm import initramfs
        try:
            self.image = initramfs.build()
        except (OSError, subprocess.CalledProcessError) as e:
            return f"cannot build the guest initramfs: {e}"
        return None

    def boot(self) -> Vm:
        """The running guest, booted now if there is none (or the last one failed)."""
        if self.vm is not None and self.vm.alive():
            return self.vm
        why = self.unavailable()
        if why:
            raise LiveUnsupported(why)
        assert self.kernel is not None and self.image is not None
        self.vm = Vm(self.kernel, self.image, self.memory_mb)
        self.boots += 1
        if self.vm.why:
            vm, self.vm = self.vm, None
            vm.stop()
            raise VmError(f"the live backend cannot run in the guest: {vm.why}")
        return self.vm

    @property
    def release(self) -> str:
        """`uname -r` of the running guest (booting it if needed)."""
        return self.boot().release

    @property
    def row(self) -> str | None:
        """The model's Semantics row for the guest's kernel (None: no such row)."""
        return versions.row_for_release(self.release)

    @property
    def note(self) -> str:
        """Which build ran when it was not the pinned one ("" otherwise)."""
        return self.kernel.note if self.kernel else ""

    def start(self, program: Program) -> VmSession:
        if program.start_mountinfo:
            raise LiveUnsupported("the VM cannot start from a given start-mountinfo table")
        return VmSession(self.boot(), program, self.timeout)

    def record(self, strace: str, exe: str, argv: list[str], dirs: list[str],
               timeout: float, binaries: list[str]):
        """Run *argv* under strace in the recorder's sandbox in the guest; a recorder.Run.

        *binaries* (with strace and *exe*) and their libraries are copied into the guest
        at their host paths first. Raises RecordError (one line) or VmError.
        """
        import base64

        from ..vm.initramfs import binaries as collect
        from .recorder import RecordError, Run
        files = [[p, mode, base64.b64encode(data).decode()]
                 for p, (mode, data) in collect([strace, exe, *binaries]).items()]
        reply = self.boot().request({"op": "record", "files": files, "strace": strace,
                                     "exe": exe, "argv": argv, "dirs": dirs,
                                     "timeout": timeout}, timeout + TIMEOUT)
        if reply.get("error"):
            raise RecordError(f"in the VM: {reply.get('msg')}")
        r = reply.get("run")
        try:
            snaps = {int(pid): text for pid, text in r["snapshots"].items()
                     if isinstance(text, str)}
            return Run(str(r["start_table"]), snaps, str(r["strace_text"]), int(r["status"]),
                       int(r["strace_pid"]), bool(r["timed_out"]))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise VmError(f"bad record reply from the guest: {e}") from None

    def close(self) -> None:
        """Stop the guest (sessions still open end with it)."""
        if self.vm is not None:
            self.vm.stop()
        self.vm = None

    def __enter__(self) -> VmBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
