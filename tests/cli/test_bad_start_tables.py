"""Start tables that are not what /proc/<pid>/mountinfo prints — fuzzed, garbled, made
inconsistent — end in exit 2 with the file and line, or replay; never an internal error
(exit 3). The valid table is a real one (tests/corpus/programs/unshare-m.mountinfo,
recorded on this machine: mounts listed before their parents, devtmpfs, cgroup2, …)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mountsim.cli import main

REAL = (Path(__file__).resolve().parents[1] / "corpus" / "programs" / "unshare-m.mountinfo"
        ).read_text().splitlines()
WORDS = ["0", "1", "-1", "x", "0:0", "99999999999999999999", "/", "//", "-", "shared:1",
         "master:7", "shared:x", "unbindable", "rw", "", "\\040", "/a b", ":", "1:"]


@st.composite
def garbled_tables(draw) -> list[str]:
    """A real table with some lines garbled: fields replaced, dropped or duplicated, lines
    dropped, duplicated or replaced by arbitrary text."""
    lines = list(REAL)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["field", "drop-field", "dup-line", "drop-line", "text"]))
        fields = lines[i].split(" ")
        if how == "field":
            fields[draw(st.integers(0, len(fields) - 1))] = draw(st.sampled_from(WORDS))
            lines[i] = " ".join(fields)
        elif how == "drop-field":
            del fields[draw(st.integers(0, len(fields) - 1))]
            lines[i] = " ".join(fields)
        elif how == "dup-line":
            lines.insert(i, lines[i])
        elif how == "drop-line" and len(lines) > 1:
            del lines[i]
        else:
            lines[i] = draw(st.text(min_size=0, max_size=40).filter(lambda t: "\n" not in t
                                                                   and "\r" not in t))
    return lines


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(garbled_tables())
def test_garbled_start_tables_never_crash(tmp_path_factory, lines):
    """If a start table is garbled, then replay exits 0, 1 or 2 — never 3."""
    f = tmp_path_factory.mktemp("t") / "t.trace"
    body = "".join(f"# start-mountinfo: {ln}\n" for ln in lines)
    f.write_text(body + 'mkdir("/tmp/x", 0755) = 0\nmount("tmpfs", "/tmp/x", "tmpfs", 0, NULL) = 0\n')
    assert main(["replay", "-q", str(f)]) in (0, 1, 2)


def test_a_table_listed_child_first_replays(tmp_path):
    """If a real table lists a mount before its parent (the kernel lists in id order, and
    a moved mount keeps its id), then it is a good start table: exit 0."""
    assert int(REAL[0].split()[1]) > int(REAL[0].split()[0])     # /proc before "/" here
    f = tmp_path / "t.trace"
    f.write_text("".join(f"# start-mountinfo: {ln}\n" for ln in REAL)
                 + 'mount("tmpfs", "/tmp", "tmpfs", 0, NULL) = 0\n')
    assert main(["replay", "-q", str(f)]) == 0


def test_ids_past_what_the_kernel_prints_exit_2_with_the_line(tmp_path, capsys):
    """If a start table names a mount id past INT_MAX (mountinfo prints mnt_id with %i:
    fs/proc_namespace.c:show_mountinfo()), then replay exits 2 naming the file and line,
    at once (such an id once made the model reserve every id below it)."""
    bad = [ln if i != 3 else "99999999999999999999" + ln[ln.index(" "):] for i, ln in enumerate(REAL)]
    f = tmp_path / "t.trace"
    f.write_text("".join(f"# start-mountinfo: {ln}\n" for ln in bad) + 'mkdir("/tmp/x", 0755) = 0\n')
    assert main(["replay", "-q", str(f)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{f}:4:" in err[0] and "at most 2147483647" in err[0]


def test_the_largest_id_a_kernel_prints_replays(tmp_path):
    """If a start table names mount id INT_MAX, then it is a good table: exit 0."""
    parents = {ln.split()[1] for ln in REAL}
    leaf = next(i for i, ln in enumerate(REAL) if ln.split()[0] not in parents)
    big = [ln if i != leaf else f"{2**31 - 1}" + ln[ln.index(" "):] for i, ln in enumerate(REAL)]
    f = tmp_path / "t.trace"
    f.write_text("".join(f"# start-mountinfo: {ln}\n" for ln in big)
                 + 'mkdir("/tmp/x", 0755) = 0\nmount("tmpfs", "/tmp/x", "tmpfs", 0, NULL) = 0\n')
    assert main(["replay", "-q", str(f)]) == 0
