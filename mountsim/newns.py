"""New mount namespaces built from a part of the caller's (7.0, 7.1): fs/namespace.c, continued.

Mirrors create_new_namespace() and open_new_namespace() (open_tree(OPEN_TREE_NAMESPACE),
7.0; fsmount(FSMOUNT_NAMESPACE), 7.1), lock_mount_exact() in its copy mode
(LOCK_MOUNT_EXACT_COPY, 7.0-rc2), and the CLONE_EMPTY_MNTNS branch of copy_mnt_ns() (7.1).

Every such namespace is a copy of the caller's namespace root (the nullfs mount, nullfs.py)
with one tree attached on its root directory: a copy of the tree at a path (OPEN_TREE_NAMESPACE,
with the restrictions of a detached bind: __do_loopback()), a clone of a new mount
(FSMOUNT_NAMESPACE), or nothing at all (an empty namespace). The namespace is owned by the
caller's user namespace; when that is not the owner of the caller's namespace the copies are
slaves (CL_SLAVE), mount namespace files are left out, and lock_mnt_tree() locks everything
but the nullfs root.

Kernel: `sem.copy_ns_under_one_lock` selects what create_new_namespace() does on failure:
7.0-rc1 cloned the namespace root under namespace_sem, dropped it, and on a later failure let
path_put() free the copy while it stayed linked in its peer group / its master's slave list;
7.0-rc2 (a41dbf5e004e, "mount: hold namespace_sem across copy in create_new_namespace()")
clones under one lock and unmounts the copy (umount_tree()) on failure.

Limitations: the 7.0-rc1 leftover is modelled as what the commit message says survives, the
propagation links (a freed mount in the peer ring / slave list); the real kernel then reads
freed memory (syzbot: KASAN slab-use-after-free in clone_mnt), which nothing can predict.
The ENOTDIR check (7.0.13, not in the 7.0-rc1 patch) and 7.2's rules for a foreign caller
are row fields too.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Callable

from . import uapi
from .errors import KernelError
from .fs import is_subdir
from .mount import MNT, MntNamespace, Mount, children
from .namespace import clone_mnt, get_mnt_ns, lock_mnt_tree, umount_tree, walk_tree
from .pnode import CL_COPY_UNBINDABLE, CL_SLAVE
from .task import File, Path

if TYPE_CHECKING:
    from .fs import Dentry
    from .kernel import Kernel
    from .task import FsStruct, Task
    from .user_namespace import UserNamespace


def _root_stack_locked(old_ns_root: Mount) -> bool:
    """Is any mount stacked on the namespace root MNT_LOCKED? Then the new tree is locked
    too, so it cannot be unmounted to expose the copy of the nullfs root."""
    mnt = old_ns_root
    while mnt.overmount is not None:
        mnt = mnt.overmount
        if mnt.is_locked:
            return True
    return False


def _has_children(mnt: Mount, dentry: Dentry) -> bool:
    """Is anything mounted at or below *dentry* in *mnt*? Mirrors __has_children() (7.2)."""
    return any(is_subdir(child.mountpoint, dentry) for child in children(mnt))


def _copy_source(k: Kernel, task: Task, path: Path, recurse: bool, new: bool,
                 copy_flags: int) -> Mount:
    """The tree the new namespace gets: a clone of a new mount (MOUNT_COPY_NEW) or what a
    detached bind would copy (__do_loopback(), without CL_COPY_MNT_NS_FILE).

    Errors: those of __do_loopback() (EINVAL: unbindable, not copyable from here, a plain
    copy would reveal locked mounts; EINVAL/EPERM from copy_tree()).
    """
    if new:
        return clone_mnt(k, path.mnt, path.dentry, copy_flags)
    from .syscalls.mount import _do_loopback
    return _do_loopback(k, task, path, recurse, copy_flags)


def _attach_new_tree(k: Kernel, new_ns: MntNamespace, new_ns_root: Mount, mnt: Mount,
                     locked: bool, foreign: bool) -> MntNamespace:
    """Mount *mnt* on the copy of the namespace root and fill the namespace (the mount_writer
    part of create_new_namespace() and what follows it)."""
    if locked:
        mnt.flags |= MNT.LOCKED
    k.attach_mnt(mnt, new_ns_root, new_ns_root.root)
    if foreign:
        lock_mnt_tree(new_ns_root)
    new_ns.add_many(list(walk_tree(new_ns_root)))
    new_ns.root = new_ns_root
    return new_ns


def _unmount_copy(k: Kernel, new_ns_root: Mount) -> None:
    """7.0-rc2: the copy of the namespace root was made under the locks still held, so it
    is unmounted (umount_tree()), which takes it out of its peer group and its master's
    slave list: no propagation link survives."""
    umount_tree(k, new_ns_root, 0)


def _put_copy_rc1(k: Kernel, new_ns_root: Mount) -> None:
    """7.0-rc1: namespace_sem was dropped after the copy and retaken by LOCK_MOUNT_EXACT on
    it; on failure path_put() frees it without unmounting it, so a copy of a shared or
    dependent namespace root stays in the peer ring / the master's slave list."""
    k.free_mount(new_ns_root)


