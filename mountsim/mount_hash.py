"""The mount hash: which mount is attached at (parent mount, mountpoint dentry).

Mirrors fs/namespace.c's mount_hashtable (m_hash(), __lookup_mnt()). Model-only
representation, for memory and for Python's cyclic GC: the kernel chains mounts in buckets
of hash(parent, dentry) through their mnt_hash; here each dentry holds its own chain
(`Dentry.mnts`), which is

- () while nothing is mounted there,
- the first mount hashed there, the rest linked through `Mount.hash_next` (the kernel's
  mnt_hash): nearly every mountpoint has one mount, or two (a namespace and its copy),
- a dict parent -> mount once more than a few share it (a directory receiving 20,000
  propagated copies), so a lookup stays O(1).

No table beside the dentries (a dict entry per mount, ~50 bytes) and no container for a
mount and its copy (a tuple was 56 bytes a copy). The chain is also the dentry's
`struct mountpoint` m_list: the mounts whose mountpoint it is are the mounts hashed on it,
since the model attaches a mount right after mnt_set_mountpoint() and unhash_mnt() takes it
off both (in the kernel a mount sits on m_list a moment before it is hashed; no reader
looks in between).
It relies on the invariant that a hashed mount's `parent` and `mountpoint` are the key it
was hashed under: both change only in mnt_set_mountpoint() before hashing and in
unhash_mnt() after (tests/property/invariants.py checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        m = dentry.mnts
        if type(m) is dict:
            return m.get(parent)
        while m:                                 # () or None: the chain's end
            if m.parent is parent:
                return m
            m = m.hash_next
        return None

    @staticmethod
    def add(mnt: Mount) -> None:
        """Hash *mnt* at (mnt.parent, mnt.mountpoint), replacing a mount hashed there."""
        parent, dentry = mnt.parent, mnt.mountpoint
        chain = dentry.mnts
        if type(chain) is dict:
            chain[parent] = mnt
            return
        MountHash.remove_at(dentry, parent)      # the one hashed at this key, if any
        chain = dentry.mnts
        n, m = 0, chain
        while m:
            n, m = n + 1, m.hash_next
        if n < _CHAIN_SMALL:
            mnt.hash_next = chain or None
            dentry.mnts = mnt
        else:
            dentry.mnts = {**{m.parent: m for m in MountHash.on(dentry)}, parent: mnt}
            for m in dentry.mnts.values():
                m.hash_next = None

    @staticmethod
    def remove(mnt: Mount) -> None:
        """Unhash *mnt* if it is the mount hashed at its (parent, mountpoint)."""
        chain = mnt.mountpoint.mnts
        if type(chain) is dict:
            if chain.get(mnt.parent) is mnt:
                del chain[mnt.parent]
                if not chain:
                    mnt.mountpoint.mnts = ()
        elif chain:
            MountHash.remove_at(mnt.mountpoint, mnt.parent, mnt)

    @staticmethod
    def remove_at(dentry: Dentry, parent: Mount, only: Mount | None = None) -> None:
        """Unlink the mount chained on *dentry* with *parent* (only if it is *only*)."""
        prev, m = None, dentry.mnts
        while m:
            if m.parent is parent:
                if only is not None and m is not only:
                    return
                if prev is None:
                    dentry.mnts = m.hash_next or ()
                else:
                    prev.hash_next = m.hash_next
                m.hash_next = None
                return
            prev, m = m, m.hash_next

    @staticmethod
    def on(dentry: Dentry) -> list[Mount]:
        """The mounts hashed on *dentry* (its m_list), in no promised order."""
        chain = dentry.mnts
        if type(chain) is dict:
            return list(chain.values())
        out = []
        m = chain
        while m:
            out.append(m)
            m = m.hash_next
        return out
