"""The live sandbox's step guard: refuse, before it runs, any step that could reach the host.

Model-only (policy of the live backend; no kernel function is mirrored).

A trace is untrusted input that the live backend executes as real root. The sandbox's own
pid namespace and private mount namespace contain most of what a trace can name; this
guard is the explicit check in front of every step, and seccomp.py the line behind it.
A refused step is never executed: the session stops and the run is "not comparable".

Two halves:
- `static_refusal()` runs in the controller on the step's text: filesystem types outside
  the allowlist (block devices, devtmpfs, sysfs, …) for `mount`/`fsopen`, and process and
  step limits.
- `path_refusal()` runs in the sandbox process that is about to make the call, on the real
  objects the call's paths resolve to there (it sees exactly what the syscall will):
  `/proc/<pid>/…` of a process outside the sandbox, writes to proc or sys files other than
  a sandbox process's own `uid_map`/`gid_map`/`setgroups`, device nodes, new names in a
  filesystem the sandbox did not make (the namespace's hidden root is the host's rootfs),
  and namespace fds of the host's own mount or pid namespace.

Limitations: the checks resolve a path once, just before the call; sandbox processes run
one at a time (lockstep), so nothing in the sandbox can change the answer in between.
"""

from __future__ import annotations

import ctypes
import os
import stat
from typing import Any

from .. import uapi
from ..errors import StepRefused
from . import _sys

# Filesystem types a trace may create: memory-only, no device behind them, no host state.
ALLOWED_FS_TYPES = frozenset({"tmpfs", "ramfs", "proc", "devpts"})
# statfs magics of filesystems a trace may create names in or open for writing
TMPFS_MAGIC, RAMFS_MAGIC, PROC_SUPER_MAGIC, DEVPTS_SUPER_MAGIC = (
    0x01021994, 0x858458F6, 0x9FA0, 0x1CD1)
# 7.0's immutable namespace root (include/uapi/linux/magic.h): the kernel itself refuses
# every new or removed name in it (empty_dir_operations), so such calls are safe to run
NULL_FS_MAGIC = 0x4E554C4C
WRITABLE_MAGICS = frozenset({TMPFS_MAGIC, RAMFS_MAGIC, DEVPTS_SUPER_MAGIC})
PROC_ROOT_INO = 1
ID_MAP_FILES = frozenset({"uid_map", "gid_map", "setgroups"})

MAX_PROCS = 64                 # processes one sandbox may have made
MAX_STEPS = 20_000             # steps one sandbox may run
MAX_MOUNTS = 10_000            # mounts one namespace of the sandbox may hold

_NEW_MOUNT_EXEMPT = (uapi.MS_REMOUNT | uapi.MS_BIND | uapi.MS_MOVE | uapi.MS_PROPAGATION)
# syscalls whose path arguments name a new or removed entry (the last component is never
# followed): its parent must be ours. name -> ((dirfd index or None, path index), ...)
_CREATES = {
    "mkdir": ((None, 0),), "mkdirat": ((0, 1),), "rmdir": ((None, 0),), "unlink": ((None, 0),),
    "unlinkat": ((0, 1),), "rename": ((None, 0), (None, 1)), "renameat": ((0, 1), (2, 3)),
    "renameat2": ((0, 1), (2, 3)), "symlink": ((None, 1),), "symlinkat": ((1, 2),),
}
MAXSYMLINKS = 40
_WRITE_OPEN = uapi.O_WRONLY | uapi.O_RDWR | uapi.O_CREAT | uapi.O_TRUNC
_CREAT = uapi.O_CREAT | uapi.O_WRONLY | uapi.O_TRUNC          # creat(2)


Refused = StepRefused          # raised by the live session for a refused step


def static_refusal(name: str, args: tuple, nprocs: int, nsteps: int) -> str | None:
    """Why the controller refuses this step from its text alone, or None."""
    if nsteps >= MAX_STEPS:
        return f"more than {MAX_STEPS} steps in one sandbox"
    if name in ("fork", "vfork", "clone", "clone3") and nprocs >= MAX_PROCS:
        return f"more than {MAX_PROCS} processes in one sandbox"
    fstype = None
    if name == "mount" and len(args) > 3:
        flags = int(args[3] or 0)
        if not flags & _NEW_MOUNT_EXEMPT:          # do_new_mount(): the type is used
            fstype = args[2]
    elif name == "fsopen" and args:
        fstype = args[0]
    if fstype is not None and str(fstype) not in ALLOWED_FS_TYPES:
        return (f"filesystem type {fstype!r} is not allowed in the sandbox "
                f"(allowed: {', '.join(sorted(ALLOWED_FS_TYPES))})")
    return None


