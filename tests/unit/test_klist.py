"""klist.py's kernel-order lists, and mount.py's s_mounts ring (sb_add(), sb_del()).

These are the model's own structures (Model-only), so the expected values are their
documented contracts: a ListHead keeps list.h's order; NIL reads as empty and refuses to be
linked; a superblock's mounts keep the order they came in, and any of them can leave.
"""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from mountsim.fs import SuperBlock
from mountsim.klist import NIL, ListHead
from mountsim.mount import Mount, sb_add, sb_del, sb_mounts
from mountsim.user_namespace import UserNamespace


class Owned:
    def __init__(self, n):
        self.n = n
        self.link = ListHead(self)


def test_add_tail_keeps_order_and_del_init_unlinks():
    head = ListHead()
    xs = [Owned(i) for i in range(4)]
    for x in xs:
        x.link.add_tail(head)
    xs[1].link.del_init()
    assert [x.n for x in head] == [0, 2, 3]
    assert xs[1].link.empty()


def test_nil_reads_empty_and_refuses_links():
    """If code reads an unused list it sees an empty one; if it links NIL it is a bug."""
    assert NIL.empty() and list(NIL) == [] and len(NIL) == 0
    NIL.del_init()                           # unlinking a lone entry is a no-op
    NIL.splice_init(ListHead())              # splicing an empty list is a no-op
    with pytest.raises(AssertionError):
        NIL.add_tail(ListHead())
    with pytest.raises(AssertionError):
        NIL.move(ListHead())
    assert NIL.next is NIL and NIL.prev is NIL


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 20)), max_size=60))
def test_sb_mounts_keep_their_order(ops):
    """If mounts of one superblock are made (each once) and freed in any order, s_mounts
    holds exactly the live ones, in the order they were made (alloc_vfsmnt()'s
    list_add_tail()), and is empty (None) with the last one gone."""
    sb = SuperBlock("tmpfs", 1, UserNamespace(None, 0))
    made: dict[int, Mount] = {}
    model: list[int] = []
    for add, x in ops:
        if add and x not in made:
            made[x] = m = Mount(x + 1, (1 << 31) + x + 1, sb.root, "none")
            sb_add(m, sb)
            model.append(x)
        elif not add and x in model:
            sb_del(made[x], sb)
            model.remove(x)
        assert [m.mnt_id - 1 for m in sb_mounts(sb)] == model
        assert (sb.mounts is None) == (not model)
