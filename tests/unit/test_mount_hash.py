"""mount_hash.py: the mount hash chained on each dentry: linked mounts, or a dict.

A Model-only representation, so the expected values are its contract: whatever form a
chain takes, it answers exactly as a dict keyed by (parent, dentry) would, where hashing a
mount replaces the one at the same key and unhashing removes only the mount itself.
"""

from __future__ import annotations

from hypothesis import given, strategies as st

from mountsim.mount_hash import MountHash


class M:
    """A stand-in mount: what the hash reads is parent and mountpoint."""

    def __init__(self, parent, mountpoint):
        self.parent, self.mountpoint = parent, mountpoint
        self.hash_next = None


class D:
    """A stand-in dentry: it carries its chain."""

    def __init__(self):
        self.mnts = ()


def hashed_items(h, dentries):
    return {(m.parent, d): m for d in dentries for m in h.on(d)}


PARENTS = [object() for _ in range(12)]
DENTRIES = [D() for _ in range(3)]


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 11), st.integers(0, 2)), max_size=80))
def test_hash_answers_as_a_dict_keyed_by_parent_and_dentry(ops):
    h, ref, hashed = MountHash(), {}, []
    for d in DENTRIES:
        d.mnts = ()
    for add, p, d in ops:
        if add:
            m = M(PARENTS[p], DENTRIES[d])
            h.add(m)
            ref[(m.parent, m.mountpoint)] = m
            hashed.append(m)
        elif hashed:
            m = hashed.pop((p * 7 + d) % len(hashed))      # any mount, hashed or replaced
            h.remove(m)
            if ref.get((m.parent, m.mountpoint)) is m:
                del ref[(m.parent, m.mountpoint)]
        for pp in PARENTS:
            for dd in DENTRIES:
                assert h.lookup(pp, dd) is ref.get((pp, dd))
        assert hashed_items(h, DENTRIES) == ref


def test_many_parents_on_one_dentry_take_a_dict_and_shrink_back():
    """20,000 propagated copies on one directory: lookups stay O(1) (a dict), and the chain
    is dropped with its last mount."""
    h = MountHash()
    d = D()
    ms = [M(object(), d) for _ in range(100)]
    for m in ms:
        h.add(m)
    assert type(d.mnts) is dict
    assert all(h.lookup(m.parent, d) is m for m in ms)
    for m in ms:
        h.remove(m)
    assert d.mnts == () and not hashed_items(h, [d])
