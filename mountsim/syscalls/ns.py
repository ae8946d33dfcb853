"""Namespaces, processes and roots: unshare, setns, fork/clone/clone3, chdir, fchdir,
chroot, pivot_root, setresuid.

Mirrors kernel/fork.c (ksys_unshare(), copy_process() checks, clone3_args_valid()),
kernel/nsproxy.c (unshare_nsproxy_namespaces(), setns()), fs/namespace.c (copy_mnt_ns() via
namespace.py, mntns_install(), SYSCALL pivot_root), fs/open.c (chdir, fchdir, chroot) and
kernel/sys.c (setresuid).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .. import uapi
from ..errors import KernelError
from ..mount import MntNamespace
from ..namei import LOOKUP_DIRECTORY, LOOKUP_FOLLOW, may_lookup, traverse_mounts, user_path_at
from ..namespace import (check_mnt, copy_mnt_ns, get_mnt_ns, is_path_reachable, lock_mount, mntput,
                         put_mnt_ns)
from ..newns import copy_empty_mnt_ns
from ..proc import in_outside_process
from ..task import FsStruct, Path, PidNamespace, Task, alloc_pid
from ..user_namespace import OtherNamespace, UserNamespace, create_user_ns, ns_capable
from .file import set_mm_exe_file
from .mount import require_may_mount

if TYPE_CHECKING:
    from ..kernel import Kernel

CLONE_NS_OTHER = (uapi.CLONE_NEWUTS | uapi.CLONE_NEWIPC | uapi.CLONE_NEWNET | uapi.CLONE_NEWPID
                  | uapi.CLONE_NEWCGROUP | uapi.CLONE_NEWTIME)
UNSHARE_VALID = (uapi.CLONE_THREAD | uapi.CLONE_FS | uapi.CLONE_NEWNS | uapi.CLONE_SIGHAND
                 | uapi.CLONE_VM | uapi.CLONE_FILES | uapi.CLONE_SYSVSEM | uapi.CLONE_NEWUSER
                 | CLONE_NS_OTHER)
CLONE_LEGACY_FLAGS = 0xFFFFFFFF
CLONE_ARGS_SIZE_VER0 = 64


def current_chrooted(k: Kernel, task: Task) -> bool:
    """current_chrooted(): is the root anything but the top of the namespace root's stack?"""
    root = task.mnt_ns.root
    ns_root = traverse_mounts(k, Path(root, root.root))
    return not task.fs.root.same(ns_root)


def _new_namespaces(k: Kernel, task: Task, flags: int, cred, fs: FsStruct) -> MntNamespace | None:
    """unshare_nsproxy_namespaces()/copy_namespaces(): the new mount namespace, if any.

    Errors: EPERM without CAP_SYS_ADMIN over the (possibly new) user namespace.
    Kernel: `sem.empty_mntns` (7.1): CLONE_EMPTY_MNTNS (unshare's UNSHARE_EMPTY_MNTNS,
    converted by the caller) makes copy_mnt_ns() clone the namespace root alone.
    """
    if not flags & (uapi.CLONE_NEWNS | CLONE_NS_OTHER):
        return None
    if not ns_capable(cred, cred.user_ns):
        raise KernelError(errno.EPERM, "creating namespaces needs CAP_SYS_ADMIN", where="unshare_nsproxy_namespaces")
    if not flags & uapi.CLONE_NEWNS:
        return None
    if flags & uapi.CLONE_EMPTY_MNTNS:
        return copy_empty_mnt_ns(task, k, task.mnt_ns, cred.user_ns, fs)
    return copy_mnt_ns(task, k, task.mnt_ns, cred.user_ns, fs)


# nsproxy's other namespaces: the task attribute, the clone flag that makes a new one, its kind
_OTHERS = (("net_ns", uapi.CLONE_NEWNET, "net"), ("ipc_ns", uapi.CLONE_NEWIPC, "ipc"),
           ("uts_ns", uapi.CLONE_NEWUTS, "uts"), ("cgroup_ns", uapi.CLONE_NEWCGROUP, "cgroup"),
           ("time_ns_for_children", uapi.CLONE_NEWTIME, "time"))


