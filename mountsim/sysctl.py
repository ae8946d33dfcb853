"""/proc/sys files the model has: fs.mount-max and user.max_user_namespaces, read and
written through proc.

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
from .uapi import CAP_SYS_RESOURCE
from .user_namespace import ns_capable

# proc path (below the proc root) -> (attribute, minimum, maximum, mode): of the Kernel, or
# for /proc/sys/user (kernel/ucount.c user_table[]) of the reader's user namespace
SYSCTLS = {"/sys/fs/mount-max": ("mount_max", 1, 2**31 - 1, 0o644),
           "/sys/user/max_user_namespaces": ("max_user_namespaces", 0, 2**31 - 1, 0o644)}
_PER_USER_NS = frozenset({"max_user_namespaces"})


def _holder(k: Kernel, table: tuple[str, int, int, int]):
    """Whose value a sysctl is: the kernel's, or the current task's user namespace's (the
    ucount tables are per namespace: set_lookup() answers &current_user_ns()->set)."""
    return k.current.cred.user_ns if table[0] in _PER_USER_NS else k



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
    if table[0] in _PER_USER_NS:
        # set_permissions(): the owner bits to CAP_SYS_RESOURCE over the namespace, else
        # at most read (S_IROTH), for everyone alike
        mode = table[3] >> 6 if ns_capable(task.cred, task.cred.user_ns, CAP_SYS_RESOURCE) \
            else table[3] & 0o4
    else:                               # test_perm(): root's bits, group 0's, others'
        mode = table[3] >> 6 if task.cred.euid == 0 else \
            table[3] >> 3 if task.cred.in_group(0) else table[3]
    if mask & ~mode & 0o7:
        raise KernelError(errno.EACCES, "the sysctl is not writable by this user",
                          where="test_perm")


def sysctl_read(k: Kernel, table: tuple[str, int, int, int], pos: int, count: int) -> str:
    """proc_dointvec_minmax() read: the value and a newline, from *pos*."""
    text = f"{getattr(_holder(k, table), table[0])}\n"
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
    setattr(_holder(k, table), table[0], value)
