"""Filesystem mount options as the filesystems parse and print them, on the model and on the
live kernel: tmpfs (systemd-nspawn mounts "mode=1777,size=10%,nr_inodes=400k,uid=0,gid=0"),
proc and devpts.

Expected values are the kernel's: each program runs on both, and the tables agree. The rules
exercised (mm/shmem.c): memparse() suffixes and C bases for size, nr_blocks and nr_inodes;
size in percent of this machine's RAM (rounded up to pages); the last of size and nr_blocks
wins; inode counts printed in full; mode 1777 and uid/gid 0 not printed; a percentage for
nr_inodes or a size with a bad suffix is EINVAL.
"""

from __future__ import annotations

import pytest

from mountsim import uapi
from mountsim.trace.program import Program, Step
from tests.helpers import kernel_agrees

pytestmark = pytest.mark.live

OPTIONS = ("mode=1777,size=10%,nr_inodes=400k,uid=0,gid=0", "size=1M,nr_inodes=1m",
           "size=150%,nr_inodes=0", "size=0x10000", "nr_inodes=10%",
           "size=50%,nr_blocks=300,mode=0700,uid=5", "size=12x", "size=010,mode=755")


def test_tmpfs_sizes_and_counts_print_as_the_kernel_prints_them(live):
    """If tmpfs is mounted with each option string in turn (stacked on /mnt), then every
    mount call and the final table agree with the kernel's."""
    steps = [Step(1, "mount", ("proc", "/proc", "proc", 0, None))]
    steps += [Step(1, "mount", ("none", "/mnt", "tmpfs", 0, o)) for o in OPTIONS]
    steps += [Step(1, "openat", (uapi.AT_FDCWD, "/proc/self/mountinfo", uapi.O_RDONLY), label=3),
              Step(1, "read", (3, None, 65536))]
    got = kernel_agrees(live, Program(start_dirs=["/mnt", "/proc"], steps=steps))
    assert [r.errno for r in got[1:len(OPTIONS) + 1]] == [None] * 4 + ["EINVAL", None, "EINVAL", None]
    assert "nr_inodes=409600" in got[-1].out and "size=1200k,mode=700,uid=5" in got[-1].out


PROC = ("hidepid=2,subset=pid", "hidepid=7", "subset=sys", "hidepid=noaccess,gid=5,hidepid=ptraceable",
        "gid=0,hidepid=0")


def test_proc_and_devpts_options_print_as_the_kernel_prints_them(live):
    """If proc is mounted with hidepid as a number and as names, subset and gid (stacked on
    /mnt), and devpts is remounted with a new ptmxmode, then every call and the final table
    agree with the kernel's: hidepid by name unless off, the last value wins, gid=0 and
    hidepid=0 not shown, an unknown hidepid or subset EINVAL (fs/proc/root.c
    proc_parse_hidepid_param(), proc_parse_subset_param(); proc_show_options()); a devpts
    remount takes its new options whole, defaults for the rest, even with no data at all
    (devpts_reconfigure()), printed in octal without a leading 0."""
    steps = [Step(1, "mount", ("proc", "/proc", "proc", 0, None))]
    steps += [Step(1, "mount", ("proc", "/mnt", "proc", 0, o)) for o in PROC]
    steps += [Step(1, "mount", ("d", "/dev/pts", "devpts", 0, "newinstance,ptmxmode=0666,mode=620")),
              Step(1, "mount", (None, "/dev/pts", None, uapi.MS_REMOUNT, "ptmxmode=0600")),
              Step(1, "mount", ("e", "/d2", "devpts", 0, "newinstance,gid=5,mode=620")),
              Step(1, "mount", (None, "/d2", None, uapi.MS_REMOUNT, None)),
              Step(1, "openat", (uapi.AT_FDCWD, "/proc/self/mountinfo", uapi.O_RDONLY), label=3),
              Step(1, "read", (3, None, 65536))]
    got = kernel_agrees(live, Program(start_dirs=["/mnt", "/proc", "/dev/pts", "/d2"], steps=steps))
    assert [r.errno for r in got[1:len(PROC) + 1]] == [None, "EINVAL", "EINVAL", None, None]
    assert "hidepid=invisible,subset=pid" in got[-1].out
    assert "devpts d rw,mode=600,ptmxmode=600" in got[-1].out        # mode back to its default
    assert "devpts e rw,mode=600,ptmxmode=000" in got[-1].out        # a remount without data


