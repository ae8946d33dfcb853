"""The mount hash: which mount is attached at (parent mount, mountpoint dentry).

Mirrors fs/namespace.c's mount_hashtable (m_hash(), __lookup_mnt()). Model-only
representation, for memory and for Python's cyclic GC: the kernel chains mounts in buckets
of hash(parent, dentry); here each dentry holds its own chain (`Dentry.mnts`), which is

- () while nothing is mounted there,
- the one mount hashed there (a mountpoint in one parent: nearly every mountpoint),
- a tuple of them while few (the same directory in a namespace and in its copy),
- a dict parent -> mount past that (a directory receiving 20,000 propagated copies).

No table beside the dentries (a dict entry per mount, ~50 bytes) and no (parent, dentry)
tuple per mount. The chain is also the dentry's `struct mountpoint` m_list: the mounts
whose mountpoint it is are the mounts hashed on it, since the model attaches a mount right
after mnt_set_mountpoint() and unhash_mnt() takes it off both (in the kernel a mount sits
on m_list a moment before it is hashed; no reader looks in between).
It relies on the invariant that a hashed mount's `parent` and `mountpoint` are the key it
was hashed under: both change only in mnt_set_mountpoint() before hashing and in
unhash_mnt() after (tests/property/invariants.py checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from .fs import Dentry
    from .mount import Mount

_CHAIN_SMALL = 8


class MountHash:
    """mount_hashtable: __lookup_mnt(), __attach_mnt()'s hlist_add, unhash_mnt()'s del.
    Stateless: the chains live on the dentries."""

    __slots__ = ()

    @staticmethod
    def lookup(parent: Mount, dentry: Dentry) -> Mount | None:
        """__lookup_mnt(): the mount hashed at (parent, dentry), or None."""
        chain = dentry.mnts
        t = type(chain)
        if t is tuple:
            for m in chain:
                if m.parent is parent:
                    return m
            return None
        if t is dict:
            return chain.get(parent)
        return chain if chain.parent is parent else None

    @staticmethod
    def add(mnt: Mount) -> None:
        """Hash *mnt* at (mnt.parent, mnt.mountpoint), replacing a mount hashed there."""
        parent, dentry = mnt.parent, mnt.mountpoint
        chain = dentry.mnts
        t = type(chain)
        if t is dict:
            chain[parent] = mnt
        elif t is tuple:
            for i, m in enumerate(chain):
                if m.parent is parent:           # replace the one hashed at this key
                    dentry.mnts = (*chain[:i], *chain[i + 1:], mnt)
                    return
            if not chain:
                dentry.mnts = mnt
            elif len(chain) < _CHAIN_SMALL:
                dentry.mnts = (*chain, mnt)
            else:
                dentry.mnts = {**{m.parent: m for m in chain}, parent: mnt}
        elif chain.parent is parent:
            dentry.mnts = mnt
        else:
            dentry.mnts = (chain, mnt)

    @staticmethod
    def remove(mnt: Mount) -> None:
        """Unhash *mnt* if it is the mount hashed at its (parent, mountpoint)."""
        parent, dentry = mnt.parent, mnt.mountpoint
        chain = dentry.mnts
        t = type(chain)
        if t is dict:
            if chain.get(parent) is mnt:
                del chain[parent]
                if not chain:
                    dentry.mnts = ()
        elif t is tuple:
            if len(chain) == 2:                  # a namespace and its copy: the common case
                a, b = chain
                if a is mnt:
                    dentry.mnts = b
                elif b is mnt:
                    dentry.mnts = a
            elif mnt in chain:
                i = chain.index(mnt)
                dentry.mnts = (*chain[:i], *chain[i + 1:])
        elif chain is mnt:
            dentry.mnts = ()

    @staticmethod
    def on(dentry: Dentry) -> Iterable[Mount]:
        """The mounts hashed on *dentry* (its m_list), in no promised order."""
        chain = dentry.mnts
        t = type(chain)
        return chain.values() if t is dict else chain if t is tuple else (chain,)
