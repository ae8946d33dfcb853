"""Path resolution: the parts of fs/namei.c that cross mounts.

Mirrors path_lookupat()/link_path_walk(): components are looked up in the current dentry,
then `traverse_mounts()` steps onto the topmost mount stacked there; `..` goes through
`follow_dotdot()` (stop at the process root, climb out of a mount root to its mountpoint,
stay put at a namespace root). The starting point is *not* traversed (nd_jump_root() sets
nd->path = nd->root): after a mount on "/", "/a" still resolves in the old root's
directory until the process chroots. LOOKUP_DOWN traverses the start (path_lookupat()'s
handle_lookup_down() before the walk); LOOKUP_MOUNTPOINT traverses the *end* (after
the walk), so umount2("/") sees what is mounted on top of the root.

Releasing a looked-up path (path_put() -> mntput()) clears its mount's MNT_EXPIRE mark;
the walk itself is RCU-mode and takes no references on the mounts it passes.

Symlinks: pick_link() follows a link met inside the path always, the last one only with
LOOKUP_FOLLOW or a trailing slash (path_lookupat()'s lookup_last()); an absolute body
restarts at the process root (nd_jump_root(), not traversed), a relative one in the link's
directory; 40 links per walk (MAXSYMLINKS), and none on a nosymfollow mount (ELOOP).

Limitations: no DAC checks on the walk; fs.protected_symlinks is taken as 0 (its value on
the live machine), so may_follow_link() never refuses.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .errors import KernelError
from .fs import D_KIND, D_LNK, D_MODE_SHIFT, D_UNLINKED, S_IFLNK
from .mount import MNT
from .permission import MAY_EXEC, generic_permission, through
from .task import Path
from .uapi import (AT_EMPTY_PATH, AT_FDCWD, AT_NO_AUTOMOUNT, AT_SYMLINK_NOFOLLOW, RESOLVE_BENEATH,
                   RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV)

if TYPE_CHECKING:
    from .kernel import Kernel
    from .task import Task

LOOKUP_FOLLOW = 0x1
LOOKUP_DIRECTORY = 0x2
LOOKUP_AUTOMOUNT = 0x4
LOOKUP_EMPTY = 0x4000
LOOKUP_DOWN = 0x8000
LOOKUP_MOUNTPOINT = 0x80


def traverse_mounts(k: Kernel, p: Path) -> Path:
    """Step onto the topmost mount stacked on *p*. Mirrors traverse_mounts()."""
    while True:
        child = k.lookup_mnt(p.mnt, p.dentry)
        if child is None:
            return p
        p = Path(child, child.root)


def follow_dotdot(k: Kernel, p: Path, root: Path) -> Path:
    """Mirrors follow_dotdot() + choose_mountpoint(), then step_into()'s mount traversal."""
    if not p.same(root):
        if p.dentry is p.mnt.root:
            m = p.mnt
            up = None
            while m.has_parent:
                mountpoint = m.mountpoint
                m = m.parent
                if root.dentry is mountpoint and root.mnt is m:
                    break
                if mountpoint is not m.root:
                    up = Path(m, mountpoint)
                    break
            if up is None:
                return traverse_mounts(k, p)          # in_root
            p = up
        p = Path(p.mnt, p.dentry.parent)
    return traverse_mounts(k, p)


def _restricted_dotdot(k: Kernel, p: Path, root: Path, nd: NameiData) -> Path:
    """follow_dotdot() under openat2()'s restrictions: ".." at the walk's root is EXDEV
    under RESOLVE_BENEATH (in_root), as is leaving or entering a mount under
    RESOLVE_NO_XDEV (choose_mountpoint(), then handle_mounts())."""
    if p.same(root) and nd.resolve & RESOLVE_BENEATH:
        raise _exdev('".." above the RESOLVE_BENEATH root', "follow_dotdot")
    up = follow_dotdot(k, p, root)
    if nd.resolve & RESOLVE_NO_XDEV and up.mnt is not p.mnt:
        raise _exdev('".." across a mount under RESOLVE_NO_XDEV', "follow_dotdot")
    return up


def at_lookup_flags(flags: int, nofollow: int = AT_SYMLINK_NOFOLLOW,
                    no_automount: int = AT_NO_AUTOMOUNT, empty_path: int = AT_EMPTY_PATH) -> int:
    """LOOKUP_* for a *at() call's flags: follow symlinks and automount unless told not to,
    accept "" with the empty-path flag. The preamble of open_tree(), mount_setattr() and
    fspick() (which has its own FSPICK_* bits for the same three)."""
    lookup = LOOKUP_FOLLOW | LOOKUP_AUTOMOUNT
    if flags & nofollow:
        lookup &= ~LOOKUP_FOLLOW
    if flags & no_automount:
        lookup &= ~LOOKUP_AUTOMOUNT
    if flags & empty_path:
        lookup |= LOOKUP_EMPTY
    return lookup


