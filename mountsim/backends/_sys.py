"""Raw syscalls through ctypes for the live backend: `(ret, errno)`, never an exception.

Model-only (a thin layer over the real kernel). glibc 2.36 (Debian 12) has no wrappers
for the new mount API, so every call goes through `syscall(2)` with the x86_64 numbers of
arch/x86/entry/syscalls/syscall_64.tbl. Structs are packed by hand with `struct` in the
uapi layout (include/uapi/linux/mount.h, sched.h). Also here: the probes, and `Chan`, the
controller's channel to a sandbox process (sendmsg/recvmsg, SCM_RIGHTS, SCM_CREDENTIALS).

Kernel facts relied on:
- `syscall(2)` returns -1 and sets errno on failure; every call here returns (-1, errno).
- clone/clone3 without CLONE_VM return twice like fork(2); the child must run
  PyOS_AfterFork_Child() before using the interpreter (Python C-API, "Process Control").
- struct statmount is 512 bytes up to `str[]` (checked against the kernel in the tests).

Limitations: x86_64 only; `unsupported_arch()` says so elsewhere.
"""

from __future__ import annotations

import array
import ctypes
import os
import pickle
import platform
import socket
import struct
import sys
from typing import Any

NR: dict[str, dict[str, int]] = {"x86_64": {
    "write": 1, "open": 2, "close": 3, "clone": 56, "chdir": 80, "fchdir": 81, "mkdir": 83, "rmdir": 84,
    "umask": 95, "setuid": 105, "setresuid": 117, "pivot_root": 155, "chroot": 161, "mount": 165,
    "umount2": 166, "openat": 257, "mkdirat": 258, "unshare": 272, "setns": 308,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
    "fspick": 433, "clone3": 435, "mount_setattr": 442, "statmount": 457, "listmount": 458,
    "read": 0, "lseek": 8,
    "rename": 82, "creat": 85, "unlink": 87, "symlink": 88, "readlink": 89, "unlinkat": 263, "renameat": 264,
    "symlinkat": 266, "readlinkat": 267, "renameat2": 316,   # not mknod/mknodat: model-only
    "statx": 332,                                  # the sandbox guard's own lookups
    "dup": 32, "dup2": 33, "dup3": 292, "fcntl": 72,   # dup*: as fcntl(F_DUPFD*)
    "openat2": 437,
    # credentials and inode attributes
    "getuid": 102, "getgid": 104, "geteuid": 107, "getegid": 108, "setgid": 106,
    "setreuid": 113, "setregid": 114, "setgroups": 116, "setresgid": 119,
    "capset": 126, "prctl": 157, "chmod": 90, "fchmod": 91, "chown": 92, "fchown": 93,
    "lchown": 94, "fchownat": 260, "fchmodat": 268, "fchmodat2": 452,
}}
ARCH = platform.machine()

if sys.platform == "linux":
    libc = ctypes.CDLL(None, use_errno=True)      # releases the GIL around each call
    libc.syscall.restype = ctypes.c_long
    _libc_gil = ctypes.PyDLL(None, use_errno=True)  # keeps the GIL: needed around clone
    _libc_gil.syscall.restype = ctypes.c_long
_papi = ctypes.pythonapi


def unsupported_arch() -> str | None:
    """None on Linux on an architecture we have syscall numbers for, else a reason."""
    if sys.platform != "linux":
        return "the live backend needs Linux"
    if ARCH not in NR:
        return f"the live backend has no syscall numbers for {ARCH} (x86_64 only)"
    return None


def _arg(a: Any) -> Any:
    """One Python value as a C syscall argument (all registers are longs on x86_64)."""
    if a is None:
        return ctypes.c_void_p(None)
    if isinstance(a, str):
        return ctypes.c_char_p(a.encode("utf-8", "surrogateescape"))
    if isinstance(a, bytes):
        return ctypes.c_char_p(a)
    if isinstance(a, int):
        a &= (1 << 64) - 1
        return ctypes.c_long(a - (1 << 64) if a >= 1 << 63 else a)
    return a                                        # ctypes arrays and pointers as they are


def call(name: str, *args: Any) -> tuple[int, int]:
    """syscall(NR[name], *args) -> (ret, 0) or (-1, errno)."""
    conv = [_arg(a) for a in args]
    ctypes.set_errno(0)
    ret = libc.syscall(ctypes.c_long(NR[ARCH][name]), *conv)
    return (ret, ctypes.get_errno()) if ret == -1 else (ret, 0)


