"""statmount() and listmount() in 7.x: STATMOUNT_BY_FD (7.0), the internal-mount check
(7.0-rc2), the EPERM permission check (7.0) and the small-buffer check (7.3).

Expected values come from tools/testing/selftests/filesystems/statmount/statmount_test.c
and fs/namespace.c as shipped in linux-source-7.3 (7.2 where it differs), and the 7.0 pull
request texts in the seeds.
"""

from __future__ import annotations

import pytest

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.syscalls.stat import KernelOops
from mountsim.trace.parse import parse_text
from mountsim.trace.program import Program
from mountsim.trace.write import format_step
from tests.helpers import MS_BIND, Runner

AT_FDCWD = uapi.AT_FDCWD
ROOT_POINT = uapi.STATMOUNT_MNT_ROOT | uapi.STATMOUNT_MNT_POINT
BY_FD = uapi.STATMOUNT_BY_FD


def run(kernel: str) -> Runner:
    r = Runner(ModelBackend(kernel=kernel).start(Program(start_dirs=["/s", "/proc"])))
    assert r.call("unshare", uapi.CLONE_NEWNS) == 0
    return r


def by_fd(r: Runner, fd: int, mask: int, bufsize: int = 4096, size: int = 32, **kw):
    """statmount.h:statmount(0, 0, fd, mask, buf, bufsize, STATMOUNT_BY_FD)."""
    req = {"size": size, "mnt_fd": fd, "param": mask, **kw}
    ret = r.call("statmount", req, None, bufsize, BY_FD)
    return ret if ret != 0 else r.s.k.last_out


def by_id(r: Runner, mnt_id: int, mask: int, bufsize: int = 4096, **kw):
    req = {"size": 32, "mnt_id": mnt_id, "param": mask, **kw}
    ret = r.call("statmount", req, None, bufsize, 0)
    return ret if ret != 0 else r.s.k.last_out


def bound_subdir(r: Runner, name: str) -> int:
    """tmpfs on /s, /s/<name> bound on itself, opened O_PATH (the selftests' set-up)."""
    assert r.call("mount", "statmount.test", "/s", "tmpfs", 0, None) == 0
    assert r.call("mkdir", f"/s/{name}", 0o755) == 0
    assert r.call("mount", f"/s/{name}", f"/s/{name}", None, MS_BIND, None) == 0
    fd = r.call("open", f"/s/{name}", uapi.O_PATH)
    assert isinstance(fd, int)
    return fd


