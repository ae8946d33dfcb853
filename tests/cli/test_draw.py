"""`mountsim draw`: the DOT has the clusters, edges and marks the state implies.

Expected marks come from the traces' expect-tree blocks (recorded on Linux 6.18) or from
the mountinfo text given as input; pixels are never compared.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from mountsim.cli import main

MODELS = Path(__file__).resolve().parents[2] / "models"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")

_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)', re.S)
_NODE = re.compile(r'^\t+(\w+) \[(.*?)\]$', re.S | re.M)
_EDGE = re.compile(r'^\t+(\w+) -> (\w+)(?: \[(.*?)\])?$', re.S | re.M)


def attrs(text: str | None) -> dict[str, str]:
    return {k: v.strip('"') for k, v in _ATTR.findall(text or "")}


class Dot:
    """The nodes, edges and clusters of a DOT file written by `draw`."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.nodes = {n: attrs(a) for n, a in _NODE.findall(src) if "->" not in n}
        self.edges = [(a, b, attrs(x)) for a, b, x in _EDGE.findall(src)]
        self.clusters = re.findall(r"subgraph (cluster_\w+)", src)

    def mounts(self, ns: int) -> dict[str, dict[str, str]]:
        return {n: a for n, a in self.nodes.items()
                if n.startswith(f"ns{ns}_m") and "mount" in a.get("class", "").split()}

    def classes(self, node: str) -> set[str]:
        return set(self.nodes[node].get("class", "").split())

    def edges_of(self, cls: str) -> list[tuple[str, str, dict[str, str]]]:
        return [e for e in self.edges if cls in e[2].get("class", "").split()]


def draw(tmp_path: Path, capsys, *args: str) -> Dot:
    out = tmp_path / "g.dot"
    assert main(["draw", *args, "-o", str(out)]) == 0
    capsys.readouterr()
    return Dot(out.read_text())


def expect_rows(trace: Path) -> list[list[str]]:
    text = trace.read_text().split("# expect-tree:\n", 1)[1]
    return [ln[1:].split() for ln in text.splitlines() if ln.startswith("#") and ln[1:].strip()]


@pytest.mark.parametrize("name", ["demo", "mntns-less-privileged", "mntns-drop-frees-slaves",
                                  "unbindable-mount-2d", "bind-slave-to-shared", "slave-mount-2b"])
def test_marks_follow_expect_tree(tmp_path, capsys, name):
    """If a trace's expect-tree says a mount is shared, a slave, unbindable or locked, then
    its node in the final process's cluster carries that mark, row for row (source: the
    expect-tree blocks, recorded on Linux 6.18)."""
    trace = MODELS / f"{name}.trace"
    rows = expect_rows(trace)
    last_pid = [ln for ln in trace.read_text().splitlines() if ln.startswith("[pid ")]
    pid = ["--pid", last_pid[-1].split("]")[0][5:]] if last_pid else []
    dot = draw(tmp_path, capsys, str(trace), *pid)
    nodes = [n for n in dot.mounts(0) if "hidden-root" not in dot.classes(n)]
    assert len(nodes) == len(rows)
    for n, row in zip(nodes, rows):
        target, words = row[0], row[2:]
        cls = dot.classes(n)
        assert dot.nodes[n]["label"].split("\n")[0] == target
        assert ("shared" in cls) == any(w.startswith("shared:") for w in words), row
        assert ("slave" in cls) == any(w.startswith("master:") for w in words), row
        assert ("unbindable" in cls) == ("unbindable" in words), row
        if "locked" in words:                   # the column is optional: assert only when given
            assert "locked" in cls, row


