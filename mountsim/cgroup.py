"""The cgroup and cgroup2 filesystems, as far as mounts see them: kernel/cgroup/cgroup.c and
cgroup-v1.c. Model-only beyond that: there are hierarchies (`struct cgroup_root`) but no
cgroups, tasks or controllers' files; what a hierarchy contains is unknown to the model and
decided by recorded results, as in an opaque filesystem.

A cgroup filesystem does not make a superblock per mount: every mount of one hierarchy
is its one kernfs superblock. cgroup2 has a single hierarchy (cgrp_dfl_root); a mount in
the initial cgroup namespace sets that hierarchy's flags to the ones it gives
(apply_cgroup_root_flags(): a cgroup2 mount without nsdelegate clears it for every mount
of it). A cgroup (v1) mount names controllers, or a name, or none: an existing hierarchy
with exactly those is reused (its options stay: "new mount options ... will be ignored"), a
name that matches with other controllers is EBUSY, and otherwise a new hierarchy is made,
only in the initial cgroup namespace, and only with controllers no other hierarchy has.
The hierarchies of a start table are found at boot (machine.py): they may hold cgroups,
so they live on; one a trace made dies with its last mount (cgroup_kill_sb()).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .errors import KernelError

if TYPE_CHECKING:
    from .fs import SuperBlock
    from .kernel import Kernel
    from .task import Task

# The v1 controllers, in ssid order (the order cgroup1_show_options() prints them), by their
# legacy names, as this 6.18's /proc/cgroups lists them (no rdma, misc: not in its config).
SUBSYS = ("cpuset", "cpu", "cpuacct", "blkio", "memory", "devices", "freezer", "net_cls",
          "perf_event", "net_prio", "hugetlb", "pids")
# v1 root flags in cgroup1_show_options()'s order (release_agent= and clone_children after)
V1_FLAGS = ("noprefix", "xattr", "cpuset_v2_mode", "favordynmods")
# cgroup2's in cgroup_show_options()'s order
V2_FLAGS = ("nsdelegate", "favordynmods", "memory_localevents", "memory_recursiveprot",
            "memory_hugetlb_accounting", "pids_localevents")
V1_OPTIONS = frozenset({*SUBSYS, *V1_FLAGS, "none", "all", "clone_children", "nofavordynmods",
                        "release_agent", "name"})
V2_OPTIONS = frozenset({*V2_FLAGS, "nofavordynmods"})
NAME_MAX = 64                            # MAX_CGROUP_ROOT_NAMELEN
CGROUP_FS = frozenset({"cgroup", "cgroup2"})


class CgroupRoot:
    """struct cgroup_root: a hierarchy's controllers (subsys_mask), name and superblock."""

    __slots__ = ("mask", "name", "sb", "from_start")

    def __init__(self, mask: frozenset[str], name: str | None, sb: SuperBlock,
                 from_start: bool = False) -> None:
        self.mask, self.name, self.sb, self.from_start = mask, name, sb, from_start

    @property
    def alive(self) -> bool:
        """A start table's hierarchy may hold cgroups and stays; a new one dies with its
        last mount (cgroup_kill_sb() -> cgroup_destroy_root(), having no children)."""
        return self.from_start or bool(self.sb.mounts)


def register(k: Kernel, sb: SuperBlock) -> None:
    """A hierarchy a start table shows mounted (machine.boot())."""
    if sb.fstype == "cgroup2":
        k.cgroup_dfl = k.cgroup_dfl or sb
        return
    mask, name = _root_key(sb.options)
    if not any(r.sb is sb for r in k.cgroup_roots):
        k.cgroup_roots.append(CgroupRoot(mask, name, sb, from_start=True))


def _root_key(options) -> tuple[frozenset[str], str | None]:
    name = next((o[5:] for o in options if o.startswith("name=")), None)
    return frozenset(o for o in options if o in SUBSYS), name


def _einval(why: str, where: str) -> KernelError:
    return KernelError(errno.EINVAL, why, where=where)