def copy_other_namespaces(task: Task, flags: int, cred) -> dict[str, OtherNamespace]:
    """The net, ipc, uts, cgroup namespaces and the time namespace for children after
    clone/unshare with *flags* (create_new_namespaces(): copy_net_ns(), copy_ipcs(),
    copy_utsname(), copy_cgroup_ns(), copy_time_ns(); a new one is owned by the new
    credentials' user namespace)."""
    return {attr: OtherNamespace(kind, cred.user_ns) if flags & flag else getattr(task, attr)
            for attr, flag, kind in _OTHERS}


def _set_others(task: Task, others: dict[str, OtherNamespace]) -> None:
    for attr, ns in others.items():
        setattr(task, attr, ns)


def _switch_ns(k: Kernel, task: Task, ns: MntNamespace) -> None:
    """switch_task_namespaces(): the old namespace loses this task's reference."""
    old = task.mnt_ns
    get_mnt_ns(ns)
    task.mnt_ns = ns
    put_mnt_ns(k, old)


def sys_unshare(k: Kernel, task: Task, flags: int) -> int:
    """unshare(2). Mirrors ksys_unshare().

    Errors: EINVAL (unknown flags), EPERM (CLONE_NEWUSER while chrooted; namespaces without
    CAP_SYS_ADMIN), EUSERS.
    Kernel: `sem.empty_mntns` (7.1) accepts UNSHARE_EMPTY_MNTNS, which implies CLONE_NEWNS
    (and so CLONE_FS); before, its bit (CLONE_PARENT_SETTID's) is an unknown flag.
    """
    empty = k.sem.empty_mntns and bool(flags & uapi.UNSHARE_EMPTY_MNTNS)
    if flags & uapi.CLONE_NEWUSER:
        flags |= uapi.CLONE_THREAD | uapi.CLONE_FS
    if flags & uapi.CLONE_VM:
        flags |= uapi.CLONE_SIGHAND
    if flags & uapi.CLONE_SIGHAND:
        flags |= uapi.CLONE_THREAD
    if empty:
        flags |= uapi.CLONE_NEWNS
    if flags & uapi.CLONE_NEWNS:
        flags |= uapi.CLONE_FS
    if flags & ~(UNSHARE_VALID | (uapi.UNSHARE_EMPTY_MNTNS if empty else 0)):
        raise KernelError(errno.EINVAL, "unknown unshare flags", where="check_unshare_flags")
    if empty:                                # unshare_nsproxy_namespaces(): the 64-bit flag
        flags = flags & ~uapi.UNSHARE_EMPTY_MNTNS | uapi.CLONE_EMPTY_MNTNS
    # unshare_fs(): a copy when shared, and always for CLONE_NEWNS (copy_mnt_ns() moves
    # root and cwd into the new namespace; a later failure drops the copy, not the task's)
    new_fs = task.fs.copy() if flags & uapi.CLONE_FS and (
        flags & uapi.CLONE_NEWNS or task.fs.users > 1) else None
    cred = task.cred
    if flags & uapi.CLONE_NEWUSER:
        cred = create_user_ns(task.cred, current_chrooted(k, task))
    fs = new_fs or task.fs
    ns = None
    try:
        ns = _new_namespaces(k, task, flags, cred, fs)
        pid_ns = _pid_ns_for(task, flags, cred)   # create_new_namespaces(): after the mnt ns
    except KernelError:
        if new_fs is not None:
            new_fs.release()
        if ns is not None:
            ns.users += 1
            put_mnt_ns(k, ns)
        raise
    if ns is not None:
        _switch_ns(k, task, ns)
    _set_others(task, copy_other_namespaces(task, flags, cred))
    if new_fs is not None:
        old_fs, task.fs = task.fs, new_fs
        old_fs.users -= 1
        if old_fs.users == 0:
            old_fs.release()
    if flags & uapi.CLONE_FILES and task.files.users > 1:
        task.files.users -= 1
        task.files = task.files.copy()
    task.cred = cred
    task.pid_ns_for_children = pid_ns
    return 0


