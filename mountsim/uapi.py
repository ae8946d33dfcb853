"""User-visible constants: include/uapi/linux/mount.h, sched.h, fcntl.h.

Values are the kernel's; names are verbatim so a trace line and this module read alike.
`FLAG_NAMES` maps a flag family to its name table, used both to parse strace's symbolic
flags and to print them back. Which bits a given kernel *accepts* is version data and lives
in `versions.py`, not here.
"""

from __future__ import annotations

import errno as _errno

# mount(2) flags (include/uapi/linux/mount.h)
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_POSIXACL = 1 << 16
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_KERNMOUNT = 1 << 22
MS_I_VERSION = 1 << 23
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25
MS_NOREMOTELOCK = 1 << 27
MS_NOSEC = 1 << 28
MS_BORN = 1 << 29
MS_ACTIVE = 1 << 30
MS_NOUSER = 1 << 31
MS_MGC_VAL = 0xC0ED0000
MS_MGC_MSK = 0xFFFF0000
MS_PROPAGATION = MS_SHARED | MS_SLAVE | MS_UNBINDABLE | MS_PRIVATE

# umount2(2)
MNT_FORCE = 1
MNT_DETACH = 2
MNT_EXPIRE = 4
UMOUNT_NOFOLLOW = 8

# open_tree(2)
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = 0o2000000
OPEN_TREE_NAMESPACE = 2  # 7.0; accepted where versions.Semantics.open_tree_flags has it

# move_mount(2)
MOVE_MOUNT_F_SYMLINKS = 0x01
MOVE_MOUNT_F_AUTOMOUNTS = 0x02
MOVE_MOUNT_F_EMPTY_PATH = 0x04
MOVE_MOUNT_T_SYMLINKS = 0x10
MOVE_MOUNT_T_AUTOMOUNTS = 0x20
MOVE_MOUNT_T_EMPTY_PATH = 0x40
MOVE_MOUNT_SET_GROUP = 0x100
MOVE_MOUNT_BENEATH = 0x200
MOVE_MOUNT__MASK = 0x377

# fsopen(2), fspick(2), fsconfig(2), fsmount(2)
FSOPEN_CLOEXEC = 1
FSPICK_CLOEXEC = 1
FSPICK_SYMLINK_NOFOLLOW = 2
FSPICK_NO_AUTOMOUNT = 4
FSPICK_EMPTY_PATH = 8
FSCONFIG_SET_FLAG = 0
FSCONFIG_SET_STRING = 1
FSCONFIG_SET_BINARY = 2
FSCONFIG_SET_PATH = 3
FSCONFIG_SET_PATH_EMPTY = 4
FSCONFIG_SET_FD = 5
FSCONFIG_CMD_CREATE = 6
FSCONFIG_CMD_RECONFIGURE = 7
FSCONFIG_CMD_CREATE_EXCL = 8
FSMOUNT_CLOEXEC = 1
FSMOUNT_NAMESPACE = 2  # 7.1; accepted only where versions.Semantics.fsmount_namespace

# mount_setattr(2) / fsmount(2) attr_flags
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR__ATIME = 0x70
MOUNT_ATTR_RELATIME = 0x0
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_IDMAP = 0x100000
MOUNT_ATTR_NOSYMFOLLOW = 0x200000
MOUNT_ATTR_SIZE_VER0 = 32

# statmount(2) / listmount(2)
STATMOUNT_SB_BASIC = 0x1
STATMOUNT_MNT_BASIC = 0x2
STATMOUNT_PROPAGATE_FROM = 0x4
STATMOUNT_MNT_ROOT = 0x8
STATMOUNT_MNT_POINT = 0x10
STATMOUNT_FS_TYPE = 0x20
STATMOUNT_MNT_NS_ID = 0x40
STATMOUNT_MNT_OPTS = 0x80
STATMOUNT_FS_SUBTYPE = 0x100
STATMOUNT_SB_SOURCE = 0x200
STATMOUNT_OPT_ARRAY = 0x400
STATMOUNT_OPT_SEC_ARRAY = 0x800
STATMOUNT_SUPPORTED_MASK = 0x1000
STATMOUNT_MNT_UIDMAP = 0x2000
STATMOUNT_MNT_GIDMAP = 0x4000
STATMOUNT_BY_FD = 0x1  # 7.0, a flags bit of statmount(); versions.Semantics.statmount_by_fd
LSMT_ROOT = 0xFFFFFFFFFFFFFFFF
LISTMOUNT_REVERSE = 1
MNT_ID_REQ_SIZE_VER0 = 24
MNT_ID_REQ_SIZE_VER1 = 32

