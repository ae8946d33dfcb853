"""Traces that start from a table whose contents are unknown: the recorded results decide.

Each trace is what the kernel answers (mount(2), umount(2), open_tree(2), open(2): a path
that does not exist is ENOENT; mkdir(2): an existing name is EEXIST; open(2) with O_CREAT
in a directory the program just made creates a regular file), started from a
`# start-mountinfo:` table whose filesystems the model knows nothing about; replay must
agree with every recorded result (the security and recordings issues' reproductions).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mountsim.backends.model import ModelBackend
from mountsim.trace.parse import parse_file, parse_text
from mountsim.trace.replay import replay

START = ("# start-mountinfo: 22 1 0:21 / / rw,relatime - tmpfs tmpfs rw\n"
         "# start-mountinfo: 23 22 0:22 / /proc rw,nosuid - proc proc rw\n")


def replays(body: str, header: str = START) -> list[str]:
    p = parse_text(header + body, "<t>")
    rep = replay(p, ModelBackend().start(p))
    return rep.diffs


CASES = {
    "move-missing-target": 'mkdir("/a", 0755) = 0\n'
                           'mount("tmpfs", "/a", "tmpfs", 0, NULL) = 0\n'
                           'mount("/a", "/nonexistent", NULL, MS_MOVE, NULL) = -1 ENOENT (No such file or directory)\n',
    "umount-missing": 'umount2("/nonexistent", 0) = -1 ENOENT (No such file or directory)\n',
    "open-tree-missing": 'open_tree(AT_FDCWD, "/srv/x", OPEN_TREE_CLONE) = -1 ENOENT (No such file or directory)\n',
    "create-in-own-dir": 'mkdir("/dir", 0755) = 0\n'
                         'openat(AT_FDCWD, "/dir/foo", O_RDWR|O_CREAT, 0777) = 3\n',
    "eexist-decides": 'mkdir("/etc", 0755) = -1 EEXIST (File exists)\n'
                      'mount("tmpfs", "/etc", "tmpfs", 0, NULL) = 0\n',
    "missing-stays-missing": 'chdir("/opt") = -1 ENOENT (No such file or directory)\n'
                             'mkdir("/opt/x", 0755) = -1 ENOENT (No such file or directory)\n'
                             'mkdir("/opt", 0755) = 0\n'
                             'mkdir("/opt/x", 0755) = 0\n',
    "file-not-dir": 'chdir("/etc/hostname") = -1 ENOTDIR (Not a directory)\n'
                    'openat(AT_FDCWD, "/etc/hostname/x", O_RDONLY) = -1 ENOTDIR (Not a directory)\n',
    "written-file": 'openat(AT_FDCWD, "/var/log/x.log", O_WRONLY|O_APPEND) = 3\n'
                    'mount("/var/log/x.log", "/var/log/x.log", NULL, MS_BIND, NULL) = 0\n',
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_recorded_results_decide(name):
    """If the recorded results say what exists, then the replay agrees with each of them."""
    assert replays(CASES[name]) == []


def test_contradiction_is_reported():
    """If the recording contradicts itself (a directory it made is then missing), then the
    replay reports the line: known contents are not re-decided."""
    diffs = replays('mkdir("/dir", 0755) = 0\nchdir("/dir") = -1 ENOENT (No such file or directory)\n')
    assert len(diffs) == 1 and diffs[0].startswith("<t>:4: chdir")


def test_complete_contents_header():
    """If `# start-contents: complete` says the table's contents are known, then a path not
    made by the trace does not exist (so a recorded success is a difference)."""
    diffs = replays('chdir("/etc") = 0\n', START + "# start-contents: complete\n")
    assert len(diffs) == 1 and "ENOENT" in diffs[0]


STRACE = Path(__file__).resolve().parent / "strace"


@pytest.mark.parametrize("path", sorted(STRACE.glob("*.strace")), ids=lambda p: p.name)
def test_real_strace_output_replays_exactly(path):
    """If strace 6.1 recorded a real program on this machine (tests/corpus/strace, no
    header: an unknown machine), then the replay agrees with every recorded result."""
    p = parse_file(str(path))
    assert p.start_unknown
    rep = replay(p, ModelBackend().start(p))
    assert rep.diffs == []