# -- inside the sandbox ------------------------------------------------------------------

class SandboxFacts:
    """What the guard knows about its sandbox, gathered at set-up (before pivot_root)."""

    __slots__ = ("host_ns_inos", "rootfs_dev", "pids", "links_made")

    def __init__(self, host_ns_inos: frozenset[tuple[int, int]], rootfs_dev: int | None) -> None:
        self.host_ns_inos = host_ns_inos   # (st_dev, st_ino) of the host's mnt and pid ns
        self.rootfs_dev = rootfs_dev       # st_dev of the namespace's hidden root (host rootfs)
        self.pids: set[int] = set()        # sandbox processes' pids as the sandbox sees them
        self.links_made = False            # the trace has made a symlink (only it can)


def path_refusal(facts: SandboxFacts, name: str, cargs: list[Any]) -> str | None:
    """Why the sandbox refuses this call on what its arguments resolve to, or None.

    *cargs* are the call's real arguments (fds already translated).
    """
    if name == "setns":
        return _setns_refusal(facts, cargs[0])
    # Links are expanded only once the trace made one (the sandbox starts with none but
    # proc's, which name sandbox pids), and never for umount2: readlink() of a path drops
    # a reference to its mount, which clears an MNT_EXPIRE mark that umount2's own lookup
    # (mntput_no_expire()) would keep.
    expand = facts.links_made and name != "umount2"
    for dirfd, path in _paths(name, cargs):
        why = (_proc_pid_refusal(facts, dirfd, path)
               or expand and _proc_pid_refusal(facts, dirfd, _expand_links(dirfd, path)))
        if why:
            return why
    if name == "openat2":
        # RESOLVE_IN_ROOT resolves absolute paths, links and ".." against dirfd, where this
        # guard's own lookups would not go: model-only. The other RESOLVE_* flags only
        # refuse more, and what they let through is what openat() would open.
        how = cargs[2] if isinstance(cargs[2], dict) else {}
        if int(how.get("resolve") or 0) & uapi.RESOLVE_IN_ROOT:
            return "openat2 with RESOLVE_IN_ROOT is not run live (the guard cannot follow it)"
        return _open_refusal(facts, cargs[0], cargs[1], int(how.get("flags") or 0))
    if name in ("open", "openat", "creat"):
        dirfd, path, flags = ((uapi.AT_FDCWD, cargs[0], cargs[1]) if name == "open" else
                              (uapi.AT_FDCWD, cargs[0], _CREAT) if name == "creat" else cargs[:3])
        return _open_refusal(facts, dirfd, path, int(flags))
    if name in _ATTR_CALLS:
        return _attr_refusal(facts, name, cargs)
    for d, i in _CREATES.get(name, ()):
        path = cargs[i] if i < len(cargs) else None
        if isinstance(path, str) and path:
            why = _parent_refusal(facts, uapi.AT_FDCWD if d is None else cargs[d], path, name)
            if why:
                return why
    return None


_PATH_ARGS = {  # name -> ((dirfd index or None, path index), ...)
    "mount": ((None, 0), (None, 1)), "umount2": ((None, 0),), "chdir": ((None, 0),),
    "chroot": ((None, 0),), "pivot_root": ((None, 0), (None, 1)), "mkdir": ((None, 0),),
    "creat": ((None, 0),),
    "mkdirat": ((0, 1),), "rmdir": ((None, 0),), "open": ((None, 0),), "openat": ((0, 1),),
    "openat2": ((0, 1),),
    "open_tree": ((0, 1),), "move_mount": ((0, 1), (2, 3)), "fspick": ((0, 1),),
    "mount_setattr": ((0, 1),), "unlink": ((None, 0),), "unlinkat": ((0, 1),),
    "rename": ((None, 0), (None, 1)), "renameat": ((0, 1), (2, 3)), "renameat2": ((0, 1), (2, 3)),
    "symlink": ((None, 1),), "symlinkat": ((1, 2),), "readlink": ((None, 0),),
    "readlinkat": ((0, 1),), "chmod": ((None, 0),), "fchmodat": ((0, 1),), "fchmodat2": ((0, 1),),
    "chown": ((None, 0),), "lchown": ((None, 0),), "fchownat": ((0, 1),),
}


