"""Mount propagation: fs/pnode.c.

Functions mirror their namesakes in fs/pnode.c (6.16+, the rewrite with `overmount` and
T_UMOUNT_CANDIDATE) one to one, so the two can be read side by side.

Invariants the walks rely on (kernel comments, restated once):
- Peer groups form contiguous segments of slave lists, so a walk by propagation_next()
  meets each peer group as one run.
- Mounts created by the current operation are "new" (IS_MNT_NEW, fs/pnode.h: no namespace
  yet, tested as `m.ns is None`) and are never walked into: their slave lists are not
  followed. A mount of an anonymous namespace is not new: propagation walks through it to
  its slaves (observed on 6.18: slaves handed to a detached peer keep receiving), though it
  gets no copy itself (need_secondary()).
- After propagate_umount() the set is non-shifting (nothing that stays is slid under
  something else) and non-revealing (no locked mount is taken off what it covers).

Reasons are kept as data: `propagate_mnt` reports each copy it made to `explain`, the hook
the "why did this propagate" renderer listens on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from .fs import Dentry, is_subdir
from .klist import ListHead
from .mount import (MNT, T, Mount, children, del_child, peer_del, peers, slave_add_head, slave_del,
                    slave_splice_init, slaves)
from .uapi import MS_SHARED, MS_SLAVE, MS_UNBINDABLE

if TYPE_CHECKING:
    from .kernel import Kernel

CL_SLAVE = 0x02
CL_COPY_UNBINDABLE = 0x04
CL_MAKE_SHARED = 0x08
CL_PRIVATE = 0x10
CL_SHARED_TO_SLAVE = 0x20
CL_COPY_MNT_NS_FILE = 0x40
CL_EXPIRE = 0x01


def first_slave(p: Mount) -> Mount:
    return p.slave_list


def next_slave(p: Mount) -> Mount:
    return p.slave_next


def _is_last_slave(m: Mount, master: Mount) -> bool:
    """!m->mnt_slave.next: the ring of master's slaves wraps after m"""
    return m.slave_next is master.slave_list


def _slave_after(m: Mount) -> Mount | None:
    """m->mnt_slave.next as a mount: None past the last slave or for a mount on no list."""
    master = m.master
    if master is None or m.slave_next is master.slave_list:
        return None
    return m.slave_next


def get_dominating_id(mnt: Mount, root_mnt: Mount, root: Dentry, reachable: Callable) -> int:
    """Group id of the closest dominating peer group with a member under *root*.

    Mirrors fs/pnode.c:get_dominating_id() and get_peer_under_root(); mountinfo prints it
    as `propagate_from:N` when it differs from `master:N`.
    """
    m = mnt.master
    while m is not None:
        p = m
        while True:
            if p.ns is mnt.ns and reachable(p, p.root, root_mnt, root):
                return p.group_id
            p = p.next_peer()
            if p is m:
                break
        m = m.master
    return 0


def transfer_propagation(mnt: Mount, to: Mount | None) -> None:
    """What got propagation through *mnt* now gets it from *to*, or from nobody.

    Mirrors fs/pnode.c:transfer_propagation(): mnt's slaves keep their order and go to
    the head of to's slave list (hlist_splice_init()), which decides the order in which
    later propagation reaches them.
    """
    moving = slaves(mnt)
    for s in moving:
        s.master = to
    if to is None:
        for s in moving:
            slave_del(s, mnt)
    else:
        slave_splice_init(mnt, to)


def change_mnt_propagation(k: Kernel, mnt: Mount, type_: int) -> None:
    """MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE on one mount.

    Mirrors fs/pnode.c:change_mnt_propagation() as of 6.18: leaving a peer group hands
    the mount's slaves to the next peer (or, for the last peer, to its own master), and a
    new slave gets that same mount as master, at the head of its slave list.
    """
    m = mnt.master
    if type_ == MS_SHARED:
        k.set_mnt_shared(mnt)
        return
    if mnt.is_shared:
        if mnt.share_next is mnt:          # list_empty(&mnt->mnt_share)
            k.mnt_release_group_id(mnt)
        else:
            m = mnt.next_peer()
            peer_del(mnt)
            mnt.group_id = 0
        mnt.flags &= ~MNT.SHARED
        transfer_propagation(mnt, m)
    slave_del(mnt, mnt.master)
    if type_ == MS_SLAVE:
        mnt.master = m
        if m is not None:
            slave_add_head(mnt, m)
    else:
        mnt.master = None
        if type_ == MS_UNBINDABLE:
            mnt.t_flags |= T.UNBINDABLE
        else:
            mnt.t_flags &= ~T.UNBINDABLE


