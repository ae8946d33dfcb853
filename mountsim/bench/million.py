"""`mountsim bench --million`: one million tmpfs mounts in one namespace — built, read as
mountinfo, copied by unshare(CLONE_NEWNS), torn down (namespace exit, then umount -l).

The model side runs in a fresh Python subprocess that does only this
(`python -m mountsim.bench.million N`), so its peak RSS (getrusage ru_maxrss) is the model's
memory for the run, next to the RSS it had after imports and boot.

The kernel side needs fs.mount-max (a global sysctl, default 100000) raised above N: it is
raised only for this run and restored to its old value in a `finally` (also on SIGTERM),
and by a guardian process should bench die any other way (SIGKILL, OOM): it waits on a pipe
only bench holds and restores the old value when the pipe closes.
If it cannot be raised, the kernel side runs at the largest N the limit allows.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time

from . import clamp
from .kernel import Driver, KernelUnavailable, read_mount_max, write_mount_max

OPS = ("mountinfo", "unshare", "nsexit", "umount_l")


def model_side(n: int, timeout: float | None = None) -> dict:
    """Run the model's million in a child process; its JSON result (or {"error": ...})."""
    r = subprocess.run([sys.executable, "-m", "mountsim.bench.million", str(n)],
                       capture_output=True, text=True, timeout=timeout)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
        return {"error": f"model child failed: {tail}"}


def _guardian(old: int) -> int:
    """Fork a process that writes *old* back to fs.mount-max once the returned pipe end
    closes: when bench closes it after its own restore, or when bench dies, however. It is
    the only process left holding the setting's fate if bench is killed with SIGKILL."""
    r, w = os.pipe()
    if os.fork() == 0:                            # pragma: no cover - the guardian
        try:
            os.close(w)
            os.setsid()                           # out of bench's process group (Ctrl-C)
            while os.read(r, 1):
                pass
            if read_mount_max() != old:
                write_mount_max(old)
        finally:
            os._exit(0)
    os.close(r)
    return w


def kernel_side(driver: Driver, n: int, say) -> dict:
    """The driver's build scenario at N, with fs.mount-max raised for the run and restored."""
    old = read_mount_max()
    need = n + 100
    raised = False
    out: dict = {"mount_max_before": old}

    def on_term(signum, frame):                   # restore the sysctl on SIGTERM too
        raise SystemExit(128 + signum)
    prev = signal.signal(signal.SIGTERM, on_term)
    guard = _guardian(old) if old < need else None
    try:
        if old < need:
            try:
                write_mount_max(need)
                raised = True
                say(f"million: fs.mount-max raised {old} -> {need} for the kernel side "
                    f"(restored afterwards)")
            except OSError as e:
                say(f"million: cannot raise fs.mount-max ({e.strerror}); the kernel side runs "
                    f"at the largest N the limit {old} allows")
        limit = need if raised else old
        kn = clamp("build", n, limit)
        out["n"] = kn
        out["mount_max_used"] = limit
        rows = driver.run("build", kn, 1, set(OPS) | {"mem"})
        out["sec"] = {r["op"]: r["sec"] for r in rows if "op" in r}
        mem = [r for r in rows if r.get("mem") == "slab_kb"]
        if mem:
            out["slab_growth_kb"] = mem[0]["value"]
    except KernelUnavailable as e:
        out["error"] = str(e)
    finally:
        if raised:
            write_mount_max(old)
            say(f"million: fs.mount-max restored to {old}")
        if guard is not None:
            os.close(guard)                       # the guardian checks once more and leaves
        signal.signal(signal.SIGTERM, prev)
        out["mount_max_after"] = read_mount_max()
    return out


def _child(n: int) -> None:
    from . import model
    from .. import machine, proc_namespace, syscalls  # noqa: F401 - imported before the baseline
    machine.boot()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    sec = model.build(n, n + 100, set(OPS))
    res = {"n": n, "sec": sec, "wall": time.perf_counter() - t0,
           "rss_base_kb": base, "rss_peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    print(json.dumps(res))


if __name__ == "__main__":
    _child(int(sys.argv[1]))
