"""The syscalls a Program can hold: each one's arguments (kernel name and kind, in kernel
order), and which calls create something the trace names by number.

Model-only. Plain data with no imports, so that the live backend's sandbox processes
(backends/sandbox.py) can have it without the rest of the trace package.
"""

from __future__ import annotations

# Argument kinds: "path" and "str" (str or None for NULL), "fd" (int; AT_FDCWD is -100),
# "int", "mode" (int), "ints" (a list of ints: setgroups'), "flags:<family>" (int; family names a uapi.FLAG_NAMES table),
# "struct:<name>" (dict of field -> int/str), "out:<name>" (an output buffer: the parser
# stores what strace printed there in Step.out, backends fill Result.out).
# Optional trailing args are marked with a trailing "?".
SYSCALLS: dict[str, tuple[tuple[str, str], ...]] = {
    "mount": (("source", "str"), ("target", "path"), ("filesystemtype", "str"),
              ("mountflags", "flags:mount"), ("data", "str")),
    "umount2": (("target", "path"), ("flags", "flags:umount")),
    "unshare": (("flags", "flags:clone"),),
    "setns": (("fd", "fd"), ("nstype", "flags:clone")),
    "fork": (),
    "vfork": (),
    "clone": (("flags", "flags:clone"),),          # strace's named flags= argument
    "clone3": (("cl_args", "struct:clone_args"), ("size", "int?")),
    "chdir": (("path", "path"),),
    "fchdir": (("fd", "fd"),),
    "chroot": (("path", "path"),),
    "pivot_root": (("new_root", "path"), ("put_old", "path")),
    "mkdir": (("pathname", "path"), ("mode", "mode?")),
    "mkdirat": (("dirfd", "fd"), ("pathname", "path"), ("mode", "mode?")),
    "rmdir": (("pathname", "path"),),
    "open": (("pathname", "path"), ("flags", "flags:open"), ("mode", "mode?")),
    "creat": (("pathname", "path"), ("mode", "mode?")),
    "openat": (("dirfd", "fd"), ("pathname", "path"), ("flags", "flags:open"), ("mode", "mode?")),
    "openat2": (("dirfd", "fd"), ("pathname", "path"), ("how", "struct:open_how"), ("size", "int")),
    "close": (("fd", "fd"),),
    "dup": (("oldfd", "fd"),),
    "dup2": (("oldfd", "fd"), ("newfd", "int")),           # newfd: the trace's number
    "dup3": (("oldfd", "fd"), ("newfd", "int"), ("flags", "flags:open")),
    # fcntl: only the commands of the fd table (FCNTL_CMDS); strace's other ones are skipped
    "fcntl": (("fd", "fd"), ("cmd", "flags:fcntl"), ("arg", "flags:fd_flags?")),
    "write": (("fd", "fd"), ("buf", "str"), ("count", "int")),   # /proc/<pid>/uid_map & co
    "read": (("fd", "fd"), ("buf", "out:read"), ("count", "int")),  # /proc/<pid>/mountinfo
    "lseek": (("fd", "fd"), ("offset", "int"), ("whence", "flags:seek")),
    "umask": (("mask", "mode"),),
    "unlink": (("pathname", "path"),),
    "unlinkat": (("dirfd", "fd"), ("pathname", "path"), ("flags", "flags:at")),
    "rename": (("oldpath", "path"), ("newpath", "path")),
    "renameat": (("olddirfd", "fd"), ("oldpath", "path"), ("newdirfd", "fd"), ("newpath", "path")),
    "renameat2": (("olddirfd", "fd"), ("oldpath", "path"), ("newdirfd", "fd"), ("newpath", "path"),
                  ("flags", "flags:rename")),
    "symlink": (("target", "str"), ("linkpath", "path")),
    "symlinkat": (("target", "str"), ("newdirfd", "fd"), ("linkpath", "path")),
    "readlink": (("pathname", "path"), ("buf", "out:readlink"), ("bufsiz", "int")),
    "readlinkat": (("dirfd", "fd"), ("pathname", "path"), ("buf", "out:readlink"), ("bufsiz", "int")),
    "mknod": (("pathname", "path"), ("mode", "mode"), ("dev", "int?")),     # model-only
    "mknodat": (("dirfd", "fd"), ("pathname", "path"), ("mode", "mode"), ("dev", "int?")),
    "open_tree": (("dfd", "fd"), ("filename", "path"), ("flags", "flags:open_tree")),
    "move_mount": (("from_dfd", "fd"), ("from_pathname", "path"), ("to_dfd", "fd"),
                   ("to_pathname", "path"), ("flags", "flags:move_mount")),
    "fsopen": (("fsname", "str"), ("flags", "flags:fsopen")),
    "fsconfig": (("fd", "fd"), ("cmd", "flags:fsconfig"), ("key", "str?"), ("value", "str?"),
                 ("aux", "int?")),
    "fsmount": (("fs_fd", "fd"), ("flags", "flags:fsmount"), ("attr_flags", "flags:mount_attr")),
    "fspick": (("dfd", "fd"), ("path", "path"), ("flags", "flags:fspick")),
    "mount_setattr": (("dfd", "fd"), ("path", "path"), ("flags", "flags:at"),
                      ("uattr", "struct:mount_attr"), ("usize", "int")),
    "statmount": (("req", "struct:mnt_id_req"), ("buf", "out:statmount"), ("bufsize", "int"),
                  ("flags", "flags:statmount_flags")),
    "listmount": (("req", "struct:mnt_id_req"), ("mnt_ids", "out:mnt_ids"), ("nr_mnt_ids", "int"),
                  ("flags", "flags:listmount")),
    "setresuid": (("ruid", "int"), ("euid", "int"), ("suid", "int")),
    "setuid": (("uid", "int"),),
    "setreuid": (("ruid", "int"), ("euid", "int")),
    "getuid": (), "geteuid": (), "getgid": (), "getegid": (),
    "setgid": (("gid", "int"),),
    "setregid": (("rgid", "int"), ("egid", "int")),
    "setresgid": (("rgid", "int"), ("egid", "int"), ("sgid", "int")),
    "setgroups": (("size", "int"), ("list", "ints")),
    "capset": (("hdrp", "struct:cap_user_header"), ("datap", "struct:cap_user_data")),
    # prctl: only the credential options (PRCTL_OPTIONS); strace's other ones are skipped
    "prctl": (("option", "flags:prctl"), ("arg2", "int?"), ("arg3", "int?"), ("arg4", "int?"),
              ("arg5", "int?")),
    "chmod": (("pathname", "path"), ("mode", "mode")),
    "fchmod": (("fd", "fd"), ("mode", "mode")),
    "fchmodat": (("dirfd", "fd"), ("pathname", "path"), ("mode", "mode")),
    "fchmodat2": (("dirfd", "fd"), ("pathname", "path"), ("mode", "mode"), ("flags", "flags:at")),
    "chown": (("pathname", "path"), ("owner", "int"), ("group", "int")),
    "lchown": (("pathname", "path"), ("owner", "int"), ("group", "int")),
    "fchown": (("fd", "fd"), ("owner", "int"), ("group", "int")),
    "fchownat": (("dirfd", "fd"), ("pathname", "path"), ("owner", "int"), ("group", "int"),
                 ("flags", "flags:at")),
    "exit_group": (("status", "int"),),
    "exit": (("status", "int"),),
}

# Calls whose success creates something the trace names by number (Step.label).
RETURNS_FD = frozenset({"open", "openat", "openat2", "creat", "open_tree", "fsopen", "fsmount", "fspick",
                        "dup", "dup2", "dup3"})
RETURNS_PID = frozenset({"fork", "vfork", "clone", "clone3"})
FCNTL_CMDS = frozenset({0, 1, 2, 1030})          # F_DUPFD, F_GETFD, F_SETFD, F_DUPFD_CLOEXEC
_FCNTL_DUPS = frozenset({0, 1030})


def makes_fd(name: str, args) -> bool:
    """Does a success of this call put a new fd in the table (its result, Step.label)?"""
    if name == "fcntl":
        return len(args) > 1 and args[1] in _FCNTL_DUPS
    return name in RETURNS_FD


__all__ = ["FCNTL_CMDS", "RETURNS_FD", "RETURNS_PID", "SYSCALLS", "makes_fd"]