def _trace_transfers(k: Kernel, m: Mount) -> Mount | None:
    """Take *m* out of propagation and find who inherits from it: the next peer, else its
    master, skipping those that are being unmounted too. Mirrors trace_transfers()."""
    while True:
        old_master = m.master
        nxt = m.next_peer()
        if nxt is not m:
            peer_del(m)
            m.group_id = 0
            m.master = nxt
        else:
            if m.is_shared:
                k.mnt_release_group_id(m)
            nxt = m.master
        slave_del(m, old_master)
        m.flags &= ~MNT.SHARED
        m.t_flags |= T.MARKED
        if nxt is None or not _will_be_unmounted(nxt):
            return nxt
        if nxt.is_marked:
            return nxt.master
        m = nxt


def _set_destinations(m: Mount | None, master: Mount | None) -> None:
    """Point the chain of departing mounts from *m* at their final heir. Mirrors set_destinations()."""
    while m is not None and m.master is not master:
        nxt = m.master
        m.master = master
        m = nxt


def _in_propagation(m: Mount) -> bool:
    """Shared, a slave or a master: a private mount with no slaves has nothing to hand
    over, and nothing in the set can name it as peer or master (Model-only shortcut)."""
    return bool(m.flags & MNT.SHARED) or m.master is not None or m.slave_list is not None


def bulk_make_private(k: Kernel, set_: Iterable[Mount]) -> None:
    """Take every mount of an umount set out of the propagation graph at once, handing
    each one's slaves to the nearest survivor. Mirrors fs/pnode.c:bulk_make_private()."""
    moving = []
    for m in set_:
        if _in_propagation(m):
            moving.append(m)
        else:
            m.t_flags &= ~T.MARKED
    for m in moving:
        if not m.is_marked:
            _set_destinations(m, _trace_transfers(k, m))
    for m in moving:
        transfer_propagation(m, m.master)
        m.master = None
        m.t_flags &= ~T.MARKED


def _propagation_next(m: Mount, origin: Mount) -> Mount | None:
    """Mirrors fs/pnode.c:__propagation_next(): forward among peers, else up to the master."""
    while True:
        master = m.master
        if master is origin.master:
            nxt = m.next_peer()
            return None if nxt is origin else nxt
        if not _is_last_slave(m, master):
            return next_slave(m)
        m = master


def propagation_next(m: Mount, origin: Mount) -> Mount | None:
    """Mirrors fs/pnode.c:propagation_next(): m's first slave unless m is new, else onward."""
    if m.ns is not None and m.slave_list is not None:     # !IS_MNT_NEW(m)
        return first_slave(m)
    return _propagation_next(m, origin)


def skip_propagation_subtree(m: Mount, origin: Mount) -> Mount | None:
    """Mirrors fs/pnode.c:skip_propagation_subtree(): past everything m propagates to."""
    p = _propagation_next(m, origin)
    while p is not None and peers(m, p):
        p = _propagation_next(p, origin)
    return p


def next_group(m: Mount, origin: Mount) -> Mount | None:
    """The first mount of the next peer group in a depth-first walk from *origin*.

    Mirrors fs/pnode.c:next_group().
    """
    while True:
        while True:
            if m.ns is not None and m.slave_list is not None:     # !IS_MNT_NEW(m)
                return first_slave(m)
            nxt = m.next_peer()
            if m.group_id == origin.group_id:
                if nxt is origin:
                    return None
            elif _slave_after(m) is not nxt:
                break
            m = nxt
        # m is the last peer
        while True:
            master = m.master
            if not _is_last_slave(m, master):
                return next_slave(m)
            m = master.next_peer()
            if master.group_id == origin.group_id:
                break
            if _slave_after(master) is m:
                break
            m = master
        if m is origin:
            return None


def need_secondary(m: Mount, dest_mp: Dentry) -> bool:
    """Mirrors fs/pnode.c:need_secondary(): does m get a copy of the new mount?"""
    if m.ns is None:                      # IS_MNT_NEW
        return False                      # added by this propagate_mnt()
    if not is_subdir(dest_mp, m.root):
        return False                      # mountpoint isn't visible in m
    if m.ns.is_anon:
        return False                      # m is in an anonymous namespace
    return True


