"""The escape suite: traces that try to reach the host through the live backend.

Each vector runs as a whole trace through `diff`'s runner (model vs. live kernel in
lockstep) and through `fuzz`'s runner, and must end refused — at the line that would have
touched the host, before that syscall runs — with the host's mount table, a canary
directory tree and the sysctls a trace could write exactly as they were. Destructive vectors
(sysrq, a write to a disk) are never executed for real: what is asserted is that the refusal
comes at the open, so the write is never reached.

The vectors are those of the security issue: a host pid's /proc/<pid>/ns/mnt and
/proc/<pid>/root, writes to global sysctls and /proc/sysrq-trigger through a fresh proc
mount, devtmpfs and block-device mounts, the namespace's hidden root (the host's rootfs).
"""

from __future__ import annotations

import ctypes
import os
import pathlib
import shutil
import tempfile

import pytest

from mountsim.backends import _sys, guard, seccomp
from mountsim.backends.live import LiveBackend
from mountsim.backends.model import ModelBackend
from mountsim.cli import main
from mountsim.commands.fuzz import run_one
from mountsim.differential import run_pair
from mountsim.trace.parse import parse_text

pytestmark = pytest.mark.live

SYSCTLS = [s for s in ("/proc/sys/fs/mount-max", "/proc/sys/kernel/sysrq",
                       "/proc/sys/kernel/hostname", "/proc/sys/kernel/core_pattern")
           if os.path.exists(s)]


def _host_state(canary: pathlib.Path) -> tuple:
    """What a successful escape would change: the mount table, the canary tree (names,
    modes, owners), sysctls."""
    with open("/proc/self/mountinfo") as f:
        table = f.read()
    tree = sorted((str(p.relative_to(canary)), *_owner_mode(p))
                  for p in [canary, *canary.rglob("*")])
    return table, tree, tuple(pathlib.Path(s).read_text() for s in SYSCTLS)


def _owner_mode(p: pathlib.Path) -> tuple[int, int, int]:
    st = p.lstat()
    return st.st_mode, st.st_uid, st.st_gid


@pytest.fixture(params=["rootfs", "tmpfs"])
def canary(request):
    """A host directory on the host's rootfs (/tmp here) or on a host tmpfs (/dev/shm),
    which passes the guard's "memory filesystem" test and so must be caught by name."""
    base = None if request.param == "rootfs" else "/dev/shm"
    if base is not None and not os.path.isdir(base):
        pytest.skip("no /dev/shm on this host")
    d = pathlib.Path(tempfile.mkdtemp(prefix="mountsim-canary-", dir=base))
    (d / "keep").mkdir()
    (d / "file").write_text("x")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _trace(body: str, **subst) -> str:
    head = "# kernel: 6.18\n# main-pid: {pid}\n# start-dirs: /d /dev2 /mnt\n"
    return (head + body).format(pid=os.getpid(), **subst)