def start_path(task: Task, dfd: int, name: str, flags: int) -> Path:
    """path_init(): where a walk starts. Errors: EBADF, ENOTDIR (dfd not a directory)."""
    if name.startswith("/"):
        return task.fs.root
    if dfd == AT_FDCWD:
        return task.fs.pwd
    f = task.files.get(dfd)
    if f.path is None:
        raise KernelError(errno.ENOTDIR if name else errno.EBADF, "dfd has no path", where="path_init")
    if name and not f.path.dentry.is_dir:
        raise KernelError(errno.ENOTDIR, "dfd is not a directory", where="path_init")
    return f.path


def scoped_start(task: Task, dfd: int, name: str, nd: NameiData) -> Path:
    """path_init() under openat2()'s RESOLVE_* flags: an absolute name jumps to the root
    (EXDEV under RESOLVE_BENEATH) unless RESOLVE_IN_ROOT makes it start at *dfd*; a scoped
    walk's root is where it starts."""
    absolute = name.startswith("/")
    if absolute and not nd.resolve & RESOLVE_IN_ROOT:
        if nd.resolve & RESOLVE_BENEATH:
            raise _exdev("an absolute path in a RESOLVE_BENEATH walk", "nd_jump_root")
        return task.fs.root
    start = start_path(task, dfd, name.lstrip("/") or ".", 0) if absolute else \
        start_path(task, dfd, name, 0)
    if nd.scoped:
        nd.root = start
    return start


PATH_MAX = 4096                 # include/uapi/linux/limits.h, with the NUL
NAME_MAX = 255


def split(name: str) -> list[str]:
    return [c for c in name.split("/") if c]


def getname(name: str | None, flags: int) -> str:
    """The path as the kernel copies it in. Mirrors getname_flags().

    Errors: EFAULT (NULL), ENAMETOOLONG (PATH_MAX bytes or more with the NUL), ENOENT (empty
    without LOOKUP_EMPTY), in that order.
    """
    if name is None:
        if flags & LOOKUP_EMPTY:
            return ""
        raise KernelError(errno.EFAULT, "NULL path", where="getname")
    if len(name.encode("utf-8", "surrogateescape")) >= PATH_MAX:
        raise KernelError(errno.ENAMETOOLONG, "path of PATH_MAX bytes or more", where="getname")
    if name == "" and not (flags & LOOKUP_EMPTY):
        raise KernelError(errno.ENOENT, "empty path", where="getname")
    return name


def check_name_len(d, name: str) -> None:
    """A name the filesystem's ->lookup() refuses as too long (simple_lookup(), and the
    disk filesystems' own NAME_MAX checks); proc answers a miss with ENOENT instead.

    Errors: ENAMETOOLONG.
    """
    if len(name.encode("utf-8", "surrogateescape")) > NAME_MAX and d.sb.dynamic is None:
        raise KernelError(errno.ENAMETOOLONG, "a path component longer than NAME_MAX",
                          where="simple_lookup")


MAXSYMLINKS = 40


class NameiData:
    """struct nameidata, reduced to what outlives one component: the symlink count, whether
    a followed link's body ended in '/' (LOOKUP_DIRECTORY for the result), and openat2()'s
    restrictions: its RESOLVE_* flags (the LOOKUP_NO_*, LOOKUP_BENEATH, LOOKUP_IN_ROOT
    they stand for) and, for the scoped ones, the root the walk may not leave (nd->root)."""

    __slots__ = ("total_link_count", "directory", "resolve", "root")

    def __init__(self, resolve: int = 0) -> None:
        self.total_link_count = 0
        self.directory = False
        self.resolve = resolve
        self.root: Path | None = None

    @property
    def scoped(self) -> bool:
        """LOOKUP_IS_SCOPED"""
        return bool(self.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT))


def _exdev(why: str, where: str) -> KernelError:
    return KernelError(errno.EXDEV, why, where=where)


def jump_link(nd: NameiData, at: Path, to: Path) -> None:
    """nd_jump_link()'s refusals for a proc magic link: ELOOP under RESOLVE_NO_SYMLINKS
    (pick_link()) or RESOLVE_NO_MAGICLINKS; EXDEV to another mount under RESOLVE_NO_XDEV,
    and always in a scoped walk."""
    r = nd.resolve
    if r & (RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS):
        raise KernelError(errno.ELOOP, "a magic link, refused by RESOLVE_NO_*LINKS",
                          where="nd_jump_link")
    if r & RESOLVE_NO_XDEV and to.mnt is not at.mnt or nd.scoped:
        raise _exdev("a magic link out of the walk's mount or scope", "nd_jump_link")


