"""Hypothesis strategies for mount-syscall programs. Model-only.

Programs are drawn over a small universe of directories so that calls collide: mounts
stack, binds overlap, peer groups chain into slaves, and many calls fail (which is as
interesting as success). A prologue builds a shared tree, a slave chain, an rshared root
or a locked copy in a user namespace, so those states are reached early.
Pids and fds are labels chosen here; every backend maps them to its own numbers.
"""

from __future__ import annotations

import functools

from hypothesis import strategies as st

from . import uapi
from .trace.program import Program, Step


# Strategies are made once per distinct argument, not at every draw: Hypothesis validates
# a new strategy object and computes its properties on first use, which had cost as much as
# running the drawn program on both backends. Same choices, same programs per seed.
@functools.lru_cache(maxsize=4096)
def _sampled(options: tuple) -> st.SearchStrategy:
    return st.sampled_from(options)


def sampled(options) -> st.SearchStrategy:
    """st.sampled_from(options), cached."""
    return _sampled(tuple(options))


@functools.lru_cache(maxsize=256)
def integers(lo: int, hi: int) -> st.SearchStrategy:
    """st.integers(lo, hi), cached."""
    return st.integers(lo, hi)


BOOLEANS = st.booleans()

TOP = ["/a", "/b", "/c", "/d"]
DIRS = TOP + ["/a/x", "/b/x", "/c/x", "/d/x", "/a/x/y", "/b/x/y", "/"]
PROPAGATION = [uapi.MS_SHARED, uapi.MS_SLAVE, uapi.MS_PRIVATE, uapi.MS_UNBINDABLE]

PROLOGUES = {
    "none": [],
    "shared": [("mount", ("tmpfs", "/a", "tmpfs", 0, None)), ("mkdir", ("/a/x", 0o755)),
               ("mount", (None, "/a", None, uapi.MS_SHARED, None)),
               ("mount", ("/a", "/b", None, uapi.MS_BIND, None))],
    "slave": [("mount", ("tmpfs", "/a", "tmpfs", 0, None)), ("mkdir", ("/a/x", 0o755)),
              ("mount", (None, "/a", None, uapi.MS_SHARED, None)),
              ("mount", ("/a", "/b", None, uapi.MS_BIND, None)),
              ("mount", (None, "/b", None, uapi.MS_SLAVE, None)),
              ("mount", ("/b", "/c", None, uapi.MS_BIND, None))],
    "rshared-root": [("mount", (None, "/", None, uapi.MS_SHARED | uapi.MS_REC, None))],
    # a less privileged copy: every mount but the root is MNT_LOCKED (lock_mnt_tree())
    "locked": [("mount", ("tmpfs", "/a", "tmpfs", 0, None)), ("mkdir", ("/a/x", 0o755)),
               ("mount", ("tmpfs", "/a/x", "tmpfs", uapi.MS_NOSUID, None)),
               ("mount", (None, "/a", None, uapi.MS_SHARED, None)),
               ("mount", ("/a", "/b", None, uapi.MS_BIND | uapi.MS_REC, None)),
               ("unshare", (uapi.CLONE_NEWNS | uapi.CLONE_NEWUSER,))],
    # files, a file bind and symlinks (a link to a directory, a relative one to a file)
    "files": [("mkdir", ("/a/x", 0o755)),
              ("openat", (uapi.AT_FDCWD, "/a/f", uapi.O_CREAT | uapi.O_WRONLY, 0o644), 9),
              ("close", (9,)),
              ("openat", (uapi.AT_FDCWD, "/b/f", uapi.O_CREAT | uapi.O_WRONLY, 0o644), 9),
              ("close", (9,)),
              ("symlink", ("/b", "/a/l")), ("symlink", ("../a/f", "/b/l")),
              ("mount", ("/a/f", "/b/f", None, uapi.MS_BIND, None))],
}


@st.composite
def programs(draw, max_steps: int = 20) -> Program:
    """A Program: a prologue, then up to *max_steps* drawn calls over shared state."""
    pids = [1]
    fds: dict[int, list[int]] = {1: []}
    next_fd = [10]
    steps: list[Step] = []

    def add(pid: int, name: str, args: tuple, label: int | None = None) -> None:
        steps.append(Step(pid, name, args, label=label, line=len(steps) + 1))

    for name, args, *label in PROLOGUES[draw(sampled(sorted(PROLOGUES)))]:
        add(1, name, args, label[0] if label else None)
    for _ in range(draw(integers(1, max_steps))):
        pid = draw(sampled(pids))
        kind = draw(sampled(KINDS))
        kind(draw, pid, add, pids, fds, next_fd)
    return Program(file="<generated>", start_dirs=list(TOP), steps=steps)


def d(draw) -> str:
    return draw(sampled(DIRS))