def _paths(name: str, cargs: list[Any]):
    for d, p in _PATH_ARGS.get(name, ()):
        path = cargs[p] if p < len(cargs) else None
        if isinstance(path, str) and path:
            yield (uapi.AT_FDCWD if d is None else cargs[d]), path


def _open_path(dirfd: Any, path: str, follow: bool = True) -> int | None:
    """An O_PATH fd on what *path* names (None if it does not resolve)."""
    flags = os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        return os.open(path, flags, dir_fd=None if dirfd == uapi.AT_FDCWD else int(dirfd))
    except (OSError, ValueError, OverflowError):
        return None


def _readlink(dirfd: Any, path: str) -> str | None:
    """The body of the symlink *path* names (None if it is not one)."""
    try:
        return os.readlink(path, dir_fd=None if dirfd == uapi.AT_FDCWD or path.startswith("/")
                           else int(dirfd))
    except (OSError, ValueError, OverflowError):
        return None


def _expand_links(dirfd: Any, path: str) -> str:
    """*path* with each symlink met on the way replaced by its body (at most MAXSYMLINKS), so
    that the textual checks see where a link leads ("/a/l/root" with /a/l -> /proc/1 is
    "/proc/1/root"). Symlink bodies are never resolved when a link is made; this is where
    a later walk through them is checked."""
    absolute, done, todo, links = path.startswith("/"), [], [c for c in path.split("/") if c], 0
    while todo:
        c = todo.pop(0)
        if c == ".":
            continue
        if c == ".." and done and done[-1] != "..":
            done.pop()
            continue
        prefix = ("/" if absolute else "") + "/".join(done + [c])
        body = _readlink(dirfd, prefix) if c != ".." else None
        if body is None or links >= MAXSYMLINKS:
            done.append(c)
            continue
        links += 1
        if body.startswith("/"):
            absolute, done = True, []
        todo = [x for x in body.split("/") if x] + todo
    return ("/" if absolute else "") + "/".join(done) or ("/" if absolute else ".")


def _dangling_target(dirfd: Any, path: str) -> str:
    """Where open(O_CREAT) through *path* creates its file: a trailing symlink whose target
    is missing is followed to the name it points at (open_last_lookups())."""
    for _ in range(MAXSYMLINKS):
        body = _readlink(dirfd, path)
        if body is None:
            return path
        path = body if body.startswith("/") else os.path.join(os.path.dirname(path) or ".", body)
    return path


def _proc_pid_refusal(facts: SandboxFacts, dirfd: Any, path: str) -> str | None:
    """`<proc root>/<N>/…` must name a process of this sandbox (pid namespaces make others
    invisible; this says so explicitly, with the line)."""
    parts = path.split("/")
    for i, comp in enumerate(parts):
        if not comp.isdigit() or i == 0 and not path.startswith("/"):
            continue
        prefix = "/".join(parts[:i]) or ("/" if path.startswith("/") else ".")
        fd = _open_path(dirfd, prefix)
        if fd is None:
            continue
        try:
            is_proc_root = os.fstat(fd).st_ino == PROC_ROOT_INO and _magic(fd) == PROC_SUPER_MAGIC
        finally:
            os.close(fd)
        if is_proc_root and int(comp) not in facts.pids:
            return f"{path}: /proc/{comp} is not a process of this sandbox"
    return None


def _magic(fd: int) -> int:
    """statfs(2) f_type of the filesystem *fd* is on (os.fstatvfs hides it)."""
    buf = ctypes.create_string_buffer(120)          # struct statfs, f_type first
    if _sys.libc.fstatfs(fd, buf) != 0:
        return 0
    return int.from_bytes(buf.raw[:8], "little")


