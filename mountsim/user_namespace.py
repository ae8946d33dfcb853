"""User namespaces and credentials: who may do what (kernel/user_namespace.c, cred.c).

Mirrors security/commoncap.c:cap_capable() for the question the mount code asks,
`ns_capable(ns, CAP_SYS_ADMIN)`, and cap_emulate_setxuid() for how setresuid() drops
capabilities. Capabilities are modelled as one bit: a task has all of them in its own user
namespace or none (`Cred.caps`); that is enough for mount semantics.

Ids in credentials and inodes are kernel ids (kuid_t/kgid_t: the initial namespace's
numbers). A child namespace maps its own ids to kernel ids through the uid_map/gid_map
written once through /proc/<pid>/ (map_write(), new_idmap_permitted()); before that every
id is unmapped in it. Tasks have one gid, 0 (no setgid calls are modelled).
"""

from __future__ import annotations

import errno
import functools
import itertools
from typing import Any, ClassVar

import attrs

from .errors import KernelError

_ns_inum = itertools.count(0xF0000000)


Extent = tuple[int, int, int]        # (first id in the namespace, first kernel id, count)
IDENTITY_MAP: tuple[Extent, ...] = ((0, 0, 4294967295),)   # init_user_ns's maps
INT_MAX = 2**31 - 1


@attrs.define(slots=True, eq=False, repr=False)
class UserNamespace:
    """struct user_namespace: a parent, a level, the kernel euid of its creator (owner),
    and its id maps (extents already translated to kernel ids, as map_write() stores them)."""

    kind: ClassVar[str] = "user"         # its nsfs name and ns_type (proc, setns)
    parent: UserNamespace | None
    owner: int
    level: int = 0
    inum: int = attrs.field(factory=lambda: next(_ns_inum))
    uid_map: tuple[Extent, ...] = ()
    gid_map: tuple[Extent, ...] = ()
    setgroups_allowed: bool = True       # USERNS_SETGROUPS_ALLOWED
    parent_could_setfcap: bool = True    # the creator held CAP_SETFCAP in the parent
    # ucount_max[UCOUNT_USER_NAMESPACES] (/proc/sys/user/max_user_namespaces as seen from
    # inside this namespace) and the user namespaces counted against it, per creator uid
    max_user_namespaces: int = INT_MAX
    user_ns_counts: dict = attrs.Factory(dict)

    def map_of(self, which: str) -> tuple[Extent, ...]:
        return self.uid_map if which == "uid_map" else self.gid_map

    def __repr__(self) -> str:
        return f"<userns level={self.level} owner={self.owner}>"


@attrs.define(slots=True, eq=False)
class OtherNamespace:
    """A network, IPC, UTS, cgroup or time namespace, as far as mounts see one (Model-only:
    nothing else of it is modelled): its file /proc/<pid>/ns/<kind>, which setns() enters
    and a bind mount keeps alive (`ip netns add`). Its owner decides who may mount sysfs (net: kobj_ns_current_may_mount())
    or mqueue (ipc: mqueue_init_fs_context() takes ipc_ns->user_ns), and every such mount
    in it shares one superblock (sysfs: kernfs_test_super() matches the net namespace tag;
    mqueue: get_tree_keyed() on the ipc namespace)."""

    kind: str                     # "net", "ipc", "uts", "cgroup" or "time"
    user_ns: UserNamespace        # the owner: the creator's user namespace
    sb: Any = None                # the sysfs / mqueue superblock made in it, once made
    inum: int = attrs.field(factory=lambda: next(_ns_inum))   # ns_common.inum (nsfs name)


@attrs.define(slots=True, eq=False)
class Cred:
    """struct cred, reduced to what mount permission checks read."""

    user_ns: UserNamespace
    ruid: int = 0
    euid: int = 0
    suid: int = 0
    caps: bool = True            # effective capability set is full (True) or empty
    permitted: bool = True

    def copy(self) -> Cred:
        return attrs.evolve(self)


