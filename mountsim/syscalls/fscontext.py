"""Filesystem contexts: fsopen(2), fspick(2), fsconfig(2) and fsmount(2).

Mirrors fs/fsopen.c (SYSCALL fsopen, fspick, fsconfig; vfs_fsconfig_locked(),
vfs_cmd_create(), vfs_cmd_reconfigure()), the parts of fs/fs_context.c they reach
(vfs_parse_fs_param(), vfs_parse_sb_flag(), vfs_parse_fs_param_source(),
finish_clean_context(), vfs_clean_context()) and fs/namespace.c SYSCALL fsmount.

An fs_context is a `FsContext` carried by a File of kind "fscontext" (`File.fc`). Its
`phase` walks the kernel's enum fs_context_phase:

    fsopen:  CREATE_PARAMS --CMD_CREATE--> AWAITING_MOUNT --fsmount--> AWAITING_RECONF
    fspick:  AWAITING_RECONF --any fsconfig--> RECONF_PARAMS --CMD_RECONFIGURE--> AWAITING_RECONF
    a failed create or reconfigure leaves FAILED: every later command is EBUSY.

Limitations: only the filesystem types of fs.FS_TYPES (nsfs and rootfs are ENODEV, as
observed on Linux 6.18); no legacy (mount-data) contexts; SET_BINARY/SET_PATH/SET_FD
values are never accepted by these types (EINVAL; ramfs ignores them); tmpfs's refusals
on reconfigure (noswap, quota) are not modelled; the fc log (read(2)) is not modelled.
"""

from __future__ import annotations

import enum
import errno
from typing import TYPE_CHECKING

import attrs

from .. import uapi
from ..errors import KernelError
from ..fs import FS_TYPES, SuperBlock, merge_options, parse_options, reconfigure_options
from ..mount import MNT
from ..namei import at_lookup_flags, user_path_at
from ..newns import open_new_namespace
from ..nullfs import fs_context_for_reconfigure
from ..proc import ProcLookup, proc_parse_pidns_param
from ..task import File, Path, PidNamespace
from ..user_namespace import ns_capable
from . import register
from .mount import (fs_context_sb, fs_context_user_ns, mount_too_revealing, require_may_mount,
                    sb_prepare_remount_readonly)
from .newapi import new_anon_ns

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..task import Task
    from ..user_namespace import UserNamespace
    from ..versions import Profile


class Phase(enum.Enum):
    """enum fs_context_phase (include/linux/fs_context.h)."""

    CREATE_PARAMS = "FS_CONTEXT_CREATE_PARAMS"
    CREATING = "FS_CONTEXT_CREATING"
    AWAITING_MOUNT = "FS_CONTEXT_AWAITING_MOUNT"
    AWAITING_RECONF = "FS_CONTEXT_AWAITING_RECONF"
    RECONF_PARAMS = "FS_CONTEXT_RECONF_PARAMS"
    RECONFIGURING = "FS_CONTEXT_RECONFIGURING"
    FAILED = "FS_CONTEXT_FAILED"


@attrs.define(slots=True, eq=False)
class FsContext:
    """struct fs_context, reduced to what the mount model reads."""

    fs_type: str                               # kernel: fs_type->name
    user_ns: UserNamespace                     # kernel: user_ns
    phase: Phase                               # kernel: phase
    source: str | None = None                  # kernel: source
    options: list[str] = attrs.Factory(list)   # parsed fs options, as show_options prints them
    rdonly: bool | None = None                 # SB_RDONLY in sb_flags (None: not in sb_flags_mask)
    root: SuperBlock | None = None             # kernel: root (its d_sb)
    exclusive: bool = False                    # kernel: exclusive
    profile: Profile | None = None             # Model-only: the build (which options exist)
    pid_ns: PidNamespace | None = None         # proc's pidns= (proc_fs_context's pid_ns)


