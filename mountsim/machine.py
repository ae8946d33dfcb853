"""Booting a simulated machine: the model host, or a host described by mountinfo lines.

Model-only. The default host is what a booted system looks like to its init: real root in
the initial user and mount namespace, whose only visible mount is a tmpfs at "/" mounted on
top of the hidden namespace root (rootfs), as init_mount_tree() + the initramfs switch leave
it; from 7.0 (`sem.nullfs_root`) the rootfs itself sits on a hidden nullfs namespace root
(nullfs.py). A starting table can instead be given as mountinfo lines; their filesystems are
"opaque" (contents unknown: paths are created on demand).
"""

from __future__ import annotations

import errno
from typing import Iterable

from . import cgroup
from .errors import KernelError
from .fs import S_IFDIR
from .kernel import Kernel
from .mount import MNT, MntNamespace, Mount, T, add_child, del_child, peer_add, sb_add, slave_add_tail
from .namei import traverse_mounts
from .trace.normalise import unescape
from .nullfs import init_mount_tree
from .proc import ProcLookup, make_nsfs
from .task import FdTable, FsStruct, Path, PidNamespace, Task
from .user_namespace import host_cred
from .versions import Semantics


class BadMountinfo(ValueError):
    """A start-mountinfo line the model cannot use; the message says why."""


class BadCopy(BadMountinfo):
    """A start table's copy listing (`--start-copy`) that does not match the table."""


def boot(sem: Semantics | None = None, main_pid: int = 1, start_mountinfo: Iterable[str] = (),
         start_dirs: Iterable[str] = (), contents_known: bool = False,
         unknown_root: bool = False, start_copy: Iterable[str] = (),
         start_caps: dict[str, int] | None = None) -> tuple[Kernel, Task]:
    """A fresh machine and its first process. *contents_known*: the start table's
    filesystems hold exactly what start_dirs names (`# start-contents: complete`).
    *unknown_root*: the model host, but its root's contents are unknown (a raw strace
    output from an unknown machine). *start_copy*: the start table as a fresh copy of its
    namespace lists it, for the order its mounts were attached in (order_as_copied()).
    *start_caps*: the first process's capability sets (None: this machine's)."""
    k = Kernel(sem)
    ns = MntNamespace(k.init_user_ns)
    if k.sem.nullfs_root:                  # 7.0: rooted in nullfs, rootfs on top
        rootfs = init_mount_tree(k, ns)
        rsb = rootfs.sb
    else:
        rsb = k.new_sb("rootfs", k.init_user_ns)
        rootfs = k.alloc_vfsmnt(rsb, rsb.root, "rootfs")
        ns.add(rootfs)
        ns.root = rootfs
    k.nsfs_mnt = make_nsfs(k)
    lines = [ln for ln in start_mountinfo if ln.strip()]
    if lines:
        by_id = _from_mountinfo(k, ns, rootfs, lines, contents_known)
        copy = [ln for ln in start_copy if ln.strip()]
        if copy:
            order_as_copied(by_id, lines, copy)
    else:
        sb = k.new_sb("tmpfs", k.init_user_ns)
        m = k.alloc_vfsmnt(sb, sb.root, "tmpfs")
        m.flags = MNT.RELATIME
        if unknown_root:
            sb.opaque = sb.root.unknown = True
            sb.oracle = k
        k.attach_mnt(m, rootfs, rsb.root)
        ns.add(m)
    root = traverse_mounts(k, Path(ns.root, ns.root.root))
    task = k.new_task(main_pid, host_cred(k.init_user_ns, start_caps), FsStruct(root, root), FdTable(), ns)
    task.pid_ns = task.pid_ns_for_children = PidNamespace(k.init_user_ns)
    k.current = task
    for d in start_dirs:
        mkdir_p(k, task, d)
    return k, task


def mkdir_p(k: Kernel, task: Task, path: str) -> None:
    """Create *path* and its parents (Model-only: the `# start-dirs:` header)."""
    from .syscalls.file import sys_mkdir
    cur = ""
    for comp in [c for c in path.split("/") if c]:
        cur += "/" + comp
        try:
            sys_mkdir(k, task, cur)
        except KernelError as e:
            if e.errno != errno.EEXIST:
                raise