# Each vector: the trace (with {pid} a real host pid, {canary} a host directory), and the
# 1-based call (its line, counted from the first call) that must be refused.
VECTORS = {
    "setns-host-pid": ("""mount("proc", "/d", "proc", 0, NULL) = 0
openat(AT_FDCWD, "/d/{pid}/ns/mnt", O_RDONLY) = 3
setns(3, CLONE_NEWNS) = 0
mount("tmpfs", "{canary}/keep", "tmpfs", 0, NULL) = 0
""", 2),
    "proc-root-mkdir": ("""mount("proc", "/d", "proc", 0, NULL) = 0
mkdir("/d/{pid}/root{canary}/created", 0755) = 0
""", 2),
    "sysctl-write": ("""mount("proc", "/d", "proc", 0, NULL) = 0
openat(AT_FDCWD, "/d/sys/fs/mount-max", O_WRONLY) = 3
write(3, "7", 1) = 1
""", 2),
    "sysrq-trigger": ("""mount("proc", "/d", "proc", 0, NULL) = 0
openat(AT_FDCWD, "/d/sysrq-trigger", O_WRONLY) = 3
write(3, "b", 1) = 1
""", 2),
    "sysctl-create-trunc": ("""mount("proc", "/d", "proc", 0, NULL) = 0
openat(AT_FDCWD, "/d/sys/kernel/hostname", O_RDWR|O_TRUNC) = 3
""", 2),
    "devtmpfs": ("""mount("devtmpfs", "/dev2", "devtmpfs", 0, NULL) = 0
openat(AT_FDCWD, "/dev2/vda", O_RDWR) = 3
""", 1),
    "block-device-mount": ("""mount("/dev/vda", "/mnt", "ext4", 0, NULL) = 0
""", 1),
    "sysfs": ("""mount("sysfs", "/mnt", "sysfs", 0, NULL) = 0
""", 1),
    "fsopen-devtmpfs": ("""fsopen("devtmpfs", 0) = 3
""", 1),
    "hidden-rootfs": ("""mount("proc", "/d", "proc", 0, NULL) = 0
openat(AT_FDCWD, "/d/self/ns/mnt", O_RDONLY) = 3
umount2("/", MNT_DETACH) = 0
setns(3, CLONE_NEWNS) = 0
mkdir("/escaped", 0755) = 0
""", 5),
    # symlinks: bodies are not resolved when made, so each later walk through one is checked
    "symlink-to-host-pid": ("""mount("proc", "/d", "proc", 0, NULL) = 0
symlink("/d/{pid}", "/mnt/l") = 0
mkdir("/mnt/l/root{canary}/created", 0755) = 0
""", 3),
    "dangling-symlink-creat": ("""mount("proc", "/d", "proc", 0, NULL) = 0
openat(AT_FDCWD, "/d/self/ns/mnt", O_RDONLY) = 3
symlink("/escaped", "/mnt/l") = 0
openat(AT_FDCWD, "/mnt", O_PATH) = 4
umount2("/", MNT_DETACH) = 0
setns(3, CLONE_NEWNS) = 0
openat(4, "l", O_WRONLY|O_CREAT, 0644) = 5
""", 7),
    # a mode, owner or group changes only inside the sandbox's own memory filesystems
    "chmod-host-pid-root": ("""mount("proc", "/d", "proc", 0, NULL) = 0
chmod("/d/{pid}/root{canary}/keep", 0700) = 0
""", 2),
    "chown-via-symlink-to-host-pid": ("""mount("proc", "/d", "proc", 0, NULL) = 0
symlink("/d/{pid}/root{canary}", "/mnt/l") = 0
fchownat(AT_FDCWD, "/mnt/l/file", 1000, 1000, 0) = 0
""", 3),
    "chmod-proc-entry": ("""mount("proc", "/d", "proc", 0, NULL) = 0
chmod("/d/sysvipc", 0777) = 0
""", 2),
    "lchown-hidden-rootfs": ("""mount("proc", "/d", "proc", 0, NULL) = 0
openat(AT_FDCWD, "/d/self/ns/mnt", O_RDONLY) = 3
umount2("/", MNT_DETACH) = 0
setns(3, CLONE_NEWNS) = 0
lchown("/", 1000, 1000) = 0
""", 5),
    "fchmod-hidden-rootfs-fd": ("""mount("proc", "/d", "proc", 0, NULL) = 0
openat(AT_FDCWD, "/d/self/ns/mnt", O_RDONLY) = 3
umount2("/", MNT_DETACH) = 0
setns(3, CLONE_NEWNS) = 0
openat(AT_FDCWD, "/", O_RDONLY|O_DIRECTORY) = 4
fchmod(4, 0700) = 0
""", 6),
    "rename-into-rootfs": ("""mount("proc", "/d", "proc", 0, NULL) = 0
openat(AT_FDCWD, "/d/self/ns/mnt", O_RDONLY) = 3
mkdir("/mnt/x", 0755) = 0
openat(AT_FDCWD, "/mnt", O_PATH) = 4
umount2("/", MNT_DETACH) = 0
setns(3, CLONE_NEWNS) = 0
renameat(4, "x", AT_FDCWD, "/escaped") = 0
""", 7),
}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_vector_refused_by_diff_runner(name, live, canary):
    """If a trace tries to reach the host, then the sandbox refuses the step that would,
    before it runs, names its line, and the host is unchanged (source: the security issue's
    vectors; the kernel facts in mountsim/backends/guard.py)."""
    body, nth = VECTORS[name]
    program = parse_text(_trace(body, canary=canary), "<escape>")
    before = _host_state(canary)
    session = live.start(program)
    try:
        div = run_pair(program, ModelBackend().start(program), session)
    finally:
        session.close()
    assert div is not None and div.refused is not None, div and div.describe()
    assert div.index == nth - 1, div.describe()
    assert div.refused.startswith(f"<escape>:{program.steps[nth - 1].line}: refused: ")
    assert _host_state(canary) == before


