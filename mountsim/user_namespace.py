"""User namespaces and credentials: who may do what (kernel/user_namespace.c, cred.c,
kernel/sys.c, kernel/capability.c, security/commoncap.c).

A `Cred` holds the real, effective and saved uids and gids, the supplementary groups and
the five capability sets as bitmasks (CAP_* of include/uapi/linux/capability.h), with the
securebits. `ns_capable()` mirrors cap_capable(); `setresuid()` and its twins
__sys_setresuid() with cap_emulate_setxuid(); `exec_creds()` cap_bprm_creds_from_file();
`capset()` cap_capset() (prctl's options are syscalls/cred.py's). The fsuid and fsgid are
the effective ones (no setfsuid/setfsgid).

Ids in credentials and inodes are kernel ids (kuid_t/kgid_t: the initial namespace's
numbers). A child namespace maps its own ids to kernel ids through the uid_map/gid_map
written once through /proc/<pid>/ (map_write(), new_idmap_permitted()); before that every
id is unmapped in it.
"""

from __future__ import annotations

import errno
import functools
import itertools
from typing import Any, ClassVar, NamedTuple

import attrs

from . import uapi
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
    """struct cred: ids (kernel ids; fsuid/fsgid are euid/egid) and capability sets."""

    user_ns: UserNamespace
    ruid: int = 0
    euid: int = 0
    suid: int = 0
    rgid: int = 0
    egid: int = 0
    sgid: int = 0
    groups: frozenset = frozenset()          # group_info, kernel gids
    cap_effective: int = uapi.CAP_FULL_SET
    cap_permitted: int = uapi.CAP_FULL_SET
    cap_inheritable: int = 0
    cap_bset: int = uapi.CAP_FULL_SET
    cap_ambient: int = 0
    securebits: int = 0

    def copy(self) -> Cred:
        return attrs.evolve(self)

    def has(self, cap: int) -> bool:
        """cap_raised(cap_effective, cap)."""
        return bool(self.cap_effective >> cap & 1)

    def in_group(self, gid: int) -> bool:
        """in_group_p(): the fsgid or a supplementary group."""
        return gid == self.egid or gid in self.groups

    def set_user_ns(self, ns: UserNamespace) -> None:
        """set_cred_user_ns(): every capability, and nothing else, in the new namespace."""
        self.user_ns = ns
        self.securebits = 0
        self.cap_inheritable = self.cap_ambient = 0
        self.cap_permitted = self.cap_effective = self.cap_bset = uapi.CAP_FULL_SET


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


def ns_capable(cred: Cred, ns: UserNamespace, cap: int = uapi.CAP_SYS_ADMIN) -> bool:
    """Does *cred* hold *cap* in *ns*? Mirrors cap_capable().

    The creator's euid owns a child namespace and has every capability in it when the
    creator lives in the parent namespace, even without capabilities of its own.
    """
    while True:
        if ns is cred.user_ns:
            return cred.has(cap)
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
    if not ids_mapped(parent, cred.euid, cred.egid):
        raise KernelError(errno.EPERM, "creator's uid or gid is not mapped in its user namespace",
                          where="create_user_ns")
    for n, u in charge:                  # past the checks that would dec_user_namespaces()
        n.user_ns_counts[u] = n.user_ns_counts.get(u, 0) + 1
    # ns->flags = parent_ns->flags: USERNS_SETGROUPS_ALLOWED is inherited
    ns = UserNamespace(parent, cred.euid, parent.level + 1,
                       parent_could_setfcap=cred.has(uapi.CAP_SETFCAP),
                       setgroups_allowed=parent.setgroups_allowed)
    new = cred.copy()
    new.set_user_ns(ns)
    return new


