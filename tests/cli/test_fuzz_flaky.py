"""A divergence that does not come back when Hypothesis reruns the program.

The real kernel's answer can depend on timing (a process SIGKILLed by its pid namespace's
init: tests/differential/test_pid_numbers.py). Hypothesis then raises FlakyFailure, an
exception group; `fuzz` printed "worker 0: FlakyFailure: Inconsistent results…" and saved
nothing (campaign seed 32). It now keeps the program and marks the divergence flaky.
"""

from __future__ import annotations

from mountsim.commands import fuzz
from mountsim.differential import Divergence


def test_a_divergence_seen_once_is_saved_as_flaky(monkeypatch, tmp_path):
    """If the first run of a program diverges and its rerun does not, then run_campaign()
    returns that program with a divergence marked flaky, and the saved trace says so."""
    calls = []

    def once(program, live, row=None):
        calls.append(program)
        if len(calls) == 1:
            return Divergence(len(program.steps), None, "== pid 1\n", "== pid 1\n== pid 3\n")
        return None

    monkeypatch.setattr(fuzz, "run_one", once)
    found = fuzz.run_campaign(20, 7, 5, None, fuzz.Progress(20))
    assert found is not None
    program, div = found
    assert div.flaky and program is calls[0]
    text = fuzz.save(program, div, tmp_path, 1).read_text()
    assert "flaky (this program did not diverge again" in text.splitlines()[1]
