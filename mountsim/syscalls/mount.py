"""mount(2) and umount2(2): fs/namespace.c path_mount() and path_umount() with helpers.

Mirrors SYSCALL_DEFINE5(mount) -> do_mount() -> path_mount() and its branches
do_reconfigure_mnt(), do_remount(), do_loopback()/__do_loopback(), do_change_type(),
do_move_mount_old()/do_move_mount(), do_new_mount()/do_add_mount(); and
ksys_umount() -> path_umount() -> can_umount()/do_umount().

Errors are raised in the kernel's order, before the first change to the table.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .. import pnode, uapi
from ..errors import KernelError
from ..cgroup import CGROUP_FS, cgroup1_get_tree, cgroup_get_tree
from ..fs import FS_TYPES, parse_options, reconfigure_options
from ..mount import MNT, MNT_ATIME_MASK, MNT_INTERNAL_FLAGS, MNT_USER_SETTABLE_MASK, Mount, children, sb_mounts
from ..namei import LOOKUP_FOLLOW, LOOKUP_MOUNTPOINT, user_path_at
from ..namespace import (UMOUNT_PROPAGATE, UMOUNT_SYNC, attach_recursive_mnt, check_mnt,
                         clone_mnt, copy_tree, graft_tree, has_locked_children,
                         invent_group_ids, is_mnt_ns_file, lock_mount, umount_tree, walk_tree)
from ..nullfs import fs_context_for_reconfigure
from ..pnode import CL_COPY_MNT_NS_FILE
from ..proc import ProcLookup, proc_parse_pidns_param
from ..task import Path, PidNamespace
from ..user_namespace import ns_capable

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..task import Task


def may_mount(task: Task) -> bool:
    """may_mount(): CAP_SYS_ADMIN over the caller's mount namespace."""
    return ns_capable(task.cred, task.mnt_ns.user_ns)


def require_may_mount(task: Task, where: str) -> None:
    if not may_mount(task):
        raise KernelError(errno.EPERM, "no CAP_SYS_ADMIN over the mount namespace", where=where)


def ms_to_mnt_flags(flags: int, path: Path) -> MNT:
    """path_mount(): separate the per-mount flags; relatime unless told otherwise."""
    f = MNT(0)
    if not (flags & uapi.MS_NOATIME):
        f |= MNT.RELATIME
    for ms, mnt in ((uapi.MS_NOSUID, MNT.NOSUID), (uapi.MS_NODEV, MNT.NODEV),
                    (uapi.MS_NOEXEC, MNT.NOEXEC), (uapi.MS_NOATIME, MNT.NOATIME),
                    (uapi.MS_NODIRATIME, MNT.NODIRATIME), (uapi.MS_RDONLY, MNT.READONLY),
                    (uapi.MS_NOSYMFOLLOW, MNT.NOSYMFOLLOW)):
        if flags & ms:
            f |= mnt
    if flags & uapi.MS_STRICTATIME:
        f &= ~(MNT.RELATIME | MNT.NOATIME)
    # The default atime for remount is preservation.
    if flags & uapi.MS_REMOUNT and not flags & (uapi.MS_NOATIME | uapi.MS_NODIRATIME
                                                 | uapi.MS_RELATIME | uapi.MS_STRICTATIME):
        f &= ~MNT_ATIME_MASK
        f |= path.mnt.flags & MNT_ATIME_MASK
    return f


def sys_mount(k: Kernel, task: Task, source: str | None, target: str | None,
              fstype: str | None, flags: int, data: str | None) -> int:
    """mount(2). Mirrors do_mount() + path_mount()."""
    path = user_path_at(k, task, uapi.AT_FDCWD, target, LOOKUP_FOLLOW)
    if (flags & uapi.MS_MGC_MSK) == uapi.MS_MGC_VAL:
        flags &= ~uapi.MS_MGC_MSK
    if flags & uapi.MS_NOUSER:
        raise KernelError(errno.EINVAL, "MS_NOUSER", where="path_mount")
    require_may_mount(task, "path_mount")
    mnt_flags = ms_to_mnt_flags(flags, path)
    if flags & (uapi.MS_REMOUNT | uapi.MS_BIND) == (uapi.MS_REMOUNT | uapi.MS_BIND):
        return do_reconfigure_mnt(k, task, path, mnt_flags)
    if flags & uapi.MS_REMOUNT:
        return do_remount(k, task, path, flags, mnt_flags, data)
    if flags & uapi.MS_BIND:
        return do_loopback(k, task, path, source, bool(flags & uapi.MS_REC))
    if flags & uapi.MS_PROPAGATION:
        return do_change_type(k, task, path, flags)
    if flags & uapi.MS_MOVE:
        return do_move_mount_old(k, task, path, source)
    return do_new_mount(k, task, path, fstype, flags, mnt_flags, source, data)


