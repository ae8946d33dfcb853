"""Each strace version's spelling of the new mount API parses to the Step the model runs.

Every line is copied from strace's own test expectations (the printf() formats of
strace.git tests/<call>.c, which `make check` compares with strace's output) at the tag or
commit named in its case, with the format's %-conversions filled in: fds 3 (`-y` path
/dev/full), cwd /tmp, errstr a plain `-1 E… (…)`, and `fill_memory()`'s byte pattern
(0x80, 0x81, …) where the test reads a filled buffer. Raw `syscall_0x…` lines are strace
6.1's own output on this machine (the only strace here). The expected Step comes from what
the printed text means in the kernel uapi (include/uapi/linux/mount.h, fcntl.h, sched.h),
written out as numbers, never from running the parser.

strace commits: v5.2 dc03195e, v5.12 91465b47, v6.6 bf598d9b, v6.8 a592648a, v6.11
8399328f, v6.15 918fce0c, v6.16 ba20408d (-N/--arg-names), v6.19 1d78a4ce (mnt_id_req's
mnt_ns_fd), v7.0 5a21bf14 (statmount flags decoded), HEAD 3e4d70a5 (7.1 development).
"""

from __future__ import annotations

import pytest

from mountsim.trace.parse import parse_text

FILL_MNT_ID = 0x8f8e8d8c8b8a8988          # fill_memory(req): bytes 8..15 of mnt_id_req
FILL_PARAM = 0x9796959493929190           # bytes 16..23
FILL_NS_ID = 0x9f9e9d9c9b9a9998           # bytes 24..31
LSMT_ROOT = 0xffffffffffffffff            # include/uapi/linux/mount.h
ALL32 = 0xffffffff

