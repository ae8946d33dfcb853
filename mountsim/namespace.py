"""Mount tree operations: fs/namespace.c (the parts below the syscalls).

Functions mirror their namesakes in fs/namespace.c: next_mnt, skip_mnt_tree, clone_mnt,
copy_tree, count_mounts, invent_group_ids, cleanup_group_ids, attach_recursive_mnt,
graft_tree, umount_tree, needs_cover, leave_cover, has_locked_children, lock_mnt_tree,
copy_mnt_ns, is_path_reachable, lock_mount (do_lock_mount), check_mnt.

Context: every function here runs inside one syscall; the syscall layer (syscalls/) has
already done argument checks. Errors are raised as KernelError before the first mutation,
or undone (attach_recursive_mnt's cleanup) so a failed call leaves the table unchanged.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Iterator

from . import pnode
from .errors import KernelError
from .fs import Dentry, is_subdir
from .klist import ListHead
from .mount import (FREED, IDMAPS, MNT, MNT_INTERNAL_FLAGS, MntNamespace, Mount, T, add_child, children, del_child,
                    peer_add, peers, slave_add_behind, slave_add_head)
from .packed import INTS, shared_int
from .pnode import (CL_COPY_MNT_NS_FILE, CL_COPY_UNBINDABLE, CL_EXPIRE, CL_MAKE_SHARED,
                    CL_PRIVATE, CL_SHARED_TO_SLAVE, CL_SLAVE)
from .task import Path

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import Task
    from .user_namespace import UserNamespace

UMOUNT_SYNC = 1
UMOUNT_PROPAGATE = 2
UMOUNT_CONNECTED = 4                       # up to 7.2
UMOUNT_COVER = UMOUNT_CONNECTED            # 7.3's name for the same bit


def next_mnt(p: Mount, root: Mount) -> Mount | None:
    """Pre-order successor of *p* in the tree rooted at *root*. Mirrors next_mnt()."""
    nxt = p.mounts                         # the first child
    if nxt is None:
        while True:
            if p is root:
                return None
            nxt = p.next                   # p's next sibling, unless the ring wrapped
            if nxt is not p.parent.mounts:
                break
            p = p.parent
    return nxt


def skip_mnt_tree(p: Mount) -> Mount:
    """The last mount of p's subtree in pre-order. Mirrors skip_mnt_tree()."""
    while p.mounts is not None:
        p = p.mounts.prev                  # the last child
    return p


def walk_tree(root: Mount) -> Iterator[Mount]:
    """for (p = root; p; p = next_mnt(p, root))"""
    p: Mount | None = root
    while p is not None:
        yield p
        p = next_mnt(p, root)


def check_mnt(task: Task, m: Mount) -> bool:
    """check_mnt(): *m* is in the caller's mount namespace."""
    return m.ns is task.mnt_ns


def is_mnt_ns_file(d: Dentry) -> bool:
    """is_mnt_ns_file(): an nsfs dentry standing for a mount namespace. Only nsfs
    dentries have an ns_ref, so every other dentry is answered by one field test."""
    return isinstance(d.aux, MntNamespace)     # d.ns_ref, without the property call


def clone_mnt(k: Kernel, old: Mount, root: Dentry, flag: int) -> Mount:
    """A new mount of old's superblock at *root*, linked into propagation per *flag*.

    Mirrors clone_mnt(). MNT_LOCKED is an internal flag, so the copy starts unlocked;
    copy_tree() puts it back on non-root copies.
    Kernel: `sem.clone_keeps_unbindable` (7.2): the copy of an unbindable mount (made with
    CL_COPY_UNBINDABLE, e.g. by copy_mnt_ns()) is unbindable too; before, it is private.
    """
    mnt = k.alloc_vfsmnt(root.sb, root, old.devname)
    v = old.flags & _NOT_INTERNAL
    mnt.flags = INTS.setdefault(v, v)        # shared_int()
    if v & MNT.IDMAPPED:                     # mnt_idmap_get(mnt_idmap(&old->mnt))
        IDMAPS[mnt] = IDMAPS.get(old)
    if k.sem.clone_keeps_unbindable:     # mnt_t_flags = old->mnt_t_flags & T_UNBINDABLE
        mnt.t_flags = old.t_flags & T.UNBINDABLE
    if not flag & (CL_SLAVE | CL_PRIVATE | CL_SHARED_TO_SLAVE):
        mnt.group_id = old.group_id       # else not a peer of original (a new mount has 0)
    if (flag & CL_MAKE_SHARED) and not mnt.group_id:
        k.mnt_alloc_group_id(mnt)
    if mnt.group_id:
        k.set_mnt_shared(mnt)
    if flag & CL_EXPIRE and old.expire:
        mnt.expire = True
    if flag & CL_PRIVATE:                 # we are done with it
        return mnt
    # mnt is new: a ring of one in its peer and slave links until linked here
    if peers(mnt, old):
        peer_add(mnt, old)
    if (flag & (CL_SLAVE | CL_SHARED_TO_SLAVE)) and old.group_id:
        slave_add_head(mnt, old)
        mnt.master = old
    elif old.master is not None:
        slave_add_behind(mnt, old)
        mnt.master = old.master
    return mnt


