"""Mounts and mount namespaces: fs/mount.h.

`Mount` is `struct mount` with its peers, its children and its slaves on rings of mounts
(peer_add(), add_child(), slave_add_head() and friends) rather than `list_head` objects, so
that propagation walks them in the kernel's order at no object per link. A namespace keeps
its mounts ordered by the 64-bit unique id (the kernel's rbtree `ns->mounts`), which is the
order /proc/<pid>/mountinfo, listmount() and statmount() see. Children are found by a hash
on (parent, mountpoint dentry), as `__lookup_mnt()` does with `mount_hashtable`.

Fields drop only the `mnt_` prefix of their kernel names.
"""

from __future__ import annotations

import itertools
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Iterator

from sortedcontainers import SortedKeyList

from .fs import Dentry, SuperBlock
from .klist import NIL, ListHead
from .mount_hash import MountHash
from .packed import bit, bits
from .ring import ring

if TYPE_CHECKING:
    from .user_namespace import UserNamespace


class _Flags:
    """A namespace of int flag constants; `MNT(x)` is just `int(x)`.

    Model-only: plain ints, not enum.IntFlag: every flag test on a hot path (propagation,
    copy_tree, mountinfo) would otherwise build enum objects, which cost more than the
    walk itself."""

    def __new__(cls, value: int = 0) -> int:   # type: ignore[misc]
        return int(value)


class MNT(_Flags):
    """Per-mount flags, include/linux/mount.h (values are the kernel's)."""

    NOSUID = 0x01
    NODEV = 0x02
    NOEXEC = 0x04
    NOATIME = 0x08
    NODIRATIME = 0x10
    RELATIME = 0x20
    READONLY = 0x40
    NOSYMFOLLOW = 0x80
    SHRINKABLE = 0x100
    SHARED = 0x1000
    INTERNAL = 0x4000
    LOCK_ATIME = 0x040000
    LOCK_NOEXEC = 0x080000
    LOCK_NOSUID = 0x100000
    LOCK_NODEV = 0x200000
    LOCK_READONLY = 0x400000
    LOCKED = 0x800000
    DOOMED = 0x1000000
    SYNC_UMOUNT = 0x2000000
    MARKED = 0x4000000
    UMOUNT = 0x8000000
    IDMAPPED = 0x10000000   # Model-only: stands for a non-default mnt_idmap


MNT_ATIME_MASK = MNT.NOATIME | MNT.NODIRATIME | MNT.RELATIME
MNT_USER_SETTABLE_MASK = (MNT.NOSUID | MNT.NODEV | MNT.NOEXEC | MNT.NOATIME | MNT.NODIRATIME
                          | MNT.RELATIME | MNT.READONLY | MNT.NOSYMFOLLOW)
MNT_LOCK_MASK = MNT.LOCK_ATIME | MNT.LOCK_NOEXEC | MNT.LOCK_NOSUID | MNT.LOCK_NODEV | MNT.LOCK_READONLY
MNT_INTERNAL_FLAGS = (MNT.SHARED | MNT.INTERNAL | MNT.DOOMED | MNT.SYNC_UMOUNT | MNT.MARKED
                      | MNT.UMOUNT | MNT.LOCKED)


class T(_Flags):
    """mnt_t_flags: bits only touched under namespace_sem (fs/mount.h)."""

    MARKED = 1
    UMOUNT_CANDIDATE = 2
    UNBINDABLE = 4
    EXPIRY_MARK = 0x100    # Model-only: mnt_expiry_mark, packed here (packed.py)
    EXPIRE = 0x200         # Model-only: !list_empty(&mnt_expire), packed here
    PINS_SHIFT = 16        # Model-only: Mount.pins, packed above the bits


# First unique id handed out: MNT_UNIQUE_ID_OFFSET (1 << 31) + 1, so the two id spaces
# never overlap (fs/namespace.c:mnt_alloc_id()).
MNT_UNIQUE_ID_OFFSET = 1 << 31

_ID_SHIFT = 32                           # Mount.ids: unique id offset << 32 | mnt_id
ID_MASK = (1 << _ID_SHIFT) - 1
FREED = 1 << 31                          # ... with this bit once freed (ids stay < 2^31)
_MNT_ID_MASK = FREED - 1

_IDS = attrgetter("ids")

_NO_COVERS: tuple = ()                   # covers of a mount that left none (most of them)


