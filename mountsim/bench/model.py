"""The model side of `mountsim bench`: the driver's scenarios (driver.c) as dispatch() calls
on a freshly booted model, timed with perf_counter around exactly the operation measured.

Each scenario returns {op key: seconds} for one repetition; the caller keeps the best of K.
"""

from __future__ import annotations

import gc
import sys
import time

from .. import uapi

OT_FLAGS = uapi.OPEN_TREE_CLONE | uapi.AT_RECURSIVE | uapi.OPEN_TREE_CLOEXEC


def _boot(mount_max: int):
    from ..machine import boot
    from ..runtime import tune_gc
    from ..syscalls import dispatch

    tune_gc()                                    # as the CLI runs the model
    k, task = boot()
    k.mount_max = mount_max

    def d(name, *args):
        return dispatch(k, task, name, args, None)
    d("mkdir", "/proc", 0o755)                   # the driver's sandbox mounts /proc too
    d("mount", "proc", "/proc", "proc", 0, None)
    return k, task, d


def _timed(fn):
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def build(n: int, mount_max: int, ops: set[str]) -> dict[str, float]:
    """N tmpfs mounts under /t, then mountinfo, open_tree+close, unshare, namespace exit
    (setns back to the kept old namespace), umount -l /t — as driver.c's build()."""
    from ..proc_namespace import mountinfo

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    k, task, d = _boot(mount_max)
    d("mkdir", "/t", 0o755)
    d("mount", "tmpfs", "/t", "tmpfs", 0, None)
    out: dict[str, float] = {}

    def mk():
        for i in range(n):
            d("mkdir", f"/t/m{i}", 0o755)
            d("mount", "tmpfs", f"/t/m{i}", "tmpfs", 0, None)
    out["mkdir_mount"] = _timed(mk)
    if "mountinfo" in ops:
        out["mountinfo"] = _timed(lambda: mountinfo(task))
    if "open_tree" in ops:
        out["open_tree"] = _timed(lambda: d("close", d("open_tree", uapi.AT_FDCWD, "/t", OT_FLAGS)))
    if "unshare" in ops or "nsexit" in ops:
        old = d("open", "/proc/self/ns/mnt", 0, 0)       # keeps the old namespace alive
        out["unshare"] = _timed(lambda: d("unshare", uapi.CLONE_NEWNS))
        out["nsexit"] = _timed(lambda: d("setns", old, uapi.CLONE_NEWNS))
        d("close", old)
    if "umount_l" in ops:
        out["umount_l"] = _timed(lambda: d("umount2", "/t", uapi.MNT_DETACH))
    return out


def propagation(n: int, mount_max: int, slave: bool) -> dict[str, float]:
    """A shared tmpfs /a, N bind mounts of it (made slaves if *slave*), then the timed
    mount of one tmpfs on /a/x, which propagates to all N."""
    k, task, d = _boot(mount_max)
    d("mkdir", "/a", 0o755)
    d("mount", "tmpfs", "/a", "tmpfs", 0, None)
    d("mount", None, "/a", None, uapi.MS_SHARED, None)
    d("mkdir", "/a/x", 0o755)
    for i in range(n):
        d("mkdir", f"/b{i}", 0o755)
        d("mount", "/a", f"/b{i}", None, uapi.MS_BIND, None)
        if slave:
            d("mount", None, f"/b{i}", None, uapi.MS_SLAVE, None)
    t = _timed(lambda: d("mount", "tmpfs", "/a/x", "tmpfs", 0, None))
    return {"slave" if slave else "shared": t}


def bind_umount(n: int, mount_max: int) -> dict[str, float]:
    """N pairs of mount(/a, /b, MS_BIND) + umount2(/b, 0) on a small table."""
    k, task, d = _boot(mount_max)
    d("mkdir", "/a", 0o755)
    d("mount", "tmpfs", "/a", "tmpfs", 0, None)
    d("mkdir", "/b", 0o755)

    def pairs():
        for _ in range(n):
            d("mount", "/a", "/b", None, uapi.MS_BIND, None)
            d("umount2", "/b", 0)
    return {"bind_umount": _timed(pairs)}


def run(scenario: str, n: int, mount_max: int, ops: set[str]) -> dict[str, float]:
    if scenario == "build":
        return build(n, mount_max, ops)
    if scenario in ("shared", "slave"):
        return propagation(n, mount_max, scenario == "slave")
    if scenario == "bind_umount":
        return bind_umount(n, mount_max)
    raise ValueError(f"unknown scenario {scenario!r}")
