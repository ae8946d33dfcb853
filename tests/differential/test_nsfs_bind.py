"""Bind mounts of namespace files, as `ip netns add` makes them, on the model and on the
live kernel (recorded: tests/corpus/programs/ip-netns).

Expected values are the kernel's: each program runs on both, and any difference fails.
The rules exercised (fs/nsfs.c nsfs_init() clears SB_NOUSER, so graft_tree() takes an nsfs
mount; nsfs_show_path() prints the root as "net:[N]"; netns_install() and ipcns_install()
want CAP_SYS_ADMIN over the namespace's owner and the caller's user namespace; a bind of
the caller's own mount namespace file would make a loop, mnt_ns_loop()): /proc/self/ns/net
and ipc bind onto files and pin their namespaces, the mount's root reads as the namespace,
setns() enters them back through the bind mount (also after unshare(CLONE_NEWNET) left
them), a type that is not the file's is EINVAL, and the mounts unmount.
"""

from __future__ import annotations

import pytest

from mountsim import uapi
from mountsim.trace.program import Program, Step
from tests.helpers import kernel_agrees

pytestmark = pytest.mark.live
AT = uapi.AT_FDCWD


def program(*calls) -> Program:
    steps = [Step(pid=1, name=n, args=a, label=lab) for n, a, lab in calls]
    return Program(start_dirs=["/run", "/proc"], steps=steps)


def _files(*paths):
    return [c for p in paths for c in (("openat", (AT, p, uapi.O_RDONLY | uapi.O_CREAT, 0), 9),
                                       ("close", (9,), None))]


def test_namespace_files_bind_pin_and_setns(live):
    """If ip netns add's calls run (a file made, the net namespace unshared and its file
    bound there) and then ip netns exec's (setns through the bound file), then every result
    and the table agree with the kernel's: the own mount namespace file is EINVAL, and the
    net namespace file bound after each switch shows which namespace the process was in."""
    prog = program(("mount", ("proc", "/proc", "proc", 0, None), None),
                   ("mount", ("none", "/run", "tmpfs", 0, None), None),
                   *_files("/run/n1", "/run/n2", "/run/n3"),
                   ("openat", (AT, "/run/foo", uapi.O_RDONLY | uapi.O_CREAT | uapi.O_EXCL, 0), 3),
                   ("close", (3,), None),
                   ("openat", (AT, "/run/ipc", uapi.O_RDONLY | uapi.O_CREAT, 0), 3),
                   ("close", (3,), None),
                   ("openat", (AT, "/run/m", uapi.O_RDONLY | uapi.O_CREAT, 0), 3),
                   ("close", (3,), None),
                   ("openat", (AT, "/proc/self/ns/net", uapi.O_RDONLY | uapi.O_CLOEXEC), 3),
                   ("unshare", (uapi.CLONE_NEWNET | uapi.CLONE_NEWIPC,), None),
                   ("mount", ("/proc/self/ns/net", "/run/foo", None, uapi.MS_BIND, None), None),
                   ("mount", ("/proc/self/ns/ipc", "/run/ipc", None, uapi.MS_BIND, None), None),
                   ("mount", ("/proc/self/ns/mnt", "/run/m", None, uapi.MS_BIND, None), None),
                   ("mount", ("/proc/self/ns/net", "/run/n1", None, uapi.MS_BIND, None), None),
                   ("setns", (3, uapi.CLONE_NEWNET), None),
                   ("close", (3,), None),
                   ("mount", ("/proc/self/ns/net", "/run/n2", None, uapi.MS_BIND, None), None),
                   ("openat", (AT, "/run/foo", uapi.O_RDONLY), 4),
                   ("setns", (4, uapi.CLONE_NEWIPC), None),
                   ("setns", (4, uapi.CLONE_NEWNET), None),
                   ("setns", (4, 0), None),
                   ("mount", ("/proc/self/ns/net", "/run/n3", None, uapi.MS_BIND, None), None),
                   ("openat", (AT, "/proc/self/mountinfo", uapi.O_RDONLY), 5),
                   ("read", (5, None, 65536), None),
                   ("close", (4,), None),
                   ("close", (5,), None),
                   ("umount2", ("/run/foo", uapi.MNT_DETACH), None),
                   ("umount2", ("/run/ipc", 0), None))
    got = kernel_agrees(live, prog)
    assert [r.errno for r in got[15:20]] == [None, None, None, "EINVAL", None]
    assert got[24].errno == "EINVAL" and got[25].ret == 0 and got[33].ret == 0
    table = [ln.split() for ln in got[29].out.splitlines()]
    roots = {f[4]: f[3] for f in table}
    assert roots["/run/foo"].startswith("net:[") and roots["/run/ipc"].startswith("ipc:[")
    assert roots["/run/n1"] == roots["/run/n3"] == roots["/run/foo"] != roots["/run/n2"]


def test_uts_cgroup_time_and_pid_namespace_files(live):
    """If a process unshares uts, cgroup, time and pid namespaces, then its uts and cgroup
    files name the new ones, its time and pid files the old ones and time_for_children the
    new one, while pid_for_children is absent until the new pid namespace's first process
    exists (pidns_for_children_get()); setns() takes the old uts namespace back and refuses
    a file of another type: the kernel's answers, and each bound file's root in mountinfo
    shows which namespace it was. (The sandbox refuses setns() into its pid namespaces.)"""
    names = ("uts", "cgroup", "time", "time_for_children", "pid")
    prog = program(("mount", ("proc", "/proc", "proc", 0, None), None),
                   ("mount", ("none", "/run", "tmpfs", 0, None), None),
                   *_files(*(f"/run/old_{n}" for n in names), *(f"/run/new_{n}" for n in names),
                           "/run/uts_back", "/run/pid_children"),
                   *[("mount", (f"/proc/self/ns/{n}", f"/run/old_{n}", None, uapi.MS_BIND, None), None)
                     for n in names],
                   ("openat", (AT, "/proc/self/ns/uts", uapi.O_RDONLY), 3),
                   ("unshare", (uapi.CLONE_NEWUTS | uapi.CLONE_NEWCGROUP | uapi.CLONE_NEWTIME
                                | uapi.CLONE_NEWPID,), None),
                   *[("mount", (f"/proc/self/ns/{n}", f"/run/new_{n}", None, uapi.MS_BIND, None), None)
                     for n in names],
                   ("openat", (AT, "/proc/self/ns/pid_for_children", uapi.O_RDONLY), 5),
                   ("setns", (3, uapi.CLONE_NEWNET), None),
                   ("setns", (3, uapi.CLONE_NEWUTS), None),
                   ("mount", ("/proc/self/ns/uts", "/run/uts_back", None, uapi.MS_BIND, None), None),
                   ("openat", (AT, "/proc/self/mountinfo", uapi.O_RDONLY), 6),
                   ("read", (6, None, 65536), None))
    got = kernel_agrees(live, prog)
    assert all(r.errno is None for s, r in zip(prog.steps, got) if s.name == "mount")
    assert got[-6].errno == "ENOENT" and got[-5].errno == "EINVAL" and got[-4].ret == 0
    roots = {f[4]: f[3] for f in (ln.split() for ln in got[-1].out.splitlines())}
    changed = {n for n in names if roots[f"/run/old_{n}"] != roots[f"/run/new_{n}"]}
    assert changed == {"uts", "cgroup", "time_for_children"}
    assert roots["/run/new_time_for_children"] != roots["/run/old_time_for_children"]
    assert roots["/run/uts_back"] == roots["/run/old_uts"]