def can_change_locked_flags(mnt: Mount, mnt_flags: MNT) -> bool:
    """Mirrors can_change_locked_flags(): locked bits may only be tightened."""
    lock = mnt.flags
    if lock & MNT.LOCK_READONLY and not mnt_flags & MNT.READONLY:
        return False
    if lock & MNT.LOCK_NODEV and not mnt_flags & MNT.NODEV:
        return False
    if lock & MNT.LOCK_NOSUID and not mnt_flags & MNT.NOSUID:
        return False
    if lock & MNT.LOCK_NOEXEC and not mnt_flags & MNT.NOEXEC:
        return False
    if lock & MNT.LOCK_ATIME and (mnt.flags ^ mnt_flags) & MNT_ATIME_MASK:
        return False
    return True


def set_mount_attributes(mnt: Mount, mnt_flags: MNT) -> None:
    """Mirrors set_mount_attributes(): user-settable bits replaced, the rest kept."""
    mnt.flags = mnt_flags | (mnt.flags & ~MNT_USER_SETTABLE_MASK)


def do_reconfigure_mnt(k: Kernel, task: Task, path: Path, mnt_flags: MNT) -> int:
    """MS_REMOUNT|MS_BIND: change per-mount flags only. Mirrors do_reconfigure_mnt().

    Errors: EINVAL (not in our namespace, not a mount root), EPERM (locked flags).
    """
    mnt = path.mnt
    if not check_mnt(task, mnt):
        raise KernelError(errno.EINVAL, "mount is not in the caller's namespace", where="do_reconfigure_mnt")
    if not path.mounted:
        raise KernelError(errno.EINVAL, "not a mount root", where="do_reconfigure_mnt")
    if not can_change_locked_flags(mnt, mnt_flags):
        raise KernelError(errno.EPERM, "would loosen a locked mount flag", where="can_change_locked_flags")
    set_mount_attributes(mnt, mnt_flags)
    return 0


def do_remount(k: Kernel, task: Task, path: Path, flags: int, mnt_flags: MNT, data: str | None) -> int:
    """MS_REMOUNT: reconfigure the superblock, then the mount. Mirrors do_remount().

    Errors: EINVAL (not ours, not a mount root, bad option), EPERM (locked flags, no
    CAP_SYS_ADMIN over the superblock's user namespace).
    """
    mnt = path.mnt
    if not check_mnt(task, mnt):
        raise KernelError(errno.EINVAL, "mount is not in the caller's namespace", where="do_remount")
    if not path.mounted:
        raise KernelError(errno.EINVAL, "not a mount root", where="do_remount")
    if not can_change_locked_flags(mnt, mnt_flags):
        raise KernelError(errno.EPERM, "would loosen a locked mount flag", where="can_change_locked_flags")
    sb = mnt.sb
    keeps_flags = fs_context_for_reconfigure(k, sb)
    rdonly = bool(flags & uapi.MS_RDONLY) and keeps_flags
    fst = FS_TYPES.get(sb.fstype)
    opts = parse_options(fst, data, k.profile, task.cred.user_ns) if fst is not None else sb.options
    opts, _ = proc_pidns(k, task, sb.fstype, opts, reconfigure=True)
    if not ns_capable(task.cred, sb.user_ns):
        raise KernelError(errno.EPERM, "no CAP_SYS_ADMIN over the superblock", where="do_remount")
    if rdonly and not sb.rdonly:
        sb_prepare_remount_readonly(k, sb)
    options = reconfigure_options(sb, opts, k.profile)    # ->reconfigure(), then the flags
    sb.rdonly = rdonly
    sb.options = options
    set_mount_attributes(mnt, mnt_flags)
    return 0


