"""Processes as the mount code sees them: fs_struct, files, nsproxy, credentials.

Mirrors include/linux/fs_struct.h (root and pwd, shared under CLONE_FS), the fd table
(include/linux/fdtable.h, shared under CLONE_FILES) and `struct file` reduced to what pins a
mount or carries a mount-API object (fs_context, a detached tree, a namespace).
Model-only: pins are counted on the mount directly (`Mount.pins`) instead of refcounts on
a vfsmount, because "is this mount busy" is the only question asked of them.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

import attrs

from .errors import KernelError

if TYPE_CHECKING:
    from .fs import Dentry
    from .mount import Mount, MntNamespace
    from .user_namespace import Cred


@attrs.frozen(slots=True, eq=False)
class Path:
    """struct path: a mount and a dentry in it."""

    mnt: Mount
    dentry: Dentry

    def same(self, other: Path) -> bool:
        """path_equal()"""
        return self.mnt is other.mnt and self.dentry is other.dentry

    @property
    def mounted(self) -> bool:
        """path_mounted(): the dentry is the root of its mount."""
        return self.mnt.root is self.dentry


class FsStruct:
    """struct fs_struct: root, cwd and umask. Root and cwd each hold a pin on their mount."""

    __slots__ = ("root", "pwd", "users", "umask")

    def __init__(self, root: Path, pwd: Path, umask: int = 0o022) -> None:
        self.root = root
        self.pwd = pwd
        self.users = 1
        self.umask = umask
        root.mnt.pins += 1
        pwd.mnt.pins += 1

    def set_root(self, p: Path) -> None:
        p.mnt.pins += 1
        self.root.mnt.pins -= 1
        self.root = p

    def set_pwd(self, p: Path) -> None:
        p.mnt.pins += 1
        self.pwd.mnt.pins -= 1
        self.pwd = p

    def copy(self) -> FsStruct:
        return FsStruct(self.root, self.pwd, self.umask)

    def release(self) -> None:
        self.root.mnt.pins -= 1
        self.pwd.mnt.pins -= 1


class File:
    """struct file: what an fd refers to. `path` pins its mount while the file is open.

    kind: "path" (O_PATH or a directory/file), "fscontext" (fsopen/fspick), "ns" (an nsfs
    file for a namespace). `need_unmount` is FMODE_NEED_UNMOUNT: the file owns a detached
    tree that dissolves when the last reference goes (open_tree(OPEN_TREE_CLONE), fsmount()).
    """

    __slots__ = ("kind", "path", "flags", "need_unmount", "fc", "ns", "refs", "idmap", "cred",
                 "pos", "seq")

    def __init__(self, kind: str, path: Path | None, flags: int = 0, fc: Any = None, ns: Any = None) -> None:
        self.kind = kind
        self.path = path
        self.flags = flags
        self.need_unmount = False
        self.fc = fc
        self.ns = ns
        self.refs = 0
        self.idmap = None            # /proc/<pid>/{uid,gid}_map, setgroups: (name, user ns)
        self.cred = None             # f_cred: the opener's credentials, where a write checks them
        self.pos = 0                 # f_pos
        self.seq = None              # private_data of a seq_file (/proc/<pid>/mountinfo)
        if path is not None:
            path.mnt.pins += 1


class FdTable:
    """struct files_struct: fd -> File, lowest free fd first (get_unused_fd_flags()), and
    the close_on_exec bitmap (a set of fds here)."""

    __slots__ = ("fds", "users", "unknown", "cloexec")

    def __init__(self) -> None:
        self.fds: dict[int, File] = {}
        self.users = 1
        # Model-only: numbers open in the recording whose files the model does not know
        # (stdio; what pipe2, dup3, … made): /proc/<pid>/fd/N of them is a link read as recorded
        self.unknown: set[int] = set()
        self.cloexec: set[int] = set()   # fdt->close_on_exec: closed by a successful exec

    def install(self, f: File, at: int | None = None, cloexec: bool = False,
                start: int = 3) -> int:
        """alloc_fd(start, …, O_CLOEXEC or not) + fd_install(): the lowest free fd from
        *start*, or *at* (the trace's number) if free. 0-2 are the process's stdio, which
        the model does not track, so it starts at 3."""
        if at is not None and at >= 0 and at not in self.fds:
            fd = at
        else:
            fd = max(start, 3)
            while fd in self.fds:
                fd += 1
        self.fds[fd] = f
        self.unknown.discard(fd)
        if cloexec:                      # __set_close_on_exec() / __clear_close_on_exec()
            self.cloexec.add(fd)
        else:
            self.cloexec.discard(fd)
        f.refs += 1
        return fd

    def remove(self, fd: int) -> File:
        """file_close_fd(): take *fd* out of the table (its close-on-exec bit with it).
        Errors: EBADF."""
        f = self.get(fd)
        del self.fds[fd]
        self.cloexec.discard(fd)
        return f

    def get(self, fd: int) -> File:
        """fdget(). Errors: EBADF."""
        f = self.fds.get(fd)
        if f is None:
            raise KernelError(errno.EBADF, f"fd {fd} is not open", where="fdget")
        return f

    def copy(self) -> FdTable:
        t = FdTable()
        t.fds = dict(self.fds)
        t.unknown = set(self.unknown)
        t.cloexec = set(self.cloexec)
        for f in t.fds.values():
            f.refs += 1
        return t


class PidNamespace:
    """struct pid_namespace, reduced to its owner, parent and init: proc mounted by a task
    belongs to the user namespace that owns the task's pid namespace
    (proc_init_fs_context()), and when init exits every process in it dies
    (zap_pid_ns_processes())."""

    kind = "pid"                         # its nsfs name and ns_type (proc, setns)
    __slots__ = ("user_ns", "parent", "init", "inum", "idr", "cursor", "adding")

    def __init__(self, user_ns, parent: PidNamespace | None = None) -> None:
        from .user_namespace import _ns_inum
        self.user_ns = user_ns
        self.parent = parent
        self.init: int | None = None   # child_reaper: its exit kills the namespace
        self.inum = next(_ns_inum)     # ns.inum: /proc/<pid>/ns/pid reads "pid:[inum]"
        # The numbers of a child namespace: nr -> task (the initial namespace's numbers are
        # the trace's pids, Kernel.tasks), and idr_alloc_cyclic()'s cursor.
        self.idr: dict[int, Task] = {}
        self.cursor = 0
        # PIDNS_ADDING: cleared when the init exits (zap_pid_ns_processes() ->
        # disable_pid_allocation()); alloc_pid() then answers ENOMEM
        self.adding = True

    def alloc(self, task: Task) -> int:
        """alloc_pid()'s number for *task* here: idr_alloc_cyclic() from the one after the
        last given, from RESERVED_PIDS once past it, skipping numbers in use. The first
        process of a new namespace is 1. Numbers are kept until the process is reaped,
        which the model does not follow (and a cyclic IDR does not reuse them before it
        wraps)."""
        pid_min = RESERVED_PIDS if self.cursor > RESERVED_PIDS else 1
        nr = self.cursor + 1
        while nr in self.idr:
            nr += 1
        if nr >= PID_MAX:
            nr = pid_min
            while nr in self.idr:
                nr += 1
        self.idr[nr] = task
        self.cursor = nr
        return nr

    @property
    def level(self) -> int:
        return 0 if self.parent is None else self.parent.level + 1

    @property
    def has_reaper(self) -> bool:
        """child_reaper set: the initial namespace, or one whose first process exists."""
        return self.parent is None or self.init is not None

    def contains(self, other: PidNamespace) -> bool:
        """Is *other* this namespace or nested in it?"""
        ns: PidNamespace | None = other
        while ns is not None:
            if ns is self:
                return True
            ns = ns.parent
        return False


class Task:
    """struct task_struct: a pid (the trace's number), credentials, fs, files, nsproxy."""

    __slots__ = ("pid", "cred", "fs", "files", "mnt_ns", "alive", "pid_ns", "pid_ns_for_children",
                 "dumpable", "exe", "exec_cred", "net_ns", "ipc_ns", "uts_ns", "cgroup_ns", "time_ns",
                 "time_ns_for_children", "nrs")

    def __init__(self, pid: int, cred: Cred, fs: FsStruct, files: FdTable, mnt_ns: MntNamespace) -> None:
        self.pid = pid
        self.cred = cred
        self.fs = fs
        self.files = files
        self.mnt_ns = mnt_ns          # kernel: nsproxy->mnt_ns
        self.alive = True
        self.pid_ns: PidNamespace | None = None               # task_active_pid_ns()
        self.pid_ns_for_children: PidNamespace | None = None  # nsproxy->pid_ns_for_children
        self.dumpable = True          # get_dumpable(mm) == SUID_DUMP_USER
        self.exec_cred = None         # the credentials before the last exec, while its
        #                               file's set-id bits are undecided (syscalls/cred.py)
        self.exe: File | None = None  # mm->exe_file: known once the trace shows an execve
        # nsproxy's other namespaces (user_namespace.OtherNamespace; Kernel.new_task() starts
        # them at the initial ones): net and ipc decide sysfs and mqueue mounts, all of them
        # are files in /proc/<pid>/ns that setns() enters and a bind mount keeps
        self.net_ns: Any = None
        self.ipc_ns: Any = None
        self.uts_ns: Any = None
        self.cgroup_ns: Any = None
        self.time_ns: Any = None
        self.time_ns_for_children: Any = None
        # struct pid's numbers[] below the initial namespace: {child pid namespace: nr}
        # (None for a task of the initial one, whose number is `pid`)
        self.nrs: dict[PidNamespace, int] | None = None
        mnt_ns.users += 1


RESERVED_PIDS = 300          # include/linux/pid.h (kernel/pid.c: pid_min after a wrap)
PID_MAX = 0x400000           # the model's pid_max: PID_MAX_LIMIT, as systemd sets it


def alloc_pid(task: Task, ns: PidNamespace) -> None:
    """alloc_pid(): *task*'s number in each pid namespace from *ns* (its own) up to the
    initial one, exclusive; the initial namespace's number is the trace's pid."""
    while ns.parent is not None:
        if task.nrs is None:
            task.nrs = {}
        task.nrs[ns] = ns.alloc(task)
        ns = ns.parent


def pid_nr_ns(task: Task, ns: PidNamespace | None) -> int:
    """pid_nr_ns(): *task*'s number as *ns* sees it, 0 if it is not in *ns* (None: the
    initial namespace)."""
    if ns is None or ns.parent is None:
        return task.pid
    return task.nrs.get(ns, 0) if task.nrs is not None else 0


def find_task_by_pid_ns(tasks: dict[int, Task], nr: int, ns: PidNamespace | None) -> Task | None:
    """find_task_by_pid_ns(): the task numbered *nr* in *ns* (None: the initial namespace,
    whose numbers are the trace's pids, *tasks*)."""
    if ns is None or ns.parent is None:
        return tasks.get(nr)
    return ns.idr.get(nr)