def do_fork(k: Kernel, task: Task, flags: int, child_pid: int) -> int:
    """fork/vfork/clone/clone3 for what the mount model sees. Mirrors copy_process().

    Errors: EINVAL (CLONE_NEWNS|CLONE_FS, CLONE_NEWUSER|CLONE_FS, CLONE_THREAD without
    CLONE_SIGHAND, CLONE_SIGHAND without CLONE_VM), EPERM (namespaces without caps), EEXIST
    (the trace's child pid is in use), ENOMEM (alloc_pid(): the child's pid namespace has
    lost its init, so it takes no new process).
    """
    if flags & (uapi.CLONE_NEWNS | uapi.CLONE_FS) == (uapi.CLONE_NEWNS | uapi.CLONE_FS):
        raise KernelError(errno.EINVAL, "CLONE_NEWNS with CLONE_FS", where="copy_process")
    if flags & (uapi.CLONE_NEWUSER | uapi.CLONE_FS) == (uapi.CLONE_NEWUSER | uapi.CLONE_FS):
        raise KernelError(errno.EINVAL, "CLONE_NEWUSER with CLONE_FS", where="copy_process")
    if flags & uapi.CLONE_THREAD and not flags & uapi.CLONE_SIGHAND:
        raise KernelError(errno.EINVAL, "CLONE_THREAD needs CLONE_SIGHAND", where="copy_process")
    if flags & uapi.CLONE_SIGHAND and not flags & uapi.CLONE_VM:
        raise KernelError(errno.EINVAL, "CLONE_SIGHAND needs CLONE_VM", where="copy_process")
    if child_pid in k.tasks and k.tasks[child_pid].alive:
        raise KernelError(errno.EEXIST, f"pid {child_pid} already exists", where="alloc_pid")
    cred = task.cred.copy()
    if flags & uapi.CLONE_NEWUSER:
        cred = create_user_ns(task.cred, current_chrooted(k, task))
    if flags & uapi.CLONE_FS:
        fs = task.fs
        fs.users += 1
    else:
        fs = task.fs.copy()
    ns = None
    try:
        ns = _new_namespaces(k, task, flags, cred, fs)
        pid_ns = _pid_ns_for(task, flags, cred)   # create_new_namespaces(): after the mnt ns
        if not pid_ns.adding:          # alloc_pid() comes after copy_namespaces()
            raise KernelError(errno.ENOMEM, "the pid namespace's init has exited",
                              where="alloc_pid")
    except KernelError:
        if fs is not task.fs:
            fs.release()
        else:
            fs.users -= 1
        if ns is not None:             # bad_fork_cleanup_namespaces
            ns.users += 1
            put_mnt_ns(k, ns)
        raise
    if flags & uapi.CLONE_FILES:
        files = task.files
        files.users += 1
    else:
        files = task.files.copy()
    child = k.new_task(child_pid, cred, fs, files, ns or task.mnt_ns)
    child.pid_ns = child.pid_ns_for_children = pid_ns
    alloc_pid(child, pid_ns)
    _set_others(child, copy_other_namespaces(task, flags, cred))
    child.time_ns = child.time_ns_for_children        # timens_on_fork()
    if pid_ns.init is None:
        pid_ns.init = child_pid                # the first process is its child_reaper
    child.dumpable = task.dumpable            # the mm is copied
    set_mm_exe_file(k, child, task.exe)       # dup_mmap(): the mm's exe_file, shared
    return child_pid


def _pid_ns_for(task: Task, flags: int, cred) -> PidNamespace:
    """copy_pid_ns(): the pid namespace a child (or, after unshare, the next child) lives in;
    a new one is owned by the (possibly new) user namespace. Errors: EINVAL (a new one while
    an unshared one is still waiting for its first child), which create_new_namespaces()
    finds after copy_namespaces()'s EPERM and the new mount namespace (freed then)."""
    if not flags & uapi.CLONE_NEWPID:
        return task.pid_ns_for_children
    if task.pid_ns_for_children is not task.pid_ns:
        raise KernelError(errno.EINVAL, "a new pid namespace is already pending", where="copy_pid_ns")
    return PidNamespace(cred.user_ns, task.pid_ns)


