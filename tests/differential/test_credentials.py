"""Credentials beyond uid 0 and back: gids and supplementary groups, the five capability
sets, keepcaps and securebits, and chmod/chown, on the model and on the live kernel.

Expected values are the kernel's: each program runs on both, and any difference fails.
The rules exercised (kernel/sys.c __sys_setresuid()/__sys_setresgid()/__sys_setreuid()
and cap_emulate_setxuid() in security/commoncap.c; kernel/groups.c setgroups();
kernel/capability.c capset() -> cap_capset(); cap_task_prctl(): PR_SET_KEEPCAPS,
PR_CAPBSET_DROP/READ, PR_CAP_AMBIENT, PR_SET_SECUREBITS; fs/namei.c generic_permission():
owner, group (fsgid or a supplementary group), others, then CAP_DAC_READ_SEARCH and
CAP_DAC_OVERRIDE; fs/open.c chmod_common()/chown_common() -> fs/attr.c setattr_prepare():
inode_owner_or_capable(), chown_ok(), chgrp_ok(); inode_init_owner(): a set-group-id
directory's group and bit are inherited). A real `setpriv --reuid 1000` recording
(tests/corpus/programs/setpriv.strace) found the gap: the model had no chmod, so a 0600
file stayed readable to uid 1000.
"""

from __future__ import annotations

import pytest

from mountsim import uapi
from mountsim.trace.program import Program, Step
from tests.helpers import kernel_agrees

pytestmark = pytest.mark.live
AT = uapi.AT_FDCWD
V3 = {"version": uapi._LINUX_CAPABILITY_VERSION_3, "pid": 0}
FULL = uapi.CAP_FULL_SET
BIT = {n: 1 << getattr(uapi, n) for n in dir(uapi) if n.startswith("CAP_") and n[4:5].isalpha()
       and n not in ("CAP_LAST_CAP", "CAP_FULL_SET")}


def program(*calls) -> Program:
    steps = [Step(pid=p, name=n, args=a, label=lab) for p, n, a, lab in calls]
    return Program(start_dirs=["/d", "/e"], steps=steps)


def errnos(got) -> list:
    return [r.errno or r.ret for r in got]


def test_group_and_other_bits_and_chmod_chown(live):
    """If root makes files 0640 root:0, 0604 root:0 and 0600, and a child becomes uid and
    gid 1000 with no groups, then it reads by the others' bits (0604 yes, 0640 no); with
    supplementary group 0 the group's (0640 yes). chmod by a non-owner is EPERM, chown
    to another uid too, chgrp by the owner to a group it is not in EPERM, to one it is in
    fine; chmod of a set-group-id bit by an owner outside the file's group drops the bit."""
    prog = program(
        (1, "mount", ("tmpfs", "/d", "tmpfs", 0, "mode=0777"), None),
        (1, "openat", (AT, "/d/g", uapi.O_CREAT | uapi.O_WRONLY, 0o640), 3),
        (1, "openat", (AT, "/d/o", uapi.O_CREAT | uapi.O_WRONLY, 0o604), 4),
        (1, "openat", (AT, "/d/p", uapi.O_CREAT | uapi.O_WRONLY, 0o600), 5),
        (1, "chmod", ("/d/g", 0o640), None),
        (1, "fchmod", (4, 0o604), None),
        (1, "fchmodat", (AT, "/d/p", 0o600), None),
        (1, "fork", (), 2),
        (2, "setgroups", (0, []), None),
        (2, "setresgid", (1000, 1000, 1000), None),
        (2, "setresuid", (1000, 1000, 1000), None),
        (2, "openat", (AT, "/d/g", uapi.O_RDONLY), 6),                    # EACCES
        (2, "openat", (AT, "/d/o", uapi.O_RDONLY), 6),                    # ok (others)
        (2, "openat", (AT, "/d/p", uapi.O_RDONLY), 7),                    # EACCES
        (2, "chmod", ("/d/o", 0o777), None),                              # EPERM
        (2, "openat", (AT, "/d/mine", uapi.O_CREAT | uapi.O_WRONLY, 0o644), 7),
        (2, "chown", ("/d/mine", 0, -1), None),                           # EPERM
        (2, "chown", ("/d/mine", -1, 0), None),                           # EPERM: not in 0
        (2, "chown", ("/d/mine", 1000, 1000), None),                      # ok
        (2, "chmod", ("/d/mine", 0o2755), None),                          # ok, bit kept
        (1, "chown", ("/d/mine", -1, 0), None),                           # root: ok
        (2, "chmod", ("/d/mine", 0o2755), None),                          # ok, bit dropped
        (1, "fork", (), 8),
        (8, "setgroups", (1, [0]), None),
        (8, "setresgid", (1000, 1000, 1000), None),
        (8, "setresuid", (1000, 1000, 1000), None),
        (8, "openat", (AT, "/d/g", uapi.O_RDONLY), 9),                    # ok (group 0)
        (8, "chown", ("/d/g", -1, 1000), None),                           # EPERM: not owner
        (8, "fchownat", (AT, "/d/mine", -1, -1, uapi.AT_RECURSIVE), None),  # EINVAL flags
    )
    got = kernel_agrees(live, prog)
    assert errnos(got[11:22]) == ["EACCES", 6, "EACCES", "EPERM", 7, "EPERM", "EPERM", 0, 0, 0, 0]
    assert errnos(got[26:]) == [9, "EPERM", "EINVAL"]