MOUNT_FLAGS = [0, 0, uapi.MS_RDONLY, uapi.MS_NOSUID, uapi.MS_NOEXEC | uapi.MS_NODEV,
               uapi.MS_NOATIME, uapi.MS_STRICTATIME, uapi.MS_SHARED, uapi.MS_SLAVE | uapi.MS_REC]
UMOUNT_FLAGS = [0, 0, uapi.MNT_DETACH, uapi.MNT_DETACH, uapi.MNT_FORCE, uapi.MNT_EXPIRE,
                uapi.UMOUNT_NOFOLLOW, uapi.MNT_DETACH | uapi.MNT_EXPIRE, 0x100]


def k_mount(draw, pid, add, *_):
    add(pid, "mount", ("tmpfs", d(draw), "tmpfs", draw(sampled(MOUNT_FLAGS)), None))


# What tmpfs and ramfs parse, refuse and print (no size in percent: the VM's RAM is not
# the host's, whose the model takes); ramfs ignores all but mode
FS_OPTIONS = ["mode=700", "mode=0755", "mode=1777", "mode=+17", "mode=-1", "mode=8", "mode",
              "mode=40000000000", "size=1m", "nr_inodes=1k", "size=1m,mode=711",
              "uid=0,gid=0", "foo=1", "mode=2,mode=3"]


# proc's and devpts's (hidepid by number and name, subset, gid; devpts's modes, max)
TYPE_OPTIONS = {
    "tmpfs": FS_OPTIONS, "ramfs": FS_OPTIONS,
    "proc": ["hidepid=2", "hidepid=invisible", "hidepid=7", "subset=pid", "subset=sys",
             "gid=5", "hidepid=noaccess,gid=0", "foo", "pidns=/d/self/ns/pid",
             "pidns=/d/self/ns/mnt"],
    "devpts": ["newinstance", "newinstance,ptmxmode=0666", "mode=620,gid=5", "max=8",
               "ptmxmode=8", "mode=+600", "foo=1"],
}


def k_mount_options(draw, pid, add, *_):
    fstype = draw(sampled(["tmpfs", "tmpfs", "ramfs", "proc", "devpts"]))
    add(pid, "mount", (fstype, d(draw), fstype, draw(sampled(MOUNT_FLAGS)),
                       draw(sampled(TYPE_OPTIONS[fstype]))))


def k_remount_options(draw, pid, add, *_):
    """A remount that gives the filesystem new options (its reconfigure)."""
    flags = uapi.MS_REMOUNT | draw(sampled([0, 0, uapi.MS_RDONLY]))
    data = draw(sampled(["size=2m", "nr_inodes=3k", "mode=700", "uid=5", "hidepid=2",
                         "ptmxmode=0600", "foo=1", None]))
    add(pid, "mount", (None, d(draw), None, flags, data))


def k_fsconfig(draw, pid, add, pids, fds, next_fd):
    """fsopen, one parameter set as a string or a flag, create, fsmount, attach."""
    fs_fd, mnt_fd = next_fd[0], next_fd[0] + 1
    next_fd[0] += 2
    fstype = draw(sampled(["tmpfs", "ramfs", "proc"]))
    add(pid, "fsopen", (fstype, uapi.FSOPEN_CLOEXEC), label=fs_fd)
    opt = draw(sampled(TYPE_OPTIONS[fstype] + ["ro", "source=x", "nosuid"]))
    key, eq, val = opt.partition("=")
    if eq:
        add(pid, "fsconfig", (fs_fd, uapi.FSCONFIG_SET_STRING, key, val, 0))
    else:
        add(pid, "fsconfig", (fs_fd, uapi.FSCONFIG_SET_FLAG, key, None, 0))
    add(pid, "fsconfig", (fs_fd, uapi.FSCONFIG_CMD_CREATE, None, None, 0))
    add(pid, "fsmount", (fs_fd, uapi.FSMOUNT_CLOEXEC, 0), label=mnt_fd)
    add(pid, "close", (fs_fd,))
    fds[pid].append(mnt_fd)
    add(pid, "move_mount", (mnt_fd, "", uapi.AT_FDCWD, d(draw), uapi.MOVE_MOUNT_F_EMPTY_PATH))


def k_mount_proc(draw, pid, add, *_):
    """A proc mount makes /d/self/ns/* reachable, for setns and namespace fds."""
    add(pid, "mount", ("proc", "/d", "proc", draw(sampled([0, uapi.MS_NOSUID])), None))


def k_mkdir(draw, pid, add, *_):
    add(pid, "mkdir", (d(draw) + "/" + draw(sampled(["x", "y"])), 0o755))


def k_bind(draw, pid, add, *_):
    flags = uapi.MS_BIND | draw(sampled([0, uapi.MS_REC]))
    add(pid, "mount", (d(draw), d(draw), None, flags, None))