def mnt_ns_loop(task: Task, dentry) -> bool:
    """mnt_ns_loop(): binding an older (or our own) namespace's file could make a loop."""
    if not is_mnt_ns_file(dentry):
        return False
    return task.mnt_ns.seq >= dentry.ns_ref.seq


def may_copy_tree(task: Task, path: Path) -> bool:
    """Mirrors may_copy_tree(): our namespace, an nsfs file, or an anon tree we made."""
    m = path.mnt
    if check_mnt(task, m):
        return True
    if path.dentry.sb.fstype == "nsfs":
        return True
    return check_anonymous_mnt(task, m)


def check_anonymous_mnt(task: Task, m: Mount) -> bool:
    """A mount of an anonymous namespace the caller may use: one made by fsmount() (no
    origin), or cloned from the caller's namespace. Mirrors check_anonymous_mnt()."""
    if m.ns is None or not m.ns.is_anon:
        return False
    return m.ns.seq_origin is None or m.ns.seq_origin is task.mnt_ns


def _do_loopback(k: Kernel, task: Task, old_path: Path, recurse: bool,
                 copy_flags: int = CL_COPY_MNT_NS_FILE) -> Mount:
    """The copy a bind mount attaches. Mirrors __do_loopback().

    *copy_flags*: CL_COPY_MNT_NS_FILE for binds and OPEN_TREE_CLONE; create_new_namespace()
    passes 0 or CL_SLAVE, which leaves mount namespace files out of the copy.

    Errors: EINVAL (unbindable; not copyable from here; plain bind would reveal locked
    mounts), EPERM from copy_tree().
    """
    old = old_path.mnt
    if old.is_unbindable:
        raise KernelError(errno.EINVAL, "source mount is unbindable", where="__do_loopback")
    if not may_copy_tree(task, old_path):
        raise KernelError(errno.EINVAL, "source is not in the caller's namespace", where="may_copy_tree")
    if not recurse and has_locked_children(old, old_path.dentry):
        raise KernelError(errno.EINVAL, "would reveal mounts under a locked mount",
                          where="__has_locked_children")
    if recurse:
        mnt = copy_tree(k, old, old_path.dentry, copy_flags)
    else:
        mnt = clone_mnt(k, old, old_path.dentry, copy_flags & ~CL_COPY_MNT_NS_FILE)
    mnt.flags &= ~MNT.LOCKED
    return mnt


def do_loopback(k: Kernel, task: Task, path: Path, old_name: str | None, recurse: bool) -> int:
    """MS_BIND[|MS_REC]. Mirrors do_loopback().

    Errors: EINVAL (no source), lookup errors, EINVAL (ns-file loop), ENOENT (target gone),
    EINVAL (target not ours), then __do_loopback()'s and graft_tree()'s.
    """
    if not old_name:
        raise KernelError(errno.EINVAL, "bind mount needs a source", where="do_loopback")
    old_path = user_path_at(k, task, uapi.AT_FDCWD, old_name, LOOKUP_FOLLOW)
    if mnt_ns_loop(task, old_path.dentry):
        raise KernelError(errno.EINVAL, "mount namespace file would make a loop", where="mnt_ns_loop")
    path, mp = lock_mount(k, path)
    parent = path.mnt
    if not check_mnt(task, parent):
        raise KernelError(errno.EINVAL, "target is not in the caller's namespace", where="do_loopback")
    mnt = _do_loopback(k, task, old_path, recurse)
    try:
        graft_tree(task, k, mnt, parent, mp)
    except KernelError:
        umount_tree(k, mnt, UMOUNT_SYNC)
        raise
    return 0


def flags_to_propagation_type(ms_flags: int) -> int:
    """Mirrors flags_to_propagation_type(): exactly one propagation flag, nothing else."""
    type_ = ms_flags & ~(uapi.MS_REC | uapi.MS_SILENT)
    if type_ & ~uapi.MS_PROPAGATION:
        return 0
    if type_ & (type_ - 1):
        return 0
    return type_