# statmount's mnt_propagation / mnt_attr report these (MOUNT_ATTR_* plus propagation)
MS_SHARED_ATTR = MS_SHARED

# sched.h clone/unshare flags
CSIGNAL = 0xFF
CLONE_NEWTIME = 0x80
CLONE_VM = 0x100
CLONE_FS = 0x200
CLONE_FILES = 0x400
CLONE_SIGHAND = 0x800
CLONE_PIDFD = 0x1000
CLONE_PTRACE = 0x2000
CLONE_VFORK = 0x4000
CLONE_PARENT = 0x8000
CLONE_THREAD = 0x10000
CLONE_NEWNS = 0x20000
CLONE_SYSVSEM = 0x40000
CLONE_SETTLS = 0x80000
CLONE_PARENT_SETTID = 0x100000
CLONE_CHILD_CLEARTID = 0x200000
CLONE_DETACHED = 0x400000
CLONE_UNTRACED = 0x800000
CLONE_CHILD_SETTID = 0x1000000
CLONE_NEWCGROUP = 0x2000000
CLONE_NEWUTS = 0x4000000
CLONE_NEWIPC = 0x8000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_IO = 0x80000000
CLONE_CLEAR_SIGHAND = 1 << 32
CLONE_INTO_CGROUP = 1 << 33
UNSHARE_EMPTY_MNTNS = 0x00100000  # 7.1, shares CLONE_PARENT_SETTID's bit (unshare only)
CLONE_AUTOREAP = 1 << 34          # 7.1 sched.h (strace 7.1's clone3_flags); not modelled:
CLONE_NNP = 1 << 35               # the model's clone3_args_valid() answers EINVAL for them
CLONE_PIDFD_AUTOKILL = 1 << 36
CLONE_EMPTY_MNTNS = 1 << 37       # 7.1, clone3 only
SIGCHLD = 17

# fcntl.h
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
O_RDONLY = 0
O_WRONLY = 1
O_RDWR = 2
O_ACCMODE = 3
O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_DSYNC = 0o10000
O_DIRECT = 0o40000
O_LARGEFILE = 0o100000
O_DIRECTORY = 0o200000
O_NOFOLLOW = 0o400000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
O_PATH = 0o10000000
O_TMPFILE = 0o20000000 | O_DIRECTORY
O_ASYNC = 0o20000                  # FASYNC
O_SYNC = 0o4000000 | O_DSYNC       # __O_SYNC | O_DSYNC
# include/linux/fcntl.h (6.18): what openat2(2) accepts in open_how.flags, and with O_PATH
VALID_OPEN_FLAGS = (O_WRONLY | O_RDWR | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND
                    | O_NONBLOCK | O_SYNC | O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY
                    | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE)
O_PATH_FLAGS = O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC
# include/uapi/linux/openat2.h
RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS = 0x01, 0x02, 0x04
RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_CACHED = 0x08, 0x10, 0x20
VALID_RESOLVE_FLAGS = 0x3F
OPEN_HOW_SIZE_VER0 = 24

# include/uapi/linux/fs.h (renameat2), stat.h (mknod's mode)
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
RENAME_WHITEOUT = 4
# fcntl(2) commands the model runs (include/uapi/asm-generic/fcntl.h; F_DUPFD_CLOEXEC is
# F_LINUX_SPECIFIC_BASE + 6, include/uapi/linux/fcntl.h), and the one fd flag
F_DUPFD, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC = 0, 1, 2, 1030
FD_CLOEXEC = 1

S_IFMT = 0o170000
S_IFSOCK = 0o140000
S_IFLNK = 0o120000
S_IFREG = 0o100000
S_IFBLK = 0o060000
S_IFDIR = 0o040000
S_IFCHR = 0o020000
S_IFIFO = 0o010000