def sys_clone3(k: Kernel, task: Task, args: dict, size: int | None, child_pid: int) -> int:
    """clone3(2). Mirrors copy_clone_args_from_user() + clone3_args_valid().

    Errors: EINVAL (size too small, unknown flags, CSIGNAL bits in flags, bad exit_signal).
    Kernel: `sem.empty_mntns` (7.1) accepts CLONE_EMPTY_MNTNS; kernel_clone() adds
    CLONE_NEWNS to it before copy_process()'s checks (so CLONE_FS with it is EINVAL).
    """
    if size is not None and size < CLONE_ARGS_SIZE_VER0:
        raise KernelError(errno.EINVAL, "clone_args too small", where="copy_clone_args_from_user")
    flags = int(args.get("flags", 0))
    valid = CLONE_LEGACY_FLAGS | uapi.CLONE_CLEAR_SIGHAND | uapi.CLONE_INTO_CGROUP
    if k.sem.empty_mntns:
        valid |= uapi.CLONE_EMPTY_MNTNS
    if flags & ~valid:
        raise KernelError(errno.EINVAL, "unknown clone3 flags", where="clone3_args_valid")
    if flags & uapi.CSIGNAL or int(args.get("exit_signal", 0)) & ~uapi.CSIGNAL:
        raise KernelError(errno.EINVAL, "signal bits belong in exit_signal", where="clone3_args_valid")
    if flags & uapi.CLONE_EMPTY_MNTNS:
        flags |= uapi.CLONE_NEWNS            # kernel_clone()
    return do_fork(k, task, flags, child_pid)


# ns_common.ns_type of each kind of namespace: the CLONE_NEW* flag setns() checks
_NS_TYPE = {"mnt": uapi.CLONE_NEWNS, "user": uapi.CLONE_NEWUSER, "pid": uapi.CLONE_NEWPID,
            "net": uapi.CLONE_NEWNET, "ipc": uapi.CLONE_NEWIPC, "uts": uapi.CLONE_NEWUTS,
            "cgroup": uapi.CLONE_NEWCGROUP, "time": uapi.CLONE_NEWTIME}


def sys_setns(k: Kernel, task: Task, fd: int, nstype: int) -> int:
    """setns(2) with a namespace fd. Mirrors setns(), mntns_install(), userns_install(),
    pidns_install() and the others' ->install() (netns_install(), ipcns_install(),
    utsns_install(), cgroupns_install(), timens_install()).

    Errors: EBADF, EINVAL (not a namespace file, type mismatch, anonymous namespace, shared
    fs_struct, own user namespace, a pid namespace not below the caller's), EPERM.
    """
    f = task.files.get(fd)
    if f.kind != "ns" or f.flags & uapi.O_PATH:
        if f.flags & uapi.O_PATH:
            raise KernelError(errno.EBADF, "O_PATH fd", where="fdget")
        d = f.path.dentry if f.path is not None else None
        if d is not None and d.sb.fstype == "proc" and in_outside_process(d):
            raise KernelError(errno.EINVAL, "a namespace of a process outside the trace "
                              "(nsenter -t): unknown to the model", where="setns")
        raise KernelError(errno.EINVAL, "not a namespace fd", where="setns")
    ns = f.ns
    kind = _NS_TYPE[ns.kind]
    if nstype and nstype != kind:
        raise KernelError(errno.EINVAL, "namespace type mismatch", where="setns")
    if kind == uapi.CLONE_NEWUSER:
        return _userns_install(task, ns)
    if not isinstance(ns, MntNamespace):
        return _other_ns_install(task, ns)
    if not (ns_capable(task.cred, ns.user_ns) and ns_capable(task.cred, task.cred.user_ns)):
        raise KernelError(errno.EPERM, "needs CAP_SYS_ADMIN and CAP_SYS_CHROOT", where="mntns_install")
    if ns.is_anon:
        raise KernelError(errno.EINVAL, "anonymous mount namespace", where="mntns_install")
    if task.fs.users != 1:
        raise KernelError(errno.EINVAL, "fs_struct is shared", where="mntns_install")
    _switch_ns(k, task, ns)
    root = traverse_mounts(k, Path(ns.root, ns.root.root))   # LOOKUP_DOWN on "/"
    task.fs.set_pwd(root)
    task.fs.set_root(root)
    return 0


