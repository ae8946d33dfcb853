"""`mountsim` start-up: what a command imports, in a fresh interpreter (issue #9).

`mountsim replay` of a small trace should cost little more than the model it runs: the
parser imports only the chosen subcommand's module, replay's own rarely used parts
(--explain, --frames, several --kernel versions) load when asked for, and the common shapes
of a strace call are read without lark (trace/quickcall.py). No timing is asserted (the
machine may be shared); what is asserted is which modules a run has loaded, which decides
most of the time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Never needed to replay a trace on the model.
HEAVY = ("hypothesis", "graphviz", "lark", "mountsim.render", "mountsim.vm",
         "mountsim.backends.live", "mountsim.backends.sandbox", "mountsim.backends.recorder",
         "mountsim.backends.vm",
         "mountsim.gen", "mountsim.differential", "mountsim.trace.record",
         "mountsim.trace.compare", "mountsim.commands.fuzz", "mountsim.commands.bench",
         "mountsim.commands.draw", "mountsim.commands.record", "mountsim.commands.diff")

# Runs mountsim's own entry point, then reports the modules loaded (atexit: after main).
PROBE = """
import atexit, json, sys
atexit.register(lambda: print("MODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["mountsim"] + sys.argv[1:]
from mountsim.cli import main
sys.exit(main())
"""


def run_mountsim(*args: str, cwd: Path) -> tuple[int, str, str, set[str]]:
    env = dict(os.environ, MOUNTSIM_CACHE=str(cwd / "cache"))
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                       cwd=cwd, env=env, timeout=120)
    err, _, mods = r.stderr.rpartition("MODULES ")
    assert mods, r.stderr
    return r.returncode, r.stdout, err, set(json.loads(mods))


def loaded(modules: set[str], prefix: str) -> list[str]:
    return sorted(m for m in modules if m == prefix or m.startswith(prefix + "."))


def test_replay_of_common_lines_loads_nothing_heavy(tmp_path):
    """If a trace has only the common call shapes (strings, numbers, flags, NULL, structs,
    errno results, `?`), then replay answers as always and loads none of HEAVY: no lark,
    Hypothesis, graphviz, renderers, VM or live backends, other subcommands."""
    trace = tmp_path / "one.trace"
    trace.write_text('mkdir("/a", 0755) = 0\n'
                     'mount("tmpfs", "/a", "tmpfs", MS_NOSUID|MS_NODEV, NULL) = 0\n'
                     'mount("none", "/nonexistent", NULL, MS_BIND, NULL) = -1 ENOENT '
                     '(No such file or directory)\n'
                     'mount_setattr(AT_FDCWD, "/a", 0, {attr_set=MOUNT_ATTR_RDONLY, '
                     'attr_clr=0, propagation=0, userns_fd=0}, 32) = 0\n'
                     'exit_group(0) = ?\n')
    rc, out, err, mods = run_mountsim("replay", str(trace), cwd=tmp_path)
    assert (rc, out, err) == (0, f"{trace}: 5 calls, ok\n", "")
    assert [m for h in HEAVY for m in loaded(mods, h)] == []


def test_replay_of_a_rare_shape_still_parses_with_lark(tmp_path):
    """If a line has a shape only the Lark grammar reads (a comment, an array), then lark is
    loaded for it and the replay is the same as before."""
    trace = tmp_path / "rare.trace"
    trace.write_text('mkdir("/a", 0755 /* rwxr-xr-x */) = 0\n'
                     'mount("tmpfs", "/a", "tmpfs", 0, NULL) = 0\n')
    rc, out, err, mods = run_mountsim("replay", str(trace), cwd=tmp_path)
    assert (rc, out, err) == (0, f"{trace}: 2 calls, ok\n", "")
    assert loaded(mods, "lark")
    assert list((tmp_path / "cache" / "grammar").glob("*.lark")), "the built parser is kept"
    rc2, out2, err2, _ = run_mountsim("replay", str(trace), cwd=tmp_path)   # from the cache
    assert (rc2, out2, err2) == (rc, out, err)


def test_bad_line_is_one_line_error(tmp_path):
    """If a line cannot be parsed, then the error is still Lark's one line, exit 2."""
    trace = tmp_path / "bad.trace"
    trace.write_text("mount(garbage\n")
    rc, out, err, _ = run_mountsim("replay", str(trace), cwd=tmp_path)
    assert (rc, out) == (2, "")
    assert err == f"mountsim: {trace}:1: cannot parse the call at column 7: 'mount(garbage'\n"


def test_top_level_help_lists_every_command_without_importing_them(tmp_path):
    """If `mountsim --help` runs, then every subcommand is listed and no subcommand
    module is imported to do it."""
    from mountsim.cli import COMMANDS
    rc, out, _, mods = run_mountsim("--help", cwd=tmp_path)
    assert rc == 0
    for name in COMMANDS:
        assert f"    {name} " in out
    assert loaded(mods, "mountsim.commands") in ([], ["mountsim.commands"])


@pytest.mark.parametrize("name", ["demo", "replay", "diff", "record", "fuzz", "bench", "show",
                                  "draw", "why"])
def test_each_command_help_imports_only_that_command(tmp_path, name):
    """If `mountsim NAME --help` runs, then NAME's own options are shown (its module was
    imported) and no subcommand module that NAME's own does not import."""
    rc, out, _, mods = run_mountsim(name, "--help", cwd=tmp_path)
    assert rc == 0 and out.startswith(f"usage: mountsim {name} ")
    alone = subprocess.run([sys.executable, "-c", f"import json, sys, mountsim.commands.{name}; "
                            "print(json.dumps(sorted(sys.modules)))"], capture_output=True,
                           text=True, cwd=tmp_path, timeout=120, check=True)
    own = set(json.loads(alone.stdout))
    assert f"mountsim.commands.{name}" in mods
    assert loaded(mods, "mountsim.commands") == loaded(own, "mountsim.commands")


def test_unknown_command_is_argparse_error(tmp_path):
    """If the command is unknown, then argparse's usage error, exit 2, as before."""
    rc, out, err, _ = run_mountsim("frobnicate", cwd=tmp_path)
    assert rc == 2 and out == ""
    assert "invalid choice: 'frobnicate'" in err


def test_zygote_imports_neither_attrs_nor_threading():
    """If the live backend's zygote boots (its boot line up to the call of zygote_boot()),
    then it has loaded neither attrs nor threading nor the trace package's Program.

    Why it matters: every sandbox process is a fork of the zygote, and threading (which attrs
    imports) registers an at-fork hook that runs Python code in every child; on this
    machine that was ~190 page faults and ~0.3 ms of CPU per sandbox process, and a live
    campaign is bound by that CPU (backends/sandbox.py, README "Performance")."""
    from mountsim.backends import sandbox

    boot, call, _ = sandbox.ZYGOTE_BOOT.rpartition("; zygote_boot()")
    assert call, sandbox.ZYGOTE_BOOT
    probe = boot + "; print(json.dumps(sorted(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", probe, "-", "{}", json.dumps(sys.path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    mods = set(json.loads(r.stdout))
    assert "mountsim.backends.sandbox" in mods
    assert [m for h in ("attr", "attrs", "threading", "mountsim.trace.program",
                        "mountsim.backends.live") for m in loaded(mods, h)] == []