def test_keepcaps_capset_and_the_bounding_set(live):
    """If a root child sets keepcaps and becomes uid 1000, then its permitted set survives
    (capset may raise CAP_DAC_OVERRIDE into the effective set again and read a 0600 file),
    without keepcaps it does not (capset EPERM); a capset that widens permitted, or puts
    effective outside permitted, is EPERM; a process that dropped CAP_SYS_ADMIN from its
    effective set cannot mount, nor one without CAP_SYS_CHROOT chroot; PR_CAPBSET_DROP
    needs CAP_SETPCAP, and PR_CAPBSET_READ answers per capability (EINVAL past the last);
    PR_CAP_AMBIENT_RAISE needs the capability permitted and inheritable."""
    dac = BIT["CAP_DAC_OVERRIDE"]
    no_admin = FULL & ~BIT["CAP_SYS_ADMIN"] & ~BIT["CAP_SYS_RESOURCE"]
    prog = program(
        (1, "mount", ("tmpfs", "/d", "tmpfs", 0, "mode=0755"), None),
        (1, "openat", (AT, "/d/p", uapi.O_CREAT | uapi.O_WRONLY, 0o600), 3),
        (1, "fork", (), 2),
        (2, "prctl", (uapi.PR_SET_KEEPCAPS, 1), None),
        (2, "prctl", (uapi.PR_GET_KEEPCAPS,), None),                     # 1
        (2, "setresuid", (1000, 1000, 1000), None),
        (2, "openat", (AT, "/d/p", uapi.O_RDONLY), 4),                    # EACCES: pE empty
        (2, "capset", (V3, {"effective": dac, "permitted": dac, "inheritable": 0}), None),
        (2, "openat", (AT, "/d/p", uapi.O_RDONLY), 4),                    # ok
        (2, "capset", (V3, {"effective": dac, "permitted": dac | BIT["CAP_CHOWN"],
                            "inheritable": 0}), None),                    # EPERM: widens
        (1, "fork", (), 5),
        (5, "setresuid", (1000, 1000, 1000), None),
        (5, "capset", (V3, {"effective": dac, "permitted": dac, "inheritable": 0}), None),  # EPERM
        (1, "fork", (), 6),
        (6, "capset", (V3, {"effective": FULL & ~BIT["CAP_SYS_RESOURCE"], "permitted": no_admin,
                            "inheritable": 0}), None),                    # EPERM: pE > pP
        (6, "capset", (V3, {"effective": no_admin & ~BIT["CAP_SYS_CHROOT"], "permitted": no_admin,
                            "inheritable": BIT["CAP_KILL"]}), None),
        (6, "mount", ("tmpfs", "/e", "tmpfs", 0, None), None),             # EPERM
        (6, "chroot", ("/d",), None),                                      # EPERM
        (6, "prctl", (uapi.PR_CAPBSET_READ, uapi.CAP_SYS_ADMIN), None),   # 1
        (6, "prctl", (uapi.PR_CAPBSET_READ, 41), None),                   # EINVAL
        (6, "prctl", (uapi.PR_CAPBSET_DROP, uapi.CAP_SYS_ADMIN), None),   # ok (has SETPCAP)
        (6, "prctl", (uapi.PR_CAPBSET_READ, uapi.CAP_SYS_ADMIN), None),   # 0
        (6, "prctl", (uapi.PR_CAP_AMBIENT, uapi.PR_CAP_AMBIENT_RAISE, uapi.CAP_CHOWN, 0, 0), None),
        (6, "prctl", (uapi.PR_CAP_AMBIENT, uapi.PR_CAP_AMBIENT_RAISE, uapi.CAP_KILL, 0, 0), None),
        (6, "prctl", (uapi.PR_CAP_AMBIENT, uapi.PR_CAP_AMBIENT_IS_SET, uapi.CAP_KILL, 0, 0), None),
        (6, "capset", (V3, {"effective": 0, "permitted": no_admin & ~BIT["CAP_SETPCAP"],
                            "inheritable": BIT["CAP_KILL"]}), None),
        (6, "prctl", (uapi.PR_CAPBSET_DROP, uapi.CAP_KILL), None),        # EPERM
        (6, "prctl", (uapi.PR_CAP_AMBIENT, uapi.PR_CAP_AMBIENT_IS_SET, uapi.CAP_KILL, 0, 0), None),
        (6, "prctl", (uapi.PR_SET_SECUREBITS, uapi.SECBIT_KEEP_CAPS), None),   # EPERM
        (6, "prctl", (uapi.PR_GET_SECUREBITS,), None),
    )
    got = kernel_agrees(live, prog)
    assert errnos(got[3:10]) == [0, 1, 0, "EACCES", 0, 4, "EPERM"]
    assert errnos(got[11:13]) == [0, "EPERM"]
    assert errnos(got[14:]) == ["EPERM", 0, "EPERM", "EPERM", 1, "EINVAL", 0, 0, "EPERM", 0, 1,
                                0, "EPERM", 1, "EPERM", 0]