class IdAllocator:
    """An IDA handing out the smallest free id >= *start* (ida_alloc_min()).

    Like the kernel's IDA, a bitmap: a byte per id up to the high-water mark (`_used`), and
    the lowest index that may be free (`_low`), so alloc is a C-speed find of the first
    zero byte from there and free is one store. A million mounts freed at a namespace's
    exit cost a megabyte, not a heap of a million int objects (40 MB). Ids a start table
    reserves above the mark are kept aside (`_above`), not filled in: a table may name id
    2,000,000,000.
    """

    __slots__ = ("_start", "_used", "_low", "_above")

    def __init__(self, start: int = 1) -> None:
        self._start = start
        self._used = bytearray()           # _used[i]: id start + i is taken
        self._low = 0                      # no free index below it
        self._above: set[int] = set()

    def alloc(self) -> int:
        used, i = self._used, self._low
        if i < len(used):                  # a freed id below the mark, maybe
            i = used.find(0, i)
            if i >= 0:
                used[i] = 1
                self._low = i + 1
                return self._start + i
            i = len(used)
        above = self._above                # past the mark: ids set aside there are taken
        while above and self._start + i in above:
            above.discard(self._start + i)
            used.append(1)
            i += 1
        used.append(1)
        self._low = i + 1
        return self._start + i

    def free(self, n: int) -> None:
        i = n - self._start
        if i >= len(self._used):               # reserved above the mark: free again by
            self._above.discard(n)             # being neither below it nor set aside
        elif i >= 0:
            self._used[i] = 0
            if i < self._low:
                self._low = i

    def reserve(self, n: int) -> None:
        """Mark *n* as used (a starting table names its ids)."""
        i = n - self._start
        if i >= len(self._used):
            self._above.add(n)
        elif i >= 0:
            self._used[i] = 1