# fs/fs_context.c: keys vfs_parse_sb_flag() consumes before the filesystem sees them.
COMMON_SET_SB_FLAG = {"dirsync", "lazytime", "mand", "ro", "sync"}
COMMON_CLEAR_SB_FLAG = {"async", "nolazytime", "nomand", "rw"}
# fsparam_flag() parameters (no value); every other known parameter takes a string.
FLAG_PARAMS = {"tmpfs": {"inode32", "inode64", "noswap", "quota", "usrquota", "grpquota"}}
FSMOUNT_VALID_FLAGS = (uapi.MOUNT_ATTR_RDONLY | uapi.MOUNT_ATTR_NOSUID | uapi.MOUNT_ATTR_NODEV
                       | uapi.MOUNT_ATTR_NOEXEC | uapi.MOUNT_ATTR__ATIME
                       | uapi.MOUNT_ATTR_NODIRATIME | uapi.MOUNT_ATTR_NOSYMFOLLOW)
FSPICK_FLAGS = (uapi.FSPICK_CLOEXEC | uapi.FSPICK_SYMLINK_NOFOLLOW | uapi.FSPICK_NO_AUTOMOUNT
                | uapi.FSPICK_EMPTY_PATH)

_VALUE_TYPE = {uapi.FSCONFIG_SET_FLAG: "flag", uapi.FSCONFIG_SET_STRING: "string",
               uapi.FSCONFIG_SET_BINARY: "blob", uapi.FSCONFIG_SET_PATH: "filename",
               uapi.FSCONFIG_SET_PATH_EMPTY: "filename", uapi.FSCONFIG_SET_FD: "file"}


def _einval(why: str, where: str) -> KernelError:
    return KernelError(errno.EINVAL, why, where=where)


# -- fsopen / fspick -------------------------------------------------------------

def sys_fsopen(k: Kernel, task: Task, fs_name: str | None, flags: int) -> File:
    """fsopen(2). Mirrors fs/fsopen.c:SYSCALL_DEFINE2(fsopen).

    Errors: EPERM (may_mount), EINVAL (flags), EFAULT (NULL name), ENODEV (get_fs_type).
    """
    require_may_mount(task, "fsopen")
    if flags & ~uapi.FSOPEN_CLOEXEC:
        raise _einval("unknown fsopen flags", "fsopen")
    if fs_name is None:
        raise KernelError(errno.EFAULT, "NULL fs name", where="strndup_user")
    if fs_name not in FS_TYPES or fs_name in ("rootfs", "nsfs"):
        # Observed on Linux 6.18: fsopen("rootfs") and fsopen("nsfs") are ENODEV.
        raise KernelError(errno.ENODEV, f"unknown filesystem type {fs_name!r}", where="get_fs_type")
    fc = FsContext(fs_name, fs_context_user_ns(task, fs_name), Phase.CREATE_PARAMS, profile=k.profile)
    return File("fscontext", None, uapi.O_RDWR, fc=fc)


def sys_fspick(k: Kernel, task: Task, dfd: int, path: str | None, flags: int) -> File:
    """fspick(2). Mirrors fs/fsopen.c:SYSCALL_DEFINE3(fspick).

    Errors: EPERM (may_mount), EINVAL (flags), lookup errors, EINVAL (not a mount root;
    7.2: a kernel-internal superblock, fs_context_for_reconfigure()).
    """
    require_may_mount(task, "fspick")
    if flags & ~FSPICK_FLAGS:
        raise _einval("unknown fspick flags", "fspick")
    lookup = at_lookup_flags(flags, uapi.FSPICK_SYMLINK_NOFOLLOW, uapi.FSPICK_NO_AUTOMOUNT,
                             uapi.FSPICK_EMPTY_PATH)
    target = user_path_at(k, task, dfd, path, lookup)
    if not target.mounted:
        raise _einval("not the root of a mount", "fspick")
    sb = target.mnt.sb
    fs_context_for_reconfigure(k, sb)
    fc = FsContext(sb.fstype, sb.user_ns, Phase.AWAITING_RECONF, root=sb,  # fs_context_for_reconfigure()
                   profile=k.profile)
    return File("fscontext", None, uapi.O_RDWR, fc=fc)


# -- fsconfig ------------------------------------------------------------------------

