"""The 7.x namespace-creation traces (models/README.md, "Linux 7.0/7.1: namespace creation")
on real Debian kernels in the VM backend, in lockstep with the model at the guest's row.

Each trace runs on the kernel series of its `# kernel:` header and on every later one it
should still agree with (the model's row changes with the series). The 7.0-rc1 trace has
no kernel to run on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mountsim.backends.model import ModelBackend
from mountsim.differential import run_pair
from mountsim.trace.parse import parse_file

pytestmark = pytest.mark.vm

MODELS = Path(__file__).resolve().parents[2] / "models"
NS7 = {
    "nullfs-root": ("7.0", "7.1"),
    "open-tree-namespace": ("7.0", "7.1"),
    "open-tree-namespace-userns": ("7.0", "7.1"),
    "copy-ns-one-lock": ("7.0", "7.1"),
    "fsmount-namespace": ("7.1",),
    "fsmount-namespace-userns": ("7.1",),
    "empty-mntns": ("7.1",),
    "clone3-empty-mntns": ("7.1",),
    "empty-mntns-shared-root": ("7.1",),
    "empty-mntns-userns-slave": ("7.1",),
    "ns7-checks-order": ("7.1",),
    "pivot-root-lookup-first": ("7.0", "7.1"),
    "open-tree-namespace-foreign-7.2": ("7.2",),
    "unshare-unbindable-copy-7.2": ("7.2",),
    "nullfs-reconfigure-7.2": ("7.2",),
}
CASES = [(name, series) for name, all_series in NS7.items() for series in all_series]


@pytest.mark.parametrize("name,series", CASES, ids=[f"{n}@{s}" for n, s in CASES])
def test_ns7_trace_agrees_with_vm_kernel(vm_backend, name, series):
    """If a namespace-creation trace gets a different result or final table on the model
    (at the guest's row) than on the real kernel, then the model's reading of
    fs/namespace.c is wrong for that version (source of truth: Debian's kernel)."""
    vm = vm_backend(series)
    program = parse_file(str(MODELS / f"{name}.trace"))
    session = vm.start(program)
    try:
        model = ModelBackend.for_real(vm, vm.row).start(program)
        div = run_pair(program, model, session, with_tables=True)
    finally:
        session.close()
    assert div is None, div.describe()


def _header_kernel(path: Path) -> str | None:
    for line in path.read_text().splitlines():
        if line.lower().startswith("# kernel:"):
            return line.split(":", 1)[1].strip()
    return None


def _seven_x() -> list[tuple[str, str]]:
    """Every other models/*.trace written for a 7.x kernel with a real build to run on
    (not 7.0-rc1) and no start-mountinfo table (the sandbox builds the model host's)."""
    out = []
    for path in sorted(MODELS.glob("*.trace")):
        series = _header_kernel(path)
        text = path.read_text()
        if (series and series.startswith("7.") and "-rc" not in series
                and path.stem not in NS7 and "# start-mountinfo:" not in text):
            out.append((path.stem, series))
    return out


SEVEN_X = _seven_x()


def test_every_7x_trace_is_checked():
    """If models/ gained 7.x traces, then they are all run here (this list is not empty and
    holds the beneath, statmount and mountinfo-read traces)."""
    names = {n for n, _ in SEVEN_X}
    assert {"beneath-rootfs-switch", "statmount-by-fd"} <= names


@pytest.mark.parametrize("name,series", SEVEN_X, ids=[f"{n}@{s}" for n, s in SEVEN_X])
def test_7x_trace_agrees_with_vm_kernel(vm_backend, name, series):
    """If a 7.x trace of models/ gets a different result or final table on the model (at
    its header's row) than on that Debian kernel, then the model is wrong for that version
    (`mountsim diff --backend vm` on every 7.x trace in models/)."""
    test_ns7_trace_agrees_with_vm_kernel(vm_backend, name, series)
