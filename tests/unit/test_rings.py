"""mount.py's rings: a mount's children, a master's slaves and a peer group, linked through
the mounts themselves.

The kernel keeps these as list_heads (mnt_mounts/mnt_child, mnt_share) and an hlist
(mnt_slave_list/mnt_slave); the model's rings are its own representation, so the
expected values are the kernel's list operations' documented order, kept by a plain Python
list beside them: list_add_tail appends, hlist_add_head prepends, hlist_add_behind inserts
after its node, list_add inserts after its node, hlist_splice_init puts the moved entries,
in their order, before the target's (include/linux/list.h), and *_del_init removes.
"""

from __future__ import annotations

from hypothesis import given, strategies as st

from mountsim.mount import (Mount, add_child, children, del_child, peer_add, peer_del,
                            slave_add_behind, slave_add_head, slave_add_tail, slave_del,
                            slave_splice_init, slaves)


def _mounts(n: int) -> list[Mount]:
    return [Mount(i + 1, 1000 + i, None, "none") for i in range(n)]


def _peer_ring(m: Mount) -> list[Mount]:
    out, p = [m], m.share_next
    while p is not m:
        out.append(p)
        p = p.share_next
    return out


OPS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 9), st.integers(0, 9)), max_size=60)


@given(OPS)
def test_children_keep_list_add_tail_order(ops):
    """Whatever children come and go, children() lists them in the order they were added
    (list_add_tail), a removed one is alone again, and an emptied parent has no first child."""
    parent, *ms = _mounts(11)
    ref: list[Mount] = []
    for op, i, _ in ops:
        m = ms[i]
        if op < 3 and m not in ref:
            m.parent = parent
            add_child(m, parent)
            ref.append(m)
        elif op >= 3 and m in ref:
            del_child(m, parent)
            ref.remove(m)
            assert m.next is m and m.prev is m
        assert list(children(parent)) == ref
        assert (parent.mounts is None) == (not ref)
        if ref:
            assert parent.mounts.prev is ref[-1]         # skip_mnt_tree() reads the last child


@given(OPS)
def test_slave_list_keeps_hlist_order(ops):
    """hlist_add_head prepends, hlist_add_behind inserts after a slave, a starting table
    appends, hlist_del_init removes, hlist_splice_init moves a whole list before another's."""
    a, b, *ms = _mounts(12)
    ref: dict[Mount, list[Mount]] = {a: [], b: []}
    where: dict[Mount, Mount] = {}
    for op, i, j in ops:
        m = ms[i]
        master = (a, b)[j % 2]
        if m not in where and op in (0, 1, 2):
            if op == 0:
                slave_add_head(m, master)
                ref[master].insert(0, m)
            elif op == 1:
                slave_add_tail(m, master)
                ref[master].append(m)
            elif ref[master]:
                prev = ref[master][j % len(ref[master])]
                slave_add_behind(m, prev)
                ref[master].insert(ref[master].index(prev) + 1, m)
            else:
                continue
            where[m] = master
        elif m in where and op in (3, 4):
            slave_del(m, where.pop(m))
            for lst in ref.values():
                if m in lst:
                    lst.remove(m)
            assert m.slave_next is m and m.slave_prev is m
        elif op == 5:
            frm, to = (a, b) if j % 2 else (b, a)
            slave_splice_init(frm, to)
            ref[to] = ref[frm] + ref[to]
            ref[frm] = []
            for s in ref[to]:
                where[s] = to
        assert slaves(a) == ref[a] and slaves(b) == ref[b]
        assert (a.slave_list is None) == (not ref[a]) and (b.slave_list is None) == (not ref[b])


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 7), st.integers(0, 7)), max_size=50))
def test_peer_ring_keeps_list_add_order(ops):
    """list_add(&new->mnt_share, &old->mnt_share) puts new right after old in the ring;
    list_del_init leaves a ring of one (a mount in no peer group is its own next peer)."""
    ms = _mounts(8)
    ring = [ms[0]]                                   # one group, grown from ms[0]
    for add, i, j in ops:
        m = ms[i]
        if add and m not in ring:
            old = ring[j % len(ring)]
            peer_add(m, old)
            ring.insert(ring.index(old) + 1, m)
        elif not add and m in ring and len(ring) > 1:
            peer_del(m)
            ring.remove(m)
            assert m.next_peer() is m
        start = ring[0]
        assert _peer_ring(start) == ring
