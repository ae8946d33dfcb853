"""The Hypothesis campaign in CI: generated programs on the model and the live kernel.

Each program (mountsim/gen.py: every classic mount call, the new mount API, namespaces,
forks, failing calls) runs on both backends; every result and the final table of every
process must agree. The budget is MOUNTSIM_FUZZ_EXAMPLES (default 4000, about 40 s here);
the seed is MOUNTSIM_FUZZ_SEED (default fixed, so a CI run is reproducible; set it, or
use `mountsim fuzz --seed`, to explore new programs). A failure is shrunk by Hypothesis
and saved under fuzz-failures/ as a trace that `mountsim diff` reproduces.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mountsim.commands.fuzz import Progress, run_campaign, save

pytestmark = pytest.mark.live

EXAMPLES = int(os.environ.get("MOUNTSIM_FUZZ_EXAMPLES", "4000"))
SEED = int(os.environ.get("MOUNTSIM_FUZZ_SEED", "20261128"))


def test_model_and_kernel_agree_on_generated_programs(live):
    """If any generated program gets a different result or table on the model than on the
    kernel, the campaign fails with the shrunk program (source of truth: the live kernel)."""
    found = run_campaign(EXAMPLES, SEED, 25, live, Progress(EXAMPLES))
    if found is not None:
        program, div = found
        path = save(program, div, Path("fuzz-failures"), SEED % 1000)
        pytest.fail(f"seed {SEED}: model and kernel diverge; saved {path} "
                    f"(reproduce: mountsim diff {path})\n{div.describe()}", pytrace=False)