def jump_root(nd: NameiData, at: Path) -> None:
    """nd_jump_root()'s refusals (an absolute symlink): EXDEV under RESOLVE_BENEATH, and
    under RESOLVE_NO_XDEV from another mount than the root's."""
    if nd.resolve & RESOLVE_BENEATH:
        raise _exdev("an absolute path in a RESOLVE_BENEATH walk", "nd_jump_root")
    if nd.resolve & RESOLVE_NO_XDEV and nd.root is not None and at.mnt is not nd.root.mnt:
        raise _exdev("a jump to the root's mount under RESOLVE_NO_XDEV", "nd_jump_root")


def pick_link(k: Kernel, task: Task, nd: NameiData, link: Path) -> tuple[Path | None, list[str]]:
    """Where a symlink's body starts and its components. Mirrors pick_link() with
    reserve_stack() and nd_jump_root(): None as start means the caller's directory.

    Errors: ELOOP (the 41st link of one walk; a link on a nosymfollow mount).
    """
    if nd.total_link_count >= MAXSYMLINKS:
        raise KernelError(errno.ELOOP, "too many levels of symbolic links", where="reserve_stack")
    nd.total_link_count += 1
    if nd.resolve & RESOLVE_NO_SYMLINKS:
        raise KernelError(errno.ELOOP, "a symlink, refused by RESOLVE_NO_SYMLINKS", where="pick_link")
    if link.mnt.flags & MNT.NOSYMFOLLOW:
        raise KernelError(errno.ELOOP, "symlink on a nosymfollow mount", where="pick_link")
    body = link.dentry.target or ""
    if not body.startswith("/"):
        return None, split(body)
    if nd.resolve:
        jump_root(nd, link)
    return (nd.root if nd.root is not None else task.fs.root), split(body)


_MOUNT_LOOPS = frozenset({"mount", "move_mount"})
_PROC_SELF = ("self", "thread-self")


def _guess_link(k: Kernel, d) -> None:
    """A name guessed in a directory of unknown contents that the walk is about to follow,
    while the recorded result is ELOOP, is a link that loops onto itself. Model-only.

    Not for mount(2) and move_mount(2): their ELOOP also means a mount moved under itself
    or a namespace file that would make a loop (do_move_mount(), check_for_nsfs_mounts()).
    """
    rec = k.recorded
    if k.recorded_call in _MOUNT_LOOPS:
        return
    if rec is not None and rec.errno == "ELOOP" and d.guessed and not d.children and not d.mnts:
        d.kind, d.target, d.unknown = S_IFLNK, d.name, False


def may_lookup(task: Task, d, where: str = "may_lookup", mnt=None) -> None:
    """inode_permission(dir, MAY_EXEC): before each component (link_path_walk()), and on
    the target of chdir, fchdir and chroot (MAY_EXEC | MAY_CHDIR). Search permission by the
    owner's bits if the caller owns the directory, else the group's if it is in the
    directory's group, else the others', else CAP_DAC_READ_SEARCH over an inode whose ids
    its namespace maps
    (generic_permission()), as the mount *mnt* shows its owner and group. Errors: EACCES."""
    if not generic_permission(task.cred, through(mnt, d), MAY_EXEC):
        raise KernelError(errno.EACCES, "no search permission on the directory", where=where)


