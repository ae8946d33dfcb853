"""Directory and file calls the mount model needs: mkdir, mkdirat, open, openat, read,
write, close (rmdir, unlink, rename, symlinks: dirops.py).

Mirrors fs/namei.c do_mkdirat()/filename_create(), is_local_mountpoint(), and fs/open.c
do_sys_openat2() for O_PATH, O_DIRECTORY, O_CREAT, O_EXCL, O_TRUNC and O_NOFOLLOW
(open_last_lookups() following a trailing symlink, also to create its target), plus
close_fd().
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .. import uapi
from ..cgroup import CGROUP_FS
from ..errors import KernelError
from ..fs import S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK
from ..mount_hash import MountHash
from ..mount import MNT
from ..permission import (MAY_READ, MAY_WRITE, S_ISVTX, from_vfs, generic_permission, inode_init_owner,
                          may_write_dir, through)
from ..proc import idmap_target, outside_answer, proc_task
from ..user_namespace import ids_mapped, map_write, ns_capable, setgroups_write
from ..namei import (LOOKUP_DIRECTORY, LOOKUP_FOLLOW, NameiData, check_name_len, lookup_parent,
                     pick_link, traverse_mounts, user_path_at, walk)
from ..mount import MntNamespace
from ..namespace import UMOUNT_CONNECTED, get_mnt_ns, put_mnt_ns, umount_tree
from ..proc_namespace import mounts_open_common
from ..seq_file import SEEK_CUR, SEEK_MAX, SEEK_SET, seq_lseek, seq_read_iter
from ..sysctl import sysctl_of, sysctl_perm, sysctl_read, sysctl_write
from ..task import File, Path

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..task import Task


def mnt_want_write(p: Path) -> None:
    """mnt_want_write(). Errors: EROFS (read-only mount or superblock)."""
    if p.mnt.flags & MNT.READONLY or p.mnt.sb.rdonly:
        raise KernelError(errno.EROFS, "read-only mount", where="mnt_want_write")


def fsuidgid_has_mapping(sb, cred, mnt=None) -> bool:
    """fsuidgid_has_mapping(): the caller's fsuid and fsgid, written through *mnt* (mapped
    back through its idmapping, if any), have ids in the sb's user namespace."""
    uid = from_vfs(mnt, sb.user_ns, "uid_map", cred.euid)      # mapped_fsuid()
    gid = from_vfs(mnt, sb.user_ns, "gid_map", cred.egid)
    return uid is not None and gid is not None and ids_mapped(sb.user_ns, uid, gid)


def create_inode(task: Task, dir, name: str, kind: str, mode: int, mnt=None):
    """A new inode *name* in *dir* (created through *mnt*), owned as inode_init_owner()
    says."""
    uid, gid, mode = inode_init_owner(task.cred, dir, kind, mode, mnt)
    return dir.create(name, kind, uid, mode, gid)


def may_create(task: Task, d, where: str, mnt=None) -> None:
    """may_create()/may_o_create() in *d* through *mnt*. Errors: ENOENT (directory
    removed), EOVERFLOW (ids unmapped), EACCES (no write permission on the directory)."""
    if d.unlinked:
        raise KernelError(errno.ENOENT, "parent directory was removed", where=where)
    if not fsuidgid_has_mapping(d.sb, task.cred, mnt):
        raise KernelError(errno.EOVERFLOW, "caller's fsuid is not mapped in the filesystem's "
                          "user namespace", where=where)
    may_write_dir(task.cred, through(mnt, d), where)