# include/uapi/linux/capability.h: capability numbers (bits of the sets), capset's versions
CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 0, 1, 2, 3
CAP_FSETID, CAP_KILL, CAP_SETGID, CAP_SETUID = 4, 5, 6, 7
CAP_SETPCAP, CAP_LINUX_IMMUTABLE, CAP_NET_BIND_SERVICE, CAP_NET_BROADCAST = 8, 9, 10, 11
CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK, CAP_IPC_OWNER = 12, 13, 14, 15
CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_CHROOT, CAP_SYS_PTRACE = 16, 17, 18, 19
CAP_SYS_PACCT, CAP_SYS_ADMIN, CAP_SYS_BOOT, CAP_SYS_NICE = 20, 21, 22, 23
CAP_SYS_RESOURCE, CAP_SYS_TIME, CAP_SYS_TTY_CONFIG, CAP_MKNOD = 24, 25, 26, 27
CAP_LEASE, CAP_AUDIT_WRITE, CAP_AUDIT_CONTROL, CAP_SETFCAP = 28, 29, 30, 31
CAP_MAC_OVERRIDE, CAP_MAC_ADMIN, CAP_SYSLOG, CAP_WAKE_ALARM = 32, 33, 34, 35
CAP_BLOCK_SUSPEND, CAP_AUDIT_READ, CAP_PERFMON, CAP_BPF = 36, 37, 38, 39
CAP_CHECKPOINT_RESTORE = 40
CAP_LAST_CAP = 40
CAP_FULL_SET = (1 << (CAP_LAST_CAP + 1)) - 1
_LINUX_CAPABILITY_VERSION_1, _LINUX_CAPABILITY_VERSION_2, _LINUX_CAPABILITY_VERSION_3 = (
    0x19980330, 0x20071026, 0x20080522)
# include/uapi/linux/prctl.h: the options that read or change credentials
PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_GET_KEEPCAPS, PR_SET_KEEPCAPS = 3, 4, 7, 8
PR_CAPBSET_READ, PR_CAPBSET_DROP, PR_GET_SECUREBITS, PR_SET_SECUREBITS = 23, 24, 27, 28
PR_CAP_AMBIENT = 47
SUID_DUMP_DISABLE, SUID_DUMP_USER, SUID_DUMP_ROOT = 0, 1, 2     # include/linux/sched/coredump.h
PR_CAP_AMBIENT_IS_SET, PR_CAP_AMBIENT_RAISE, PR_CAP_AMBIENT_LOWER, PR_CAP_AMBIENT_CLEAR_ALL = 1, 2, 3, 4
# include/uapi/linux/securebits.h: SECBIT_X is 1 << SECURE_X; each bit's lock is the next one
SECBIT_NOROOT, SECBIT_NOROOT_LOCKED = 1 << 0, 1 << 1
SECBIT_NO_SETUID_FIXUP, SECBIT_NO_SETUID_FIXUP_LOCKED = 1 << 2, 1 << 3
SECBIT_KEEP_CAPS, SECBIT_KEEP_CAPS_LOCKED = 1 << 4, 1 << 5
SECBIT_NO_CAP_AMBIENT_RAISE, SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED = 1 << 6, 1 << 7
SECBIT_EXEC_RESTRICT_FILE, SECBIT_EXEC_RESTRICT_FILE_LOCKED = 1 << 8, 1 << 9
SECBIT_EXEC_DENY_INTERACTIVE, SECBIT_EXEC_DENY_INTERACTIVE_LOCKED = 1 << 10, 1 << 11
SECURE_ALL_BITS = 0x555
SECURE_ALL_LOCKS = SECURE_ALL_BITS << 1
SECURE_ALL_UNPRIVILEGED = SECBIT_EXEC_RESTRICT_FILE | SECBIT_EXEC_DENY_INTERACTIVE
# include/uapi/linux/limits.h
NGROUPS_MAX = 65536


def _table(prefix: str, *, exclude: tuple[str, ...] = ()) -> dict[str, int]:
    return {k: v for k, v in globals().items()
            if k.startswith(prefix) and isinstance(v, int) and k not in exclude}