def test_one_cluster_per_namespace_with_processes(tmp_path, capsys):
    """If a trace's process clones a new mount namespace, then the picture has two namespace
    clusters (plus the legend), each owned by the initial user namespace, with each process
    pointing at its root (source: models/demo.trace, clone(CLONE_NEWNS))."""
    dot = draw(tmp_path, capsys, str(MODELS / "demo.trace"))
    assert dot.clusters == ["cluster_ns0", "cluster_ns1", "cluster_legend"]
    assert dot.src.count("owned by user:[") == 2
    roots = {a: b for a, b, _ in dot.edges_of("root")}
    assert set(roots) == {"ns0_pid1", "ns1_pid2"}
    assert roots["ns1_pid2"].startswith("ns1_m")


def test_tree_edges_and_hidden_root(tmp_path, capsys):
    """If mounts hang off one another, then each non-root mount has exactly one tree edge,
    from its parent, labelled with its mount point; the namespace root (rootfs) is drawn
    dashed and marked hidden (source: models/demo.trace)."""
    dot = draw(tmp_path, capsys, str(MODELS / "demo.trace"), "--pid", "1")
    tree = dot.edges_of("tree")
    into = {}
    for a, b, at in tree:
        assert b not in into
        into[b] = (a, at["label"])
    hidden = [n for n in dot.mounts(0) if "hidden-root" in dot.classes(n)]
    assert len(hidden) == 1 and "dashed" in dot.nodes[hidden[0]]["style"]
    assert set(into) == set(dot.mounts(0)) - set(hidden)
    srv_data = next(n for n, a in dot.mounts(0).items() if a["label"].startswith("/srv/data\n"))
    parent, label = into[srv_data]
    assert dot.nodes[parent]["label"].startswith("/srv\n") and label == "/data"


def test_master_edges_come_from_the_master_group(tmp_path, capsys):
    """If a mount is a slave (master:N), then exactly one master edge points at it, from a
    member of peer group N (source: mountinfo optional fields, proc(5))."""
    dot = draw(tmp_path, capsys, str(MODELS / "demo.trace"))
    slaves = [n for n in dot.nodes if n.startswith("ns") and "slave" in dot.classes(n)]
    assert slaves
    for s in slaves:
        src = [a for a, b, _ in dot.edges_of("master") if b == s]
        group = re.search(r"master:(\d+)", dot.nodes[s]["label"]).group(1)
        assert len(src) == 1 and f"shared:{group}" in dot.nodes[src[0]]["label"]


def test_stacked_and_read_only_from_mountinfo(tmp_path, capsys):
    """If a mountinfo table has two mounts on one mount point and a read-only mount, then
    the upper is joined to the lower by a 'stacked' edge and the ro mount is marked, and a
    master group absent from the table gets a placeholder node (input: the table below)."""
    mi = tmp_path / "mi"
    mi.write_text("1 0 0:1 / / rw - ext4 /dev/sda rw\n"
                  "2 1 0:2 / /mnt rw shared:1 - tmpfs a rw\n"
                  "3 2 0:3 / /mnt ro master:7 - tmpfs b rw\n")
    dot = draw(tmp_path, capsys, "--from-mountinfo", str(mi))
    assert [(a, b) for a, b, _ in dot.edges_of("stacked")] == [("ns0_m2", "ns0_m3")]
    assert {"ro", "slave"} <= dot.classes("ns0_m3")
    assert [(a, b) for a, b, _ in dot.edges_of("master")] == [("group7", "ns0_m3")]


def test_detached_tree_held_by_fd(tmp_path, capsys):
    """If open_tree(OPEN_TREE_CLONE|AT_RECURSIVE) returns an fd, then the copied tree is a
    cluster of its own, labelled as detached and held by that fd (source: open_tree(2))."""
    t = tmp_path / "t.trace"
    t.write_text('# start-dirs: /a\nmount("tmpfs", "/a", "tmpfs", 0, NULL) = 0\n'
                 'mkdir("/a/x", 0755) = 0\nmount("tmpfs", "/a/x", "tmpfs", 0, NULL) = 0\n'
                 'open_tree(AT_FDCWD, "/a", OPEN_TREE_CLONE|AT_RECURSIVE) = 3\n')
    dot = draw(tmp_path, capsys, str(t))
    assert dot.clusters == ["cluster_ns0", "cluster_ns1", "cluster_legend"]
    assert "held by pid 1 fd 3" in dot.src
    assert len(dot.mounts(1)) == 2 and len(dot.edges_of("tree")) == 2 + 1 + 1


