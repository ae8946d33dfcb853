"""Kernel invariants of the mount model, checked after every step of generated programs."""

from __future__ import annotations

from mountsim.klist import NIL
from mountsim.mount import MNT, T, children, slaves
from mountsim.namespace import walk_tree


def namespaces_of(k) -> dict[int, object]:
    """Every namespace a live process is in, or holds a detached tree of through an fd."""
    out = {}
    for t in k.tasks.values():
        if not t.alive:
            continue
        out[id(t.mnt_ns)] = t.mnt_ns
        for f in t.files.fds.values():
            ns = f.path.mnt.ns if f.path is not None else None
            if ns is not None and ns.is_anon and ns.root is not None:
                out[id(ns)] = ns
    return out


def check(k) -> list[str]:
    """Every violated invariant of kernel *k*, as text (empty when all hold)."""
    errs: list[str] = []
    namespaces = namespaces_of(k)
    for ns in namespaces.values():
        errs += _check_ns(ns)
    errs += _check_hash(k, namespaces)
    errs += _check_groups(k, namespaces)
    if NIL.next is not NIL or NIL.prev is not NIL:
        errs.append("the shared empty list klist.NIL was linked into a list")
    return errs


def locked_places(k) -> dict[int, tuple]:
    """id(mount) -> (mount, parent, mountpoint) for every MNT_LOCKED mount in a namespace."""
    return {id(m): (m, m.parent, m.mountpoint)
            for ns in namespaces_of(k).values() for m in ns if m.is_locked and m.has_parent}


def exposed_locked(before: dict[int, tuple], k) -> list[str]:
    """Locked mounts whose mountpoint a step revealed. A locked mount may leave its place
    only with its parent (the whole tree unmounted), when a mount that takes over the lock
    covers the same place (pivot_root() moves MNT_LOCKED to the new root), or when a
    propagated copy was slid under it (attach_recursive_mnt(): the copy covers the place
    and the locked mount sits on the copy, so removing the copy takes it along), or when
    the unmount of its original in a more privileged namespace unlocked it first
    (umount_tree() -> propagate_mount_unlock()), or when its mountpoint was removed in
    another namespace (vfs_rmdir() -> detach_mounts(): nothing is left to reveal)."""
    errs = []
    for m, parent, mp in before.values():
        if m.ns is not None and m.parent is parent and m.mountpoint is mp:
            continue                               # still in place
        if parent.ns is None:
            continue                               # its parent went too
        if not m.is_locked:
            continue                               # unlocked first: propagate_mount_unlock()
        if mp.unlinked:
            continue                               # rmdir elsewhere: nothing left to reveal
        cover = k.lookup_mnt(parent, mp)
        if cover is not None and (cover.is_locked or _stacked_on(m, cover)):
            continue                               # still covered (or tucked over a copy)
        errs.append(f"locked {m} left ({parent}, {mp}) uncovered")
    return errs


def _stacked_on(m, base) -> bool:
    """Is *m* somewhere above *base* (a propagated copy slid under m, "tucked")?"""
    while m.has_parent:
        m = m.parent
        if m is base:
            return True
    return False


def _check_ns(ns) -> list[str]:
    """Every mount of the namespace is reachable from its root (the tree and the ordered
    index hold the same mounts), child lists agree with parent links, no scratch flags."""
    errs = []
    tree = list(walk_tree(ns.root))
    # the tree is a tree: parent links agree with child lists
    for m in tree:
        for c in children(m):
            if c.parent is not m:
                errs.append(f"{c} is in {m}'s children but its parent is {c.parent}")
        if m.t_flags & (T.MARKED | T.UMOUNT_CANDIDATE):
            errs.append(f"{m} has leftover T_MARKED/T_UMOUNT_CANDIDATE")
        if m.flags & MNT.UMOUNT:
            errs.append(f"{m} is in a namespace but marked MNT_UMOUNT")
    # the ordered index and the tree agree
    if set(map(id, tree)) != set(map(id, ns)):
        errs.append("namespace index and tree differ")
    ids = [m.unique_id for m in ns.mounts]
    if ids != sorted(set(ids)):
        errs.append("namespace index not ordered by unique id, or an id twice")
    return errs


def _check_hash(k, namespaces) -> list[str]:
    """Every hashed mount sits where it was hashed, and every mount attached in a
    namespace is found by __lookup_mnt() where it sits (mount_hash.py keys a lone mount by
    its own parent, so a parent or mountpoint changed while hashed shows up here)."""
    errs = []
    mountpoints = {id(m.mountpoint): m.mountpoint for ns in namespaces.values() for m in ns}
    for dentry in mountpoints.values():
        chain = dentry.mnts
        keyed = chain.items() if type(chain) is dict else ((m.parent, m) for m in k.hash.on(dentry))
        for parent, child in keyed:
            if child.parent is not parent or child.mountpoint is not dentry:
                errs.append(f"hash entry {child} does not sit on ({parent}, {dentry})")
    for ns in namespaces.values():
        for m in ns:
            if m.has_parent and k.hash.lookup(m.parent, m.mountpoint) is not m:
                errs.append(f"{m} is attached but __lookup_mnt() does not find it")
    return errs


def _check_groups(k, namespaces) -> list[str]:
    errs = []
    for ns in namespaces.values():
        for m in ns:
            # peer rings hold exactly the mounts of one group, all marked shared
            p = m.next_peer()
            while p is not m:
                if p.group_id != m.group_id or not p.is_shared:
                    errs.append(f"{p} in {m}'s peer ring has group {p.group_id} != {m.group_id}")
                    break
                p = p.next_peer()
            if m.is_shared and not m.group_id:
                errs.append(f"{m} is shared without a group id")
            # a master is always a member of a peer group (slaves hang off groups)
            if m.master is not None and not (m.master.is_shared and m.master.group_id):
                errs.append(f"{m}'s master {m.master} is not in a peer group")
            # the master relation is acyclic and slaves are on their master's list
            seen, x = set(), m
            while x.master is not None:
                if id(x) in seen:
                    errs.append(f"master cycle through {m}")
                    break
                seen.add(id(x))
                if x not in slaves(x.master):
                    errs.append(f"{x} is not on its master's slave list")
                x = x.master
    return errs
