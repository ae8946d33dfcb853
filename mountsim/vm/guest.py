"""The agent inside the VM: init (pid 1) and a server that runs the live backend.

Model-only (it drives the guest's real kernel through mountsim.backends.live).

`init_main()` is the image's /init. As pid 1 it makes the root a real mount (a bind of
the initramfs over itself, moved onto "/" and chrooted into, as switch_root does — the
live sandbox's pivot_root refuses a root with no parent mount, pivot_root(2) EINVAL),
mounts proc, devtmpfs and sysfs, forks the agent, reaps every orphan, and powers the
machine off when the agent ends (qemu runs with -no-reboot, so the VM then exits).

`agent_main()` opens the virtio-serial port named `PORT_NAME` and answers one request at a
time, JSON lines both ways (vm/wire.py): hello (sent first: `uname -r`, and why the live
backend cannot run here, if so), start, execute, mountinfo, pids, has_fd, close, and
record (the recorder's strace sandbox, on binaries the host sends). Every
program runs in a LiveSession — the same sandbox (fresh mount namespace, made
MS_REC|MS_PRIVATE, pivoted into a new tmpfs) as on the host, so its rules live in one place.
Sandbox processes are forked by the live backend's zygote, which holds no fd of ours: a
trace cannot reach the port.

Limitations: one client, one request at a time; no start-mountinfo (as live).
"""

from __future__ import annotations

import ctypes
import gc
import os
import traceback
from typing import Any

from .. import uapi
from ..backends import _sys
from ..backends.live import LiveBackend, LiveError, LiveSession, LiveUnsupported
from ..errors import StepRefused
from . import wire

PORT_NAME = "org.mountsim.agent"
RB_POWER_OFF = 0x4321FEDC


def _must(res: tuple[int, int], what: str) -> None:
    if res[0] == -1:
        raise OSError(res[1], f"guest init: {what}: {os.strerror(res[1])}")


def _switch_root() -> None:
    """Make "/" a bind mount of the initramfs on top of rootfs, then mount the API
    filesystems. Model-only (what switch_root(8) does, minus deleting the old root)."""
    os.makedirs("/newroot", exist_ok=True)
    _must(_sys.call("mount", "/", "/newroot", None, uapi.MS_BIND, None), "bind / on /newroot")
    os.chdir("/newroot")
    _must(_sys.call("mount", ".", "/", None, uapi.MS_MOVE, None), "move /newroot to /")
    _must(_sys.call("chroot", "."), "chroot")
    os.chdir("/")
    for fstype, where in (("proc", "/proc"), ("devtmpfs", "/dev"), ("sysfs", "/sys")):
        os.makedirs(where, exist_ok=True)
        _must(_sys.call("mount", fstype, where, fstype, uapi.MS_NOSUID | uapi.MS_NOEXEC, None),
              f"mount {fstype}")


def _power_off() -> None:
    os.sync()
    ctypes.CDLL(None, use_errno=True).reboot(RB_POWER_OFF)
    os._exit(1)


def init_main() -> None:
    """pid 1. Never returns."""
    try:
        _switch_root()
        agent = os.fork()
        if agent == 0:
            try:
                agent_main()
            finally:
                os._exit(0)
        while True:                        # reap orphans until the agent itself ends
            try:
                pid, _ = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid == agent:
                break
    except BaseException:
        traceback.print_exc()
    _power_off()


def port_path() -> str:
    """The /dev node of the port named PORT_NAME (/sys/class/virtio-ports/*/name)."""
    base = "/sys/class/virtio-ports"
    for dev in sorted(os.listdir(base)):
        with open(f"{base}/{dev}/name") as f:
            if f.read().strip() == PORT_NAME:
                return f"/dev/{dev}"
    raise OSError(f"no virtio-serial port named {PORT_NAME}")