def k_propagation(draw, pid, add, *_):
    flags = draw(sampled(PROPAGATION)) | draw(sampled([0, uapi.MS_REC]))
    add(pid, "mount", (None, d(draw), None, flags, None))


def k_move(draw, pid, add, *_):
    add(pid, "mount", (d(draw), d(draw), None, uapi.MS_MOVE, None))


def k_umount(draw, pid, add, *_):
    add(pid, "umount2", (d(draw), draw(sampled(UMOUNT_FLAGS))))


def k_fork(draw, pid, add, pids, fds, next_fd):
    child = max(pids) + 1
    add(pid, "fork", (), label=child)
    pids.append(child)
    fds[child] = list(fds[pid])


def k_clone(draw, pid, add, pids, fds, next_fd):
    child = max(pids) + 1
    ns = draw(sampled([0, uapi.CLONE_NEWNS, uapi.CLONE_NEWNS | uapi.CLONE_NEWUSER,
                               uapi.CLONE_NEWNS | uapi.CLONE_NEWUSER | uapi.CLONE_NEWPID]))
    if draw(BOOLEANS):
        add(pid, "clone", (ns | uapi.SIGCHLD,), label=child)
    else:
        ns |= draw(sampled([0, 0, 0, uapi.CLONE_EMPTY_MNTNS]))      # 7.1, clone3 only
        add(pid, "clone3", ({"flags": ns, "exit_signal": uapi.SIGCHLD}, 88), label=child)
    pids.append(child)
    fds[child] = list(fds[pid])


def k_pidns(draw, pid, add, pids, fds, next_fd):
    """A child in a pid namespace the program makes (unshare(CLONE_NEWPID) then fork, or
    clone(CLONE_NEWPID); a second unshare is EINVAL and the child joins the pending one)
    mounts proc on a fresh directory under /c and reads self and thread-self there, and
    looks up 1 and 2; the parent reads self too (ENOENT: it is not in that namespace).
    Numbers in a namespace the program made are the same on every backend (1, 2, … from
    its first process), unlike the sandbox's own (see k_open): the directory is fresh so
    that where the namespace could not be made (a caller without CAP_SYS_ADMIN) no proc of
    the sandbox's own namespace is read there."""
    child = max(pids) + 1
    here = f"/c/n{child}"
    add(pid, "mkdir", (here, 0o755))
    if draw(BOOLEANS):
        add(pid, "unshare", (uapi.CLONE_NEWPID,))
        add(pid, "fork", (), label=child)
    else:
        add(pid, "clone", (uapi.CLONE_NEWPID | uapi.SIGCHLD,), label=child)
    pids.append(child)
    fds[child] = list(fds[pid])
    add(child, "mount", ("proc", here, "proc", 0, None))
    for who in draw(sampled([(child,), (child, pid), (pid, child)])):
        add(who, "readlink", (here + draw(sampled(["/self", "/thread-self"])), None, 64))
    if draw(BOOLEANS):
        fd = next_fd[0]
        next_fd[0] += 1
        add(child, "openat", (uapi.AT_FDCWD, here + draw(sampled(["/1", "/2"])),
                              uapi.O_PATH | uapi.O_CLOEXEC), label=fd)
        fds[child].append(fd)


def k_exit(draw, pid, add, pids, fds, next_fd):
    if pid != 1:                      # the main process stays: its table is compared at the end
        add(pid, "exit_group", (0,))
        pids.remove(pid)


def k_setresuid(draw, pid, add, pids, *_):
    if pid != 1:
        add(pid, "setresuid", (1000, 1000, 1000))


def k_open(draw, pid, add, pids, fds, next_fd):
    """An O_PATH fd on a directory (pins its mount) or a namespace fd through /d (proc)."""
    fd = next_fd[0]
    next_fd[0] += 1
    # Only /proc/self: numeric /proc/<pid> names differ between backends (the live kernel's
    # pids are the host's), so they cannot be compared.
    path = draw(sampled(DIRS + ["/d/self/ns/mnt", "/d/self/ns/user"]))
    flags = uapi.O_CLOEXEC | draw(sampled([uapi.O_PATH, uapi.O_PATH | uapi.O_DIRECTORY,
                                                   uapi.O_RDONLY]))
    add(pid, "openat", (uapi.AT_FDCWD, path, flags), label=fd)
    fds[pid].append(fd)


ID_MAP_TEXTS = {"uid_map": ["0 0 1\n", "0 0 1\n", "0 1000 1\n", "1 0 1\n", "0 0 2\n", "x\n", ""],
                "gid_map": ["0 0 1\n", "0 0 1\n", "0 5 1\n", "0 0 1\n1 1 1\n"],
                "setgroups": ["deny", "deny", "allow", "maybe"]}


