"""`mountsim bench`: the model's speed against the real kernel on this machine, as ratios.

Two measurements, each run on the model and on the live kernel in the same invocation:

- *differential throughput*: the same Hypothesis-generated programs (fixed seed) executed
  end to end by each backend — programs per second, what bounds a fuzz campaign. The live
  side includes its sandbox (a fresh namespace and pivot_root per program) and IPC.
- *scale*: N tmpfs mounts side by side in one namespace, then one read of mountinfo, as
  bare syscalls — the model's dispatch against the kernel's in a forked sandbox process.
  Per-mount cost should stay flat as N grows (hash lookups, an ordered index), like the
  kernel's.

With `--backend vm` the kernel side is a Debian 7.x kernel in a QEMU guest (TCG): the
report adds the guest's boot time, and the scale run is the model's alone.

Performance is reported, never asserted: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from ..backends.model import ModelBackend
from ..errors import StepRefused
from .diff import add_backend_arguments, backend_or_say


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--programs", type=int, default=300,
                   help="generated programs for the throughput run (default %(default)s)")
    p.add_argument("--mounts", type=int, nargs="+", default=[1000, 10000],
                   help="mount counts for the scale run (default %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default %(default)s)")
    p.add_argument("--model-only", action="store_true", help="measure the model alone")
    add_backend_arguments(p)


def generate(n: int, seed: int) -> list:
    """*n* programs from the campaign's generator, reproducibly."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from ..gen import programs

    out: list = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(programs(max_steps=20))
    def collect(p):
        out.append(p)

    collect()
    return out[:n]


def run_programs(backend, progs: list) -> float:
    """Seconds to run every program to the end (results and final tables) on *backend*."""
    t0 = time.perf_counter()
    for prog in progs:
        s = backend.start(prog)
        try:
            for step in prog.steps:
                if step.pid in s.pids():
                    s.execute(step)
            for pid in s.pids():
                s.mountinfo(pid)
        except StepRefused:                    # the sandbox's guard stopped it: not timed further
            pass
        finally:
            s.close()
    return time.perf_counter() - t0


def model_scale(n: int) -> float:
    """Seconds for n mkdir+mount pairs and one mountinfo read on the model."""
    from ..machine import boot
    from ..proc_namespace import mountinfo
    from ..syscalls import dispatch

    k, task = boot()
    t0 = time.perf_counter()
    for i in range(n):
        dispatch(k, task, "mkdir", (f"/m{i}", 0o755), None)
        dispatch(k, task, "mount", ("tmpfs", f"/m{i}", "tmpfs", 0, None), None)
    mountinfo(task)
    return time.perf_counter() - t0


def kernel_scale(n: int) -> float:
    """The same on the real kernel, in a forked process inside a fresh private sandbox."""
    from ..backends import _sys
    from ..backends.live import _setup_sandbox

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # pragma: no cover - child
        try:
            os.close(r)
            _setup_sandbox([])
            t0 = time.perf_counter()
            for i in range(n):
                _sys.call("mkdir", f"/m{i}", 0o755)
                ret, err = _sys.call("mount", "tmpfs", f"/m{i}", "tmpfs", 0, None)
                if ret < 0:
                    raise OSError(err, os.strerror(err))
            os.mkdir("/proc")                     # the sandbox has no /proc of its own
            _sys.call("mount", "proc", "/proc", "proc", 0, None)
            with open("/proc/self/mountinfo", "rb") as f:
                f.read()
            os.write(w, repr(time.perf_counter() - t0).encode())
        except BaseException as e:                 # noqa: BLE001 - report, never return
            os.write(w, f"error {e}".encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 4096):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    text = data.decode()
    if text.startswith("error"):
        raise RuntimeError(f"kernel scale run failed: {text[6:]}")
    return float(text)


def main(args: argparse.Namespace) -> int:
    live, row = None, None
    if not args.model_only:
        chosen = backend_or_say("bench", args, " (use --model-only)")
        if chosen is None:
            return 2
        live, row = chosen
    vm = live if live is not None and live.name == "vm" else None
    if vm is not None:
        print(f"VM boot: {vm.vm.boot_seconds:.2f} s to the agent's hello "
              f"({vm.vm.guest_uptime:.2f} s guest uptime), kernel {vm.release}")
    print(f"generating {args.programs} programs (seed {args.seed})…", file=sys.stderr)
    progs = generate(args.programs, args.seed)
    calls = sum(len(p.steps) for p in progs)
    tm = run_programs(ModelBackend(row), progs)
    print(f"differential throughput, {len(progs)} programs, {calls} calls:")
    print(f"  model   {len(progs) / tm:10.0f} programs/s  {calls / tm:10.0f} calls/s")
    if live is not None:
        tl = run_programs(live, progs)
        how = "VM: TCG guest, sandbox + virtio-serial" if vm else "live backend: sandbox + IPC"
        print(f"  kernel  {len(progs) / tl:10.0f} programs/s  {calls / tl:10.0f} calls/s"
              f"   ({how} per program)")
        print(f"  model/kernel throughput ratio: {tl / tm:.2f}x")
        live.close()
        if vm is not None:
            live = None                        # the scale run's kernel side is live-only
    print("scale: N tmpfs mounts in one namespace + one mountinfo read:")
    for n in args.mounts:
        ms = model_scale(n)
        line = f"  N={n:<7} model {ms:8.3f} s ({ms / n * 1e6:7.1f} us/mount)"
        if live is not None:
            ks = kernel_scale(n)
            line += f"  kernel {ks:8.3f} s ({ks / n * 1e6:7.1f} us/mount)  model/kernel time {ms / ks:6.1f}x"
        print(line)
    return 0
