"""Directory operations: unlink(at), rmdir, rename(at,at2), symlink(at), readlink(at),
mknod(at). The parts of fs/namei.c that add, remove and move names.

Mirrors do_unlinkat()/vfs_unlink(), do_rmdir()/vfs_rmdir(), do_renameat2()/lock_rename()/
vfs_rename(), do_symlinkat()/vfs_symlink(), do_mknodat()/may_mknod()/vfs_mknod()/
vfs_create(), with filename_create() and may_delete(); fs/stat.c do_readlinkat(). A name with
mounts on it: is_local_mountpoint() refuses (EBUSY) when a mount of the caller's namespace
sits there; once the name is gone, detach_mounts() takes the mounts of other namespaces
away, lazily (umount_tree(UMOUNT_CONNECTED)).

Limitations: no hard links (so rename's "same inode" case is only a name onto itself);
device nodes are only their kind (a char device 0:0 is a whiteout); readlink of a proc
magic link other than root, cwd and fd/N (ns/*) answers the recorded text (empty without
one); filesystems without ->rename/->unlink/->rmdir are proc, nsfs, nullfs and devpts
(EPERM);
RENAME_WHITEOUT only on tmpfs (EINVAL elsewhere, as simple_rename()).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .. import uapi
from ..cgroup import CGROUP_FS
from ..errors import KernelError
from ..fs import S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK, Dentry, walk
from ..mount_hash import MountHash
from ..namei import LOOKUP_EMPTY, check_name_len, getname, lookup_parent, user_path_at
from ..namespace import UMOUNT_CONNECTED, umount_tree
from ..permission import MAY_WRITE, check_sticky, generic_permission, may_write_dir, through
from ..proc import proc_self_nr
from ..proc_namespace import prepend_path
from ..task import Path
from ..user_namespace import ns_capable
from . import register
from .file import create_inode, is_local_mountpoint, may_create, mnt_want_write

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..task import Task

_DOTS = (".", "..", "/")                    # last_type != LAST_NORM
_MODE_KINDS = {0: S_IFREG, uapi.S_IFREG: S_IFREG, uapi.S_IFCHR: S_IFCHR, uapi.S_IFBLK: S_IFBLK,
               uapi.S_IFIFO: S_IFIFO, uapi.S_IFSOCK: S_IFSOCK}


def _no_dir_op(d: Dentry) -> bool:
    """The directory's inode has no ->unlink/->rmdir/->rename/->symlink (proc, nsfs,
    nullfs; devpts's root: simple_dir_inode_operations, lookup only)."""
    return d.sb.dynamic is not None or d.sb.fstype in ("nsfs", "nullfs", "devpts")


def lookup_one_qstr_excl(k: Kernel, parent: Path, last: str, kind: str = S_IFDIR,
                         create: bool = False) -> Dentry | None:
    """The last component in its parent, not followed, None when missing. Mirrors
    fs/namei.c:lookup_one_qstr_excl(). A proc magic link is a symlink (a stand-in dentry:
    the model's proc lookup returns where it leads).

    Errors: ENAMETOOLONG (->lookup()), ENOENT (the directory was removed).
    """
    d = parent.dentry
    if d.sb.dynamic is not None:
        found = d.sb.dynamic(d, last)
        if found is None and create:
            # proc's ->lookup() fails a missing name with -ENOENT instead of a negative dentry
            raise KernelError(errno.ENOENT, f"no such entry {last!r}", where="proc_lookup")
        if isinstance(found, Path) or (d.is_root and last in ("self", "thread-self")):
            return Dentry(last, d, d.sb, S_IFLNK)
        return found
    if d.unlinked:                          # "Don't create child dentry for a dead directory."
        raise KernelError(errno.ENOENT, "directory was removed", where="lookup_one_qstr_excl")
    check_name_len(d, last)
    return d.lookup(last, create=create, kind=kind)


