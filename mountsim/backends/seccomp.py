"""The live sandbox's second line: a seccomp filter that allows only what the backend issues.

Model-only (a small classic-BPF program, include/uapi/linux/seccomp.h and filter.h).

The step guard (guard.py) decides what a trace may do; this filter makes sure that a
mistake there still cannot reach a syscall the backend never issues — `reboot`,
`kexec_load`, `init_module`, `ptrace`, `process_vm_writev`, `execve`, `bpf`, `mknod`,
`swapon`, `settimeofday` and every other one not listed. The allowed set is the trace
syscalls the backend can run (`_sys.NR`) plus what the Python runtime of a sandbox process
needs (memory, signals, its channel, fork, wait). Anything else answers EPERM without
reaching the kernel's handler. The live backend's zygote installs the filter on itself
before it makes any sandbox, so every sandbox process inherits it from its first
instruction (its own set-up included: unshare, mount, pivot_root, umount2 are listed); it
cannot be removed (seccomp(2)).

Kernel facts relied on:
- a filter is checked before the syscall runs; SECCOMP_RET_ERRNO returns the errno instead;
- installing a filter without no_new_privs needs CAP_SYS_ADMIN in the current user
  namespace (seccomp_prepare_filter()): the sandbox is root;
- the x32 ABI shares AUDIT_ARCH_X86_64 with nr | 0x40000000: such numbers are refused.
"""

from __future__ import annotations

import ctypes
import struct

from . import _sys

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1
# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]
_OFF_NR, _OFF_ARCH = 0, 4
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06

# What a sandbox process's Python needs besides the trace's syscalls (x86_64 numbers; found
# with `strace -f -c` over the live test suite, then pruned to the sandbox side).
RUNTIME = {
    "read": 0, "write": 1, "close": 3, "fstat": 5, "poll": 7, "lseek": 8, "mmap": 9,
    "mprotect": 10, "munmap": 11, "brk": 12, "rt_sigaction": 13, "rt_sigprocmask": 14,
    "rt_sigreturn": 15, "ioctl": 16, "pread64": 17, "select": 23, "mremap": 25,
    "pipe": 22, "madvise": 28, "dup": 32, "dup2": 33, "pause": 34, "nanosleep": 35, "getpid": 39,
    "sendto": 44, "recvfrom": 45, "sendmsg": 46, "recvmsg": 47, "getsockname": 51,
    "setsockopt": 54, "getsockopt": 55, "fork": 57, "exit": 60, "wait4": 61, "kill": 62,
    "fcntl": 72, "getcwd": 79, "readlink": 89, "getuid": 102, "getgid": 104,
    "geteuid": 107, "getegid": 108, "getppid": 110, "sigaltstack": 131, "statfs": 137,
    "fstatfs": 138, "prctl": 157, "gettid": 186, "futex": 202, "getdents64": 217,
    "set_tid_address": 218, "clock_gettime": 228, "clock_nanosleep": 230,
    "exit_group": 231, "tgkill": 234, "waitid": 247, "newfstatat": 262, "readlinkat": 267,
    "pselect6": 270, "ppoll": 271, "set_robust_list": 273, "dup3": 292, "pipe2": 293, "prlimit64": 302,
    "getrandom": 318, "statx": 332, "rseq": 334, "close_range": 436, "openat2": 437,
}


def allowed_numbers() -> list[int]:
    """Every syscall number the filter lets through, sorted."""
    return sorted(set(RUNTIME.values()) | set(_sys.NR["x86_64"].values()))


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k & 0xFFFFFFFF)


def build_filter(allowed: list[int]) -> bytes:
    """The BPF program: wrong arch or x32 -> EPERM; a listed nr -> ALLOW; else EPERM.

    Layout: [ld arch, jeq, ld nr, jge x32, jeq nr_0 … jeq nr_n-1, ret EPERM, ret ALLOW];
    each jeq jumps forward over the rest of the list to the final ALLOW.
    """
    n = len(allowed)
    deny = SECCOMP_RET_ERRNO | EPERM
    prog = [
        _insn(_LD_W_ABS, 0, 0, _OFF_ARCH),
        _insn(_JEQ_K, 0, n + 2, AUDIT_ARCH_X86_64),      # else: to `ret EPERM`
        _insn(_LD_W_ABS, 0, 0, _OFF_NR),
        _insn(_JGE_K, n, 0, X32_SYSCALL_BIT),           # x32: to `ret EPERM`
    ]
    for i, nr in enumerate(allowed):
        prog.append(_insn(_JEQ_K, n - i, 0, nr))       # to `ret ALLOW`
    prog += [_insn(_RET_K, 0, 0, deny), _insn(_RET_K, 0, 0, SECCOMP_RET_ALLOW)]
    return b"".join(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> int:
    """Install the filter on the calling process (and its future children): 0 or errno."""
    if _sys.ARCH != "x86_64":
        return 95                                       # EOPNOTSUPP: numbers are x86_64
    code = build_filter(allowed_numbers())
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.addressof(buf))
    ctypes.set_errno(0)
    ret = _sys.libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0)
    return ctypes.get_errno() if ret != 0 else 0
