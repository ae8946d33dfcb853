"""The new mount API's tree calls: open_tree(2) and move_mount(2).

Mirrors SYSCALL_DEFINE3(open_tree) with open_detached_copy(), and SYSCALL_DEFINE5(move_mount)
with vfs_move_mount(), do_set_group() and (in syscalls/mount.py) do_move_mount().
The filesystem-context calls (fsopen, fsconfig, fsmount, fspick) and mount_setattr live in
syscalls/fscontext.py and syscalls/setattr.py.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .. import uapi
from ..errors import KernelError
from ..mount import MntNamespace, peer_add, slave_add_behind
from ..namei import LOOKUP_EMPTY, LOOKUP_FOLLOW, at_lookup_flags, user_path_at
from ..namespace import has_locked_children, walk_tree
from ..newns import open_new_namespace
from ..task import File, Path
from ..user_namespace import ns_capable
from .mount import _do_loopback, do_move_mount, may_change_propagation, require_may_mount

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..task import Task


def new_anon_ns(k: Kernel, task: Task, root) -> MntNamespace:
    """alloc_mnt_ns(user_ns, anon=true) holding the tree at *root*."""
    ns = MntNamespace(task.mnt_ns.user_ns, anon=True)   # seq_origin 0: usable from anywhere
    ns.add_many(list(walk_tree(root)))
    ns.root = root
    return ns


def open_detached_copy(k: Kernel, task: Task, path: Path, recursive: bool) -> File:
    """A copy of the tree at *path* in a new anonymous namespace, owned by an O_PATH file.

    Mirrors open_detached_copy(). Errors: those of __do_loopback().
    """
    origin = path.mnt.ns
    mnt = _do_loopback(k, task, path, recursive)
    ns = new_anon_ns(k, task, mnt)
    if origin is not None:
        ns.seq_origin = getattr(origin, "seq_origin", None) if origin.is_anon else origin
    f = File("path", Path(mnt, path.dentry), uapi.O_PATH)
    f.need_unmount = True
    return f


def sys_open_tree(k: Kernel, task: Task, dfd: int, filename: str | None, flags: int) -> File:
    """open_tree(2). Mirrors vfs_open_tree().

    Errors: EINVAL (unknown flags; AT_RECURSIVE without OPEN_TREE_CLONE or
    OPEN_TREE_NAMESPACE; both of those), EPERM (OPEN_TREE_NAMESPACE without CAP_SYS_ADMIN
    over the caller's user namespace; OPEN_TREE_CLONE without it over the mount namespace's
    owner), lookup errors, then __do_loopback()'s.
    Kernel: `sem.open_tree_flags` holds OPEN_TREE_NAMESPACE from 7.0: a mount namespace
    fd for a new namespace holding a copy of the tree (newns.create_new_namespace()).
    """
    clone_or_ns = uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_NAMESPACE
    if flags & ~k.sem.open_tree_flags:
        raise KernelError(errno.EINVAL, "unknown open_tree flags", where="vfs_open_tree")
    if flags & (uapi.AT_RECURSIVE | clone_or_ns) == uapi.AT_RECURSIVE:
        raise KernelError(errno.EINVAL, "AT_RECURSIVE needs OPEN_TREE_CLONE", where="vfs_open_tree")
    if flags & clone_or_ns == clone_or_ns:              # hweight32() > 1
        raise KernelError(errno.EINVAL, "OPEN_TREE_CLONE and OPEN_TREE_NAMESPACE together",
                          where="vfs_open_tree")
    lookup = at_lookup_flags(flags)
    # The new namespace is owned by the caller's user namespace: privilege over that is all
    # it takes.
    if flags & uapi.OPEN_TREE_NAMESPACE and not ns_capable(task.cred, task.cred.user_ns):
        raise KernelError(errno.EPERM, "OPEN_TREE_NAMESPACE needs CAP_SYS_ADMIN", where="vfs_open_tree")
    detached = bool(flags & uapi.OPEN_TREE_CLONE)
    if detached:
        require_may_mount(task, "open_tree")
    path = user_path_at(k, task, dfd, filename, lookup)
    if flags & uapi.OPEN_TREE_NAMESPACE:
        return open_new_namespace(task, k, path, recurse=bool(flags & uapi.AT_RECURSIVE))
    if detached:
        f = open_detached_copy(k, task, path, bool(flags & uapi.AT_RECURSIVE))
    else:
        f = File("path", path, uapi.O_PATH)
    return f                                # installed by the syscall table (fd_install)


def _move_mount_path(k: Kernel, task: Task, dfd: int, name: str | None, empty: bool, follow: bool) -> Path:
    """getname_maybe_null() + the fd or path lookup of one side of move_mount()."""
    if empty and (name is None or name == ""):
        if dfd >= 0:
            f = task.files.get(dfd)
            if f.path is None:
                raise KernelError(errno.EINVAL, "fd has no path", where="move_mount")
            return f.path
        return user_path_at(k, task, dfd, "", LOOKUP_EMPTY)
    return user_path_at(k, task, dfd, name, LOOKUP_FOLLOW if follow else 0)


def sys_move_mount(k: Kernel, task: Task, from_dfd: int, from_path: str | None, to_dfd: int,
                   to_path: str | None, flags: int) -> int:
    """move_mount(2). Mirrors SYSCALL_DEFINE5(move_mount) -> vfs_move_mount().

    Errors: EPERM, EINVAL (unknown flags; BENEATH with SET_GROUP), lookup errors (target
    first, then source), then do_set_group()'s or do_move_mount()'s.
    """
    require_may_mount(task, "move_mount")
    if flags & ~uapi.MOVE_MOUNT__MASK:
        raise KernelError(errno.EINVAL, "unknown move_mount flags", where="move_mount")
    both = uapi.MOVE_MOUNT_BENEATH | uapi.MOVE_MOUNT_SET_GROUP
    if flags & both == both:
        raise KernelError(errno.EINVAL, "BENEATH and SET_GROUP together", where="move_mount")
    to = _move_mount_path(k, task, to_dfd, to_path, bool(flags & uapi.MOVE_MOUNT_T_EMPTY_PATH),
                          bool(flags & uapi.MOVE_MOUNT_T_SYMLINKS))
    frm = _move_mount_path(k, task, from_dfd, from_path, bool(flags & uapi.MOVE_MOUNT_F_EMPTY_PATH),
                           bool(flags & uapi.MOVE_MOUNT_F_SYMLINKS))
    if flags & uapi.MOVE_MOUNT_SET_GROUP:
        return do_set_group(k, task, frm, to)
    return do_move_mount(k, task, frm, to, beneath=bool(flags & uapi.MOVE_MOUNT_BENEATH))


def do_set_group(k: Kernel, task: Task, from_path: Path, to_path: Path) -> int:
    """MOVE_MOUNT_SET_GROUP: make *to* a peer (and co-slave) of *from*. Mirrors do_set_group().

    Errors: EINVAL/EPERM (may_change_propagation), then EINVAL: not mount roots, different
    superblocks, to's root not under from's, locked children in the way, to not private,
    from private.
    """
    frm, to = from_path.mnt, to_path.mnt
    may_change_propagation(task, frm, "do_set_group")
    may_change_propagation(task, to, "do_set_group")
    from ..fs import is_subdir

    def inval(why: str) -> KernelError:
        return KernelError(errno.EINVAL, why, where="do_set_group")

    if not from_path.mounted or not to_path.mounted:
        raise inval("both paths must be mount roots")
    if frm.sb is not to.sb:
        raise inval("sharing groups only within one superblock")
    if not is_subdir(to.root, frm.root):
        raise inval("from's root must contain to's root")
    if has_locked_children(frm, to.root):
        raise inval("from has locked children in place of to's root")
    if to.is_shared or to.is_slave:
        raise inval("to must be private")
    if not frm.is_shared and not frm.is_slave:
        raise inval("from must not be private")
    if frm.is_slave:
        slave_add_behind(to, frm)
        to.master = frm.master
    if frm.is_shared:
        to.group_id = frm.group_id
        peer_add(to, frm)
        k.set_mnt_shared(to)
    return 0
