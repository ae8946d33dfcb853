"""The Hypothesis campaign against a real 7.x kernel: generated programs on the model (at
the guest kernel's row) and in the VM, every result and final table compared.

Per CI run: 300 programs against 7.1 (the release the seeds describe) and 60 against each
of 7.0, 7.2 and 7.3 (about 3 programs/s here, the guest's sandbox set-up dominating);
MOUNTSIM_VM_FUZZ_SCALE scales them all (a factor, default 1), seed MOUNTSIM_FUZZ_SEED as
in tests/differential/test_campaign.py. A failure is shrunk and saved under fuzz-failures/
as a trace that `mountsim diff --backend vm` reproduces.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mountsim.commands.fuzz import Progress, run_campaign, save

pytestmark = pytest.mark.vm

SCALE = float(os.environ.get("MOUNTSIM_VM_FUZZ_SCALE", "1"))
BUDGET = {"7.1": 300, "7.0": 60, "7.2": 60, "7.3": 60}
SEED = int(os.environ.get("MOUNTSIM_FUZZ_SEED", "20261128"))


@pytest.mark.parametrize("series", sorted(BUDGET))
def test_model_and_vm_kernel_agree_on_generated_programs(vm_backend, series):
    """If any generated program gets a different result or table on the model (at the
    guest's Semantics row) than on Debian's kernel in the guest, the campaign fails with
    the shrunk program (source of truth: the real 7.x kernel)."""
    examples = max(1, int(BUDGET[series] * SCALE))
    vm = vm_backend(series)
    found = run_campaign(examples, SEED, 20, vm, Progress(examples), vm.row)
    if found is not None:
        program, div = found
        program.kernel = vm.row
        path = save(program, div, Path("fuzz-failures"), SEED % 1000,
                    f"--backend vm --vm-kernel {series} ")
        pytest.fail(f"seed {SEED}: model and {vm.release} diverge; saved {path}\n"
                    f"{div.describe()}", pytrace=False)
