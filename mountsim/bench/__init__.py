"""`mountsim bench`'s measurements: op classes timed on the model (model.py) and on this
machine's kernel through a small C driver (driver.c, built and run by kernel.py), the
report (report.py: slopes, table, JSON, SVG) and the one-million-mount run (million.py).

The op classes, their sizes and what one "unit" is are defined once, in OPS below; both
sides run the same scenario with the same N (clamped to fs.mount-max on both).
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Op:
    key: str            # the driver's and the JSON's name
    title: str          # the table's label
    unit: str           # what the time is divided by
    scenario: str       # the scenario (one sandbox/boot per repetition) that measures it
    family: str         # "prop" sizes, "table" sizes, or "fixed"


OPS: list[Op] = [
    Op("shared", "propagation to N peers", "copy", "shared", "prop"),
    Op("slave", "propagation to N slaves", "copy", "slave", "prop"),
    Op("unshare", "unshare(CLONE_NEWNS)", "mount copied", "build", "table"),
    Op("mountinfo", "read /proc/self/mountinfo", "mount", "build", "table"),
    Op("open_tree", "open_tree(CLONE|RECURSIVE)+close", "mount", "build", "table"),
    Op("mkdir_mount", "mkdir + tmpfs mount", "mount", "build", "table"),
    Op("bind_umount", "bind + umount pair, small table", "pair", "bind_umount", "fixed"),
    Op("umount_l", "teardown: umount -l of the tree", "mount", "build", "table"),
    Op("nsexit", "teardown: namespace exit", "mount", "build", "table"),
]
BY_KEY = {o.key: o for o in OPS}

# Mounts besides the N measured ones, per scenario (the sandbox's hidden rootfs, its tmpfs
# root, /proc; then /t, or /a and the copy on /a/x): N is clamped so that the namespace
# stays within fs.mount-max, identically on both sides.
OVERHEAD = {"build": 4, "shared": 5, "slave": 5, "bind_umount": 5}


def clamp(scenario: str, n: int, mount_max: int) -> int:
    """The largest N <= n that fits in a namespace of at most *mount_max* mounts."""
    if scenario in ("shared", "slave"):             # N peers + N+1 copies
        return max(1, min(n, (mount_max - OVERHEAD[scenario]) // 2))
    if scenario == "bind_umount":
        return n                                     # one bind at a time
    return max(1, min(n, mount_max - OVERHEAD[scenario]))