def fsconfig_check_args(cmd: int, key: str | None, value: str | None, aux: int) -> None:
    """The argument switch at the top of fsconfig(2), before the fd is looked at.

    Mirrors fs/fsopen.c:SYSCALL_DEFINE5(fsconfig). Errors: EINVAL (bad key/value/aux
    combination for *cmd*), EOPNOTSUPP (unknown cmd).
    """
    if cmd == uapi.FSCONFIG_SET_FLAG:
        bad = key is None or value is not None or aux
    elif cmd == uapi.FSCONFIG_SET_STRING:
        bad = key is None or value is None or aux
    elif cmd == uapi.FSCONFIG_SET_BINARY:
        bad = key is None or value is None or aux <= 0 or aux > 1024 * 1024
    elif cmd in (uapi.FSCONFIG_SET_PATH, uapi.FSCONFIG_SET_PATH_EMPTY):
        bad = key is None or value is None or (aux != uapi.AT_FDCWD and aux < 0)
    elif cmd == uapi.FSCONFIG_SET_FD:
        bad = key is None or value is not None or aux < 0
    elif cmd in (uapi.FSCONFIG_CMD_CREATE, uapi.FSCONFIG_CMD_CREATE_EXCL,
                 uapi.FSCONFIG_CMD_RECONFIGURE):
        bad = key is not None or value is not None or aux
    else:
        raise KernelError(errno.EOPNOTSUPP, f"unknown fsconfig command {cmd}", where="fsconfig")
    if bad:
        raise _einval("key/value/aux do not fit the command", "fsconfig")


def sys_fsconfig(k: Kernel, task: Task, fd: int, cmd: int, key: str | None = None,
                 value: str | None = None, aux: int | None = None) -> int:
    """fsconfig(2). Mirrors fs/fsopen.c:SYSCALL_DEFINE5(fsconfig).

    Errors: EINVAL (fd < 0), fsconfig_check_args()'s, EBADF, EINVAL (not an fs_context
    fd), EBADF (SET_FD's aux), ENOENT (SET_PATH with ""), then vfs_fsconfig_locked()'s.
    """
    aux = aux or 0
    if fd < 0:
        raise _einval("negative fd", "fsconfig")
    fsconfig_check_args(cmd, key, value, aux)
    f = task.files.get(fd)
    if f.kind != "fscontext":
        raise _einval("not an fs_context fd", "fsconfig")
    if cmd == uapi.FSCONFIG_SET_FD and aux > 2 and aux not in task.files.fds:
        raise KernelError(errno.EBADF, f"fd {aux} is not open", where="fget")   # 0-2: stdio
    if cmd == uapi.FSCONFIG_SET_PATH and value == "":
        raise KernelError(errno.ENOENT, "empty path", where="getname_flags")
    return vfs_fsconfig_locked(k, task, f.fc, cmd, key, value, aux)


def vfs_fsconfig_locked(k: Kernel, task: Task, fc: FsContext, cmd: int, key: str | None,
                        value: str | None, aux: int = 0) -> int:
    """Mirrors fs/fsopen.c:vfs_fsconfig_locked().

    Errors: EBUSY (a parameter outside CREATE_PARAMS/RECONF_PARAMS), then
    vfs_cmd_create()'s, vfs_cmd_reconfigure()'s or vfs_parse_fs_param()'s.
    """
    finish_clean_context(fc)
    if cmd == uapi.FSCONFIG_CMD_CREATE:
        return vfs_cmd_create(k, task, fc, exclusive=False)
    if cmd == uapi.FSCONFIG_CMD_CREATE_EXCL:
        return vfs_cmd_create(k, task, fc, exclusive=True)
    if cmd == uapi.FSCONFIG_CMD_RECONFIGURE:
        return vfs_cmd_reconfigure(k, task, fc)
    if fc.phase not in (Phase.CREATE_PARAMS, Phase.RECONF_PARAMS):
        raise KernelError(errno.EBUSY, f"context is in {fc.phase.value}", where="vfs_fsconfig_locked")
    if fc.fs_type == "proc" and key == "pidns" and cmd in (uapi.FSCONFIG_SET_STRING,
                                                           uapi.FSCONFIG_SET_FD):
        # fsparam_file_or_string: a path, or a pid namespace fd (proc_parse_pidns_param())
        where = value if cmd == uapi.FSCONFIG_SET_STRING else task.files.get(aux)
        fc.pid_ns = proc_parse_pidns_param(k, task, where, fc.root is not None)
        fc.user_ns = fc.pid_ns.user_ns
        return 0
    vfs_parse_fs_param(fc, key or "", _VALUE_TYPE[cmd], value)
    return 0