def exec_creds(task, old: Cred | None = None, euid: int | None = None,
               egid: int | None = None) -> None:
    """The credentials after an exec: cap_bprm_creds_from_file() for a file without file
    capabilities, then begin_new_exec()'s dumpability.

    A set-user-id or set-group-id file sets the effective id (*euid*, *egid*: the file's
    owner or group). A namespace's root (euid or ruid) then gets pP' = bset | pI, and
    pE' = pP' if it is the euid (handle_privileged_root(); SECBIT_NOROOT turns that off);
    anyone else keeps only the ambient set (pP' = pE' = pA), which a change of id clears.
    SECBIT_KEEP_CAPS is cleared. Model-only: executables live on filesystems of unknown
    contents, so an exec is first taken as of a file without set-id bits; the recorded
    result of a later geteuid()/getegid() shows one that had them (`setid_exec()`)."""
    old = old if old is not None else task.cred
    new = old.copy()
    new.euid = old.euid if euid is None else euid
    new.egid = old.egid if egid is None else egid
    if new.euid != old.euid or not old.in_group(new.egid):
        new.cap_ambient = 0                  # file caps or setid cancel ambient
    root = make_kid(old.user_ns, "uid_map", 0)
    permitted, effective = 0, False
    if not old.securebits & uapi.SECBIT_NOROOT and root is not None:
        if root in (new.euid, new.ruid):
            permitted = old.cap_bset | old.cap_inheritable
        effective = new.euid == root
    permitted |= new.cap_ambient
    new.cap_permitted = permitted
    new.cap_effective = permitted if effective else new.cap_ambient
    new.securebits &= ~uapi.SECBIT_KEEP_CAPS
    new.suid, new.sgid = new.euid, new.egid
    task.cred = new
    task.dumpable = new.ruid == new.euid and new.rgid == new.egid


def root_caps(bset: int) -> dict[str, int]:
    """The sets a root process has after an exec with bounding set *bset*
    (handle_privileged_root(): permitted and effective = bset), by /proc/<pid>/status's
    names; none inheritable or ambient."""
    return {"CapInh": 0, "CapPrm": bset, "CapEff": bset, "CapBnd": bset, "CapAmb": 0}


@functools.cache
def host_caps() -> dict[str, int]:
    """The capability sets a root shell of this machine has: its bounding set (CapBnd of
    /proc/self/status, which a root exec makes the permitted and effective sets, whoever
    runs mountsim), none inheritable or ambient. Model-only: the model simulates this
    machine, whose root may lack some capabilities (a container's CAP_SYS_RESOURCE, say);
    every one where the file cannot be read."""
    bnd = uapi.CAP_FULL_SET
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key == "CapBnd":
                    bnd = int(value, 16) & uapi.CAP_FULL_SET
    except (OSError, ValueError):
        pass
    return root_caps(bnd)


def host_cred(ns: UserNamespace, caps: dict[str, int] | None = None) -> Cred:
    """The first task's credentials: root, with *caps* (a trace's `# start-caps:`, the
    others full or empty as for root) or this machine's capability sets."""
    c = host_caps() if caps is None else {**root_caps(uapi.CAP_FULL_SET), **caps}
    return Cred(ns, cap_inheritable=c["CapInh"], cap_permitted=c["CapPrm"],
                cap_effective=c["CapEff"], cap_bset=c["CapBnd"], cap_ambient=c["CapAmb"])


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


def _kids(ns: UserNamespace, which: str, ids: tuple[int, ...], keep: bool = True) -> list[int]:
    """make_kuid()/make_kgid() of each id, -1 kept (with *keep*: the set*id calls that take
    -1 as "unchanged"; setuid() and setgid() do not). Errors: EINVAL for an unmapped one."""
    ids = tuple(-1 if x & 0xFFFFFFFF == 0xFFFFFFFF else x & 0xFFFFFFFF for x in ids)
    out = [(-1 if keep else None) if x == -1 else make_kid(ns, which, x) for x in ids]
    if None in out:
        raise KernelError(errno.EINVAL, f"id not mapped in the caller's user namespace ({which})",
                          where="make_kuid" if which == "uid_map" else "make_kgid")
    return out  # type: ignore[return-value]


class _IdKind(NamedTuple):
    """What the uid and gid twins of kernel/sys.c differ in: the map their ids go
    through, the three fields, the capability that waives the rules."""
    which: str
    fields: tuple[str, str, str]
    cap: int
    name: str                            # "uid" or "gid": __sys_setres{name}() & co