# (id, source, line, call name, decoded args)
CASES = [
    # -- open_tree: OPEN_TREE_CLONE 1, OPEN_TREE_NAMESPACE 2, OPEN_TREE_CLOEXEC O_CLOEXEC
    #    0x80000, AT_SYMLINK_NOFOLLOW 0x100, AT_NO_AUTOMOUNT 0x800, AT_EMPTY_PATH 0x1000,
    #    AT_RECURSIVE 0x8000
    ("open_tree-5.2-clone", "v5.2 tests/open_tree.c",
     'open_tree(-1, NULL, OPEN_TREE_CLONE) = -1 EBADF (Bad file descriptor)',
     "open_tree", (-1, None, 0x1)),
    ("open_tree-y-recursive", "v5.2 tests/open_tree.c (-y)",
     'open_tree(3</dev/full>, "/dev/full", AT_RECURSIVE) = -1 EINVAL (Invalid argument)',
     "open_tree", (3, "/dev/full", 0x8000)),
    ("open_tree-head-all", "HEAD tests/open_tree.c: -1U & ~0x9903 & ~O_CLOEXEC = 0xfff766fc",
     'open_tree(-1, "", OPEN_TREE_CLONE|OPEN_TREE_NAMESPACE|OPEN_TREE_CLOEXEC'
     '|AT_SYMLINK_NOFOLLOW|AT_NO_AUTOMOUNT|AT_EMPTY_PATH|AT_RECURSIVE|0xfff766fc)'
     ' = -1 EINVAL (Invalid argument)',
     "open_tree", (-1, "", ALL32)),
    ("open_tree-fd-result", "HEAD tests/open_tree.c (-y, success)",
     'open_tree(3</dev/full>, "", AT_EMPTY_PATH) = 4</dev/full>',
     "open_tree", (3, "", 0x1000)),
    ("open_tree-Xraw", "tests/open_tree-Xraw via XLAT_RAW: flags as hex, AT_FDCWD as -100",
     'open_tree(-100, "/mnt", 0x8001) = 3',
     "open_tree", (-100, "/mnt", 0x8001)),
    ("open_tree-Xverbose", "XLAT_VERBOSE: value then /* names */",
     'open_tree(-100 /* AT_FDCWD */, "/mnt", 0x8001 /* OPEN_TREE_CLONE|AT_RECURSIVE */) = 3',
     "open_tree", (-100, "/mnt", 0x8001)),
    # -- move_mount: F_* 0x1/0x2/0x4, T_* 0x10/0x20/0x40, SET_GROUP 0x100, BENEATH 0x200
    ("move_mount-f-flags", "v5.2 tests/move_mount.c",
     'move_mount(3</dev/full>, "/x", AT_FDCWD</tmp>, "", MOVE_MOUNT_F_SYMLINKS'
     '|MOVE_MOUNT_F_AUTOMOUNTS|MOVE_MOUNT_F_EMPTY_PATH) = -1 ENOENT (No such file or directory)',
     "move_mount", (3, "/x", -100, "", 0x7)),
    ("move_mount-set-group", "v5.15+ tests/move_mount.c",
     'move_mount(AT_FDCWD</tmp>, "", 3</dev/full>, "/x", MOVE_MOUNT_SET_GROUP) = -1 EINVAL (Invalid argument)',
     "move_mount", (-100, "", 3, "/x", 0x100)),
    ("move_mount-all", "v6.5+ tests/move_mount.c (MOVE_MOUNT_BENEATH)",
     'move_mount(AT_FDCWD</tmp>, "", -1, "/dev/full", MOVE_MOUNT_F_SYMLINKS|MOVE_MOUNT_F_AUTOMOUNTS'
     '|MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_SYMLINKS|MOVE_MOUNT_T_AUTOMOUNTS|MOVE_MOUNT_T_EMPTY_PATH'
     '|MOVE_MOUNT_SET_GROUP|MOVE_MOUNT_BENEATH|0xfffffc88) = -1 EINVAL (Invalid argument)',
     "move_mount", (-100, "", -1, "/dev/full", ALL32)),
    # -- fsopen: FSOPEN_CLOEXEC 1
    ("fsopen-unknown", "v5.2 tests/fsopen.c",
     'fsopen(NULL, 0x2 /* FSOPEN_??? */) = -1 EFAULT (Bad address)',
     "fsopen", (None, 0x2)),
    ("fsopen-mixed", "v5.2 tests/fsopen.c",
     'fsopen("", FSOPEN_CLOEXEC|0xfffffffe) = -1 EINVAL (Invalid argument)',
     "fsopen", ("", ALL32)),
    # -- fsconfig: SET_FLAG 0, SET_STRING 1, SET_BINARY 2, SET_PATH 3, SET_PATH_EMPTY 4,
    #    SET_FD 5, CMD_CREATE 6, CMD_RECONFIGURE 7, CMD_CREATE_EXCL 8 (strace 6.6)
    ("fsconfig-unknown-cmd", "v6.6 tests/fsconfig.c (0x9 unknown since CREATE_EXCL)",
     'fsconfig(3</dev/full>, 0x9 /* FSCONFIG_??? */, 0x7ffd0000, 0x7ffd0010, -100) = -1 EINVAL (Invalid argument)',
     "fsconfig", (3, 9, None, None, -100)),
    ("fsconfig-set-string", "v5.2 tests/fsconfig.c test_fsconfig_set_string",
     'fsconfig(-100, FSCONFIG_SET_STRING, "source", "/dev/full", 3) = -1 EINVAL (Invalid argument)',
     "fsconfig", (-100, 1, "source", "/dev/full", 3)),
    ("fsconfig-set-path", "v5.2 tests/fsconfig.c test_fsconfig_set_path",
     'fsconfig(3</dev/full>, FSCONFIG_SET_PATH, "source", "/dev/full", AT_FDCWD</tmp>) = -1 EINVAL (Invalid argument)',
     "fsconfig", (3, 3, "source", "/dev/full", -100)),
    ("fsconfig-set-fd", "v5.2 tests/fsconfig.c test_fsconfig_set_fd",
     'fsconfig(-100, FSCONFIG_SET_FD, "source", NULL, 3</dev/full>) = -1 EINVAL (Invalid argument)',
     "fsconfig", (-100, 5, "source", None, 3)),
    ("fsconfig-create-excl", "v6.6 tests/fsconfig.c test_fsconfig_cmd",
     'fsconfig(3</dev/full>, FSCONFIG_CMD_CREATE_EXCL, 0x7ffd0000, 0x7ffd0010, -100) = -1 EINVAL (Invalid argument)',
     "fsconfig", (3, 8, None, None, -100)),
    # -- fsmount: FSMOUNT_CLOEXEC 1, FSMOUNT_NAMESPACE 2 (7.1); MOUNT_ATTR_* as uapi
    ("fsmount-5.2-attrs", "v5.2 tests/fsmount.c: 0xbf",
     'fsmount(3</dev/full>, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV'
     '|MOUNT_ATTR_NOEXEC|MOUNT_ATTR_NOATIME|MOUNT_ATTR_STRICTATIME|MOUNT_ATTR_NODIRATIME) = -1 EINVAL (Invalid argument)',
     "fsmount", (3, 0x1, 0xbf)),
    ("fsmount-6.8-atime", "v6.8 tests/fsmount.c: 0x2000ff spelled with MOUNT_ATTR__ATIME",
     'fsmount(-1, 0, MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV|MOUNT_ATTR_NOEXEC'
     '|MOUNT_ATTR__ATIME|MOUNT_ATTR_NODIRATIME|MOUNT_ATTR_NOSYMFOLLOW) = -1 EBADF (Bad file descriptor)',
     "fsmount", (-1, 0, 0x2000ff)),
    ("fsmount-head-namespace", "HEAD tests/fsmount.c",
     'fsmount(-100, FSMOUNT_CLOEXEC|FSMOUNT_NAMESPACE|0xfffffffc, 0x40 /* MOUNT_ATTR_??? */) = -1 EBADF (Bad file descriptor)',
     "fsmount", (-100, ALL32, 0x40)),
    # -- fspick: CLOEXEC 1, SYMLINK_NOFOLLOW 2, NO_AUTOMOUNT 4, EMPTY_PATH 8
    ("fspick-all", "v5.2 tests/fspick.c",
     'fspick(-1, "", FSPICK_CLOEXEC|FSPICK_SYMLINK_NOFOLLOW|FSPICK_NO_AUTOMOUNT|FSPICK_EMPTY_PATH'
     '|0xfffffff0) = -1 EBADF (Bad file descriptor)',
     "fspick", (-1, "", ALL32)),
    ("fspick-unknown", "v5.2 tests/fspick.c",
     'fspick(3</dev/full>, "/x", 0xfffffff0 /* FSPICK_??? */) = -1 EINVAL (Invalid argument)',
     "fspick", (3, "/x", 0xfffffff0)),
    # -- mount_setattr (strace 5.12): struct mount_attr; MS_SLAVE 1<<19, MS_UNBINDABLE 1<<17
    ("mount_setattr-struct", "v5.12 tests/mount_setattr.c",
     'mount_setattr(3</dev/full>, "", AT_EMPTY_PATH, {attr_set=MOUNT_ATTR_NOSUID, '
     'attr_clr=MOUNT_ATTR_NODEV, propagation=MS_SLAVE, userns_fd=1004211375834136579}, 32)'
     ' = -1 EINVAL (Invalid argument)',
     "mount_setattr", (3, "", 0x1000, {"attr_set": 0x2, "attr_clr": 0x4, "propagation": 1 << 19,
                                        "userns_fd": 0xdefaced00000003}, 32)),
    ("mount_setattr-unread-tail", "v6.8 tests/mount_setattr.c (j == 1: `, ???`)",
     'mount_setattr(-1, "/dev/full", 0, {attr_set=0xffffffff00000000 /* MOUNT_ATTR_??? */, '
     'attr_clr=0, propagation=MS_UNBINDABLE, userns_fd=3, ???}, 40) = -1 EINVAL (Invalid argument)',
     "mount_setattr", (-1, "/dev/full", 0, {"attr_set": 0xffffffff00000000, "attr_clr": 0,
                                            "propagation": 1 << 17, "userns_fd": 3}, 40)),
    ("mount_setattr-bytes", "v6.8 tests/mount_setattr.c (j == 2: nonzero tail bytes)",
     'mount_setattr(-1, "/dev/full", 0, {attr_set=MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV'
     '|MOUNT_ATTR_NOEXEC|MOUNT_ATTR__ATIME|MOUNT_ATTR_NODIRATIME|MOUNT_ATTR_IDMAP|MOUNT_ATTR_NOSYMFOLLOW, '
     'attr_clr=0xffffffffffcfff00 /* MOUNT_ATTR_??? */, propagation=0x140000 /* MS_??? */, '
     'userns_fd=3</dev/full>, /* bytes 32..39 */ "\\x80\\x81\\x82\\x83\\x84\\x85\\x86\\x87"}, 40)'
     ' = -1 EINVAL (Invalid argument)',
     "mount_setattr", (-1, "/dev/full", 0, {"attr_set": 0x3000ff, "attr_clr": 0xffffffffffcfff00,
                                            "propagation": 0x140000, "userns_fd": 3}, 40)),
    # -- statmount (strace 6.8): mnt_id_req {size, [spare], mnt_id, param}; 6.11 adds
    #    mnt_ns_id; 6.19 prints mnt_ns_fd; 7.0 decodes flags (STATMOUNT_BY_FD 1)
    ("statmount-6.8-spare", "v6.8 tests/statmount.c (spare printed when nonzero)",
     f'statmount({{size=24, spare=0x87868584, mnt_id={FILL_MNT_ID:#x}, '
     'param=0x97969590 /* STATMOUNT_??? */}, NULL, 0, 0) = -1 EINVAL (Invalid argument)',
     "statmount", ({"size": 24, "spare": 0x87868584, "mnt_id": FILL_MNT_ID, "param": 0x97969590},
                   None, 0, 0)),
    ("statmount-size-only", "v6.8 tests/statmount.c (size < MNT_ID_REQ_SIZE_VER0)",
     'statmount({size=23}, NULL, 0, 0) = -1 EINVAL (Invalid argument)',
     "statmount", ({"size": 23}, None, 0, 0)),
    ("statmount-unavailable", "v6.8 tests/statmount.c (`???`: struct unreadable)",
     'statmount({size=24, ???}, NULL, 0, 0) = -1 EFAULT (Bad address)',
     "statmount", ({"size": 24}, None, 0, 0)),
    ("statmount-6.11-ns-id", "v6.11 tests/statmount.c",
     f'statmount({{size=32, mnt_id={FILL_MNT_ID:#x}, param=STATMOUNT_SB_BASIC|STATMOUNT_MNT_BASIC, '
     f'mnt_ns_id={FILL_NS_ID:#x}}}, NULL, 0, 0) = -1 EINVAL (Invalid argument)',
     "statmount", ({"size": 32, "mnt_id": FILL_MNT_ID, "param": 0x3, "mnt_ns_id": FILL_NS_ID},
                   None, 0, 0)),
    ("statmount-6.19-ns-fd", "v6.19 tests/statmount.c (mnt_ns_fd=%d)",
     f'statmount({{size=32, mnt_ns_fd=-2021227132, mnt_id={FILL_MNT_ID:#x}, param=0, '
     f'mnt_ns_id={FILL_NS_ID:#x}, ???}}, NULL, 0, 0) = -1 EINVAL (Invalid argument)',
     "statmount", ({"size": 32, "mnt_ns_fd": -2021227132, "mnt_id": FILL_MNT_ID, "param": 0,
                    "mnt_ns_id": FILL_NS_ID}, None, 0, 0)),
    ("statmount-6.19-bytes", "v6.19 tests/statmount.c (tail bytes past VER1)",
     f'statmount({{size=40, mnt_ns_fd=0, mnt_id={FILL_MNT_ID:#x}, param=0, mnt_ns_id={FILL_NS_ID:#x}, '
     '/* bytes 32..39 */ "\\x80\\x81\\x82\\x83\\x84\\x85\\x86\\x87"}, NULL, 0, 0) = -1 E2BIG (Argument list too long)',
     "statmount", ({"size": 40, "mnt_ns_fd": 0, "mnt_id": FILL_MNT_ID, "param": 0,
                    "mnt_ns_id": FILL_NS_ID}, None, 0, 0)),
    ("statmount-7.0-by-fd", "v7.0 tests/statmount.c (`%s|%#x`, STATMOUNT_BY_FD)",
     'statmount(NULL, NULL, 0, STATMOUNT_BY_FD|0xfffffffe) = -1 EINVAL (Invalid argument)',
     "statmount", (None, None, 0, ALL32)),
    ("statmount-6.8-out", "v6.8 src/statmount.c print_statmount(): every field, in order",
     'statmount({size=24, mnt_id=0x100000001, param=STATMOUNT_SB_BASIC|STATMOUNT_MNT_BASIC'
     '|STATMOUNT_MNT_ROOT|STATMOUNT_MNT_POINT}, {size=530, mask=STATMOUNT_SB_BASIC'
     '|STATMOUNT_MNT_BASIC|STATMOUNT_MNT_ROOT|STATMOUNT_MNT_POINT, sb_dev_major=0, '
     'sb_dev_minor=33, sb_magic=TMPFS_MAGIC, sb_flags=MS_RDONLY, fs_type=0, mnt_id=0x100000001, '
     'mnt_parent_id=0x100000000, mnt_id_old=0x1c, mnt_parent_id_old=0x1b, '
     'mnt_attr=MOUNT_ATTR_NOSUID|MOUNT_ATTR_NODEV, mnt_propagation=MS_SHARED, '
     'mnt_peer_group=0x1, mnt_master=0, propagate_from=0, mnt_root="/", mnt_point="/mnt"}, 4096, 0) = 0',
     "statmount", ({"size": 24, "mnt_id": 0x100000001, "param": 0x1b}, None, 4096, 0)),
    ("statmount-6.15-out", "v6.15 src/statmount.c: fields by mask, string sequences",
     'statmount({size=32, mnt_id=0x100000001, param=STATMOUNT_MNT_OPTS|STATMOUNT_OPT_ARRAY'
     '|STATMOUNT_MNT_UIDMAP, mnt_ns_id=0}, {size=600, mnt_opts="mode=755", '
     'mask=STATMOUNT_MNT_OPTS|STATMOUNT_OPT_ARRAY|STATMOUNT_MNT_UIDMAP, opt_num=2, '
     'opt_array=["mode=755", "inode64"], mnt_uidmap_num=1, mnt_uidmap=["0 1000 1"]}, 4096, 0) = 0',
     "statmount", ({"size": 32, "mnt_id": 0x100000001, "param": 0x80 | 0x400 | 0x2000,
                    "mnt_ns_id": 0}, None, 4096, 0)),
    ("statmount-N", "v6.16 -N/--arg-names (src/statmount.c tprints_arg_name)",
     'statmount(req={size=32, mnt_ns_fd=0, mnt_id=0x100000001, param=STATMOUNT_MNT_POINT, '
     'mnt_ns_id=0}, buf={size=530, mask=STATMOUNT_MNT_POINT, mnt_point="/mnt"}, bufsize=4096, '
     'flags=0) = 0',
     "statmount", ({"size": 32, "mnt_ns_fd": 0, "mnt_id": 0x100000001, "param": 0x10,
                    "mnt_ns_id": 0}, None, 4096, 0)),
    ("statmount-y-ns-fd", "v6.19 src/statmount.c PRINT_FIELD_FD under -y",
     'statmount({size=32, mnt_ns_fd=3<mnt:[4026531841]>, mnt_id=0x100000001, '
     'param=STATMOUNT_MNT_BASIC, mnt_ns_id=0}, 0x7ffd0000, 4096, STATMOUNT_BY_FD) = -1 EINVAL (Invalid argument)',
     "statmount", ({"size": 32, "mnt_ns_fd": 3, "mnt_id": 0x100000001, "param": 0x2,
                    "mnt_ns_id": 0}, None, 4096, 0x1)),
    ("listmount-Xverbose", "XLAT_VERBOSE of v6.11 tests/listmount.c",
     'listmount({size=24, mnt_id=0xffffffffffffffff /* LSMT_ROOT */, param=0}, NULL, 0, '
     '0x1 /* LISTMOUNT_REVERSE */) = -1 EFAULT (Bad address)',
     "listmount", ({"size": 24, "mnt_id": LSMT_ROOT, "param": 0}, None, 0, 0x1)),
    # -- listmount (strace 6.8): mnt_id LSMT_ROOT; 6.11 decodes LISTMOUNT_REVERSE (1)
    ("listmount-6.8-flags-hex", "v6.8 tests/listmount.c (flags %#x)",
     'listmount(NULL, NULL, 0, 0xffffffff) = -1 EFAULT (Bad address)',
     "listmount", (None, None, 0, ALL32)),
    ("listmount-6.8-lsmt-root", "v6.8 tests/listmount.c",
     f'listmount({{size=24, mnt_id=LSMT_ROOT, param={FILL_PARAM:#x}}}, NULL, 0, 0) = -1 EINVAL (Invalid argument)',
     "listmount", ({"size": 24, "mnt_id": LSMT_ROOT, "param": FILL_PARAM}, None, 0, 0)),
    ("listmount-6.11-reverse", "v6.11 tests/listmount.c (`%s|%#x`)",
     'listmount(NULL, NULL, 0, LISTMOUNT_REVERSE|0xfffffffe) = -1 EFAULT (Bad address)',
     "listmount", (None, None, 0, ALL32)),
    ("listmount-6.19-ns-fd", "v6.19 tests/listmount.c",
     f'listmount({{size=32, mnt_ns_fd=0, mnt_id=LSMT_ROOT, param={FILL_PARAM:#x}, '
     f'mnt_ns_id={FILL_NS_ID:#x}}}, NULL, 0, 0) = -1 EINVAL (Invalid argument)',
     "listmount", ({"size": 32, "mnt_ns_fd": 0, "mnt_id": LSMT_ROOT, "param": FILL_PARAM,
                    "mnt_ns_id": FILL_NS_ID}, None, 0, 0)),
    ("listmount-ids", "v6.8 tests/listmount.c (mnt_ids array, elided tail)",
     'listmount(NULL, [0x8786858483828180, 0x8f8e8d8c8b8a8988, ... /* 0x7ffd0010 */], 3, 0) = 3',
     "listmount", (None, None, 3, 0)),
    ("listmount-size-symbolic", "mnt_id_req.size by its uapi name",
     'listmount({size=MNT_ID_REQ_SIZE_VER0, mnt_id=LSMT_ROOT, param=0}, NULL, 0, 0) = -1 EINVAL (Invalid argument)',
     "listmount", ({"size": 24, "mnt_id": LSMT_ROOT, "param": 0}, None, 0, 0)),
    # -- clone3: CLONE_NEWNS 0x20000, PIDFD 0x1000, CHILD_SETTID 0x1000000, PARENT_SETTID
    #    0x100000, CLEAR_SIGHAND 1<<32, INTO_CGROUP 1<<33, AUTOREAP 1<<34, NNP 1<<35,
    #    PIDFD_AUTOKILL 1<<36, EMPTY_MNTNS 1<<37; SIGCHLD 17, SIGUSR1 10
    ("clone3-plain", "v5.3 tests/clone3.c",
     'clone3({flags=0, exit_signal=0, stack=NULL, stack_size=0}, 64) = -1 EINVAL (Invalid argument)',
     "clone3", ({"flags": 0, "exit_signal": 0, "stack": None, "stack_size": 0}, 64)),
    ("clone3-unread-tail", "v5.3 tests/clone3.c (`, ???`)",
     'clone3({flags=0, exit_signal=0, stack=NULL, stack_size=0, ???}, 72) = -1 EFAULT (Bad address)',
     "clone3", ({"flags": 0, "exit_signal": 0, "stack": None, "stack_size": 0}, 72)),
    ("clone3-pidfd-out", "v5.3 tests/clone3.c (child_tid=[N], ` => {pidfd=[N], parent_tid=[N]}`)",
     'clone3({flags=CLONE_NEWNS|CLONE_PIDFD|CLONE_CHILD_SETTID|CLONE_PARENT_SETTID, '
     'pidfd=0x7ffd1000, child_tid=[0], parent_tid=0x7ffd1008, exit_signal=SIGUSR1, stack=NULL, '
     'stack_size=0} => {pidfd=[3], parent_tid=[123]}, 88) = 123',
     "clone3", ({"flags": 0x1121000, "pidfd": 0x7ffd1000, "child_tid": None,
                 "parent_tid": 0x7ffd1008, "exit_signal": 10, "stack": None, "stack_size": 0}, 88)),
    ("clone3-head-flags", "HEAD tests/clone3.c (7.1 CLONE_* names)",
     'clone3({flags=CLONE_NEWTIME|CLONE_CLEAR_SIGHAND|CLONE_INTO_CGROUP|CLONE_AUTOREAP|CLONE_NNP'
     '|CLONE_PIDFD_AUTOKILL|CLONE_EMPTY_MNTNS, exit_signal=SIGCHLD, stack=NULL, stack_size=0, '
     'cgroup=0}, 88) = -1 EINVAL (Invalid argument)',
     "clone3", ({"flags": 0x80 | (0x3f << 32), "exit_signal": 17, "stack": None,
                 "stack_size": 0, "cgroup": 0}, 88)),
    ("clone3-Xverbose", "tests/clone3-Xverbose.c",
     'clone3({flags=0x20000 /* CLONE_NEWNS */, exit_signal=17 /* SIGCHLD */, stack=NULL, '
     'stack_size=0}, 64) = 42',
     "clone3", ({"flags": 0x20000, "exit_signal": 17, "stack": None, "stack_size": 0}, 64)),
    ("clone3-N", "v6.16 -N/--arg-names (src/clone.c tprints_arg_name)",
     'clone3(cl_args={flags=CLONE_NEWNS, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, '
     'size=88) = 42',
     "clone3", ({"flags": 0x20000, "exit_signal": 17, "stack": None, "stack_size": 0}, 88)),
    # -- strace 6.1 (this machine) prints statmount/listmount raw; NULL pointers and
    #    numbers are recoverable
    ("raw-statmount-null", "strace 6.1 on this machine: statmount(NULL, NULL, 0, 0)",
     'syscall_0x1c9(0, 0, 0, 0, 0x5613f108f130, 0x6) = -1 EFAULT (Bad address)',
     "statmount", (None, None, 0, 0)),
    ("raw-fsmount", "strace < 5.2 style raw fsmount (432 = 0x1b0)",
     'syscall_0x1b0(0x3, 0x1, 0x2000ff, 0, 0, 0) = -1 EBADF (Bad file descriptor)',
     "fsmount", (3, 0x1, 0x2000ff)),
    ("raw-move_mount-fdcwd", "strace < 5.2 style raw move_mount (429 = 0x1ad), NULL paths",
     'syscall_0x1ad(0xffffff9c, 0, 0x3, 0, 0x4, 0) = -1 EFAULT (Bad address)',
     "move_mount", (-100, None, 3, None, 0x4)),
]


