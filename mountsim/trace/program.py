"""The program contract shared by the trace parser, every backend, and the generators.

Model-only. A `Program` is what a trace file means once parsed: a start state, a list of
`Step`s (one syscall each, arguments decoded into Python values in kernel order), and an
optional `expect-tree`. Backends execute Steps one at a time through a `Session`
(backends/base.py) and answer a `Result`; replay compares it with the recorded one.

Identifiers in a Step are always the *trace's own numbers*: `pid` is the trace's pid,
fd arguments are the trace's fd numbers, and `label` is the trace's number for what a
successful call creates (an fd, or a child pid for fork/clone). Each backend keeps its own
map from trace numbers to its own objects, so a model and a real kernel can run the same
program although their real fd numbers and pids differ.
"""

from __future__ import annotations

from typing import Any

import attrs

# Argument kinds: "path" and "str" (str or None for NULL), "fd" (int; AT_FDCWD is -100),
# "int", "mode" (int), "flags:<family>" (int; family names a uapi.FLAG_NAMES table),
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
    "close": (("fd", "fd"),),
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
    "exit_group": (("status", "int"),),
    "exit": (("status", "int"),),
}

# Calls whose success creates something the trace names by number (Step.label).
RETURNS_FD = frozenset({"open", "openat", "creat", "open_tree", "fsopen", "fsmount", "fspick"})
RETURNS_PID = frozenset({"fork", "vfork", "clone", "clone3"})

# Struct fields, in the kernel's order (strace prints them so).
STRUCTS: dict[str, tuple[str, ...]] = {
    "clone_args": ("flags", "pidfd", "child_tid", "parent_tid", "exit_signal", "stack",
                   "stack_size", "tls", "set_tid", "set_tid_size", "cgroup"),
    "mount_attr": ("attr_set", "attr_clr", "propagation", "userns_fd"),
    # the u32 after size is one union: `spare` (6.18), `mnt_ns_fd` / `mnt_fd` (7.0); a
    # trace spells it one way, kept as written (syscalls/stat.py:mnt_id_req_fd() reads it)
    "mnt_id_req": ("size", "spare", "mnt_ns_fd", "mnt_fd", "mnt_id", "param", "mnt_ns_id"),
}


@attrs.frozen(slots=True)
class Result:
    """What a syscall returned: `ret` (>= 0, or -1 with `errno` a name like "EINVAL")."""

    ret: int
    errno: str | None = None
    out: Any = None          # decoded output buffer (statmount struct, listmount ids) if any

    @property
    def ok(self) -> bool:
        return self.ret != -1 or self.errno is None

    def __str__(self) -> str:
        if self.errno:
            return f"-1 {self.errno}"
        return str(self.ret)


@attrs.frozen(slots=True)
class Step:
    """One syscall of a program, with its arguments decoded in kernel order."""

    pid: int
    name: str
    args: tuple[Any, ...]
    result: Result | None = None    # recorded result; None when the trace does not say
    label: int | None = None        # trace number of the fd / child pid this call creates
    out: Any = None                 # what the trace printed in the output buffer, if any
    file: str = "<program>"
    line: int = 0
    text: str = ""                  # the source line, for messages

    def arg(self, name: str) -> Any:
        """Argument by its kernel parameter name (SYSCALLS)."""
        for i, (n, _) in enumerate(SYSCALLS[self.name]):
            if n == name:
                return self.args[i] if i < len(self.args) else None
        raise KeyError(name)


@attrs.frozen(slots=True)
class ExpectRow:
    """One row of an `expect-tree` block."""

    mountpoint: str
    fstype: str
    propagation: tuple[str, ...]    # () for private, else ("shared:1", "master:2", ...)
    locked: bool | None             # None: not asserted
    line: int = 0


@attrs.frozen(slots=True)
class Note:
    """Something replay skipped rather than failed: out of scope or unknown to the model."""

    file: str
    line: int
    msg: str


@attrs.define(slots=True)
class Program:
    """A parsed trace (or a generated program) ready to run on any backend."""

    file: str = "<program>"
    kernel: str | None = None               # "# kernel:" header; None = default version
    main_pid: int = 1
    start_mountinfo: list[str] = attrs.Factory(list)
    start_dirs: list[str] = attrs.Factory(list)
    steps: list[Step] = attrs.Factory(list)
    expect_tree: list[ExpectRow] | None = None
    expect_line: int = 0
    notes: list[Note] = attrs.Factory(list)   # lines the parser ignored on purpose
    unmodelled: dict[str, int] = attrs.Factory(dict)  # calls of syscalls the model lacks, by name
    first_unmodelled: int = 0                 # the line of the first of them
    start_mountinfo_lines: list[int] = attrs.Factory(list)  # the line of each start-mountinfo
    start_contents_known: bool = False        # `# start-contents: complete`
    start_unknown: bool = False               # raw strace output, no header: an unknown machine
