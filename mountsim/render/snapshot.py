"""A mount state as plain data, for pictures, findmnt-style views and explanations.

Model-only. A `Snapshot` is what every renderer reads: mount namespaces (`NsView`), each with
its mounts (`MountView`, one per mountinfo line plus what the model knows beyond mountinfo:
the unique id, MNT_LOCKED, the owning user namespace) and the processes rooted in it. It is
built either from the model (`from_kernel`, `from_task`) or from real mountinfo text
(`from_mountinfo`), so a picture of a trace and a picture of this machine are drawn by the
same code.

Limitations: from mountinfo alone nothing is known of MNT_LOCKED, unique ids, user
namespaces or detached trees (those fields are None / empty).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import attrs

from ..errors import TraceError
from ..trace.normalise import unescape

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..mount import MntNamespace, Mount
    from ..task import Task


@attrs.define(slots=True)
class MountView:
    """One mount as a mountinfo line shows it (proc(5) fields), plus model-only facts."""

    id: int
    parent: int
    majmin: str
    root: str                       # fs root (field 4), unescaped
    target: str                     # mount point (field 5), unescaped
    vfs_options: str
    optional: tuple[str, ...]       # shared:N master:N propagate_from:N unbindable
    fstype: str
    source: str
    fs_options: str
    unique_id: int | None = None    # model: mnt_id_unique
    locked: bool | None = None      # model: MNT_LOCKED
    ns: int | None = None           # model: the mount namespace's inode number
    hidden: bool = False            # the namespace root no process can see (rootfs, nullfs)

    def _tag(self, name: str) -> int | None:
        for w in self.optional:
            tag, _, num = w.partition(":")
            if tag == name and num:
                return int(num)
        return None

    @property
    def shared(self) -> int | None:
        return self._tag("shared")

    @property
    def master(self) -> int | None:
        return self._tag("master")

    @property
    def propagate_from(self) -> int | None:
        return self._tag("propagate_from")

    @property
    def unbindable(self) -> bool:
        return "unbindable" in self.optional

    @property
    def readonly(self) -> bool:
        return self.vfs_options.split(",")[0] == "ro"

    @property
    def propagation(self) -> str:
        """findmnt's PROPAGATION column: shared|private, then ,slave and ,unbindable."""
        s = "shared" if self.shared is not None else "private"
        if self.master is not None:
            s += ",slave"
        if self.unbindable:
            s += ",unbindable"
        return s


@attrs.define(slots=True)
class NsView:
    """One mount namespace (or an anonymous one holding a detached tree)."""

    label: str                           # "mnt:[4026531841]", "pid 7's table", "fd 3 of pid 1"
    mounts: list[MountView]
    inum: int | None = None
    user_ns: str | None = None           # "user:[…]" of the owner, when known
    anon: bool = False                   # a detached tree (open_tree/fsmount) held by fds
    holders: list[str] = attrs.Factory(list)          # "pid 1 fd 3": fds keeping it alive
    roots: dict[int, int] = attrs.Factory(dict)       # pid -> mount id of its root
    cwds: dict[int, int] = attrs.Factory(dict)        # pid -> mount id of its cwd


@attrs.define(slots=True)
class Snapshot:
    namespaces: list[NsView]

    def all_mounts(self) -> Iterable[MountView]:
        for ns in self.namespaces:
            yield from ns.mounts




def parse_line(line: str) -> MountView:
    """One /proc/<pid>/mountinfo line (proc(5)). Raises ValueError."""
    left, sep, right = line.rstrip("\n").partition(" - ")
    f = left.split()
    r = right.split()
    if not sep or len(f) < 6 or len(r) < 2:
        raise ValueError(f"not a mountinfo line: {line.strip()[:60]!r}")
    try:
        mid, parent = int(f[0]), int(f[1])
    except ValueError:
        raise ValueError(f"mount id is not a number: {f[0]!r}") from None
    return MountView(mid, parent, f[2], unescape(f[3]), unescape(f[4]), f[5], tuple(f[6:]),
                     unescape(r[0]), unescape(r[1]), r[2] if len(r) > 2 else "")