@pytest.mark.parametrize("name", ["setns-host-pid", "sysctl-write", "devtmpfs"])
def test_vector_refused_by_fuzz_runner(name, live, canary):
    """If the campaign's runner meets an escaping program, then it is refused there too and
    reported as not comparable rather than as a divergence (source: the security issue)."""
    body, nth = VECTORS[name]
    program = parse_text(_trace(body, canary=canary), "<escape>")
    before = _host_state(canary)
    div = run_one(program, live)
    assert div is not None and div.refused is not None and div.index == nth - 1
    assert _host_state(canary) == before


def test_issue_reproduction_through_cli(live, canary, tmp_path, capsys):
    """If `mountsim diff` is given the issue's five-line trace with a real host pid, then it
    prints the refused line and why, exits 4 (not comparable), and the host's table is
    unchanged (source: the security issue's first reproduction)."""
    probe = canary / "probe"
    probe.mkdir()
    f = tmp_path / "probe.trace"
    f.write_text(f"""# kernel: 6.18
# main-pid: {os.getpid()}
mkdir("/proc", 0755) = 0
mount("proc", "/proc", "proc", 0, NULL) = 0
openat(AT_FDCWD, "/proc/{os.getpid()}/ns/mnt", O_RDONLY) = 3
setns(3, CLONE_NEWNS) = 0
mount("tmpfs", "{probe}", "tmpfs", 0, NULL) = 0
""")
    before = _host_state(canary)
    assert main(["diff", str(f)]) == 4
    out = capsys.readouterr().out
    assert f"{f}:5: refused: /proc/{os.getpid()}/ns/mnt: /proc/{os.getpid()} is not a process" in out
    assert _host_state(canary) == before