class _Port:
    """Line-framed reads and whole writes on the port's fd."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buf = fd, b""

    def readline(self) -> bytes | None:
        """The next line, without its newline; None at EOF. Linear in the line's length:
        chunks are collected and joined once (a multi-megabyte record request)."""
        parts, size = [self.buf], len(self.buf)
        while b"\n" not in parts[-1]:
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return None                # the host closed its end
            parts.append(chunk)
            size += len(chunk)
            if size > wire.MAX_LINE:
                raise wire.WireError("request too long")
        line, _, self.buf = b"".join(parts).partition(b"\n")
        return line

    def write(self, msg: Any) -> None:
        data = memoryview(wire.encode(msg))
        while data:
            data = data[os.write(self.fd, data):]


class Agent:
    """The request handlers; one LiveBackend, sessions by number. Model-only."""

    def __init__(self) -> None:
        self.backend = LiveBackend()
        self.sessions: dict[int, LiveSession] = {}
        self.next_sid = 1

    def hello(self) -> dict:
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return {"hello": {"release": os.uname().release, "why": self.backend.unavailable(),
                          "uptime": uptime}}

    def handle(self, req: dict) -> dict:
        op = req.get("op")
        try:
            if op == "record":
                return _record_or_fail(req)
            if op == "start":
                s = self.backend.start(wire.program_from_wire(req["program"]))
                sid, self.next_sid = self.next_sid, self.next_sid + 1
                self.sessions[sid] = s
                return {"sid": sid, "pids": s.pids()}
            s = self.sessions[req["sid"]]
            if op == "execute":
                before = len(s.notes)
                r = s.execute(wire.step_from_wire(req["step"]))
                return {"result": wire.result_to_wire(r), "pids": s.pids(),
                        "notes": s.notes[before:]}
            if op == "mountinfo":
                return {"text": s.mountinfo(int(req["pid"]))}
            if op == "pids":
                return {"pids": s.pids()}
            if op == "has_fd":
                return {"has": s.has_fd(int(req["pid"]), int(req["fd"]))}
            if op == "close":
                self.sessions.pop(req["sid"]).close()
                return {}
            return {"error": "protocol", "msg": f"unknown op {op!r}"}
        except RecordFailed as e:
            return {"error": "record", "msg": str(e)}
        except LiveUnsupported as e:
            return {"error": "unsupported", "msg": str(e)}
        except StepRefused as e:               # the live guard's verdict, passed on as is
            return {"error": "refused", "msg": str(e)}
        except LiveError as e:
            return {"error": "live", "msg": str(e)}
        except KeyError as e:
            return {"error": "key", "msg": str(e)}
        except Exception:
            return {"error": "crash", "msg": traceback.format_exc()}


class RecordFailed(Exception):
    """A record request that cannot run (the recorder's RecordError, or a bad file)."""


def install(path: str, mode: int, data: bytes) -> None:
    """Put a host file at *path* in the guest's root. A file already there is replaced by
    rename, never rewritten in place: running processes may have it mapped (libc)."""
    if not path.startswith("/") or ".." in path.split("/"):
        raise RecordFailed(f"bad file path {path!r:.100}")
    os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
    tmp = f"{path}.mountsim-new"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode & 0o755)
    os.replace(tmp, path)


def record(req: dict) -> dict:
    """`mountsim record --vm`: install the host's binaries, run the recorder's sandbox here
    (backends/recorder.py, exactly as on a host), and return what it brought back."""
    import base64                          # only for record: kept out of the boot path

    from ..backends.recorder import run_sandbox
    for path, mode, data in req["files"]:
        install(str(path), int(mode), base64.b64decode(data))
    run = run_sandbox(str(req["strace"]), str(req["exe"]), [str(a) for a in req["argv"]], [],
                      [str(d) for d in req["dirs"]], float(req["timeout"]), quiet_stdout=True)
    return {"run": {"start_table": run.start_table, "strace_text": run.strace_text,
                    "snapshots": {str(pid): text for pid, text in run.snapshots.items()},
                    "status": run.status, "strace_pid": run.strace_pid,
                    "timed_out": run.timed_out, "release": os.uname().release}}


def _record_or_fail(req: dict) -> dict:
    from ..backends.recorder import RecordError
    try:
        return record(req)
    except RecordError as e:
        raise RecordFailed(str(e)) from None


def agent_main() -> None:
    """Serve the port until the host closes it or says "shutdown"."""
    fd = os.open(port_path(), os.O_RDWR | os.O_CLOEXEC)
    port, agent = _Port(fd), Agent()
    port.write(agent.hello())
    # Every sandbox process is forked from here (through the zygote); with the heap frozen
    # the collector never walks, and so never copies, the pages they share (gc.freeze()).
    gc.freeze()
    while True:
        line = port.readline()
        if line is None:
            break
        try:
            req = wire.decode(line)
        except wire.WireError as e:
            port.write({"error": "protocol", "msg": str(e)})
            continue
        if not isinstance(req, dict) or req.get("op") == "shutdown":
            break
        port.write(agent.handle(req))
    for s in agent.sessions.values():
        s.close()
    agent.backend.close()