def filename_create(k: Kernel, task: Task, dfd: int, name: str | None,
                    want_dir: bool = False) -> tuple[Path, str]:
    """The parent and the new last component of a name to create. Mirrors
    fs/namei.c:filename_create().

    Errors: lookup errors, EEXIST (".", "..", "/", or existing), ENOENT (a trailing slash
    on a missing name unless a directory is made; proc), EROFS (after the lookup: "don't
    fail immediately if it's r/o, at least try to report other errors").
    """
    parent, last = lookup_parent(k, task, dfd, name)
    if last in _DOTS:
        raise KernelError(errno.EEXIST, "not a normal last component", where="filename_create")
    if lookup_one_qstr_excl(k, parent, last, create=True) is not None:
        raise KernelError(errno.EEXIST, f"{last!r} exists", where="lookup_one_qstr_excl")
    if name.endswith("/") and not want_dir:
        raise KernelError(errno.ENOENT, "trailing slash on a name that is not a directory",
                          where="lookup_one_qstr_excl")
    if parent.dentry.sb.dynamic is not None or parent.dentry.sb.fstype == "nsfs":
        raise KernelError(errno.ENOENT, "cannot create here", where="lookup_one_qstr_excl")
    mnt_want_write(parent)
    return parent, last


def may_delete(task: Task, dir_: Dentry, victim: Dentry, isdir: bool, mnt=None) -> None:
    """May *victim* leave *dir_*? Mirrors fs/namei.c:may_delete() (the negative-dentry
    ENOENT is the caller's). Errors: EACCES, EPERM (sticky), ENOTDIR/EBUSY (isdir: not a directory, a
    root), EISDIR (not isdir: a directory), ENOENT (the directory was removed)."""
    seen_dir = through(mnt, dir_)
    may_write_dir(task.cred, seen_dir, "may_delete")
    if check_sticky(task.cred, seen_dir, through(mnt, victim)):
        raise KernelError(errno.EPERM, "sticky directory: not the owner", where="may_delete")
    if isdir:
        if not victim.is_dir:
            raise KernelError(errno.ENOTDIR, "not a directory", where="may_delete")
        if victim.is_root:
            raise KernelError(errno.EBUSY, "a filesystem root", where="may_delete")
    elif victim.is_dir:
        raise KernelError(errno.EISDIR, "is a directory", where="may_delete")
    if dir_.unlinked:
        raise KernelError(errno.ENOENT, "directory was removed", where="may_delete")


def detach_mounts(k: Kernel, d: Dentry) -> None:
    """The mounts still on a removed name (other namespaces' ones) go, lazily, keeping
    locked pieces together. Mirrors fs/namespace.c:detach_mounts() after dont_mount()."""
    d.unlinked = True
    for m in list(MountHash.on(d)):
        if m.ns is not None:
            umount_tree(k, m, UMOUNT_CONNECTED)


def _settle_victim(k: Kernel, d: Dentry, kind: str) -> None:
    """A guessed name a recorded success removed was of the kind the call removes. Model-only."""
    rec = k.recorded
    if d.guessed and not d.children and not d.mnts and rec is not None and rec.errno is None:
        d.kind, d.unknown = kind, kind == S_IFDIR


# -- unlink, rmdir -------------------------------------------------------------------------