def may_change_propagation(task: Task, m: Mount, where: str) -> None:
    """Mirrors may_change_propagation(). Errors: EINVAL (not mounted), EPERM."""
    if m.ns is None:
        raise KernelError(errno.EINVAL, "mount is not mounted", where=where)
    if not ns_capable(task.cred, m.ns.user_ns):
        raise KernelError(errno.EPERM, "no CAP_SYS_ADMIN over the mount's namespace", where=where)


def do_change_type(k: Kernel, task: Task, path: Path, ms_flags: int) -> int:
    """MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE[|MS_REC]. Mirrors do_change_type().

    Errors: EINVAL (not a mount root; not exactly one propagation flag), then
    may_change_propagation()'s.
    """
    if not path.mounted:
        raise KernelError(errno.EINVAL, "not a mount root", where="do_change_type")
    type_ = flags_to_propagation_type(ms_flags)
    if not type_:
        raise KernelError(errno.EINVAL, "need exactly one propagation flag", where="flags_to_propagation_type")
    mnt = path.mnt
    may_change_propagation(task, mnt, "do_change_type")
    recurse = bool(ms_flags & uapi.MS_REC)
    if type_ == uapi.MS_SHARED:
        invent_group_ids(k, mnt, recurse)
    for m in (list(walk_tree(mnt)) if recurse else [mnt]):
        pnode.change_mnt_propagation(k, m, type_)
    return 0


def do_move_mount_old(k: Kernel, task: Task, path: Path, old_name: str | None) -> int:
    """MS_MOVE. Mirrors do_move_mount_old(). Errors: EINVAL (no source), lookup errors."""
    if not old_name:
        raise KernelError(errno.EINVAL, "move needs a source", where="do_move_mount_old")
    old_path = user_path_at(k, task, uapi.AT_FDCWD, old_name, LOOKUP_FOLLOW)
    return do_move_mount(k, task, old_path, path, beneath=False)


def tree_contains_unbindable(mnt: Mount) -> bool:
    return any(p.is_unbindable for p in walk_tree(mnt))


def check_for_nsfs_mounts(task: Task, subtree: Mount) -> bool:
    """No mount of *subtree* is rooted at a namespace file that could make a loop.

    Mirrors fs/namespace.c:check_for_nsfs_mounts() (mnt_ns_loop() on every mount root).
    """
    return not any(mnt_ns_loop(task, p.root) for p in walk_tree(subtree))


def anon_ns_root(m: Mount) -> bool:
    """anon_ns_root(): *m* is the root of an anonymous (detached) namespace."""
    return m.ns is not None and m.ns.is_anon and m.ns.root is m


def mount_is_ancestor(old: Mount, p: Mount) -> bool:
    """Is *old* at or above *p*? (moving a mount beneath itself makes a loop)"""
    while True:
        if p is old:
            return True
        if not p.has_parent:
            return False
        p = p.parent


