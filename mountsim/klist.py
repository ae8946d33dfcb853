"""A circular doubly-linked list, the kernel's `struct list_head`.

Model-only (mirrors include/linux/list.h). The umount and candidate lists (`mnt_list`)
keep the kernel's exact order, because umount walks them; a Python list would lose O(1)
removal and the "insert after this node" operations the kernel relies on. (The peer ring,
slave lists and child lists are rings through the mounts themselves: mount.py.)
"""

from __future__ import annotations

from typing import Any, Iterator


class ListHead:
    """One `list_head`: either a list's head or an entry's link (then `owner` is set)."""

    __slots__ = ("prev", "next", "owner")

    def __init__(self, owner: Any = None) -> None:
        self.prev: ListHead = self
        self.next: ListHead = self
        self.owner = owner

    def empty(self) -> bool:
        """list_empty()"""
        return self.next is self

    def singular(self) -> bool:
        """list_is_singular()"""
        return self.next is not self and self.next is self.prev

    def add(self, head: ListHead) -> None:
        """list_add(self, head): insert right after *head*."""
        nxt = head.next
        nxt.prev = self
        self.next = nxt
        self.prev = head
        head.next = self

    def add_tail(self, head: ListHead) -> None:
        """list_add_tail(self, head): insert right before *head* (at the list's end)."""
        prv = head.prev
        head.prev = self
        self.next = head
        self.prev = prv
        prv.next = self

    def del_init(self) -> None:
        """list_del_init()"""
        self.prev.next = self.next
        self.next.prev = self.prev
        self.prev = self.next = self

    def move(self, head: ListHead) -> None:
        """list_move(): unlink and insert after *head*."""
        self.del_init()
        self.add(head)

    def move_tail(self, head: ListHead) -> None:
        """list_move_tail()"""
        self.del_init()
        self.add_tail(head)

    def splice_init(self, at: ListHead) -> None:
        """list_splice_init(self, at): move all entries of list *self* right after *at*."""
        if self.empty():
            return
        first, last, nxt = self.next, self.prev, at.next
        first.prev = at
        at.next = first
        last.next = nxt
        nxt.prev = last
        self.prev = self.next = self

    def first(self) -> Any:
        """list_first_entry() (the list must not be empty)."""
        return self.next.owner

    def __iter__(self) -> Iterator[Any]:
        """list_for_each_entry(): entries of the list whose head is *self*."""
        node = self.next
        while node is not self:
            nxt = node.next
            yield node.owner
            node = nxt

    def __len__(self) -> int:
        n, node = 0, self.next
        while node is not self:
            n += 1
            node = node.next
        return n


class _Nil(ListHead):
    """The one shared empty list: what a mount's unused mnt_list link points at.

    Model-only, for memory: most mounts are never on an umount or candidate list, and a
    ListHead each would cost 56 bytes a mount.
    Reading NIL behaves as an empty list (or a lone entry); putting NIL itself on a list
    is a bug, so it raises. A mount takes a real link when it first goes on one
    (Mount.own_clist()); that NIL never gained a neighbour is checked by the tests.
    """

    __slots__ = ()

    def _refuse(self, *_: Any) -> None:
        raise AssertionError("the shared empty list (klist.NIL) cannot be linked")

    add = add_tail = move = move_tail = _refuse

    def splice_init(self, at: ListHead) -> None:
        """Splicing an empty list is a no-op."""


NIL = _Nil()
