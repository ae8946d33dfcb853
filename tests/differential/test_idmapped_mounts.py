"""Permission and ownership through an idmapped mount, on the model and on the live kernel.

Expected values are the kernel's: each program runs on both, and any difference fails.
A mount idmapped with a user namespace whose maps are "0 1000 1" shows the filesystem's
id 0 as 1000 (i_uid_into_vfsuid(): make_vfsuid() maps the inode's id down through the
namespace) and every other id as invalid; what a caller creates or chowns through it gets
the id mapped back (from_vfsuid(), mapped_fsuid()), EOVERFLOW where there is none
(fsuidgid_has_mapping(), notify_change()). fs/mnt_idmapping.c, fs/namei.c may_create(),
fs/attr.c. Before, the model kept only the mount's "idmapped" mark.

The namespace is the first child's, named by its pid in the sandbox's proc: the live
sandbox numbers its processes from 2 in creation order, so the k-th child made is
labelled k + 2 here to be the same number on both sides.
"""

from __future__ import annotations

import pytest

from mountsim import uapi
from mountsim.trace.program import Program, Step
from tests.helpers import kernel_agrees

pytestmark = pytest.mark.live
AT = uapi.AT_FDCWD


def idmapped(*after) -> Program:
    """/d: a tmpfs (0777) holding root's 0600 file f; /b: /d's root idmapped with the
    first child's user namespace (uid and gid 0 <-> 1000); then *after*."""
    calls = [
        (1, "mount", ("tmpfs", "/d", "tmpfs", 0, "mode=0777"), None),
        (1, "openat", (AT, "/d/f", uapi.O_CREAT | uapi.O_WRONLY, 0o600), 3),
        (1, "close", (3,), None),
        (1, "mount", ("proc", "/e", "proc", 0, None), None),
        (1, "clone", (uapi.CLONE_NEWUSER | uapi.SIGCHLD,), 3),
        (1, "openat", (AT, "/e/3/uid_map", uapi.O_WRONLY), 4),
        (1, "write", (4, "0 1000 1", 8), None),
        (1, "openat", (AT, "/e/3/gid_map", uapi.O_WRONLY), 5),
        (1, "write", (5, "0 1000 1", 8), None),
        (1, "openat", (AT, "/e/3/ns/user", uapi.O_RDONLY), 6),
        (1, "open_tree", (AT, "/d", uapi.OPEN_TREE_CLONE), 7),
        (1, "mount_setattr", (7, "", uapi.AT_EMPTY_PATH,
                              {"attr_set": uapi.MOUNT_ATTR_IDMAP, "userns_fd": 6}, 32), None),
        (1, "move_mount", (7, "", AT, "/b", uapi.MOVE_MOUNT_F_EMPTY_PATH), None),
        *after]
    return Program(start_dirs=["/b", "/d", "/e"],
                   steps=[Step(pid=p, name=n, args=a, label=lab) for p, n, a, lab in calls])


def results(got) -> list:
    return [r.errno or r.ret for r in got]


def test_owner_seen_through_the_idmapping(live):
    """If uid and gid 1000 use the idmapped mount, then root's 0600 file is theirs there
    (readable, chmod-able) but not through /d; what they create through it belongs to 0
    on disk (so through /d root's again: a subdirectory of it is not theirs), what they
    create through /d to 1000; root itself has no id through the mapping (EOVERFLOW), nor
    has uid 5 for a chown."""
    got = kernel_agrees(live, idmapped(
        (1, "fork", (), 4),
        (4, "setgroups", (0, []), None),
        (4, "setresgid", (1000, 1000, 1000), None),
        (4, "setresuid", (1000, 1000, 1000), None),
        (4, "openat", (AT, "/b/f", uapi.O_RDONLY), 8),           # 8: seen as 1000's
        (4, "openat", (AT, "/d/f", uapi.O_RDONLY), 9),           # EACCES
        (4, "chmod", ("/b/f", 0o640), None),                      # 0: the owner, seen so
        (4, "mkdir", ("/b/new", 0o755), None),                    # 0: 0:0 on disk
        (4, "mkdir", ("/d/new/x", 0o755), None),                  # EACCES: root's 0755
        (4, "mkdir", ("/b/new/x", 0o755), None),                  # 0
        (4, "mkdir", ("/d/mine", 0o755), None),                   # 0: 1000:1000 on disk
        (4, "mkdir", ("/b/mine/x", 0o755), None),                 # EACCES: invalid there
        (1, "mkdir", ("/b/byroot", 0o755), None),                 # EOVERFLOW
        (1, "chown", ("/b/f", 5, -1), None),                      # EOVERFLOW
        (1, "chown", ("/b/new", 1000, 1000), None),               # 0: disk 0:0
        (1, "openat", (AT, "/b/g", uapi.O_CREAT | uapi.O_WRONLY, 0o644), 9),  # EOVERFLOW
    ))
    assert results(got[13:]) == [4, 0, 0, 0, 8, "EACCES", 0, 0, "EACCES", 0, 0, "EACCES",
                                 "EOVERFLOW", "EOVERFLOW", 0, "EOVERFLOW"]


def test_sticky_and_group_through_the_idmapping(live):
    """If the idmapped tmpfs root is sticky (1777), then uid 1000 may not remove root's
    file through /d (sticky: not the owner) but may through /b, where it owns it; a chgrp
    to its own group 1000 through /b is fine, through /d it is EPERM (not the owner)."""
    got = kernel_agrees(live, idmapped(
        (1, "chmod", ("/d", 0o1777), None),
        (1, "openat", (AT, "/d/g", uapi.O_CREAT | uapi.O_WRONLY, 0o644), 8),
        (1, "close", (8,), None),
        (1, "fork", (), 4),
        (4, "setgroups", (0, []), None),
        (4, "setresgid", (1000, 1000, 1000), None),
        (4, "setresuid", (1000, 1000, 1000), None),
        (4, "chown", ("/d/g", -1, 1000), None),                   # EPERM
        (4, "chown", ("/b/g", -1, 1000), None),                   # 0
        (4, "unlink", ("/d/f",), None),                            # EPERM: sticky
        (4, "unlink", ("/b/f",), None),                            # 0
    ))
    assert results(got[20:]) == ["EPERM", 0, "EPERM", 0]