def sys_mkdirat(k: Kernel, task: Task, dfd: int, name: str | None, mode: int | None = 0o777) -> int:
    """mkdirat(2). Mirrors do_mkdirat() -> filename_create().

    Errors: lookup errors, EEXIST (".", "..", "/", or existing), EROFS, ENOENT (parent removed).
    """
    parent, last = lookup_parent(k, task, dfd, name)
    if last in (".", "..", "/"):
        raise KernelError(errno.EEXIST, "not a normal last component", where="filename_create")
    d = parent.dentry
    if d.unlinked:                          # lookup_one_qstr_excl(): a dead directory, before EROFS
        raise KernelError(errno.ENOENT, "parent directory was removed", where="lookup_one_qstr_excl")
    exists = (d.sb.dynamic(d, last) if d.sb.dynamic else d.lookup(last, create=True)) is not None
    if exists:
        raise KernelError(errno.EEXIST, f"{last!r} exists", where="filename_create")
    if d.sb.dynamic is not None or d.sb.fstype == "nsfs":
        # proc_lookup() answers a missing name with -ENOENT, not a negative dentry
        raise KernelError(errno.ENOENT, "cannot create here", where="lookup_one_qstr_excl")
    check_name_len(d, last)                 # ->lookup() in lookup_one_qstr_excl()
    mnt_want_write(parent)
    may_create(task, d, "vfs_mkdir", parent.mnt)
    if d.sb.fstype == "devpts":
        raise KernelError(errno.EPERM, "devpts has no ->mkdir", where="vfs_mkdir")
    new = create_inode(task, d, last, S_IFDIR, (0o777 if mode is None else mode) & ~task.fs.umask & 0o1777,
                       parent.mnt)
    if d.sb.fstype in CGROUP_FS:
        new.unknown = True                  # cgroup_mkdir(): a new cgroup comes with its files
    return 0


def sys_mkdir(k: Kernel, task: Task, name: str | None, mode: int | None = 0o777) -> int:
    return sys_mkdirat(k, task, uapi.AT_FDCWD, name, mode)


def is_local_mountpoint(task: Task, dentry) -> bool:
    """is_local_mountpoint(): a mount of the caller's namespace sits on *dentry*."""
    return any(m.ns is task.mnt_ns for m in MountHash.on(dentry))


def sys_openat(k: Kernel, task: Task, dfd: int, name: str | None, flags: int, mode: int | None = 0) -> File:
    """openat(2) for directories, O_PATH files, namespace files and plain files.

    Errors: EINVAL (O_CREAT|O_DIRECTORY, build_open_flags(); O_PATH masks O_CREAT away
    first), lookup errors, EEXIST (O_CREAT|O_EXCL), ENOTDIR (O_DIRECTORY), ELOOP
    (O_NOFOLLOW on a symlink), EISDIR (writing a directory), EROFS.
    """
    if flags & uapi.O_CREAT and flags & uapi.O_DIRECTORY and not flags & uapi.O_PATH:
        raise KernelError(errno.EINVAL, "O_CREAT|O_DIRECTORY is ambiguous", where="build_open_flags")
    return do_file_open(k, task, dfd, name, flags, mode, None)


def sys_openat2(k: Kernel, task: Task, dfd: int, name: str | None, how: dict | None,
                size: int) -> File:
    """openat2(2). Mirrors SYSCALL openat2 -> build_open_flags(), which checks every
    argument open(2) would mask, then the walk under how.resolve's restrictions (namei.py:
    RESOLVE_NO_XDEV, NO_MAGICLINKS, NO_SYMLINKS, BENEATH, IN_ROOT).

    Errors: EINVAL (size below OPEN_HOW_SIZE_VER0; unknown flags or resolve bits; BENEATH
    with IN_ROOT; a mode without O_CREAT/O_TMPFILE or outside S_IALLUGO; O_CREAT with
    O_DIRECTORY; O_TMPFILE without write access; O_PATH with other flags than its own),
    E2BIG (size above a page), EFAULT (NULL how), EAGAIN (RESOLVE_CACHED with O_CREAT,
    O_TRUNC or O_TMPFILE), then openat()'s, EXDEV and ELOOP from the restrictions;
    RESOLVE_CACHED's EAGAIN for a walk not all in the dcache is the recording's to say.
    Limitations: 7.x's OPENAT2_REGULAR and O_EMPTYPATH are not modelled (EINVAL, as 6.18).
    """
    if size < uapi.OPEN_HOW_SIZE_VER0:
        raise KernelError(errno.EINVAL, "open_how smaller than its first version", where="openat2")
    if size > 4096:
        raise KernelError(errno.E2BIG, "open_how larger than a page", where="openat2")
    if how is None:
        raise KernelError(errno.EFAULT, "NULL open_how", where="copy_struct_from_user")
    flags, mode, resolve = (int(how.get(f) or 0) for f in ("flags", "mode", "resolve"))
    tmpfile = flags & uapi.O_TMPFILE == uapi.O_TMPFILE
    creates = flags & uapi.O_CREAT or tmpfile          # WILL_CREATE()
    invalid = (flags & ~uapi.O_CLOEXEC & ~uapi.VALID_OPEN_FLAGS
               or resolve & ~uapi.VALID_RESOLVE_FLAGS
               or resolve & uapi.RESOLVE_BENEATH and resolve & uapi.RESOLVE_IN_ROOT
               or (mode & ~0o7777 if creates else mode)
               or flags & uapi.O_CREAT and flags & uapi.O_DIRECTORY
               or tmpfile and flags & uapi.O_ACCMODE == uapi.O_RDONLY
               or flags & uapi.O_PATH and flags & ~uapi.O_PATH_FLAGS)
    if invalid:
        raise KernelError(errno.EINVAL, "open_how refused", where="build_open_flags")
    if resolve & uapi.RESOLVE_CACHED:
        rec = k.recorded
        if flags & (uapi.O_CREAT | uapi.O_TRUNC | uapi.O_TMPFILE):
            raise KernelError(errno.EAGAIN, "RESOLVE_CACHED does not create or truncate",
                              where="build_open_flags")
        if rec is not None and rec.errno == "EAGAIN":
            raise KernelError(errno.EAGAIN, "not all in the dcache (recorded)", where="path_openat")
    return do_file_open(k, task, dfd, name, flags, mode, NameiData(resolve))