def find_master(m: Mount, last_copy: Mount, original: Mount) -> Mount:
    """The copy that the first copy in m's peer group must be a slave of.

    Mirrors fs/pnode.c:find_master(): ascend until there's a copy for something with the
    same master.
    """
    while True:
        p = m.master
        if p is None or p.t_flags & T.MARKED:
            break
        m = p
    while not peers(last_copy, original):
        parent = last_copy.parent
        if parent.master is p:
            if not peers(parent, m):
                last_copy = last_copy.master
            break
        last_copy = last_copy.master
    return last_copy


def propagate_mnt(k: Kernel, dest_mnt: Mount, dest_mp: Dentry, source_mnt: Mount,
                  tree_list: list[Mount]) -> None:
    """Create the secondary copies for attaching *source_mnt* at (dest_mnt, dest_mp).

    Mirrors fs/pnode.c:propagate_mnt(). Each copy is mounted (not yet hashed) on its
    receiving mount and appended to *tree_list* (the kernel's hlist_add_head order is kept
    by the caller iterating in reverse).

    Errors: ENOSPC from count_mounts() (fs.mount-max); the caller undoes the copies.
    """
    from .namespace import copy_tree, count_mounts
    marked = T.MARKED                    # locals: this loop runs once per copy
    append = tree_list.append
    if dest_mnt.master is not None:
        dest_mnt.master.t_flags |= marked
    try:
        m: Mount | None = dest_mnt
        copy = source_mnt
        while m is not None:
            if m is dest_mnt:            # have one for dest_mnt itself
                copy = source_mnt
                type_ = CL_MAKE_SHARED
                n = m.next_peer()
                if n is m:
                    m = next_group(m, dest_mnt)
                    continue
            else:
                type_ = CL_SLAVE
                if m.is_shared:          # beginning of peer group among the slaves
                    type_ |= CL_MAKE_SHARED
                n = m
            while True:
                if need_secondary(n, dest_mp):
                    if type_ & CL_SLAVE:     # first in this peer group
                        copy = find_master(n, copy, source_mnt)
                    this = copy_tree(k, copy, copy.root, type_)
                    k.mnt_set_mountpoint(n, dest_mp, this)
                    if n.master is not None:
                        n.master.t_flags |= marked
                    copy = this
                    append(this)
                    if k.explain_hook is not None:    # why views: who got which copy
                        k.explain_hook("propagate", this, n)
                    count_mounts(k, n.ns, this)
                    type_ = CL_MAKE_SHARED
                n = n.next_peer()
                if n is m:
                    break
            m = next_group(m, dest_mnt)
    finally:
        unmark = ~marked
        for n in tree_list:
            master = n.parent.master
            if master is not None:
                master.t_flags &= unmark
        if dest_mnt.master is not None:
            dest_mnt.master.t_flags &= unmark


def propagation_would_overmount(frm: Mount, to: Mount, mp: Dentry) -> bool:
    """Would propagation from *frm* cover *to* (whose future mountpoint is *mp*)?

    Mirrors fs/pnode.c:propagation_would_overmount().
    """
    if not frm.is_shared:
        return False
    if to.root is not mp:
        return False
    m: Mount | None = to
    while m is not None:
        if peers(frm, m):
            return True
        m = m.master
    return False


def propagate_mount_busy(k: Kernel, mnt: Mount, refcnt: int) -> bool:
    """Would unmounting *mnt* (and its propagated twins) hit a busy mount?

    Mirrors fs/pnode.c:propagate_mount_busy(). Twins with children of their own are left
    alone by umount propagation, so only their references count, unless the only child
    completely covers them.
    """
    parent = mnt.parent
    if mnt.mounts is not None or mnt.count() > refcnt:
        return True
    if mnt is parent:
        return False
    m = propagation_next(parent, parent)
    while m is not None:
        child = k.lookup_mnt(m, mnt.mountpoint)
        if child is not None:
            first = child.mounts           # children: more than one, or one not on its root
            if first is not None and (first.next is not first or child.overmount is None):
                m = propagation_next(m, parent)
                continue
            if child.count() > 1:
                return True
        m = propagation_next(m, parent)
    return False


def propagate_mount_unlock(k: Kernel, mnt: Mount) -> None:
    """Clear MNT_LOCKED on the twins of *mnt*. Mirrors fs/pnode.c:propagate_mount_unlock()."""
    parent = mnt.parent
    m = propagation_next(parent, parent)
    while m is not None:
        child = k.lookup_mnt(m, mnt.mountpoint)
        if child is not None:
            child.flags &= ~MNT.LOCKED
        m = propagation_next(m, parent)