def _map_id(ns: UserNamespace, which: str, value: int, up: bool) -> int | None:
    """One id through *ns*'s map: down (namespace id -> kernel id, map_id_range_down()) or
    up (kernel id -> namespace id, map_id_up()); None where the map has no extent for it."""
    if ns.parent is None:
        return value
    for first, lower, count in ns.map_of(which):
        src, dst = (lower, first) if up else (first, lower)
        if src <= value < src + count:
            return dst + value - src
    return None


def make_kid(ns: UserNamespace, which: str, nid: int) -> int | None:
    """make_kuid()/make_kgid(): the kernel id of *nid* as seen in *ns*, None if unmapped."""
    return _map_id(ns, which, nid, up=False)


def from_kid(ns: UserNamespace, which: str, kid: int) -> int | None:
    """from_kuid()/from_kgid(): what kernel id *kid* is called in *ns*, None if unmapped."""
    return _map_id(ns, which, kid, up=True)


def ids_mapped(ns: UserNamespace, uid: int, gid: int = 0) -> bool:
    """kuid_has_mapping() && kgid_has_mapping()."""
    return from_kid(ns, "uid_map", uid) is not None and from_kid(ns, "gid_map", gid) is not None


def ns_capable(cred: Cred, ns: UserNamespace) -> bool:
    """Does *cred* hold CAP_SYS_ADMIN (any cap) in *ns*? Mirrors cap_capable().

    The creator's euid owns a child namespace and has every capability in it when the
    creator lives in the parent namespace, even without capabilities of its own.
    """
    while True:
        if ns is cred.user_ns:
            return cred.caps
        if ns.level <= cred.user_ns.level:
            return False
        if ns.parent is cred.user_ns and ns.owner == cred.euid:
            return True
        assert ns.parent is not None
        ns = ns.parent


def create_user_ns(cred: Cred, chrooted: bool) -> Cred:
    """create_user_ns(): the new credentials of a task entering a fresh child namespace.

    Errors, in the kernel's order: EUSERS past 32 levels; ENOSPC past a max_user_namespaces
    on the way up (inc_user_namespaces()); EPERM when the caller is chrooted (*chrooted*:
    current_chrooted(), which the caller computes from its fs_struct); EPERM when the
    caller's euid or egid has no mapping in its own user namespace (observed on Linux 6.18:
    a second unshare(CLONE_NEWUSER) before uid_map is written fails so).
    """
    parent = cred.user_ns
    if parent.level >= 32:
        raise KernelError(errno.EUSERS, "user namespaces nest 32 deep at most", where="create_user_ns")
    charge = inc_user_namespaces(parent, cred.euid)
    if chrooted:
        raise KernelError(errno.EPERM, "a chrooted process may not create a user namespace",
                          where="create_user_ns")
    if not ids_mapped(parent, cred.euid):
        raise KernelError(errno.EPERM, "creator's uid or gid is not mapped in its user namespace",
                          where="create_user_ns")
    for n, u in charge:                  # past the checks that would dec_user_namespaces()
        n.user_ns_counts[u] = n.user_ns_counts.get(u, 0) + 1
    # ns->flags = parent_ns->flags: USERNS_SETGROUPS_ALLOWED is inherited
    ns = UserNamespace(parent, cred.euid, parent.level + 1, parent_could_setfcap=cred.caps,
                       setgroups_allowed=parent.setgroups_allowed)
    new = cred.copy()
    new.user_ns = ns
    new.caps = new.permitted = True      # set_cred_user_ns(): CAP_FULL_SET in the new ns
    return new


def exec_creds(task) -> None:
    """The capabilities after an exec, in a user namespace other than the initial one.
    Mirrors security/commoncap.c cap_bprm_creds_from_file() -> handle_privileged_root():
    a task whose euid is its namespace's root keeps them all, one whose ruid is keeps them
    permitted only, any other has none (`unshare --map-user=1000` then a shell: mount is
    EPERM). Model-only: set-user-id bits and file capabilities are not known (executables
    live on filesystems of unknown contents), so in the initial namespace, where set-uid
    helpers are common, an exec leaves the capabilities as they were."""
    cred = task.cred
    if cred.user_ns.parent is None:
        return
    root = make_kid(cred.user_ns, "uid_map", 0)
    effective = root is not None and cred.euid == root
    permitted = effective or (root is not None and cred.ruid == root)
    if (cred.caps, cred.permitted) != (effective, permitted):
        new = cred.copy()
        new.caps, new.permitted = effective, permitted
        task.cred = new