def copy_tree(k: Kernel, src_root: Mount, dentry: Dentry, flag: int) -> Mount:
    """Copy the tree under (src_root, dentry). Mirrors copy_tree().

    Errors: EINVAL (unbindable root without CL_COPY_UNBINDABLE; an mnt-ns file root),
    EPERM (a mount both unbindable and locked would be skipped, revealing what it covers;
    from 7.3, `sem.copy_tree_locked_nsfs_eperm`, likewise a locked mnt-ns file mount).
    """
    if not (flag & CL_COPY_UNBINDABLE) and src_root.t_flags & T.UNBINDABLE:
        raise KernelError(errno.EINVAL, "source mount is unbindable", where="copy_tree")
    if not (flag & CL_COPY_MNT_NS_FILE) and is_mnt_ns_file(dentry):
        raise KernelError(errno.EINVAL, "mount namespace file", where="copy_tree")
    res = dst_mnt = clone_mnt(k, src_root, dentry, flag)
    if src_root.mounts is None:
        return res                        # nothing mounted below: a single copy
    src_parent = src_root
    skip_unbindable = not flag & CL_COPY_UNBINDABLE
    skip_ns_files = not flag & CL_COPY_MNT_NS_FILE
    try:
        for src_root_child in list(children(src_root)):
            if not is_subdir(src_root_child.mountpoint, dentry):
                continue
            src_mnt: Mount | None = src_root_child
            while src_mnt is not None:
                if skip_unbindable and src_mnt.t_flags & T.UNBINDABLE:
                    if src_mnt.flags & MNT.LOCKED:   # both unbindable and locked
                        raise KernelError(errno.EPERM, "unbindable mount is locked",
                                          where="copy_tree")
                    src_mnt = next_mnt(skip_mnt_tree(src_mnt), src_root_child)
                    continue
                if skip_ns_files and is_mnt_ns_file(src_mnt.root):
                    if k.sem.copy_tree_locked_nsfs_eperm and src_mnt.flags & MNT.LOCKED:
                        raise KernelError(errno.EPERM, "mount namespace file is locked",
                                          where="copy_tree")
                    src_mnt = next_mnt(skip_mnt_tree(src_mnt), src_root_child)
                    continue
                while src_parent is not src_mnt.parent:
                    src_parent = src_parent.parent
                    dst_mnt = dst_mnt.parent
                src_parent = src_mnt
                dst_parent = dst_mnt
                dst_mnt = clone_mnt(k, src_mnt, src_mnt.root, flag)
                if src_mnt.flags & MNT.LOCKED:
                    dst_mnt.flags = shared_int(dst_mnt.flags | MNT.LOCKED)
                k.attach_mnt(dst_mnt, dst_parent, src_parent.mountpoint)
                src_mnt = next_mnt(src_mnt, src_root_child)
    except KernelError:
        umount_tree(k, res, UMOUNT_SYNC)
        raise
    return res


_NOT_INTERNAL = ~MNT_INTERNAL_FLAGS


def count_mounts(k: Kernel, ns: MntNamespace, mnt: Mount) -> None:
    """Reserve room for the tree at *mnt* in *ns*. Mirrors count_mounts().

    Errors: ENOSPC past fs.mount-max.
    """
    maxm = k.mount_max
    nr = len(ns.mounts)                    # ns->nr_mounts
    if nr >= maxm:
        raise KernelError(errno.ENOSPC, "fs.mount-max reached", where="count_mounts")
    maxm -= nr
    if ns.pending >= maxm:
        raise KernelError(errno.ENOSPC, "fs.mount-max reached", where="count_mounts")
    maxm -= ns.pending
    n = 1 if mnt.mounts is None else sum(1 for _ in walk_tree(mnt))
    if n > maxm:
        raise KernelError(errno.ENOSPC, "fs.mount-max reached", where="count_mounts")
    ns.pending += n