def k_idmap(draw, pid, add, pids, fds, next_fd):
    """Write a user namespace's uid_map/gid_map/setgroups through /proc/self (proc at /d)."""
    fd = next_fd[0]
    next_fd[0] += 1
    name = draw(sampled(sorted(ID_MAP_TEXTS)))
    add(pid, "openat", (uapi.AT_FDCWD, f"/d/self/{name}", uapi.O_WRONLY | uapi.O_CLOEXEC), label=fd)
    for _ in range(draw(integers(1, 2))):
        text = draw(sampled(ID_MAP_TEXTS[name]))
        add(pid, "write", (fd, text, len(text)))
    add(pid, "close", (fd,))


def k_setns(draw, pid, add, pids, fds, next_fd):
    if fds[pid]:
        fd = draw(sampled(fds[pid]))
        nstype = draw(sampled([0, uapi.CLONE_NEWNS, uapi.CLONE_NEWUSER]))
        add(pid, "setns", (fd, nstype))


def k_fchdir(draw, pid, add, pids, fds, next_fd):
    if fds[pid]:
        add(pid, "fchdir", (draw(sampled(fds[pid])),))


def k_fsmount(draw, pid, add, pids, fds, next_fd):
    """fsopen + create + fsmount, then (usually) attach the new mount."""
    fs_fd, mnt_fd = next_fd[0], next_fd[0] + 1
    next_fd[0] += 2
    add(pid, "fsopen", ("tmpfs", uapi.FSOPEN_CLOEXEC), label=fs_fd)
    add(pid, "fsconfig", (fs_fd, uapi.FSCONFIG_CMD_CREATE, None, None, 0))
    attr = draw(sampled([0, uapi.MOUNT_ATTR_RDONLY, uapi.MOUNT_ATTR_NOSUID]))
    ns = draw(sampled([0, 0, 0, uapi.FSMOUNT_NAMESPACE]))  # 7.1: a namespace fd
    add(pid, "fsmount", (fs_fd, uapi.FSMOUNT_CLOEXEC | ns, attr), label=mnt_fd)
    add(pid, "close", (fs_fd,))
    fds[pid].append(mnt_fd)
    if ns:
        if draw(BOOLEANS):
            add(pid, "setns", (mnt_fd, draw(sampled([0, uapi.CLONE_NEWNS]))))
    elif draw(BOOLEANS):
        flags = uapi.MOVE_MOUNT_F_EMPTY_PATH | draw(sampled([0, uapi.MOVE_MOUNT_BENEATH]))
        add(pid, "move_mount", (mnt_fd, "", uapi.AT_FDCWD, d(draw), flags))


def k_fspick(draw, pid, add, pids, fds, next_fd):
    """Reconfigure a superblock read-only or back (fspick + FSCONFIG_CMD_RECONFIGURE)."""
    fd = next_fd[0]
    next_fd[0] += 1
    add(pid, "fspick", (uapi.AT_FDCWD, d(draw), uapi.FSPICK_CLOEXEC), label=fd)
    add(pid, "fsconfig", (fd, uapi.FSCONFIG_SET_FLAG, draw(sampled(["ro", "rw"])), None, 0))
    add(pid, "fsconfig", (fd, uapi.FSCONFIG_CMD_RECONFIGURE, None, None, 0))
    add(pid, "close", (fd,))


def k_umask(draw, pid, add, *_):
    add(pid, "umask", (draw(sampled([0, 0o022, 0o077, 0o002])),))


def k_listmount(draw, pid, add, *_):
    req = {"size": uapi.MNT_ID_REQ_SIZE_VER0, "spare": 0, "mnt_id": uapi.LSMT_ROOT, "param": 0}
    add(pid, "listmount", (req, None, 64, 0))


def k_statmount_fd(draw, pid, add, pids, fds, next_fd):
    """statmount(STATMOUNT_BY_FD) on one of the pid's fds (7.0; before, EINVAL), with a
    buffer that may be too short for strings (7.3 changed that check)."""
    if not fds[pid]:
        return
    mask = draw(sampled([uapi.STATMOUNT_MNT_BASIC | uapi.STATMOUNT_SB_BASIC,
                                 uapi.STATMOUNT_MNT_ROOT | uapi.STATMOUNT_MNT_POINT,
                                 uapi.STATMOUNT_FS_TYPE | uapi.STATMOUNT_MNT_NS_ID,
                                 uapi.STATMOUNT_FS_SUBTYPE]))
    req = {"size": uapi.MNT_ID_REQ_SIZE_VER1, "mnt_fd": draw(sampled(fds[pid])), "param": mask}
    add(pid, "statmount", (req, None, draw(sampled([4096, 4096, 512, 100])),
                           uapi.STATMOUNT_BY_FD))


