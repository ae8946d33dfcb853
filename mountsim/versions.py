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


PROFILES: dict[str, Profile] = {
    "host-6.18": Profile(),
    "debian-cloud": Profile("debian-cloud", tmpfs_inode64=True),
}


@attrs.frozen
class Semantics:
    """Behaviour that differs between simulated kernels."""

    name: str = "6.18"
    profile: str = "host-6.18"          # the default build Profile of this row
    # MNT_FORCE needs CAP_SYS_ADMIN over the superblock's user namespace rather than the
    # initial one ("umount: Allow superblock owners to force umount", 6.11; observed on 6.18)
    force_umount_by_sb_owner: bool = True
    open_tree_namespace: bool = False   # OPEN_TREE_NAMESPACE accepted (7.0, 9b8a0ba68246)
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
    fsmount_namespace: bool = False     # FSMOUNT_NAMESPACE (7.1)
    empty_mntns: bool = False           # UNSHARE_EMPTY_MNTNS / CLONE_EMPTY_MNTNS (7.1)
    beneath_rootfs: bool = False        # MOVE_MOUNT_BENEATH on the rootfs + MNT_LOCKED transfer (7.1)
    # Valid flag masks are data too: what open_tree() and fsmount() accept.
    open_tree_flags: int = (uapi.AT_EMPTY_PATH | uapi.AT_NO_AUTOMOUNT | uapi.AT_RECURSIVE
                            | uapi.AT_SYMLINK_NOFOLLOW | uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_CLOEXEC)
    fsmount_flags: int = uapi.FSMOUNT_CLOEXEC


_6_18 = Semantics()
_7_0_rc1 = attrs.evolve(
    _6_18, name="7.0-rc1", profile="debian-cloud", open_tree_namespace=True,
    statmount_by_fd=True, nullfs_root=True, copy_ns_under_one_lock=False,
    statmount_internal_checked=False, mountinfo_pos_is_mnt_id=False,
    open_tree_flags=_6_18.open_tree_flags | uapi.OPEN_TREE_NAMESPACE)
_7_0 = attrs.evolve(_7_0_rc1, name="7.0", copy_ns_under_one_lock=True,
                    statmount_internal_checked=True, mountinfo_pos_is_mnt_id=True)
_7_1 = attrs.evolve(_7_0, name="7.1", fsmount_namespace=True, empty_mntns=True,
                    beneath_rootfs=True,
                    fsmount_flags=_7_0.fsmount_flags | uapi.FSMOUNT_NAMESPACE)
_7_2 = attrs.evolve(_7_1, name="7.2")
_7_3 = attrs.evolve(_7_2, name="7.3")

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