class TestStatmountByFd:
    def test_by_fd_outside_and_inside_root(self):
        """If the fd's mount is outside the caller's root, then statmount by fd succeeds
        with mnt_root but without STATMOUNT_MNT_POINT; back at the old root, both are set
        (source: statmount_test.c, test_statmount_by_fd())."""
        r = run("7.0")
        fd = bound_subdir(r, "test")
        assert r.call("mkdir", "/s/chroot", 0o755) == 0
        assert r.call("chroot", "/s/chroot") == 0
        sm = by_fd(r, fd, ROOT_POINT)
        assert sm["mask"] & uapi.STATMOUNT_MNT_ROOT and not sm["mask"] & uapi.STATMOUNT_MNT_POINT
        assert sm["mnt_root"] == "/test"
        assert r.call("chroot", ".") == 0
        sm = by_fd(r, fd, ROOT_POINT)
        assert sm["mnt_point"] == "/s/test" and sm["mnt_root"] == "/test"

    def test_by_fd_unmounted(self):
        """If the fd's mount was lazily unmounted, then statmount by fd still answers, and
        STATMOUNT_MNT_POINT and STATMOUNT_MNT_NS_ID leave the mask (source:
        statmount_test.c, test_statmount_by_fd_unmounted(); do_statmount(): "This can happen
        if the mount is unmounted with MNT_DETACH")."""
        r = run("7.0")
        fd = bound_subdir(r, "test.unmounted")
        assert r.call("umount2", "/s", uapi.MNT_DETACH) == 0
        sm = by_fd(r, fd, ROOT_POINT | uapi.STATMOUNT_MNT_NS_ID | uapi.STATMOUNT_MNT_BASIC)
        assert sm["mask"] == uapi.STATMOUNT_MNT_ROOT | uapi.STATMOUNT_MNT_BASIC
        assert sm["mnt_root"] == "/test.unmounted"

    def test_no_capability_check(self):
        """If an unprivileged caller chrooted away from a mount asks by id, then EPERM; by
        an fd on that mount, it is answered (source: the 7.0 pull "The capability check is
        skipped for STATMOUNT_BY_FD"; do_statmount(): is_path_reachable()/ns_capable only
        when !mnt_file)."""
        r = run("7.0")
        fd = bound_subdir(r, "test")
        mnt_id = by_fd(r, fd, uapi.STATMOUNT_MNT_BASIC)["mnt_id"]
        assert r.call("mkdir", "/s/chroot", 0o755) == 0
        assert r.call("chroot", "/s/chroot") == 0
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        assert by_id(r, mnt_id, uapi.STATMOUNT_MNT_ROOT) == "EPERM"
        assert by_fd(r, fd, uapi.STATMOUNT_MNT_ROOT)["mnt_root"] == "/test"

    def test_request_checks(self):
        """If STATMOUNT_BY_FD comes with mnt_id or mnt_ns_id, then EINVAL; an fd that is not
        open, EBADF; another flag bit, EINVAL (source: fs/namespace.c copy_mnt_id_req(),
        SYSCALL_DEFINE4(statmount): flags & ~STATMOUNT_BY_FD, fget_raw())."""
        r = run("7.0")
        fd = bound_subdir(r, "test")
        assert by_fd(r, fd, 2, mnt_id=uapi.LSMT_ROOT) == "EINVAL"
        assert by_fd(r, fd, 2, mnt_ns_id=1) == "EINVAL"
        assert by_fd(r, 77, 2) == "EBADF"
        assert r.call("statmount", {"size": 32, "mnt_fd": fd, "param": 2}, None, 4096, 2) == "EINVAL"

    @pytest.mark.parametrize("kernel", ["6.18"])
    def test_unknown_before_7_0(self, kernel):
        """If the kernel predates 7.0, then STATMOUNT_BY_FD is an unknown flag: EINVAL (source:
        the 7.0 pull "statmount: accept fd as a parameter"; 6.18 SYSCALL statmount: any flag
        is EINVAL)."""
        r = run(kernel)
        fd = bound_subdir(r, "test")
        assert by_fd(r, fd, 2) == "EINVAL"

    def test_internal_mount(self):
        """If the fd lives on an internal mount (a namespace file on nsfs), then EINVAL from
        7.0-rc2 on; 7.0-rc1 dereferences MNT_NS_INTERNAL (source: seed 002, "statmount: Fix
        the null-ptr-deref in do_statmount()", 81f16c9778d7: "its mnt_ns will be
        MNT_NS_INTERNAL, which is defined as ERR_PTR(-EINVAL)")."""
        r = run("7.0")
        assert r.call("mount", "proc", "/proc", "proc", 0, None) == 0
        ns_fd = r.call("open", "/proc/self/ns/mnt", uapi.O_RDONLY)
        assert by_fd(r, ns_fd, 2) == "EINVAL"
        rc1 = run("7.0-rc1")
        assert rc1.call("mount", "proc", "/proc", "proc", 0, None) == 0
        ns_fd = rc1.call("open", "/proc/self/ns/mnt", uapi.O_RDONLY)
        with pytest.raises(KernelOops):
            by_fd(rc1, ns_fd, 2)

    def test_detached_tree_has_no_root_to_judge_by(self):
        """If the fd is a fresh fsmount() tree, then its anonymous namespace has no mount on
        its root and grab_requested_root() answers ENOENT (source: fs/namespace.c (7.3)
        do_statmount(): `if (ns) grab_requested_root(ns, ...)`; grab_requested_root(): no
        child of ns->root -> -ENOENT)."""
        r = run("7.0")
        fs_fd = r.call("fsopen", "tmpfs", 0)
        assert r.call("fsconfig", fs_fd, uapi.FSCONFIG_CMD_CREATE, None, None, 0) == 0
        mnt_fd = r.call("fsmount", fs_fd, 0, 0)
        assert by_fd(r, mnt_fd, uapi.STATMOUNT_MNT_BASIC) == "ENOENT"


