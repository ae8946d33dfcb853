"""The VM backend: real Debian 7.x kernels in a QEMU guest, against the model.

Corpus traces that start from the model host run on the model (at the guest kernel's
Semantics row) and in the guest, in lockstep (differential.run_pair); the backend's own
guarantees are checked too: which build ran, the tmpfs `inode64` profile, a hung guest
killed with a clear error, and no qemu process left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.differential import run_pair
from mountsim.trace.parse import parse_file
from mountsim.trace.program import Program, Step
from tests.helpers import qemu_alive

pytestmark = pytest.mark.vm

MODELS = Path(__file__).resolve().parents[2] / "models"
# Traces from the model host (no start-mountinfo) whose features are the same on 6.18 and
# 7.x: propagation (sharedsubtree.rst), namespaces (mount_namespaces(7)), umount, userns.
CORPUS = ["demo", "bind-shared-to-shared", "move-slave-to-shared", "mntns-slave-sh2",
          "umount-propagation-5f", "rbind-prunes-unbindable-5c", "userns-id-maps",
          "clone-namespace-5g", "remount-ro-busy"]


@pytest.mark.parametrize("series", ["7.1", "7.0"])
@pytest.mark.parametrize("name", CORPUS)
def test_corpus_trace_agrees_with_vm_kernel(vm_backend, series, name):
    """If a corpus trace gets a different result or final table on the model (at the
    guest's row) than on the real 7.x kernel, then the model is wrong for that version
    (source of truth: Debian's kernel booted in the guest)."""
    vm = vm_backend(series)
    program = parse_file(str(MODELS / f"{name}.trace"))
    assert not program.start_mountinfo
    _agrees_with_guest(vm, program)


@pytest.mark.parametrize("series", ["7.1", "7.0"])
def test_release_selects_row(vm_backend, series):
    """If the guest runs Debian's <series>.x cloud build, then `uname -r` says so and
    selects the model's <series> row (source: versions.row_for_release)."""
    vm = vm_backend(series)
    assert vm.release.startswith(series + ".") and vm.release.endswith("+deb13-cloud-amd64")
    assert vm.row == series


def test_fresh_sandbox_shows_tmpfs_inode64(vm_backend):
    """If a program starts on Debian's 7.1 cloud build, then its root tmpfs shows
    `inode64` (CONFIG_TMPFS_INODE64=y), exactly as the model's debian-cloud profile
    prints it (source: the real kernel in the guest)."""
    vm = vm_backend("7.1")
    program = Program(start_dirs=["/a"])
    s = vm.start(program)
    try:
        for data in (None, "inode32", "size=1m,inode32", "inode32,inode64"):
            s.execute(Step(1, "mount", ("tmpfs", "/a", "tmpfs", 0, data)))
        real = s.mountinfo(1)
    finally:
        s.close()
    m = ModelBackend("7.1").start(program)
    for data in (None, "inode32", "size=1m,inode32", "inode32,inode64"):
        m.execute(Step(1, "mount", ("tmpfs", "/a", "tmpfs", 0, data)))
    opts = [ln.rsplit(" ", 1)[1] for ln in real.splitlines()]
    assert opts == ["rw,inode64", "rw,inode64", "rw,inode32", "rw,size=1024k,inode32",
                    "rw,inode64"]
    assert opts == [ln.rsplit(" ", 1)[1] for ln in m.mountinfo(1).splitlines()]


def test_hung_guest_is_killed_with_a_clear_error(vm_backend):
    """If the guest does not answer within the timeout, then the call raises VmError
    naming the timeout, the qemu process is gone, and the next start() boots afresh (the
    session's guest is replaced: later tests run on the new one)."""
    from mountsim.backends.vm import VmError
    vm = vm_backend("7.1")
    s = vm.start(Program())
    pid, boots = vm.vm.pid, vm.boots
    s.timeout = 1e-6                              # no guest answers that fast: a "hang"
    with pytest.raises(VmError, match=r"did not answer execute within .*qemu \(pid \d+\) killed"):
        s.execute(Step(1, "umask", (0o22,)))
    assert not qemu_alive(pid) and not vm.vm.alive()
    s.close()                                     # a session of a dead guest closes quietly
    with vm.start(Program()) as again:
        assert again.pids() == [1]
    assert vm.boots == boots + 1 and vm.vm.pid != pid


def test_unknown_series_is_unavailable_without_booting():
    """If no Debian build of a series is known, then unavailable() says so in one line."""
    from mountsim.backends.vm import VmBackend
    why = VmBackend("6.1").unavailable()
    assert why and "\n" not in why and "6.1" in why


def test_a_step_runs_in_the_guest_not_on_the_host(vm_backend):
    """If a program mounts a tmpfs in the guest, then this host's table is unchanged and
    the guest's kernel is a different one (source: /proc/self/mountinfo, uname)."""
    vm = vm_backend("7.1")
    with open("/proc/self/mountinfo") as f:
        before = f.read()
    with vm.start(Program(start_dirs=["/a"])) as s:
        assert s.execute(Step(1, "mount", ("tmpfs", "/a", "tmpfs", 0, None))).ret == 0
        assert " /a " in s.mountinfo(1)
    with open("/proc/self/mountinfo") as f:
        assert f.read() == before
    assert os.uname().release != vm.release


class TestCli:
    def test_unknown_vm_kernel_is_one_line_and_exit_2(self, capsys):
        """If --vm-kernel names no known series, then diff exits 2 with one line, no boot."""
        from mountsim.cli import main
        assert main(["diff", "--backend", "vm", "--vm-kernel", "6.9", str(MODELS / "demo.trace")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == ["mountsim diff: unknown --vm-kernel '6.9' (choose from 7.0, 7.1, 7.2, 7.3)"]

    def test_diff_backend_vm_agrees_on_demo(self, capsys, vm_backend):
        """If `mountsim diff --backend vm` runs the demo trace, then it names the kernel that
        ran and the model row, and says they agree (exit 0)."""
        from mountsim.cli import main
        vm_backend("7.1")                                   # skips where no VM can run
        assert main(["diff", "--backend", "vm", "--vm-kernel", "7.1", str(MODELS / "demo.trace")]) == 0
        out, err = capsys.readouterr()
        assert out.strip().endswith("demo.trace: 13 calls, model and VM kernel (7.1) agree")
        assert err.startswith("diff: VM kernel 7.1.") and err.strip().endswith("model row 7.1")

    def test_record_vm_then_replay_is_green(self, tmp_path, capsys, vm_backend):
        """If a real command is recorded on Debian's 7.1 in the guest (`record --vm`), then
        the trace names the guest's kernel and row, and replays green on the model."""
        from mountsim.cli import main
        vm_backend("7.1")                                   # skips where no VM can run
        out = str(tmp_path / "rec.trace")
        assert main(["record", "--vm", "7.1", "-o", out, "--", "unshare", "-m",
                     "--propagation", "slave", "mount", "--make-rshared", "/"]) == 0
        text = Path(out).read_text()
        assert "+deb13-cloud-amd64 (QEMU guest): unshare -m" in text.splitlines()[0]
        assert "\n# kernel: 7.1\n" in text and "# expect-tree:" in text
        capsys.readouterr()
        assert main(["replay", out]) == 0


def test_the_models_first_process_starts_with_the_guests_capabilities(vm_backend):
    """If the guest's root reads its bounding set, then CAP_SYS_RESOURCE is in it (the
    guest's /init starts with the kernel's full init_cred sets), while this machine's root
    may lack it; the model compared with the guest starts from the guest's sets
    (ModelBackend.for_real(): VmBackend.start_caps), so both say 1 (source: the real 7.1
    kernel in the guest)."""
    vm = vm_backend("7.1")
    program = Program(start_dirs=["/a"], steps=[
        Step(1, "prctl", (uapi.PR_CAPBSET_READ, uapi.CAP_SYS_RESOURCE)),
        Step(1, "prctl", (uapi.PR_CAPBSET_READ, uapi.CAP_LAST_CAP + 1))])
    _agrees_with_guest(vm, program)
    got = [ModelBackend.for_real(vm, vm.row).start(program).execute(s) for s in program.steps]
    assert [(r.ret, r.errno) for r in got] == [(1, None), (-1, "EINVAL")]


def _agrees_with_guest(vm, program: Program) -> None:
    """*program* on the guest and on the model at the guest's row, starting as the guest's
    root does: no divergence."""
    session = vm.start(program)
    try:
        div = run_pair(program, ModelBackend.for_real(vm, vm.row).start(program), session)
    finally:
        session.close()
    assert div is None, div.describe()