def pidns_is_ancestor(ns: PidNamespace, active: PidNamespace) -> bool:
    """pidns_is_ancestor(): *ns* is *active* or below it (the only pid namespaces one may
    enter or show)."""
    while ns is not None and ns.level > active.level:
        ns = ns.parent
    return ns is active


def _other_ns_install(task: Task, ns: OtherNamespace | PidNamespace) -> int:
    """The ->install() of the namespaces mounts do not live in: CAP_SYS_ADMIN over the
    namespace's owner and over the caller's own user namespace; a pid namespace must be the
    caller's or below it and becomes the one for children (pidns_install()); a time
    namespace becomes the caller's and its children's (timens_install()).
    Errors: EPERM, EINVAL (pid)."""
    name = ns.kind
    if not (ns_capable(task.cred, ns.user_ns) and ns_capable(task.cred, task.cred.user_ns)):
        raise KernelError(errno.EPERM, "needs CAP_SYS_ADMIN over the namespace's owner",
                          where=f"{name}ns_install")
    if isinstance(ns, PidNamespace):
        if not pidns_is_ancestor(ns, task.pid_ns):
            raise KernelError(errno.EINVAL, "not the caller's pid namespace or below it",
                              where="pidns_install")
        task.pid_ns_for_children = ns
    elif name == "time":
        task.time_ns = task.time_ns_for_children = ns
    else:
        setattr(task, f"{name}_ns", ns)
    return 0


def _userns_install(task: Task, ns: UserNamespace) -> int:
    """userns_install(). Errors: EINVAL (own namespace, shared fs), EPERM."""
    if ns is task.cred.user_ns or task.fs.users != 1:
        raise KernelError(errno.EINVAL, "already there, or fs_struct shared", where="userns_install")
    if not ns_capable(task.cred, ns):
        raise KernelError(errno.EPERM, "no CAP_SYS_ADMIN in the target user namespace", where="userns_install")
    cred = task.cred.copy()
    cred.set_user_ns(ns)
    task.cred = cred
    return 0


def sys_chdir(k: Kernel, task: Task, path: str | None) -> int:
    """chdir(2). Errors: lookup errors, ENOTDIR, EACCES (path_permission(MAY_EXEC))."""
    p = user_path_at(k, task, uapi.AT_FDCWD, path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY)
    may_lookup(task, p.dentry, "chdir", p.mnt)
    old = task.fs.pwd.mnt
    task.fs.set_pwd(p)
    mntput(k, old)                          # set_fs_pwd(): path_put() of the old cwd
    return 0


def sys_fchdir(k: Kernel, task: Task, fd: int) -> int:
    """fchdir(2) (O_PATH fds allowed: fdget_raw). Errors: EBADF, ENOTDIR, EACCES
    (file_permission(MAY_EXEC))."""
    f = task.files.get(fd)
    if f.path is None or not f.path.dentry.is_dir:
        raise KernelError(errno.ENOTDIR, "fd is not a directory", where="fchdir")
    may_lookup(task, f.path.dentry, "fchdir", f.path.mnt)
    old = task.fs.pwd.mnt
    task.fs.set_pwd(f.path)
    mntput(k, old)                          # set_fs_pwd(): path_put() of the old cwd
    return 0