def test_set_group_id_directories_and_ids_in_a_user_namespace(live):
    """If a directory is set-group-id and group 1000, then a new directory in it inherits
    the group and the bit, a new file the group; a user namespace's root (uid 0 mapped to
    kernel uid 0 by a one-extent map) cannot setresuid to an unmapped uid (EINVAL), and
    setgroups there is EPERM until setgroups is allowed and gid_map written (here it
    stays denied after a setgroups "deny"). setuid(-1) is EINVAL (no "unchanged" there, as
    in setresuid), and so is a setgroups list holding -1 (found by the generator)."""
    prog = program(
        (1, "mount", ("tmpfs", "/d", "tmpfs", 0, "mode=0777"), None),
        (1, "mkdir", ("/d/s", 0o777), None),
        (1, "chown", ("/d/s", -1, 1000), None),
        (1, "chmod", ("/d/s", 0o2777), None),
        (1, "fork", (), 2),
        (2, "setresgid", (5, 5, 5), None),
        (2, "setresuid", (5, 5, 5), None),
        (2, "mkdir", ("/d/s/sub", 0o755), None),
        (2, "openat", (AT, "/d/s/f", uapi.O_CREAT | uapi.O_WRONLY, 0o644), 3),
        (2, "chown", ("/d/s/f", -1, 1000), None),            # ok: owner, same group
        (2, "chown", ("/d/s/sub", -1, 5), None),              # ok: owner, its fsgid
        (2, "chmod", ("/d/s/sub", 0o2755), None),             # kept: its group is 5
        (1, "mount", ("proc", "/e", "proc", 0, None), None),
        (1, "clone", (uapi.CLONE_NEWUSER | uapi.CLONE_NEWNS | uapi.SIGCHLD,), 4),
        (1, "openat", (AT, "/e/4/setgroups", uapi.O_WRONLY), 5),
        (1, "write", (5, "deny", 4), None),
        (1, "openat", (AT, "/e/4/uid_map", uapi.O_WRONLY), 6),
        (1, "write", (6, "0 0 1", 5), None),
        (1, "openat", (AT, "/e/4/gid_map", uapi.O_WRONLY), 7),
        (1, "write", (7, "0 0 1", 5), None),
        (4, "setresuid", (7, 7, 7), None),                    # EINVAL
        (4, "setgroups", (0, []), None),                      # EPERM: denied
        (4, "getuid", (), None),
        (4, "setresgid", (0, 0, 0), None),
        (4, "setuid", (-1,), None),                           # EINVAL: -1 is no uid here
        (2, "setgroups", (1, [-1]), None),                    # EPERM: no CAP_SETGID left
        (1, "setgroups", (2, [5, -1]), None),                 # EINVAL
    )
    got = kernel_agrees(live, prog)
    assert errnos(got[5:12]) == [0, 0, 0, 3, 0, 0, 0]
    assert errnos(got[13:20]) == [4, 5, 4, 6, 5, 7, 5]
    assert errnos(got[20:]) == ["EINVAL", "EPERM", 0, 0, "EINVAL", "EPERM", "EINVAL"]


