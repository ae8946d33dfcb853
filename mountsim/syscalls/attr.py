"""chmod and chown, all their spellings: an inode's mode, owner and group.

Mirrors fs/open.c:do_fchmodat(), fs/open.c:chmod_common(), fs/open.c:do_fchownat(),
fs/open.c:chown_common() and fs/open.c:vfs_fchown(); fs/attr.c:notify_change(),
fs/attr.c:setattr_prepare() with fs/attr.c:chown_ok() and fs/attr.c:chgrp_ok(),
fs/inode.c:inode_owner_or_capable(), fs/attr.c:setattr_should_drop_sgid(); proc's refusal
is fs/proc/base.c:proc_setattr(). The ids are the caller's
namespace's, stored as kernel ids. Inodes of proc, and guessed ones of filesystems whose
contents are unknown, answer what the replayed call recorded (their owners are not known).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .. import uapi
from ..errors import KernelError
from ..fs import S_IFDIR, S_IFLNK, recorded
from ..namei import at_lookup_flags, user_path_at
from ..permission import (INVALID_ID, S_ISGID, S_ISUID, S_IXGRP, capable_wrt_inode_uidgid, from_vfs,
                          through)
from ..user_namespace import from_kid, make_kid
from .file import mnt_want_write

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..mount import Path
    from ..task import Task
    from ..user_namespace import Cred

S_IALLUGO = 0o7777
_AT_FLAGS = uapi.AT_SYMLINK_NOFOLLOW | uapi.AT_EMPTY_PATH


def _at_path(k: Kernel, task: Task, dfd: int, name: str | None, flags: int) -> Path:
    """The preamble of do_fchmodat() and do_fchownat(). Errors: EINVAL, lookup errors."""
    if flags & ~_AT_FLAGS:
        raise KernelError(errno.EINVAL, "unknown AT_* flags", where="do_fchmodat")
    return user_path_at(k, task, dfd, name, at_lookup_flags(flags))


def _fd_path(task: Task, fd: int) -> Path:
    """fdget() of fchmod/fchown: an O_PATH file is no file here. Errors: EBADF."""
    f = task.files.get(fd)
    if f.path is None or f.flags & uapi.O_PATH:
        raise KernelError(errno.EBADF, "an O_PATH fd", where="fdget")
    return f.path


def _unknown_owner(k: Kernel, d) -> bool:
    """An inode whose owner the model does not know: proc's below its root (the root is
    the instance's own inode, changed as any other: simple_setattr()), or a guessed one
    (or the root) of a filesystem of unknown contents. The recorded result answers for it;
    with none, proc refuses (proc_setattr(), proc_sys_setattr(): EPERM) and others allow."""
    sb = d.sb
    if (sb.dynamic is None or d.is_root) and not (sb.opaque and (d.guessed or d.is_root)):
        return False
    rec, _ = recorded(sb)
    if rec is not None and rec.errno is not None and hasattr(errno, rec.errno):
        raise KernelError(getattr(errno, rec.errno), "the filesystem's own answer (recorded)",
                          where="notify_change")
    if sb.dynamic is not None and rec is None:
        raise KernelError(errno.EPERM, "proc entries keep their mode and owner", where="proc_setattr")
    return True


def _owner_or_capable(cred: Cred, d) -> bool:
    """inode_owner_or_capable(): the fsuid owns it, or CAP_FOWNER over a mapped owner."""
    return cred.euid == d.uid or (
        d.uid != INVALID_ID and from_kid(cred.user_ns, "uid_map", d.uid) is not None
        and cred.has(uapi.CAP_FOWNER))


def _in_group_or_capable(cred: Cred, d, gid: int) -> bool:
    """in_group_or_capable(): a member of *gid*, or CAP_FSETID over the inode."""
    return cred.in_group(gid) or capable_wrt_inode_uidgid(cred, d, uapi.CAP_FSETID)


def chmod_common(k: Kernel, task: Task, p: Path, mode: int) -> int:
    """chmod_common() -> notify_change(ATTR_MODE) -> setattr_prepare(). Errors: EROFS,
    EOPNOTSUPP (a symlink), EPERM (neither owner nor CAP_FOWNER). A set-group-id bit is
    dropped for a caller outside the inode's group without CAP_FSETID."""
    mnt_want_write(p)
    d = p.dentry
    if d.kind == S_IFLNK:
        raise KernelError(errno.EOPNOTSUPP, "a symlink's mode cannot change", where="notify_change")
    if _unknown_owner(k, d):
        return 0
    cred, seen = task.cred, through(p.mnt, d)          # ids as the mount shows them
    if not _owner_or_capable(cred, seen):
        raise KernelError(errno.EPERM, "only the owner (or CAP_FOWNER) may chmod", where="setattr_prepare")
    mode &= S_IALLUGO
    if mode & S_ISGID and not _in_group_or_capable(cred, seen, seen.gid):
        mode &= ~S_ISGID
    d.mode = mode
    return 0