def k_read_mountinfo(draw, pid, add, pids, fds, next_fd):
    """Open /d/self/mountinfo (when proc is on /d) and read some of it: the seq_file reader,
    its restart position and mounts changing between reads (later steps)."""
    fd = next_fd[0]
    next_fd[0] += 1
    add(pid, "openat", (uapi.AT_FDCWD, "/d/self/mountinfo", uapi.O_RDONLY | uapi.O_CLOEXEC), label=fd)
    fds[pid].append(fd)
    k_read(draw, pid, add, pids, fds, next_fd, fd)


def k_read(draw, pid, add, pids, fds, next_fd, fd=None):
    """read(2) of 4096 bytes from one of the pid's fds (mountinfo, or an error)."""
    if fd is None and not fds[pid]:
        return
    fd = fd if fd is not None else draw(sampled(fds[pid]))
    add(pid, "read", (fd, None, 4096))   # whole records: partial lines cannot be renumbered


def k_unshare(draw, pid, add, *_):
    """unshare(CLONE_NEWNS[|CLONE_NEWUSER]) or, 7.1, an empty namespace (UNSHARE_EMPTY_MNTNS
    implies CLONE_NEWNS; before 7.1 the bit is refused)."""
    flags = draw(sampled([uapi.CLONE_NEWNS, uapi.CLONE_NEWNS, uapi.UNSHARE_EMPTY_MNTNS,
                                  uapi.CLONE_NEWNS | uapi.UNSHARE_EMPTY_MNTNS]))
    add(pid, "unshare", (flags | draw(sampled([0, 0, uapi.CLONE_NEWUSER])),))


def k_chdir(draw, pid, add, *_):
    add(pid, draw(sampled(["chdir", "chroot"])), (d(draw),))


def k_pivot(draw, pid, add, *_):
    new = d(draw)
    add(pid, "pivot_root", (new, draw(sampled([new, new + "/x", "/", "/a"]))))


def k_open_tree(draw, pid, add, pids, fds, next_fd):
    fd = next_fd[0]
    next_fd[0] += 1
    flags = uapi.OPEN_TREE_CLOEXEC | draw(sampled(
        [uapi.OPEN_TREE_CLONE, uapi.OPEN_TREE_CLONE, uapi.OPEN_TREE_CLONE | uapi.AT_RECURSIVE, 0,
         # 7.0: a namespace fd holding a copy of the tree (with CLONE: refused)
         uapi.OPEN_TREE_NAMESPACE, uapi.OPEN_TREE_NAMESPACE | uapi.AT_RECURSIVE,
         uapi.OPEN_TREE_NAMESPACE | uapi.OPEN_TREE_CLONE]))
    add(pid, "open_tree", (uapi.AT_FDCWD, d(draw), flags), label=fd)
    fds[pid].append(fd)
    if flags & uapi.OPEN_TREE_NAMESPACE and draw(BOOLEANS):
        add(pid, "setns", (fd, draw(sampled([0, uapi.CLONE_NEWNS]))))


def k_root_switch(draw, pid, add, pids, fds, next_fd):
    """The 7.1 root switch without pivot_root: clone a tree, fchdir into it, move it beneath
    "/", chroot("."), detach the old root (refused with EINVAL before 7.1 at the move)."""
    fd = next_fd[0]
    next_fd[0] += 1
    add(pid, "open_tree", (uapi.AT_FDCWD, d(draw), uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_CLOEXEC
                           | draw(sampled([0, uapi.AT_RECURSIVE]))), label=fd)
    fds[pid].append(fd)
    add(pid, "fchdir", (fd,))
    add(pid, "move_mount", (fd, "", uapi.AT_FDCWD, "/",
                            uapi.MOVE_MOUNT_BENEATH | uapi.MOVE_MOUNT_F_EMPTY_PATH))
    add(pid, "chroot", (".",))
    add(pid, "umount2", (".", uapi.MNT_DETACH))


def k_move_mount(draw, pid, add, pids, fds, next_fd):
    mode = draw(sampled(["fd", "path", "beneath", "set_group"]))
    if mode == "fd" and fds[pid]:
        fd = draw(sampled(fds[pid]))
        flags = uapi.MOVE_MOUNT_F_EMPTY_PATH | draw(sampled([0, 0, uapi.MOVE_MOUNT_BENEATH]))
        add(pid, "move_mount", (fd, "", uapi.AT_FDCWD, d(draw), flags))
    elif mode == "set_group":
        add(pid, "move_mount", (uapi.AT_FDCWD, d(draw), uapi.AT_FDCWD, d(draw), uapi.MOVE_MOUNT_SET_GROUP))
    else:
        flags = uapi.MOVE_MOUNT_BENEATH if mode == "beneath" else 0
        add(pid, "move_mount", (uapi.AT_FDCWD, d(draw), uapi.AT_FDCWD, d(draw), flags))