@pytest.mark.parametrize("source,line,name,args", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_spelling(source, line, name, args):
    """If strace prints the call so (source: the case's strace test), then the Step is the
    call the uapi text means."""
    prog = parse_text(line)
    assert [(s.name, s.args) for s in prog.steps] == [(name, args)]


UNRECOVERABLE = [
    ("raw-statmount-pointer", "strace 6.1 on this machine: statmount(&req, buf, 4096, 0)",
     'syscall_0x1c9(0x7f7aadc21e70, 0x5613f11a7c30, 0x1000, 0, 0x5613f108f130, 0x6) = 0'),
    ("raw-listmount-pointer", "strace 6.1 on this machine: listmount(&req, ids, 16, 0)",
     'syscall_0x1ca(0x7f7aadc21bd0, 0x7f7aadc6e5b0, 0x10, 0, 0x41, 0x6) = 0x10'),
    ("statmount-address", "v6.8 tests/statmount.c (`%p` for an unreadable req)",
     'statmount(0x7ffd12345678, NULL, 0, 0) = -1 EFAULT (Bad address)'),
    ("clone3-address", "v5.3 tests/clone3.c (`clone3(%p, %zu)`)",
     'clone3(0x7ffd12345678, 64) = -1 EFAULT (Bad address)'),
]


@pytest.mark.parametrize("source,line", [c[1:] for c in UNRECOVERABLE],
                         ids=[c[0] for c in UNRECOVERABLE])
def test_unrecoverable_is_a_note(source, line):
    """If strace printed the address of an input struct instead of its contents (source: the
    case), then the call is one note and no Step (never exit 2 or 3)."""
    prog = parse_text(line)
    assert prog.steps == [] and len(prog.notes) == 1


def test_raw_result_in_hex():
    """If strace 6.1 prints an undecoded call's result in hex (`= 0x10`, this machine), then
    the result is that number."""
    prog = parse_text('syscall_0x1ca(0, 0x7f7aadc6e5b0, 0x10, 0, 0x41, 0x6) = 0x10')
    assert prog.steps[0].name == "listmount" and prog.steps[0].result.ret == 16
