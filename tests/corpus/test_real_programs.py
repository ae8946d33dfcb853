"""Real programs recorded with plain `strace -f -o FILE` on this machine replay exactly.

tests/corpus/programs/record.sh recorded each (util-linux unshare, mount, umount, nsenter,
pivot_root, chroot; bubblewrap), each in a mount namespace of its own, with the table it
started from (NAME.mountinfo, given to replay as --start-mountinfo). Every recorded result
is the kernel's; the replay must agree with each one. What the model cannot replay yet is
listed below with the reason, as strict xfails (they fail the suite once they pass).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mountsim.backends.model import ModelBackend
from mountsim.trace.parse import parse_file, start_table
from mountsim.trace.replay import replay

HERE = Path(__file__).resolve().parent / "programs"
GAPS: dict[str, str] = {}


def _cases():
    for path in sorted(HERE.glob("*.strace")):
        name = path.stem
        marks = [pytest.mark.xfail(reason=GAPS[name], strict=True)] if name in GAPS else []
        yield pytest.param(path, marks=marks, id=name)


@pytest.mark.parametrize("path", list(_cases()))
def test_real_program_replays_exactly(path):
    """If a real program's plain strace output is replayed from the table it started on,
    then every recorded result agrees (and nothing is left unjudged but unmodelled calls)."""
    program = parse_file(str(path))
    start_table(program, str(path.with_suffix(".mountinfo")))
    rep = replay(program, ModelBackend().start(program))
    assert rep.diffs == []
    assert len([s for s in program.steps if s.name in ("mount", "umount2", "unshare", "setns",
                                                        "pivot_root", "chroot")]) > 0
