"""What changes between simulated kernels: the only place a version number appears.

One frozen `Semantics` record, one field per behaviour change, named after the behaviour;
rows are built with `attrs.evolve`. Model code reads `k.sem.<field>` and never compares
versions (tests/unit/test_versions.py greps for that).

Config-dependent output (what a kernel *build* prints, not what its source does) is a
separate `Profile`: the same 7.1 source shows `inode64` for tmpfs in Debian's cloud build
and not in this host's 6.18 build. A version row names its default profile.
"""

from __future__ import annotations

import attrs

from . import uapi


@attrs.frozen
class Profile:
    """Build configuration that shows in output (CONFIG_*, distribution defaults)."""

    name: str = "host-6.18"
    # tmpfs shows "inode64" in its super options (CONFIG_TMPFS_INODE64=y)
    tmpfs_inode64: bool = False
    # tmpfs takes quota, usrquota, grpquota and the *_hardlimit options (CONFIG_TMPFS_QUOTA=y;
    # without it they are "Unknown parameter": the reference 6.18 has it unset, Debian's
    # 7.x kernels set it — their shmem_parse_one() strings are in their vmlinux)
    tmpfs_quota: bool = False


PROFILES: dict[str, Profile] = {
    "host-6.18": Profile(),
    "debian-cloud": Profile("debian-cloud", tmpfs_inode64=True, tmpfs_quota=True),
}


@attrs.frozen
class Semantics:
    """Behaviour that differs between simulated kernels."""

    name: str = "6.18"
    profile: str = "host-6.18"          # the default build Profile of this row
    # MNT_FORCE needs CAP_SYS_ADMIN over the superblock's user namespace rather than the
    # initial one ("umount: Allow superblock owners to force umount", 6.11; observed on 6.18)
    force_umount_by_sb_owner: bool = True
    statmount_by_fd: bool = False       # STATMOUNT_BY_FD (7.0, 0e5032237ee5)
    # every mount namespace is rooted in an immutable nullfs mount (7.0)
    nullfs_root: bool = False
    # create_new_namespace() holds namespace_sem across the copy and unmounts a failed
    # copy (7.0-rc2, a41dbf5e004e); False: the 7.0-rc1 drop-and-retake
    copy_ns_under_one_lock: bool = True
    # statmount() of an internal mount (MNT_NS_INTERNAL) is an error (7.0-rc2, 81f16c9778d7)
    statmount_internal_checked: bool = True
    # mountinfo's seq_file position is the id of the mount shown, so a restart after an
    # overflowed show() resumes exactly there (7.0-rc2, 4a403d7aa907)
    mountinfo_pos_is_mnt_id: bool = True
    # create_new_namespace() refuses a path that is not a directory with ENOTDIR
    # (d_can_lookup(); absent from the OPEN_TREE_NAMESPACE patch of 7.0-rc1, observed on
    # 7.0.13 and 7.1.13)
    new_ns_dir_only: bool = False
    # create_new_namespace() for a caller whose user namespace does not own its mount
    # namespace copies unbindable mounts too (CL_COPY_UNBINDABLE) and refuses a
    # non-recursive copy that would leave mounts out (EINVAL) (7.2, linux-source-7.2;
    # observed on 7.2.12, not on 7.1.13)
    new_ns_foreign_whole_tree: bool = False
    # clone_mnt() keeps T_UNBINDABLE, so unshare(CLONE_NEWNS) copies an unbindable mount
    # as unbindable (7.2: linux-source-7.2 clone_mnt(); observed on 7.2.12; 7.1.13 and
    # 6.18 make the copy private)
    clone_keeps_unbindable: bool = False
    # pivot_root(2) looks both paths up before may_mount()'s EPERM (the syscall became
    # lookups + path_pivot_root() in the 7.0 merge window; observed on 7.0.13 and 7.1.13,
    # 6.18 checks may_mount() first)
    pivot_root_lookup_first: bool = False
    # rename's lookups refuse an ancestor (old of new: EINVAL; new of old: ENOTEMPTY) before
    # do_renameat2()'s trailing-slash ENOTDIR checks (7.0: __start_renaming(), in
    # linux-source-7.2/7.3; observed on 7.0.13, 7.1.13 and 7.3.4; 6.18 checks the slashes
    # first)
    rename_ancestors_first: bool = False
    # fs_context_for_reconfigure() refuses SB_NOUSER superblocks (the nullfs root) with
    # EINVAL: fspick(), mount(MS_REMOUNT), umount2(root) (7.2, linux-source-7.2
    # fs/fs_context.c; observed on 7.2.12, not on 7.1.13)
    reconfigure_nouser_refused: bool = False
    # nullfs_init_fs_context() assigns fc->sb_flags = SB_NOUSER, dropping the SB_RDONLY a
    # remount or a root "umount" asked for (linux-source-7.2 fs/nullfs.c; 7.3: |=;
    # observed on 7.1.13)
    nullfs_init_overwrites_flags: bool = False
    fsmount_namespace: bool = False     # FSMOUNT_NAMESPACE (7.1)
    empty_mntns: bool = False           # UNSHARE_EMPTY_MNTNS / CLONE_EMPTY_MNTNS (7.1)
    beneath_rootfs: bool = False        # MOVE_MOUNT_BENEATH on the rootfs + MNT_LOCKED transfer (7.1)
    # can_move_mount_beneath() refuses a locked target when the source is a mount namespace
    # file, which cannot take the lock over (7.3; absent from 7.2's fs/namespace.c)
    beneath_locked_nsfs_refused: bool = False
    # copy_tree() without CL_COPY_MNT_NS_FILE fails with EPERM on a locked mount namespace
    # file mount instead of leaving it out (7.3, "Both a mount namespace file and locked")
    copy_tree_locked_nsfs_eperm: bool = False
    # statmount() of another namespace by id without CAP_SYS_ADMIN over it is EPERM, not
    # ENOENT ("statmount: permission check should return EPERM", 7.0-rc1); listmount keeps ENOENT
    statmount_foreign_ns_eperm: bool = False
    # prepare_kstatmount(): strings asked for and bufsize <= sizeof(struct statmount) is
    # EOVERFLOW (7.3); before, only bufsize == sizeof(struct statmount) was
    statmount_small_buf_eoverflow: bool = False
    # do_listmount(): a last id of U64_MAX lists nothing (7.3); before, last_mnt_id + 1
    # wrapped to 0 and the list started over (observed on 6.18.44)
    listmount_last_id_max_ends: bool = False
    # umount_tree() detaches every mount it unmounts; a child unmounted with its parent
    # leaves a cover on it instead of staying connected (needs_cover(), leave_cover():
    # UMOUNT_COVER, MNT_DETACH of locked children), and a lookup there finds the knullfs
    # stand-in (__lookup_mnt()) (7.3, linux-source-7.3 fs/namespace.c; before: 7.2's
    # disconnect_mount() and UMOUNT_CONNECTED)
    lazy_umount_covers: bool = False
    # Valid flag masks are data too: what open_tree() and fsmount() accept
    # (OPEN_TREE_NAMESPACE from 7.0, 9b8a0ba68246; FSMOUNT_NAMESPACE from 7.1).
    open_tree_flags: int = (uapi.AT_EMPTY_PATH | uapi.AT_NO_AUTOMOUNT | uapi.AT_RECURSIVE
                            | uapi.AT_SYMLINK_NOFOLLOW | uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_CLOEXEC)
    fsmount_flags: int = uapi.FSMOUNT_CLOEXEC