def do_file_open(k: Kernel, task: Task, dfd: int, name: str | None, flags: int,
                 mode: int | None, nd: NameiData | None) -> File:
    """do_filp_open() -> path_openat(): the walk and the open, for openat() and openat2()."""
    lookup = 0 if flags & uapi.O_NOFOLLOW else LOOKUP_FOLLOW
    if flags & uapi.O_DIRECTORY:
        lookup |= LOOKUP_DIRECTORY
    created = False
    if flags & uapi.O_CREAT and not flags & uapi.O_PATH:
        p, created = _open_create(k, task, dfd, name, flags, mode, nd)
    else:
        p = user_path_at(k, task, dfd, name, lookup, nd)
    acc = flags & uapi.O_ACCMODE
    _settle_opened(k, p.dentry, flags)
    outside_answer(k, p.dentry)
    target = idmap_target(k, p.dentry) if not flags & uapi.O_PATH else None
    if not flags & uapi.O_PATH:
        if flags & uapi.O_TRUNC and p.dentry.kind == S_IFREG:
            mnt_want_write(p)                   # do_open(): before may_open()
        if p.dentry.kind == S_IFLNK:
            raise KernelError(errno.ELOOP, "O_NOFOLLOW: the last component is a symlink",
                              where="may_open")
        if p.dentry.is_dir and (acc != uapi.O_RDONLY or flags & uapi.O_CREAT):
            raise KernelError(errno.EISDIR, "cannot open a directory for writing", where="may_open")
        if acc != uapi.O_RDONLY and p.dentry.sb.rdonly and p.dentry.kind == S_IFREG:
            # fs/namei.c:inode_permission() -> fs/namei.c:sb_permission(): before any DAC
            # check or capability
            raise KernelError(errno.EROFS, "a read-only superblock", where="sb_permission")
        table = sysctl_of(p.dentry)
        if table is not None and acc != uapi.O_RDONLY:
            sysctl_perm(task, table, MAY_WRITE)  # may_open() -> proc_sys_permission()
        if target is not None and acc != uapi.O_RDONLY:
            # task_dump_owner(): a non-dumpable task's files belong to root; they are 0644
            owner = target[1]
            p.dentry.uid = owner.cred.euid if owner.dumpable else 0
            p.dentry.gid = owner.cred.egid if owner.dumpable else 0
            p.dentry.mode = 0o644
            if not generic_permission(task.cred, p.dentry, MAY_WRITE):
                raise KernelError(errno.EACCES, "the proc file belongs to someone else", where="may_open")
        if not created and target is None and table is None and _plain_inode(p.dentry):
            mask = (MAY_READ if acc != uapi.O_WRONLY else 0) | \
                (MAY_WRITE if acc != uapi.O_RDONLY or flags & uapi.O_TRUNC else 0)
            if not generic_permission(task.cred, through(p.mnt, p.dentry), mask):
                raise KernelError(errno.EACCES, "no permission to open the file", where="may_open")
        if acc != uapi.O_RDONLY and p.dentry.kind in (S_IFREG, S_IFDIR):
            mnt_want_write(p)                   # vfs_open(): file_get_write_access(), not special files
    ns = p.dentry.ns_ref
    kind = "ns" if ns is not None and not flags & uapi.O_PATH else "path"
    idmap = (target[0], target[1].cred.user_ns) if target is not None else None
    if idmap is not None:
        if idmap[0] == "setgroups" and acc != uapi.O_RDONLY and not ns_capable(task.cred, idmap[1]):
            raise KernelError(errno.EACCES, "writing setgroups needs CAP_SYS_ADMIN over the namespace",
                              where="proc_setgroups_open")
    if not flags & uapi.O_PATH and p.dentry.kind in _DRIVER_OPENS:
        _driver_open(k, p.dentry)
    f = File(kind, p, flags, ns=ns)            # pins the mount: after every check
    if idmap is not None:
        f.idmap, f.cred = idmap, task.cred.copy()
    if isinstance(ns, MntNamespace):
        get_mnt_ns(ns)                      # an open namespace file (O_PATH too) keeps it alive
    reader = mounts_task(k, task, p.dentry) if not flags & uapi.O_PATH else None
    if reader is not None:                  # mountinfo_open() -> mounts_open_common()
        f.seq = mounts_open_common(reader, k.sem.mountinfo_pos_is_mnt_id, p.dentry.name)
        get_mnt_ns(f.seq.private.ns)
    return f                                # installed by the syscall table (fd_install)