def do_unlinkat(k: Kernel, task: Task, dfd: int, name: str | None) -> int:
    """unlink(2). Mirrors fs/namei.c:do_unlinkat() -> vfs_unlink().

    Errors: lookup errors, EISDIR (".", "..", "/"), EROFS, ENOENT, ENOTDIR/EISDIR (a
    trailing slash), may_delete()'s, EPERM (proc), EBUSY (a mountpoint in this namespace).
    """
    parent, last = lookup_parent(k, task, dfd, name)
    if last in _DOTS:
        raise KernelError(errno.EISDIR, "not a normal last component", where="do_unlinkat")
    mnt_want_write(parent)
    d = lookup_one_qstr_excl(k, parent, last, kind=S_IFREG)
    if d is None:
        raise KernelError(errno.ENOENT, f"no such entry {last!r}", where="lookup_one_qstr_excl")
    _settle_victim(k, d, S_IFREG)
    if name.endswith("/"):
        raise KernelError(errno.EISDIR if d.is_dir else errno.ENOTDIR,
                          "trailing slash on a name to unlink", where="do_unlinkat")
    may_delete(task, parent.dentry, d, False, parent.mnt)
    if _no_dir_op(parent.dentry):
        raise KernelError(errno.EPERM, "the filesystem cannot unlink", where="vfs_unlink")
    if is_local_mountpoint(task, d):
        raise KernelError(errno.EBUSY, "a mount sits on it in this namespace", where="vfs_unlink")
    del parent.dentry.children[last]
    detach_mounts(k, d)
    return 0


def do_rmdir(k: Kernel, task: Task, dfd: int, name: str | None) -> int:
    """rmdir(2). Mirrors fs/namei.c:do_rmdir() -> vfs_rmdir().

    Errors: ENOTEMPTY (".."), EINVAL ("."), EBUSY ("/"), EROFS, ENOENT, may_delete()'s,
    EPERM (proc), EBUSY (a mountpoint in our namespace), ENOTEMPTY. Mounts of other
    namespaces on the directory are detached (detach_mounts()).
    """
    parent, last = lookup_parent(k, task, dfd, name)
    if last == "..":
        raise KernelError(errno.ENOTEMPTY, "'..' is never empty", where="do_rmdir")
    if last == ".":
        raise KernelError(errno.EINVAL, "cannot remove '.'", where="do_rmdir")
    if last == "/":
        raise KernelError(errno.EBUSY, "cannot remove the root", where="do_rmdir")
    mnt_want_write(parent)
    d = lookup_one_qstr_excl(k, parent, last)
    if d is None:
        raise KernelError(errno.ENOENT, f"no such entry {last!r}", where="do_rmdir")
    _settle_victim(k, d, S_IFDIR)
    may_delete(task, parent.dentry, d, True, parent.mnt)
    if _no_dir_op(parent.dentry):
        raise KernelError(errno.EPERM, "the filesystem cannot rmdir", where="vfs_rmdir")
    if is_local_mountpoint(task, d):
        raise KernelError(errno.EBUSY, "a mount sits on it in this namespace", where="vfs_rmdir")
    rec = k.recorded
    if d.sb.fstype in CGROUP_FS:
        # cgroup_rmdir(): its interface files go with it; child cgroups or tasks keep it
        if any(c.is_dir for c in d.children.values()) or (rec is not None and rec.errno == "EBUSY"):
            raise KernelError(errno.EBUSY, "the cgroup has children or tasks", where="cgroup_destroy_locked")
    elif d.children or (d.unknown and rec is not None and rec.errno == "ENOTEMPTY"):
        raise KernelError(errno.ENOTEMPTY, "directory not empty", where="simple_rmdir")
    del parent.dentry.children[last]
    detach_mounts(k, d)
    return 0


def sys_unlink(k: Kernel, task: Task, name: str | None) -> int:
    return do_unlinkat(k, task, uapi.AT_FDCWD, name)


def sys_rmdir(k: Kernel, task: Task, name: str | None) -> int:
    return do_rmdir(k, task, uapi.AT_FDCWD, name)


def sys_unlinkat(k: Kernel, task: Task, dfd: int, name: str | None, flags: int = 0) -> int:
    """unlinkat(2). Errors: EINVAL (a flag other than AT_REMOVEDIR), then do_rmdir()'s or
    do_unlinkat()'s."""
    if flags & ~uapi.AT_REMOVEDIR:
        raise KernelError(errno.EINVAL, "unknown unlinkat flags", where="unlinkat")
    if flags & uapi.AT_REMOVEDIR:
        return do_rmdir(k, task, dfd, name)
    return do_unlinkat(k, task, dfd, name)