@functools.cache
def host_max_user_namespaces() -> int:
    """init_user_ns's max_user_namespaces. Model-only: the model simulates this machine, so
    it is this machine's (/proc/sys/user/max_user_namespaces; INT_MAX without one), read
    once per process: every boot needs it."""
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return INT_MAX


def inc_user_namespaces(ns: UserNamespace, uid: int) -> list[tuple[UserNamespace, int]]:
    """inc_ucount(ns, uid, UCOUNT_USER_NAMESPACES)'s check: one more user namespace for
    *uid* in *ns*, charged up the chain (at each ancestor to the uid that made the level
    below), within each namespace's max_user_namespaces; the (namespace, uid) counts to
    raise once the creation goes through. Errors: ENOSPC. Model-only: a namespace is never
    uncharged (the model does not follow when a user namespace dies)."""
    chain = []
    n: UserNamespace | None = ns
    while n is not None:
        if n.user_ns_counts.get(uid, 0) + 1 > n.max_user_namespaces:
            raise KernelError(errno.ENOSPC, "max_user_namespaces reached", where="inc_ucount")
        chain.append((n, uid))
        uid, n = n.owner, n.parent
    return chain


def setresuid(cred: Cred, r: int, e: int, s: int) -> None:
    """__sys_setresuid() + cap_emulate_setxuid(). -1 keeps an id; ids are the caller's
    namespace's, stored as kernel ids.

    Errors: EINVAL for an id the caller's user namespace does not map; EPERM when an
    unprivileged caller asks for an id it does not already have.
    """
    kids = [make_kid(cred.user_ns, "uid_map", x) if x != -1 else -1 for x in (r, e, s)]
    if None in kids:
        raise KernelError(errno.EINVAL, "uid not mapped in the caller's user namespace",
                          where="make_kuid")
    r, e, s = kids
    new = [cred.ruid if r == -1 else r, cred.euid if e == -1 else e, cred.suid if s == -1 else s]
    if not cred.caps:
        have = {cred.ruid, cred.euid, cred.suid}
        if any(x not in have for x in new):
            raise KernelError(errno.EPERM, "setresuid needs CAP_SETUID for a new uid",
                              where="__sys_setresuid")
    old_any_root = 0 in (cred.ruid, cred.euid, cred.suid)
    old_euid = cred.euid
    cred.ruid, cred.euid, cred.suid = new
    if old_any_root and 0 not in new:
        cred.permitted = False
        cred.caps = False
    if old_euid == 0 and cred.euid != 0:
        cred.caps = False
    elif old_euid != 0 and cred.euid == 0:
        cred.caps = cred.permitted


MAX_EXTENTS = 340                        # UID_GID_MAP_MAX_EXTENTS


def parse_id_map(text: str) -> list[Extent]:
    """The lines "first lower count" of a map write. Mirrors map_write()'s parser.

    Errors: EINVAL (a malformed line, a zero or overflowing count, overlapping extents,
    more than 340 extents, nothing at all).
    """
    extents: list[Extent] = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise KernelError(errno.EINVAL, f"bad id map line {line!r}", where="map_write")
        first, lower, count = map(int, parts)
        if count == 0 or first + count > 1 << 32 or lower + count > 1 << 32 \
                or first + count - 1 == 0xFFFFFFFF or lower + count - 1 == 0xFFFFFFFF:
            raise KernelError(errno.EINVAL, "id map extent out of range", where="map_write")
        for f, lo, c in extents:
            if first < f + c and f < first + count or lower < lo + c and lo < lower + count:
                raise KernelError(errno.EINVAL, "overlapping id map extents", where="mappings_overlap")
        extents.append((first, lower, count))
    if not extents or len(extents) > MAX_EXTENTS:
        raise KernelError(errno.EINVAL, "no extents, or too many", where="map_write")
    return extents


