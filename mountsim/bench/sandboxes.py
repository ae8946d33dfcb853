"""`mountsim bench`: how many live-backend sandboxes a second this machine sets up and tears
down, with one backend and with several at once.

An empty program (no steps) through the live backend is the part of every live program
that does not depend on the program: the sandbox's namespaces made, its table read, all of
it torn down. `fuzz --workers N` runs N backends side by side, so how this rate scales from
one backend to N bounds how far a live campaign can (the kernel's namespace churn, measured
by the C driver beside it, is the kernel's share of it).

Each backend runs in its own process (`python -m mountsim.bench.sandboxes N`), which prints
one JSON line: {"per_sec": R, "t0": T0, "t1": T1} (CLOCK_MONOTONIC, the same clock in
every process) or {"error": "..."}; together they count from the first start to the last
end, so a process that started late cannot inflate the sum.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

WARM_UP = 10


class SandboxesUnavailable(Exception):
    """The live backend cannot run here; the message is one line saying why."""


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
        t0 = time.monotonic()
        for _ in range(n):
            _cycle(backend, prog)
        t1 = time.monotonic()
        return {"per_sec": n / (t1 - t0), "t0": t0, "t1": t1}
    finally:
        backend.close()


def rate(n: int, procs: int, timeout: float = 300.0) -> float:
    """Empty sandboxes per second, all together, from *procs* backends in separate
    processes started at once, each running *n* after its warm-up."""
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
        spans.append((row["t0"], row["t1"]))
    return procs * n / (max(t1 for _, t1 in spans) - min(t0 for t0, _ in spans))


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