def test_read_only_superblock_answers_before_permission(live):
    """If a tmpfs superblock is reconfigured read-only and a process without capabilities
    opens a root-owned 0644 file there for writing, then it is EROFS, not EACCES:
    inode_permission() asks sb_permission() before generic_permission() (found by the
    generator once the main process could drop its capabilities); on a read-only bind
    mount of a writable superblock the DAC check comes first (EACCES; the mount's
    read-only flag is only mnt_want_write() in vfs_open(), after may_open())."""
    prog = program(
        (1, "mount", ("tmpfs", "/d", "tmpfs", 0, None), None),
        (1, "openat", (AT, "/d/f", uapi.O_CREAT | uapi.O_WRONLY, 0o644), 3),
        (1, "close", (3,), None),                                # a writer keeps it rw
        (1, "mount", ("/d", "/e", None, uapi.MS_BIND, None), None),
        (1, "mount", (None, "/e", None, uapi.MS_REMOUNT | uapi.MS_BIND | uapi.MS_RDONLY, None), None),
        (1, "fspick", (AT, "/d", 0), 4),
        (1, "fsconfig", (4, uapi.FSCONFIG_SET_FLAG, "ro", None, 0), None),
        (1, "fork", (), 2),
        (2, "setresuid", (1000, 1000, 1000), None),
        (2, "openat", (AT, "/e/f", uapi.O_WRONLY), 5),           # EACCES
        (1, "fsconfig", (4, uapi.FSCONFIG_CMD_RECONFIGURE, None, None, 0), None),
        (2, "openat", (AT, "/d/f", uapi.O_WRONLY), 5),           # EROFS
        (2, "openat", (AT, "/d/f", uapi.O_RDONLY), 5),           # 5: reading is fine
    )
    got = kernel_agrees(live, prog)
    assert errnos(got[9:]) == ["EACCES", 0, "EROFS", 5]


def test_no_capability_refuses_before_a_pending_pid_namespace(live):
    """If a process has unshared a pid namespace its next child has yet to enter, then
    another CLONE_NEWPID (clone or unshare) is EINVAL for root but EPERM for a process
    without CAP_SYS_ADMIN: copy_namespaces() asks for the capability before
    create_new_namespaces() -> copy_pid_ns() finds the pending namespace (found by the
    generator once the main process could drop its capabilities)."""
    prog = program(
        (1, "fork", (), 2),
        (2, "unshare", (uapi.CLONE_NEWPID,), None),
        (2, "clone", (uapi.CLONE_NEWPID | uapi.SIGCHLD,), 3),            # EINVAL
        (2, "unshare", (uapi.CLONE_NEWPID | uapi.CLONE_NEWNS,), None),   # EINVAL
        (2, "setuid", (1000,), None),
        (2, "clone", (uapi.CLONE_NEWPID | uapi.SIGCHLD,), 3),            # EPERM
        (2, "unshare", (uapi.CLONE_NEWPID | uapi.CLONE_NEWNS,), None),   # EPERM
    )
    got = kernel_agrees(live, prog)
    assert errnos(got[1:]) == [0, "EINVAL", "EINVAL", 0, "EPERM", "EPERM"]