def _open_refusal(facts: SandboxFacts, dirfd: Any, path: str, flags: int) -> str | None:
    """open(2) for writing (or creating) only in the sandbox's own memory filesystems, and
    the id map files of its own processes; no device node at all."""
    follow = not flags & uapi.O_NOFOLLOW
    fd = _open_path(dirfd, path, follow)
    if fd is None:                     # a new name, or none at all: judge by the directory
        if flags & _WRITE_OPEN:        # (of the name a dangling trailing link points at)
            target = path if not follow else _dangling_target(dirfd, path)
            # O_CREAT of a new name in proc is refused by proc itself (no ->create); a
            # write-open of a missing proc file is refused here whatever this host has
            creates = bool(flags & uapi.O_CREAT)
            return (_parent_refusal(facts, dirfd, path, "open for writing", proc_ok=creates)
                    or _parent_refusal(facts, dirfd, target, "open for writing", proc_ok=creates)
                    or _proc_pid_refusal(facts, dirfd, _expand_links(dirfd, target)))
        return None
    try:
        st = os.fstat(fd)
        if stat.S_ISBLK(st.st_mode):
            return f"{path}: block devices are never opened in the sandbox"
        if not flags & _WRITE_OPEN and not stat.S_ISCHR(st.st_mode):
            return None
        magic = _magic(fd)
        if magic == PROC_SUPER_MAGIC and _is_id_map(dirfd, path):
            return None
        if stat.S_ISCHR(st.st_mode) and magic != DEVPTS_SUPER_MAGIC:
            return f"{path}: device nodes outside devpts are never opened in the sandbox"
        if not flags & _WRITE_OPEN:
            return None
        if magic not in WRITABLE_MAGICS or st.st_dev == facts.rootfs_dev:
            return f"{path}: writes outside the sandbox's own filesystems are refused"
    finally:
        os.close(fd)
    return None


# chmod/chown family: name -> (dirfd index or None, path index or None (an fd call), flags
# index or None, follows the last link without flags)
_ATTR_CALLS = {
    "chmod": (None, 0, None, True), "fchmodat": (0, 1, None, True), "fchmodat2": (0, 1, 3, True),
    "chown": (None, 0, None, True), "lchown": (None, 0, None, False),
    "fchownat": (0, 1, 4, True), "fchmod": (0, None, None, True), "fchown": (0, None, None, True),
}


def _attr_refusal(facts: SandboxFacts, name: str, cargs: list[Any]) -> str | None:
    """A mode, owner or group changes only on an inode of the sandbox's own memory
    filesystems or on the root of a proc it mounted (each instance has its own): never the
    host's rootfs, any other proc entry (proc_dir_entries are shared by every instance:
    a chmod through one is seen by the host's next proc mount) or sysfs."""
    d, p, f, follow = _ATTR_CALLS[name]
    flags = int(cargs[f] or 0) if f is not None and f < len(cargs) else 0
    dirfd = uapi.AT_FDCWD if d is None else cargs[d]
    path = cargs[p] if p is not None and p < len(cargs) else ""
    if p is None or (path == "" and flags & uapi.AT_EMPTY_PATH):
        fd = None
        try:                               # the fd itself (AT_FDCWD: the cwd)
            fd = os.open(".", os.O_PATH | os.O_CLOEXEC) if dirfd == uapi.AT_FDCWD else \
                os.dup(int(dirfd))
        except (OSError, ValueError, OverflowError):
            return None                    # EBADF from the call itself
    elif not isinstance(path, str) or not path:
        return None                        # EFAULT or ENOENT from the call itself
    else:
        fd = _open_path(dirfd, path, follow and not flags & uapi.AT_SYMLINK_NOFOLLOW)
    if fd is None:
        return None                        # the call itself will fail
    try:
        st = os.fstat(fd)
        if facts.rootfs_dev is not None and st.st_dev == facts.rootfs_dev:
            return f"{name} {path}: the namespace's hidden root is the host's rootfs"
        magic = _magic(fd)
        # a proc instance's root inode is its own (proc_fill_super()); every other proc
        # entry's mode and owner live in proc_dir_entries every instance shares
        # (proc_notify_change() writes de->mode): never those
        own_proc_root = magic == PROC_SUPER_MAGIC and st.st_ino == PROC_ROOT_INO
        if magic not in WRITABLE_MAGICS and not own_proc_root:
            return f"{name} {path}: only the sandbox's own memory filesystems change attributes"
    finally:
        os.close(fd)
    return None