def invent_group_ids(k: Kernel, mnt: Mount, recurse: bool) -> list[Mount]:
    """Give every mount of the tree without one a peer group id. Mirrors invent_group_ids().

    Returns the mounts that got one, for cleanup_group_ids().
    """
    got = []
    for p in (walk_tree(mnt) if recurse else (mnt,)):
        if not p.group_id:
            k.mnt_alloc_group_id(p)
            got.append(p)
    return got


def cleanup_group_ids(k: Kernel, got: list[Mount]) -> None:
    """Mirrors cleanup_group_ids(): release ids invented for a failed operation."""
    for p in got:
        if p.group_id and not p.is_shared:
            k.mnt_release_group_id(p)


def commit_tree(k: Kernel, mnt: Mount, joining: dict[MntNamespace, list[Mount]]) -> None:
    """Add the tree at *mnt* to its parent's namespace and hash it. Mirrors commit_tree().

    The mounts are queued on *joining* per namespace; the caller adds each queue with one
    bulk insert (MntNamespace.add_many()) once every tree is committed: propagation
    commits thousands of one-mount trees, and nothing reads an index in between."""
    ns = mnt.parent.ns
    queue = joining.get(ns)
    if queue is None:
        queue = joining[ns] = []
    for m in (mnt,) if mnt.mounts is None else walk_tree(mnt):
        if m.ns is not ns:                 # if (!m->mnt_ns) mnt_add_to_ns(n, m)
            if m.ns is not None:           # from an anonymous namespace
                m.ns.remove(m)
            queue.append(m)
    k._attach(mnt, mnt.parent)


def attach_recursive_mnt(task: Task, k: Kernel, source_mnt: Mount, dest_mnt: Mount,
                         dest_mp: Dentry) -> None:
    """Attach a tree at (dest_mnt, dest_mp), propagating copies. Mirrors attach_recursive_mnt().

    A copy landing where something is already mounted is slid under it: the existing mount
    moves on top of the copy's topmost root ("tucked" mounts).
    Errors: ENOENT (the root of the tree's topmost overmount was removed: the
    preallocated get_mountpoint() fails), ENOSPC (count_mounts), from propagate_mnt;
    nothing is left changed.
    Kernel: `sem.beneath_rootfs` (7.1): a mount slid under a locked one takes its
    MNT_LOCKED; the one the caller placed (MOVE_MOUNT_BENEATH) unlocks it.
    """
    user_ns = task.mnt_ns.user_ns
    ns = dest_mnt.ns
    moving = source_mnt.has_parent
    top = source_mnt
    while top.overmount is not None:
        top = top.overmount
    if top.root.unlinked:                  # smp = get_mountpoint(top->mnt.mnt_root)
        raise KernelError(errno.ENOENT, "the tree's root directory was removed",
                          where="get_mountpoint")
    tree_list: list[Mount] = []
    invented: list[Mount] = []
    touched = [ns]
    try:
        if not moving:
            count_mounts(k, ns, source_mnt)
        if dest_mnt.is_shared:
            invented = invent_group_ids(k, source_mnt, True)
            pnode.propagate_mnt(k, dest_mnt, dest_mp, source_mnt, tree_list)
            touched.extend(c.parent.ns for c in tree_list)
    except KernelError:
        for child in tree_list:
            child.parent.ns.pending = 0
            k.unhash_mnt(child)
            umount_tree(k, child, UMOUNT_SYNC)
        cleanup_group_ids(k, invented)
        ns.pending = 0
        raise
    for n in touched:
        n.pending = 0
    if dest_mnt.is_shared:
        for p in walk_tree(source_mnt):
            k.set_mnt_shared(p)
    if moving:
        k.unhash_mnt(source_mnt)          # umount_mnt()
        source_mnt.expire = False
    elif source_mnt.ns is not None:       # move from anon: the caller destroys it
        for p in walk_tree(source_mnt):
            k.move_from_ns(p)
    k.mnt_set_mountpoint(dest_mnt, dest_mp, source_mnt)
    # hlist_add_head order: the original first, then the copies newest first.
    joining: dict[MntNamespace, list[Mount]] = {}
    for child in [source_mnt] + tree_list[::-1]:
        if child.parent.ns.user_ns is not user_ns:
            lock_mnt_tree(child)          # propagating across user namespaces
        q = k.lookup_mnt(child.parent, child.mountpoint)
        commit_tree(k, child, joining)
        if q is not None:
            r = child
            while r.overmount is not None:
                r = r.overmount
            if k.sem.beneath_rootfs and q.is_locked:
                # q was locked to hide what is under it: child takes that job over. Only
                # the mount the caller placed frees q; a propagated copy goes away when the
                # original is unmounted, so q keeps its lock.
                child.flags |= MNT.LOCKED
                if child is source_mnt:
                    q.flags &= ~MNT.LOCKED
            k.mnt_change_mountpoint(r, top.root, q)   # root.mp: where the stack top sits
    for joined, queue in joining.items():
        joined.add_many(queue)