def fork_call(name: str, *args: Any) -> tuple[int, int]:
    """clone/clone3 as os.fork() does it: fork hooks around a raw call, GIL held.

    Returns (0, 0) in the child, (child pid, 0) in the parent, or (-1, errno).
    """
    conv = [_arg(a) for a in args]
    _papi.PyOS_BeforeFork()
    ctypes.set_errno(0)
    ret = _libc_gil.syscall(ctypes.c_long(NR[ARCH][name]), *conv)
    err = ctypes.get_errno() if ret == -1 else 0
    if ret == 0:
        _papi.PyOS_AfterFork_Child()
    else:
        _papi.PyOS_AfterFork_Parent()
    return ret, err


# -- structs in ------------------------------------------------------------------------

def _u64(d: dict, key: str) -> int:
    return int(d.get(key) or 0) & ((1 << 64) - 1)


def cap_header(d: dict | None) -> ctypes.Array | None:
    """struct __user_cap_header_struct: u32 version, int pid."""
    if d is None:
        return None
    data = struct.pack("<Ii", _u64(d, "version") & 0xFFFFFFFF, int(d.get("pid") or 0))
    return ctypes.create_string_buffer(data, len(data))


def cap_data(d: dict | None) -> ctypes.Array | None:
    """struct __user_cap_data_struct[2] (version 2 and 3; version 1 reads the first): each
    set's low 32 bits, then its high 32 bits."""
    if d is None:
        return None
    sets = [_u64(d, k) for k in ("effective", "permitted", "inheritable")]
    data = struct.pack("<6I", *(s & 0xFFFFFFFF for s in sets), *(s >> 32 & 0xFFFFFFFF for s in sets))
    return ctypes.create_string_buffer(data, len(data))


def gid_list(gids: list | None) -> ctypes.Array | None:
    """A gid_t array for setgroups(2)."""
    if gids is None:
        return None
    return (ctypes.c_uint32 * max(len(gids), 1))(*(int(g) & 0xFFFFFFFF for g in gids))


def mount_attr(d: dict | None, size: int) -> ctypes.Array | None:
    """struct mount_attr (MOUNT_ATTR_SIZE_VER0 = 32 bytes), padded with zeros to *size*."""
    if d is None:
        return None
    data = struct.pack("<4Q", *(_u64(d, k) for k in ("attr_set", "attr_clr", "propagation",
                                                     "userns_fd")))
    n = max(size, len(data)) if 0 <= size <= 4096 else len(data)
    return ctypes.create_string_buffer(data, n)


def open_how(d: dict | None, size: int) -> ctypes.Array | None:
    """struct open_how (OPEN_HOW_SIZE_VER0 = 24 bytes: flags, mode, resolve), padded with
    zeros to *size* (the kernel checks size itself)."""
    if d is None:
        return None
    data = struct.pack("<3Q", *(_u64(d, k) for k in ("flags", "mode", "resolve")))
    n = max(size, len(data)) if 0 <= size <= 4096 else len(data)
    return ctypes.create_string_buffer(data, n)


def mnt_id_req(d: dict | None) -> ctypes.Array | None:
    """struct mnt_id_req (VER1, 32 bytes); `size` is the caller's, checked by the kernel.
    The u32 after `size` is `spare` (6.18) or the `mnt_ns_fd`/`mnt_fd` union (7.0)."""
    if d is None:
        return None
    fd = next((d[k] for k in ("spare", "mnt_ns_fd", "mnt_fd") if d.get(k)), 0)
    data = struct.pack("<IIQQQ", int(d.get("size") or 0) & 0xFFFFFFFF,
                       int(fd) & 0xFFFFFFFF, _u64(d, "mnt_id"),
                       _u64(d, "param"), _u64(d, "mnt_ns_id"))
    size = int(d.get("size") or 0)
    return ctypes.create_string_buffer(data, max(len(data), min(size, 4096)))


CLONE_ARGS_FIELDS = ("flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack",
                     "stack_size", "tls", "set_tid", "set_tid_size", "cgroup")


_CLONE_POINTERS = ("pidfd", "child_tid", "parent_tid", "stack", "stack_size", "tls", "set_tid")


def clone_args(d: dict) -> ctypes.Array:
    """struct clone_args (CLONE_ARGS_SIZE_VER2 = 88 bytes), the trace's pointers zeroed.

    They are the tracee's addresses. With NULL parent_tid/child_tid the kernel skips the tid
    writes (kernel_clone() ignores put_user()'s result; a NULL set_child_tid is never
    written), so zeroing them changes nothing visible. exit_signal 0 becomes SIGCHLD.
    """
    d = {**d, **dict.fromkeys(_CLONE_POINTERS, 0)}
    d["exit_signal"] = d.get("exit_signal") or 17
    data = struct.pack("<11Q", *(_u64(d, k) for k in CLONE_ARGS_FIELDS))
    return ctypes.create_string_buffer(data, len(data))


