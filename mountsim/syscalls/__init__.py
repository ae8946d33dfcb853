"""The syscall table: trace names to the functions that implement them.

Model-only dispatch (the kernel's is arch/x86/entry/syscalls/syscall_64.tbl). Every entry
takes (kernel, task, *args) with args decoded in kernel order (trace/program.SYSCALLS) and
returns an int, or a File for calls that create an fd (installed here, at the trace's number
when it gives one, as fd_install() would at the lowest free slot). KernelError passes through
to the caller: the backend turns it into `-1 ERRNO`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Callable

from .. import uapi
from ..task import File
from . import file, mount

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..task import Task

Handler = Callable[..., Any]


TABLE: dict[str, Handler] = {
    "mount": mount.sys_mount,
    "umount2": mount.sys_umount2,
    "mkdir": file.sys_mkdir,
    "mkdirat": file.sys_mkdirat,
    "open": file.sys_open,
    "openat": file.sys_openat,
    "openat2": file.sys_openat2,
    "creat": file.sys_creat,
    "close": file.sys_close,
    "write": file.sys_write,
    "read": file.sys_read,
    "lseek": file.sys_lseek,
    "umask": file.sys_umask,
    "dup": file.sys_dup,
    "dup2": file.sys_dup2,
    "dup3": file.sys_dup3,
    "fcntl": file.sys_fcntl,
}

# Where each fd-making call takes its close-on-exec bit (get_unused_fd_flags(flags)):
# (argument index, the flag that sets it). creat and dup never set it; dup3 sets its own.
_CLOEXEC_ARG: dict[str, tuple[int, int]] = {
    "open": (1, uapi.O_CLOEXEC), "openat": (2, uapi.O_CLOEXEC),
    "open_tree": (2, uapi.OPEN_TREE_CLOEXEC), "fsopen": (1, uapi.FSOPEN_CLOEXEC),
    "fspick": (2, uapi.FSPICK_CLOEXEC), "fsmount": (1, uapi.FSMOUNT_CLOEXEC),
}


def new_fd_flags(name: str, args: tuple) -> tuple[bool, int]:
    """(close-on-exec, lowest number) for the fd a call makes: its flags argument's
    O_CLOEXEC, and f_dupfd()'s start for fcntl(F_DUPFD*)."""
    if name == "fcntl":
        return args[1] == uapi.F_DUPFD_CLOEXEC, (args[2] if len(args) > 2 else 0)
    if name == "openat2":
        return bool(int((args[2] or {}).get("flags") or 0) & uapi.O_CLOEXEC), 3
    at = _CLOEXEC_ARG.get(name)
    return (at is not None and len(args) > at[0] and bool((args[at[0]] or 0) & at[1])), 3

# The other handlers, by module and name: a module is imported the first time a program
# calls one of its syscalls (importing all of them was ~15 ms of every `mountsim replay`;
# tests/unit/test_syscall_table.py checks this list against the modules).
LAZY: dict[str, tuple[str, str]] = {
    "unshare": ("ns", "sys_unshare"),
    "setns": ("ns", "sys_setns"),
    "chdir": ("ns", "sys_chdir"),
    "fchdir": ("ns", "sys_fchdir"),
    "chroot": ("ns", "sys_chroot"),
    "pivot_root": ("ns", "sys_pivot_root"),
    "setuid": ("cred", "sys_setuid"),
    "getuid": ("cred", "sys_getuid"),
    "geteuid": ("cred", "sys_geteuid"),
    "getgid": ("cred", "sys_getgid"),
    "getegid": ("cred", "sys_getegid"),
    "setreuid": ("cred", "sys_setreuid"),
    "setresuid": ("cred", "sys_setresuid"),
    "setgid": ("cred", "sys_setgid"),
    "setregid": ("cred", "sys_setregid"),
    "setresgid": ("cred", "sys_setresgid"),
    "setgroups": ("cred", "sys_setgroups"),
    "capset": ("cred", "sys_capset"),
    "prctl": ("cred", "sys_prctl"),
    "chmod": ("attr", "sys_chmod"),
    "fchmod": ("attr", "sys_fchmod"),
    "fchmodat": ("attr", "sys_fchmodat"),
    "fchmodat2": ("attr", "sys_fchmodat2"),
    "chown": ("attr", "sys_chown"),
    "lchown": ("attr", "sys_lchown"),
    "fchown": ("attr", "sys_fchown"),
    "fchownat": ("attr", "sys_fchownat"),
    "open_tree": ("newapi", "sys_open_tree"),
    "move_mount": ("newapi", "sys_move_mount"),
    "unlink": ("dirops", "sys_unlink"),
    "unlinkat": ("dirops", "sys_unlinkat"),
    "rmdir": ("dirops", "sys_rmdir"),
    "rename": ("dirops", "sys_rename"),
    "renameat": ("dirops", "sys_renameat"),
    "renameat2": ("dirops", "do_renameat2"),
    "symlink": ("dirops", "sys_symlink"),
    "symlinkat": ("dirops", "do_symlinkat"),
    "readlink": ("dirops", "sys_readlink"),
    "readlinkat": ("dirops", "do_readlinkat"),
    "mknod": ("dirops", "sys_mknod"),
    "mknodat": ("dirops", "do_mknodat"),
    "fsopen": ("fscontext", "sys_fsopen"),
    "fspick": ("fscontext", "sys_fspick"),
    "fsconfig": ("fscontext", "sys_fsconfig"),
    "fsmount": ("fscontext", "sys_fsmount"),
    "mount_setattr": ("setattr", "sys_mount_setattr"),
    "statmount": ("stat", "sys_statmount"),
    "listmount": ("stat", "sys_listmount"),
}

FORKS = {"fork": 0, "vfork": 0}


def register(name: str, handler: Handler) -> None:
    """Add a syscall family's handlers (fscontext, setattr, stat register themselves)."""
    TABLE[name] = handler


def handler(name: str) -> Handler:
    """The function implementing syscall *name*, its module imported on first use.
    KeyError if not modelled."""
    h = TABLE.get(name)
    if h is None:
        module, attr = LAZY[name]
        h = TABLE[name] = getattr(importlib.import_module(f".{module}", __name__), attr)
    return h


def dispatch(k: Kernel, task: Task, name: str, args: tuple, label: int | None) -> int:
    """Run syscall *name* as *task*. Raises KernelError; KeyError if not modelled."""
    k.current = task
    if name in FORKS or name in ("clone", "clone3"):
        from . import ns
        child = label if label is not None else k.next_pid()
        if name == "clone3":
            return ns.sys_clone3(k, task, args[0] or {}, args[1] if len(args) > 1 else None, child)
        flags = (args[0] if args else 0) & ~0xFF
        return ns.do_fork(k, task, flags, child)
    ret = handler(name)(k, task, *args)
    if isinstance(ret, File):
        cloexec, start = new_fd_flags(name, args)
        return task.files.install(ret, at=label, cloexec=cloexec, start=start)
    return ret


def is_modelled(name: str) -> bool:
    return (name in TABLE or name in LAZY or name in FORKS
            or name in ("clone", "clone3", "exit", "exit_group"))
