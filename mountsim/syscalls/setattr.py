"""mount_setattr(2): change per-mount flags, propagation and idmapping of a mount (tree).

Mirrors fs/namespace.c (6.18): SYSCALL_DEFINE5(mount_setattr), wants_mount_setattr(),
build_mount_kattr(), build_mount_idmapped(), do_mount_setattr(), mount_setattr_prepare(),
can_idmap_mount(), recalc_flags() and mount_setattr_commit().

`uattr` arrives decoded as a dict {attr_set, attr_clr, propagation, userns_fd} (missing keys
are 0) and `usize` as an int.

An idmapped mount is the MNT.IDMAPPED mark (mountinfo's ",idmapped", statmount's
MOUNT_ATTR_IDMAP) and its user namespace (mount.IDMAPS), through which permission.py shows
owners and groups and maps new ones back (make_vfsuid(), from_vfsuid()). Idmapping with a
namespace whose maps are empty is EINVAL (observed on Linux 6.18; `has_mappings()` decides
it); with a mapped one, tests/differential/test_idmapped_mounts.py.

Limitations: no writers are tracked, so mnt_hold_writers() never answers EBUSY.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

import attrs

from .. import pnode, uapi
from ..errors import KernelError
from ..mount import IDMAPS, MNT, Mount
from ..namei import at_lookup_flags, user_path_at
from ..namespace import check_mnt, cleanup_group_ids, invent_group_ids, next_mnt
from ..task import Path
from ..user_namespace import UserNamespace, ns_capable
from . import register
from .fscontext import FSMOUNT_VALID_FLAGS, attr_flags_to_mnt_flags
from .mount import anon_ns_root, can_change_locked_flags, require_may_mount

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..task import Task

PAGE_SIZE = 4096
INT_MAX = (1 << 31) - 1
MOUNT_SETATTR_VALID_FLAGS = FSMOUNT_VALID_FLAGS | uapi.MOUNT_ATTR_IDMAP
MOUNT_SETATTR_PROPAGATION_FLAGS = uapi.MS_UNBINDABLE | uapi.MS_PRIVATE | uapi.MS_SLAVE | uapi.MS_SHARED
SETATTR_AT_FLAGS = uapi.AT_EMPTY_PATH | uapi.AT_RECURSIVE | uapi.AT_SYMLINK_NOFOLLOW | uapi.AT_NO_AUTOMOUNT
# FS_ALLOW_IDMAP among the types the model may meet (tmpfs since 6.3).
FS_ALLOW_IDMAP = frozenset({"tmpfs", "ext4", "xfs", "btrfs", "f2fs", "vfat", "overlay", "erofs"})


@attrs.define(slots=True)
class MountKattr:
    """struct mount_kattr."""

    attr_set: MNT = MNT(0)
    attr_clr: MNT = MNT(0)
    propagation: int = 0
    lookup_flags: int = 0
    recurse: bool = False                     # kernel: kflags & MOUNT_KATTR_RECURSE
    mnt_userns: UserNamespace | None = None   # kernel: mnt_userns (then mnt_idmap)


def has_mappings(userns: UserNamespace) -> bool:
    """Does *userns* map any id (has its uid_map or gid_map been written)?

    Observed on Linux 6.18: idmapping with a user namespace whose maps are empty fails
    with EINVAL after the path lookup, before the "already idmapped" EPERM; with written
    maps it succeeds (tests/differential/test_idmapped_mounts.py).
    """
    return userns.parent is None or bool(userns.uid_map or userns.gid_map)


def sys_mount_setattr(k: Kernel, task: Task, dfd: int, path: str | None, flags: int,
                      uattr: dict | None, usize: int) -> int:
    """mount_setattr(2). Mirrors fs/namespace.c:SYSCALL_DEFINE5(mount_setattr).

    Errors: EINVAL (flags), wants_mount_setattr()'s, lookup errors, do_mount_setattr()'s.
    A request changing nothing returns 0 before the path is even looked up.
    """
    if flags & ~SETATTR_AT_FLAGS:
        raise KernelError(errno.EINVAL, "unknown mount_setattr flags", where="mount_setattr")
    lookup = at_lookup_flags(flags)
    kattr = MountKattr(lookup_flags=lookup, recurse=bool(flags & uapi.AT_RECURSIVE))
    if not wants_mount_setattr(task, uattr, usize, kattr):
        return 0
    target = user_path_at(k, task, dfd, path, lookup)
    return do_mount_setattr(k, task, target, kattr)


def wants_mount_setattr(task: Task, uattr: dict | None, usize: int, kattr: MountKattr) -> bool:
    """Mirrors fs/namespace.c:wants_mount_setattr(). False: nothing to do.

    Errors: E2BIG (usize > PAGE_SIZE), EINVAL (usize < MOUNT_ATTR_SIZE_VER0), EPERM
    (may_mount), EFAULT (NULL uattr), then build_mount_kattr()'s.
    """
    if usize > PAGE_SIZE:
        raise KernelError(errno.E2BIG, "usize larger than a page", where="wants_mount_setattr")
    if usize < uapi.MOUNT_ATTR_SIZE_VER0:
        raise KernelError(errno.EINVAL, "usize smaller than MOUNT_ATTR_SIZE_VER0", where="wants_mount_setattr")
    require_may_mount(task, "wants_mount_setattr")
    if uattr is None:
        raise KernelError(errno.EFAULT, "NULL uattr", where="copy_struct_from_user")
    attr = {key: int(uattr.get(key) or 0) for key in ("attr_set", "attr_clr", "propagation", "userns_fd")}
    if not (attr["attr_set"] or attr["attr_clr"] or attr["propagation"]):
        return False
    build_mount_kattr(task, attr, kattr)
    return True


def build_mount_kattr(task: Task, attr: dict, kattr: MountKattr) -> None:
    """Mirrors fs/namespace.c:build_mount_kattr().

    Errors: EINVAL (unknown propagation bit; more than one; unknown attr bit;
    MOUNT_ATTR__ATIME partly in attr_clr; atime not one of the enum; atime in attr_set
    without MOUNT_ATTR__ATIME in attr_clr), then build_mount_idmapped()'s.
    """
    def inval(why: str) -> KernelError:
        return KernelError(errno.EINVAL, why, where="build_mount_kattr")

    prop, set_, clr = attr["propagation"], attr["attr_set"], attr["attr_clr"]
    if prop & ~MOUNT_SETATTR_PROPAGATION_FLAGS:
        raise inval("unknown propagation type")
    if bin(prop).count("1") > 1:
        raise inval("more than one propagation type")
    kattr.propagation = prop
    if (set_ | clr) & ~MOUNT_SETATTR_VALID_FLAGS:
        raise inval("unknown mount attribute")
    kattr.attr_set = attr_flags_to_mnt_flags(set_)
    kattr.attr_clr = attr_flags_to_mnt_flags(clr)
    # MOUNT_ATTR_<atime> values are an enum: changing it takes MOUNT_ATTR__ATIME in attr_clr.
    if clr & uapi.MOUNT_ATTR__ATIME:
        if clr & uapi.MOUNT_ATTR__ATIME != uapi.MOUNT_ATTR__ATIME:
            raise inval("MOUNT_ATTR__ATIME partly cleared")
        kattr.attr_clr |= MNT.RELATIME | MNT.NOATIME
        atime = set_ & uapi.MOUNT_ATTR__ATIME
        if atime == uapi.MOUNT_ATTR_RELATIME:
            kattr.attr_set |= MNT.RELATIME
        elif atime == uapi.MOUNT_ATTR_NOATIME:
            kattr.attr_set |= MNT.NOATIME
        elif atime != uapi.MOUNT_ATTR_STRICTATIME:
            raise inval("atime is an enum, not a bitmap")
    elif set_ & uapi.MOUNT_ATTR__ATIME:
        raise inval("atime set without MOUNT_ATTR__ATIME in attr_clr")
    build_mount_idmapped(task, attr, kattr)


def build_mount_idmapped(task: Task, attr: dict, kattr: MountKattr) -> None:
    """Mirrors fs/namespace.c:build_mount_idmapped().

    Errors: EINVAL (clearing MOUNT_ATTR_IDMAP: mount_setattr never may; userns_fd >
    INT_MAX), EBADF, EINVAL (not a namespace file; not a user namespace), EPERM (the
    initial user namespace; no CAP_SYS_ADMIN over it).
    """
    if not (attr["attr_set"] | attr["attr_clr"]) & uapi.MOUNT_ATTR_IDMAP:
        return
    if attr["attr_clr"] & uapi.MOUNT_ATTR_IDMAP:
        # Only open_tree_attr() may replace an idmapping never exposed (MOUNT_KATTR_IDMAP_REPLACE).
        raise KernelError(errno.EINVAL, "cannot clear an idmapping", where="build_mount_idmapped")
    fd = attr["userns_fd"]
    if fd > INT_MAX:
        raise KernelError(errno.EINVAL, "userns_fd out of range", where="build_mount_idmapped")
    f = task.files.fds.get(fd)
    if f is None and fd > 2:                  # 0-2: stdio, open but untracked by the model
        raise KernelError(errno.EBADF, f"fd {fd} is not open", where="fdget")
    if f is not None and f.flags & uapi.O_PATH:
        raise KernelError(errno.EBADF, "an O_PATH fd is no file for fdget()", where="fdget")
    if f is None or f.kind != "ns":
        raise KernelError(errno.EINVAL, "not a namespace file", where="proc_ns_file")
    userns = f.ns
    if not isinstance(userns, UserNamespace):
        raise KernelError(errno.EINVAL, "not a user namespace", where="build_mount_idmapped")
    if userns.parent is None:
        raise KernelError(errno.EPERM, "the initial idmapping cannot idmap a mount",
                          where="build_mount_idmapped")
    if not ns_capable(task.cred, userns):
        raise KernelError(errno.EPERM, "no CAP_SYS_ADMIN over the user namespace",
                          where="build_mount_idmapped")
    kattr.mnt_userns = userns


def do_mount_setattr(k: Kernel, task: Task, path: Path, kattr: MountKattr) -> int:
    """Mirrors fs/namespace.c:do_mount_setattr().

    Errors: EINVAL (not a mount root; an unmapped user namespace (alloc_mnt_idmap);
    neither a detached tree's root nor in the caller's namespace), then
    mount_setattr_prepare()'s. Invented peer group ids are released on failure.
    """
    mnt = path.mnt
    if not path.mounted:
        raise KernelError(errno.EINVAL, "not a mount root", where="do_mount_setattr")
    if kattr.mnt_userns is not None and not has_mappings(kattr.mnt_userns):
        raise KernelError(errno.EINVAL, "user namespace maps no ids", where="alloc_mnt_idmap")
    got: list[Mount] = []
    if kattr.propagation == uapi.MS_SHARED:
        got = invent_group_ids(k, mnt, kattr.recurse)
    try:
        if not anon_ns_root(mnt) and not check_mnt(task, mnt):
            raise KernelError(errno.EINVAL, "mount is neither ours nor a detached tree's root",
                              where="do_mount_setattr")
        mount_setattr_prepare(task, kattr, mnt)
    except KernelError:
        cleanup_group_ids(k, got)
        raise
    mount_setattr_commit(k, kattr, mnt)
    return 0


def _targets(kattr: MountKattr, mnt: Mount):
    """for (m = mnt; m; m = next_mnt(m, mnt)), stopping after *mnt* without AT_RECURSIVE."""
    m: Mount | None = mnt
    while m is not None:
        yield m
        if not kattr.recurse:
            return
        m = next_mnt(m, mnt)


def recalc_flags(kattr: MountKattr, mnt: Mount) -> MNT:
    """Mirrors fs/namespace.c:recalc_flags()."""
    return (mnt.flags & ~kattr.attr_clr) | kattr.attr_set


def mount_setattr_prepare(task: Task, kattr: MountKattr, mnt: Mount) -> None:
    """Check every target before changing any. Mirrors fs/namespace.c:mount_setattr_prepare().

    Errors: EPERM (would loosen a locked flag), then can_idmap_mount()'s, per mount in
    tree order.
    """
    for m in _targets(kattr, mnt):
        if not can_change_locked_flags(m, recalc_flags(kattr, m)):
            raise KernelError(errno.EPERM, "would loosen a locked mount flag",
                              where="can_change_locked_flags")
        can_idmap_mount(task, kattr, m)


def can_idmap_mount(task: Task, kattr: MountKattr, m: Mount) -> None:
    """Mirrors fs/namespace.c:can_idmap_mount().

    Errors: EINVAL (the filesystem's own idmapping), EPERM (already idmapped), EINVAL
    (filesystem lacks FS_ALLOW_IDMAP), EPERM (no CAP_SYS_ADMIN over the superblock's user
    namespace), EINVAL (the mount has been visible: not in an anonymous namespace).
    """
    if kattr.mnt_userns is None:
        return
    fs_userns = m.sb.user_ns
    if kattr.mnt_userns is fs_userns:
        raise KernelError(errno.EINVAL, "idmapping equals the filesystem's", where="can_idmap_mount")
    if m.flags & MNT.IDMAPPED:
        raise KernelError(errno.EPERM, "mount is already idmapped", where="can_idmap_mount")
    if m.sb.fstype not in FS_ALLOW_IDMAP:
        raise KernelError(errno.EINVAL, "filesystem does not support idmapped mounts",
                          where="can_idmap_mount")
    if not ns_capable(task.cred, fs_userns):
        raise KernelError(errno.EPERM, "no CAP_SYS_ADMIN over the superblock", where="can_idmap_mount")
    if m.ns is None or not m.ns.is_anon:
        raise KernelError(errno.EINVAL, "mount has been visible in the filesystem hierarchy",
                          where="can_idmap_mount")


def mount_setattr_commit(k: Kernel, kattr: MountKattr, mnt: Mount) -> None:
    """Apply flags, idmapping and propagation. Mirrors fs/namespace.c:mount_setattr_commit()."""
    for m in list(_targets(kattr, mnt)):
        flags = recalc_flags(kattr, m)
        if kattr.mnt_userns is not None:
            flags |= MNT.IDMAPPED             # do_idmap_mount()
            IDMAPS[m] = kattr.mnt_userns
        m.flags = flags
        if kattr.propagation:
            pnode.change_mnt_propagation(k, m, kattr.propagation)


register("mount_setattr", sys_mount_setattr)
