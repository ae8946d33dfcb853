"""nullfs, the immutable empty filesystem every mount namespace is rooted in (7.0).

Mirrors fs/nullfs.c (nullfs_fs_type, nullfs_fs_fill_super(), nullfs_init_fs_context()) and
the nullfs half of fs/namespace.c:init_mount_tree(): mount id 1 is a nullfs mount, the
namespace root; the mutable rootfs (mount id 2) is mounted on top of its root directory.

What that shows (Kernel: `versions.Semantics.nullfs_root`):
- mountinfo and listmount(LSMT_ROOT) list only mounts reachable from the reader's root
  (seq_path_root() answers SEQ_SKIP, do_listmount() checks is_path_reachable()), so the
  nullfs root stays hidden below a root on top of it and shows as "/" to a task whose root
  it is (an empty namespace, or after the mounts on top of it were unmounted);
- statmount() of the hidden root (privileged callers only: it is not reachable from
  their root) reports it as its own parent and leaves STATMOUNT_MNT_POINT out of the mask
  (seq_path_root() skips, and statmount_string() sets no bit for an empty string);
- `..` at the root of the rootfs climbs to the nullfs root, which has no parent, so
  follow_dotdot() stays put (namei.py needs nothing new);
- the root directory is empty and immutable: a lookup in it answers ENOENT
  (empty_dir_lookup()), so mkdir and open(O_CREAT) there fail with ENOENT, and the
  superblock is SB_NOUSER (never mountable by mount(2): graft_tree() refuses it).

7.3 (`versions.Semantics.lazy_umount_covers`): a private instance, knullfs, and a second
mount of it rooted on a regular file, knullfs_file (init_mount_tree(),
knullfs_file_mount(), nullfs_new_file()), stand in for what a lazily unmounted child left a
cover on (kernel.py lookup_mnt(), namespace.py leave_cover()). Both are MNT_INTERNAL, in no
namespace: the root is dont_mount() and MNT_READONLY, so a lookup in it is ENOENT, creating
in it EROFS, mounting on it ENOENT, statmount() of it EINVAL; `..` out of it stays put.

Limitations: one nullfs superblock per machine, shared by every namespace root (copies of
mount id 1 made by copy_mnt_ns()/create_new_namespace()), as the kernel has it; the
kthreads' root and pwd (knullfs in 7.3) are not modelled; knullfs_file reads as empty but
writes are not discarded (nullfs_file_operations are not modelled).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from .mount import MntNamespace, Mount

if TYPE_CHECKING:
    from .fs import Dentry, SuperBlock
    from .kernel import Kernel

NULLFS = "nullfs"


def empty_dir_lookup(dentry: Dentry, name: str) -> None:
    """fs/libfs.c:empty_dir_lookup(): nothing is ever found (-ENOENT for every name)."""
    return None


def nullfs_fs_fill_super(k: Kernel) -> SuperBlock:
    """The one nullfs superblock: an empty, immutable root directory, SB_NOUSER.

    Mirrors fs/nullfs.c:nullfs_fs_fill_super() + nullfs_init_fs_context().
    """
    sb = k.new_sb(NULLFS, k.init_user_ns)
    sb.nouser = True                        # fc->sb_flags |= SB_NOUSER
    sb.dynamic = empty_dir_lookup           # make_empty_dir_inode()
    return sb


def fs_context_for_reconfigure(k: Kernel, sb: SuperBlock) -> bool:
    """The 7.2 refusal at the top of fs/fs_context.c:fs_context_for_reconfigure():
    "kernel-internal superblocks are nobody's to reconfigure". Returns whether the new
    context keeps the superblock flags its caller asked for (SB_RDONLY of a remount or of
    "unmounting" the root): nullfs_init_fs_context() of 7.0-7.2 assigns fc->sb_flags =
    SB_NOUSER over them (linux-source-7.2 fs/nullfs.c; 7.3 ORs it in), so such a
    reconfigure of the nullfs root asks for read-write (observed on 7.1.13:
    mount(MS_REMOUNT|MS_RDONLY) and umount2("/") of an empty namespace's root return 0 and
    leave it read-write; fspick()'s flags, set on the context later, apply).

    Errors: EINVAL (an SB_NOUSER superblock: the nullfs root).
    Kernel: `sem.reconfigure_nouser_refused` (7.2; observed on 7.2.12: fspick() of an
    empty namespace's root is EINVAL, 7.1.13 returns a context);
    `sem.nullfs_init_overwrites_flags` (7.0-7.2).
    """
    from .errors import KernelError
    if k.sem.reconfigure_nouser_refused and sb.nouser:
        raise KernelError(errno.EINVAL, "kernel-internal superblock", where="fs_context_for_reconfigure")
    return not (k.sem.nullfs_init_overwrites_flags and sb.fstype == "nullfs")


def knullfs_mount(k: Kernel) -> None:
    """Make the kthreads' private nullfs (knullfs) and its regular-file mount (knullfs_file).

    Mirrors the 7.3 tail of fs/namespace.c:init_mount_tree(): kern_mount(&nullfs_fs_type)
    (get_tree_nodev(): a superblock of its own), dont_mount() of its root, MNT_READONLY;
    then knullfs_file_mount(): nullfs_new_file() (S_IFREG 0666, ino 2, never hashed) and
    clone_mnt() of knullfs onto it, MNT_INTERNAL, writable.
    Kernel: `sem.lazy_umount_covers` (7.3).
    """
    from .fs import S_IFREG, Dentry
    from .mount import MNT
    sb = nullfs_fs_fill_super(k)
    k.knullfs = k.alloc_vfsmnt(sb, sb.root, NULLFS)
    k.knullfs.flags |= MNT.INTERNAL | MNT.READONLY
    f = Dentry("", None, sb, S_IFREG, mode=0o666)    # d_alloc_anon(): IS_ROOT, no name
    k.knullfs_file = k.alloc_vfsmnt(sb, f, NULLFS)
    k.knullfs_file.flags |= MNT.INTERNAL


def is_nullfs(m: Mount) -> bool:
    """Model-only: the mount is a nullfs mount (a namespace root or a copy of one)."""
    return m.sb.fstype == NULLFS


def init_mount_tree(k: Kernel, ns: MntNamespace) -> Mount:
    """Root *ns* in nullfs (mount id 1) with the rootfs (mount id 2) on top; return the rootfs.

    Mirrors fs/namespace.c:init_mount_tree() (7.0): vfs_kern_mount(nullfs), then rootfs,
    then LOCK_MOUNT_EXACT + attach_mnt() of the rootfs on the nullfs root; both are added to
    the initial namespace and the namespace root is the nullfs mount.
    """
    nsb = nullfs_fs_fill_super(k)
    nullfs_mnt = k.alloc_vfsmnt(nsb, nsb.root, NULLFS)
    rsb = k.new_sb("rootfs", k.init_user_ns)
    rootfs = k.alloc_vfsmnt(rsb, rsb.root, "rootfs")
    k.attach_mnt(rootfs, nullfs_mnt, nsb.root)
    ns.add(nullfs_mnt)
    ns.add(rootfs)
    ns.root = nullfs_mnt
    if k.sem.lazy_umount_covers:
        knullfs_mount(k)
    return rootfs