def test_tmpfs_root_group_is_the_mounters_unless_gid_says(live):
    """If root with egid 1000 mounts tmpfs, then it shows gid=1000 (ctx->gid =
    current_fsgid()) and its root belongs to group 1000; an explicit gid=0 hides it again
    (found by the generator: the model kept gid=1000); a later chown of the root does not
    change what the mount shows (sbinfo->gid, not the inode's)."""
    prog = program(
        (1, "fork", (), 2),
        (2, "setresgid", (1000, 1000, 1000), None),
        (2, "mount", ("tmpfs", "/d", "tmpfs", 0, "mode=0770"), None),
        (2, "mount", ("tmpfs", "/e", "tmpfs", 0, "gid=0,uid=0,mode=0770"), None),
        (2, "chown", ("/d", 5, 5), None),
        (2, "fork", (), 3),
        (3, "setresuid", (1000, 1000, 1000), None),
        (3, "mkdir", ("/d/x", 0o755), None),     # EACCES: group 5 now, not 1000
        (3, "mkdir", ("/e/x", 0o755), None),     # EACCES: group 0
    )
    got = kernel_agrees(live, prog)
    assert errnos(got[7:]) == ["EACCES", "EACCES"]


def test_o_creat_on_someone_elses_link_in_a_sticky_directory(live):
    """If a world-writable sticky directory (a tmpfs root, 1777) holds a symlink owned by
    uid 1000, then root's open(O_CREAT|O_NOFOLLOW) of it is EACCES (may_create_in_sticky():
    neither the entry's nor the directory's owner; regular files and FIFOs are spared only
    by fs.protected_regular/fifos being 0), while the same open of root's own link, or by
    uid 1000 of its own link or of one the directory's owner owns, is ELOOP (may_open()). Found by the generator once lchown came in."""
    flags = uapi.O_WRONLY | uapi.O_CREAT | uapi.O_NOFOLLOW
    prog = program(
        (1, "mount", ("tmpfs", "/d", "tmpfs", 0, None), None),
        (1, "symlink", ("/e", "/d/theirs"), None),
        (1, "symlink", ("/e", "/d/mine"), None),
        (1, "lchown", ("/d/theirs", 1000, 1000), None),
        (1, "openat", (AT, "/d/theirs", flags, 0o644), 3),       # EACCES
        (1, "openat", (AT, "/d/mine", flags, 0o644), 3),         # ELOOP
        (1, "fork", (), 2),
        (2, "setresuid", (1000, 1000, 1000), None),
        (2, "openat", (AT, "/d/theirs", flags, 0o644), 3),       # ELOOP: its own
        (2, "openat", (AT, "/d/mine", flags, 0o644), 3),         # ELOOP: the dir's owner's
    )
    got = kernel_agrees(live, prog)
    assert errnos(got[4:6]) == ["EACCES", "ELOOP"]
    assert errnos(got[8:]) == ["ELOOP", "ELOOP"]


def test_a_proc_instances_root_takes_chmod_and_chown(live):
    """If proc is mounted, then its root (owned by root whoever mounted it, 0555) takes
    chmod and chown as any inode does (each instance has its own root inode: simple
    setattr), and the new mode decides a later search: uid 1000 may not enter a 0700
    proc root. (Its other entries share proc_dir_entries with the host's proc: the live
    sandbox never changes those, tests/security.)"""
    prog = program(
        (1, "mount", ("proc", "/d", "proc", 0, None), None),
        (1, "chmod", ("/d", 0o700), None),
        (1, "fork", (), 2),
        (2, "setresuid", (1000, 1000, 1000), None),
        (2, "chdir", ("/d",), None),                 # EACCES
        (2, "chmod", ("/d", 0o755), None),           # EPERM: root's
        (1, "chown", ("/d", 1000, 1000), None),
        (2, "chdir", ("/d",), None),                 # 0: its owner now
    )
    got = kernel_agrees(live, prog)
    assert errnos(got[1:]) == [0, 2, 0, "EACCES", "EPERM", 0, 0]
