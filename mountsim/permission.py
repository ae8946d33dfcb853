"""DAC checks on directories: who may create and remove entries. Mirrors fs/namei.c
generic_permission()/inode_permission(), check_sticky(), and kernel/capability.c
capable_wrt_inode_uidgid().

Only what the mount model's calls reach: search permission on each directory of a path
and on the targets of chdir/fchdir/chroot (namei.may_lookup(); a directory every class may
search is passed without a call, the hot path of every lookup), write+search permission
on a directory for mkdir/rmdir/O_CREAT, read/write permission on opens, the sticky-bit rule
for rmdir, and who owns a new inode (inode_init_owner()). The owner's bits apply to the
fsuid, the group's to a member of the inode's group (fsgid or a supplementary group), the
others' to everyone else. Capabilities override only where the inode's ids are mapped in
the caller's user namespace (its uid_map and gid_map, user_namespace.py). On filesystems whose contents are unknown
(opaque), a guessed inode's permission is what the recorded result says.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .errors import KernelError
from .fs import D_GID_SHIFT, D_GUESSED, D_MODE_SHIFT, D_UID_SHIFT, S_IFDIR, recorded
from .uapi import CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID
from .user_namespace import ids_mapped

if TYPE_CHECKING:
    from .fs import Dentry
    from .user_namespace import Cred

MAY_EXEC, MAY_WRITE, MAY_READ = 1, 2, 4
S_ISVTX, S_ISGID, S_ISUID, S_IXGRP, S_IXUGO = 0o1000, 0o2000, 0o4000, 0o010, 0o111
_UID_MASK = (1 << 32) - 1


def capable_wrt_inode_uidgid(cred: Cred, inode: Dentry, cap: int) -> bool:
    """*cap* in the caller's namespace, over an inode whose uid and gid it maps
    (privileged_wrt_inode_uidgid())."""
    return cred.has(cap) and ids_mapped(cred.user_ns, inode.uid, inode.gid)


def generic_permission(cred: Cred, inode: Dentry, mask: int) -> bool:
    """generic_permission(): acl_permission_check() by the owner's, group's or others'
    bits, then CAP_DAC_READ_SEARCH and CAP_DAC_OVERRIDE as the kernel grants them.

    An inode of unknown owner and mode (a start table's filesystem, not made by the trace)
    is decided by the replayed call's recorded result: EACCES denies, anything else allows
    (fs.decide() does the same for names). Model-only.
    """
    bits = inode.bits                  # guessed, mode, uid (fs.Dentry), read once: a hot path
    if inode.sb.opaque and (bits & D_GUESSED or inode.is_root):
        rec, _ = recorded(inode.sb)
        return rec is None or rec.errno != "EACCES"
    if cred.euid == bits >> D_UID_SHIFT & _UID_MASK:
        shift = 6
    else:
        shift = 3 if cred.in_group(bits >> D_GID_SHIFT) else 0
    if mask & ~(bits >> D_MODE_SHIFT + shift) & 7 == 0:
        return True
    if inode.is_dir:                   # search and read: DAC_READ_SEARCH; anything: DAC_OVERRIDE
        return (not mask & MAY_WRITE and capable_wrt_inode_uidgid(cred, inode, CAP_DAC_READ_SEARCH)) \
            or capable_wrt_inode_uidgid(cred, inode, CAP_DAC_OVERRIDE)
    if mask == MAY_READ and capable_wrt_inode_uidgid(cred, inode, CAP_DAC_READ_SEARCH):
        return True
    # DAC_OVERRIDE executes only what someone may execute
    return (not mask & MAY_EXEC or bool(inode.mode & S_IXUGO)) and \
        capable_wrt_inode_uidgid(cred, inode, CAP_DAC_OVERRIDE)


def may_write_dir(cred: Cred, d: Dentry, where: str) -> None:
    """inode_permission(dir, MAY_WRITE | MAY_EXEC). Errors: EACCES."""
    if not generic_permission(cred, d, MAY_WRITE | MAY_EXEC):
        raise KernelError(errno.EACCES, "no write permission on the directory", where=where)


def check_sticky(cred: Cred, d: Dentry, victim: Dentry) -> bool:
    """In a sticky directory only the owner of the entry or of the directory (or CAP_FOWNER
    over the entry) may remove it. Mirrors check_sticky()/__check_sticky()."""
    if not d.mode & S_ISVTX or d.sb.opaque:
        return False
    if cred.euid in (victim.uid, d.uid):
        return False
    return not capable_wrt_inode_uidgid(cred, victim, CAP_FOWNER)


def inode_init_owner(cred: Cred, dir: Dentry, kind: str, mode: int) -> tuple[int, int, int]:
    """(uid, gid, mode) of a new inode in *dir*: inode_init_owner() (the fsuid; the fsgid,
    or the directory's group when it is set-group-id, whose subdirectories inherit the bit)
    after vfs_prepare_mode() -> mode_strip_sgid() (a group-executable set-group-id file in
    such a directory loses the bit unless its creator is in the group or has CAP_FSETID)."""
    if not dir.mode & S_ISGID:
        return cred.euid, cred.egid, mode
    gid = dir.gid
    if kind == S_IFDIR:
        mode |= S_ISGID
    elif mode & (S_ISGID | S_IXGRP) == S_ISGID | S_IXGRP and not cred.in_group(gid) and \
            not capable_wrt_inode_uidgid(cred, dir, CAP_FSETID):
        mode &= ~S_ISGID
    return cred.euid, gid, mode
