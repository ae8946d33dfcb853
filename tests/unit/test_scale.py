"""Wide and deep tables: the model must handle them without recursion errors, in time that
grows like the kernel's (no timing is asserted here; `mountsim bench` reports speed).

Expected values: fs.mount-max defaults to 100000 and a namespace holding that many mounts
refuses more with ENOSPC (Documentation/admin-guide/sysctl/fs.rst "mount-max"; mount(2)
ENOSPC); a new mount namespace holds a copy of every mount (mount_namespaces(7)); a lazy
unmount detaches the whole subtree (umount(2) MNT_DETACH).
"""

from __future__ import annotations

import errno

import pytest

from mountsim.errors import KernelError
from mountsim.machine import boot
from mountsim.proc_namespace import mountinfo
from mountsim.syscalls import dispatch
from mountsim import uapi


def call(k, task, name, *args):
    return dispatch(k, task, name, args, None)


def test_wide_namespace_reaches_mount_max_then_enospc():
    """If a namespace is filled to fs.mount-max (100000), the next mount fails with ENOSPC
    and mountinfo lists every visible mount."""
    k, task = boot()
    base = len(list(task.mnt_ns))                  # rootfs + the tmpfs on /
    for i in range(k.mount_max - base):
        call(k, task, "mkdir", f"/m{i}", 0o755)
        call(k, task, "mount", "tmpfs", f"/m{i}", "tmpfs", 0, None)
    call(k, task, "mkdir", "/last", 0o755)
    with pytest.raises(KernelError) as e:
        call(k, task, "mount", "tmpfs", "/last", "tmpfs", 0, None)
    assert e.value.errno == errno.ENOSPC
    assert len(list(task.mnt_ns)) == k.mount_max
    assert mountinfo(task).count("\n") == k.mount_max - 1   # rootfs is outside the root


def test_deep_chain_copies_and_detaches_without_recursion():
    """If 10,000 mounts are nested one inside the next, a new namespace copies all of them
    and a lazy unmount of the outermost detaches all of them."""
    depth = 10_000
    k, task = boot()
    call(k, task, "mkdir", "/a", 0o755)
    call(k, task, "chdir", "/")
    for _ in range(depth):
        call(k, task, "mount", "tmpfs", "a", "tmpfs", 0, None)
        call(k, task, "chdir", "a")
        call(k, task, "mkdir", "a", 0o755)
    call(k, task, "chdir", "/")
    before = len(list(task.mnt_ns))
    assert before == depth + 2
    call(k, task, "unshare", uapi.CLONE_NEWNS)
    assert len(list(task.mnt_ns)) == before
    call(k, task, "umount2", "/a", uapi.MNT_DETACH)
    assert len(list(task.mnt_ns)) == 2


def test_umount_propagates_to_thousands_of_peers_and_frees_every_copy():
    """If a mount is propagated to 3,000 peers and then unmounted, every copy goes too
    (mount_namespaces(7): unmount events propagate among peers) and its superblock, used by
    nothing else, is freed. (Each copy sits on the same dentry and shares one superblock:
    removing 3,000 of them one by one from lists was quadratic; the dentry's hash chain
    becomes a dict and s_mounts is a ring, both O(1) to leave.)"""
    k, task = boot()
    call(k, task, "mkdir", "/a", 0o755)
    call(k, task, "mount", "tmpfs", "/a", "tmpfs", 0, None)
    call(k, task, "mount", None, "/a", None, uapi.MS_SHARED, None)
    call(k, task, "mkdir", "/a/x", 0o755)
    for i in range(3000):
        call(k, task, "mkdir", f"/b{i}", 0o755)
        call(k, task, "mount", "/a", f"/b{i}", None, uapi.MS_BIND, None)
    before = len(list(task.mnt_ns))
    call(k, task, "mount", "tmpfs", "/a/x", "tmpfs", 0, None)
    assert len(list(task.mnt_ns)) == before + 3001
    assert mountinfo(task).count(" /b2999/x ") == 1
    dev = next(ln.split()[2] for ln in mountinfo(task).splitlines() if " /a/x " in ln)
    call(k, task, "umount2", "/a/x", 0)
    assert len(list(task.mnt_ns)) == before
    assert " /b0/x " not in mountinfo(task)
    # the last copy gone, its anonymous device is free: the next new tmpfs gets it
    # (get_anon_bdev() hands out the smallest free minor)
    call(k, task, "mount", "tmpfs", "/a/x", "tmpfs", 0, None)
    assert next(ln.split()[2] for ln in mountinfo(task).splitlines() if " /a/x " in ln) == dev