# What a failed creation does with its copy of the namespace root, by
# `sem.copy_ns_under_one_lock` (the only difference between the two implementations).
_DROP_COPY: dict[bool, Callable[[Kernel, Mount], None]] = {
    True: _unmount_copy,
    False: _put_copy_rc1,
}


def create_new_namespace(task: Task, k: Kernel, path: Path, recurse: bool = False,
                         new: bool = False) -> MntNamespace:
    """A namespace holding a copy of the namespace root with the tree at *path* on top.

    Mirrors fs/namespace.c:create_new_namespace(). *recurse*: MOUNT_COPY_RECURSIVE
    (AT_RECURSIVE); *new*: MOUNT_COPY_NEW (fsmount(): clone *path*'s mount itself).
    Context: the caller's capability over its own user namespace was checked.
    Errors: ENOTDIR (not a directory), EINVAL (7.2: a foreign caller's plain copy would
    leave mounts out), those of __do_loopback(); the copy of the namespace root is
    dropped first.
    Kernel: `sem.copy_ns_under_one_lock` selects how a failure drops that copy
    (_unmount_copy(), 7.0-rc2; _put_copy_rc1(), 7.0-rc1); `sem.new_ns_dir_only` (7.0) the
    ENOTDIR check; `sem.new_ns_foreign_whole_tree` (7.2) the foreign caller's rules.
    """
    sem = k.sem
    drop_copy = _DROP_COPY[sem.copy_ns_under_one_lock]
    if sem.new_ns_dir_only and not path.dentry.is_dir:      # !d_can_lookup()
        raise KernelError(errno.ENOTDIR, "not a directory", where="create_new_namespace")
    ns = task.mnt_ns
    user_ns = task.cred.user_ns
    foreign = user_ns is not ns.user_ns
    copy_flags = CL_SLAVE if foreign else 0
    if foreign and sem.new_ns_foreign_whole_tree:
        # nothing below the path may be left out: it would reveal what it covers
        copy_flags |= CL_COPY_UNBINDABLE
    new_ns = MntNamespace(user_ns)                          # alloc_mnt_ns(user_ns, false)
    old_ns_root = ns.root
    # LOCK_MOUNT_EXACT_COPY (7.0-rc1: clone_mnt() under namespace_sem, then LOCK_MOUNT_EXACT)
    new_ns_root = clone_mnt(k, old_ns_root, old_ns_root.root, copy_flags)
    locked = _root_stack_locked(old_ns_root)
    try:
        if (foreign and sem.new_ns_foreign_whole_tree and not new and not recurse
                and _has_children(path.mnt, path.dentry)):
            raise KernelError(errno.EINVAL, "a plain copy would leave mounts out",
                              where="create_new_namespace")
        mnt = _copy_source(k, task, path, recurse, new, copy_flags)
    except KernelError:
        drop_copy(k, new_ns_root)
        raise
    return _attach_new_tree(k, new_ns, new_ns_root, mnt, locked, foreign)


def open_new_namespace(task: Task, k: Kernel, path: Path, recurse: bool = False,
                       new: bool = False) -> File:
    """A mount namespace file for a new namespace. Mirrors open_new_namespace():
    create_new_namespace() + open_namespace_file() (an nsfs file, O_RDONLY)."""
    new_ns = create_new_namespace(task, k, path, recurse, new)
    f = File("ns", k.nsfs_path(new_ns), uapi.O_RDONLY, ns=new_ns)
    get_mnt_ns(new_ns)                      # the file holds the namespace
    return f


def copy_empty_mnt_ns(task: Task, k: Kernel, ns: MntNamespace, user_ns: UserNamespace,
                      fs: FsStruct) -> MntNamespace:
    """An empty namespace: a clone of the namespace root alone, root and cwd reset to it.

    Mirrors the CLONE_EMPTY_MNTNS branch of fs/namespace.c:copy_mnt_ns() (7.1): copy_flags
    is 0 (no CL_COPY_UNBINDABLE, no CL_EXPIRE), CL_SLAVE for another user namespace, so the
    clone is a peer (or a slave) of a shared namespace root; lock_mnt_tree() locks the
    clone's flags but never the root itself.
    """
    new_ns = MntNamespace(user_ns)
    foreign = user_ns is not ns.user_ns
    old = ns.root
    new = clone_mnt(k, old, old.root, CL_SLAVE if foreign else 0)
    if foreign:
        lock_mnt_tree(new)
    new_ns.root = new
    root = Path(new, new.root)
    fs.set_root(root)
    fs.set_pwd(root)
    new_ns.add(new)
    return new_ns
