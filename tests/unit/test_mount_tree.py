"""mount.py's MountTree: ns->mounts, a namespace's mounts ordered by unique id.

Its contract is the kernel's rbtree on mnt_node as fs/namespace.c reads it: iteration in
unique-id order, mnt_find_id_at() (the first mount at or after an id), lookup by unique id
(lookup_mnt_in_ns()), and listmount's walks up and down from an id. A Model-only
representation, so the expected values are that contract, checked against a sorted list.
"""

from __future__ import annotations

from hypothesis import given, strategies as st

from mountsim.fs import SuperBlock
from mountsim.mount import MNT_UNIQUE_ID_OFFSET as OFF, Mount, MountTree
from mountsim.user_namespace import UserNamespace

SB = SuperBlock("tmpfs", 1, UserNamespace(None, 0))


def mount(mnt_id: int, unique: int) -> Mount:
    return Mount(mnt_id, OFF + unique, SB.root, "none")


@given(st.lists(st.tuples(st.sampled_from(["add", "discard", "renumber"]), st.integers(1, 6)),
                max_size=60),
       st.integers(0, 8))
def test_tree_answers_as_a_sorted_list(ops, probe):
    tree, ref, made = MountTree(), [], {}
    for op, u in ops:
        m = made.get(u)
        if op == "add" and m is None:
            made[u] = m = mount(u % 7 + 1, u)      # mnt_ids repeat: only unique ids order
            tree.add(m)
            ref.append(m)
        elif op == "discard" and m is not None:
            tree.discard(m)
            ref.remove(m)
            del made[u]
        elif op == "renumber" and m is not None:
            m.mnt_id = 1000 + u                   # a start table's id, given after the add
        ref.sort(key=lambda x: x.unique_id)
        assert list(tree) == ref and len(tree) == len(ref)
    uid = OFF + probe
    assert tree.get(uid) is next((m for m in ref if m.unique_id == uid), None)
    assert list(tree.from_id(uid)) == [m for m in ref if m.unique_id >= uid]
    assert list(tree.before_id(uid)) == [m for m in reversed(ref) if m.unique_id < uid]
    assert list(reversed(tree)) == ref[::-1]


def test_a_freed_mount_keeps_its_ids_apart():
    """mnt_id reads negative once freed (Mount.ids' FREED bit) and the unique id stays."""
    m = mount(5, 9)
    m.mnt_id = -m.mnt_id
    assert (m.mnt_id, m.unique_id) == (-5, OFF + 9)
