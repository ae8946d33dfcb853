"""trace/tableread.py: reads of a mount table file compared as one whole table."""

from __future__ import annotations

import pytest

from mountsim.backends.model import ModelBackend
from mountsim.trace.parse import parse_text
from mountsim.trace.replay import replay
from mountsim.trace.tableread import table_read_groups

START = ("# start-mountinfo: 22 1 0:21 / / rw,relatime - tmpfs tmpfs rw\n"
         "# start-mountinfo: 23 22 0:22 / /proc rw,nosuid - proc proc rw\n")
MOUNTS = "tmpfs / tmpfs rw,relatime 0 0\nproc /proc proc rw,nosuid 0 0\n"
STATS = "device tmpfs mounted on / with fstype tmpfs\ndevice proc mounted on /proc with fstype proc\n"


def trace(path: str, text: str, cut: int) -> str:
    """open + two reads split at *cut* + EOF + close, as strace prints them."""
    def s(t: str) -> str:
        return t.replace("\n", "\\n")
    a, b = text[:cut], text[cut:]
    return (START + f'openat(AT_FDCWD, "{path}", O_RDONLY|O_CLOEXEC) = 3\n'
            f'read(3, "{s(a)}", {cut}) = {len(a)}\n'
            f'read(3, "{s(b)}", 4096) = {len(b)}\n'
            'read(3, "", 4096) = 0\nclose(3) = 0\n')


def diffs(text: str) -> list[str]:
    p = parse_text(text, "<t>")
    return replay(p, ModelBackend().start(p)).diffs


class TestTableReadGroups:
    @pytest.mark.parametrize("path,text", [("/proc/self/mounts", MOUNTS), ("/proc/mounts", MOUNTS),
                                           ("/proc/self/mountstats", STATS)])
    def test_whole_table(self, path, text):
        """If a start-table trace reads mounts or mountstats in pieces that end elsewhere than
        the model's would, then the reads form one group and the joined text matches the
        model's table (source: show_vfsmnt()/show_vfsstat() lines of the start table)."""
        p = parse_text(trace(path, text, 40), "<t>")
        assert list(table_read_groups(p).values()) == [[1, 2, 3]]
        assert diffs(trace(path, text, 40)) == []

    def test_difference_named(self):
        """If the recorded mounts text is not the model's, then one difference names the
        first differing line."""
        d = diffs(trace("/proc/self/mounts", MOUNTS.replace("nosuid", "nodev"), 40))
        assert len(d) == 1 and "line 2" in d[0] and "nodev" in d[0]