def _is_candidate(m: Mount) -> bool:
    return bool(m.t_flags & T.UMOUNT_CANDIDATE)


def _will_be_unmounted(m: Mount) -> bool:
    return bool(m.flags & MNT.UMOUNT)


def umount_one(k: Kernel, m: Mount, to_umount: ListHead) -> None:
    """Mirrors fs/pnode.c:umount_one()."""
    m.flags |= MNT.UMOUNT
    del_child(m, m.parent)
    k.move_from_ns(m)
    m.own_clist().move_tail(to_umount)


def remove_from_candidate_list(m: Mount) -> None:
    m.t_flags &= ~(T.MARKED | T.UMOUNT_CANDIDATE)
    m.clist.del_init()


def gather_candidates(k: Kernel, set_: ListHead, candidates: ListHead) -> None:
    """Mirrors fs/pnode.c:gather_candidates(): every twin of every mount in *set_*."""
    for m in set_:
        if _is_candidate(m):
            continue
        m.t_flags |= T.UMOUNT_CANDIDATE
        p = m.parent
        q = propagation_next(p, p)
        while q is not None:
            child = k.lookup_mnt(q, m.mountpoint)
            if child is not None:
                # Met on an earlier iteration of the outer loop: nothing new below q.
                if _is_candidate(child):
                    q = skip_propagation_subtree(q, p)
                    continue
                child.t_flags |= T.UMOUNT_CANDIDATE
                if not _will_be_unmounted(child):
                    child.own_clist().add(candidates)
            q = propagation_next(q, p)
    for m in set_:
        m.t_flags &= ~T.UMOUNT_CANDIDATE


def trim_ancestors(m: Mount) -> None:
    """Mirrors fs/pnode.c:trim_ancestors(): a kept child pins non-overmounting ancestors."""
    p = m.parent
    while _is_candidate(p):
        if m.is_marked:                    # all candidates beneath are overmounts
            return
        m.t_flags |= T.MARKED
        if m is not p.overmount:
            p.t_flags &= ~T.UMOUNT_CANDIDATE
        m, p = p, p.parent


def trim_one(k: Kernel, m: Mount, to_umount: ListHead) -> None:
    """Mirrors fs/pnode.c:trim_one(): keep the set non-shifting."""
    remove_this = found = umount_this = False
    if not _is_candidate(m):               # trim_ancestors() left it on the list
        remove_from_candidate_list(m)
        return
    for n in children(m):
        if not _is_candidate(n):
            found = True
            if n is not m.overmount:
                remove_this = True
                break
    if found:
        trim_ancestors(m)
    elif not m.is_locked and m.mounts is None:
        remove_this = umount_this = True
    if remove_this:
        remove_from_candidate_list(m)
        if umount_this:
            umount_one(k, m, to_umount)


def handle_locked(k: Kernel, m: Mount, to_umount: ListHead) -> None:
    """Mirrors fs/pnode.c:handle_locked(): keep the set non-revealing."""
    if not _is_candidate(m):
        remove_from_candidate_list(m)
        return
    cutoff = m
    p = m
    while _is_candidate(p):
        remove_from_candidate_list(p)
        if not p.is_locked:
            cutoff = p.parent
        p = p.parent
    if _will_be_unmounted(p):
        cutoff = p
    while m is not cutoff:
        umount_one(k, m, to_umount)
        m = m.parent


def reparent(k: Kernel, m: Mount) -> None:
    """Slide *m* down to where the bottom of the departing stack it covers is attached.

    Mirrors fs/pnode.c:reparent().
    """
    p = m
    while True:
        mp = p.mountpoint
        p = p.parent
        if not _will_be_unmounted(p):
            break
    k.mnt_change_mountpoint(p, mp, m)


def propagate_umount(k: Kernel, set_: ListHead) -> None:
    """Add to *set_* every twin that receives the umount and can go.

    Mirrors fs/pnode.c:propagate_umount() (see Documentation/filesystems/propagate_umount.txt).
    """
    to_umount = ListHead()
    candidates = ListHead()
    gather_candidates(k, set_, candidates)
    for m in list(candidates):             # reduce the set until it's non-shifting
        trim_one(k, m, to_umount)
    while not candidates.empty():          # ... and non-revealing
        handle_locked(k, candidates.first(), to_umount)
    for m in list(to_umount):             # surviving overmounts slide down
        over = m.overmount
        if over is not None and not _will_be_unmounted(over):
            reparent(k, over)
    # list_splice_tail_init(&to_umount, set)
    for m in list(to_umount):
        m.clist.move_tail(set_)