class TestPermissionErrno:
    def _foreign(self, kernel: str):
        r = run(kernel)
        child = r.fork()
        assert r.call("unshare", uapi.CLONE_NEWNS, pid=child) == 0
        ns = r.s.k.tasks[child].mnt_ns
        root_id = list(ns.mounts)[-1].unique_id
        sm = by_id(r, root_id, uapi.STATMOUNT_MNT_NS_ID, mnt_ns_id=ns.seq)
        nsid = sm["mnt_ns_id"]
        assert r.call("setresuid", 1000, 1000, 1000) == 0
        return r, root_id, nsid

    @pytest.mark.parametrize("kernel,expect", [("6.18", "ENOENT"), ("7.0-rc1", "EPERM"),
                                               ("7.3", "EPERM")])
    def test_statmount_other_namespace_not_capable(self, kernel, expect):
        """If an unprivileged caller asks statmount about another namespace by id, then
        ENOENT before 7.0 and EPERM from 7.0 on (source: the 7.0 pull, "statmount: permission
        check should return EPERM"; SYSCALL_DEFINE4(statmount) (7.3): -EPERM)."""
        r, root_id, nsid = self._foreign(kernel)
        assert by_id(r, root_id, 2, mnt_ns_id=nsid) == expect

    @pytest.mark.parametrize("kernel", ["6.18", "7.3"])
    def test_listmount_keeps_enoent(self, kernel):
        """If the same caller asks listmount, then ENOENT in every version (source:
        SYSCALL_DEFINE4(listmount) (7.3): `return -ENOENT`)."""
        r, _, nsid = self._foreign(kernel)
        req = {"size": 32, "mnt_id": uapi.LSMT_ROOT, "mnt_ns_id": nsid}
        assert r.call("listmount", req, None, 10, 0) == "ENOENT"


class TestSmallBuffer:
    @pytest.mark.parametrize("kernel,expect", [("7.2", 0), ("7.3", "EOVERFLOW")])
    def test_string_request_in_a_short_buffer(self, kernel, expect):
        """If a string is asked for (one that emits nothing: no fs subtype) and the buffer is
        shorter than struct statmount, then 7.2 answers and 7.3 is EOVERFLOW (source:
        prepare_kstatmount(): 7.2 `bufsize == sizeof(ks->sm)`, 7.3 `bufsize <= sizeof(ks->sm)`
        "Even the reserved empty string needs room past the fixed part")."""
        r = run(kernel)
        root_id = list(r.s.k.tasks[1].mnt_ns.mounts)[-1].unique_id
        ret = by_id(r, root_id, uapi.STATMOUNT_FS_SUBTYPE, bufsize=100)
        assert (ret if isinstance(ret, str) else 0) == expect


class TestTraceSyntax:
    def test_mnt_fd_round_trip(self):
        """If a trace names the union field mnt_fd and the flag STATMOUNT_BY_FD, then it
        parses, reaches the model as that fd, and is written back the same way (source:
        include/uapi/linux/mount.h (7.3) struct mnt_id_req: union { mnt_ns_fd; mnt_fd; })."""
        line = ('statmount({size=32, mnt_fd=3, param=STATMOUNT_MNT_ROOT}, NULL, 4096, '
                'STATMOUNT_BY_FD) = -1 EBADF (Bad file descriptor)')
        prog = parse_text("# kernel: 7.0\n# main-pid: 1\n" + line + "\n")
        step = prog.steps[0]
        assert step.args[0]["mnt_fd"] == 3 and step.args[3] == BY_FD
        assert format_step(step, main_pid=1, result=step.result).startswith(line.split(" = ")[0])


class TestListmountLastIdMax:
    @pytest.mark.parametrize("kernel,expect", [("6.18", 2), ("7.2", 2), ("7.3", 0)])
    def test_last_id_u64_max(self, kernel, expect):
        """If the last id seen is U64_MAX, then up to 7.2 last_mnt_id + 1 wraps to 0 and the
        list starts over; 7.3 lists nothing (source: fs/namespace.c do_listmount(): 7.3
        `else if (last_mnt_id == U64_MAX) first = NULL; /* nothing comes after the largest
        id */`; 6.18 observed: models/listmount-last-id-max.trace, mountsim diff)."""
        r = run(kernel)
        assert r.tmpfs("/s") == 0
        req = {"size": 24, "mnt_id": uapi.LSMT_ROOT, "param": (1 << 64) - 1}
        assert r.call("listmount", req, None, 10, 0) == expect