_UIDS = _IdKind("uid_map", ("ruid", "euid", "suid"), uapi.CAP_SETUID, "uid")
_GIDS = _IdKind("gid_map", ("rgid", "egid", "sgid"), uapi.CAP_SETGID, "gid")


def setresuid(cred: Cred, r: int, e: int, s: int) -> None:
    """__sys_setresuid() + cap_task_fix_setuid(). -1 keeps an id; ids are the caller's
    namespace's, stored as kernel ids. Errors: EINVAL for an id the caller's user namespace
    does not map; EPERM when a caller without CAP_SETUID asks for an id that is none of
    its three."""
    _setres(cred, _UIDS, (r, e, s))


def setresgid(cred: Cred, r: int, e: int, s: int) -> None:
    """__sys_setresgid(): setresuid()'s rules with CAP_SETGID; no capability changes."""
    _setres(cred, _GIDS, (r, e, s))


def setreuid(cred: Cred, r: int, e: int) -> None:
    """__sys_setreuid(): the real uid may become the real or effective one, the effective
    any of the three, without CAP_SETUID; the saved uid follows the new effective one when
    the real uid is set or the effective changes away from the real. Errors: EINVAL, EPERM."""
    _setre(cred, _UIDS, r, e)


def setregid(cred: Cred, r: int, e: int) -> None:
    """__sys_setregid(): setreuid()'s rules for gids, with CAP_SETGID."""
    _setre(cred, _GIDS, r, e)


def setuid(cred: Cred, uid: int) -> None:
    """__sys_setuid(): with CAP_SETUID all three uids, else the effective one to the real
    or saved uid. -1 is no uid here. Errors: EINVAL, EPERM."""
    _set1(cred, _UIDS, uid)


def setgid(cred: Cred, gid: int) -> None:
    """__sys_setgid(): setuid()'s rules for gids, with CAP_SETGID."""
    _set1(cred, _GIDS, gid)


def _ids(cred: Cred, kind: _IdKind) -> tuple[int, int, int]:
    return tuple(getattr(cred, f) for f in kind.fields)  # type: ignore[return-value]


def _refuse(kind: _IdKind, call: str) -> KernelError:
    cap = "CAP_SETUID" if kind is _UIDS else "CAP_SETGID"
    return KernelError(errno.EPERM, f"a new id needs {cap}", where=f"__sys_{call}{kind.name}")


def _setres(cred: Cred, kind: _IdKind, ids: tuple[int, int, int]) -> None:
    kids = _kids(cred.user_ns, kind.which, ids)
    old = _ids(cred, kind)
    if not cred.has(kind.cap) and any(x not in old for x in kids if x != -1):
        raise _refuse(kind, "setres")
    _commit_ids(cred, kind, tuple(o if x == -1 else x for o, x in zip(old, kids)))


def _setre(cred: Cred, kind: _IdKind, r: int, e: int) -> None:
    r, e = _kids(cred.user_ns, kind.which, (r, e))
    real, eff, saved = _ids(cred, kind)
    if not cred.has(kind.cap) and ((r != -1 and r not in (real, eff)) or
                                   (e != -1 and e not in (real, eff, saved))):
        raise _refuse(kind, "setre")
    new_e = eff if e == -1 else e
    new_s = new_e if r != -1 or (e != -1 and e != real) else saved
    _commit_ids(cred, kind, (real if r == -1 else r, new_e, new_s))


def _set1(cred: Cred, kind: _IdKind, nid: int) -> None:
    (k,) = _kids(cred.user_ns, kind.which, (nid,), keep=False)
    real, eff, saved = _ids(cred, kind)
    if cred.has(kind.cap):
        _commit_ids(cred, kind, (k, k, k))
    elif k in (real, saved):
        _commit_ids(cred, kind, (real, k, saved))
    else:
        raise _refuse(kind, "set")


