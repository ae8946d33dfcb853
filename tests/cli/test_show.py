"""`mountsim show`: findmnt-style views. Expected output comes from util-linux's own
`findmnt --tab-file FILE` on the same mountinfo (skipped with one line where findmnt is
absent), or from the trace's expect-tree block for the model-only LOCKED column.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mountsim.cli import main

MODELS = Path(__file__).resolve().parents[2] / "models"
FINDMNT = shutil.which("findmnt")
needs_findmnt = pytest.mark.skipif(FINDMNT is None, reason="findmnt (util-linux) not installed")

# Tables with binds of subtrees, stacked mounts, slaves, unbindable and read-only mounts.
TRACES = ["demo", "bind-slave-to-shared", "umount-propagation-stacked-chain",
          "recorded-bwrap-userns-dev-proc", "unbindable-mount-2d", "remount-ro-busy",
          "recorded-unshare-userns-locked", "faq3-exponential-growth"]
VIEWS = [[], ["--list"], ["--json"], ["--json", "--list"],
         ["-o", "TARGET,SOURCE,FSTYPE,OPTIONS,PROPAGATION,ID,PARENT,FSROOT", "--json"],
         ["-o", "ID,TARGET,PARENT,PROPAGATION"]]


def final_mountinfo(tmp_path: Path, trace: str, capsys) -> str:
    assert main(["replay", "-q", "--mountinfo", str(MODELS / f"{trace}.trace")]) == 0
    p = tmp_path / f"{trace}.mountinfo"
    p.write_text(capsys.readouterr().out)
    return str(p)


def run_show(capsys, *args: str) -> str:
    assert main(["show", *args]) == 0
    return capsys.readouterr().out


def findmnt(*args: str) -> str:
    return subprocess.run([FINDMNT, *args], capture_output=True, text=True, check=True).stdout


@needs_findmnt
@pytest.mark.parametrize("trace", TRACES)
def test_same_output_as_findmnt(tmp_path, capsys, trace):
    """If findmnt and show read the same mountinfo, then every view prints the same bytes
    (source: util-linux 2.38 findmnt --tab-file)."""
    mi = final_mountinfo(tmp_path, trace, capsys)
    for view in VIEWS:
        assert run_show(capsys, "--from-mountinfo", mi, *view) == findmnt("-F", mi, *view), view


@needs_findmnt
def test_this_machine_json_has_findmnt_shape(tmp_path, capsys):
    """If show reads this machine's /proc/self/mountinfo, then its JSON equals findmnt's of
    the same table (source: findmnt --json on this machine)."""
    tmp = tmp_path / "self.mountinfo"
    tmp.write_text(Path("/proc/self/mountinfo").read_text())
    ours = json.loads(run_show(capsys, "--json", "--from-mountinfo", str(tmp)))
    assert ours == json.loads(findmnt("--json", "-F", str(tmp)))


def test_trace_final_state_locked_column(capsys):
    """If a trace's expect-tree marks mounts locked, then show's LOCKED column says so row
    for row (source: models/recorded-unshare-userns-locked.trace, recorded on Linux 6.18)."""
    out = run_show(capsys, str(MODELS / "recorded-unshare-userns-locked.trace"),
                   "--list", "-n", "-o", "TARGET,LOCKED")
    rows = [line.split() for line in out.splitlines()]
    assert rows == [["/", "locked"], ["/usr", "locked"], ["/etc", "locked"],
                    ["/proc", "locked"], ["/srv", "locked"], ["/mnt", "unlocked"]]


def test_json_model_columns_are_numbers(capsys):
    """If UNIQUE-ID and NS are asked for in JSON, then they are numbers like ID (findmnt
    prints its numeric columns unquoted)."""
    out = json.loads(run_show(capsys, str(MODELS / "demo.trace"), "--json", "-o",
                              "TARGET,ID,UNIQUE-ID,NS"))
    root = out["filesystems"][0]
    assert set(root) >= {"target", "id", "unique-id", "ns"}
    assert all(isinstance(root[k], int) for k in ("id", "unique-id", "ns"))


def test_bad_column_is_one_line_exit_2(capsys):
    """If -o names an unknown column, then show exits 2 with one line, as findmnt does."""
    assert main(["show", str(MODELS / "demo.trace"), "-o", "TARGET,NOPE"]) == 2
    err = capsys.readouterr().err
    assert err == "mountsim: show: unknown column: NOPE\n"


def test_bad_mountinfo_names_file_and_line(tmp_path, capsys):
    """If a mountinfo file has a malformed line, then show exits 2 naming file:line."""
    p = tmp_path / "bad"
    p.write_text("1 0 0:1 / / rw - tmpfs tmpfs rw\nnonsense\n")
    assert main(["show", "--from-mountinfo", str(p)]) == 2
    assert capsys.readouterr().err.startswith(f"mountsim: {p}:2: not a mountinfo line")


def test_missing_input_exit_2(capsys):
    """If neither a trace nor --from-mountinfo is given, then show exits 2 with one line."""
    assert main(["show"]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
