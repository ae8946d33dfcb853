"""`mountsim replay --kernel A,B FILE`: one trace under several kernels, the calls where
they answer differently. Expected answers come from the kernels, cited per test."""

from __future__ import annotations

from mountsim.cli import main

TRACE = """# kernel: 6.18
# start-dirs: /srv
mount("tmpfs", "/srv", "tmpfs", 0, NULL) = 0
open_tree(AT_FDCWD, "/srv", OPEN_TREE_NAMESPACE|OPEN_TREE_CLOEXEC) = -1 EINVAL (Invalid argument)
mkdir("/srv/x", 0755) = 0
"""


def test_versions_that_differ_are_named_per_line(tmp_path, capsys):
    """If a trace calls open_tree(OPEN_TREE_NAMESPACE), then 6.18 answers EINVAL (an
    unknown flag: open_tree() checks flags against its valid mask; observed on this host's
    6.18, the recorded result above) and 7.0 returns a namespace fd (source: seed 000,
    "mount: add OPEN_TREE_NAMESPACE"; selftests/filesystems/open_tree_ns), so exactly that
    line is printed with both answers, and the exit status is the recording's own (6.18:
    its recorded results hold, 0)."""
    f = tmp_path / "t.trace"
    f.write_text(TRACE)
    assert main(["replay", "--kernel", "6.18,7.0", str(f)]) == 0
    out = capsys.readouterr().out.splitlines()
    differing = [ln for ln in out if ": 6.18: " in ln]
    assert differing == [f"{f}:4: open_tree(AT_FDCWD, \"/srv\", OPEN_TREE_NAMESPACE|OPEN_TREE_CLOEXEC)"
                         " = -1 EINVAL (Invalid argument): 6.18: -1 EINVAL; 7.0: ok"]
    assert out[-1].endswith("recorded results under 6.18: ok")


def test_unknown_version_is_a_usage_error(tmp_path, capsys):
    """If a version is not in the table, then argparse refuses it: exit 2, and the message
    lists the known versions."""
    f = tmp_path / "t.trace"
    f.write_text(TRACE)
    try:
        main(["replay", "--kernel", "6.18,9.9", str(f)])
    except SystemExit as e:
        assert e.code == 2
    else:
        raise AssertionError("expected a usage error")
    assert "unknown kernel version '9.9'" in capsys.readouterr().err