# Special files whose open goes on to a driver or a pipe (chrdev_open(), blkdev_open(),
# fifo_open(), a socket's no_open()) after the checks do_open() makes.
_DRIVER_OPENS = frozenset({S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK})


def _driver_open(k: Kernel, d) -> None:
    """The open of a device node, FIFO or socket past the VFS's checks. The model has no
    drivers and no pipe readers, so a replayed trace's recorded error is their answer
    (/dev/tty without a controlling terminal: ENXIO); a socket's open is always ENXIO
    (no_open()). Model-only beyond that."""
    rec = k.recorded
    if rec is not None and rec.errno is not None and hasattr(errno, rec.errno):
        raise KernelError(getattr(errno, rec.errno), "the driver's own answer (recorded)",
                          where="chrdev_open" if d.kind == S_IFCHR else "do_dentry_open")
    if d.kind == S_IFSOCK:
        raise KernelError(errno.ENXIO, "a socket cannot be opened", where="no_open")


def _plain_inode(d) -> bool:
    """An inode whose owner and mode decide an open (may_open() -> inode_permission()):
    not proc's or nsfs's, which the model does not give real modes. Model-only."""
    return d.sb.dynamic is None and d.sb.fstype != "nsfs" and d.kind in (S_IFREG, S_IFDIR)


def _settle_opened(k: Kernel, d, flags: int) -> None:
    """A name guessed to be a directory that a recorded open shows to be a file (written,
    truncated, or refused O_DIRECTORY with ENOTDIR) becomes a regular file; one whose open
    a driver refused (ENXIO, ENODEV) a character device. Model-only."""
    rec = k.recorded
    if rec is None or not d.guessed or d.children or d.mnts:
        return
    writes = flags & uapi.O_ACCMODE != uapi.O_RDONLY or flags & uapi.O_TRUNC
    if (rec.errno is None and writes and not flags & uapi.O_PATH) or rec.errno == "ENOTDIR":
        d.kind, d.unknown = S_IFREG, False
    elif rec.errno == "ELOOP" and flags & uapi.O_NOFOLLOW:
        d.kind, d.unknown, d.target = S_IFLNK, False, d.name   # may_open() refused a link
    elif rec.errno in ("ENXIO", "ENODEV") and not flags & uapi.O_PATH:
        d.kind, d.unknown = S_IFCHR, False      # only a driver answers an open so


