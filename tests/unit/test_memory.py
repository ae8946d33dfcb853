"""The model's memory per mount, against the performance budget (README "Performance"):
one million tmpfs mounts and the copy unshare(CLONE_NEWNS) makes of them, alive together
as in the kernel, in under 1 GiB. That is 1,073 bytes for a mount and its copy, the
interpreter included; this test holds the model to 1,000 (measured: 908; 1,452 before the
memory work of 29 Nov 2026).

A size, not a time: tracemalloc counts the bytes the Python objects of 20,000 mounts and
their copies hold, which is the same on every run (no timing is asserted in the suite).
"""

from __future__ import annotations

import tracemalloc

from mountsim import uapi
from mountsim.machine import boot
from mountsim.syscalls import dispatch

N = 20_000
BUDGET = 1_000          # bytes for a tmpfs mount (its mountpoint directory included) + copy


def test_a_mount_and_its_copy_fit_the_million_budget():
    k, task = boot()
    k.mount_max = N + 100

    def d(name, *args):
        return dispatch(k, task, name, args, None)
    d("mkdir", "/proc", 0o755)
    d("mount", "proc", "/proc", "proc", 0, None)
    d("mkdir", "/t", 0o755)
    d("mount", "tmpfs", "/t", "tmpfs", 0, None)
    d("mkdir", "/t/m0", 0o755)                 # first ones outside the count: every lazily
    d("mount", "tmpfs", "/t/m0", "tmpfs", 0, None)    # made table is made by then
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(1, N + 1):
            d("mkdir", f"/t/m{i}", 0o755)
            d("mount", "tmpfs", f"/t/m{i}", "tmpfs", 0, None)
        old = d("open", "/proc/self/ns/mnt", 0, 0)      # keeps the original namespace
        d("unshare", uapi.CLONE_NEWNS)
        per_pair = (tracemalloc.get_traced_memory()[0] - before) / N
    finally:
        tracemalloc.stop()
    assert len(list(task.mnt_ns)) >= N and old >= 0
    assert per_pair < BUDGET, f"{per_pair:.0f} bytes for a mount and its copy"