RAMFS = ("mode=700", "mode=0755", "mode=abc", "foo=1,mode=17777,bar", "mode", "mode=-1",
         "mode=+1", "mode=40000000000", "mode=37777777777")
MODES = ("mode=-1", "mode=40000000000", "mode=+700", "mode=37777777777")


def test_ramfs_mode_and_the_octal_values_of_mode_as_the_kernel_parses_them(live):
    """If ramfs is mounted with each option string in turn (stacked on /mnt), and tmpfs with
    signed and out-of-range modes, then every call and the final table agree with the
    kernel's: ramfs takes only mode and ignores every other option, prints mode= in octal
    unless 0755 (fs/ramfs/inode.c: ramfs_parse_param(), ramfs_show_options()); a mode is a
    u32 in octal (fsparam_u32oct: kstrtouint(), so "+" is fine, "-1" and more than 32 bits
    are EINVAL, as are no value and a non-octal digit), masked to 07777. The fsconfig path
    takes the same mode (SET_STRING) and ignores an unknown key."""
    steps = [Step(1, "mount", ("proc", "/proc", "proc", 0, None))]
    steps += [Step(1, "mount", ("r", "/mnt", "ramfs", 0, o)) for o in RAMFS]
    steps += [Step(1, "mount", ("t", "/mnt", "tmpfs", 0, o)) for o in MODES]
    steps += [Step(1, "fsopen", ("ramfs", 0), label=3),
              Step(1, "fsconfig", (3, uapi.FSCONFIG_SET_STRING, "mode", "0711", 0)),
              Step(1, "fsconfig", (3, uapi.FSCONFIG_SET_STRING, "nosuchkey", "1", 0)),
              Step(1, "fsconfig", (3, uapi.FSCONFIG_SET_FLAG, "mode", None, 0)),
              Step(1, "fsconfig", (3, uapi.FSCONFIG_CMD_CREATE, None, None, 0)),
              Step(1, "fsmount", (3, 0, 0), label=4),
              Step(1, "move_mount", (4, "", uapi.AT_FDCWD, "/d2", uapi.MOVE_MOUNT_F_EMPTY_PATH)),
              Step(1, "openat", (uapi.AT_FDCWD, "/proc/self/mountinfo", uapi.O_RDONLY), label=5),
              Step(1, "read", (5, None, 65536))]
    got = kernel_agrees(live, Program(start_dirs=["/mnt", "/proc", "/d2"], steps=steps))
    n = len(RAMFS)
    assert [r.errno for r in got[1:n + 1]] == [None, None, "EINVAL", None, "EINVAL",
                                              "EINVAL", None, "EINVAL", None]
    assert [r.errno for r in got[n + 1:n + 1 + len(MODES)]] == ["EINVAL", "EINVAL", None, None]
    assert [r.errno for r in got[n + 6:n + 9]] == [None, None, "EINVAL"]
    table = got[-1].out
    assert "ramfs r rw,mode=700" in table and "ramfs r rw,mode=7777" in table
    assert "ramfs r rw,mode=1\n" in table and "ramfs none rw,mode=711" in table


def test_remount_options_as_each_filesystem_reconfigures(live):
    """If tmpfs is remounted with new options, then only what shmem_reconfigure() applies
    changes (size, nr_inodes; mode and uid stay the root inode's), fewer inodes than in use
    (the root and three directories: 4) are EINVAL, as is a size or inode limit on a
    superblock mounted without one (size=0, nr_inodes=0) and noswap; ramfs has no
    ->reconfigure (its mode stays); devpts takes its new options whole (mm/shmem.c,
    fs/ramfs/inode.c, fs/devpts/inode.c)."""
    remount = uapi.MS_REMOUNT
    steps = [Step(1, "mount", ("proc", "/proc", "proc", 0, None)),
             Step(1, "mount", ("t", "/mnt", "tmpfs", 0, "nr_inodes=10,mode=711")),
             Step(1, "mkdir", ("/mnt/a", 0o755)), Step(1, "mkdir", ("/mnt/b", 0o755)),
             Step(1, "mkdir", ("/mnt/c", 0o755)),
             Step(1, "mount", (None, "/mnt", None, remount, "nr_inodes=3")),
             Step(1, "mount", (None, "/mnt", None, remount, "nr_inodes=4,mode=700,uid=5")),
             Step(1, "mount", (None, "/mnt", None, remount, "size=2m")),
             Step(1, "mount", (None, "/mnt", None, remount, "noswap")),
             Step(1, "mount", ("u", "/d2", "tmpfs", 0, "size=0,nr_inodes=0")),
             Step(1, "mount", (None, "/d2", None, remount, "size=1m")),
             Step(1, "mount", (None, "/d2", None, remount, "nr_inodes=5")),
             Step(1, "mount", (None, "/d2", None, remount, "size=0")),
             Step(1, "mount", ("r", "/d3", "ramfs", 0, "mode=700")),
             Step(1, "mount", (None, "/d3", None, remount, "mode=755")),
             Step(1, "openat", (uapi.AT_FDCWD, "/proc/self/mountinfo", uapi.O_RDONLY), label=3),
             Step(1, "read", (3, None, 65536))]
    got = kernel_agrees(live, Program(start_dirs=["/mnt", "/proc", "/d2", "/d3"], steps=steps))
    assert [r.errno for r in got[5:15]] == ["EINVAL", None, None, "EINVAL", None, "EINVAL",
                                           "EINVAL", None, None, None]
    assert "tmpfs t rw,size=2048k,nr_inodes=4,mode=711" in got[-1].out
    assert "ramfs r rw,mode=700" in got[-1].out


