"""Every scenario in models/ replays green on the model, and agrees with the live kernel.

The expected results and `expect-tree` blocks in those traces come from the documents they
cite (sharedsubtree.rst, mount_namespaces(7)) or from real-kernel recordings, never from
the model; `models/tools/verify.py` re-checks them on a kernel.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mountsim.backends.live import LiveUnsupported
from mountsim.backends.model import ModelBackend
from mountsim.differential import run_pair
from mountsim.trace.parse import parse_file
from mountsim.trace.replay import replay

MODELS = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.trace"))


def test_there_are_scenarios():
    """If models/ lost its traces, this suite would pass vacuously; it must not."""
    assert len(MODELS) >= 40


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_replays_green_on_the_model(path):
    """If the model answers any recorded call or the final table differently, the trace fails."""
    program = parse_file(str(path))
    report = replay(program, ModelBackend().start(program), strict=False)
    assert report.ok, "\n".join(report.diffs)


@pytest.mark.live
@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.name)
def test_model_and_live_kernel_agree(path, live):
    """If the model and the kernel differ on any call or on the final tables, the trace fails."""
    program = parse_file(str(path))
    try:
        b = live.start(program)
    except LiveUnsupported as e:
        pytest.skip(str(e))
    try:
        div = run_pair(program, ModelBackend().start(program), b, with_tables=True)
    finally:
        b.close()
    assert div is None, div.describe()
