"""mount.py's IdAllocator: the IDA behind mnt_id, peer group ids and anonymous devices.

Its contract is ida_alloc_min()'s (lib/idr.c): alloc() gives the smallest id >= start that
is neither allocated nor reserved, free() makes an id available again, reserve() takes a
given id (a start table's, possibly far above anything allocated yet). That contract is
checked against a set of ids in use in tests/unit/test_namespace.py
(test_ids_are_the_smallest_free_whatever_a_table_reserved); here, what the allocator costs.
"""

from __future__ import annotations

import tracemalloc

from mountsim.mount import IdAllocator


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
