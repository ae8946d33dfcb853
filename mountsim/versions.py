"""What changes between simulated kernels: the only place a version number appears.

One frozen `Semantics` record, one field per behaviour change, named after the behaviour;
rows are built with `attrs.evolve`. Model code reads `k.sem.<field>` and never compares
versions (tests/unit/test_versions.py greps for that).
"""

from __future__ import annotations

import attrs

from . import uapi


@attrs.frozen
class Semantics:
    """Behaviour that differs between simulated kernels."""

    name: str = "6.18"
    # MNT_FORCE needs CAP_SYS_ADMIN over the superblock's user namespace rather than the
    # initial one ("umount: Allow superblock owners to force umount", 6.11; observed on 6.18)
    force_umount_by_sb_owner: bool = True
    open_tree_namespace: bool = False   # OPEN_TREE_NAMESPACE accepted (7.0, 9b8a0ba68246)
    statmount_by_fd: bool = False       # STATMOUNT_BY_FD (7.0)
    fsmount_namespace: bool = False     # FSMOUNT_NAMESPACE (7.1)
    empty_mntns: bool = False           # UNSHARE_EMPTY_MNTNS / CLONE_EMPTY_MNTNS (7.1)
    beneath_rootfs: bool = False        # MOVE_MOUNT_BENEATH on the rootfs + MNT_LOCKED transfer (7.1)
    # Valid flag masks are data too: what open_tree() and fsmount() accept.
    open_tree_flags: int = (uapi.AT_EMPTY_PATH | uapi.AT_NO_AUTOMOUNT | uapi.AT_RECURSIVE
                            | uapi.AT_SYMLINK_NOFOLLOW | uapi.OPEN_TREE_CLONE | uapi.OPEN_TREE_CLOEXEC)
    fsmount_flags: int = uapi.FSMOUNT_CLOEXEC


_6_18 = Semantics()
KERNELS: dict[str, Semantics] = {"6.18": _6_18}
DEFAULT = "6.18"


def semantics(version: str | None) -> Semantics:
    """The Semantics row for *version* (None: the default). Raises KeyError if unknown."""
    return KERNELS[version or DEFAULT]
