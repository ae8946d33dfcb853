"""/proc/<pid>/mountinfo: fs/proc_namespace.c:show_mountinfo().

Mounts of the reader's namespace in unique-id order (the ns->mounts rbtree walk), each
line formatted byte for byte as the kernel does; a mount whose mountpoint is not reachable
from the reader's root is skipped (seq_path_root() answering SEQ_SKIP).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .mount import MNT, Mount
from .namespace import is_path_reachable
from .pnode import get_dominating_id

if TYPE_CHECKING:
    from .fs import Dentry
    from .task import Path, Task

_ESC = {" ": "\\040", "\t": "\\011", "\n": "\\012", "\\": "\\134"}

MNT_OPTS = ((MNT.NOSUID, ",nosuid"), (MNT.NODEV, ",nodev"), (MNT.NOEXEC, ",noexec"),
            (MNT.NOATIME, ",noatime"), (MNT.NODIRATIME, ",nodiratime"),
            (MNT.RELATIME, ",relatime"), (MNT.NOSYMFOLLOW, ",nosymfollow"))


def mangle(s: str) -> str:
    """seq_escape(m, s, " \\t\\n\\\\"): octal escapes."""
    if not any(c in s for c in _ESC):
        return s
    return "".join(_ESC.get(c, c) for c in s)


def prepend_path(mnt: Mount, dentry: Dentry, root: Path) -> str | None:
    """The path of (mnt, dentry) as seen from *root*, or None when unreachable.

    Mirrors fs/d_path.c:__prepend_path() as used by seq_path_root(): climbing out of a
    mount root goes to its mountpoint; reaching a mount with no parent before *root* means
    the path is outside the reader's root (or detached).
    """
    parts: list[str] = []
    while dentry is not root.dentry or mnt is not root.mnt:
        if dentry is mnt.root:
            if mnt.has_parent:
                dentry = mnt.mountpoint
                mnt = mnt.parent
                continue
            return None
        if dentry.is_root:
            return None                    # escaped
        parts.append(dentry.name)
        dentry = dentry.parent
    return "/" + "/".join(reversed(parts))


def show_mnt_opts(flags: MNT) -> str:
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
    sb = r.sb
    fields = [f"{r.mnt_id} {r.parent.mnt_id} {sb.major}:{sb.dev} {mangle(r.root.dentry_path())} "
              f"{mangle(where)} {show_mnt_opts(r.flags)}"]
    if r.is_shared:
        fields.append(f" shared:{r.group_id}")
    if r.is_slave:
        master = r.master.group_id
        dom = get_dominating_id(r, root.mnt, root.dentry, is_path_reachable)
        fields.append(f" master:{master}")
        if dom and dom != master:
            fields.append(f" propagate_from:{dom}")
    if r.is_unbindable:
        fields.append(" unbindable")
    fields.append(f" - {mangle(sb.fstype)} {mangle(r.devname)} {sb.show_options()}\n")
    return "".join(fields)


def mountinfo(task: Task) -> str:
    """The whole text of /proc/<task>/mountinfo as *task* would read it."""
    root = task.fs.root
    out = []
    for m in task.mnt_ns:
        line = show_mountinfo(m, root)
        if line is not None:
            out.append(line)
    return "".join(out)