def mounts_task(k: Kernel, task: Task, dentry) -> Task | None:
    """The task whose /proc/<pid>/{mountinfo,mounts,mountstats} *dentry* is, or None for
    any other dentry. /proc/mounts is the kernel's symlink to self/mounts (proc_root_init():
    proc_symlink("mounts", NULL, "self/mounts")): the opener's own."""
    if dentry.sb.fstype != "proc" or dentry.name not in ("mountinfo", "mounts", "mountstats"):
        return None
    if dentry.name == "mounts" and dentry.parent.is_root:
        return task
    return proc_task(k, dentry.parent)


def sys_read(k: Kernel, task: Task, fd: int, buf=None, count: int = 0) -> int:
    """read(2) at the file's position. Mirrors ksys_read() -> vfs_read(); for
    /proc/<pid>/{mountinfo,mounts,mountstats}, seq_read_iter() over mounts_op (the text goes to `k.last_out`).

    Errors: EBADF (no such fd, O_PATH, not open for reading), EISDIR, EINVAL (a namespace
    or filesystem-context file: no read the model knows).
    Limitations: other files' contents are not modelled: a read answers 0 (end of file),
    or, for a file of unknown contents while a trace is replayed, what the trace recorded.
    """
    f = task.files.get(fd)
    if f.flags & uapi.O_PATH or (f.flags & uapi.O_ACCMODE) == uapi.O_WRONLY:
        raise KernelError(errno.EBADF, "fd is not open for reading", where="vfs_read")
    table = sysctl_of(f.path.dentry) if f.path is not None else None
    if table is not None:                   # a sysctl the model has: its own value
        text = sysctl_read(k, table, f.pos, count)
        f.pos += len(text)
        k.last_out = text
        return len(text)
    rec = k.recorded
    if f.path is not None and f.seq is None and rec is not None and f.kind == "path":
        d = f.path.dentry                   # contents the model lacks: the recording is the oracle
        if d.guessed and rec.errno is None and not d.children and not d.mnts:
            d.kind, d.unknown = S_IFREG, False
        if not d.is_dir:
            k.last_out = rec.out if isinstance(rec.out, str) else None
            if rec.ret > 0:
                f.pos += rec.ret                # what was read moves the position (lseek sees it)
            return rec.ret
    if f.path is not None and f.path.dentry.is_dir:
        raise KernelError(errno.EISDIR, "cannot read a directory", where="generic_read_dir")
    if f.kind != "path":
        raise KernelError(errno.EINVAL, "no read for this file", where="vfs_read")
    if f.seq is None:
        k.last_out = ""
        return 0
    data, f.pos = seq_read_iter(f.seq, f.pos, count)
    k.last_out = data.decode("utf-8", errors="surrogateescape")
    return len(data)