def k_detached(draw, pid, add, pids, fds, next_fd):
    """The new API on fds alone: clone the tree an fd names (open_tree on AT_EMPTY_PATH),
    or attach one detached tree inside another (move_mount between two fds)."""
    if not fds[pid]:
        return
    src = draw(sampled(fds[pid]))
    if draw(BOOLEANS):
        fd = next_fd[0]
        next_fd[0] += 1
        flags = uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_CLOEXEC | uapi.AT_EMPTY_PATH \
            | draw(sampled([0, uapi.AT_RECURSIVE]))
        add(pid, "open_tree", (src, "", flags), label=fd)
        fds[pid].append(fd)
    else:
        dst = draw(sampled(fds[pid]))
        where = draw(sampled(["", "x"]))
        flags = uapi.MOVE_MOUNT_F_EMPTY_PATH | (uapi.MOVE_MOUNT_T_EMPTY_PATH if not where else 0)
        add(pid, "move_mount", (src, "", dst, where, flags))


def k_close(draw, pid, add, pids, fds, next_fd):
    if fds[pid]:
        fd = draw(sampled(fds[pid]))
        fds[pid].remove(fd)
        add(pid, "close", (fd,))


def k_setattr(draw, pid, add, pids, fds, next_fd):
    attr = {"attr_set": draw(sampled([0, uapi.MOUNT_ATTR_RDONLY, uapi.MOUNT_ATTR_NOSUID,
                                              uapi.MOUNT_ATTR_NOSYMFOLLOW])),
            "attr_clr": draw(sampled([0, uapi.MOUNT_ATTR_RDONLY, uapi.MOUNT_ATTR_NOSYMFOLLOW])),
            "propagation": draw(sampled([0] + PROPAGATION)), "userns_fd": 0}
    if fds[pid] and draw(integers(0, 3)) == 0:      # an idmapped mount, any fd as userns
        attr["attr_set"] |= uapi.MOUNT_ATTR_IDMAP
        attr["userns_fd"] = draw(sampled(fds[pid]))
    flags = draw(sampled([0, uapi.AT_RECURSIVE]))
    add(pid, "mount_setattr", (uapi.AT_FDCWD, d(draw), flags, attr, uapi.MOUNT_ATTR_SIZE_VER0))


def k_remount(draw, pid, add, *_):
    flags = uapi.MS_REMOUNT | draw(sampled([uapi.MS_BIND, uapi.MS_BIND, 0])) \
        | draw(sampled([0, uapi.MS_RDONLY, uapi.MS_NOEXEC]))
    add(pid, "mount", (None, d(draw), None, flags, None))


def k_rmdir(draw, pid, add, *_):
    add(pid, "rmdir", (d(draw),))


# Files and symlinks (issue 11): names that collide with the directories above, so that
# files are bound onto files (and refused onto directories), links are mount targets and
# path components, and mountpoints are unlinked and renamed here and in other namespaces.
# Nothing under /d: proc goes there, and the sandbox refuses writes into proc. No mknod:
# it is model-only (the sandbox's seccomp filter refuses it), and no readlink of proc's
# magic links (their text names inode numbers and pids that differ between backends).
FILES = ["/a/f", "/b/f", "/a/x/f", "/c/x"]
LINKS = ["/a/l", "/b/l", "/c/l", "/a/x/l"]
LINK_BODIES = ["/b", "/a/x", "/a/f", "x", "../b", "f", "l", "/c/l", "/b/l", "nowhere", "/a/l/x"]
PATHS = DIRS + FILES + LINKS + ["/a/l/x", "/b/l/", "/b/l/y"]


def p(draw) -> str:
    return draw(sampled(PATHS))


def k_file(draw, pid, add, pids, fds, next_fd):
    """Create (or truncate, or fail to) a regular file, sometimes through a link, and close it."""
    fd = next_fd[0]
    next_fd[0] += 1
    flags = uapi.O_CREAT | uapi.O_WRONLY | uapi.O_CLOEXEC | draw(sampled(
        [0, 0, uapi.O_EXCL, uapi.O_TRUNC, uapi.O_NOFOLLOW]))
    add(pid, "openat", (uapi.AT_FDCWD, draw(sampled(FILES + LINKS)), flags, 0o644), label=fd)
    add(pid, "close", (fd,))


def k_symlink(draw, pid, add, *_):
    name = draw(sampled(LINKS + LINKS + FILES))
    body = draw(sampled(LINK_BODIES))
    if draw(BOOLEANS):
        add(pid, "symlink", (body, name))
    else:
        add(pid, "symlinkat", (body, uapi.AT_FDCWD, name))


def k_unlink(draw, pid, add, *_):
    which = draw(sampled(["unlink", "unlinkat", "rmdir_at"]))
    name = draw(sampled(FILES + LINKS)) if draw(BOOLEANS) else p(draw)
    if which == "unlink":
        add(pid, "unlink", (name,))
    else:
        flags = uapi.AT_REMOVEDIR if which == "rmdir_at" else 0
        add(pid, "unlinkat", (uapi.AT_FDCWD, name, flags))