def _is_id_map(dirfd: Any, path: str) -> bool:
    """Whether *path* names /proc/<pid>/{uid_map,gid_map,setgroups} (or a task's): its name
    is one of those and its directory is a process directory of a proc mount (it has ns/)."""
    if os.path.basename(path) not in ID_MAP_FILES:
        return False
    fd = _open_path(dirfd, os.path.dirname(path) or ".")
    if fd is None:
        return False
    try:
        if _magic(fd) != PROC_SUPER_MAGIC:
            return False
        os.stat("ns", dir_fd=fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _parent_refusal(facts: SandboxFacts, dirfd: Any, path: str, what: str,
                    proc_ok: bool = True) -> str | None:
    """A name created or removed must be in a directory of a filesystem the sandbox made
    (or of nullfs, or proc unless not *proc_ok*: the kernel refuses new names there itself)."""
    parent = os.path.dirname(path.rstrip("/")) or ("/" if path.startswith("/") else ".")
    fd = _open_path(dirfd, parent)
    if fd is None:
        return None                                   # the call itself will fail
    try:
        if facts.rootfs_dev is not None and os.fstat(fd).st_dev == facts.rootfs_dev:
            return f"{what} {path}: the namespace's hidden root is the host's rootfs"
        magic = _magic(fd)
        refuses_itself = magic == NULL_FS_MAGIC or proc_ok and magic == PROC_SUPER_MAGIC
        if magic not in WRITABLE_MAGICS and not refuses_itself:
            return f"{what} {path}: not a filesystem the sandbox may write"
    finally:
        os.close(fd)
    return None


def _setns_refusal(facts: SandboxFacts, fd: Any) -> str | None:
    """setns() only into namespaces of the sandbox: never the host's mount or pid namespace."""
    try:
        st = os.fstat(int(fd))
    except (OSError, ValueError, OverflowError):
        return None                                   # EBADF from the call itself
    if (st.st_dev, st.st_ino) in facts.host_ns_inos:
        return "setns() into the host's own namespace is refused"
    return None


def gather_facts(known: tuple | None = None) -> SandboxFacts:
    """The host's facts, read before the sandbox leaves the host's view: its mnt and pid
    namespaces' inodes and the device of the namespace root (the host's rootfs; statmount
    of "/"'s parent).

    *known* is `host_facts()` as the live backend's zygote read them once, in the host's
    namespaces (a sandbox's main process is already in the sandbox's own pid namespace,
    whose files are the trace's to use); without it this process's own are read."""
    mnt_ns, pid_ns, rootfs_dev = known if known is not None else host_facts()
    return SandboxFacts(frozenset(ino for ino in (mnt_ns, pid_ns) if ino is not None),
                        rootfs_dev)


def host_facts() -> tuple[tuple[int, int] | None, tuple[int, int] | None, int | None]:
    """This process's mnt and pid namespaces ((st_dev, st_ino) of their files) and the
    device of its namespace root: the host's, read in the host's namespaces."""
    return _ns_ino("mnt"), _ns_ino("pid"), _rootfs_dev()


def _ns_ino(ns: str) -> tuple[int, int] | None:
    try:
        st = os.stat(f"/proc/self/ns/{ns}")
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _rootfs_dev() -> int | None:
    """st_dev of the bottom mount of this namespace (the host's rootfs): "/"'s parent by
    statx(STATX_MNT_ID_UNIQUE) and statmount(STATMOUNT_MNT_BASIC), then its device by
    statmount(STATMOUNT_SB_BASIC). None where the kernel cannot say (then the rule is off)."""
    mnt = _sys.mnt_id_unique("/")
    if mnt is None:
        return None
    _, err, out = _sys.statmount_basic(mnt)
    if err or out is None:
        return None
    _, err, out = _sys.statmount_basic(out["mnt_parent_id"])
    if err or out is None:
        return None
    return os.makedev(out["sb_dev_major"], out["sb_dev_minor"])



