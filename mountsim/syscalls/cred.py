"""The credential syscalls: set*id, setgroups, capset and prctl's credential options.

Mirrors kernel/sys.c:__sys_setresuid() and its twins (kernel/sys.c:__sys_setreuid(),
kernel/sys.c:__sys_setuid(), kernel/sys.c:__sys_setresgid(), kernel/sys.c:__sys_setregid(),
kernel/sys.c:__sys_setgid()), kernel/sys.c:prctl(), kernel/groups.c:may_setgroups() and
kernel/groups.c:setgroups(), kernel/capability.c:capset() with
kernel/capability.c:cap_validate_magic(), and security/commoncap.c:cap_capset(),
security/commoncap.c:cap_task_prctl(), security/commoncap.c:cap_prctl_drop(); the rules
themselves live with `Cred` in user_namespace.py. Each call
works on a copy and commits it (commit_creds()), as the kernel's prepare_creds() does, so a
refused call changes nothing.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any, Callable

import attrs

from .. import uapi
from ..errors import KernelError
from ..task import pid_nr_ns
from ..user_namespace import (Cred, capset, exec_creds, from_kid, make_kid, setgid, setgroups,
                              setregid, setresgid, setresuid, setreuid, setuid)

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..task import Task

OVERFLOW_ID = 65534                         # /proc/sys/kernel/overflowuid, overflowgid


def commit_creds(task: Task, new: Cred) -> int:
    """commit_creds(): install *new*; a change of euid or egid, or permitted bits gained,
    makes the process non-dumpable (suid_dumpable is 0), which /proc/<pid>/ files show as
    root's ownership."""
    old = task.cred
    if (old.euid, old.egid) != (new.euid, new.egid) or (
            old.user_ns is new.user_ns and new.cap_permitted & ~old.cap_permitted):
        task.dumpable = False
    task.cred = new
    task.exec_cred = None                   # the exec's set-id bits can no longer be told
    return 0


def _change(task: Task, change: Callable[..., None], *args: Any) -> int:
    """prepare_creds(), *change* (which may refuse), commit_creds()."""
    new = task.cred.copy()
    change(new, *args)
    return commit_creds(task, new)


def _commit(task: Task, **fields: int) -> int:
    """commit_creds() of the task's credentials with *fields* changed."""
    return commit_creds(task, attrs.evolve(task.cred, **fields))


def _munged(task: Task, which: str, kid: int) -> int:
    """from_kuid_munged()/from_kgid_munged(): the id in the caller's namespace, or the
    overflow id 65534 where it has none."""
    nid = from_kid(task.cred.user_ns, which, kid)
    return OVERFLOW_ID if nid is None else nid


def sys_getuid(k: Kernel, task: Task) -> int:
    """getuid(2): the real uid."""
    return _munged(task, "uid_map", task.cred.ruid)


def sys_geteuid(k: Kernel, task: Task) -> int:
    """geteuid(2): the effective uid (which may show that the last exec was set-user-id)."""
    _setid_exec(k, task, "uid_map")
    return _munged(task, "uid_map", task.cred.euid)


def sys_getgid(k: Kernel, task: Task) -> int:
    """getgid(2): the real gid."""
    return _munged(task, "gid_map", task.cred.rgid)


def sys_getegid(k: Kernel, task: Task) -> int:
    """getegid(2): the effective gid (which may show that the last exec was set-group-id)."""
    _setid_exec(k, task, "gid_map")
    return _munged(task, "gid_map", task.cred.egid)


def _setid_exec(k: Kernel, task: Task, which: str) -> None:
    """Unknown contents decided by a recorded result: the file a process last executed
    was set-user-id (set-group-id) when, before any credential change since, a replayed
    geteuid() (getegid()) recorded an id other than the one the model gave: the file's
    owner (group). The exec's credentials are computed again with it (exec_creds()).
    Model-only: set-id bits of files of unknown contents are known only so."""
    rec = k.recorded
    if task.exec_cred is None or rec is None or rec.errno is not None or rec.ret < 0:
        return
    kid = make_kid(task.cred.user_ns, which, rec.ret)
    if kid is None or kid == (task.cred.euid if which == "uid_map" else task.cred.egid):
        return
    old, exe = task.exec_cred, task.cred
    exec_creds(task, old, euid=kid if which == "uid_map" else exe.euid,
               egid=kid if which == "gid_map" else exe.egid)