_MNT_OPT = {"ro": MNT.READONLY, "nosuid": MNT.NOSUID, "nodev": MNT.NODEV, "noexec": MNT.NOEXEC,
            "noatime": MNT.NOATIME, "nodiratime": MNT.NODIRATIME, "relatime": MNT.RELATIME,
            "nosymfollow": MNT.NOSYMFOLLOW}


def _dentry_at(sb, path: str):
    d = sb.root
    for c in [c for c in path.split("/") if c]:
        d = d.lookup(c) or d.create(c, S_IFDIR)
    return d


def _take_id(k: Kernel, m: Mount, mnt_id: int) -> None:
    """Give *m* the id *mnt_id* (a start table names its root's parent, which mountinfo
    shows as the root's parent id)."""
    if m.mnt_id == mnt_id:
        return
    k.mnt_ids.free(m.mnt_id)
    k.mnt_ids.reserve(mnt_id)
    m.mnt_id = mnt_id


def _parents_first(lines: list[str]) -> list[tuple[int, str]]:
    """(file index, line) with every mount after its parent; file order otherwise."""
    ids: list[tuple[int, int]] = []
    for ln in lines:
        f = ln.split()
        try:
            ids.append((int(f[0]), int(f[1])))
        except (ValueError, IndexError):
            raise BadMountinfo(f"not a mountinfo line: {ln!r}")
    present = {mid for mid, _ in ids}
    done: set[int] = set()
    out: list[tuple[int, str]] = []
    todo = list(range(len(lines)))
    while todo:
        later = [i for i in todo if ids[i][1] in present and ids[i][1] not in done
                 and ids[i][1] != ids[i][0]]
        ready = [i for i in todo if i not in set(later)]
        if not ready:
            raise BadMountinfo("the table's parent ids form a cycle")
        for i in ready:
            out.append((i, lines[i]))
            done.add(ids[i][0])
        todo = later
    return out


def _from_mountinfo(k: Kernel, ns: MntNamespace, rootfs: Mount, lines: list[str],
                    contents_known: bool = False) -> None:
    """Build mounts, superblocks and peer groups from mountinfo lines. Mounts are attached
    parents first, but keep the file's order as their unique ids (the order mountinfo lists
    them in: a real table can list a mount before its parent, after a move)."""
    by_id: dict[int, Mount] = {}
    where: dict[int, str] = {}
    sbs: dict[str, object] = {}
    group_first: dict[int, Mount] = {}
    slaves: list[tuple[Mount, int]] = []
    uid_base = k.unique_ctr
    k.unique_ctr += len(lines)
    for idx, ln in _parents_first(lines):
        try:
            left, right = ln.split(" - ", 1)
            f = left.split()
            mid, pid, dev, root, mp, opts = int(f[0]), int(f[1]), f[2], f[3], f[4], f[5]
            fstype, source, sopts = (right.split() + ["", ""])[:3]
            major, minor = (int(x) for x in dev.split(":"))
        except (ValueError, IndexError):
            raise BadMountinfo(f"not a mountinfo line: {ln!r}")
        sb = sbs.get(dev)
        if sb is None:
            sb = k.new_sb(unescape(fstype), k.init_user_ns,
                          tuple(o for o in sopts.split(",")[1:] if o), opaque=True,
                          dev=minor, major=major)
            if major == 0:
                k.anon_devs.reserve(minor)
            sb.rdonly = sopts.split(",")[0] == "ro"
            sb.oracle = k                      # recorded results decide unknown names
            if sb.fstype == "proc" or contents_known:
                sb.opaque = sb.root.unknown = False
            if sb.fstype == "proc":
                sb.dynamic = ProcLookup(k, None)    # the recording machine's own
            sbs[dev] = sb
        k.mnt_ids.reserve(mid)
        m = Mount(mid, uid_base + 1 + idx, _dentry_at(sb, unescape(root)), unescape(source))
        sb_add(m, sb)
        for o in opts.split(","):
            m.flags |= _MNT_OPT.get(o, MNT(0))
        for word in f[6:]:
            tag, _, num = word.partition(":")
            if tag == "shared":
                m.group_id = int(num)
                k.group_ids.reserve(m.group_id)
                m.flags |= MNT.SHARED
                first = group_first.setdefault(m.group_id, m)
                if first is not m:
                    peer_add(m, first.share_prev)    # at the ring's tail
            elif tag == "master":
                slaves.append((m, int(num)))
            elif tag == "unbindable":
                m.t_flags |= T.UNBINDABLE
        mpath = unescape(mp)
        parent = by_id.get(pid)
        if parent is None:
            if mpath != "/":
                raise BadMountinfo(f"mount {mid}: parent {pid} is not in the table")
            _take_id(k, rootfs, pid)          # the hidden parent keeps the id the table shows
            k.attach_mnt(m, rootfs, rootfs.root)
        else:
            rel = mpath[len(where[pid]):] if where[pid] != "/" else mpath
            if where[pid] != "/" and not mpath.startswith(where[pid] + "/") and mpath != where[pid]:
                raise BadMountinfo(f"mount {mid}: {mpath} is not under its parent {where[pid]}")
            base = parent.root.path().rstrip("/")
            k.attach_mnt(m, parent, _dentry_at(parent.sb, base + (rel or "/")))
        ns.add(m)
        by_id[mid] = m
        where[mid] = mpath
    for m, gid in slaves:
        master = group_first.get(gid)
        if master is None:
            raise BadMountinfo(f"master:{gid} names no shared mount in the table")
        m.master = master
        slave_add_tail(m, master)
    for sb in sbs.values():                  # the starting task's net and ipc namespaces'
        if sb.fstype == "sysfs" and k.init_net.sb is None:
            k.init_net.sb = sb
        elif sb.fstype == "mqueue" and k.init_ipc.sb is None:
            k.init_ipc.sb = sb
        elif sb.fstype in cgroup.CGROUP_FS:
            cgroup.register(k, sb)
    return by_id