def _commit_ids(cred: Cred, kind: _IdKind, new: tuple[int, int, int]) -> None:
    """Set the three ids; for uids, cap_task_fix_setuid() -> cap_emulate_setxuid():
    leaving root (of the caller's namespace) in all three drops the permitted and
    effective sets unless SECBIT_KEEP_CAPS, and the ambient set always; the effective set
    follows the euid. SECBIT_NO_SETUID_FIXUP turns this off."""
    old_ids = _ids(cred, kind)
    for f, v in zip(kind.fields, new):
        setattr(cred, f, v)
    if kind is not _UIDS or cred.securebits & uapi.SECBIT_NO_SETUID_FIXUP:
        return
    root = make_kid(cred.user_ns, "uid_map", 0)
    if root in old_ids and root not in new:
        if not cred.securebits & uapi.SECBIT_KEEP_CAPS:
            cred.cap_permitted = cred.cap_effective = 0
        cred.cap_ambient = 0
    if old_ids[1] == root and new[1] != root:
        cred.cap_effective = 0
    elif old_ids[1] != root and new[1] == root:
        cred.cap_effective = cred.cap_permitted


def setgroups(cred: Cred, size: int, gids: list[int]) -> None:
    """SYSCALL setgroups(): EPERM without CAP_SETGID or while the namespace may not set
    groups (may_setgroups(): setgroups "deny", or no gid_map yet), then EINVAL past
    NGROUPS_MAX or for an unmapped gid."""
    ns = cred.user_ns
    if not cred.has(uapi.CAP_SETGID) or not userns_may_setgroups(ns):
        raise KernelError(errno.EPERM, "setgroups needs CAP_SETGID and a namespace that allows it",
                          where="may_setgroups")
    if not 0 <= size <= uapi.NGROUPS_MAX:      # (unsigned)gidsetsize > NGROUPS_MAX
        raise KernelError(errno.EINVAL, "more than NGROUPS_MAX groups", where="setgroups")
    kids = _kids(ns, "gid_map", tuple(gids[:size]), keep=False)   # gid -1 is no group: EINVAL
    cred.groups = frozenset(kids)


def userns_may_setgroups(ns: UserNamespace) -> bool:
    """userns_may_setgroups(): the gid_map is written and setgroups was not denied."""
    return ns.parent is None or (bool(ns.gid_map) and ns.setgroups_allowed)


def capset(cred: Cred, effective: int, permitted: int, inheritable: int) -> None:
    """cap_capset(): no inheritable bit outside pI | pP (unless CAP_SETPCAP) nor outside
    pI | bset, permitted only shrinks, effective within the new permitted. Errors: EPERM."""
    if not cred.has(uapi.CAP_SETPCAP) and inheritable & ~(cred.cap_inheritable | cred.cap_permitted):
        raise KernelError(errno.EPERM, "new inheritable bits need CAP_SETPCAP", where="cap_capset")
    if inheritable & ~(cred.cap_inheritable | cred.cap_bset):
        raise KernelError(errno.EPERM, "inheritable bits outside the bounding set", where="cap_capset")
    if permitted & ~cred.cap_permitted:
        raise KernelError(errno.EPERM, "the permitted set may only shrink", where="cap_capset")
    if effective & ~permitted:
        raise KernelError(errno.EPERM, "effective bits outside the permitted set", where="cap_capset")
    cred.cap_effective, cred.cap_permitted, cred.cap_inheritable = effective, permitted, inheritable
    cred.cap_ambient &= permitted & inheritable


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
        if which == "gid_map" and not ns.setgroups_allowed and kid == opener.egid:
            return True
    cap = uapi.CAP_SETUID if which == "uid_map" else uapi.CAP_SETGID
    return ns_capable(writer, ns.parent, cap) and ns_capable(opener, ns.parent, cap)


def _verify_root_map(ns: UserNamespace, extents: list[Extent], opener: Cred) -> bool:
    """Mapping the parent's uid 0 needs CAP_SETFCAP: had by the creator when the namespace
    writes its own map, else by the opener over the parent. Mirrors verify_root_map()."""
    if not any(lower == 0 for _, lower, _ in extents):
        return True
    if opener.user_ns is ns:
        return ns.parent_could_setfcap
    return ns_capable(opener, ns.parent, uapi.CAP_SETFCAP)


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