# -- structs out -----------------------------------------------------------------------

# struct statmount up to __spare2, in the 6.18 uapi order; "s:" marks a [str] offset.
_SM_FIELDS = (
    ("size", "I"), ("s:mnt_opts", "I"), ("mask", "Q"), ("sb_dev_major", "I"),
    ("sb_dev_minor", "I"), ("sb_magic", "Q"), ("sb_flags", "I"), ("s:fs_type", "I"),
    ("mnt_id", "Q"), ("mnt_parent_id", "Q"), ("mnt_id_old", "I"), ("mnt_parent_id_old", "I"),
    ("mnt_attr", "Q"), ("mnt_propagation", "Q"), ("mnt_peer_group", "Q"), ("mnt_master", "Q"),
    ("propagate_from", "Q"), ("s:mnt_root", "I"), ("s:mnt_point", "I"), ("mnt_ns_id", "Q"),
    ("s:fs_subtype", "I"), ("s:sb_source", "I"), ("opt_num", "I"), ("a:opt_array", "I"),
    ("opt_sec_num", "I"), ("a:opt_sec_array", "I"), ("supported_mask", "Q"),
    ("mnt_uidmap_num", "I"), ("a:mnt_uidmap", "I"), ("mnt_gidmap_num", "I"),
    ("a:mnt_gidmap", "I"),
)
_SM_FMT = "<" + "".join(t for _, t in _SM_FIELDS)
STATMOUNT_STR_OFFSET = 512        # sizeof(struct statmount): where str[] starts
_ARRAY_COUNT = {"opt_array": "opt_num", "opt_sec_array": "opt_sec_num",
                "mnt_uidmap": "mnt_uidmap_num", "mnt_gidmap": "mnt_gidmap_num"}


def _cstr(buf: bytes, off: int) -> str:
    end = buf.find(b"\0", off)
    return buf[off:end if end >= 0 else len(buf)].decode("utf-8", "surrogateescape")


def decode_statmount(buf: bytes) -> dict[str, Any]:
    """struct statmount -> dict; [str] fields resolved through their offsets into str[].

    A string field is present only when the kernel set its bit in `mask` (offset 0 is a
    valid offset, so the mask, not the offset, decides).
    """
    raw = buf[:struct.calcsize(_SM_FMT)].ljust(struct.calcsize(_SM_FMT), b"\0")
    vals = struct.unpack(_SM_FMT, raw)
    out: dict[str, Any] = {}
    strs: dict[str, int] = {}
    for (key, _), v in zip(_SM_FIELDS, vals):
        if key[:2] in ("s:", "a:"):
            strs[key] = v
        else:
            out[key] = v
    base = STATMOUNT_STR_OFFSET
    for key, off in strs.items():
        kind, name = key.split(":")
        if not _string_present(name, out["mask"]):
            continue
        if kind == "s":
            out[name] = _cstr(buf, base + off)
        else:
            out[name] = _cstr_array(buf, base + off, out[_ARRAY_COUNT[name]])
    return out


_STR_MASK = {"mnt_opts": 0x80, "fs_type": 0x20, "mnt_root": 0x8, "mnt_point": 0x10,
             "fs_subtype": 0x100, "sb_source": 0x200, "opt_array": 0x400,
             "opt_sec_array": 0x800, "mnt_uidmap": 0x2000, "mnt_gidmap": 0x4000}


def _string_present(name: str, mask: int) -> bool:
    return bool(mask & _STR_MASK[name])


def _cstr_array(buf: bytes, off: int, count: int) -> list[str]:
    items = []
    for _ in range(count):
        s = _cstr(buf, off)
        items.append(s)
        off += len(s.encode("utf-8", "surrogateescape")) + 1
    return items


_OUT_CAP = 1 << 20          # bytes we allocate at most for an output buffer


def read_call(fd: int, n: int) -> tuple[int, int, str | None]:
    """read(fd, buf, n) into our own buffer (capped): (ret, errno, the text read)."""
    buf = ctypes.create_string_buffer(max(1, min(n, _OUT_CAP)))
    ret, err = call("read", fd, buf, n)
    return (ret, err, None) if err else (ret, 0, buf.raw[:ret].decode("utf-8", "surrogateescape"))


def readlink_call(name: str, args: list[Any]) -> tuple[int, int, str | None]:
    """readlink(path, buf, n) / readlinkat(dfd, path, buf, n) into our own buffer (capped):
    (ret, errno, the link body read)."""
    n = int(args[-1] or 0)
    buf = ctypes.create_string_buffer(max(1, min(n, _OUT_CAP)))
    ret, err = call(name, *args[:-2], buf, n)
    return (ret, err, None) if err else (ret, 0, buf.raw[:ret].decode("utf-8", "surrogateescape"))


