"""User namespaces and credentials: who may do what (kernel/user_namespace.c, cred.c).

Mirrors security/commoncap.c:cap_capable() for the question the mount code asks,
`ns_capable(ns, CAP_SYS_ADMIN)`, and cap_emulate_setxuid() for how setresuid() drops
capabilities. Capabilities are modelled as one bit: a task has all of them in its own user
namespace or none (`Cred.caps`); that is enough for mount semantics.

Limitations: no uid/gid maps are ever written, so inside a child user namespace every id
is unmapped (setresuid there fails with EINVAL, as on a kernel before uid_map is written).
"""

from __future__ import annotations

import errno
import itertools

import attrs

from .errors import KernelError

_ns_inum = itertools.count(0xF0000000)


@attrs.define(slots=True, eq=False, repr=False)
class UserNamespace:
    """struct user_namespace: a parent, a level, and the euid of its creator (owner)."""

    parent: UserNamespace | None
    owner: int
    level: int = 0
    inum: int = attrs.field(factory=lambda: next(_ns_inum))

    def __repr__(self) -> str:
        return f"<userns level={self.level} owner={self.owner}>"


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

    Errors, in the kernel's order: EUSERS past 32 levels; EPERM when the caller is chrooted
    (*chrooted*: current_chrooted(), which the caller computes from its fs_struct); EPERM
    when the caller's euid has no mapping in its own user namespace (no uid_map is ever
    written in the model, so in any child namespace; observed on Linux 6.18: a second
    unshare(CLONE_NEWUSER) fails with EPERM).
    """
    parent = cred.user_ns
    if parent.level >= 32:
        raise KernelError(errno.EUSERS, "user namespaces nest 32 deep at most", where="create_user_ns")
    if chrooted:
        raise KernelError(errno.EPERM, "a chrooted process may not create a user namespace",
                          where="create_user_ns")
    if parent.level > 0:
        raise KernelError(errno.EPERM, "creator's uid is not mapped in its user namespace",
                          where="create_user_ns")
    ns = UserNamespace(parent, cred.euid, parent.level + 1)
    new = cred.copy()
    new.user_ns = ns
    new.caps = new.permitted = True      # set_cred_user_ns(): CAP_FULL_SET in the new ns
    return new


def setresuid(cred: Cred, r: int, e: int, s: int) -> None:
    """__sys_setresuid() + cap_emulate_setxuid(). -1 keeps an id.

    Errors: EINVAL for an id the caller's user namespace does not map; EPERM when an
    unprivileged caller asks for an id it does not already have.
    """
    if cred.user_ns.level > 0 and any(x != -1 for x in (r, e, s)):
        raise KernelError(errno.EINVAL, "uid not mapped in the caller's user namespace",
                          where="make_kuid")
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