def walk(k: Kernel, task: Task, start: Path, comps: list[str], nd: NameiData | None = None,
         last: str | None = None) -> Path:
    """link_path_walk() + walk_component() over *comps*, crossing mounts and following
    symlinks (step_into()). *last*: None when every component is inside the path (the
    parent walk, a link body met inside the path: links always followed), "follow" or
    "nofollow" for a final component (lookup_last(); a trailing link's body is walked the
    same way)."""
    nd = nd if nd is not None else NameiData()
    p = start
    root = task.fs.root if nd.root is None else nd.root
    for i, c in enumerate(comps):
        if not p.dentry.is_dir:
            raise KernelError(errno.ENOTDIR, "a path component is not a directory", where="link_path_walk")
        if ~(p.dentry.bits >> D_MODE_SHIFT) & 0o111:      # may_lookup(), unless all may search
            may_lookup(task, p.dentry, mnt=p.mnt)
        if c == ".":
            continue
        if c == "..":
            p = follow_dotdot(k, p, root) if not nd.resolve else _restricted_dotdot(k, p, root, nd)
            continue
        if p.dentry.bits & D_UNLINKED:
            raise KernelError(errno.ENOENT, "directory was removed", where="lookup_slow")
        dyn = p.dentry.sb.dynamic
        if dyn is None:
            check_name_len(p.dentry, c)
        d = dyn(p.dentry, c) if dyn is not None else p.dentry.lookup(c)
        if d is None:
            raise KernelError(errno.ENOENT, f"no such entry {c!r}", where="walk_component")
        if (dyn is not None and (isinstance(d, Path) or p.dentry.is_root and c in _PROC_SELF)
                and not (i == len(comps) - 1 and last == "nofollow")):
            # proc's self/thread-self and magic links are symlinks too (pick_link())
            if nd.resolve & RESOLVE_NO_SYMLINKS:
                raise KernelError(errno.ELOOP, "a symlink, refused by RESOLVE_NO_SYMLINKS",
                                  where="pick_link")
            if p.mnt.flags & MNT.NOSYMFOLLOW:
                raise KernelError(errno.ELOOP, "symlink on a nosymfollow mount", where="pick_link")
        if isinstance(d, Path):
            if nd.resolve and not (i == len(comps) - 1 and last == "nofollow"):
                jump_link(nd, p, d)
            p = d                               # a proc magic link: nd_jump_link()
            continue
        nxt = traverse_mounts(k, Path(p.mnt, d))
        if nd.resolve & RESOLVE_NO_XDEV and nxt.mnt is not p.mnt:
            raise _exdev("a mount crossed under RESOLVE_NO_XDEV", "traverse_mounts")
        trailing = i == len(comps) - 1 and last is not None
        if trailing and last == "nofollow":
            return nxt
        if i == len(comps) - 1:
            _guess_link(k, nxt.dentry)          # the last name followed: the likeliest loop
        if nxt.dentry.bits & D_KIND == D_LNK:
            jump, body = pick_link(k, task, nd, nxt)
            if trailing and (nxt.dentry.target or "").endswith("/"):
                nd.directory = True             # lookup_last(): a body ending in '/'
            nxt = walk(k, task, jump or p, body, nd, last if trailing else None)
        p = nxt
    return p


def user_path_at(k: Kernel, task: Task, dfd: int, name: str | None, flags: int = LOOKUP_FOLLOW,
                 nd: NameiData | None = None) -> Path:
    """Resolve *name* relative to *dfd*. Mirrors user_path_at()/filename_lookup(); *nd*
    carries openat2()'s restrictions.

    Errors: EFAULT (NULL name), ENAMETOOLONG, ENOENT (empty name without LOOKUP_EMPTY,
    missing entry), ENOTDIR, EBADF; EXDEV, ELOOP (openat2()'s RESOLVE_*).
    """
    name = getname(name, flags)
    nd = nd if nd is not None else NameiData()
    start = start_path(task, dfd, name, flags) if not nd.resolve else scoped_start(task, dfd, name, nd)
    if flags & LOOKUP_DOWN:
        start = traverse_mounts(k, start)
    follow = flags & LOOKUP_FOLLOW or name.endswith("/")    # lookup_last(): a trailing slash follows
    p = walk(k, task, start, split(name), nd, "follow" if follow else "nofollow")
    if flags & LOOKUP_MOUNTPOINT:
        p = traverse_mounts(k, p)
    else:
        p.mnt.expiry_mark = False         # path_put() -> mntput() (umount2 uses mntput_no_expire())
    if (name.endswith("/") or flags & LOOKUP_DIRECTORY or nd.directory) and not p.dentry.is_dir:
        raise KernelError(errno.ENOTDIR, "not a directory", where="complete_walk")
    return p


def lookup_parent(k: Kernel, task: Task, dfd: int, name: str | None,
                  nd: NameiData | None = None) -> tuple[Path, str]:
    """filename_parentat(): the parent directory and the last component.

    The last component is returned as typed ("." and ".." included) for the caller to judge.
    Errors: EFAULT, ENAMETOOLONG, ENOENT (empty), ENOTDIR, EBADF; EXDEV, ELOOP (openat2()).
    """
    name = getname(name, 0)
    comps = split(name)
    start = (start_path(task, dfd, name, 0) if nd is None or not nd.resolve
             else scoped_start(task, dfd, name, nd))
    if not comps:
        return start, "/"
    parent = walk(k, task, start, comps[:-1], nd)
    parent.mnt.expiry_mark = False        # path_put() -> mntput()
    if not parent.dentry.is_dir:
        raise KernelError(errno.ENOTDIR, "parent is not a directory", where="filename_parentat")
    if ~(parent.dentry.bits >> D_MODE_SHIFT) & 0o111:   # link_path_walk(): the last name too
        may_lookup(task, parent.dentry, mnt=parent.mnt)
    return parent, comps[-1]
