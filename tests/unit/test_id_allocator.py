"""mount.py's IdAllocator: the IDA behind mnt_id, peer group ids and anonymous devices.

Its contract is ida_alloc_min()'s (lib/idr.c): alloc() gives the smallest id >= start that
is neither allocated nor reserved, free() makes an id available again, reserve() takes a
given id (a start table's, possibly far above anything allocated yet).
"""

from __future__ import annotations

import tracemalloc

from hypothesis import given, strategies as st

from mountsim.mount import IdAllocator

OPS = st.lists(st.one_of(st.just(("alloc", 0)),
                         st.tuples(st.just("free"), st.integers(1, 40)),
                         st.tuples(st.just("reserve"), st.sampled_from([3, 7, 30, 2_000_000_000]))),
               max_size=120)


@given(OPS)
def test_alloc_gives_the_smallest_id_not_in_use(ops):
    ida, used = IdAllocator(1), set()
    for op, n in ops:
        if op == "alloc":
            want = next(i for i in range(1, len(used) + 2) if i not in used)
            assert ida.alloc() == want
            used.add(want)
        elif op == "free" and n in used:
            ida.free(n)
            used.discard(n)
        elif op == "reserve" and n not in used:
            ida.reserve(n)
            used.add(n)


def test_freed_ids_keep_no_object_each():
    """Freeing every id of a torn-down namespace keeps no object per id: a heap of freed
    int objects (the allocator before) held 40 bytes an id, 40 MB for a million mounts."""
    ida = IdAllocator(1)
    for _ in range(100_000):
        ida.alloc()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(100_000):
            ida.free(i + 1)                     # fresh int objects, as Mount.ids & ID_MASK
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 100_000                      # < 1 byte an id
    assert ida.alloc() == 1
