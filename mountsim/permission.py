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
from .mount import mnt_idmap
from .user_namespace import from_kid, ids_mapped, make_kid

if TYPE_CHECKING:
    from .fs import Dentry
    from .user_namespace import Cred

MAY_EXEC, MAY_WRITE, MAY_READ = 1, 2, 4
S_ISVTX, S_ISGID, S_ISUID, S_IXGRP, S_IXUGO = 0o1000, 0o2000, 0o4000, 0o010, 0o111
_UID_MASK = (1 << 32) - 1
INVALID_ID = 0xFFFFFFFF           # INVALID_UID, INVALID_VFSUID: no caller has it, no map holds it


def capable_wrt_inode_uidgid(cred: Cred, inode: Dentry, cap: int) -> bool:
    """*cap* in the caller's namespace, over an inode whose uid and gid it maps
    (privileged_wrt_inode_uidgid(); through an idmapped mount, the ids it shows)."""
    uid, gid = inode.uid, inode.gid
    return (cred.has(cap) and INVALID_ID not in (uid, gid)
            and ids_mapped(cred.user_ns, uid, gid))


class VfsInode:
    """An inode as an idmapped mount shows it: its owner and group mapped through the
    mount's idmapping (i_uid_into_vfsuid(), i_gid_into_vfsgid()), INVALID_ID where the
    idmapping has no id for them; everything else is the inode's."""

    __slots__ = ("d", "bits")

    def __init__(self, d: Dentry, bits: int) -> None:
        self.d, self.bits = d, bits

    @property
    def uid(self) -> int:
        return self.bits >> D_UID_SHIFT & _UID_MASK

    @property
    def gid(self) -> int:
        return self.bits >> D_GID_SHIFT

    def __getattr__(self, name: str):
        return getattr(self.d, name)


def through(mnt, d):
    """*d* as the mount *mnt* shows it: *d* itself unless *mnt* is idmapped (the hot
    path: one flag test)."""
    idmap = mnt_idmap(mnt)
    if idmap is None:
        return d
    fs_ns = d.sb.user_ns
    uid, gid = (_to_vfs(idmap, fs_ns, "uid_map", d.uid), _to_vfs(idmap, fs_ns, "gid_map", d.gid))
    bits = d.bits & ((1 << D_UID_SHIFT) - 1) | uid << D_UID_SHIFT | gid << D_GID_SHIFT
    return VfsInode(d, bits)


def _to_vfs(idmap, fs_ns, which: str, kid: int) -> int:
    """make_vfsuid(): an inode's id (a kernel id) as the idmapped mount shows it: its
    number in the filesystem's namespace, then mapped down through the idmapping."""
    nid = kid if fs_ns.parent is None else from_kid(fs_ns, which, kid)
    v = make_kid(idmap, which, nid) if nid is not None else None
    return INVALID_ID if v is None else v


def from_vfs(mnt, fs_ns, which: str, vid: int) -> int | None:
    """from_vfsuid(): the id an inode gets on disk for *vid* (a caller's fsuid, a chown's
    uid) written through *mnt*: unchanged without an idmapping, else mapped up through it
    and made a kernel id in the filesystem's namespace; None where either has no mapping
    (EOVERFLOW)."""
    idmap = mnt_idmap(mnt)
    if idmap is None:
        return vid                      # nop_mnt_idmap: the kernel id itself
    nid = from_kid(idmap, which, vid)
    if nid is None:
        return None
    return nid if fs_ns.parent is None else make_kid(fs_ns, which, nid)


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


def inode_init_owner(cred: Cred, dir: Dentry, kind: str, mode: int,
                     mnt=None) -> tuple[int, int, int]:
    """(uid, gid, mode) of a new inode in *dir* created through *mnt*: inode_init_owner()
    (the fsuid; the fsgid, or the directory's group when it is set-group-id, whose
    subdirectories inherit the bit; through an idmapped mount the caller's ids mapped
    back, mapped_fsuid(): may_create() made sure they map) after vfs_prepare_mode() ->
    mode_strip_sgid() (a group-executable set-group-id file in such a directory loses the
    bit unless its creator is in the group, as the mount shows it, or has CAP_FSETID)."""
    fs_ns = dir.sb.user_ns
    uid = from_vfs(mnt, fs_ns, "uid_map", cred.euid)
    if not dir.mode & S_ISGID:
        gid = from_vfs(mnt, fs_ns, "gid_map", cred.egid)
        return (INVALID_ID if uid is None else uid), (INVALID_ID if gid is None else gid), mode
    seen = through(mnt, dir)
    if kind == S_IFDIR:
        mode |= S_ISGID
    elif mode & (S_ISGID | S_IXGRP) == S_ISGID | S_IXGRP and not cred.in_group(seen.gid) and \
            not capable_wrt_inode_uidgid(cred, seen, CAP_FSETID):
        mode &= ~S_ISGID
    return (INVALID_ID if uid is None else uid), dir.gid, mode