def sys_setuid(k: Kernel, task: Task, uid: int) -> int:
    """setuid(2). Errors: EINVAL (unmapped), EPERM."""
    return _change(task, setuid, uid)


def sys_setreuid(k: Kernel, task: Task, ruid: int, euid: int) -> int:
    """setreuid(2). Errors: EINVAL (unmapped), EPERM."""
    return _change(task, setreuid, ruid, euid)


def sys_setresuid(k: Kernel, task: Task, r: int, e: int, s: int) -> int:
    """setresuid(2). Errors: EINVAL (unmapped), EPERM."""
    return _change(task, setresuid, r, e, s)


def sys_setgid(k: Kernel, task: Task, gid: int) -> int:
    """setgid(2). Errors: EINVAL (unmapped), EPERM."""
    return _change(task, setgid, gid)


def sys_setregid(k: Kernel, task: Task, rgid: int, egid: int) -> int:
    """setregid(2). Errors: EINVAL (unmapped), EPERM."""
    return _change(task, setregid, rgid, egid)


def sys_setresgid(k: Kernel, task: Task, r: int, e: int, s: int) -> int:
    """setresgid(2). Errors: EINVAL (unmapped), EPERM."""
    return _change(task, setresgid, r, e, s)


def sys_setgroups(k: Kernel, task: Task, size: int, gids: list | None) -> int:
    """setgroups(2): *gids* as strace printed the list. Errors: EPERM, EINVAL."""
    return _change(task, setgroups, size, list(gids or []))


_CAP_VERSIONS = (uapi._LINUX_CAPABILITY_VERSION_1, uapi._LINUX_CAPABILITY_VERSION_2,
                 uapi._LINUX_CAPABILITY_VERSION_3)


def sys_capset(k: Kernel, task: Task, header: dict | None, data: dict | None) -> int:
    """capset(2) (kernel/capability.c): EINVAL for an unknown version (cap_validate_magic()),
    EPERM for another process's pid, then cap_capset()'s EPERMs. Version 1 sets the low
    32 capabilities only."""
    header = header or {}
    version = int(header.get("version") or 0)
    if version not in _CAP_VERSIONS:
        raise KernelError(errno.EINVAL, "unknown capability version", where="cap_validate_magic")
    pid = int(header.get("pid") or 0)
    if pid != 0 and pid != pid_nr_ns(task, task.pid_ns):
        raise KernelError(errno.EPERM, "capset of another process", where="capset")
    if data is None:
        raise KernelError(errno.EFAULT, "no data", where="capset")
    mask = 0xFFFFFFFF if version == uapi._LINUX_CAPABILITY_VERSION_1 else uapi.CAP_FULL_SET
    sets = [int(data.get(f) or 0) & mask for f in ("effective", "permitted", "inheritable")]
    return _change(task, capset, *sets)


def _cap_valid(cap: int) -> bool:
    return 0 <= cap <= uapi.CAP_LAST_CAP


