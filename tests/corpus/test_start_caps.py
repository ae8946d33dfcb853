"""The capability sets a recording starts with: `# start-caps:`, `replay --start-caps
FILE`, and `mountsim record`'s header.

The model's first process has this machine's sets unless told otherwise (a machine's
root may lack some: this one's CAP_SYS_RESOURCE). A recording made elsewhere carries its
own: its `PR_CAPBSET_READ` answers (systemd-nspawn reads all of them) and every capability
check follow them, whatever machine replays it.
"""

from __future__ import annotations

import pathlib

import pytest

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.cli import main
from mountsim.errors import TraceError
from mountsim.trace import record
from mountsim.trace.parse import parse_file, parse_text, start_caps, start_copy, start_table
from mountsim.trace.replay import replay

PROGRAMS = pathlib.Path(__file__).parent / "programs"
FULL = f"{uapi.CAP_FULL_SET:016x}"
TABLE = "22 1 0:20 / / rw,relatime shared:1 - tmpfs none rw\n"


def test_header_sets_the_bounding_set_prctl_reads():
    """If a trace says `# start-caps: CapBnd=…` without CAP_CHOWN (bit 0), then
    PR_CAPBSET_READ of CAP_CHOWN answers 0 and of CAP_KILL 1, as recorded; the same
    recorded answers against full sets differ at the first line."""
    body = ("prctl(PR_CAPBSET_READ, CAP_CHOWN) = 0\n"
            "prctl(PR_CAPBSET_READ, CAP_KILL) = 1\n")
    with_caps = parse_text(f"# main-pid: 1\n# start-caps: CapBnd={uapi.CAP_FULL_SET & ~1:x}\n" + body)
    assert with_caps.start_caps == {"CapBnd": uapi.CAP_FULL_SET & ~1}
    assert replay(with_caps, ModelBackend().start(with_caps)).diffs == []
    full = parse_text(f"# main-pid: 1\n# start-caps: CapBnd={FULL}\n" + body)
    assert [d.split(":")[1] for d in replay(full, ModelBackend().start(full)).diffs] == ["3"]


@pytest.mark.parametrize("header,message", [
    ("CapBnd", "expected NAME=HEX"),
    ("CapFoo=1", "expected NAME=HEX"),
    ("CapEff=xyz", "'xyz' is not a hex number"),
])
def test_bad_header_is_a_one_line_error(header, message):
    """If `# start-caps:` is malformed, then parsing stops with the file and line."""
    with pytest.raises(TraceError) as e:
        parse_text(f"# main-pid: 1\n# start-caps: {header}\nprctl(PR_GET_KEEPCAPS) = 0\n", "t.trace")
    assert str(e.value).startswith("t.trace:2: start-caps: ") and message in str(e.value)


def test_recording_replays_only_with_its_machines_sets(tmp_path):
    """If systemd-nspawn's recording (made on a machine whose root lacks CAP_SYS_RESOURCE)
    is replayed with that machine's sets, then its PR_CAPBSET_READ of CAP_SYS_RESOURCE
    agrees (0); given full sets instead it differs exactly there (line 2095): the file,
    not the replaying machine, decides."""
    def diffs(caps_file: str) -> list[int]:
        program = parse_file(str(PROGRAMS / "systemd-nspawn.strace"))
        start_table(program, str(PROGRAMS / "systemd-nspawn.mountinfo"))
        start_copy(program, str(PROGRAMS / "systemd-nspawn.copy"))
        start_caps(program, caps_file)
        return [int(d.split(":")[1]) for d in replay(program, ModelBackend().start(program)).diffs]
    full = tmp_path / "full.caps"
    full.write_text(f"Name:\tbash\nCapInh:\t0\nCapPrm:\t{FULL}\nCapEff:\t{FULL}\nCapBnd:\t{FULL}\n")
    assert 2095 not in diffs(str(PROGRAMS / "recording.caps"))
    assert 2095 in diffs(str(full))


def test_start_caps_file_errors_name_the_file(tmp_path, capsys):
    """If `replay --start-caps` names a missing file or one with no Cap* lines, then it is
    one line naming the file, exit 2, no traceback."""
    trace = tmp_path / "t.trace"
    trace.write_text("# main-pid: 1\nprctl(PR_GET_KEEPCAPS) = 0\n")
    empty = tmp_path / "status"
    empty.write_text("Name:\tsh\n")
    assert main(["replay", str(trace), "--start-caps", str(tmp_path / "nope")]) == 2
    assert main(["replay", str(trace), "--start-caps", str(empty)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"mountsim: {tmp_path / 'nope'}:0: cannot read")
    assert err[1].startswith(f"mountsim: {empty}:0: no capability sets")


def test_record_writes_the_sets_the_command_started_with():
    """If `mountsim record` renders a trace, then its header names the sets (this
    process's, which strace and the command inherit), and the trace parses back to them."""
    rec = record.build("100 mount(\"none\", \"/\", NULL, MS_REC|MS_SHARED, NULL) = 0\n"
                       "100 exit_group(0) = ?\n", {100: TABLE})
    text = record.render(rec, TABLE, ["cmd"], holder=None,
                         caps={"CapInh": 0, "CapPrm": 5, "CapEff": 4, "CapBnd": 7, "CapAmb": 0})
    assert "# start-caps: CapInh=0000000000000000 CapPrm=0000000000000005" in text
    assert parse_text(text).start_caps == {"CapInh": 0, "CapPrm": 5, "CapEff": 4, "CapBnd": 7,
                                           "CapAmb": 0}


def test_a_runner_without_capabilities_still_simulates_root_with_the_bounding_set():
    """If mountsim runs with no capabilities of its own (here uid 0 under SECBIT_NOROOT,
    as an unprivileged user would), then the model's first process still starts with what
    a root shell here has: the bounding set (the demo trace replays green), not the
    runner's empty permitted and effective sets."""
    import os
    import shutil
    import subprocess
    import sys
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and util-linux setpriv to drop the capabilities")
    root = pathlib.Path(__file__).resolve().parents[2]
    code = ("import sys; from mountsim.user_namespace import host_caps; "
            "from mountsim.cli import main; c = host_caps(); "
            "own = [l for l in open('/proc/self/status') if l.startswith('CapEff:')]; "
            "print(int(own[0].split()[1], 16) == 0 and c['CapEff'] == c['CapBnd'] != 0); "
            f"sys.exit(main(['replay', '-q', {str(root / 'models' / 'demo.trace')!r}]))")
    done = subprocess.run(["setpriv", "--securebits", "+noroot", "--inh-caps", "-all",
                           sys.executable, "-c", code], capture_output=True, text=True,
                          cwd="/", env={**os.environ, "PYTHONPATH": str(root)}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "True"
