"""klist.py: the kernel-order lists and the bags behind s_mounts and m_list.

These are the model's own structures (Model-only), so the expected values are their
documented contracts: a ListHead keeps list.h's order; NIL reads as empty and refuses to be
linked; a bag keeps insertion order whatever its current form (nothing, one item, list,
dict) and removes any item.
"""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from mountsim.klist import NIL, ListHead, bag_add, bag_items, bag_remove


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
def test_bag_is_an_insertion_ordered_set(ops):
    """If items are added (each once) and removed in any order, the bag holds exactly the
    present ones in the order they came, across every form it takes."""
    bag: object = ()
    model: list[int] = []
    for add, x in ops:
        if add and x not in model:
            bag = bag_add(bag, x)
            model.append(x)
        elif not add:
            bag = bag_remove(bag, x)
            if x in model:
                model.remove(x)
        assert list(bag_items(bag)) == model
        assert bool(model) == bool(bag_items(bag))


def test_bag_of_many_is_a_dict():
    """Past a few entries removal is O(1): the bag is a dict (20,000 propagated copies on
    one mountpoint made umount quadratic before)."""
    bag: object = ()
    for i in range(100):
        bag = bag_add(bag, i)
    assert type(bag) is dict