def sys_chroot(k: Kernel, task: Task, path: str | None) -> int:
    """chroot(2). Errors: lookup errors, ENOTDIR, EACCES (path_permission(MAY_EXEC)), EPERM
    (no CAP_SYS_CHROOT)."""
    p = user_path_at(k, task, uapi.AT_FDCWD, path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY)
    may_lookup(task, p.dentry, "chroot", p.mnt)
    if not ns_capable(task.cred, task.cred.user_ns, uapi.CAP_SYS_CHROOT):
        raise KernelError(errno.EPERM, "chroot needs CAP_SYS_CHROOT", where="ksys_chroot")
    old = task.fs.root.mnt
    task.fs.set_root(p)
    mntput(k, old)                          # set_fs_root(): path_put() of the old root
    return 0


def sys_pivot_root(k: Kernel, task: Task, new_root: str | None, put_old: str | None) -> int:
    """pivot_root(2). Mirrors SYSCALL_DEFINE2(pivot_root).

    Errors: EPERM, lookup errors (new_root first), ENOENT (put_old's mount gone), EINVAL
    (shared mounts involved, not ours, new root locked), EBUSY (same mount), EINVAL (not
    mount roots, not attached, put_old not under new_root, new_root not under root).
    Kernel: `sem.pivot_root_lookup_first` (7.0): both lookups come before may_mount()'s
    EPERM (path_pivot_root()).
    """
    if not k.sem.pivot_root_lookup_first:
        require_may_mount(task, "pivot_root")
    new = user_path_at(k, task, uapi.AT_FDCWD, new_root, LOOKUP_FOLLOW | LOOKUP_DIRECTORY)
    old = user_path_at(k, task, uapi.AT_FDCWD, put_old, LOOKUP_FOLLOW | LOOKUP_DIRECTORY)
    if k.sem.pivot_root_lookup_first:
        require_may_mount(task, "path_pivot_root")
    root = task.fs.root
    old, old_mp = lock_mount(k, old)
    new_mnt, root_mnt, old_mnt = new.mnt, root.mnt, old.mnt
    ex_parent, root_parent = new_mnt.parent, root_mnt.parent

    def fail(code: int, why: str) -> KernelError:
        return KernelError(code, why, where="pivot_root")

    if old_mnt.is_shared or ex_parent.is_shared or root_parent.is_shared:
        raise fail(errno.EINVAL, "a mount involved is shared")
    if not check_mnt(task, root_mnt) or not check_mnt(task, new_mnt):
        raise fail(errno.EINVAL, "root or new_root not in the caller's namespace")
    if new_mnt.is_locked:
        raise fail(errno.EINVAL, "new_root is locked")
    if new.dentry.unlinked:
        raise fail(errno.ENOENT, "new_root was removed")
    if new_mnt is root_mnt or old_mnt is root_mnt:
        raise fail(errno.EBUSY, "new_root or put_old is on the current root mount")
    if not root.mounted:
        raise fail(errno.EINVAL, "current root is not a mount root")
    if not root_mnt.has_parent:
        raise fail(errno.EINVAL, "current root is not attached")
    if not new.mounted:
        raise fail(errno.EINVAL, "new_root is not a mount root")
    if not new_mnt.has_parent:
        raise fail(errno.EINVAL, "new_root is not attached")
    if not is_path_reachable(old_mnt, old.dentry, new.mnt, new.dentry):
        raise fail(errno.EINVAL, "put_old is not under new_root")
    if not is_path_reachable(new_mnt, new.dentry, root.mnt, root.dentry):
        raise fail(errno.EINVAL, "new_root is not under the current root")
    k.unhash_mnt(new_mnt)                      # umount_mnt(new_mnt)
    root_mp = k.unhash_mnt(root_mnt)           # we'll need its mountpoint
    if root_mnt.is_locked:
        from ..mount import MNT
        new_mnt.flags |= MNT.LOCKED
        root_mnt.flags &= ~MNT.LOCKED
    k.attach_mnt(root_mnt, old_mnt, old_mp)    # mount old root on put_old
    k.attach_mnt(new_mnt, root_parent, root_mp)  # mount new_root on /
    new_mnt.expire = False
    k.chroot_fs_refs(root, new)
    return 0
