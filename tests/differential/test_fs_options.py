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