def graft_tree(task: Task, k: Kernel, mnt: Mount, p: Mount, mp: Dentry) -> None:
    """Mirrors graft_tree(). Errors: EINVAL (SB_NOUSER), ENOTDIR (dir onto non-dir or back)."""
    if mnt.sb.nouser:
        raise KernelError(errno.EINVAL, "filesystem is not mountable", where="graft_tree")
    mnt.root.settle_kind(mp)
    mp.settle_kind(mnt.root)
    if mp.is_dir != mnt.root.is_dir:
        raise KernelError(errno.ENOTDIR, "directory and non-directory mismatch", where="graft_tree")
    attach_recursive_mnt(task, k, mnt, p, mp)


def lock_mnt_tree(mnt: Mount) -> None:
    """Lock the flags and the mounts of a tree handed to a less privileged user namespace.

    Mirrors lock_mnt_tree(): atime and set ro/nodev/nosuid/noexec become unchangeable, and
    every mount but the tree's root is MNT_LOCKED (must not be unmounted to reveal what it
    covers), unless it is on the expiry list.
    """
    for p in walk_tree(mnt):
        flags = p.flags | MNT.LOCK_ATIME
        if flags & MNT.READONLY:
            flags |= MNT.LOCK_READONLY
        if flags & MNT.NODEV:
            flags |= MNT.LOCK_NODEV
        if flags & MNT.NOSUID:
            flags |= MNT.LOCK_NOSUID
        if flags & MNT.NOEXEC:
            flags |= MNT.LOCK_NOEXEC
        if not p.expire and p is not mnt:
            flags |= MNT.LOCKED
        p.flags = shared_int(flags)


def has_locked_children(mnt: Mount, dentry: Dentry) -> bool:
    """Would a non-recursive bind of (mnt, dentry) reveal something under a locked mount?

    Mirrors __has_locked_children() (and has_locked_children(), which takes the lock).
    """
    for child in children(mnt):
        if not is_subdir(child.mountpoint, dentry):
            continue
        if child.is_locked:
            return True
    return False


def umount_mnt(k: Kernel, mnt: Mount) -> None:
    """umount_mnt(): unhash_mnt() and drop the mountpoint."""
    k.unhash_mnt(mnt)


def disconnect_mount(mnt: Mount, how: int) -> bool:
    """Mirrors disconnect_mount(): lazily unmounted locked children stay on their parent."""
    if how & UMOUNT_SYNC:
        return True
    if not mnt.has_parent:
        return True
    if not (mnt.parent.flags & MNT.UMOUNT):
        return True
    if how & UMOUNT_CONNECTED:
        return False
    if mnt.is_locked:
        return False
    return True


def needs_cover(mnt: Mount, how: int) -> bool:
    """Do we need to leave the mountpoint on the parent covered?

    Mirrors fs/namespace.c:needs_cover() (7.3): for a child unmounted together with its
    parent, by an UMOUNT_COVER caller (dissolve_on_fput(), __detach_mounts()) or because
    it is MNT_LOCKED (a lazy umount); never for UMOUNT_SYNC.
    """
    if how & UMOUNT_SYNC:
        return False
    if not (mnt.parent.flags & MNT.UMOUNT):
        return False
    return bool(how & UMOUNT_COVER) or mnt.is_locked


def leave_cover(mnt: Mount) -> None:
    """*mnt* leaves its cover on its unmounted parent at its mountpoint, before it is
    detached. Mirrors fs/namespace.c:leave_cover() (7.3).

    Deviation: the cover is its dentry in `parent.covers`; the mountpoint it pins (struct
    mountpoint m_covers) is not modelled, nor drop_cover() in __detach_mounts() (the name
    is gone by then, so no lookup reaches the cover).
    """
    mnt.parent.add_cover(mnt.mountpoint)