# -- rename --------------------------------------------------------------------------------

def d_ancestor(p1: Dentry, p2: Dentry) -> Dentry | None:
    """The child of *p1* on the way down to *p2*, if *p1* is a strict ancestor of *p2*.
    Mirrors fs/dcache.c:d_ancestor()."""
    d = p2
    while not d.is_root:
        if d.parent is p1:
            return d
        d = d.parent
    return None


def lock_rename(new_dir: Dentry, old_dir: Dentry) -> Dentry | None:
    """The trap: the child of one parent that is an ancestor of the other. Mirrors
    fs/namei.c:lock_rename() -> lock_two_directories() (None when the parents are the same)."""
    if new_dir is old_dir:
        return None
    return d_ancestor(old_dir, new_dir) or d_ancestor(new_dir, old_dir)


def do_renameat2(k: Kernel, task: Task, olddfd: int, oldname: str | None, newdfd: int,
                 newname: str | None, flags: int = 0) -> int:
    """rename(2), renameat(2), renameat2(2). Mirrors fs/namei.c:do_renameat2() -> vfs_rename().

    Errors: EINVAL (flags), lookup errors of both parents, EXDEV (different mounts), EBUSY
    (old or new not a normal name; EEXIST for new with RENAME_NOREPLACE), EROFS, ENOENT
    (old missing; new missing with RENAME_EXCHANGE), EEXIST (RENAME_NOREPLACE), ENOTDIR (a
    trailing slash on a non-directory), EINVAL (old is an ancestor of new), ENOTEMPTY (new
    is an ancestor of old; EINVAL with RENAME_EXCHANGE), may_delete()/may_create()'s,
    EPERM (proc), EACCES (moving a directory one may not write), EBUSY (a mountpoint in
    this namespace), ENOTEMPTY (replacing a non-empty directory), EINVAL (RENAME_WHITEOUT
    on ramfs). Kernel: `sem.rename_ancestors_first` (7.0): the ancestor checks come before
    the trailing-slash ENOTDIR (__start_renaming()); 6.18 checks the slashes first.
    """
    RN, RX, RW = uapi.RENAME_NOREPLACE, uapi.RENAME_EXCHANGE, uapi.RENAME_WHITEOUT
    if flags & ~(RN | RX | RW) or (flags & (RN | RW) and flags & RX):
        raise KernelError(errno.EINVAL, "bad rename flags", where="do_renameat2")
    old_path, old_last = lookup_parent(k, task, olddfd, oldname)
    new_path, new_last = lookup_parent(k, task, newdfd, newname)
    if old_path.mnt is not new_path.mnt:
        raise KernelError(errno.EXDEV, "old and new are on different mounts", where="do_renameat2")
    if old_last in _DOTS:
        raise KernelError(errno.EBUSY, "old is not a normal name", where="do_renameat2")
    if new_last in _DOTS:
        raise KernelError(errno.EEXIST if flags & RN else errno.EBUSY, "new is not a normal name",
                          where="do_renameat2")
    mnt_want_write(old_path)
    old_dir, new_dir = old_path.dentry, new_path.dentry
    trap = lock_rename(new_dir, old_dir)
    old = lookup_one_qstr_excl(k, old_path, old_last)
    if old is None:
        raise KernelError(errno.ENOENT, f"no such entry {old_last!r}", where="lookup_one_qstr_excl")
    new = lookup_one_qstr_excl(k, new_path, new_last, kind=old.kind, create=not flags & RX)
    if new is not None and flags & RN:
        raise KernelError(errno.EEXIST, f"{new_last!r} exists", where="lookup_one_qstr_excl")
    if new is None and flags & RX:
        raise KernelError(errno.ENOENT, f"no such entry {new_last!r}", where="lookup_one_qstr_excl")
    ancestors_first = k.sem.rename_ancestors_first
    if ancestors_first:                     # 7.0: __start_renaming()
        _rename_traps(old, new, trap, flags)
    old_slash, new_slash = oldname.endswith("/"), newname.endswith("/")
    if flags & RX and not new.is_dir and new_slash:
        raise KernelError(errno.ENOTDIR, "trailing slash on a non-directory", where="do_renameat2")
    if not old.is_dir and (old_slash or (not flags & RX and new_slash)):
        raise KernelError(errno.ENOTDIR, "trailing slash on a non-directory", where="do_renameat2")
    if not ancestors_first:
        _rename_traps(old, new, trap, flags)
    vfs_rename(k, task, old_dir, old, new_dir, new, new_last, flags, old_path.mnt)
    return 0