def _open_create(k: Kernel, task: Task, dfd: int, name: str | None, flags: int,
                 mode: int | None = 0, nd: NameiData | None = None) -> tuple[Path, bool]:
    """O_CREAT: look up the parent, create a regular file if missing. Mirrors
    open_last_lookups() -> lookup_open(), and step_into() on what exists: a trailing
    symlink is followed (unless O_NOFOLLOW, or O_EXCL which implies it) and a missing
    target is created where the link's body points.

    Errors: lookup errors, EISDIR (".", "..", "/", a trailing slash), ENAMETOOLONG,
    EEXIST (O_EXCL), ELOOP (links), EROFS, may_create()'s.
    """
    nd = nd if nd is not None else NameiData()
    parent, last = lookup_parent(k, task, dfd, name, nd)
    slash = name.endswith("/")
    nofollow = flags & (uapi.O_NOFOLLOW | uapi.O_EXCL)
    while True:
        if last in (".", "..", "/"):
            raise KernelError(errno.EISDIR, "O_CREAT on a directory", where="do_open")
        if slash:
            raise KernelError(errno.EISDIR, "O_CREAT with a trailing slash", where="open_last_lookups")
        d = _create_lookup(parent, last)
        if isinstance(d, Path):
            return d, False
        if d is None:
            break
        if flags & uapi.O_EXCL:
            raise KernelError(errno.EEXIST, f"{last!r} exists", where="do_open")
        p = traverse_mounts(k, Path(parent.mnt, d))
        if p.dentry.kind != S_IFLNK or nofollow:
            p.mnt.expiry_mark = False           # path_put() -> mntput()
            if not p.dentry.is_dir:             # do_open(): EISDIR first (the caller's)
                may_create_in_sticky(task, parent, p.dentry)
            return p, False
        jump, body = pick_link(k, task, nd, p)
        if not body:
            return jump, False                  # a body of "/": the root, a directory
        parent = walk(k, task, jump or parent, body[:-1], nd)
        if not parent.dentry.is_dir:
            raise KernelError(errno.ENOTDIR, "not a directory", where="link_path_walk")
        last, slash = body[-1], (p.dentry.target or "").endswith("/")
    if parent.dentry.sb.fstype == "nullfs":
        # nullfs (7.0): make_empty_dir_inode()'s empty_dir_lookup() answers -ENOENT before
        # may_o_create() would see the immutable directory
        raise KernelError(errno.ENOENT, "nullfs is permanently empty", where="empty_dir_lookup")
    if parent.dentry.sb.dynamic is not None:
        # proc: ->lookup() (proc_root_lookup(), proc_pident_lookup()) answers a missing name
        # with -ENOENT instead of a negative dentry, so lookup_open() never creates
        raise KernelError(errno.ENOENT, "proc has no such entry to create", where="proc_lookup")
    mnt_want_write(parent)
    may_create(task, parent.dentry, "may_o_create", parent.mnt)
    if parent.dentry.sb.fstype == "devpts":
        raise KernelError(errno.EACCES, "devpts has no ->create", where="lookup_open")
    return Path(parent.mnt, create_inode(task, parent.dentry, last, S_IFREG,
                                    (mode or 0) & ~task.fs.umask & 0o7777, parent.mnt)), True


def may_create_in_sticky(task: Task, parent: Path, d) -> None:
    """fs/namei.c:may_create_in_sticky(): O_CREAT on an existing name in a sticky
    directory is refused to a caller who owns neither it nor the directory, when the
    directory is world-writable, for every kind but regular files and FIFOs (which
    fs.protected_regular and fs.protected_fifos would add: 0 here, as on this machine).
    Errors: EACCES."""
    dir_ = through(parent.mnt, parent.dentry)
    if not dir_.mode & S_ISVTX or d.kind in (S_IFREG, S_IFIFO) or d.sb.opaque:
        return
    uid = through(parent.mnt, d).uid
    if uid == dir_.uid or uid == task.cred.euid:
        return
    if dir_.mode & 0o002:
        raise KernelError(errno.EACCES, "O_CREAT on someone else's entry in a sticky directory",
                          where="may_create_in_sticky")


def _create_lookup(parent: Path, last: str):
    """lookup_open()'s lookup: the dentry, a proc magic link's Path, or None (missing)."""
    if parent.dentry.sb.dynamic is not None:
        return parent.dentry.sb.dynamic(parent.dentry, last)
    if parent.dentry.unlinked:
        raise KernelError(errno.ENOENT, "parent directory was removed", where="lookup_open")
    check_name_len(parent.dentry, last)
    return parent.dentry.lookup(last, create=True, kind=S_IFREG)


def sys_open(k: Kernel, task: Task, name: str | None, flags: int, mode: int | None = 0) -> File:
    return sys_openat(k, task, uapi.AT_FDCWD, name, flags, mode)


def sys_creat(k: Kernel, task: Task, name: str | None, mode: int | None = 0) -> File:
    """creat(2): open(O_CREAT|O_WRONLY|O_TRUNC). Mirrors fs/open.c SYSCALL_DEFINE2(creat)."""
    return sys_openat(k, task, uapi.AT_FDCWD, name, uapi.O_CREAT | uapi.O_WRONLY | uapi.O_TRUNC, mode)