def can_move_mount_beneath(k: Kernel, task: Task, frm: Path, to: Path, mp, over: Mount) -> None:
    """May *frm* go between *to* (the topmost mount at the target) and its parent?

    *over* is the mount the checks after the first look at: do_move_mount()'s `over`,
    the target path's own mount when that mount's parent is the topmost mount's parent,
    else that parent's overmount. Those are the topmost mount except for a target path
    at the root of a namespace's root mount (its parent is itself): then the root mount
    itself, so beneath the caller's root by way of "/" after chroot into a detached tree
    is refused as the caller's root (observed on Linux 6.18; by an fd to the same root
    without the chroot it succeeds).

    Mirrors fs/namespace.c:can_move_mount_beneath(). Errors: EINVAL, for (in order) a
    target with no parent (7.x: do_lock_mount()), a locked target whose lock the source
    cannot take over (an mnt-ns file), a locked target (until 7.1), an overmounted source,
    the caller's root or a mount on the namespace root as target (until 7.1), the source
    mounted on the target, and propagation that would cover the target or the source.

    Kernel: `sem.beneath_rootfs` (7.1, "move_mount: transfer MNT_LOCKED" and "move_mount:
    allow MOVE_MOUNT_BENEATH on the rootfs") drops the locked-target and root checks: the
    lock moves to the mount placed beneath (attach_recursive_mnt()).
    `sem.beneath_locked_nsfs_refused` (7.3) refuses a locked target over an mnt-ns file
    source, which copy_tree() would leave out of every copy.
    Deviation: 7.x refuses a parentless target in do_lock_mount(), before do_move_mount()'s
    own EINVAL checks; the errno is the same, so the model keeps 6.18's place.
    """
    sem = k.sem
    mnt_from, mnt_to = frm.mnt, over
    parent_mnt_to = mnt_to.parent
    why = None
    if not to.mnt.has_parent:
        why = "target has no parent"
    elif sem.beneath_locked_nsfs_refused and mnt_to.is_locked and is_mnt_ns_file(mnt_from.root):
        why = "a mount namespace file cannot take over the target's lock"
    elif not sem.beneath_rootfs and mnt_to.is_locked:
        why = "target mount is locked"
    elif mnt_from.overmount is not None:
        why = "source is overmounted"
    elif not sem.beneath_rootfs and mnt_to is task.fs.root.mnt:
        why = "target is the caller's root"
    elif not sem.beneath_rootfs and parent_mnt_to is task.mnt_ns.root:
        why = "target sits on the namespace root"
    else:
        p = mnt_from
        while p.has_parent:
            if p is mnt_to:
                why = "source is mounted on the target"
                break
            p = p.parent
    if why is None and pnode.propagation_would_overmount(parent_mnt_to, mnt_to, mp):
        why = "propagation would cover the target"
    if why is None and check_mnt(task, mnt_from) and \
            pnode.propagation_would_overmount(parent_mnt_to, mnt_from, mp):
        why = "propagation would cover the source"
    if why:
        raise KernelError(errno.EINVAL, why, where="can_move_mount_beneath")


def do_move_mount(k: Kernel, task: Task, old_path: Path, new_path: Path, beneath: bool) -> int:
    """Move a mount (or attach a detached tree) to *new_path*. Mirrors do_move_mount().

    Errors, in 6.18's order: EINVAL (source not a mount root, dir vs non-dir — checked
    before the target is locked); ENOENT (target gone); EINVAL (source locked/unparented/
    parent shared, target not ours, anon source not a tree root or same namespace,
    beneath refused, unbindable tree onto shared); ELOOP (a mount namespace file that could
    make a loop: check_for_nsfs_mounts(), observed on 6.18); ELOOP (onto itself).
    """
    if not old_path.mounted:
        raise KernelError(errno.EINVAL, "source is not a mount root", where="do_move_mount")
    if new_path.dentry.is_dir != old_path.dentry.is_dir:
        raise KernelError(errno.EINVAL, "directory and non-directory mismatch", where="do_move_mount")
    target = new_path.mnt
    new_path, mp = lock_mount(k, new_path, beneath)
    old = old_path.mnt
    p = new_path.mnt
    ns = old.ns

    def inval(why: str) -> KernelError:
        return KernelError(errno.EINVAL, why, where="do_move_mount")

    if check_mnt(task, old):
        if not old.has_parent or old.is_locked:
            raise inval("source has no parent or is locked")
        if not check_mnt(task, p):
            raise inval("target is not in the caller's namespace")
        if old.parent.is_shared:
            raise inval("parent of the source is shared")
    else:
        if not anon_ns_root(old):
            raise inval("source is neither ours nor a detached tree's root")
        if ns is p.ns:
            raise inval("target is in the source's namespace")
        if not (check_mnt(task, p) or check_anonymous_mnt(task, p)):
            raise inval("target namespace is not usable")
    if beneath:
        over = target                       # do_move_mount()'s `over`
        if p.parent is not over.parent:
            over = p.parent.overmount or p
        can_move_mount_beneath(k, task, old_path, new_path, mp, over)
        p = p.parent
    if p.is_shared and tree_contains_unbindable(old):
        raise inval("unbindable mounts cannot go under a shared mount")
    if not check_for_nsfs_mounts(task, old):
        raise KernelError(errno.ELOOP, "the tree holds a mount namespace file that could make "
                          "a loop", where="check_for_nsfs_mounts")
    if mount_is_ancestor(old, p):
        raise KernelError(errno.ELOOP, "target is inside the source", where="do_move_mount")
    attach_recursive_mnt(task, k, old, p, mp)
    old.expire = False
    if ns is not None and ns.is_anon and ns is not old.ns:
        ns.root = None                     # the emptied anon namespace dies with its fd
    return 0


