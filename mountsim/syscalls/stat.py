"""statmount(2) and listmount(2): mounts by their 64-bit unique id.

Mirrors fs/namespace.c (6.18): copy_mnt_id_req(), grab_requested_mnt_ns(),
grab_requested_root(), lookup_mnt_in_ns(), SYSCALL statmount with prepare_kstatmount(),
do_statmount(), statmount_string() and the statmount_* fillers, and SYSCALL listmount with
prepare_klistmount() and do_listmount().

Output: the handlers return the syscall's int and leave the decoded output buffer in
`k.last_out` (None on failure): listmount the list of ids, statmount a dict named after
struct statmount's fields holding `mask` plus the fields of each bit set in it (string
fields as str, `supported_mask` with STATMOUNT_SUPPORTED_MASK, `opt_num`/`opt_array` with
STATMOUNT_OPT_ARRAY).

Namespace ids: a mount namespace's id is its `MntNamespace.seq` (64-bit, never reused;
the real values differ: 6.18 numbers all namespace types from one counter).
In 6.18 `mnt_id_req.spare` is a mount-namespace fd (observed: EBADF/EINVAL for bad fds);
7.0 names that union `mnt_ns_fd`/`mnt_fd` and adds STATMOUNT_BY_FD.

Kernel: compared field by field with 7.3's do_statmount()/do_listmount(); the differences
are Semantics fields: statmount_by_fd, statmount_internal_checked, statmount_foreign_ns_eperm
(7.0), statmount_small_buf_eoverflow, listmount_last_id_max_ends (7.3).

Limitations: no fs subtypes, no LSM options, no uid/gid maps (those bits are never
reported, as the kernel does for mounts that lack them); sb_magic is known for common
filesystem types only (0 otherwise).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Iterator

from .. import uapi
from ..errors import KernelError, MountsimBug
from ..mount import MNT, MNT_UNIQUE_ID_OFFSET, MntNamespace, Mount
from ..namespace import is_path_reachable
from ..pnode import get_dominating_id
from ..proc_namespace import prepend_path
from ..task import Path
from ..user_namespace import ns_capable
from . import register

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..task import Task

PAGE_SIZE = 4096
SIZEOF_STATMOUNT = 512          # observed on Linux 6.18: bufsize 512 with a string is EOVERFLOW
LISTMOUNT_MAXCOUNT = 1_000_000
U64_MAX = (1 << 64) - 1
STATMOUNT_SUPPORTED = 0x7FFF    # observed on Linux 6.18 (supported_mask)
STATMOUNT_STRING_REQ = (uapi.STATMOUNT_MNT_ROOT | uapi.STATMOUNT_MNT_POINT | uapi.STATMOUNT_FS_TYPE
                        | uapi.STATMOUNT_MNT_OPTS | uapi.STATMOUNT_FS_SUBTYPE
                        | uapi.STATMOUNT_SB_SOURCE | uapi.STATMOUNT_OPT_ARRAY
                        | uapi.STATMOUNT_OPT_SEC_ARRAY | uapi.STATMOUNT_MNT_UIDMAP
                        | uapi.STATMOUNT_MNT_GIDMAP)
SB_RDONLY = 1
SB_MAGIC = {"tmpfs": 0x01021994, "devtmpfs": 0x01021994, "ramfs": 0x858458F6,
            "rootfs": 0x858458F6, "proc": 0x9FA0, "nsfs": 0x6E736673, "ext4": 0xEF53,
            "nullfs": 0x4E554C4C,                       # NULL_FS_MAGIC (7.0)
            "ext3": 0xEF53, "ext2": 0xEF53, "xfs": 0x58465342, "btrfs": 0x9123683E,
            "sysfs": 0x62656572, "cgroup2": 0x63677270, "devpts": 0x1CD1,
            "mqueue": 0x19800202, "overlay": 0x794C7630, "securityfs": 0x73636673,
            "debugfs": 0x64626720, "tracefs": 0x74726163, "bpf": 0xCAFE4A11,
            "hugetlbfs": 0x958458F6, "vfat": 0x4D44, "squashfs": 0x73717368,
            "fuse": 0x65735546, "9p": 0x01021997, "virtiofs": 0x6A656A63}


def _einval(why: str, where: str) -> KernelError:
    return KernelError(errno.EINVAL, why, where=where)


# -- requests and namespaces -------------------------------------------------------

def copy_mnt_id_req(req: dict | None, flags: int = 0) -> dict:
    """Mirrors fs/namespace.c:copy_mnt_id_req(): the request with missing fields 0.

    Errors: EFAULT (NULL), E2BIG (size > PAGE_SIZE), EINVAL (size < MNT_ID_REQ_SIZE_VER0;
    with STATMOUNT_BY_FD: mnt_id or mnt_ns_id set; else mnt_id not a unique id). A VER0
    request has no mnt_ns_id. The union after `size` (6.18 `spare`, 7.x `mnt_ns_fd` /
    `mnt_fd`) is read under any of its names and kept as `spare`.
    """
    if req is None:
        raise KernelError(errno.EFAULT, "NULL request", where="copy_mnt_id_req")
    size = int(req.get("size") or 0)
    if size > PAGE_SIZE:
        raise KernelError(errno.E2BIG, "request larger than a page", where="copy_mnt_id_req")
    if size < uapi.MNT_ID_REQ_SIZE_VER0:
        raise _einval("request smaller than MNT_ID_REQ_SIZE_VER0", "copy_mnt_id_req")
    kreq = {key: int(req.get(key) or 0) for key in ("spare", "mnt_id", "param", "mnt_ns_id")}
    kreq["spare"] = mnt_id_req_fd(req)
    if size < uapi.MNT_ID_REQ_SIZE_VER1:
        kreq["mnt_ns_id"] = 0
    if flags & uapi.STATMOUNT_BY_FD:
        if kreq["mnt_id"] or kreq["mnt_ns_id"]:
            raise _einval("STATMOUNT_BY_FD with mnt_id or mnt_ns_id", "copy_mnt_id_req")
        return kreq
    if kreq["mnt_id"] <= MNT_UNIQUE_ID_OFFSET:
        raise _einval("mnt_id is not a unique mount id", "copy_mnt_id_req")
    return kreq


def mnt_id_req_fd(req: dict) -> int:
    """The union after mnt_id_req.size: `spare` (6.18), `mnt_ns_fd` or `mnt_fd` (7.0)."""
    for name in ("spare", "mnt_ns_fd", "mnt_fd"):
        if req.get(name):
            return int(req[name])
    return 0


def mnt_ns_id(ns: MntNamespace) -> int:
    """ns->ns.ns_id. Model-only numbering: the namespace's sequence number; an anonymous
    namespace (alloc_mnt_ns(anon=true)) gets no id: 0."""
    return 0 if ns.is_anon else ns.seq


def _live_mnt_namespaces(k: Kernel) -> Iterator[MntNamespace]:
    """Namespaces the ns tree still holds: those of live tasks and of open ns files."""
    for t in k.tasks.values():
        if t.alive:
            yield t.mnt_ns
            for f in t.files.fds.values():
                if f.kind == "ns" and isinstance(f.ns, MntNamespace):
                    yield f.ns


def lookup_mnt_ns(k: Kernel, ns_id: int) -> MntNamespace | None:
    """Mirrors lookup_mnt_ns(): a live, non-anonymous namespace by id."""
    for ns in _live_mnt_namespaces(k):
        if not ns.is_anon and ns.users > 0 and mnt_ns_id(ns) == ns_id:
            return ns
    return None


def grab_requested_mnt_ns(k: Kernel, task: Task, kreq: dict) -> MntNamespace:
    """Mirrors fs/namespace.c:grab_requested_mnt_ns().

    Errors: EINVAL (both mnt_ns_id and an ns fd), ENOENT (no namespace with that id),
    EBADF, EINVAL (not a namespace file; not a mount namespace).
    """
    fd = kreq["spare"]
    if kreq["mnt_ns_id"] and fd:
        raise _einval("both mnt_ns_id and mnt_ns_fd", "grab_requested_mnt_ns")
    if kreq["mnt_ns_id"]:
        ns = lookup_mnt_ns(k, kreq["mnt_ns_id"])
        if ns is None:
            raise KernelError(errno.ENOENT, "no mount namespace with that id", where="lookup_mnt_ns")
        return ns
    if fd:
        f = task.files.fds.get(fd)
        if f is None and fd > 2:
            raise KernelError(errno.EBADF, f"fd {fd} is not open", where="grab_requested_mnt_ns")
        if f is None or f.kind != "ns":
            raise _einval("not a namespace file", "proc_ns_file")
        if not isinstance(f.ns, MntNamespace):
            raise _einval("not a mount namespace", "grab_requested_mnt_ns")
        return f.ns
    return task.mnt_ns


def _check_foreign_ns(task: Task, kreq: dict, ns: MntNamespace, err: int = errno.ENOENT,
                      where: str = "listmount") -> None:
    """A namespace named by id answers only to a caller capable over it. Errors: *err*
    (ENOENT; statmount's is EPERM from 7.0, `sem.statmount_foreign_ns_eperm`)."""
    if kreq["mnt_ns_id"] and ns is not task.mnt_ns and not ns_capable(task.cred, ns.user_ns):
        raise KernelError(err, "not capable over the requested namespace", where=where)


def grab_requested_root(task: Task, ns: MntNamespace) -> Path:
    """The root paths are judged against. Mirrors fs/namespace.c:grab_requested_root().

    Our own namespace: our fs root. Another: its first mount (by id) on the namespace root.
    Errors: ENOENT (that namespace is empty or has nothing on its root).
    """
    if ns is task.mnt_ns:
        return task.fs.root
    if not ns.mounts or ns.root is None:
        raise KernelError(errno.ENOENT, "namespace is empty", where="grab_requested_root")
    for child in ns:
        if child is not ns.root and child.parent is ns.root:
            return Path(child, child.root)
    raise KernelError(errno.ENOENT, "nothing mounted on the namespace root", where="grab_requested_root")


def lookup_mnt_in_ns(ns: MntNamespace, mnt_id: int) -> Mount | None:
    """Mirrors fs/namespace.c:lookup_mnt_in_ns()."""
    return ns.mounts.get(mnt_id)


def _reachable_or_capable(task: Task, ns: MntNamespace, m: Mount, dentry, root: Path, where: str) -> None:
    """Errors: EPERM (outside the root, and not capable over the namespace)."""
    if not is_path_reachable(m, dentry, root.mnt, root.dentry) and not ns_capable(task.cred, ns.user_ns):
        raise KernelError(errno.EPERM, "mount is outside the caller's root", where=where)


# -- statmount -------------------------------------------------------------------------

def sys_statmount(k: Kernel, task: Task, req: dict | None, buf=None, bufsize: int = 0,
                  flags: int = 0) -> int:
    """statmount(2). Mirrors fs/namespace.c:SYSCALL_DEFINE4(statmount).

    Errors: EINVAL (flags), copy_mnt_id_req()'s; with STATMOUNT_BY_FD EBADF (no such fd),
    else grab_requested_mnt_ns()'s and ENOENT/EPERM (another namespace by id, not
    capable); EOVERFLOW (strings asked for, buffer only holds struct statmount), then
    do_statmount()'s.
    Kernel: `sem.statmount_by_fd` (7.0) accepts STATMOUNT_BY_FD, which names the mount by
    an fd (mnt_id_req.mnt_fd) and skips every capability check; `sem.statmount_foreign_ns_eperm`
    (7.0); `sem.statmount_small_buf_eoverflow` (7.3).
    """
    k.last_out = None
    if flags & ~(uapi.STATMOUNT_BY_FD if k.sem.statmount_by_fd else 0):
        raise _einval("unknown statmount flags", "statmount")
    kreq = copy_mnt_id_req(req, flags)
    mnt_file = ns = None
    if flags & uapi.STATMOUNT_BY_FD:
        mnt_file = task.files.fds.get(kreq["spare"])          # fget_raw(): O_PATH too
        if mnt_file is None:
            raise KernelError(errno.EBADF, "mnt_fd is not open", where="statmount")
    else:
        ns = grab_requested_mnt_ns(k, task, kreq)
        _check_foreign_ns(task, kreq, ns,
                          errno.EPERM if k.sem.statmount_foreign_ns_eperm else errno.ENOENT,
                          "statmount")
    mask = kreq["param"]
    small = (bufsize <= SIZEOF_STATMOUNT if k.sem.statmount_small_buf_eoverflow
             else bufsize == SIZEOF_STATMOUNT)
    if mask & STATMOUNT_STRING_REQ and small:
        raise KernelError(errno.EOVERFLOW, "no room for strings", where="prepare_kstatmount")
    k.last_out = do_statmount(k, task, kreq, mnt_file, ns, mask, bufsize)
    return 0


class KernelOops(MountsimBug):
    """Model-only: the simulated kernel would oops here (the task dies holding
    namespace_sem, so the machine is no longer usable); the model stops instead."""


def do_statmount(k: Kernel, task: Task, kreq: dict, mnt_file, ns: MntNamespace | None,
                 mask: int, bufsize: int) -> dict:
    """Mirrors fs/namespace.c:do_statmount().

    Errors: by fd, EINVAL (the file lives on an internal mount, MNT_NS_INTERNAL); by id,
    ENOENT (namespace by id already empty; no such mount in it); ENOENT (no root there),
    EPERM (by id only: outside the root, not capable), EOVERFLOW (strings do not fit
    *bufsize*).
    Kernel: by fd, a mount in no namespace (unmounted with MNT_DETACH) drops
    STATMOUNT_MNT_POINT and STATMOUNT_MNT_NS_ID from the mask. `sem.statmount_internal_checked`
    (7.0-rc2, 81f16c9778d7): before it, an internal mount's ERR_PTR namespace is
    dereferenced (KernelOops).
    Deviation: files with no path (fsopen/fspick contexts) live on the internal anon_inode
    mount in the kernel: treated as internal.
    """
    if mnt_file is not None:
        m = mnt_file.path.mnt if mnt_file.path is not None else None
        if m is None or m.flags & MNT.INTERNAL:
            if not k.sem.statmount_internal_checked:
                raise KernelOops("statmount(STATMOUNT_BY_FD) of an internal mount: do_statmount() "
                                 "dereferences MNT_NS_INTERNAL (fixed by 81f16c9778d7)")
            raise _einval("the file lives on an internal mount", "do_statmount")
        ns = m.ns
        if ns is None:
            mask &= ~(uapi.STATMOUNT_MNT_POINT | uapi.STATMOUNT_MNT_NS_ID)
    else:
        if kreq["mnt_ns_id"] and not ns.mounts:
            raise KernelError(errno.ENOENT, "namespace is empty", where="do_statmount")
        m = lookup_mnt_in_ns(ns, kreq["mnt_id"])
        if m is None:
            raise KernelError(errno.ENOENT, "no such mount in the namespace", where="lookup_mnt_in_ns")
    root = None
    if ns is not None:
        root = grab_requested_root(task, ns)
        if mnt_file is None:
            _reachable_or_capable(task, ns, m, m.root, root, "do_statmount")
    sm: dict = {"mask": 0}
    if mask & uapi.STATMOUNT_SB_BASIC:
        statmount_sb_basic(sm, m)
    if mask & uapi.STATMOUNT_MNT_BASIC:
        statmount_mnt_basic(sm, m)
    if mask & uapi.STATMOUNT_PROPAGATE_FROM:
        sm["mask"] |= uapi.STATMOUNT_PROPAGATE_FROM
        sm["propagate_from"] = (get_dominating_id(m, task.fs.root.mnt, task.fs.root.dentry,
                                                  is_path_reachable) if m.is_slave else 0)
    seq = _Seq(bufsize)
    for bit, field, value in _strings(m, root):
        if mask & bit:
            seq.put(sm, bit, field, value)
    if mask & uapi.STATMOUNT_MNT_NS_ID:
        sm["mask"] |= uapi.STATMOUNT_MNT_NS_ID
        sm["mnt_ns_id"] = mnt_ns_id(ns)        # ns is set: the bit left the mask otherwise
    if mask & uapi.STATMOUNT_SUPPORTED_MASK:
        sm["mask"] |= uapi.STATMOUNT_SUPPORTED_MASK
        sm["supported_mask"] = STATMOUNT_SUPPORTED
    return sm


def statmount_sb_basic(sm: dict, m: Mount) -> None:
    """Mirrors statmount_sb_basic()."""
    sm["mask"] |= uapi.STATMOUNT_SB_BASIC
    sm.update(sb_dev_major=m.sb.major, sb_dev_minor=m.sb.dev,
              sb_magic=SB_MAGIC.get(m.sb.fstype, 0), sb_flags=SB_RDONLY if m.sb.rdonly else 0)


def statmount_mnt_basic(sm: dict, m: Mount) -> None:
    """Mirrors statmount_mnt_basic()."""
    sm["mask"] |= uapi.STATMOUNT_MNT_BASIC
    sm.update(mnt_id=m.unique_id, mnt_parent_id=m.parent.unique_id, mnt_id_old=m.mnt_id,
              mnt_parent_id_old=m.parent.mnt_id, mnt_attr=mnt_to_attr_flags(m.flags),
              mnt_propagation=mnt_to_propagation_flags(m),
              mnt_peer_group=m.group_id if m.is_shared else 0,
              mnt_master=m.master.group_id if m.is_slave else 0)


def mnt_to_attr_flags(flags: MNT) -> int:
    """Mirrors fs/namespace.c:mnt_to_attr_flags(): atime as the MOUNT_ATTR_ enum."""
    attr = 0
    for mnt, a in ((MNT.READONLY, uapi.MOUNT_ATTR_RDONLY), (MNT.NOSUID, uapi.MOUNT_ATTR_NOSUID),
                   (MNT.NODEV, uapi.MOUNT_ATTR_NODEV), (MNT.NOEXEC, uapi.MOUNT_ATTR_NOEXEC),
                   (MNT.NODIRATIME, uapi.MOUNT_ATTR_NODIRATIME),
                   (MNT.NOSYMFOLLOW, uapi.MOUNT_ATTR_NOSYMFOLLOW), (MNT.IDMAPPED, uapi.MOUNT_ATTR_IDMAP)):
        if flags & mnt:
            attr |= a
    if flags & MNT.NOATIME:
        attr |= uapi.MOUNT_ATTR_NOATIME
    elif flags & MNT.RELATIME:
        attr |= uapi.MOUNT_ATTR_RELATIME
    else:
        attr |= uapi.MOUNT_ATTR_STRICTATIME
    return attr


def mnt_to_propagation_flags(m: Mount) -> int:
    """Mirrors fs/namespace.c:mnt_to_propagation_flags()."""
    prop = 0
    if m.is_shared:
        prop |= uapi.MS_SHARED
    if m.is_slave:
        prop |= uapi.MS_SLAVE
    if m.is_unbindable:
        prop |= uapi.MS_UNBINDABLE
    return prop or uapi.MS_PRIVATE


def _strings(m: Mount, root: Path | None):
    """(bit, field, value) in do_statmount()'s order; None or "" emits nothing."""
    opts = list(m.sb.options)
    yield uapi.STATMOUNT_FS_TYPE, "fs_type", m.sb.fstype
    yield uapi.STATMOUNT_MNT_ROOT, "mnt_root", m.root.dentry_path()
    yield uapi.STATMOUNT_MNT_POINT, "mnt_point", prepend_path(m, m.root, root) if root else None
    yield uapi.STATMOUNT_MNT_OPTS, "mnt_opts", ",".join(opts)
    yield uapi.STATMOUNT_OPT_ARRAY, "opt_array", opts
    yield uapi.STATMOUNT_SB_SOURCE, "sb_source", m.devname


class _Seq:
    """The seq_file behind str[]: a leading NUL, then each string NUL-terminated.

    Mirrors statmount_string(): EOVERFLOW once struct statmount plus the strings reach
    *bufsize*; a string that emits nothing leaves its mask bit clear.
    """

    def __init__(self, bufsize: int) -> None:
        self.bufsize = bufsize
        self.count = 0

    def put(self, sm: dict, bit: int, field: str, value) -> None:
        if not self.count:
            self.count = 1                        # reserve "" for unset offsets
        if not value:
            return
        parts = value if isinstance(value, list) else [value]
        self.count += sum(len(p.encode()) + 1 for p in parts) - 1
        if SIZEOF_STATMOUNT + self.count >= self.bufsize:
            raise KernelError(errno.EOVERFLOW, "strings do not fit the buffer", where="statmount_string")
        self.count += 1
        sm["mask"] |= bit
        sm[field] = value
        if field == "opt_array":
            sm["opt_num"] = len(parts)


# -- listmount -------------------------------------------------------------------------

def sys_listmount(k: Kernel, task: Task, req: dict | None, mnt_ids=None, nr_mnt_ids: int = 0,
                  flags: int = 0) -> int:
    """listmount(2). Mirrors fs/namespace.c:SYSCALL_DEFINE4(listmount).

    Errors: EINVAL (flags), EOVERFLOW (nr_mnt_ids over a million), copy_mnt_id_req()'s,
    prepare_klistmount()'s, then do_listmount()'s.
    """
    k.last_out = None
    if flags & ~uapi.LISTMOUNT_REVERSE:
        raise _einval("unknown listmount flags", "listmount")
    if nr_mnt_ids > LISTMOUNT_MAXCOUNT:
        raise KernelError(errno.EOVERFLOW, "more than a million ids asked for", where="listmount")
    kreq = copy_mnt_id_req(req)
    ns = prepare_klistmount(k, task, kreq)
    ids = do_listmount(task, ns, kreq["mnt_id"], kreq["param"], nr_mnt_ids,
                       bool(flags & uapi.LISTMOUNT_REVERSE), k.sem.listmount_last_id_max_ends)
    k.last_out = ids
    return len(ids)


def prepare_klistmount(k: Kernel, task: Task, kreq: dict) -> MntNamespace:
    """Mirrors fs/namespace.c:prepare_klistmount().

    Errors: EINVAL (param, the last id seen, not a unique id), grab_requested_mnt_ns()'s,
    ENOENT (another namespace by id, not capable).
    """
    last = kreq["param"]
    if last and last <= MNT_UNIQUE_ID_OFFSET:
        raise _einval("param is not a unique mount id", "prepare_klistmount")
    ns = grab_requested_mnt_ns(k, task, kreq)
    _check_foreign_ns(task, kreq, ns, errno.ENOENT, "listmount")
    return ns


def do_listmount(task: Task, ns: MntNamespace, parent_id: int, last_id: int, nr: int,
                 reverse: bool, last_id_max_ends: bool = True) -> list[int]:
    """Every mount below *parent_id* (all depths), in unique-id order, after *last_id*.

    Mirrors fs/namespace.c:do_listmount(). Errors: ENOENT (no root; no such mount), EPERM
    (outside the caller's root, not capable).
    Kernel: *last_id_max_ends* is `sem.listmount_last_id_max_ends` (7.3); before, a last id
    of U64_MAX starts over from the first mount.
    """
    root = grab_requested_root(task, ns)
    if parent_id == uapi.LSMT_ROOT:
        orig = root
    else:
        m = lookup_mnt_in_ns(ns, parent_id)
        if m is None:
            raise KernelError(errno.ENOENT, "no such mount in the namespace", where="do_listmount")
        orig = Path(m, m.root)
    _reachable_or_capable(task, ns, orig.mnt, orig.dentry, root, "do_listmount")
    if reverse:
        order = ns.mounts.before_id(last_id) if last_id else reversed(ns.mounts)
    else:
        if last_id == U64_MAX and not last_id_max_ends:
            last_id = 0                 # mnt_find_id_at(ns, last_mnt_id + 1): u64 wraps to 0
        order = ns.mounts.from_id(last_id + 1) if last_id else iter(ns.mounts)
    out: list[int] = []
    for r in order:
        if len(out) >= nr:
            break
        uid = r.unique_id
        if uid == parent_id or not is_path_reachable(r, r.root, orig.mnt, orig.dentry):
            continue
        out.append(uid)
    return out


register("statmount", sys_statmount)
register("listmount", sys_listmount)