def cgroup1_get_tree(k: Kernel, task: Task, options: tuple[str, ...]) -> SuperBlock:
    """cgroup1_parse_param(), check_cgroupfs_options(), cgroup1_root_to_use(),
    cgroup1_get_tree(): the superblock of the hierarchy the options name.

    Errors: EINVAL (bad name, none with controllers, neither a name nor controllers, a
    new hierarchy without controllers), EPERM (no CAP_SYS_ADMIN over the cgroup
    namespace's owner; a new hierarchy outside the initial cgroup namespace), EBUSY (a
    name taken with other controllers; a controller bound to another hierarchy).
    """
    from .user_namespace import ns_capable
    mask: set[str] = set()
    name = None
    none = all_ss = False
    flags: list[str] = []
    for o in options:
        key, _, val = o.partition("=")
        if key in SUBSYS:
            mask.add(key)
        elif key == "none":
            none = True
        elif key == "all":
            all_ss = True
        elif key == "name":
            if not val:
                raise _einval("Empty name", "cgroup1_parse_param")
            if len(val) > NAME_MAX - 1 or not all(c.isalnum() or c in "._-" for c in val):
                raise _einval("Invalid name", "cgroup1_parse_param")
            if name is not None:
                raise _einval("name respecified", "cgroup1_parse_param")
            name = val
        elif key in V1_FLAGS and key not in flags:
            flags.append(key)
    if not ns_capable(task.cred, task.cgroup_ns.user_ns):
        raise KernelError(errno.EPERM, "needs CAP_SYS_ADMIN over the cgroup namespace's owner",
                          where="cgroup1_get_tree")
    if not mask and not none and name is None:
        all_ss = True
    if all_ss:
        if mask:
            raise _einval("subsys name conflicts with all", "check_cgroupfs_options")
        mask = set(SUBSYS)
    if not mask and name is None:
        raise _einval("Need name or subsystem set", "check_cgroupfs_options")
    if "noprefix" in flags and mask - {"cpuset"}:
        raise _einval("noprefix used incorrectly", "check_cgroupfs_options")
    if mask and none:
        raise _einval("none used incorrectly", "check_cgroupfs_options")
    k.cgroup_roots[:] = [r for r in k.cgroup_roots if r.alive]
    for root in k.cgroup_roots:                  # for_each_root()
        if name is not None and name != root.name:
            continue
        if (mask or none) and frozenset(mask) != root.mask:
            if name is None:
                continue
            raise KernelError(errno.EBUSY, "the name belongs to a hierarchy with other "
                              "controllers", where="cgroup1_root_to_use")
        return root.sb
    if not mask and not none:
        raise _einval("No subsys list or none specified", "cgroup1_root_to_use")
    if task.cgroup_ns is not k.init_cgroup:
        raise KernelError(errno.EPERM, "hierarchies are made only in the initial cgroup "
                          "namespace", where="cgroup1_root_to_use")
    if any(mask & r.mask for r in k.cgroup_roots):
        raise KernelError(errno.EBUSY, "a controller is bound to another hierarchy",
                          where="rebind_subsystems")
    shown = (*[s for s in SUBSYS if s in mask], *[f for f in V1_FLAGS if f in flags],
             *(["clone_children"] if "clone_children" in options else []),
             *([f"name={name}"] if name is not None else []))
    sb = _new_sb(k, "cgroup", shown)
    k.cgroup_roots.append(CgroupRoot(frozenset(mask), name, sb))
    return sb


def cgroup_get_tree(k: Kernel, task: Task, options: tuple[str, ...]) -> SuperBlock:
    """cgroup_get_tree() for cgroup2: the one hierarchy's superblock; in the initial cgroup
    namespace its flags become the ones given (apply_cgroup_root_flags())."""
    sb = k.cgroup_dfl
    if sb is None:
        sb = k.cgroup_dfl = _new_sb(k, "cgroup2", ())
    if task.cgroup_ns is k.init_cgroup:
        sb.options = tuple(f for f in V2_FLAGS if f in options)
    return sb


def _new_sb(k: Kernel, fstype: str, options: tuple[str, ...]) -> SuperBlock:
    """The kernfs superblock of a hierarchy: its cgroups are unknown (opaque)."""
    sb = k.new_sb(fstype, k.init_user_ns, options, opaque=True)
    sb.oracle = k
    return sb