def test_several_tables_side_by_side(tmp_path, capsys):
    """If --from-mountinfo is given twice, then each table is its own cluster."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("1 0 0:1 / / rw - tmpfs t rw\n")
    b.write_text("5 0 0:1 / / rw - tmpfs t rw\n6 5 0:2 / /x rw - tmpfs t rw\n")
    dot = draw(tmp_path, capsys, "--from-mountinfo", str(a), "--from-mountinfo", str(b),
               "--no-legend")
    assert dot.clusters == ["cluster_ns0", "cluster_ns1"]
    assert len(dot.mounts(0)) == 1 and len(dot.mounts(1)) == 2


def test_propagation_view(tmp_path, capsys):
    """If --propagation is asked for, then each peer group is one node listing its members
    and each slave hangs below its master's group (sharedsubtree.rst §8; demo.trace: group
    1 is /srv and /mirror in both namespaces, /replica is its slave in each)."""
    dot = draw(tmp_path, capsys, str(MODELS / "demo.trace"), "--propagation")
    g1 = dot.nodes["group1"]["label"]
    assert g1.count("/srv ") == 2 and g1.count("/mirror ") == 2
    slaves_of_1 = [b for a, b, _ in dot.edges_of("master") if a == "group1"]
    assert len(slaves_of_1) == 2
    assert all("/replica " in dot.nodes[s]["label"] for s in slaves_of_1)


def test_filter_and_collapse(tmp_path, capsys):
    """If --filter /d1 is given, only mounts under /d1 and their parents are drawn; with
    --collapse /d1 the mounts below it fold into one node that counts them."""
    mi = tmp_path / "mi"
    mi.write_text(big_table(3, 4))
    dot = draw(tmp_path, capsys, "--from-mountinfo", str(mi), "--filter", "/d1")
    targets = sorted(a["label"].split("\n")[0] for a in dot.mounts(0).values())
    assert targets == ["/", "/d1"] + [f"/d1/s{j}" for j in range(4)]
    dot = draw(tmp_path, capsys, "--from-mountinfo", str(mi), "--collapse", "/d1")
    assert len(dot.mounts(0)) == 1 + 3 + 2 * 4
    assert "4 mounts below /d1" in dot.src


def big_table(groups: int, per: int) -> str:
    lines = ["1 0 0:1 / / rw - rootfs rootfs rw"]
    n = 2
    for i in range(groups):
        top = n
        lines.append(f"{n} 1 0:{n} / /d{i} rw shared:{i + 1} - tmpfs tmpfs rw")
        n += 1
        for j in range(per):
            lines.append(f"{n} {top} 0:{n} / /d{i}/s{j} rw master:{(i + 1) % groups + 1} - tmpfs tmpfs rw")
            n += 1
    return "\n".join(lines) + "\n"


@needs_dot
def test_thousand_mounts_render_in_seconds(tmp_path, capsys):
    """If a table has 1,000 mounts, then the SVG is written within a few seconds, one
    node per mount."""
    mi = tmp_path / "mi"
    mi.write_text(big_table(37, 26))
    t0 = time.perf_counter()
    assert main(["draw", "--from-mountinfo", str(mi), "-o", str(tmp_path / "big.svg")]) == 0
    assert time.perf_counter() - t0 < 10
    assert (tmp_path / "big.svg").read_text().count('class="node mount') == 1000


def test_bad_output_suffix_exit_2(tmp_path, capsys):
    """If -o names a format draw cannot write, then it exits 2 with one line."""
    assert main(["draw", str(MODELS / "demo.trace"), "-o", str(tmp_path / "x.pdf")]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1