def test_sandbox_processes_run_under_seccomp(live):
    """If a sandbox process runs, then it has a seccomp filter (proc(5): Seccomp 2 = filter
    mode) and lives in a pid namespace of its own (NSpid has two entries)."""
    program = parse_text("# main-pid: 1\nmkdir(\"/x\", 0755) = 0\n")
    with live.start(program) as s:
        host_pid = s.procs[1].host_pid
        status = pathlib.Path(f"/proc/{host_pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["Seccomp"].strip() == "2"
    assert len(fields["NSpid"].split()) == 2


def test_the_zygote_runs_under_the_filter_every_sandbox_inherits(live):
    """If the backend's zygote is ready, then it already runs under the seccomp filter
    (installed once there, before any sandbox), so a sandbox process holds exactly that one
    filter, inherited (proc(5): Seccomp_filters), not one more of its own."""
    def status(pid):
        text = pathlib.Path(f"/proc/{pid}/status").read_text()
        return dict((k, v.strip()) for k, v in (line.split(":", 1) for line in text.splitlines()))

    program = parse_text("# main-pid: 1\nmkdir(\"/x\", 0755) = 0\n")
    with live.start(program) as s:
        main = status(s.procs[1].host_pid)
    zygote = status(live.zygote().pid)
    assert (zygote["Seccomp"], zygote["Seccomp_filters"]) == ("2", "1")
    assert (main["Seccomp"], main["Seccomp_filters"]) == ("2", "1")


def _in_filtered_child(calls) -> list[int]:
    """Run *calls* (name, nr, args) in a forked child under the sandbox filter; errnos."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        out = [seccomp.install()]
        for _, nr, args in calls:
            ctypes.set_errno(0)
            ret = _sys.libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
            out.append(ctypes.get_errno() if ret == -1 else 0)
        os.write(w, repr(out).encode())
        os._exit(0)
    os.close(w)
    data = os.read(r, 4096)
    os.close(r)
    os.waitpid(pid, 0)
    return eval(data)  # noqa: S307 - our own child's repr of a list of ints


# Invalid arguments on purpose: without the filter each returns its own errno (shown), never
# acting; with it, EPERM before the handler runs.
DANGEROUS = [
    ("reboot", 169, (0, 0, 0, 0)),                  # bad magic: EINVAL as root
    ("kexec_load", 246, (0, 0, 0, 0xFFFF)),         # bad flags: EINVAL
    ("init_module", 175, (0, 0, 0)),                # NULL image: EFAULT/ENOEXEC
    ("finit_module", 313, (-1, 0, 0)),              # bad fd: EBADF
    ("process_vm_writev", 311, (0x7FFFFFFF, 0, 1, 0, 1, 0)),  # NULL iovec: EFAULT
    ("ptrace", 101, (0x4206, 0x7FFFFFFF, 0, 0)),    # PTRACE_SEIZE nobody: ESRCH
    ("execve", 59, (0, 0, 0)),                      # NULL path: EFAULT
    ("bpf", 321, (0xFFFF, 0, 0)),                   # bad cmd: EINVAL
    ("mknodat", 259, (-100, 0, 0, 0)),              # NULL path: EFAULT
]


def test_seccomp_blocks_what_the_backend_never_issues():
    """If layer 2 ever let a dangerous call through, then seccomp still answers EPERM before
    the kernel's handler runs — while the same invalid calls without the filter give their
    own errnos (seccomp(2): SECCOMP_RET_ERRNO); allowed calls still work."""
    if _sys.ARCH != "x86_64" or os.geteuid() != 0:
        pytest.skip("x86_64 root only")
    unfiltered = []
    for _, nr, args in DANGEROUS:
        ctypes.set_errno(0)
        ret = _sys.libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
        unfiltered.append(ctypes.get_errno() if ret == -1 else 0)
    assert all(e not in (0, 1) for e in unfiltered), unfiltered
    got = _in_filtered_child(DANGEROUS + [("getpid", 39, ())])
    assert got[0] == 0, "seccomp.install() failed"
    assert got[1:-1] == [1] * len(DANGEROUS)
    assert got[-1] == 0


def test_process_limit(live):
    """If a trace forks more than guard.MAX_PROCS processes, then the fork past the limit is
    refused (not run) and the run is not comparable."""
    forks = "".join(f"fork() = {100 + i}\n" for i in range(guard.MAX_PROCS + 1))
    program = parse_text("# main-pid: 1\n" + forks, "<forks>")
    session = live.start(program)
    try:
        div = run_pair(program, ModelBackend().start(program), session)
    finally:
        session.close()
    assert div is not None and div.refused is not None
    assert div.index == guard.MAX_PROCS - 1       # the main process counts as one
    assert "processes" in div.refused


def test_mount_limit(monkeypatch):
    """If a namespace of the sandbox grows past guard.MAX_MOUNTS mounts, then the run stops
    there, refused (limit lowered to 5 here; listmount(2) counts the caller's namespace)."""
    monkeypatch.setattr(guard, "MAX_MOUNTS", 5)
    backend = LiveBackend()                         # its zygote forks with the lowered limit
    if backend.unavailable():
        pytest.skip(backend.unavailable())
    mounts = "".join('mount("tmpfs", "/d", "tmpfs", 0, NULL) = 0\n' for _ in range(8))
    program = parse_text("# main-pid: 1\n# start-dirs: /d\n" + mounts, "<mounts>")
    try:
        with backend.start(program) as session:
            div = run_pair(program, ModelBackend().start(program), session)
    finally:
        backend.close()
    assert div is not None and div.refused is not None and "mounts" in div.refused
    # the sandbox's namespace holds "/" plus one per mount: the 5th tmpfs makes 6 > 5
    assert div.index == 4


@pytest.mark.parametrize("ns", ["mnt", "pid"])
def test_guard_refuses_setns_into_host_namespace(ns):
    """If a step's fd is the host's own mount or pid namespace, then the guard refuses
    setns() on it (the host's namespace inodes are noted before the sandbox is entered;
    the live backend's zygote reads them in the host's namespaces)."""
    facts = guard.gather_facts(guard.host_facts())
    fd = os.open(f"/proc/self/ns/{ns}", os.O_RDONLY)
    try:
        assert guard.path_refusal(facts, "setns", [fd, 0]) is not None
    finally:
        os.close(fd)