def map_write(ns: UserNamespace, which: str, text: str, opener: Cred, writer: Cred) -> None:
    """Write /proc/<pid>/uid_map or gid_map of namespace *ns*. Mirrors map_write() and
    new_idmap_permitted() (kernel/user_namespace.c).

    Errors: EPERM (already written; the opener lacks CAP_SYS_ADMIN over *ns*; a mapping
    the writer may not set up; a lower id unmapped in the parent), EINVAL (format).
    An unprivileged owner may map exactly its own euid (uid_map), or its egid after
    setgroups was denied (gid_map); anything else needs CAP_SETUID/CAP_SETGID over the
    parent namespace for both the writer and the opener.
    """
    if ns.parent is None or writer.user_ns not in (ns, ns.parent):
        raise KernelError(errno.EPERM, "only the namespace or its parent may write its maps",
                          where="proc_uid_map_write")
    if ns.map_of(which):
        raise KernelError(errno.EPERM, f"{which} was already written", where="map_write")
    if not ns_capable(opener, ns):
        raise KernelError(errno.EPERM, "the opener has no CAP_SYS_ADMIN over the namespace",
                          where="map_write")
    extents = parse_id_map(text)
    if not _idmap_permitted(ns, which, extents, opener, writer):
        raise KernelError(errno.EPERM, "mapping not permitted", where="new_idmap_permitted")
    kernel_extents = []
    for first, lower, count in extents:
        klow = make_kid(ns.parent, which, lower)
        khigh = make_kid(ns.parent, which, lower + count - 1)
        if klow is None or khigh is None or khigh - klow != count - 1:
            raise KernelError(errno.EPERM, "lower ids not mapped in the parent", where="map_id_range_down")
        kernel_extents.append((first, klow, count))
    if which == "uid_map":
        ns.uid_map = tuple(kernel_extents)
    else:
        ns.gid_map = tuple(kernel_extents)


def _idmap_permitted(ns: UserNamespace, which: str, extents: list[Extent], opener: Cred,
                     writer: Cred) -> bool:
    if which == "uid_map" and not _verify_root_map(ns, extents, opener):
        return False
    if len(extents) == 1 and extents[0][2] == 1 and ns.owner == opener.euid:
        kid = make_kid(ns.parent, which, extents[0][1])
        if which == "uid_map" and kid == opener.euid:
            return True
        if which == "gid_map" and not ns.setgroups_allowed and kid == 0:   # egid is 0
            return True
    return ns_capable(writer, ns.parent) and ns_capable(opener, ns.parent)


def _verify_root_map(ns: UserNamespace, extents: list[Extent], opener: Cred) -> bool:
    """Mapping the parent's uid 0 needs CAP_SETFCAP: had by the creator when the namespace
    writes its own map, else by the opener over the parent. Mirrors verify_root_map()."""
    if not any(lower == 0 for _, lower, _ in extents):
        return True
    if opener.user_ns is ns:
        return ns.parent_could_setfcap
    return ns_capable(opener, ns.parent)


def setgroups_write(ns: UserNamespace, text: str) -> None:
    """Write /proc/<pid>/setgroups: "allow" or "deny". Mirrors proc_setgroups_write().

    Errors: EINVAL (anything else), EPERM (allow after deny; deny after gid_map).
    """
    if len(text) >= 8:
        raise KernelError(errno.EINVAL, "setgroups write too long", where="proc_setgroups_write")
    for word in ("allow", "deny"):
        if text.startswith(word) and not text[len(word):].strip():
            break
    else:
        raise KernelError(errno.EINVAL, f"setgroups takes allow or deny, not {text!r}",
                          where="proc_setgroups_write")
    if word == "allow":
        if not ns.setgroups_allowed:
            raise KernelError(errno.EPERM, "setgroups was denied for good", where="proc_setgroups_write")
    else:
        if ns.gid_map:
            raise KernelError(errno.EPERM, "gid_map is already written", where="proc_setgroups_write")
        ns.setgroups_allowed = False
