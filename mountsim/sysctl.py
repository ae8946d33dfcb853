"""/proc/sys files the mount code has: fs.mount-max, read and written through proc.

Mirrors fs/proc/proc_sysctl.c (proc_sys_permission() -> sysctl_perm() -> test_perm(),
proc_sys_call_handler()) and kernel/sysctl.c proc_dointvec_minmax() for the one sysctl of
fs/namespace.c: `mount-max` (sysctl_mount_max, 0644, extra1 = SYSCTL_ONE), the most mounts
one namespace may hold (count_mounts()).

Limitations: other sysctls are files of unknown contents (a replayed read answers what was
recorded, syscalls/file.py); sysctl_writes_strict is taken as 1 (the default): a write at a
non-zero offset changes nothing.
"""

from __future__ import annotations

import errno

from .errors import KernelError
from .fs import Dentry
from .kernel import Kernel
from .task import Task

# proc path (below the proc root) -> (Kernel attribute, minimum, maximum, mode)
SYSCTLS = {"/sys/fs/mount-max": ("mount_max", 1, 2**31 - 1, 0o644)}



def sysctl_of(d: Dentry) -> tuple[str, int, int, int] | None:
    """The sysctl a proc dentry stands for, or None."""
    if d.sb.fstype != "proc":
        return None
    return SYSCTLS.get(d.path())


def sysctl_perm(task: Task, table: tuple[str, int, int, int], mask: int) -> None:
    """Mirrors test_perm(): root's kernel euid gets the owner bits, a task in the root
    group (every task of the model has gid 0) the group bits.

    Errors: EACCES.
    """
    mode = table[3] >> 6 if task.cred.euid == 0 else table[3] >> 3
    if mask & ~mode & 0o7:
        raise KernelError(errno.EACCES, "the sysctl is not writable by this user",
                          where="test_perm")


def sysctl_read(k: Kernel, table: tuple[str, int, int, int], pos: int, count: int) -> str:
    """proc_dointvec_minmax() read: the value and a newline, from *pos*."""
    text = f"{getattr(k, table[0])}\n"
    return text[pos:pos + count]


def sysctl_write(k: Kernel, table: tuple[str, int, int, int], pos: int, text: str) -> None:
    """proc_dointvec_minmax() write of one integer (leading/trailing blanks allowed).

    Errors: EINVAL (not a number, or out of [min, max]).
    """
    if pos:
        return                                  # proc_first_pos_non_zero_ignore()
    try:
        value = int(text.strip() or "x", 10)
    except ValueError:
        raise KernelError(errno.EINVAL, f"not an integer: {text!r}", where="proc_dointvec_minmax")
    if not table[1] <= value <= table[2]:
        raise KernelError(errno.EINVAL, f"{value} outside [{table[1]}, {table[2]}]",
                          where="proc_dointvec_minmax")
    setattr(k, table[0], value)
