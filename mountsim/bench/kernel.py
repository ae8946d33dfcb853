"""The kernel side of `mountsim bench`: driver.c compiled with gcc into the cache
(native.build(): rebuilt when the source's hash changes) and run as a subprocess.

The driver forks one child per repetition; the child enters a private mount namespace
(unshare(CLONE_NEWNS), then / made rprivate before anything is mounted, a tmpfs root by
pivot_root) and does everything there, so the host's mount table is never changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from .. import native

SOURCE = Path(__file__).with_name("driver.c")
MOUNT_MAX = "/proc/sys/fs/mount-max"


class KernelUnavailable(Exception):
    """The kernel side cannot run here; the message is one line saying why."""


def build_driver() -> Path:
    """The driver binary for the current source, compiled if needed."""
    try:
        return native.build(SOURCE, "bench")
    except native.BuildError as e:
        raise KernelUnavailable(str(e)) from None


def read_mount_max() -> int:
    try:
        with open(MOUNT_MAX) as f:
            return int(f.read())
    except (OSError, ValueError):
        return 100_000


def write_mount_max(value: int) -> None:
    with open(MOUNT_MAX, "w") as f:
        f.write(f"{value}\n")


class Driver:
    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise KernelUnavailable("not root: the kernel driver needs CAP_SYS_ADMIN for its sandbox")
        self.path = build_driver()

    def run(self, scenario: str, n: int, reps: int, ops: set[str] | None = None,
            timeout: float | None = None) -> list[dict]:
        """Every line the driver printed, as dicts: {"op", "n", "rep", "sec"} (and "mem" lines)."""
        argv = [str(self.path), scenario, str(n), str(reps)]
        if ops:
            argv.append(",".join(sorted(ops)))
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return _rows(f"driver {scenario} N={n}", r.stdout, r.stderr, r.returncode)

    def churn_rate(self, n: int, procs: int, timeout: float | None = None) -> float:
        """Namespaces made and destroyed per second, all together, by *procs* drivers running
        the churn scenario at once (each in its own sandbox). 1 process against one per CPU
        is how far the kernel itself lets namespace churn scale on this machine."""
        argv = [str(self.path), "churn", str(n), "1"]
        t0 = time.perf_counter()
        ps = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(procs)]
        outs = [p.communicate(timeout=timeout) for p in ps]
        wall = time.perf_counter() - t0
        for p, (out, err) in zip(ps, outs):
            _rows(f"driver churn N={n}", out, err, p.returncode)
        return procs * n / wall


def _rows(what: str, stdout: str, stderr: str, returncode: int) -> list[dict]:
    """The driver's JSON lines, or KernelUnavailable with the first error it reported."""
    rows = [json.loads(ln) for ln in stdout.splitlines() if ln.startswith("{")]
    errs = [row["error"] for row in rows if "error" in row]
    if errs or returncode != 0:
        why = errs[0] if errs else (stderr.strip() or f"exit status {returncode}")
        raise KernelUnavailable(f"{what}: {why}")
    return rows
