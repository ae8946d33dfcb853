"""Hypothesis strategies for mount-syscall programs. Model-only.

Programs are drawn over a small universe of directories so that calls collide: mounts
stack, binds overlap, peer groups chain into slaves, and many calls fail (which is as
interesting as success). A prologue builds a shared tree so propagation is reached early.
Pids and fds are labels chosen here; every backend maps them to its own numbers.
"""

from __future__ import annotations

from hypothesis import strategies as st

from . import uapi
from .trace.program import Program, Step

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

    for name, args in PROLOGUES[draw(st.sampled_from(sorted(PROLOGUES)))]:
        add(1, name, args)
    for _ in range(draw(st.integers(1, max_steps))):
        pid = draw(st.sampled_from(pids))
        kind = draw(st.sampled_from(KINDS))
        kind(draw, pid, add, pids, fds, next_fd)
    return Program(file="<generated>", start_dirs=list(TOP), steps=steps)


def d(draw) -> str:
    return draw(st.sampled_from(DIRS))


def k_mount(draw, pid, add, *_):
    add(pid, "mount", ("tmpfs", d(draw), "tmpfs", draw(st.sampled_from([0, 0, uapi.MS_RDONLY, uapi.MS_NOSUID])), None))


def k_mkdir(draw, pid, add, *_):
    add(pid, "mkdir", (d(draw) + "/" + draw(st.sampled_from(["x", "y"])), 0o755))


def k_bind(draw, pid, add, *_):
    flags = uapi.MS_BIND | draw(st.sampled_from([0, uapi.MS_REC]))
    add(pid, "mount", (d(draw), d(draw), None, flags, None))


def k_propagation(draw, pid, add, *_):
    flags = draw(st.sampled_from(PROPAGATION)) | draw(st.sampled_from([0, uapi.MS_REC]))
    add(pid, "mount", (None, d(draw), None, flags, None))


def k_move(draw, pid, add, *_):
    add(pid, "mount", (d(draw), d(draw), None, uapi.MS_MOVE, None))


def k_umount(draw, pid, add, *_):
    add(pid, "umount2", (d(draw), draw(st.sampled_from([0, uapi.MNT_DETACH]))))


def k_fork(draw, pid, add, pids, fds, next_fd):
    child = max(pids) + 1
    add(pid, "fork", (), label=child)
    pids.append(child)
    fds[child] = list(fds[pid])


def k_unshare(draw, pid, add, *_):
    flags = uapi.CLONE_NEWNS | draw(st.sampled_from([0, 0, uapi.CLONE_NEWUSER]))
    add(pid, "unshare", (flags,))


def k_chdir(draw, pid, add, *_):
    add(pid, draw(st.sampled_from(["chdir", "chroot"])), (d(draw),))


def k_pivot(draw, pid, add, *_):
    new = d(draw)
    add(pid, "pivot_root", (new, draw(st.sampled_from([new, new + "/x", "/", "/a"]))))


def k_open_tree(draw, pid, add, pids, fds, next_fd):
    fd = next_fd[0]
    next_fd[0] += 1
    flags = uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_CLOEXEC | draw(st.sampled_from([0, uapi.AT_RECURSIVE]))
    add(pid, "open_tree", (uapi.AT_FDCWD, d(draw), flags), label=fd)
    fds[pid].append(fd)


def k_move_mount(draw, pid, add, pids, fds, next_fd):
    mode = draw(st.sampled_from(["fd", "path", "beneath", "set_group"]))
    if mode == "fd" and fds[pid]:
        fd = draw(st.sampled_from(fds[pid]))
        add(pid, "move_mount", (fd, "", uapi.AT_FDCWD, d(draw), uapi.MOVE_MOUNT_F_EMPTY_PATH))
    elif mode == "set_group":
        add(pid, "move_mount", (uapi.AT_FDCWD, d(draw), uapi.AT_FDCWD, d(draw), uapi.MOVE_MOUNT_SET_GROUP))
    else:
        flags = uapi.MOVE_MOUNT_BENEATH if mode == "beneath" else 0
        add(pid, "move_mount", (uapi.AT_FDCWD, d(draw), uapi.AT_FDCWD, d(draw), flags))


def k_close(draw, pid, add, pids, fds, next_fd):
    if fds[pid]:
        fd = draw(st.sampled_from(fds[pid]))
        fds[pid].remove(fd)
        add(pid, "close", (fd,))


def k_setattr(draw, pid, add, *_):
    attr = {"attr_set": draw(st.sampled_from([0, uapi.MOUNT_ATTR_RDONLY, uapi.MOUNT_ATTR_NOSUID])),
            "attr_clr": draw(st.sampled_from([0, uapi.MOUNT_ATTR_RDONLY])),
            "propagation": draw(st.sampled_from([0] + PROPAGATION)), "userns_fd": 0}
    flags = draw(st.sampled_from([0, uapi.AT_RECURSIVE]))
    add(pid, "mount_setattr", (uapi.AT_FDCWD, d(draw), flags, attr, uapi.MOUNT_ATTR_SIZE_VER0))


def k_remount(draw, pid, add, *_):
    flags = uapi.MS_REMOUNT | uapi.MS_BIND | draw(st.sampled_from([0, uapi.MS_RDONLY]))
    add(pid, "mount", (None, d(draw), None, flags, None))


def k_rmdir(draw, pid, add, *_):
    add(pid, "rmdir", (d(draw),))


KINDS = [k_mount, k_mount, k_mkdir, k_bind, k_bind, k_propagation, k_propagation, k_move,
         k_umount, k_umount, k_fork, k_unshare, k_chdir, k_pivot, k_open_tree, k_move_mount,
         k_move_mount, k_close, k_setattr, k_remount, k_rmdir]