def _rename_traps(old: Dentry, new: Dentry | None, trap: Dentry | None, flags: int) -> None:
    """lock_rename()'s trap: the source must not be an ancestor of the target (EINVAL),
    nor the target of the source (ENOTEMPTY; EINVAL for RENAME_EXCHANGE)."""
    if old is trap:
        raise KernelError(errno.EINVAL, "old is an ancestor of new", where="do_renameat2")
    if new is not None and new is trap:
        raise KernelError(errno.EINVAL if flags & uapi.RENAME_EXCHANGE else errno.ENOTEMPTY,
                          "new is an ancestor of old", where="do_renameat2")


def vfs_rename(k: Kernel, task: Task, old_dir: Dentry, old: Dentry, new_dir: Dentry,
               new: Dentry | None, new_last: str, flags: int, mnt=None) -> None:
    """Mirrors fs/namei.c:vfs_rename() and mm/shmem.c:shmem_rename2()/simple_rename():
    the checks, then d_move() (or d_exchange()); a replaced name's mounts of other
    namespaces are detached."""
    if old is new:
        return                                  # source == target
    is_dir = old.is_dir
    may_delete(task, old_dir, old, is_dir, mnt)
    if new is None:
        may_create(task, new_dir, "may_create", mnt)
    else:
        may_delete(task, new_dir, new, is_dir if not flags & uapi.RENAME_EXCHANGE else new.is_dir, mnt)
    if _no_dir_op(old_dir):
        raise KernelError(errno.EPERM, "the filesystem cannot rename", where="vfs_rename")
    if new_dir is not old_dir:                  # '..' flips: write permission on what moves
        for moving in (old, new if flags & uapi.RENAME_EXCHANGE else None):
            if moving is not None and moving.is_dir and \
                    not generic_permission(task.cred, through(mnt, moving), MAY_WRITE):
                raise KernelError(errno.EACCES, "cannot write the directory that moves",
                                  where="vfs_rename")
    if is_local_mountpoint(task, old) or (new is not None and is_local_mountpoint(task, new)):
        raise KernelError(errno.EBUSY, "a mount sits on it in this namespace", where="vfs_rename")
    if flags & uapi.RENAME_WHITEOUT and old_dir.sb.fstype != "tmpfs":
        raise KernelError(errno.EINVAL, "no whiteouts here", where="simple_rename")
    rec = k.recorded
    if not flags & uapi.RENAME_EXCHANGE and new is not None and new.is_dir and (
            new.children or (new.unknown and rec is not None and rec.errno == "ENOTEMPTY")):
        raise KernelError(errno.ENOTEMPTY, "directory not empty", where="simple_rename")
    old_last = old.name
    del old_dir.children[old_last]
    if flags & uapi.RENAME_EXCHANGE:
        del new_dir.children[new_last]
        new.name, new.parent = old_last, old_dir
        old_dir.children[old_last] = new
    elif new is not None:
        del new_dir.children[new_last]
        detach_mounts(k, new)
    old.name, old.parent = new_last, new_dir
    new_dir.own_children()[new_last] = old
    if flags & uapi.RENAME_WHITEOUT:
        old_dir.create(old_last, S_IFCHR, task.cred.euid, 0)


