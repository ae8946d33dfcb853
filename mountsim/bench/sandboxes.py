"""`mountsim bench`: how many live-backend sandboxes a second this machine sets up and tears
down, with one backend and with several at once.

An empty program (no steps) through the live backend is the part of every live program
that does not depend on the program: the sandbox's namespaces made, its table read, all of
it torn down. `fuzz --workers N` runs N backends side by side, so how this rate scales from
one backend to N bounds how far a live campaign can (the kernel's namespace churn, measured
by the C driver beside it, is the kernel's share of it).

Each backend runs in its own process (`python -m mountsim.bench.sandboxes N`), which prints
one JSON line: {"per_sec": R, "t0": T0, "t1": T1, "cpu0": C0, "cpu1": C1} (CLOCK_MONOTONIC,
the same clock in every process; C = the machine's (busy, total) CPU ticks from /proc/stat
then) or {"error": "..."}; together they count from the first start to the last end, so a
process that started late cannot inflate the sum. The ticks say how busy the whole machine
was over that span, and so how much CPU one sandbox costs: whether the rate is bound by the
CPUs (busy near 100%) or by waiting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

WARM_UP = 10


class SandboxesUnavailable(Exception):
    """The live backend cannot run here; the message is one line saying why."""


def cpu_ticks() -> tuple[int, int] | None:
    """The machine's CPU time so far, in ticks: (busy, total); busy leaves out idle and
    iowait (proc(5), /proc/stat "cpu" line). None where /proc/stat cannot be read."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    total = sum(fields[:8])            # guest time is already counted in user and nice
    return total - fields[3] - (fields[4] if len(fields) > 4 else 0), total


def _cycle(backend, prog) -> None:
    s = backend.start(prog)
    try:
        for pid in s.pids():
            s.mountinfo(pid)
    finally:
        s.close()


def measure(n: int) -> dict:
    """Set up and tear down *n* empty sandboxes in this process: {"per_sec", "t0", "t1"}
    or {"error"}."""
    from ..backends.live import LiveBackend
    from ..trace.program import Program

    backend = LiveBackend()
    try:
        why = backend.unavailable()
        if why:
            return {"error": why}
        prog = Program(steps=[])
        for _ in range(WARM_UP):
            _cycle(backend, prog)
        t0, cpu0 = time.monotonic(), cpu_ticks()
        for _ in range(n):
            _cycle(backend, prog)
        t1, cpu1 = time.monotonic(), cpu_ticks()
        return {"per_sec": n / (t1 - t0), "t0": t0, "t1": t1, "cpu0": cpu0, "cpu1": cpu1}
    finally:
        backend.close()


def rate(n: int, procs: int, timeout: float = 300.0) -> dict:
    """*procs* backends in separate processes started at once, each running *n* empty
    sandboxes after its warm-up: {"per_sec": all together, "busy": the fraction of the
    machine's CPU time in use from the first start to the last end, "cpu_ms": machine CPU
    milliseconds per sandbox} (busy and cpu_ms None without /proc/stat)."""
    argv = [sys.executable, "-m", "mountsim.bench.sandboxes", str(n)]
    ps = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
          for _ in range(procs)]
    spans = []
    for p in ps:
        out, err = p.communicate(timeout=timeout)
        lines = out.strip().splitlines()
        try:
            row = json.loads(lines[-1])
        except (IndexError, ValueError):
            tail = (err.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
            raise SandboxesUnavailable(f"sandbox benchmark failed: {tail}") from None
        if "error" in row:
            raise SandboxesUnavailable(row["error"])
        spans.append(row)
    first = min(spans, key=lambda r: r["t0"])
    last = max(spans, key=lambda r: r["t1"])
    total = procs * n
    out = {"per_sec": total / (last["t1"] - first["t0"]), "busy": None, "cpu_ms": None}
    if first.get("cpu0") and last.get("cpu1") and last["cpu1"][1] > first["cpu0"][1]:
        busy = last["cpu1"][0] - first["cpu0"][0]
        out["busy"] = busy / (last["cpu1"][1] - first["cpu0"][1])
        out["cpu_ms"] = busy * 1000 / os.sysconf("SC_CLK_TCK") / total
    return out


def main(argv: list[str]) -> int:
    try:
        n = int(argv[0])
    except (IndexError, ValueError):
        print(json.dumps({"error": "usage: python -m mountsim.bench.sandboxes N"}))
        return 2
    try:
        print(json.dumps(measure(n)), flush=True)
    except Exception as e:                      # noqa: BLE001 - reported as one line
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