def sb_prepare_remount_readonly(k: Kernel, sb) -> None:
    """Going read-only needs no inode that is unlinked but still in use and no file open
    for writing. Mirrors fs/namespace.c:sb_prepare_remount_readonly() (s_remove_count,
    then mnt_get_writers() on each mount). Errors: EBUSY.

    The model's in-use unlinked inodes are removed directories still referenced as a
    mount's root, an open file's path, or a process's root or cwd.
    """
    def in_sb_unlinked(p) -> bool:
        return p is not None and p.dentry.sb is sb and p.dentry.unlinked

    tasks = [t for t in k.tasks.values() if t.alive]
    files = [f for t in tasks for f in t.files.fds.values()]
    busy = (any(m.root.unlinked for m in sb_mounts(sb))
            or any(in_sb_unlinked(p) for t in tasks for p in (t.fs.root, t.fs.pwd))
            or any(in_sb_unlinked(f.path) for f in files))
    writing = any(f.path is not None and f.path.mnt.sb is sb and f.kind == "path"
                  and not f.flags & uapi.O_PATH and f.flags & uapi.O_ACCMODE for f in files)
    if busy:
        raise KernelError(errno.EBUSY, "an unlinked inode is still in use", where="sb_prepare_remount_readonly")
    if writing:
        raise KernelError(errno.EBUSY, "a file is open for writing", where="sb_prepare_remount_readonly")


USERNS_VISIBLE = frozenset({"proc", "sysfs"})     # SB_I_USERNS_VISIBLE


def mount_too_revealing(task: Task, sb, mnt_flags: MNT) -> MNT | None:
    """May a new proc (or sysfs) mount be made from this namespace? Mirrors
    mount_too_revealing() and mnt_already_visible().

    Outside the initial user namespace, only if the caller's namespace already shows such
    a filesystem in full: a mount of its root whose locked read-only/atime flags the new
    mount keeps, with no locked mount on top of anything in it. Returns None when too
    revealing (the caller fails with EPERM), else the lock flags the new mount inherits.
    """
    ns = task.mnt_ns
    if ns.user_ns.parent is None or sb.fstype not in USERNS_VISIBLE:
        return MNT(0)
    for m in ns:
        if m.sb.fstype != sb.fstype or m.root is not m.sb.root:
            continue
        flags = m.flags | (MNT.LOCK_READONLY if m.sb.rdonly else 0)
        if flags & MNT.LOCK_READONLY and not mnt_flags & MNT.READONLY:
            continue
        if flags & MNT.LOCK_ATIME and (flags & MNT_ATIME_MASK) != (mnt_flags & MNT_ATIME_MASK):
            continue
        if any(c.is_locked for c in children(m)):     # no directory is permanently empty here
            continue
        return flags & (MNT.LOCK_READONLY | MNT.LOCK_ATIME)
    return None


def proc_pidns(k: Kernel, task: Task, fstype: str, opts: tuple[str, ...],
               reconfigure: bool) -> tuple[tuple[str, ...], PidNamespace | None]:
    """proc's pidns= among parsed options: the options without it, and the pid namespace
    it names (proc.proc_parse_pidns_param()); for other types, as they are."""
    if fstype != "proc":
        return opts, None
    pid_ns = None
    for o in opts:
        if o.startswith("pidns="):
            pid_ns = proc_parse_pidns_param(k, task, o[6:], reconfigure)
    return tuple(o for o in opts if not o.startswith("pidns=")), pid_ns