def test_devpts_directory_has_no_operations_to_make_or_remove_names(live):
    """If devpts is mounted, then its root (simple_dir_inode_operations: lookup only) takes
    no mkdir, symlink or mknod (EPERM) and no O_CREAT open (EACCES, lookup_open()), and its
    ptmx cannot be unlinked (EPERM); a devpts "mode" is its ptys', not its root's (0755:
    a uid-1000 process still searches it)."""
    steps = [Step(1, "mount", ("d", "/d2", "devpts", 0, "newinstance,mode=600")),
             Step(1, "mkdir", ("/d2/x", 0o755)),
             Step(1, "symlink", ("/", "/d2/l")),
             Step(1, "openat", (uapi.AT_FDCWD, "/d2/f", uapi.O_CREAT | uapi.O_WRONLY, 0o644), label=3),
             Step(1, "unlink", ("/d2/ptmx",)),
             Step(1, "fork", (), label=2),
             Step(2, "setresuid", (1000, 1000, 1000)),
             Step(2, "openat", (uapi.AT_FDCWD, "/d2/ptmx", uapi.O_PATH), label=4)]
    got = kernel_agrees(live, Program(start_dirs=["/d2"], steps=steps))
    assert [r.errno for r in got[1:5]] == ["EPERM", "EPERM", "EACCES", "EPERM"]
    assert got[-1].errno is None


def test_an_fsconfig_string_is_one_value_commas_included(live):
    """If fsconfig(FSCONFIG_SET_STRING) gives a value with a comma, then it is one value,
    not a list of options as mount(2)'s data is: proc's hidepid "noaccess,gid=0" and
    tmpfs's size "1m,mode=700" are bad values (EINVAL), "1m" alone is fine."""
    steps = [Step(1, "fsopen", ("proc", 0), label=3),
             Step(1, "fsconfig", (3, uapi.FSCONFIG_SET_STRING, "hidepid", "noaccess,gid=0", 0)),
             Step(1, "fsopen", ("tmpfs", 0), label=4),
             Step(1, "fsconfig", (4, uapi.FSCONFIG_SET_STRING, "size", "1m,mode=700", 0)),
             Step(1, "fsconfig", (4, uapi.FSCONFIG_SET_STRING, "size", "1m", 0))]
    got = kernel_agrees(live, Program(start_dirs=["/d2"], steps=steps))
    assert [got[1].errno, got[3].errno, got[4].errno] == ["EINVAL", "EINVAL", None]


def test_a_mount_flag_given_to_fsconfig_is_the_filesystems_to_refuse(live):
    """If fsconfig(FSCONFIG_SET_FLAG) names a per-mount flag ("nosuid", "bind"), then no
    VFS list refuses it: the filesystem sees it, and ramfs ignores it (0) where tmpfs and
    proc refuse an unknown parameter (EINVAL)."""
    steps = [Step(1, "fsopen", ("ramfs", 0), label=3), Step(1, "fsopen", ("tmpfs", 0), label=4),
             Step(1, "fsopen", ("proc", 0), label=5)]
    for fd in (3, 4, 5):
        steps += [Step(1, "fsconfig", (fd, uapi.FSCONFIG_SET_FLAG, key, None, 0))
                  for key in ("nosuid", "bind")]
    got = kernel_agrees(live, Program(start_dirs=["/d2"], steps=steps))
    assert [r.errno for r in got[3:]] == [None, None] + ["EINVAL"] * 4