def parse_mountinfo(text: str, where: str = "<mountinfo>") -> list[MountView]:
    """Every line of a mountinfo file. Errors: TraceError naming the line."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(parse_line(line))
        except ValueError as e:
            raise TraceError(where, n, str(e)) from None
    return out


def from_mountinfo(texts: list[tuple[str, str]]) -> Snapshot:
    """A snapshot of real tables: (label, text) per file. Tables that are the same namespace
    cannot be told apart from mountinfo, so each file is its own cluster."""
    return Snapshot([NsView(label, parse_mountinfo(text, label)) for label, text in texts])


# -- from the model -----------------------------------------------------------------

def _view(m: Mount, root, hidden: bool = False) -> MountView | None:
    from ..proc_namespace import show_mountinfo
    line = show_mountinfo(m, root)
    if line is None:
        return None
    v = parse_line(line)
    v.unique_id, v.locked, v.hidden = m.unique_id, m.is_locked, hidden
    v.ns = m.ns.inum if m.ns is not None and m.ns.inum else None
    return v


def ns_label(ns: MntNamespace) -> str:
    return f"mnt:[{ns.inum}]" if ns.inum else "anonymous"


def user_ns_label(user_ns) -> str:
    return f"user:[{user_ns.inum}]" + (" (initial)" if user_ns.parent is None else "")


def from_task(task: Task) -> list[MountView]:
    """The table *task* reads in /proc/self/mountinfo, with model-only facts added."""
    views = (_view(m, task.fs.root) for m in task.mnt_ns)
    return [v for v in views if v is not None]


def ns_view(ns: MntNamespace) -> NsView:
    """Every mount of *ns*, paths as seen from the namespace root (so nothing is skipped);
    the namespace root itself is marked hidden when it is rootfs or nullfs under "/"."""
    from ..task import Path
    root = Path(ns.root, ns.root.root)
    mounts = []
    for m in ns:
        v = _view(m, root, hidden=(m is ns.root and not ns.is_anon))
        if v is not None:
            mounts.append(v)
    return NsView(ns_label(ns), mounts, ns.inum or None, user_ns_label(ns.user_ns), ns.is_anon)


def from_kernel(k: Kernel, pids: Iterable[int] | None = None) -> Snapshot:
    """Every namespace a live process uses (or only those of *pids*), then every detached
    tree an open fd holds, in pid order."""
    tasks = [t for p, t in sorted(k.tasks.items()) if t.alive and (pids is None or p in pids)]
    by_ns: dict[int, NsView] = {}
    order: list[NsView] = []
    for t in tasks:
        for ns in [t.mnt_ns] + _fd_namespaces(t):
            nv = by_ns.get(id(ns))
            if nv is None:
                nv = by_ns[id(ns)] = ns_view(ns)
                order.append(nv)
            if ns is t.mnt_ns:
                nv.roots[t.pid] = t.fs.root.mnt.mnt_id
                nv.cwds[t.pid] = t.fs.pwd.mnt.mnt_id
            else:
                nv.holders.extend(f"pid {t.pid} fd {fd}" for fd, f in sorted(t.files.fds.items())
                                  if f.ns is ns or (f.path is not None and f.path.mnt.ns is ns))
    for nv in order:
        nv.holders = sorted(set(nv.holders), key=nv.holders.index)
    return Snapshot(order)


def _fd_namespaces(t: Task) -> list[MntNamespace]:
    """Detached trees (anonymous namespaces) an fd holds, and namespaces an nsfs fd keeps
    alive (open("/proc/self/ns/mnt"))."""
    from ..mount import MntNamespace
    out = []
    for f in t.files.fds.values():
        ns = f.path.mnt.ns if f.path is not None else None
        if not (ns is not None and ns.is_anon):
            ns = f.ns if isinstance(f.ns, MntNamespace) else None
        if ns is not None and ns.root is not None and ns not in out:
            out.append(ns)
    return out