def stat_call(name: str, req: dict | None, n: int, flags: int) -> tuple[int, int, Any]:
    """statmount(req, buf, n, flags) or listmount(req, ids, n, flags) into our own buffer:
    (ret, errno, decoded buffer). The kernel writes only what exists, so a capped buffer
    with the trace's larger *n* is safe."""
    creq = mnt_id_req(req)
    if name == "statmount":
        buf = ctypes.create_string_buffer(max(1, min(n, _OUT_CAP)))
        ret, err = call("statmount", creq, buf, n, flags)
        return (ret, err, None) if err else (ret, 0, decode_statmount(buf.raw))
    ids = (ctypes.c_uint64 * max(1, min(n, _OUT_CAP // 8)))()
    ret, err = call("listmount", creq, ids, n, flags)
    return (ret, err, None) if err else (ret, 0, list(ids[:ret]))


# -- probes ------------------------------------------------------------------------------

CAP_SYS_ADMIN = 21


def has_cap(cap: int) -> bool:
    """Whether *cap* is in this process's effective set (/proc/self/status CapEff)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def probe_unshare_newns() -> int:
    """errno of unshare(CLONE_NEWNS) in a throwaway child (0: works); ours stays untouched."""
    pid = os.fork()
    if pid == 0:
        ret, err = call("unshare", 0x20000)
        os._exit(0 if ret == 0 else min(err, 255) or 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


# -- channels: length-prefixed pickles over a unix socketpair -------------------------

class Chan:
    """One end of a socketpair carrying length-prefixed pickles, with fds (SCM_RIGHTS)
    and, where SO_PASSCRED is on, the sender's pid (SCM_CREDENTIALS)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, obj: Any, fds: tuple[int, ...] = ()) -> None:
        data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
        msg = struct.pack("<I", len(data)) + data
        if not fds:
            self.sock.sendall(msg)
            return
        sent = self.sock.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                          array.array("i", fds))])
        if sent < len(msg):
            self.sock.sendall(msg[sent:])

    def recv(self) -> tuple[Any, list[int], int | None]:
        """(message, received fds, sender's pid if SO_PASSCRED is on)."""
        anc = socket.CMSG_SPACE(4 * 4) + socket.CMSG_SPACE(struct.calcsize("3i"))
        head, ancdata, _, _ = self.sock.recvmsg(4, anc)
        if not head:
            raise EOFError("channel closed")
        fds: list[int] = []
        pid = None
        for level, kind, data in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.extend(array.array("i", data[:len(data) - len(data) % 4]))
            elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("3i", data[:12])[0]
        head += self._exact(4 - len(head))
        return pickle.loads(self._exact(struct.unpack("<I", head)[0])), fds, pid

    def _exact(self, n: int) -> bytes:
        parts = []
        while n > 0:
            chunk = self.sock.recv(min(n, 1 << 20))
            if not chunk:
                raise EOFError("channel closed mid-message")
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def close(self) -> None:
        self.sock.close()


def chan_pair(timeout: float) -> tuple[Chan, socket.socket]:
    """(our end, with SO_PASSCRED and *timeout*; the socket for the new process).

    Kernel: with SO_PASSCRED every message carries the sender's pid translated into the
    receiver's pid namespace (net/core/scm.c), so a child in a new pid namespace still
    reports its host pid.
    """
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    mine.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    mine.settimeout(timeout)
    return Chan(mine), theirs


# -- identities of mounts (the sandbox guard's facts) -----------------------------------

STATX_MNT_ID_UNIQUE = 0x4000
_STATX_MNT_ID_OFFSET = 0x90        # struct statx: __u64 stx_mnt_id
AT_FDCWD = -100


def mnt_id_unique(path: str) -> int | None:
    """statx(STATX_MNT_ID_UNIQUE) of *path*: the 64-bit id of the mount it is on, or None."""
    buf = ctypes.create_string_buffer(256)
    ret, _ = call("statx", AT_FDCWD, path, 0, STATX_MNT_ID_UNIQUE, buf)
    if ret != 0 or not int.from_bytes(buf.raw[0:4], "little") & STATX_MNT_ID_UNIQUE:
        return None
    return int.from_bytes(buf.raw[_STATX_MNT_ID_OFFSET:_STATX_MNT_ID_OFFSET + 8], "little")


def statmount_basic(mnt_id: int) -> tuple[int, int, Any]:
    """statmount(STATMOUNT_SB_BASIC | STATMOUNT_MNT_BASIC) of a unique mount id."""
    return stat_call("statmount", {"size": 24, "mnt_id": mnt_id, "param": 0x1 | 0x2}, 4096, 0)