_6_18 = Semantics()
_7_0_rc1 = attrs.evolve(
    _6_18, name="7.0-rc1", profile="debian-cloud",
    statmount_by_fd=True, statmount_foreign_ns_eperm=True, nullfs_root=True,
    pivot_root_lookup_first=True, rename_ancestors_first=True, nullfs_init_overwrites_flags=True,
    copy_ns_under_one_lock=False,
    statmount_internal_checked=False, mountinfo_pos_is_mnt_id=False,
    open_tree_flags=_6_18.open_tree_flags | uapi.OPEN_TREE_NAMESPACE)
_7_0 = attrs.evolve(_7_0_rc1, name="7.0", copy_ns_under_one_lock=True, new_ns_dir_only=True,
                    statmount_internal_checked=True, mountinfo_pos_is_mnt_id=True)
_7_1 = attrs.evolve(_7_0, name="7.1", fsmount_namespace=True, empty_mntns=True,
                    beneath_rootfs=True,
                    fsmount_flags=_7_0.fsmount_flags | uapi.FSMOUNT_NAMESPACE)
_7_2 = attrs.evolve(_7_1, name="7.2", new_ns_foreign_whole_tree=True,
                    clone_keeps_unbindable=True, reconfigure_nouser_refused=True)
_7_3 = attrs.evolve(_7_2, name="7.3", beneath_locked_nsfs_refused=True,
                    copy_tree_locked_nsfs_eperm=True,
                    statmount_small_buf_eoverflow=True, listmount_last_id_max_ends=True,
                    lazy_umount_covers=True, nullfs_init_overwrites_flags=False)

KERNELS: dict[str, Semantics] = {s.name: s for s in (_6_18, _7_0_rc1, _7_0, _7_1, _7_2, _7_3)}
DEFAULT = "6.18"


def semantics(version: str | None) -> Semantics:
    """The Semantics row for *version* (None: the default). Raises KeyError if unknown."""
    return KERNELS[version or DEFAULT]


def profile(sem: Semantics, name: str | None = None) -> Profile:
    """The build Profile *name*, or *sem*'s default. Raises KeyError if unknown."""
    return PROFILES[name or sem.profile]


def row_for_release(release: str) -> str | None:
    """The KERNELS row a running kernel's release string selects ("7.1.13+deb13-cloud-amd64"
    -> "7.1"), or None when no row matches."""
    parts = release.split(".")
    key = ".".join(parts[:2]).split("-")[0].split("+")[0]
    return key if key in KERNELS else None