def sys_write(k: Kernel, task: Task, fd: int, buf: str | None, count: int) -> int:
    """write(2), for what the mount model needs: the id map files of /proc/<pid>/ (the
    rest of a regular file's contents is not modelled; a write just succeeds).

    Errors: EBADF (no such fd, O_PATH, not open for writing), EISDIR, EFAULT (NULL buffer),
    then map_write()/proc_setgroups_write()'s.
    """
    f = task.files.get(fd)
    if f.path is None or f.flags & uapi.O_PATH or f.flags & uapi.O_ACCMODE == uapi.O_RDONLY:
        raise KernelError(errno.EBADF, "fd is not open for writing", where="ksys_write")
    if f.path.dentry.is_dir:
        raise KernelError(errno.EISDIR, "cannot write a directory", where="vfs_write")
    if buf is None:
        raise KernelError(errno.EFAULT, "NULL buffer", where="copy_from_user")
    text = buf[:count]
    table = sysctl_of(f.path.dentry)
    if table is not None:
        sysctl_write(k, table, f.pos, text)
    if f.idmap is not None:
        name, ns = f.idmap
        if f.pos != 0:
            raise KernelError(errno.EINVAL, "id map files take one write at offset 0", where="map_write")
        if name == "setgroups":
            setgroups_write(ns, text)
        else:
            if count >= 4096:
                raise KernelError(errno.EINVAL, "map write of a page or more", where="map_write")
            map_write(ns, name, text, f.cred, task.cred)
    f.pos += count
    return count


def sys_lseek(k: Kernel, task: Task, fd: int, offset: int, whence: int) -> int:
    """lseek(2). Mirrors ksys_lseek() -> vfs_llseek(): seq_lseek() for mountinfo.

    Errors: EBADF (no such fd, O_PATH), EINVAL (bad whence, negative position).
    Limitations: file sizes are not modelled: SEEK_END and SEEK_DATA/SEEK_HOLE answer what
    a replayed trace recorded (the size is the file's, which the model does not have), and
    EINVAL with no recording.
    """
    f = task.files.get(fd)
    if f.flags & uapi.O_PATH:
        raise KernelError(errno.EBADF, "O_PATH file", where="fdget_pos")
    if f.seq is not None:
        f.pos = seq_lseek(f.seq, f.pos, offset, whence)
        return f.pos
    if whence > SEEK_MAX:
        raise KernelError(errno.EINVAL, "no such whence", where="ksys_lseek")
    if whence not in (SEEK_SET, SEEK_CUR):
        rec = k.recorded
        if rec is not None and rec.errno is None and f.kind == "path" and f.path is not None:
            f.pos = rec.ret                     # generic_file_llseek() from i_size: the oracle's
            return f.pos
        raise KernelError(errno.EINVAL, "whence not modelled", where="vfs_llseek")
    pos = offset + (f.pos if whence == SEEK_CUR else 0)
    if pos < 0:
        raise KernelError(errno.EINVAL, "negative position", where="vfs_setpos")
    f.pos = pos
    return pos


def sys_umask(k: Kernel, task: Task, mask: int) -> int:
    """umask(2): set the fs_struct's umask, return the old one. Never fails."""
    old, task.fs.umask = task.fs.umask, mask & 0o777
    return old


def fput(k: Kernel, f: File) -> None:
    """The last reference to a file went: unpin its mount; dissolve a detached tree.

    Mirrors __fput() -> dissolve_on_fput(): a detached tree still owned by the file (its
    namespace is anonymous and the mount is still that namespace's root) is unmounted.
    """
    if f.path is not None:
        f.path.mnt.pins -= 1
    if isinstance(f.ns, MntNamespace):       # O_PATH opens hold the nsfs inode too
        put_mnt_ns(k, f.ns)
    if f.seq is not None:                   # mounts_release(): put_mnt_ns(p->ns)
        put_mnt_ns(k, f.seq.private.ns)
    if f.need_unmount and f.path is not None:
        m = f.path.mnt
        ns = m.ns
        if ns is not None and ns.is_anon and ns.root is m:
            umount_tree(k, m, UMOUNT_CONNECTED)
            ns.root = None
        elif ns is None:
            from ..namespace import maybe_free
            maybe_free(k, m)
    elif f.path is not None and f.path.mnt.ns is None:
        from ..namespace import maybe_free
        maybe_free(k, f.path.mnt)


def close_fd(k: Kernel, task: Task, fd: int) -> None:
    """file_close_fd() + filp_close(): the last reference goes with fput()."""
    f = task.files.remove(fd)
    f.refs -= 1
    if f.refs == 0:
        fput(k, f)


