"""/proc/<pid>/{mountinfo,mounts,mountstats}: fs/proc_namespace.c:show_mountinfo(),
show_vfsmnt(), show_vfsstat(), mounts_open_common().

Mounts of the reader's namespace in unique-id order (the ns->mounts rbtree walk), each
line formatted byte for byte as the kernel does; a mount whose mountpoint is not reachable
from the reader's root is skipped (seq_path_root() answering SEQ_SKIP).

An open table file is a seq_file (seq_file.py) over mounts_op: m_start(), m_next(),
m_stop(), m_show() -> the file's `show`. Deviation: the kernel keeps those four in
fs/namespace.c (for namespace_sem); they live here, next to their only user.

Limitations: no filesystem has ->show_devname(), ->show_stats() or a subtype, and no
superblock flag shows (sync, dirsync, mand, lazytime: show_sb_opts() prints nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .fs import MINORBITS, MINORMASK
from .mount import ID_MASK, MNT, MntNamespace, Mount, T
from .namespace import is_path_reachable
from .pnode import get_dominating_id
from .seq_file import SEQ_SKIP, SeqFile

if TYPE_CHECKING:
    from .fs import Dentry
    from .task import Path, Task

_ESC = {" ": "\\040", "\t": "\\011", "\n": "\\012", "\\": "\\134", "#": "\\043"}
_PATH_ESC = " \t\n\\"                   # seq_path_root()/seq_dentry(): no '#'


MNT_OPTS = ((MNT.NOSUID, ",nosuid"), (MNT.NODEV, ",nodev"), (MNT.NOEXEC, ",noexec"),
            (MNT.NOATIME, ",noatime"), (MNT.NODIRATIME, ",nodiratime"),
            (MNT.RELATIME, ",relatime"), (MNT.NOSYMFOLLOW, ",nosymfollow"))


_MANGLE = str.maketrans(_ESC)
_MANGLE_PATH = str.maketrans({c: _ESC[c] for c in _PATH_ESC})


def mangle(s: str) -> str:
    """mangle(): seq_escape(m, s, " \\t\\n\\\\#"), octal escapes, for a devname or a type.

    Kernel: '#' too (observed on 6.18: source "a#b" shows as a\\043b)."""
    if " " not in s and "\\" not in s and "#" not in s and "\t" not in s and "\n" not in s:
        return s                        # the common case, without translate()'s slow path
    return s.translate(_MANGLE)


def mangle_path(s: str) -> str:
    """The escapes of seq_path_root() and seq_dentry() (" \\t\\n\\\\"): '#' stays."""
    if " " not in s and "\\" not in s and "\t" not in s and "\n" not in s:
        return s
    return s.translate(_MANGLE_PATH)


def prepend_path(mnt: Mount, dentry: Dentry, root: Path) -> str | None:
    """The path of (mnt, dentry) as seen from *root*, or None when unreachable.

    Mirrors fs/d_path.c:__prepend_path() as used by seq_path_root(): climbing out of a
    mount root goes to its mountpoint; reaching a mount with no parent before *root* means
    the path is outside the reader's root (or detached).
    """
    parts: list[str] = []
    rd, rm = root.dentry, root.mnt
    while dentry is not rd or mnt is not rm:
        if dentry is mnt.root:
            parent = mnt.parent
            if parent is not mnt:            # mnt_has_parent()
                dentry = mnt.mountpoint
                mnt = parent
                continue
            return None
        up = dentry.parent
        if up is dentry:
            return None                    # escaped
        parts.append(dentry.name)
        dentry = up
    parts.reverse()
    return "/" + "/".join(parts)


def show_mnt_opts(flags: MNT) -> str:
    """show_mnt_opts() with "ro"/"rw" first; memoised per flag word (a few dozen exist)."""
    s = _MNT_OPTS_SHOWN.get(flags)
    if s is None:
        s = _MNT_OPTS_SHOWN[flags] = _show_mnt_opts(flags)
    return s


_MNT_OPTS_SHOWN: dict[int, str] = {}


def _show_mnt_opts(flags: MNT) -> str:
    s = "ro" if flags & MNT.READONLY else "rw"
    for bit, text in MNT_OPTS:
        if flags & bit:
            s += text
    if flags & MNT.IDMAPPED:
        s += ",idmapped"
    return s


def show_mountinfo(r: Mount, root: Path) -> str | None:
    """One mountinfo line for *r*, or None when seq_path_root() skips it."""
    where = prepend_path(r, r.root, root)
    if where is None:
        return None
    sb = r.root.sb
    flags = r.flags
    tags = ""                               # the optional fields
    if flags & MNT.SHARED:
        tags = f" shared:{r.group_id}"
    if r.master is not None:
        master = r.master.group_id
        dom = get_dominating_id(r, root.mnt, root.dentry, is_path_reachable)
        tags += f" master:{master}"
        if dom and dom != master:
            tags += f" propagate_from:{dom}"
    if r.t_flags & T.UNBINDABLE:
        tags += " unbindable"
    # the root: the superblock's ->show_path() if it has one (nsfs_show_path(): "net:[N]",
    # the namespace file's own name), else seq_dentry()
    top = r.root.name if sb.fstype == "nsfs" else mangle_path(r.root.dentry_path())
    # mnt_id, the parent's, MAJOR:MINOR(s_dev), read off the packed fields (a hot loop)
    dev = sb.s_dev
    return (f"{r.ids & ID_MASK} {r.parent.ids & ID_MASK} {dev >> MINORBITS}:{dev & MINORMASK} "
            f"{top} {mangle_path(where)} {show_mnt_opts(flags)}"
            f"{tags} - {mangle(sb.fstype)} {mangle(r.devname)} {sb.show_options()}\n")


def show_vfsmnt(r: Mount, root: Path) -> str | None:
    """One /proc/<pid>/mounts line (fstab(5) form), or None when seq_path_root() skips it.

    Mirrors fs/proc_namespace.c:show_vfsmnt(): devname, mountpoint, type, then " ro" when
    __mnt_is_readonly() (the mount's MNT_READONLY or the superblock's SB_RDONLY), the
    mount's options, the filesystem's own options, and " 0 0".
    """
    where = prepend_path(r, r.root, root)
    if where is None:
        return None
    ro = r.flags & MNT.READONLY or r.sb.rdonly
    opts = ("ro" if ro else "rw") + show_mnt_opts(r.flags)[2:] + \
        "".join("," + o for o in r.sb.options)
    return f"{mangle(r.devname)} {mangle_path(where)} {mangle(r.sb.fstype)} {opts} 0 0\n"


def show_vfsstat(r: Mount, root: Path) -> str | None:
    """One /proc/<pid>/mountstats line, or None when seq_path_root() skips it.

    Mirrors fs/proc_namespace.c:show_vfsstat(): "device D mounted on P with fstype T"
    ("no device" without a devname); no filesystem here has ->show_stats() (nfs's).
    """
    where = prepend_path(r, r.root, root)
    if where is None:
        return None
    dev = "no device" if r.devname is None else f"device {mangle(r.devname)}"
    return f"{dev} mounted on {mangle_path(where)} with fstype {mangle(r.sb.fstype)}\n"


SHOW = {"mountinfo": show_mountinfo, "mounts": show_vfsmnt, "mountstats": show_vfsstat}


def mountinfo(task: Task) -> str:
    """The whole text of /proc/<task>/mountinfo as *task* would read it."""
    root = task.fs.root
    out = []
    for m in task.mnt_ns:
        line = show_mountinfo(m, root)
        if line is not None:
            out.append(line)
    return "".join(out)


class ProcMounts:
    """struct proc_mounts: what mounts_open_common() pinned for the reader, the namespace
    and the root of the task the file names, as they were at open time."""

    __slots__ = ("ns", "root", "pos_is_mnt_id", "show")

    def __init__(self, ns: MntNamespace, root: Path, pos_is_mnt_id: bool,
                 show=show_mountinfo) -> None:
        self.ns = ns
        self.root = root
        self.pos_is_mnt_id = pos_is_mnt_id     # versions.Semantics.mountinfo_pos_is_mnt_id
        self.show = show                       # kernel: p->show


def mnt_find_id_at(ns: MntNamespace, mnt_id: int) -> Mount | None:
    """The first mount of *ns* whose unique id is >= *mnt_id*. Mirrors mnt_find_id_at()."""
    return next(ns.mounts.from_id(mnt_id), None)


class MountsOp:
    """mounts_op: the ns->mounts walk behind a mountinfo seq_file; *pos is `m.index`.

    Kernel: `ProcMounts.pos_is_mnt_id` (`sem.mountinfo_pos_is_mnt_id`, 7.0-rc2
    4a403d7aa907 "namespace: fix proc mount iteration"): m_start() sets *pos to the id of
    the mount it found and m_next() past the end sets it to the last id + 1. Before, m_start()
    left *pos alone and m_next() did ++*pos first: a restart after the mount at *pos went
    away (or after the end) shows the found mount again while *pos creeps up one by one.
    """

    def start(self, m: SeqFile) -> Mount | None:
        """Mirrors fs/namespace.c:m_start()."""
        p: ProcMounts = m.private
        mnt = mnt_find_id_at(p.ns, m.index)
        if mnt is not None and p.pos_is_mnt_id:
            m.index = mnt.unique_id
        return mnt

    def next(self, m: SeqFile, v: Mount) -> Mount | None:
        """Mirrors fs/namespace.c:m_next(): rb_next(&mnt->mnt_node)."""
        p: ProcMounts = m.private
        nxt = mnt_find_id_at(p.ns, v.unique_id + 1)
        if not p.pos_is_mnt_id:
            m.index += 1
        if nxt is not None:
            m.index = nxt.unique_id
            return nxt
        if p.pos_is_mnt_id:
            m.index = v.unique_id + 1
        return None

    def stop(self, m: SeqFile, v: Mount | None) -> None:
        """Mirrors fs/namespace.c:m_stop() (up_read(&namespace_sem): nothing to model)."""

    def show(self, m: SeqFile, v: Mount) -> int:
        """Mirrors fs/namespace.c:m_show() -> p->show()."""
        p: ProcMounts = m.private
        line = p.show(v, p.root)
        if line is None:
            return SEQ_SKIP
        m.puts(line)
        return 0


mounts_op = MountsOp()


def mounts_open_common(task: Task, pos_is_mnt_id: bool, name: str = "mountinfo") -> SeqFile:
    """The seq_file of an open /proc/<task>/<name> (mountinfo, mounts, mountstats). Mirrors
    mountinfo_open()/mounts_open()/mountstats_open() -> mounts_open_common(): the task's
    namespace (get_mnt_ns(), the caller takes that reference) and its root, fixed for the
    life of the file, and the file's show function."""
    return SeqFile(mounts_op, ProcMounts(task.mnt_ns, task.fs.root, pos_is_mnt_id, SHOW[name]))