def finish_clean_context(fc: FsContext) -> None:
    """A picked (or mounted) context starts taking reconfigure parameters.

    Mirrors fs/fs_context.c:finish_clean_context().
    """
    if fc.phase is Phase.AWAITING_RECONF:
        fc.phase = Phase.RECONF_PARAMS


def vfs_clean_context(fc: FsContext) -> None:
    """Mirrors fs/fs_context.c:vfs_clean_context(): forget parameters, keep the root."""
    fc.source = None
    fc.options = []
    fc.rdonly = None
    fc.exclusive = False
    fc.phase = Phase.AWAITING_RECONF


def vfs_parse_fs_param(fc: FsContext, key: str, type_: str, value: str | None) -> None:
    """Offer one parameter to the VFS, the filesystem, then the "source" fallback.

    Mirrors fs/fs_context.c:vfs_parse_fs_param(). Errors: EINVAL (forbidden mount flag;
    bad value; non-string or second source; "<type>: Unknown parameter").
    """
    if vfs_parse_sb_flag(fc, key):
        return
    if fs_parse_param(fc, key, type_, value):
        return
    if key == "source":                       # vfs_parse_fs_param_source()
        if type_ != "string":
            raise _einval("VFS: Non-string source", "vfs_parse_fs_param_source")
        if fc.source is not None:
            raise _einval("VFS: Multiple sources", "vfs_parse_fs_param_source")
        fc.source = value
        return
    if fc.fs_type == "ramfs":
        return                                # ramfs_parse_param(): "traditionally ignored"
    raise _einval(f"{fc.fs_type}: Unknown parameter '{key}'", "vfs_parse_fs_param")


def vfs_parse_sb_flag(fc: FsContext, key: str) -> bool:
    """Mirrors fs/fs_context.c:vfs_parse_sb_flag(): the key alone decides, whatever the
    value type (observed on Linux 6.18: SET_STRING "ro"="x" makes the context read-only).
    A per-mount flag such as "nosuid" or "bind" is no superblock flag: it goes on to the
    filesystem, which refuses it as an unknown parameter, but ramfs ignores it (observed
    on 6.18: FSCONFIG_SET_FLAG "nosuid" is 0 for ramfs, EINVAL for tmpfs, proc, devpts;
    there is no forbidden-flag list in 6.18 or linux-source-7.3)."""
    if key in COMMON_SET_SB_FLAG:
        if key == "ro":
            fc.rdonly = True
        return True
    if key in COMMON_CLEAR_SB_FLAG:
        if key == "rw":
            fc.rdonly = False
        return True
    return False


def fs_parse_param(fc: FsContext, key: str, type_: str, value: str | None) -> bool:
    """The filesystem's parse_param(): False for a key it does not know (-ENOPARAM).

    Mirrors fs/fs_parser.c:__fs_parse() for the model's types. Errors: EINVAL (a flag
    given a value, a value-taking key given none or a non-string, a bad value).
    """
    fst = FS_TYPES.get(fc.fs_type)
    known = fst.options(fc.profile) if fst is not None else frozenset()
    if key not in known:
        return False
    if key in FLAG_PARAMS.get(fc.fs_type, ()):
        if type_ != "flag":
            raise _einval(f"{fc.fs_type}: Unexpected value for '{key}'", "fs_parse")
        fc.options.append(key)
        return True
    if type_ != "string":
        raise _einval(f"{fc.fs_type}: Bad value for '{key}'", "fs_param_is_string")
    fc.options.extend(parse_options(fst, f"{key}={value}", fc.profile, fc.user_ns, whole=True))
    return True