def fs_context_user_ns(task: Task, fstype: str):
    """fc->user_ns of a new filesystem context: the pid namespace's owner for proc
    (proc_init_fs_context()), the net namespace's for sysfs (sysfs_init_fs_context()), the
    ipc namespace's for mqueue (mqueue_init_fs_context()), the cgroup namespace's for
    cgroup and cgroup2, else the caller's."""
    if fstype == "proc":
        return task.pid_ns.user_ns
    if fstype == "sysfs":
        return task.net_ns.user_ns
    if fstype == "mqueue":
        return task.ipc_ns.user_ns
    if fstype in CGROUP_FS:                     # cgroup_init_fs_context()
        return task.cgroup_ns.user_ns
    return task.cred.user_ns


def fs_context_sb(k: Kernel, task: Task, fstype: str, user_ns, options: tuple[str, ...]):
    """vfs_get_tree()'s superblock. sysfs and mqueue keep one per namespace: kernfs_get_tree()
    finds the net namespace's (kernfs_test_super() on the ns tag) while it is mounted
    somewhere; mqueue_get_tree() is get_tree_keyed() on the ipc namespace, whose internal
    mount (mq_init_ns()) keeps it for the namespace's life. cgroup and cgroup2: the
    hierarchy's (cgroup.py). Others: a new one."""
    if fstype == "cgroup":
        return cgroup1_get_tree(k, task, options)
    if fstype == "cgroup2":
        return cgroup_get_tree(k, task, options)
    other = task.net_ns if fstype == "sysfs" else task.ipc_ns if fstype == "mqueue" else None
    if other is not None and other.sb is not None and (other.sb.mounts or fstype == "mqueue"):
        return other.sb
    # sysfs holds the kernel's objects: contents unknown here, decided by recorded results
    sb = k.new_sb(fstype, user_ns, options, opaque=fstype == "sysfs")
    if sb.opaque:
        sb.oracle = k                        # fs.decide()
    if other is not None:
        other.sb = sb
    return sb


def do_new_mount(k: Kernel, task: Task, path: Path, fstype: str | None, flags: int,
                 mnt_flags: MNT, name: str | None, data: str | None) -> int:
    """A new filesystem instance. Mirrors do_new_mount() -> do_new_mount_fc() -> do_add_mount().

    Errors: EINVAL (no type), ENODEV (unknown type), EINVAL (bad option), EPERM (not
    capable over the filesystem's user namespace), ENOENT (target gone), EINVAL (target
    not ours).
    """
    if fstype is None:
        raise KernelError(errno.EINVAL, "no filesystem type", where="do_new_mount")
    fst = FS_TYPES.get(fstype)
    if fst is None or fstype in ("rootfs", "nsfs"):
        raise KernelError(errno.ENODEV, f"unknown filesystem type {fstype!r}", where="get_fs_type")
    opts = parse_options(fst, data, k.profile, task.cred.user_ns)
    opts, pid_ns = proc_pidns(k, task, fstype, opts, reconfigure=False)
    fc_user_ns = pid_ns.user_ns if pid_ns is not None else fs_context_user_ns(task, fstype)
    if not (ns_capable(task.cred, fc_user_ns) if fst.userns_mount
            else ns_capable(task.cred, k.init_user_ns)):
        raise KernelError(errno.EPERM, "not capable over the filesystem's user namespace",
                          where="mount_capable")
    sb = fs_context_sb(k, task, fstype, fc_user_ns, opts)
    if pid_ns is not None:
        sb.dynamic = ProcLookup(k, pid_ns)      # proc_fill_super(): fs_info->pid_ns
    if not sb.mounts:                        # a superblock found in use keeps its flags
        sb.rdonly = bool(flags & uapi.MS_RDONLY)
    inherited = mount_too_revealing(task, sb, mnt_flags)
    if inherited is None:
        k.drop_sb(sb)                      # fc_drop_locked()
        raise KernelError(errno.EPERM, "mount too revealing: no fully visible instance here",
                          where="mount_too_revealing")
    mnt_flags |= inherited
    mnt = k.alloc_vfsmnt(sb, sb.root, name if name is not None else "none")
    try:
        path, mp = lock_mount(k, path)
        parent = path.mnt
        mnt_flags &= ~MNT_INTERNAL_FLAGS
        if not check_mnt(task, parent):
            raise KernelError(errno.EINVAL, "target is not in the caller's namespace", where="do_add_mount")
        mnt.flags = mnt_flags
        graft_tree(task, k, mnt, parent, mp)
    except KernelError:
        k.free_mount(mnt)
        raise
    return 0


