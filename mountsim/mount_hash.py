"""The mount hash: which mount is attached at (parent mount, mountpoint dentry).

Mirrors fs/namespace.c's mount_hashtable (m_hash(), __lookup_mnt()). Model-only
representation, for memory and for Python's cyclic GC: the kernel chains mounts in buckets
of hash(parent, dentry); here the table is keyed by the dentry alone, and its chain is

- the one mount hashed there (a mountpoint in one parent: nearly every mountpoint),
- a tuple of them while few (the same directory in a namespace and in its copy),
- a dict parent -> mount past that (a directory receiving 20,000 propagated copies).

No (parent, dentry) tuple per mount: that was 56 bytes and one more object for the
collector to scan per mount. It relies on the invariant that a hashed mount's `parent` and
`mountpoint` are the key it was hashed under: both change only in mnt_set_mountpoint()
before hashing and in unhash_mnt() after (tests/property/invariants.py checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:
    from .fs import Dentry
    from .mount import Mount

_CHAIN_SMALL = 8


class MountHash:
    """mount_hashtable: __lookup_mnt(), __attach_mnt()'s hlist_add, unhash_mnt()'s del."""

    __slots__ = ("chains",)

    def __init__(self) -> None:
        self.chains: dict[Dentry, Any] = {}

    def lookup(self, parent: Mount, dentry: Dentry) -> Mount | None:
        """__lookup_mnt(): the mount hashed at (parent, dentry), or None."""
        chain = self.chains.get(dentry)
        if chain is None:
            return None
        t = type(chain)
        if t is tuple:
            for m in chain:
                if m.parent is parent:
                    return m
            return None
        if t is dict:
            return chain.get(parent)
        return chain if chain.parent is parent else None

    def add(self, mnt: Mount) -> None:
        """Hash *mnt* at (mnt.parent, mnt.mountpoint), replacing a mount hashed there."""
        parent, dentry = mnt.parent, mnt.mountpoint
        chains = self.chains
        chain = chains.get(dentry)
        if chain is None:
            chains[dentry] = mnt
            return
        t = type(chain)
        if t is dict:
            chain[parent] = mnt
        elif t is tuple:
            for i, m in enumerate(chain):
                if m.parent is parent:           # replace the one hashed at this key
                    chains[dentry] = (*chain[:i], *chain[i + 1:], mnt)
                    return
            if len(chain) < _CHAIN_SMALL:
                chains[dentry] = (*chain, mnt)
            else:
                chains[dentry] = {**{m.parent: m for m in chain}, parent: mnt}
        elif chain.parent is parent:
            chains[dentry] = mnt
        else:
            chains[dentry] = (chain, mnt)

    def remove(self, mnt: Mount) -> None:
        """Unhash *mnt* if it is the mount hashed at its (parent, mountpoint)."""
        parent, dentry = mnt.parent, mnt.mountpoint
        chains = self.chains
        chain = chains.get(dentry)
        if chain is None:
            return
        t = type(chain)
        if t is dict:
            if chain.get(parent) is mnt:
                del chain[parent]
                if not chain:
                    del chains[dentry]
        elif t is tuple:
            if len(chain) == 2:                  # a namespace and its copy: the common case
                a, b = chain
                if a is mnt:
                    chains[dentry] = b
                elif b is mnt:
                    chains[dentry] = a
            elif mnt in chain:
                i = chain.index(mnt)
                chains[dentry] = (*chain[:i], *chain[i + 1:])
        elif chain is mnt:
            del chains[dentry]

    def items(self) -> Iterator[tuple[tuple[Mount, Dentry], Mount]]:
        """((parent, dentry), mount) for every hashed mount, keyed as it was hashed."""
        for dentry, chain in self.chains.items():
            t = type(chain)
            if t is dict:
                for parent, m in chain.items():
                    yield (parent, dentry), m
            else:
                for m in chain if t is tuple else (chain,):
                    yield (m.parent, dentry), m

    def __len__(self) -> int:
        return sum(len(c) if type(c) in (tuple, dict) else 1 for c in self.chains.values())