class Mount:
    """struct mount. `parent is self` for a mount with no parent (a namespace root or a
    detached tree's root): mnt_has_parent() is false for both, as in the kernel.

    `mounts` is the first child and `prev`/`next` link siblings (see add_child()): the
    kernel's mnt_mounts/mnt_child lists without a head object. For memory (a million
    mounts, and a copy of each), the two ids share one int (`ids`), mnt_sb and overmount
    are derived, and rare fields are packed (packed.py): 22 slots, where the kernel's
    struct mount has some 40 fields.
    """

    __slots__ = (
        "ids", "root", "flags", "t_flags", "devname", "sb_prev", "sb_next",
        "parent", "mountpoint", "mounts", "prev", "next",
        "share_prev", "share_next", "slave_prev", "slave_next", "slave_list", "master", "group_id",
        "ns", "link", "hash_next",
    )

    expiry_mark = bit("t_flags", T.EXPIRY_MARK, "mnt_expiry_mark")
    pins = bits("t_flags", T.PINS_SHIFT, 32, "Model-only: open files, cwds and roots on us")
    expire = bit("t_flags", T.EXPIRE, "!list_empty(&mnt_expire): on an expiry list")

    def __init__(self, mnt_id: int, unique_id: int, root: Dentry, devname: str) -> None:
        self.ids = (unique_id - MNT_UNIQUE_ID_OFFSET) << _ID_SHIFT | mnt_id   # mnt_id_unique, mnt_id
        self.root = root                  # kernel: mnt.mnt_root
        self.flags = 0                    # kernel: mnt.mnt_flags
        self.t_flags = 0                  # kernel: mnt_t_flags
        self.devname = devname            # kernel: mnt_devname
        self.sb_prev = self.sb_next = self  # kernel: mnt_instance (sb.mounts ring; sb_add())
        self.parent: Mount = self         # kernel: mnt_parent
        self.mountpoint: Dentry = root    # kernel: mnt_mountpoint
        self.mounts: Mount | None = None  # kernel: mnt_mounts (its first entry; None: empty)
        self.prev = self.next = self      # kernel: mnt_child (ring of siblings; lone: self)
        self.share_prev = self.share_next = self  # kernel: mnt_share (peer ring; lone: self)
        self.slave_prev = self.slave_next = self  # kernel: mnt_slave (ring; lone: self)
        self.slave_list: Mount | None = None  # kernel: mnt_slave_list (its first; None: empty)
        self.master: Mount | None = None  # kernel: mnt_master
        self.group_id = 0                 # kernel: mnt_group_id
        self.ns: MntNamespace | None = None  # kernel: mnt_ns
        self.link: ListHead | list = NIL  # clist or covers (below)
        self.hash_next: Mount | None = None  # kernel: mnt_hash (mount_hash.py's chains)

    # -- fields the model derives rather than stores (for memory) --------------
    @property
    def sb(self) -> SuperBlock:
        """mnt.mnt_sb: always its root's superblock (mnt_root->d_sb)."""
        return self.root.sb

    @property
    def overmount(self) -> Mount | None:
        """The mount on our root (kernel: mnt->overmount, kept by __attach_mnt() and
        unhash_mnt()); the mount hash has exactly that answer."""
        return MountHash.lookup(self, self.root)

    # -- the two ids, kept in one int ------------------------------------------
    # Model-only, for memory: mnt_id and mnt_id_unique are both past Python's cached small
    # ints, so two fields cost two int objects a mount; one int holds both (the unique id
    # above _ID_SHIFT, as an offset from MNT_UNIQUE_ID_OFFSET so it stays two digits), and
    # its order is the unique ids' order: MountTree keys on it as it is.
    @property
    def mnt_id(self) -> int:
        """mnt_id (small, reused; mountinfo's first field). Negative once freed."""
        v = self.ids & ID_MASK
        return -(v & _MNT_ID_MASK) if v & FREED else v

    @mnt_id.setter
    def mnt_id(self, v: int) -> None:
        self.ids = (self.ids & ~ID_MASK) | (FREED | -v if v < 0 else v)

    @property
    def unique_id(self) -> int:
        """mnt_id_unique (64-bit, never reused; statmount's mnt_id)."""
        return (self.ids >> _ID_SHIFT) + MNT_UNIQUE_ID_OFFSET

    # -- lists this mount links into, made on first use ------------------------
    # `link` holds mnt_list's link, made on first use, or, once the mount is unmounted
    # (7.3), the covers its children left: a mount takes covers only after umount_tree()
    # took it off every list, and an unmounted mount goes on no list again (Model-only,
    # one slot for two).
    @property
    def clist(self) -> ListHead:
        """mnt_list: the link on an umount or candidate list (NIL: on none yet)."""
        a = self.link
        return NIL if type(a) is list else a

    @property
    def covers(self) -> list[Dentry] | tuple:
        """mnt_covers (7.3): cover->dentry of each cover our unmounted children left."""
        a = self.link
        return a if type(a) is list else _NO_COVERS

    def own_clist(self) -> ListHead:
        """mnt_list, to go on an umount or candidate list."""
        a = self.link
        if a is NIL:
            self.link = a = ListHead(self)
        elif type(a) is list:
            raise AssertionError(f"{self} has covers: it was unmounted, it goes on no list")
        return a

    def add_cover(self, d: Dentry) -> None:
        """7.3: a child unmounted with us leaves a cover at *d* (leave_cover())."""
        a = self.link
        if type(a) is list:
            a.append(d)
        else:
            assert a.empty(), f"{self} is on a list: it cannot take covers yet"
            self.link = [d]

    # -- fs/pnode.h predicates -------------------------------------------------
    @property
    def is_shared(self) -> bool:          # IS_MNT_SHARED
        return bool(self.flags & MNT.SHARED)

    @property
    def is_slave(self) -> bool:           # IS_MNT_SLAVE
        return self.master is not None

    @property
    def is_unbindable(self) -> bool:      # IS_MNT_UNBINDABLE
        return bool(self.t_flags & T.UNBINDABLE)

    @property
    def is_marked(self) -> bool:          # IS_MNT_MARKED
        return bool(self.t_flags & T.MARKED)

    @property
    def is_locked(self) -> bool:          # IS_MNT_LOCKED
        return bool(self.flags & MNT.LOCKED)

    @property
    def has_parent(self) -> bool:         # mnt_has_parent()
        return self.parent is not self

    def next_peer(self) -> Mount:         # next_peer()
        return self.share_next

    def count(self) -> int:
        """mnt_get_count() as umount's busy checks see it: 1 for being mounted, 1 per pin.

        Children do not count: observed on Linux 6.18, a propagated twin whose only child
        overmounts it does not make umount2() busy (fs/pnode.c:propagate_mount_busy()
        compares the count with 1 after letting such a twin through).
        """
        return 1 + self.pins

    def __repr__(self) -> str:
        return f"<Mount {self.mnt_id} {self.sb.fstype}:{self.root.path()} on {self.mountpoint.path()}>"