# -- umount2 -------------------------------------------------------------------

def sys_umount2(k: Kernel, task: Task, target: str | None, flags: int) -> int:
    """umount2(2). Mirrors ksys_umount() -> path_umount()."""
    if flags & ~(uapi.MNT_FORCE | uapi.MNT_DETACH | uapi.MNT_EXPIRE | uapi.UMOUNT_NOFOLLOW):
        raise KernelError(errno.EINVAL, "unknown umount flags", where="ksys_umount")
    lookup = LOOKUP_MOUNTPOINT | (0 if flags & uapi.UMOUNT_NOFOLLOW else LOOKUP_FOLLOW)
    path = user_path_at(k, task, uapi.AT_FDCWD, target, lookup)
    can_umount(k, task, path, flags)
    return do_umount(k, task, path.mnt, flags)


def can_umount(k: Kernel, task: Task, path: Path, flags: int) -> None:
    """Mirrors can_umount(). Errors: EPERM, EINVAL (not a mount root, not ours, locked), EPERM."""
    require_may_mount(task, "can_umount")
    if not path.mounted:
        raise KernelError(errno.EINVAL, "not a mount root", where="can_umount")
    if not check_mnt(task, path.mnt):
        raise KernelError(errno.EINVAL, "mount is not in the caller's namespace", where="can_umount")
    if path.mnt.is_locked:
        raise KernelError(errno.EINVAL, "mount is locked (MNT_LOCKED)", where="can_umount")
    force_ns = path.mnt.sb.user_ns if k.sem.force_umount_by_sb_owner else k.init_user_ns
    if flags & uapi.MNT_FORCE and not ns_capable(task.cred, force_ns):
        raise KernelError(errno.EPERM, "MNT_FORCE needs CAP_SYS_ADMIN over the superblock's "
                          "user namespace", where="can_umount")


def do_umount(k: Kernel, task: Task, mnt: Mount, flags: int) -> int:
    """Mirrors do_umount().

    Errors: EINVAL/EBUSY/EAGAIN (MNT_EXPIRE), EPERM (remounting the root read-only),
    EINVAL (no parent), EBUSY (in use here or in a receiving twin).
    """
    if flags & uapi.MNT_EXPIRE:
        if mnt is task.fs.root.mnt or flags & (uapi.MNT_FORCE | uapi.MNT_DETACH):
            raise KernelError(errno.EINVAL, "MNT_EXPIRE on the root or with FORCE/DETACH", where="do_umount")
        if mnt.mounts is not None or mnt.pins:
            raise KernelError(errno.EBUSY, "mount is in use", where="do_umount")
        if not mnt.expiry_mark:
            mnt.expiry_mark = True
            raise KernelError(errno.EAGAIN, "marked for expiry; repeat to unmount", where="do_umount")
    if mnt is task.fs.root.mnt and not flags & uapi.MNT_DETACH:
        # "Unmounting" the root just tries to remount it read-only.
        if not ns_capable(task.cred, mnt.sb.user_ns):
            raise KernelError(errno.EPERM, "no CAP_SYS_ADMIN over the root's superblock", where="do_umount")
        if not mnt.sb.rdonly and fs_context_for_reconfigure(k, mnt.sb):   # do_umount_root()
            sb_prepare_remount_readonly(k, mnt.sb)
            mnt.sb.rdonly = True
        return 0
    if not check_mnt(task, mnt) or mnt.is_locked or not mnt.has_parent:
        raise KernelError(errno.EINVAL, "not unmountable here", where="do_umount")
    if flags & uapi.MNT_DETACH:
        umount_tree(k, mnt, UMOUNT_PROPAGATE)
        return 0
    if pnode.propagate_mount_busy(k, mnt, 1):
        raise KernelError(errno.EBUSY, "mount (or a propagated twin) is in use", where="propagate_mount_busy")
    umount_tree(k, mnt, UMOUNT_PROPAGATE | UMOUNT_SYNC)
    return 0