def _umount_child_connected(k: Kernel, p: Mount, how: int) -> None:
    """Up to 7.2: umount_tree()'s step for a mount with a parent: disconnect it, or keep
    it connected (UMOUNT_CONNECTED, locked) to its unmounted parent. Model-only split."""
    if not disconnect_mount(p, how):
        add_child(p, p.parent)             # don't forget about p
    else:
        umount_mnt(k, p)


def _umount_child_covered(k: Kernel, p: Mount, how: int) -> None:
    """7.3: umount_tree()'s step for a mount with a parent: nothing stays attached to an
    unmounted mount; maybe leave a cover, then detach. Model-only split."""
    if needs_cover(p, how):
        leave_cover(p)
    umount_mnt(k, p)


_UMOUNT_CHILD = {False: _umount_child_connected, True: _umount_child_covered}


def _leave_ns_index(k: Kernel, tree: list[Mount]) -> None:
    """move_from_ns() for every mount of *tree*; a tree that is its namespace's whole
    index (put_mnt_ns(), closing an open_tree() fd) empties it at once (Model-only: the
    kernel erases rbtree nodes one by one, each O(1) amortised, as a clear is here)."""
    ns = tree[0].ns
    if ns is not None and len(tree) == len(ns.mounts) > 1:
        # As many as the index: the same mounts if all are the namespace's (a mount's ns and
        # its index entry go together outside umount_tree(); no set of a million ids)
        if all(p.ns is ns for p in tree):
            ns.mounts.clear()
            return
    for p in tree:
        k.move_from_ns(p)


def umount_tree(k: Kernel, mnt: Mount, how: int) -> list[Mount]:
    """Take the tree at *mnt* (and with UMOUNT_PROPAGATE its twins) out of the namespace.

    Mirrors umount_tree(). Returns the unmounted mounts; those nothing pins are freed.
    Kernel: `sem.lazy_umount_covers` selects what happens to a child unmounted with its
    parent (7.2: stays connected or not, disconnect_mount(); 7.3: detached, maybe leaving
    a cover, needs_cover()).
    """
    if how & UMOUNT_PROPAGATE:
        pnode.propagate_mount_unlock(k, mnt)
    gone = list(walk_tree(mnt))
    shared = INTS.setdefault                # shared_int()
    for p in gone:
        v = p.flags | MNT.UMOUNT
        p.flags = shared(v, v)
        del_child(p, p.parent)             # hide the mounts from mnt_mounts
    _leave_ns_index(k, gone)
    if how & UMOUNT_PROPAGATE:             # the set grows by the twins: a mnt_list of them
        tmp = ListHead()
        for p in gone:
            p.own_clist().add_tail(tmp)
        pnode.propagate_umount(k, tmp)
        gone = list(tmp)
        for p in gone:
            p.clist.del_init()
    pnode.bulk_make_private(k, gone)
    umount_child = _UMOUNT_CHILD[k.sem.lazy_umount_covers]
    sync = MNT.SYNC_UMOUNT if how & UMOUNT_SYNC else 0
    for p in gone:
        p.ns = None
        if p.t_flags & T.EXPIRE:
            p.expire = False
        if sync:
            v = p.flags | sync
            p.flags = shared(v, v)
        if p.parent is not p:              # mnt_has_parent()
            umount_child(k, p, how)
    for p in gone:
        maybe_free(k, p)
    return gone


def maybe_free(k: Kernel, m: Mount) -> None:
    """Free an unmounted mount that nothing references (mntput() of the last reference).

    Model-only bookkeeping: a mount stays allocated while pinned by a file or an
    fs_struct, or while a pinned mount hangs below it (connected lazily-unmounted trees).
    """
    if m.ns is not None or m.ids & FREED or m.t_flags >> T.PINS_SHIFT or m.flags & MNT.INTERNAL:
        return
    parent = m.parent
    if parent is not m and not parent.ids & FREED and parent.ns is None:
        return                             # still connected to a live detached parent
    if m.mounts is not None:
        for c in list(children(m)):
            k.unhash_mnt(c)
            maybe_free(k, c)
    if m.covers:                           # cleanup_mnt(): drop_cover() of each (7.3)
        m.covers.clear()
    k.free_mount(m)


