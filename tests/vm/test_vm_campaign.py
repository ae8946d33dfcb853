"""The Hypothesis campaign against a real 7.x kernel: generated programs on the model (at
the guest kernel's row) and in the VM, every result and final table compared.

Budget MOUNTSIM_VM_FUZZ_EXAMPLES (default 50: about 20 s on this machine, the guest's
sandbox set-up dominating), kernel MOUNTSIM_VM_FUZZ_KERNEL (default 7.1), seed
MOUNTSIM_FUZZ_SEED as in tests/differential/test_campaign.py. A failure is shrunk and saved
under fuzz-failures/ as a trace that `mountsim diff --backend vm` reproduces.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mountsim.commands.fuzz import Progress, run_campaign, save

pytestmark = pytest.mark.vm

EXAMPLES = int(os.environ.get("MOUNTSIM_VM_FUZZ_EXAMPLES", "50"))
SERIES = os.environ.get("MOUNTSIM_VM_FUZZ_KERNEL", "7.1")
SEED = int(os.environ.get("MOUNTSIM_FUZZ_SEED", "20261128"))


def test_model_and_vm_kernel_agree_on_generated_programs(vm_backend):
    """If any generated program gets a different result or table on the model (at the
    guest's Semantics row) than on Debian's kernel in the guest, the campaign fails with
    the shrunk program (source of truth: the real 7.x kernel)."""
    vm = vm_backend(SERIES)
    found = run_campaign(EXAMPLES, SEED, 20, vm, Progress(EXAMPLES), vm.row)
    if found is not None:
        program, div = found
        program.kernel = vm.row
        path = save(program, div, Path("fuzz-failures"), SEED % 1000,
                    f"--backend vm --vm-kernel {SERIES} ")
        pytest.fail(f"seed {SEED}: model and {vm.release} diverge; saved {path}\n"
                    f"{div.describe()}", pytrace=False)