def k_rename(draw, pid, add, *_):
    flags = draw(sampled([0, 0, uapi.RENAME_NOREPLACE, uapi.RENAME_EXCHANGE]))
    old = draw(sampled(FILES + LINKS + TOP)) if draw(BOOLEANS) else p(draw)
    new = draw(sampled(FILES + LINKS + ["/a/g", "/b/g", "/a/x/g"])) \
        if draw(BOOLEANS) else p(draw)
    if flags or draw(BOOLEANS):
        add(pid, "renameat2", (uapi.AT_FDCWD, old, uapi.AT_FDCWD, new, flags))
    else:
        add(pid, "rename", (old, new))


def k_readlink(draw, pid, add, *_):
    name = draw(sampled(LINKS)) if draw(BOOLEANS) else p(draw)
    add(pid, "readlink", (name, None, draw(sampled([1, 4, 100]))))


def k_path_mount(draw, pid, add, *_):
    """Mount calls on files and links: a bind of a file or through a link, a tmpfs on a
    link, umount2 (UMOUNT_NOFOLLOW sees the link), a nosymfollow remount, a chdir."""
    what = draw(sampled(["bind", "bind", "tmpfs", "umount", "nosymfollow", "chdir"]))
    if what == "bind":
        add(pid, "mount", (p(draw), p(draw), None, uapi.MS_BIND | draw(sampled(
            [0, uapi.MS_REC])), None))
    elif what == "tmpfs":
        add(pid, "mount", ("tmpfs", p(draw), "tmpfs", 0, None))
    elif what == "umount":
        add(pid, "umount2", (p(draw), draw(sampled([0, uapi.UMOUNT_NOFOLLOW,
                                                            uapi.MNT_DETACH]))))
    elif what == "nosymfollow":
        add(pid, "mount", (None, d(draw), None, uapi.MS_REMOUNT | uapi.MS_BIND
                           | draw(sampled([0, uapi.MS_NOSYMFOLLOW])), None))
    else:
        add(pid, "chdir", (p(draw),))


def k_inside_clone(draw, pid, add, pids, fds, next_fd):
    """Step into a cloned tree and close its fd, then use relative paths from inside the
    detached tree: dissolve_on_fput() unmounts it, and where 7.3 leaves covers (knullfs
    stand-ins) 7.2 kept the children connected."""
    fd = next_fd[0]
    next_fd[0] += 1
    flags = uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_CLOEXEC | draw(sampled([0, uapi.AT_RECURSIVE]))
    add(pid, "open_tree", (uapi.AT_FDCWD, draw(sampled(TOP)), flags), label=fd)
    add(pid, "fchdir", (fd,))
    add(pid, "close", (fd,))
    for _ in range(draw(integers(1, 4))):
        rel = draw(sampled(["x", "x/y", "f", "..", "l", "x/.."]))
        op = draw(sampled(["chdir", "mkdir", "rmdir", "openat", "mount"]))
        if op == "openat":
            fd = next_fd[0]
            next_fd[0] += 1
            add(pid, "openat", (uapi.AT_FDCWD, rel, uapi.O_PATH | uapi.O_CLOEXEC), label=fd)
            fds[pid].append(fd)
        elif op == "mount":
            add(pid, "mount", ("tmpfs", rel, "tmpfs", 0, None))
        elif op == "mkdir":
            add(pid, "mkdir", (rel, 0o755))
        else:
            add(pid, op, (rel,))


# Capability masks a program may capset or test: none of them has CAP_SYS_RESOURCE, which
# this machine's root lacks (the model starts from this machine's sets: host_caps()).
_CAPS = [uapi.CAP_SYS_ADMIN, uapi.CAP_DAC_OVERRIDE, uapi.CAP_DAC_READ_SEARCH, uapi.CAP_FOWNER,
         uapi.CAP_CHOWN, uapi.CAP_SETUID, uapi.CAP_SETGID, uapi.CAP_SETPCAP, uapi.CAP_SYS_CHROOT,
         uapi.CAP_FSETID, uapi.CAP_KILL]
_NO_RESOURCE = uapi.CAP_FULL_SET & ~(1 << uapi.CAP_SYS_RESOURCE)
_CAP_MASKS = [0, 1 << uapi.CAP_DAC_OVERRIDE, 1 << uapi.CAP_SYS_ADMIN | 1 << uapi.CAP_SYS_CHROOT,
              _NO_RESOURCE, _NO_RESOURCE & ~(1 << uapi.CAP_SYS_ADMIN),
              _NO_RESOURCE & ~(1 << uapi.CAP_DAC_OVERRIDE | 1 << uapi.CAP_DAC_READ_SEARCH)]
_IDS = [0, 1000, 5, -1]