def mount_capable(k: Kernel, task: Task, fc: FsContext) -> bool:
    """Mirrors fs/super.c:mount_capable(): FS_USERNS_MOUNT types ask fc->user_ns, the
    others capable(CAP_SYS_ADMIN) in the initial user namespace."""
    fst = FS_TYPES[fc.fs_type]
    return ns_capable(task.cred, fc.user_ns if fst.userns_mount else k.init_user_ns)


def vfs_cmd_create(k: Kernel, task: Task, fc: FsContext, exclusive: bool) -> int:
    """FSCONFIG_CMD_CREATE[_EXCL]: get a superblock. Mirrors fs/fsopen.c:vfs_cmd_create().

    Errors: EBUSY (not in CREATE_PARAMS), EPERM (mount_capable()).
    Deviation: the model's types are all get_tree_nodev(), so vfs_get_tree() always makes a
    new superblock and cannot fail; CREATE_EXCL then behaves as CREATE.
    """
    if fc.phase is not Phase.CREATE_PARAMS:
        raise KernelError(errno.EBUSY, f"context is in {fc.phase.value}", where="vfs_cmd_create")
    if not mount_capable(k, task, fc):
        raise KernelError(errno.EPERM, "not capable over the filesystem's user namespace",
                          where="mount_capable")
    fc.phase = Phase.CREATING
    fc.exclusive = exclusive
    sb = fs_context_sb(k, task, fc.fs_type, fc.user_ns, merge_options((), fc.options))
    if fc.pid_ns is not None:
        sb.dynamic = ProcLookup(k, fc.pid_ns)  # proc_fill_super(): fs_info->pid_ns
    if not sb.mounts:
        sb.rdonly = bool(fc.rdonly)
    fc.root = sb
    fc.phase = Phase.AWAITING_MOUNT
    return 0


def vfs_cmd_reconfigure(k: Kernel, task: Task, fc: FsContext) -> int:
    """FSCONFIG_CMD_RECONFIGURE. Mirrors fs/fsopen.c:vfs_cmd_reconfigure() + reconfigure_super().

    Errors: EBUSY (not in RECONF_PARAMS), EPERM (no CAP_SYS_ADMIN over the superblock's
    user namespace), EBUSY (going read-only while an unlinked inode is in use or a file is
    open for writing); the context is FAILED after either of the last two.
    """
    if fc.phase is not Phase.RECONF_PARAMS:
        raise KernelError(errno.EBUSY, f"context is in {fc.phase.value}", where="vfs_cmd_reconfigure")
    fc.phase = Phase.RECONFIGURING
    sb = fc.root
    if not ns_capable(task.cred, sb.user_ns):
        fc.phase = Phase.FAILED
        raise KernelError(errno.EPERM, "no CAP_SYS_ADMIN over the superblock", where="vfs_cmd_reconfigure")
    try:
        if fc.rdonly and not sb.rdonly:
            sb_prepare_remount_readonly(k, sb)
        options = reconfigure_options(sb, fc.options, k.profile)   # ->reconfigure()
    except KernelError:
        fc.phase = Phase.FAILED               # reconfigure_super() failed
        raise
    if fc.rdonly is not None:                 # only what sb_flags_mask names changes
        sb.rdonly = fc.rdonly
    sb.options = options
    vfs_clean_context(fc)
    return 0


# -- fsmount -------------------------------------------------------------------------

def attr_flags_to_mnt_flags(attr_flags: int) -> MNT:
    """Mirrors fs/namespace.c:attr_flags_to_mnt_flags() (atime handled by callers)."""
    f = MNT(0)
    for attr, mnt in ((uapi.MOUNT_ATTR_RDONLY, MNT.READONLY), (uapi.MOUNT_ATTR_NOSUID, MNT.NOSUID),
                      (uapi.MOUNT_ATTR_NODEV, MNT.NODEV), (uapi.MOUNT_ATTR_NOEXEC, MNT.NOEXEC),
                      (uapi.MOUNT_ATTR_NODIRATIME, MNT.NODIRATIME),
                      (uapi.MOUNT_ATTR_NOSYMFOLLOW, MNT.NOSYMFOLLOW)):
        if attr_flags & attr:
            f |= mnt
    return f