def mntput(k: Kernel, m: Mount) -> None:
    """After a pin on *m* went (a cwd or root moved away, an fs_struct released): free it if
    it was the last one on an unmounted mount. Mirrors mntput() -> mntput_no_expire(),
    which (up to 7.2) disconnects the children still connected to it.

    Model-only split: the pin itself is dropped by FsStruct/File.
    """
    if m.ns is None and not m.ids & FREED:
        maybe_free(k, m)


def is_path_reachable(mnt: Mount, dentry: Dentry, root_mnt: Mount, root: Dentry) -> bool:
    """Is (mnt, dentry) at or below *root*? Mirrors is_path_reachable()."""
    while mnt is not root_mnt and mnt.has_parent:
        dentry = mnt.mountpoint
        mnt = mnt.parent
    return mnt is root_mnt and is_subdir(dentry, root)


def lock_mount(k: Kernel, path: Path, beneath: bool = False) -> tuple[Path, Dentry]:
    """Find where a mount on *path* really goes. Mirrors do_lock_mount().

    Returns (path, mountpoint): normally the topmost mount stacked on *path* and its root;
    with *beneath*, the top mount and the dentry it sits on in its parent.
    Errors: EINVAL (beneath, and *path* is not the root of a mount: checked first),
    ENOENT (dentry unlinked, or its mount not in any namespace). A detached target with
    no parent fails here with ENOENT, before can_move_mount_beneath() would refuse it
    with EINVAL (both orders observed on Linux 6.18).
    """
    if beneath and not path.mounted:
        raise KernelError(errno.EINVAL, "beneath: target is not the root of a mount", where="do_lock_mount")
    while True:
        m = path.mnt
        dentry = m.mountpoint if beneath else path.dentry
        if dentry.unlinked or m.ns is None:
            raise KernelError(errno.ENOENT, "mountpoint is gone or not mounted", where="do_lock_mount")
        over = k.lookup_mnt(path.mnt, path.dentry)
        if over is not None:
            path = Path(over, over.root)      # got overmounted
            continue
        return path, dentry


def copy_mnt_ns(task: Task, k: Kernel, ns: MntNamespace, user_ns: UserNamespace,
                fs) -> MntNamespace:
    """A new mount namespace holding a copy of *ns*. Mirrors copy_mnt_ns().

    Copies owned by a less privileged user namespace turn shared mounts into slaves
    (CL_SHARED_TO_SLAVE) and are locked (lock_mnt_tree); the caller's root and cwd move to
    the copies of the mounts they were on.
    """
    new_ns = MntNamespace(user_ns)
    old = ns.root
    copy_flags = CL_COPY_UNBINDABLE | CL_EXPIRE
    if user_ns is not ns.user_ns:
        copy_flags |= CL_SHARED_TO_SLAVE
    new = copy_tree(k, old, old.root, copy_flags)
    if user_ns is not ns.user_ns:
        lock_mnt_tree(new)
    new_ns.root = new
    p: Mount | None = old
    q: Mount | None = new
    root_path, pwd_path = fs.root, fs.pwd
    new_root, new_pwd = root_path, pwd_path
    copies = []
    while p is not None and q is not None:
        copies.append(q)
        if p is root_path.mnt:
            new_root = Path(q, root_path.dentry)
        if p is pwd_path.mnt:
            new_pwd = Path(q, pwd_path.dentry)
        p = next_mnt(p, old)
        q = next_mnt(q, new)
        if q is None:
            break
        while p is not None and p.root is not q.root:   # an mntns binding we'd skipped?
            p = next_mnt(skip_mnt_tree(p), old)
    new_ns.add_many(copies)
    fs.set_root(new_root)
    fs.set_pwd(new_pwd)
    return new_ns


def get_mnt_ns(ns: MntNamespace) -> None:
    """get_mnt_ns(): a task's nsproxy, or an open namespace file, holds *ns*."""
    ns.users += 1


def put_mnt_ns(k: Kernel, ns: MntNamespace) -> None:
    """Drop a reference; the last one unmounts the whole namespace. Mirrors put_mnt_ns().

    This is what turns slaves of a vanished namespace's mounts private: umount_tree()
    takes the departing masters out of propagation, handing their slaves to the nearest
    survivor (bulk_make_private()).
    """
    ns.users -= 1
    if ns.users == 0 and not ns.is_anon and ns.root is not None:
        root, ns.root = ns.root, None
        umount_tree(k, root, 0)