def sys_rename(k: Kernel, task: Task, oldname: str | None, newname: str | None) -> int:
    return do_renameat2(k, task, uapi.AT_FDCWD, oldname, uapi.AT_FDCWD, newname)


def sys_renameat(k: Kernel, task: Task, olddfd: int, oldname: str | None, newdfd: int,
                 newname: str | None) -> int:
    return do_renameat2(k, task, olddfd, oldname, newdfd, newname)


# -- symlink, readlink, mknod ----------------------------------------------------------------

def do_symlinkat(k: Kernel, task: Task, target: str | None, newdfd: int, name: str | None) -> int:
    """symlink(2), symlinkat(2). Mirrors fs/namei.c:do_symlinkat() -> vfs_symlink(). The body is not
    resolved: any string of 1 to PATH_MAX-1 bytes.

    Errors: EFAULT/ENAMETOOLONG/ENOENT (the body, by getname()), filename_create()'s,
    may_create()'s.
    """
    body = getname(target, 0)
    parent, last = filename_create(k, task, newdfd, name)
    may_create(task, parent.dentry, "vfs_symlink", parent.mnt)
    if parent.dentry.sb.fstype in ("nullfs", "devpts"):
        raise KernelError(errno.EPERM, "the filesystem has no ->symlink", where="vfs_symlink")
    d = create_inode(task, parent.dentry, last, S_IFLNK, 0o777, parent.mnt)
    d.target = body
    return 0


def sys_symlink(k: Kernel, task: Task, target: str | None, name: str | None) -> int:
    return do_symlinkat(k, task, target, uapi.AT_FDCWD, name)


def do_readlinkat(k: Kernel, task: Task, dfd: int, name: str | None, buf=None,
                  bufsiz: int = 0) -> int:
    """readlink(2), readlinkat(2): the body, cut to *bufsiz* bytes (in `k.last_out`), and
    its length. Mirrors fs/stat.c:do_readlinkat() -> fs/namei.c:vfs_readlink().

    Errors: EINVAL (bufsiz <= 0), lookup errors (the last component is not followed; ""
    names dfd itself), EINVAL (not a symlink).
    A name of unknown contents that a recorded success read is the link recorded.
    """
    if bufsiz <= 0:
        raise KernelError(errno.EINVAL, "bufsiz must be positive", where="do_readlinkat")
    p = user_path_at(k, task, dfd, name, LOOKUP_EMPTY)
    d = p.dentry
    rec = k.recorded
    body = proc_link_body(k, task, dfd, name)
    if body is None:
        if rec is not None and rec.errno is None and all(x.guessed and not x.mnts for x in walk(d)):
            # a guessed directory earlier walks went through is the link they followed:
            # what they guessed below it lies below the link's target (decided again there)
            d.kind, d.unknown, d.children = S_IFLNK, False, {}
            d.target = _recorded_body(rec)
        if d.kind != S_IFLNK:
            raise KernelError(errno.EINVAL, "not a symbolic link", where="do_readlinkat")
        body = d.target or ""
    data = body.encode("utf-8", "surrogateescape")[:bufsiz]
    k.last_out = data.decode("utf-8", "surrogateescape")
    return len(data)


def _recorded_body(rec) -> str:
    return rec.out if isinstance(rec.out, str) else "?" * max(rec.ret, 1)


