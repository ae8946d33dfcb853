"""The model's seq_file reader against the running kernel's, on the same mountinfo text.

A child in a private mount namespace (`unshare -m --propagation private`) adds 40 tmpfs
mounts with long mount points (so the table passes PAGE_SIZE), then reads its
/proc/self/mountinfo in chunks of several sizes; mountsim.seq_file replays the same lines
with the same chunk sizes. Every read(2) must return the same number of bytes, and a
reader that stops after the records before a mount that is then unmounted must see the
last mount once (6.18.44 carries the 4a403d7aa907 fix, `mountinfo_pos_is_mnt_id`).
The host table is untouched (the conftest guard checks it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

from mountsim.seq_file import SeqFile, seq_read_iter
from tests.unit.test_seq_file import ListOp

pytestmark = pytest.mark.live

CHILD = textwrap.dedent("""
    import json, os, subprocess
    top = TOP
    subprocess.check_call(["mount", "-t", "tmpfs", "top", top])
    for i in range(40):
        p = os.path.join(top, "d" * 30 + str(i)); os.mkdir(p)
        subprocess.check_call(["mount", "-t", "tmpfs", "x", p])
    lines = open("/proc/self/mountinfo").read().splitlines(keepends=True)
    sizes = {}
    for want in WANTS:
        fd = os.open("/proc/self/mountinfo", os.O_RDONLY); got = []
        while (d := os.read(fd, want)):
            got.append(len(d))
        os.close(fd); sizes[want] = got
    # stop right before the second-to-last mount, unmount it, read the rest
    fd = os.open("/proc/self/mountinfo", os.O_RDONLY)
    for line in lines[:-2]:
        assert os.read(fd, len(line.encode())) == line.encode()
    subprocess.check_call(["umount", lines[-2].split()[4]])
    rest = b""
    while (d := os.read(fd, 4096)):
        rest += d
    print(json.dumps({"lines": lines, "sizes": sizes, "rest": rest.decode()}))
""")
WANTS = [1, 7, 100, 333, 4096, 5000, 100000]


def _child_run() -> dict:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount namespace")
    with tempfile.TemporaryDirectory(prefix="mountsim-seq-") as top:
        code = CHILD.replace("WANTS", repr(WANTS)).replace("TOP", repr(top))
        out = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-c",
                              code], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        pytest.skip(f"the private namespace could not be set up: {out.stderr.strip()[-200:]}")
    return json.loads(out.stdout)


def test_read_sizes_match_the_kernel():
    """If the same mountinfo lines are read in chunks of 1 to 100000 bytes, then every
    read(2) returns as many bytes in the model as on the kernel (source: the running
    kernel; fs/seq_file.c seq_read_iter())."""
    run = _child_run()
    for want in WANTS:
        m, pos, model = SeqFile(ListOp(run["lines"])), 0, []
        while True:
            data, pos = seq_read_iter(m, pos, want)
            if not data:
                break
            model.append(len(data))
        assert model == run["sizes"][str(want)], f"chunk size {want}"


def test_restart_after_unmount_shows_last_mount_once():
    """If the mount at the reader's position is unmounted between reads, then the rest of
    the read is the last mount's line once (source: the running kernel, which has
    4a403d7aa907; the 6.18 row's mountinfo_pos_is_mnt_id=True)."""
    run = _child_run()
    assert run["rest"] == run["lines"][-1]