def sys_prctl(k: Kernel, task: Task, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0,
              arg5: int = 0) -> int:
    """prctl(2)'s credential options: cap_task_prctl() (keepcaps, the bounding set, the
    ambient set, securebits), then prctl()'s own dumpability. The other options are not
    modelled (the trace parser skips them)."""
    cred = task.cred
    if option == uapi.PR_CAPBSET_READ:
        if not _cap_valid(arg2):
            raise KernelError(errno.EINVAL, "no such capability", where="cap_task_prctl")
        return cred.cap_bset >> arg2 & 1
    if option == uapi.PR_CAPBSET_DROP:
        if not cred.has(uapi.CAP_SETPCAP):
            raise KernelError(errno.EPERM, "dropping from the bounding set needs CAP_SETPCAP",
                              where="cap_prctl_drop")
        if not _cap_valid(arg2):
            raise KernelError(errno.EINVAL, "no such capability", where="cap_prctl_drop")
        return _commit(task, cap_bset=cred.cap_bset & ~(1 << arg2))
    if option == uapi.PR_GET_SECUREBITS:
        return cred.securebits
    if option == uapi.PR_SET_SECUREBITS:
        _check_securebits(cred, arg2)
        return _commit(task, securebits=arg2)
    if option == uapi.PR_GET_KEEPCAPS:
        return int(bool(cred.securebits & uapi.SECBIT_KEEP_CAPS))
    if option == uapi.PR_SET_KEEPCAPS:
        if arg2 > 1:
            raise KernelError(errno.EINVAL, "keepcaps is 0 or 1", where="cap_task_prctl")
        if cred.securebits & uapi.SECBIT_KEEP_CAPS_LOCKED:
            raise KernelError(errno.EPERM, "keepcaps is locked", where="cap_task_prctl")
        return _commit(task, securebits=cred.securebits & ~uapi.SECBIT_KEEP_CAPS | (
            uapi.SECBIT_KEEP_CAPS if arg2 else 0))
    if option == uapi.PR_CAP_AMBIENT:
        return _cap_ambient(task, arg2, arg3, arg4, arg5)
    if option == uapi.PR_GET_DUMPABLE:
        return int(task.dumpable)
    if option == uapi.PR_SET_DUMPABLE:
        if arg2 not in (0, 1):              # SUID_DUMP_DISABLE, SUID_DUMP_USER
            raise KernelError(errno.EINVAL, "dumpable is 0 or 1", where="prctl")
        task.dumpable = bool(arg2)
        return 0
    raise KernelError(errno.EINVAL, f"prctl option {option} is not modelled", where="prctl")


def _check_securebits(cred: Cred, bits: int) -> None:
    """cap_task_prctl(PR_SET_SECUREBITS): no locked bit changed, no lock released, no
    unknown bit; without CAP_SETPCAP only the unprivileged bits and their locks may
    change, and a call that changes nothing is refused. Errors: EPERM."""
    old = cred.securebits
    if ((old & uapi.SECURE_ALL_LOCKS) >> 1) & (old ^ bits) or old & uapi.SECURE_ALL_LOCKS & ~bits \
            or bits & ~(uapi.SECURE_ALL_LOCKS | uapi.SECURE_ALL_BITS):
        raise KernelError(errno.EPERM, "a locked or unknown securebit", where="cap_task_prctl")
    if not cred.has(uapi.CAP_SETPCAP):
        unpriv = uapi.SECURE_ALL_UNPRIVILEGED | uapi.SECURE_ALL_UNPRIVILEGED << 1
        changed = old ^ bits
        if not changed or changed & ~unpriv:
            raise KernelError(errno.EPERM, "securebits need CAP_SETPCAP", where="cap_task_prctl")


def _cap_ambient(task: Task, op: int, cap: int, arg4: int, arg5: int) -> int:
    """cap_task_prctl(PR_CAP_AMBIENT): CLEAR_ALL, IS_SET, RAISE (the capability must be
    permitted and inheritable, and SECBIT_NO_CAP_AMBIENT_RAISE off), LOWER.
    Errors: EINVAL, EPERM."""
    cred = task.cred
    if op == uapi.PR_CAP_AMBIENT_CLEAR_ALL:
        if cap | arg4 | arg5:
            raise KernelError(errno.EINVAL, "CLEAR_ALL takes no arguments", where="cap_task_prctl")
        return _commit(task, cap_ambient=0)
    if not _cap_valid(cap) or arg4 or arg5:
        raise KernelError(errno.EINVAL, "no such capability", where="cap_task_prctl")
    bit = 1 << cap
    if op == uapi.PR_CAP_AMBIENT_IS_SET:
        return int(bool(cred.cap_ambient & bit))
    if op not in (uapi.PR_CAP_AMBIENT_RAISE, uapi.PR_CAP_AMBIENT_LOWER):
        raise KernelError(errno.EINVAL, "unknown PR_CAP_AMBIENT operation", where="cap_task_prctl")
    if op == uapi.PR_CAP_AMBIENT_RAISE and (
            not cred.cap_permitted & bit or not cred.cap_inheritable & bit
            or cred.securebits & uapi.SECBIT_NO_CAP_AMBIENT_RAISE):
        raise KernelError(errno.EPERM, "an ambient capability must be permitted and inheritable",
                          where="cap_task_prctl")
    raise_it = op == uapi.PR_CAP_AMBIENT_RAISE
    return _commit(task, cap_ambient=cred.cap_ambient | bit if raise_it else cred.cap_ambient & ~bit)