def _rows(lines: list[str]) -> tuple[dict[int, list[int]], int, dict[int, tuple]]:
    """A table's (children of each id in listing order, the root's id, id -> the fields a
    copy keeps: mountpoint, root, device, filesystem type, source)."""
    kids: dict[int, list[int]] = {}
    key: dict[int, tuple] = {}
    parent_of: dict[int, int] = {}
    for ln in lines:
        left, _, right = ln.partition(" - ")
        f, r = left.split(), right.split()
        mid, parent = int(f[0]), int(f[1])
        key[mid] = (unescape(f[4]), unescape(f[3]), f[2], *r[:2])
        parent_of[mid] = parent
    for mid, parent in parent_of.items():
        if parent in key and parent != mid:
            kids.setdefault(parent, []).append(mid)
    root = next(mid for mid, parent in parent_of.items() if parent not in key or parent == mid)
    return kids, root, key


def order_as_copied(by_id: dict[int, Mount], lines: list[str], copy: list[str]) -> None:
    """Give each start-table mount's children the order a fresh copy of the table lists.

    Model-only; why: mountinfo lists a namespace's mounts in creation order (by
    mnt_id_unique: the namespace's rbtree, 6.8+), while the kernel keeps each mount's
    children in attach order (mnt_mounts, list_add_tail() in __attach_mnt()); the two part
    where mounts were moved after boot. copy_tree() makes a copy's mounts in a walk of that
    attach order (next_mnt()), so a copy's own table lists them in it: under each copied
    mount, its children are its original's, in attach order. Rows are matched from the
    root down by mountpoint, root, device, filesystem type and source; a copy that does
    not list the same mounts is refused (BadCopy)."""
    kids, root, key = _rows(lines)
    ckids, croot, ckey = _rows(copy)
    if len(key) != len(ckey) or key[root] != ckey[croot]:
        raise BadCopy("the copy does not list the same mounts as the table "
                      f"({len(ckey)} against {len(key)}, roots {ckey[croot][0]} and {key[root][0]})")
    todo = [(root, croot)]
    while todo:
        mid, cid = todo.pop()
        free = list(kids.get(mid, ()))
        order = []
        for c in ckids.get(cid, ()):
            match = next((h for h in free if key[h] == ckey[c]), None)
            if match is None:
                raise BadCopy(f"copy mount {c} ({ckey[c][0]}) matches no mount under "
                              f"{key[mid][0]} in the table")
            free.remove(match)
            order.append(match)
            todo.append((match, c))
        if free:
            raise BadCopy(f"the copy lists no copy of mount {free[0]} ({key[free[0]][0]})")
        parent = by_id[mid]
        for h in order:                       # re-attach in the copy's order: list_add_tail()
            del_child(by_id[h], by_id[h].parent)
            add_child(by_id[h], parent)