# Name tables used to parse and print symbolic flags (strace style). Families are named
# after the argument they decode. Order matters only for printing: larger masks first.
FLAG_NAMES: dict[str, dict[str, int]] = {
    "mount": _table("MS_", exclude=("MS_MGC_MSK", "MS_PROPAGATION", "MS_SHARED_ATTR")),
    "umount": {**_table("MNT_", exclude=("MNT_ID_REQ_SIZE_VER0", "MNT_ID_REQ_SIZE_VER1")),
               "UMOUNT_NOFOLLOW": UMOUNT_NOFOLLOW},
    "open_tree": {**_table("OPEN_TREE_"), **_table("AT_", exclude=("AT_FDCWD",))},
    "move_mount": _table("MOVE_MOUNT_", exclude=("MOVE_MOUNT__MASK",)),
    "fsopen": {"FSOPEN_CLOEXEC": FSOPEN_CLOEXEC},
    "fspick": _table("FSPICK_"),
    "fsconfig": _table("FSCONFIG_"),
    "fsmount": _table("FSMOUNT_"),
    "mount_attr": _table("MOUNT_ATTR_", exclude=("MOUNT_ATTR_SIZE_VER0",)),
    "statmount": _table("STATMOUNT_", exclude=("STATMOUNT_BY_FD",)),
    "statmount_flags": {"STATMOUNT_BY_FD": STATMOUNT_BY_FD},
    "seek": {"SEEK_SET": 0, "SEEK_CUR": 1, "SEEK_END": 2},
    "listmount": {"LISTMOUNT_REVERSE": LISTMOUNT_REVERSE},
    "clone": {**_table("CLONE_", exclude=()), "SIGCHLD": SIGCHLD},
    "at": _table("AT_", exclude=("AT_FDCWD",)),
    "open": _table("O_", exclude=("O_ACCMODE", "O_PATH_FLAGS")),
    "rename": _table("RENAME_"),
    "fcntl": {"F_DUPFD": F_DUPFD, "F_GETFD": F_GETFD, "F_SETFD": F_SETFD,
              "F_DUPFD_CLOEXEC": F_DUPFD_CLOEXEC},
    "fd_flags": {"FD_CLOEXEC": FD_CLOEXEC},
    "resolve": _table("RESOLVE_", exclude=()),
    "cap": _table("CAP_", exclude=("CAP_LAST_CAP", "CAP_FULL_SET")),   # a number each
    "prctl": _table("PR_", exclude=tuple(_table("PR_CAP_AMBIENT_"))),
    "secbits": _table("SECBIT_"),
}
# unshare(2) reuses the clone table; UNSHARE_EMPTY_MNTNS is parsed by name too.
FLAG_NAMES["clone"]["UNSHARE_EMPTY_MNTNS"] = UNSHARE_EMPTY_MNTNS
ALL_NAMES: dict[str, int] = {}
for _fam in FLAG_NAMES.values():
    ALL_NAMES.update(_fam)
ALL_NAMES.update(_table("S_IF", exclude=("S_IFMT",)))     # mknod("/a/p", S_IFIFO|0644)
ALL_NAMES.update({"MNT_ID_REQ_SIZE_VER0": MNT_ID_REQ_SIZE_VER0,   # mnt_id_req.size
                  "MNT_ID_REQ_SIZE_VER1": MNT_ID_REQ_SIZE_VER1})
ALL_NAMES.update({"AT_FDCWD": AT_FDCWD, "LSMT_ROOT": LSMT_ROOT, "MS_MGC_VAL": MS_MGC_VAL,
                  "STATMOUNT_BY_FD": STATMOUNT_BY_FD, "MOUNT_ATTR_SIZE_VER0": MOUNT_ATTR_SIZE_VER0})
ALL_NAMES.update(_table("PR_CAP_AMBIENT_"))
ALL_NAMES.update(_table("SUID_DUMP_"))
ALL_NAMES.update(_table("_LINUX_CAPABILITY_VERSION_"))

ERRNO_NAMES: dict[str, int] = {n: getattr(_errno, n) for n in dir(_errno) if n.startswith("E")}


def errno_name(code: int) -> str:
    """Symbolic name of an errno value (ENOENT), as strace prints it."""
    return _errno.errorcode.get(code, str(code))


ENUM_FAMILIES = frozenset({"fsconfig", "seek", "fcntl", "cap", "prctl"})   # one value, not a set of bits


def flags_to_str(family: str, value: int) -> str:
    """Render *value* as strace would: known names joined by '|', then a hex remainder;
    an enumeration (fsconfig's cmd) by its one name."""
    table = FLAG_NAMES[family]
    if family in ENUM_FAMILIES:
        return next((n for n, v in table.items() if v == value), str(value))
    names, rest = [], value
    for name, bit in sorted(table.items(), key=lambda kv: -kv[1]):
        if bit and bit & (bit - 1) == 0 and rest & bit:
            names.append(name)
            rest &= ~bit
    names.reverse()
    if rest or not names:
        names.append(hex(rest) if rest or not names else "0")
    return "|".join(names)