def sys_fsmount(k: Kernel, task: Task, fs_fd: int, flags: int, attr_flags: int) -> File:
    """fsmount(2): a detached mount of the context's superblock, owned by an O_PATH fd.

    Mirrors fs/namespace.c:SYSCALL_DEFINE3(fsmount).
    Errors: EPERM (may_mount), EINVAL (flags; attr_flags; atime not one of the enum), EBADF,
    EINVAL (not an fs_context fd; no superblock yet), EPERM (mount_too_revealing), EBUSY
    (not AWAITING_MOUNT: already mounted, or a picked context).
    Kernel: `sem.fsmount_namespace` (7.1, "mount: add FSMOUNT_NAMESPACE"): the flags are
    checked first, FSMOUNT_NAMESPACE needs CAP_SYS_ADMIN over the caller's user namespace
    only (not may_mount()), and returns a mount namespace fd: the new mount cloned onto a
    copy of the namespace root (newns.create_new_namespace(), MOUNT_COPY_NEW).
    """
    if k.sem.fsmount_namespace:
        if flags & ~k.sem.fsmount_flags:
            raise _einval("unknown fsmount flags", "fsmount")
        if flags & uapi.FSMOUNT_NAMESPACE and not ns_capable(task.cred, task.cred.user_ns):
            raise KernelError(errno.EPERM, "FSMOUNT_NAMESPACE needs CAP_SYS_ADMIN", where="fsmount")
        if not flags & uapi.FSMOUNT_NAMESPACE:
            require_may_mount(task, "fsmount")
    else:
        require_may_mount(task, "fsmount")
        if flags & ~k.sem.fsmount_flags:
            raise _einval("unknown fsmount flags", "fsmount")
    if attr_flags & ~FSMOUNT_VALID_FLAGS:
        raise _einval("unknown attr_flags", "fsmount")
    mnt_flags = attr_flags_to_mnt_flags(attr_flags)
    atime = attr_flags & uapi.MOUNT_ATTR__ATIME
    if atime == uapi.MOUNT_ATTR_NOATIME:
        mnt_flags |= MNT.NOATIME
    elif atime == uapi.MOUNT_ATTR_RELATIME:
        mnt_flags |= MNT.RELATIME
    elif atime != uapi.MOUNT_ATTR_STRICTATIME:
        raise _einval("atime is an enum, not a bitmap", "fsmount")
    f = task.files.get(fs_fd)
    if f.kind != "fscontext":
        raise _einval("not an fs_context fd", "fsmount")
    fc: FsContext = f.fc
    if fc.root is None:
        raise _einval("no superblock yet (FSCONFIG_CMD_CREATE first)", "fsmount")
    inherited = mount_too_revealing(task, fc.root, mnt_flags)
    if inherited is None:
        raise KernelError(errno.EPERM, "mount too revealing", where="mount_too_revealing")
    mnt_flags |= inherited
    if fc.phase is not Phase.AWAITING_MOUNT:
        raise KernelError(errno.EBUSY, f"context is in {fc.phase.value}", where="fsmount")
    sb = fc.root
    mnt = k.alloc_vfsmnt(sb, sb.root, fc.source if fc.source is not None else "none")
    mnt.flags = mnt_flags                    # vfs_create_mount()
    vfs_clean_context(fc)
    if flags & uapi.FSMOUNT_NAMESPACE:
        try:
            return open_new_namespace(task, k, Path(mnt, mnt.root), new=True)
        finally:
            k.free_mount(mnt)                # path_put(): the clone went in, not mnt
    new_anon_ns(k, task, mnt)                # alloc_mnt_ns(user_ns, true) + mnt_add_to_ns()
    out = File("path", Path(mnt, mnt.root), uapi.O_PATH)
    out.need_unmount = True                  # FMODE_NEED_UNMOUNT
    return out


register("fsopen", sys_fsopen)
register("fspick", sys_fspick)
register("fsconfig", sys_fsconfig)
register("fsmount", sys_fsmount)