def k_cred(draw, pid, add, pids, *_):
    """A credential change or question: set*id, setgroups, capset, prctl's keepcaps,
    bounding set, ambient set and securebits, get*id."""
    op = draw(sampled(["setresuid", "setresgid", "setreuid", "setuid", "setgid", "setgroups",
                       "capset", "capset", "keepcaps", "bset", "ambient", "securebits", "getid"]))
    ids = lambda n: tuple(draw(sampled(_IDS)) for _ in range(n))   # noqa: E731
    if op in ("setresuid", "setresgid"):
        add(pid, op, ids(3))
    elif op == "setreuid":
        add(pid, op, ids(2))
    elif op in ("setuid", "setgid"):
        add(pid, op, ids(1))
    elif op == "setgroups":
        gids = list(draw(sampled([(), (0,), (1000, 5), (7,)])))
        add(pid, "setgroups", (len(gids), gids))
    elif op == "capset":
        add(pid, "capset", ({"version": uapi._LINUX_CAPABILITY_VERSION_3, "pid": 0},
                            {k: draw(sampled(_CAP_MASKS)) for k in ("effective", "permitted",
                                                                    "inheritable")}))
    elif op == "keepcaps":
        add(pid, "prctl", (uapi.PR_SET_KEEPCAPS, draw(sampled([0, 1, 1, 2]))))
    elif op == "bset":
        option = draw(sampled([uapi.PR_CAPBSET_DROP, uapi.PR_CAPBSET_READ]))
        add(pid, "prctl", (option, draw(sampled(_CAPS + [41]))))
    elif op == "ambient":
        add(pid, "prctl", (uapi.PR_CAP_AMBIENT, draw(sampled(
            [uapi.PR_CAP_AMBIENT_RAISE, uapi.PR_CAP_AMBIENT_LOWER, uapi.PR_CAP_AMBIENT_IS_SET,
             uapi.PR_CAP_AMBIENT_CLEAR_ALL])), draw(sampled(_CAPS)), 0, 0))
    elif op == "securebits":
        add(pid, "prctl", (uapi.PR_SET_SECUREBITS, draw(sampled(
            [0, uapi.SECBIT_KEEP_CAPS, uapi.SECBIT_NO_SETUID_FIXUP | uapi.SECBIT_KEEP_CAPS,
             uapi.SECBIT_KEEP_CAPS_LOCKED | uapi.SECBIT_KEEP_CAPS, uapi.SECBIT_NOROOT, 1 << 12]))))
    else:
        add(pid, draw(sampled(["getuid", "geteuid", "getgid", "getegid"])), ())


_ATTR_TARGETS = ["/a", "/b", "/a/x", "/a/f", "/b/f", "/a/l", "/"]


def k_attr(draw, pid, add, pids, fds, next_fd):
    """chmod or chown of a directory, file or link the program made (or not), by any
    process, in one of their spellings."""
    path = draw(sampled(_ATTR_TARGETS))
    op = draw(sampled(["chmod", "fchmodat", "chown", "lchown", "fchownat", "fchmodat2"]))
    if op in ("chmod", "fchmodat", "fchmodat2"):
        mode = draw(sampled([0o700, 0o755, 0o2775, 0o4755, 0, 0o1777, 0o640, 0o711]))
        args = {"chmod": (path, mode), "fchmodat": (uapi.AT_FDCWD, path, mode),
                "fchmodat2": (uapi.AT_FDCWD, path, mode,
                              draw(sampled([0, uapi.AT_SYMLINK_NOFOLLOW, 0x8000])))}[op]
    else:
        uid, gid = draw(sampled(_IDS)), draw(sampled(_IDS))
        args = {"chown": (path, uid, gid), "lchown": (path, uid, gid),
                "fchownat": (uapi.AT_FDCWD, path, uid, gid,
                             draw(sampled([0, uapi.AT_SYMLINK_NOFOLLOW])))}[op]
    add(pid, op, args)


KINDS = [k_mount, k_mount, k_mkdir, k_bind, k_bind, k_propagation, k_propagation, k_move,
         k_umount, k_umount, k_fork, k_unshare, k_chdir, k_pivot, k_open_tree, k_move_mount,
         k_move_mount, k_close, k_setattr, k_remount, k_rmdir, k_mount_proc, k_clone, k_exit,
         k_setresuid, k_open, k_setns, k_setns, k_fchdir, k_fsmount, k_fspick, k_listmount,
         k_idmap, k_idmap, k_umask, k_detached, k_detached, k_root_switch, k_statmount_fd,
         k_read_mountinfo, k_read, k_read, k_inside_clone,
         k_file, k_file, k_symlink, k_symlink, k_unlink, k_rename, k_rename, k_readlink,
         k_path_mount, k_path_mount, k_pidns, k_mount_options, k_mount_options,
         k_remount_options, k_fsconfig, k_cred, k_cred, k_cred, k_cred, k_attr, k_attr]