# -- mnt_instance: a superblock's mounts --------------------------------------------------
# sb.mounts is the first (None: no mount) and the mounts' sb_prev/sb_next the ring
# (ring.py): the kernel's O(1) removal with no container (a tuple for a mount and its
# copy was 56 bytes a copy).
_SB_MOUNTS = ring("mounts", "sb_prev", "sb_next")
sb_add = _SB_MOUNTS.add_tail        # (m, sb): list_add_tail(&mnt->mnt_instance, &sb->s_mounts)
sb_del = _SB_MOUNTS.delete          # (m, sb): list_del(&mnt->mnt_instance) (mntput_no_expire())
sb_mounts = _SB_MOUNTS.entries      # (sb): its mounts, oldest first


# -- mnt_share: the peer ring -------------------------------------------------------------
# The kernel's peer ring has no head either: each peer's mnt_share links it to the next
# and the previous. A mount in no peer group is a ring of one.

def peer_add(new: Mount, old: Mount) -> None:
    """list_add(&new->mnt_share, &old->mnt_share): *new* right after *old*."""
    nxt = old.share_next
    new.share_prev, new.share_next = old, nxt
    old.share_next = nxt.share_prev = new


def peer_del(m: Mount) -> None:
    """list_del_init(&m->mnt_share)"""
    prv, nxt = m.share_prev, m.share_next
    prv.share_next, nxt.share_prev = nxt, prv
    m.share_prev = m.share_next = m


# -- mnt_mounts / mnt_child: a mount's children, in the kernel's order ---------------------
# Model-only representation. In the kernel mnt_mounts is a list head inside struct mount
# with each child's mnt_child on it. Here `parent.mounts` is the first child and the
# children's prev/next form a ring (ring.py), so a mount with children needs no head
# object: a propagated copy lands on a mount that had none, and 20,000 of them would make
# 20,000 heads for the collector to scan.
_CHILDREN = ring("mounts", "prev", "next")
add_child = _CHILDREN.add_tail      # (child, parent): list_add_tail(&child->mnt_child, &parent->mnt_mounts)
del_child = _CHILDREN.delete        # (child, child.parent): list_del_init(&child->mnt_child)
children = _CHILDREN.entries        # (m): list_for_each_entry(c, &m->mnt_mounts, mnt_child)


# -- mnt_slave_list / mnt_slave: a master's slaves, in the kernel's order -----------------
# Model-only representation, as for the children above: `master.slave_list` is the first
# slave (the hlist's first) and the slaves' slave_prev/slave_next form a ring, so a slave
# costs no link object. Unlinking needs the master whose list it is (hlist nodes find
# their list by pprev); callers pass it, as m.master may already name a new one.
_SLAVES = ring("slave_list", "slave_prev", "slave_next")
slave_add_head = _SLAVES.add_head   # (s, master): hlist_add_head(&s->mnt_slave, &master->mnt_slave_list)
slave_add_tail = _SLAVES.add_tail   # (s, master): appended (a starting table's order)
slave_del = _SLAVES.delete          # (s, master or None): hlist_del_init(&s->mnt_slave)


def slave_add_behind(s: Mount, prev: Mount) -> None:
    """hlist_add_behind(&s->mnt_slave, &prev->mnt_slave): right after *prev*, a slave."""
    _SLAVES.insert_before(s, prev.slave_next)


def slave_splice_init(frm: Mount, to: Mount) -> None:
    """hlist_splice_init(&frm->mnt_slave_list, .., &to->mnt_slave_list): frm's slaves, in
    their order, go to the head of to's list."""
    first = frm.slave_list
    if first is None:
        return
    head = to.slave_list
    if head is not None:
        last, tail = first.slave_prev, head.slave_prev
        last.slave_next, head.slave_prev = head, last
        tail.slave_next, first.slave_prev = first, tail
    to.slave_list = first
    frm.slave_list = None


def slaves(master: Mount) -> list[Mount]:
    """hlist_for_each_entry(s, &master->mnt_slave_list, mnt_slave), as a list (callers
    relink them)."""
    return list(_SLAVES.entries(master))


def peers(a: Mount, b: Mount) -> bool:
    """peers(): same non-zero peer group."""
    return a.group_id == b.group_id and a.group_id != 0


_mntns_seq = itertools.count(1)


