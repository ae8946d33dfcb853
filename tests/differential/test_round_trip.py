"""Record -> replay round trip: generated programs run on the live kernel are written out
as a user's strace would see them — the sandbox's starting table as `# start-mountinfo:`
lines (contents unknown to the model), every result the kernel gave, the kernel's final
table as the expect-tree — and the written trace must replay on the model with no
difference (the recordings issue: "a generator only explores the world it was built to
imagine"; this is how users use the tool). Budget MOUNTSIM_ROUNDTRIP_EXAMPLES (default
600), seed MOUNTSIM_FUZZ_SEED as in test_campaign.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hseed

from mountsim.backends.model import ModelBackend
from mountsim.errors import StepRefused
from mountsim.gen import programs
from mountsim.trace.normalise import tree_rows
from mountsim.trace.parse import parse_text
from mountsim.trace.program import ExpectRow, Program
from mountsim.trace.replay import replay
from mountsim.trace.write import format_program

pytestmark = pytest.mark.live

EXAMPLES = int(os.environ.get("MOUNTSIM_ROUNDTRIP_EXAMPLES", "600"))
SEED = int(os.environ.get("MOUNTSIM_FUZZ_SEED", "20261128"))


def record_live(program: Program, live) -> str | None:
    """Run *program* on the live kernel and write what it did as a trace (None when the
    sandbox refused a step)."""
    session = live.start(program)
    try:
        start = session.mountinfo(program.main_pid)
        steps, results, last = [], [], program.main_pid
        for step in program.steps:
            if step.pid not in session.pids():
                continue                    # strace shows no call of an exited process
            try:
                results.append(session.execute(step))
            except StepRefused:
                return None
            steps.append(step)
            last = step.pid
        final = session.mountinfo(last) if last in session.pids() else None
    finally:
        session.close()
    recorded = Program(file="<live>", main_pid=program.main_pid,
                       start_mountinfo=start.splitlines(), steps=steps)
    if final is not None:
        recorded.expect_tree = [ExpectRow(mp, fs, words, None) for mp, fs, words in tree_rows(final)]
    return format_program(recorded, results)


def test_live_runs_written_as_traces_replay_on_the_model(live):
    """If the live kernel's run of a program, written out as a trace that starts from the
    sandbox's table with unknown contents, does not replay exactly on the model, then the
    model (or the replay's reading of recorded results) is wrong."""
    failures: list[str] = []

    @hseed(SEED)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(programs(max_steps=20))
    def body(program):
        text = record_live(program, live)
        if text is None:
            return
        written = parse_text(text, "<round-trip>")
        rep = replay(written, ModelBackend().start(written))
        if rep.diffs:
            out = Path("fuzz-failures")
            out.mkdir(exist_ok=True)
            saved = out / f"round-trip-{len(failures) + 1:03d}.trace"
            saved.write_text(text)
            failures.append(f"{saved}:\n" + "\n".join(rep.diffs))
            raise AssertionError(rep.diffs[0])
    try:
        body()
    except AssertionError:
        pass
    assert not failures, (f"{len(failures)} written trace(s) differ (saved; replay them with "
                          f"`mountsim replay`); the last:\n{failures[-1]}")
