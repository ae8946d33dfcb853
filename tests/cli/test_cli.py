"""`mountsim` through `main([...])`: exit codes and the lines users read.

Expected errnos come from the man pages named per test; the message formats are the ones
the issue specifies (`FILE:LINE: expected …, model gave …`, one line for bad input).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mountsim.cli import main

MODELS = Path(__file__).resolve().parents[2] / "models"


def write(tmp_path: Path, text: str, name: str = "t.trace") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_replay_green_trace_exits_0(capsys):
    """If a scenario replays green, replay exits 0 and says ok."""
    assert main(["replay", str(MODELS / "shared-mount-2a.trace")]) == 0
    assert capsys.readouterr().out.strip().endswith("calls, ok")


def test_replay_mismatch_exits_1_with_file_and_line(tmp_path, capsys):
    """If the trace records a result the kernel would not give, replay exits 1 and names
    file:line. mount(2): a bind of a source that does not exist fails with ENOENT."""
    f = write(tmp_path, '# start-dirs: /a\nmount("/nonexistent", "/", NULL, MS_BIND, NULL) = 0\n')
    assert main(["replay", f]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{f}:2: mount: expected = 0, model gave = -1 ENOENT")


def test_replay_expect_tree_mismatch_exits_1(tmp_path, capsys):
    """If the expect-tree block names a mount that is not there, replay exits 1 at its line."""
    f = write(tmp_path, '# start-dirs: /a\nmount("tmpfs", "/a", "tmpfs", 0, NULL) = 0\n'
                        '# expect-tree:\n# /   tmpfs  private\n# /a  tmpfs  shared:1\n')
    assert main(["replay", f]) == 1
    assert f"{f}:5: expected /a tmpfs shared:1, model gave /a tmpfs private" in capsys.readouterr().out


@pytest.mark.parametrize("text, what", [
    ('mount("tmpfs", "/a", "tmpfs", 0, NULL = 0\n', "cannot parse"),
    ('# kernel: 9.9\nmount("tmpfs", "/", "tmpfs", 0, NULL) = 0\n', "unknown kernel version"),
    ('mount("tmpfs", "/", "tmpfs", MS_FROB, NULL) = 0\n', "MS_FROB"),
])
def test_replay_bad_input_exits_2_with_one_line(tmp_path, capsys, text, what):
    """If a trace cannot be understood, replay exits 2 with one line naming file:line and no
    traceback."""
    f = write(tmp_path, text)
    assert main(["replay", f]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"mountsim: {f}:") and what in err[0]
    assert "Traceback" not in err[0]


def test_replay_missing_file_exits_2(tmp_path, capsys):
    """If a file does not exist, replay says so in one line and exits 2."""
    assert main(["replay", str(tmp_path / "nope.trace")]) == 2
    assert "nope.trace" in capsys.readouterr().err


def test_unmodelled_calls_are_notes_unless_strict(tmp_path, capsys):
    """If a trace holds calls outside the model's scope, they are reported as notes (exit 0);
    with --strict they count as differences (exit 1)."""
    f = write(tmp_path, 'mount("tmpfs", "/", "tmpfs", 0, NULL) = 0\ngetpid() = 5\n'
              'brk(NULL) = 0x55d1c000\ngetpid() = 5\n')
    assert main(["replay", f]) == 0
    assert f"{f}:2: note: not modelled (skipped): getpid x2, brk x1" in capsys.readouterr().out
    assert main(["replay", "--strict", f]) == 1


def test_replay_mountinfo_prints_the_final_table(tmp_path, capsys):
    """If --mountinfo is given, the final table is printed in the kernel's format: a new tmpfs
    on /a is a child of / (proc_pid_mountinfo(5) fields)."""
    f = write(tmp_path, '# start-dirs: /a\nmount("tmpfs", "/a", "tmpfs", MS_NOSUID, NULL) = 0\n')
    assert main(["replay", "--mountinfo", f]) == 0
    rows = [ln.split() for ln in capsys.readouterr().out.splitlines() if " - " in ln]
    assert [r[4] for r in rows] == ["/", "/a"]
    assert rows[1][1] == rows[0][0] and rows[1][5] == "rw,nosuid,relatime"
    assert rows[1][-3:] == ["tmpfs", "tmpfs", "rw"]


def test_demo_exits_0_and_prints_a_table(capsys):
    """If the demo works, it exits 0 and prints mountinfo lines."""
    assert main(["demo"]) == 0
    assert " - tmpfs " in capsys.readouterr().out


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "replay" in capsys.readouterr().out


def test_fuzz_model_only_summary(capsys):
    """If the campaign runs without a kernel, it still reports programs and calls."""
    assert main(["fuzz", "--model-only", "--examples", "15", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fuzz: 15 programs,") and "0 divergence(s)" in out


@pytest.mark.live
def test_diff_agreeing_trace_exits_0(live, capsys):
    """If model and kernel agree on a scenario, diff exits 0 and says so."""
    assert main(["diff", str(MODELS / "slave-mount-2b.trace")]) == 0
    assert "model and live kernel agree" in capsys.readouterr().out


def test_bench_model_only_reports_rates(capsys):
    """If bench runs without a kernel, it still reports the model's programs/s and scale."""
    assert main(["bench", "--model-only", "--programs", "5", "--mounts", "50"]) == 0
    out = capsys.readouterr().out
    assert "programs/s" in out and "N=50" in out