class MountTree(SortedKeyList):
    """ns->mounts: a namespace's mounts in unique-id order (the kernel's rbtree on mnt_node),
    with mnt_find_id_at()'s "first at or after this id" and lookups by unique id, O(log n).

    Model-only representation: a SortedKeyList of the mounts keyed on Mount.ids, whose order
    is the unique ids' order, so each mount costs two list slots (a SortedDict beside it cost
    a hash entry and a key-list slot: ~60 bytes a mount, 60 MB a million). Iterating it gives
    the mounts, lowest unique id first. Its callers add a mount not in it (commit_tree()
    adds only mounts with no namespace, as the kernel's does).
    """

    def __init__(self) -> None:
        super().__init__(key=_IDS)

    @staticmethod
    def _first_ids(uid: int) -> int:
        """The smallest Mount.ids a mount with unique id *uid* can have."""
        return (uid - MNT_UNIQUE_ID_OFFSET) << _ID_SHIFT

    def update(self, ms: list[Mount]) -> None:   # type: ignore[override]
        """add() for many: one sorted bulk insert (a tree of one: add())."""
        if len(ms) == 1:
            self.add(ms[0])
        else:
            super().update(ms)

    def discard(self, m: Mount) -> None:
        """Take *m* out if it is in."""
        try:
            self.remove(m)
        except ValueError:              # absent, or its mnt_id changed since it went in
            lo = self._first_ids(m.unique_id)
            for i in range(self.bisect_key_left(lo), self.bisect_key_left(lo + ID_MASK + 1)):
                if self[i] is m:
                    del self[i]
                    return

    def get(self, uid: int) -> Mount | None:
        """The mount whose unique id is *uid*, or None."""
        m = next(self.from_id(uid), None)
        return m if m is not None and m.unique_id == uid else None

    def from_id(self, uid: int) -> Iterator[Mount]:
        """Mounts with unique id >= *uid*, ascending (mnt_find_id_at() and on)."""
        return self.irange_key(min_key=self._first_ids(uid))

    def before_id(self, uid: int) -> Iterator[Mount]:
        """Mounts with unique id < *uid*, descending (listmount(LISTMOUNT_REVERSE))."""
        return self.irange_key(max_key=self._first_ids(uid), inclusive=(True, False), reverse=True)


# Model-only: the user namespace of each idmapped mount (kernel: mnt->mnt.mnt_idmap, built
# from it by alloc_mnt_idmap()). Few mounts are idmapped, so a table rather than a slot on
# every Mount; clone_mnt() copies an entry, free_mount() drops it.
IDMAPS: dict[Mount, Any] = {}


def mnt_idmap(m: Mount | None):
    """The user namespace an idmapped mount maps ids through, or None (nop_mnt_idmap;
    also for no mount at all)."""
    return IDMAPS.get(m) if m is not None and m.flags & MNT.IDMAPPED else None


class MntNamespace:
    """struct mnt_namespace: a root, an owner user namespace, and the mounts by unique id.

    Anonymous namespaces hold detached trees (open_tree(OPEN_TREE_CLONE), fsmount()).
    """

    kind = "mnt"                         # its nsfs name and ns_type (proc, setns)
    __slots__ = ("root", "user_ns", "mounts", "pending", "is_anon", "seq", "inum", "users",
                 "seq_origin", "__weakref__")

    def __init__(self, user_ns: UserNamespace, anon: bool = False) -> None:
        from .user_namespace import _ns_inum
        self.root: Mount | None = None
        self.user_ns = user_ns
        self.mounts = MountTree()                 # ns->mounts, by unique id
        self.pending = 0                          # pending_mounts (count_mounts())
        self.is_anon = anon
        self.seq = 0 if anon else next(_mntns_seq)  # seq: a loop check for ns file binds
        self.inum = 0 if anon else next(_ns_inum)
        self.users = 0                            # tasks (nsproxies) and fds holding us
        self.seq_origin: MntNamespace | None = None  # anon: the namespace it was cloned from

    @property
    def nr_mounts(self) -> int:
        return len(self.mounts)

    def add(self, m: Mount) -> None:
        """mnt_add_to_ns()"""
        m.ns = self
        self.mounts.add(m)

    def add_many(self, ms: list[Mount]) -> None:
        """mnt_add_to_ns() for a whole new tree: one sorted bulk insert (copy_mnt_ns())."""
        for m in ms:
            m.ns = self
        self.mounts.update(ms)

    def remove(self, m: Mount) -> None:
        """move_from_ns(): out of the ordered index only. m.ns stays set until the caller
        is done (umount_tree() clears it after propagate_umount(), whose propagation walk
        must still see departing mounts as attached, not IS_MNT_NEW)."""
        self.mounts.discard(m)

    def __iter__(self) -> Iterator[Mount]:
        return iter(self.mounts)
