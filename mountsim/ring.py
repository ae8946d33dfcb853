"""Headless rings through the mounts: the model's form of the kernel's list_heads and
hlists that link mounts into a list owned by something else.

Model-only representation. A list's owner keeps its first entry in one field (`head`) and
the entries' own `prev`/`next` slots form a ring (the last entry is `first.prev`), so a
list costs no head object and an entry no link object; an entry on no list is a ring of
one. Used for a mount's children (mnt_mounts/mnt_child), a master's slaves
(mnt_slave_list/mnt_slave) and a superblock's mounts (s_mounts/mnt_instance).

One template, instantiated per set of slot names as gVisor's ilist is per type by
go_generics: the code of each instance reads its slots by name (`x.next`), not through
getattr(), since teardown unlinks every mount of a namespace.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

_TEMPLATE = '''
def add_tail(x, holder):
    """list_add_tail(): *x* last on *holder*'s list."""
    first = holder.HEAD
    if first is None:
        holder.HEAD = x
        x.PREV = x.NEXT = x
    else:
        last = first.PREV
        x.PREV, x.NEXT = last, first
        last.NEXT = first.PREV = x


def add_head(x, holder):
    """hlist_add_head(): *x* first on *holder*'s list (x is on no list)."""
    first = holder.HEAD
    if first is not None:
        insert_before(x, first)
    holder.HEAD = x


def insert_before(x, at):
    """*x* (on no list) right before the entry *at*; hlist_add_behind() of the one before."""
    last = at.PREV
    x.PREV, x.NEXT = last, at
    last.NEXT = at.PREV = x


def delete(x, holder):
    """list_del_init() from *holder*'s list (a no-op for a ring of one that is not its
    first: on no list; *holder* may then be None)."""
    nxt = x.NEXT
    if nxt is x:
        if holder is not None and holder.HEAD is x:
            holder.HEAD = None
        return
    prv = x.PREV
    prv.NEXT, nxt.PREV = nxt, prv
    if holder.HEAD is x:
        holder.HEAD = nxt
    x.PREV = x.NEXT = x


def entries(holder):
    """list_for_each_entry(): not for a loop that unlinks entries (take a list first, as
    the kernel's _safe walks do)."""
    first = x = holder.HEAD
    while x is not None:
        yield x
        x = x.NEXT
        if x is first:
            return
'''


def ring(head: str, prev: str, next_: str) -> Any:
    """The ring operations over the slots *prev*/*next* of entries whose owner keeps the
    first in *head*: add_tail, add_head, insert_before, delete, entries."""
    assert all(s.isidentifier() for s in (head, prev, next_))
    code = _TEMPLATE.replace("HEAD", head).replace("PREV", prev).replace("NEXT", next_)
    ns: dict[str, Any] = {}
    exec(compile(code, f"<ring {head}: {prev}/{next_}>", "exec"), ns)
    return SimpleNamespace(**{k: ns[k] for k in
                              ("add_tail", "add_head", "insert_before", "delete", "entries")})
