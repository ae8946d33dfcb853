"""DAC checks on directories: who may create and remove entries. Mirrors fs/namei.c
generic_permission()/inode_permission(), check_sticky(), and kernel/capability.c
capable_wrt_inode_uidgid().

Only what the mount model's calls reach: search permission on each directory of a path
and on the targets of chdir/fchdir/chroot (namei.may_lookup(); a directory every class may
search is passed without a call, the hot path of every lookup), write+search permission
on a directory for mkdir/rmdir/O_CREAT, and the sticky-bit rule for rmdir. Every task and
inode has gid 0 (no setgid calls are modelled), so a non-owner gets the group bits.
Capabilities override only where the inode's ids are mapped in the caller's user namespace
(its uid_map and gid_map, user_namespace.py). On filesystems whose contents are unknown
(opaque), a guessed inode's permission is what the recorded result says.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .errors import KernelError
from .fs import D_GUESSED, D_MODE_SHIFT, D_UID_SHIFT, recorded
from .user_namespace import ids_mapped

if TYPE_CHECKING:
    from .fs import Dentry
    from .user_namespace import Cred

MAY_EXEC, MAY_WRITE, MAY_READ = 1, 2, 4
S_ISVTX = 0o1000


def capable_wrt_inode_uidgid(cred: Cred, inode: Dentry) -> bool:
    """A capability in the caller's namespace, over an inode whose ids it maps."""
    return cred.caps and ids_mapped(cred.user_ns, inode.uid)


def generic_permission(cred: Cred, inode: Dentry, mask: int) -> bool:
    """acl_permission_check() by owner/group bits, then CAP_DAC_OVERRIDE (directories).

    An inode of unknown owner and mode (a start table's filesystem, not made by the trace)
    is decided by the replayed call's recorded result: EACCES denies, anything else allows
    (fs.decide() does the same for names). Model-only.
    """
    bits = inode.bits                  # guessed, mode, uid (fs.Dentry), read once: a hot path
    if inode.sb.opaque and (bits & D_GUESSED or inode.is_root):
        rec, _ = recorded(inode.sb)
        return rec is None or rec.errno != "EACCES"
    shift = 6 if cred.euid == bits >> D_UID_SHIFT else 3   # in_group_p(): everyone in gid 0
    if mask & ~(bits >> D_MODE_SHIFT + shift) & 7 == 0:
        return True
    return capable_wrt_inode_uidgid(cred, inode)


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
    return not capable_wrt_inode_uidgid(cred, victim)
