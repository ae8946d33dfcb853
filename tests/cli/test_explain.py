"""`mountsim replay --explain` and `mountsim why`: reasons kept as data, printed per line.

Expected facts come from the traces' comments and expect-tree blocks (recorded on Linux
6.18) and from the kernel source the rules live in (fs/namespace.c).
"""

from __future__ import annotations

from pathlib import Path

from mountsim.cli import main
from mountsim.render.explain import trace_file

MODELS = Path(__file__).resolve().parents[2] / "models"
DEMO = str(MODELS / "demo.trace")
LOCKED = str(MODELS / "recorded-unshare-userns-locked.trace")


def story(tracer, line: int):
    return next(s for s in tracer.stories if s.line == line)


def test_refusal_names_rule_function_and_file():
    """If a bind's source is unbindable, then the refusal is EINVAL from __do_loopback() in
    fs/namespace.c and names the unbindable mount (source: demo.trace line 19; mount(2)
    EINVAL for an unbindable source)."""
    t, _ = trace_file(DEMO)
    r = story(t, 19).refusal
    assert (r.errno, r.where, r.source) == ("EINVAL", "__do_loopback", "fs/namespace.c")
    assert any(o.startswith("/sealed is on /sealed (id 8") and "unbindable" in o for o in r.objects)


def test_propagated_copies_and_their_paths():
    """If a mount lands under a shared mount in a cloned namespace, then every copy is
    reported with its receiver: peers /srv and /mirror get peers, the slaves /replica get
    slaves (source: demo.trace's comment and expect-tree: /mirror/data shared:2,
    /replica/data master:2; sharedsubtree.rst §2)."""
    t, _ = trace_file(DEMO)
    props = story(t, 21).propagated
    got = sorted((p.copy.target, p.receiver.target) for p in props)
    assert got == [("/mirror/data", "/mirror"), ("/mirror/data", "/mirror"),
                   ("/replica/data", "/replica"), ("/replica/data", "/replica"),
                   ("/srv/data", "/srv")]
    for p in props:
        if p.receiver.target == "/replica":
            assert p.relation.startswith("a slave of peer group") and p.copy_of.startswith("a slave of")
        else:
            assert p.relation.startswith("a peer of the destination")


def test_replay_explain_prints_locked_umount(capsys):
    """If umount2() meets a MNT_LOCKED mount in a user namespace's mount namespace, then
    --explain names can_umount() and says the mount was copied into that namespace, owned by
    a user namespace, at the unshare line (source: recorded-unshare-userns-locked.trace,
    lines 22 and 25, recorded on Linux 6.18)."""
    assert main(["replay", "--explain", LOCKED]) == 0
    out = capsys.readouterr().out.splitlines()
    i = out.index(f'{LOCKED}:25: [pid 9844] umount2("/srv", 0) = -1 EINVAL')
    assert out[i + 1] == "  refused EINVAL: mount is locked (MNT_LOCKED) — can_umount() in fs/namespace.c"
    assert out[i + 2].startswith("    involved: /srv is on /srv (id 8, tmpfs, master:5, MNT_LOCKED")
    assert "line 22: copied into mnt:[" in out[i + 2] and "owned by user:[" in out[i + 2]


def test_why_tells_the_history_line_by_line(capsys):
    """If a mount was created and then copied into a new namespace, then `why` prints the
    original's creation (line 19) before the copy (line 22)."""
    assert main(["why", LOCKED, "/srv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("/srv (id 8, tmpfs, master:5, MNT_LOCKED")
    assert out[1].startswith("  (as id 1) line 19: created by [pid 9842] mount(\"outer\", \"/srv\"")
    assert out[2].startswith("  line 22: copied into mnt:[")


def test_why_propagated_mount(capsys):
    """If a mount came by propagation, then `why` says through which receiver."""
    assert main(["why", DEMO, "/replica/data"]) == 0
    out = capsys.readouterr().out
    assert "line 21: created by propagation" in out and "mounted on /replica (id 13)" in out


def test_why_not_a_mount_point(capsys):
    """If PATH is not a mount point, then `why` says what it lies on and exits 1."""
    assert main(["why", DEMO, "/srv/data/x"]) == 1
    assert "it lies on /srv/data (id 16" in capsys.readouterr().out