def set_mm_exe_file(k: Kernel, task: Task, f: File | None) -> None:
    """set_mm_exe_file(): the file the task runs (/proc/<pid>/exe). It holds a reference,
    so the mount it is on stays busy while the program runs."""
    old, task.exe = task.exe, f
    if f is not None:
        f.refs += 1
    if old is not None:
        old.refs -= 1
        if old.refs == 0:
            fput(k, old)


def sys_close(k: Kernel, task: Task, fd: int) -> int:
    """close(2). Errors: EBADF."""
    close_fd(k, task, fd)
    return 0


def sys_dup(k: Kernel, task: Task, oldfd: int) -> File:
    """dup(2): fget_raw() (O_PATH files too), installed at the lowest free number (the
    trace's). Mirrors fs/file.c:SYSCALL_DEFINE1(dup). Errors: EBADF."""
    return task.files.get(oldfd)


def sys_dup2(k: Kernel, task: Task, oldfd: int, newfd: int) -> int:
    """dup2(2): onto itself it only checks *oldfd*. Mirrors SYSCALL_DEFINE2(dup2).
    Errors: EBADF."""
    if oldfd == newfd:
        task.files.get(oldfd)
        return newfd
    return sys_dup3(k, task, oldfd, newfd, 0)


def sys_dup3(k: Kernel, task: Task, oldfd: int, newfd: int, flags: int = 0) -> int:
    """dup3(2): *oldfd*'s file at *newfd*, whatever was there closed first. Mirrors
    ksys_dup3() -> do_dup2(): *newfd*'s close-on-exec bit is O_CLOEXEC's (dup2: cleared).
    Errors: EINVAL (flags other than O_CLOEXEC; oldfd == newfd), EBADF (newfd negative: it
    is unsigned, so above RLIMIT_NOFILE; oldfd not open).
    Model-only: no RLIMIT_NOFILE otherwise."""
    if flags & ~uapi.O_CLOEXEC:
        raise KernelError(errno.EINVAL, "dup3 takes only O_CLOEXEC", where="ksys_dup3")
    if oldfd == newfd:
        raise KernelError(errno.EINVAL, "dup3 onto itself", where="ksys_dup3")
    if newfd < 0:
        raise KernelError(errno.EBADF, "newfd above RLIMIT_NOFILE", where="ksys_dup3")
    f = task.files.get(oldfd)
    if newfd in task.files.fds:
        close_fd(k, task, newfd)                # do_dup2(): filp_close() of the old file
    return task.files.install(f, at=newfd, cloexec=bool(flags & uapi.O_CLOEXEC))


def sys_fcntl(k: Kernel, task: Task, fd: int, cmd: int, arg: int = 0) -> int | File:
    """fcntl(2)'s fd-table commands. Mirrors fs/fcntl.c:do_fcntl(): F_DUPFD and
    F_DUPFD_CLOEXEC (f_dupfd(): the file, which the syscall table installs at the lowest
    free fd from *arg*, or the trace's number, with close-on-exec only for
    F_DUPFD_CLOEXEC: new_fd_flags()), F_GETFD, F_SETFD (only FD_CLOEXEC counts). O_PATH
    files take all four (check_fcntl_cmd()). The trace parser gives the model no other
    command.

    Errors: EBADF (fd not open), EINVAL (F_DUPFD from a negative number: it is unsigned, so
    at or above RLIMIT_NOFILE). Model-only: no RLIMIT_NOFILE otherwise.
    """
    files = task.files
    f = files.get(fd)                           # fdget_raw()
    if cmd in (uapi.F_DUPFD, uapi.F_DUPFD_CLOEXEC):
        if arg < 0:
            raise KernelError(errno.EINVAL, "from is at or above RLIMIT_NOFILE", where="f_dupfd")
        return f
    if cmd == uapi.F_GETFD:
        return uapi.FD_CLOEXEC if fd in files.cloexec else 0
    if cmd == uapi.F_SETFD:
        if arg & uapi.FD_CLOEXEC:
            files.cloexec.add(fd)
        else:
            files.cloexec.discard(fd)
        return 0
    raise KernelError(errno.EINVAL, f"fcntl command {cmd} is not modelled", where="do_fcntl")