def chown_common(k: Kernel, task: Task, p: Path, user: int, group: int) -> int:
    """mnt_want_write() then chown_common() -> notify_change(ATTR_UID|ATTR_GID).
    Errors: EROFS, EINVAL (an id the caller's namespace does not map), EPERM (chown_ok(),
    chgrp_ok(), or the owner check of the mode change that clearing set-id bits makes)."""
    mnt_want_write(p)
    cred = task.cred
    user &= 0xFFFFFFFF
    group &= 0xFFFFFFFF
    uid = None if user == 0xFFFFFFFF else make_kid(cred.user_ns, "uid_map", user)
    gid = None if group == 0xFFFFFFFF else make_kid(cred.user_ns, "gid_map", group)
    if (user != 0xFFFFFFFF and uid is None) or (group != 0xFFFFFFFF and gid is None):
        raise KernelError(errno.EINVAL, "id not mapped in the caller's user namespace",
                          where="chown_common")
    d = p.dentry
    if _unknown_owner(k, d):
        return 0
    fs_ns = d.sb.user_ns                    # notify_change(): the new ids must exist on disk
    disk_uid = from_vfs(p.mnt, fs_ns, "uid_map", uid) if uid is not None else None
    disk_gid = from_vfs(p.mnt, fs_ns, "gid_map", gid) if gid is not None else None
    if (uid is not None and disk_uid is None) or (gid is not None and disk_gid is None):
        raise KernelError(errno.EOVERFLOW, "the id has no mapping through the mount's idmapping",
                          where="notify_change")
    seen = through(p.mnt, d)                # chown_ok()/chgrp_ok() compare the ids it shows
    if uid is not None and not (cred.euid == seen.uid == uid or
                                capable_wrt_inode_uidgid(cred, seen, uapi.CAP_CHOWN)):
        raise KernelError(errno.EPERM, "changing the owner needs CAP_CHOWN", where="chown_ok")
    if gid is not None and not ((cred.euid == seen.uid and (gid == seen.gid or cred.in_group(gid)))
                                or capable_wrt_inode_uidgid(cred, seen, uapi.CAP_CHOWN)):
        raise KernelError(errno.EPERM, "changing the group needs membership or CAP_CHOWN",
                          where="chgrp_ok")
    mode = d.mode
    if d.kind != S_IFDIR:                   # ATTR_KILL_SUID, setattr_should_drop_sgid()
        kill = mode & S_ISUID
        if mode & S_ISGID and (mode & S_IXGRP or not _in_group_or_capable(cred, seen, seen.gid)):
            kill |= S_ISGID
        if kill:
            if not _owner_or_capable(cred, seen):
                raise KernelError(errno.EPERM, "clearing set-id bits is a chmod",
                                  where="setattr_prepare")
            mode &= ~kill
    if disk_uid is not None:
        d.uid = disk_uid
    if disk_gid is not None:
        d.gid = disk_gid
    d.mode = mode
    return 0


def sys_chmod(k: Kernel, task: Task, path: str | None, mode: int) -> int:
    """chmod(2): follows symlinks."""
    return chmod_common(k, task, _at_path(k, task, uapi.AT_FDCWD, path, 0), mode)


def sys_fchmodat(k: Kernel, task: Task, dfd: int, path: str | None, mode: int) -> int:
    """fchmodat(2): the syscall has no flags (glibc's AT_SYMLINK_NOFOLLOW is its own)."""
    return chmod_common(k, task, _at_path(k, task, dfd, path, 0), mode)


def sys_fchmodat2(k: Kernel, task: Task, dfd: int, path: str | None, mode: int, flags: int) -> int:
    """fchmodat2(2) (6.6): AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH. Errors: EINVAL."""
    return chmod_common(k, task, _at_path(k, task, dfd, path, flags), mode)


def sys_fchmod(k: Kernel, task: Task, fd: int, mode: int) -> int:
    """fchmod(2). Errors: EBADF (also for an O_PATH fd)."""
    return chmod_common(k, task, _fd_path(task, fd), mode)


def sys_chown(k: Kernel, task: Task, path: str | None, user: int, group: int) -> int:
    """chown(2): follows symlinks."""
    return chown_common(k, task, _at_path(k, task, uapi.AT_FDCWD, path, 0), user, group)


def sys_lchown(k: Kernel, task: Task, path: str | None, user: int, group: int) -> int:
    """lchown(2): the link itself."""
    return chown_common(k, task, _at_path(k, task, uapi.AT_FDCWD, path, uapi.AT_SYMLINK_NOFOLLOW),
                        user, group)


def sys_fchownat(k: Kernel, task: Task, dfd: int, path: str | None, user: int, group: int,
                 flags: int) -> int:
    """fchownat(2). Errors: EINVAL (flags), lookup errors, chown_common()'s."""
    return chown_common(k, task, _at_path(k, task, dfd, path, flags), user, group)


def sys_fchown(k: Kernel, task: Task, fd: int, user: int, group: int) -> int:
    """fchown(2). Errors: EBADF (also for an O_PATH fd)."""
    return chown_common(k, task, _fd_path(task, fd), user, group)