def proc_link_body(k: Kernel, task: Task, dfd: int, name: str | None) -> str | None:
    """The body of a proc symlink the walk jumps through (None for any other name):
    /proc/self and /proc/thread-self (proc_self_get_link(), proc_thread_self_get_link():
    the caller's pid), and magic links (ns/*, root, cwd), whose text the model answers
    from the recorded result (proc_ns_readlink(), proc_pid_readlink()). Model-only split:
    the model's proc lookup returns where such a link leads, not the link."""
    if not name or name.endswith("/"):
        return None
    parent, last = lookup_parent(k, task, dfd, name)
    dyn = parent.dentry.sb.dynamic
    if dyn is None or last in _DOTS:
        return None
    if parent.dentry.is_root and last in ("self", "thread-self"):
        nr = proc_self_nr(task, parent.dentry.sb)
        if not nr:                                 # not in the proc's pid namespace
            raise KernelError(errno.ENOENT, f"/proc/{last}: the caller is not in this proc's "
                              "pid namespace", where="proc_self_get_link")
        return str(nr) if last == "self" else f"{nr}/task/{nr}"
    found = dyn(parent.dentry, last)
    if not isinstance(found, Path):
        return None
    if last in ("root", "cwd", "exe") or parent.dentry.name == "fd":   # proc_pid_readlink(): d_path()
        text = prepend_path(found.mnt, found.dentry, task.fs.root)
        if text is not None:
            return text + (" (deleted)" if found.dentry.unlinked else "")
    rec = k.recorded
    return _recorded_body(rec) if rec is not None and rec.errno is None else ""


def sys_readlink(k: Kernel, task: Task, name: str | None, buf=None, bufsiz: int = 0) -> int:
    return do_readlinkat(k, task, uapi.AT_FDCWD, name, buf, bufsiz)


def may_mknod(mode: int) -> str:
    """The kind a mknod mode makes. Mirrors fs/namei.c:may_mknod(). Errors: EPERM (S_IFDIR), EINVAL."""
    fmt = mode & uapi.S_IFMT
    if fmt == uapi.S_IFDIR:
        raise KernelError(errno.EPERM, "mknod cannot make directories", where="may_mknod")
    if fmt not in _MODE_KINDS:
        raise KernelError(errno.EINVAL, "unknown file type", where="may_mknod")
    return _MODE_KINDS[fmt]


def do_mknodat(k: Kernel, task: Task, dfd: int, name: str | None, mode: int = 0,
               dev: int | None = 0) -> int:
    """mknod(2), mknodat(2). Mirrors fs/namei.c:do_mknodat() -> vfs_create()/vfs_mknod(). Model-only
    on the live backend (the sandbox's seccomp filter refuses mknod).

    Errors: may_mknod()'s, filename_create()'s, may_create()'s, EPERM (a device node
    without CAP_MKNOD in the initial user namespace; a char device 0:0 is a whiteout).
    """
    kind = may_mknod(mode)
    parent, last = filename_create(k, task, dfd, name)
    may_create(task, parent.dentry, "vfs_mknod", parent.mnt)
    whiteout = kind == S_IFCHR and not dev
    if kind in (S_IFCHR, S_IFBLK) and not whiteout and not ns_capable(task.cred, k.init_user_ns,
                                                                           uapi.CAP_MKNOD):
        raise KernelError(errno.EPERM, "device nodes need CAP_MKNOD", where="vfs_mknod")
    if parent.dentry.sb.fstype in ("nullfs", "devpts"):
        raise KernelError(errno.EPERM, "the filesystem has no ->mknod", where="vfs_mknod")
    create_inode(task, parent.dentry, last, kind, mode & ~task.fs.umask & 0o7777, parent.mnt)
    return 0


def sys_mknod(k: Kernel, task: Task, name: str | None, mode: int = 0, dev: int | None = 0) -> int:
    return do_mknodat(k, task, uapi.AT_FDCWD, name, mode, dev)


for _name, _handler in (("unlink", sys_unlink), ("unlinkat", sys_unlinkat), ("rmdir", sys_rmdir),
                        ("rename", sys_rename), ("renameat", sys_renameat),
                        ("renameat2", do_renameat2), ("symlink", sys_symlink),
                        ("symlinkat", do_symlinkat), ("readlink", sys_readlink),
                        ("readlinkat", do_readlinkat), ("mknod", sys_mknod), ("mknodat", do_mknodat)):
    register(_name, _handler)
