"""The live backend's speed-ups keep its behaviour (issue #9, performance): a process's steps
run ahead in one message give the same results, refusals and final tables as in lockstep;
sandboxes set up ahead of time are reaped; a zygote that cannot be a fresh interpreter is
the forked one.

Every expectation is the lockstep backend's own behaviour, observed side by side.
"""

from __future__ import annotations

import os

import pytest

from mountsim.backends import live as live_mod
from mountsim.backends import sandbox as sandbox_mod
from mountsim.backends.live import LiveBackend, LiveError
from mountsim.backends.model import ModelBackend
from mountsim.differential import run_pair, same_result, tables
from mountsim.errors import StepRefused
from mountsim.trace.parse import parse_text
from mountsim.trace.program import Program, Step

pytestmark = pytest.mark.live


def _children() -> set[int]:
    out: set[int] = set()
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/children") as f:
            out.update(int(p) for p in f.read().split())
    return out


def _run(backend, program: Program, run_ahead: bool):
    """(results, index of the refused step or None, final tables or None)."""
    s = backend.start(program)
    s.run_ahead = run_ahead
    results, refused = [], None
    try:
        for i, step in enumerate(program.steps):
            if step.pid not in s.pids():
                results.append(None)
                continue
            try:
                results.append(s.execute(step))
            except StepRefused:
                refused = i
                break
        return results, refused, (tables(s) if refused is None else None)
    finally:
        s.close()


def test_run_ahead_same_as_lockstep(live):
    """If generated programs run with and without run-ahead, then every step's result (as
    the differential runner compares them), the refused step and the final tables agree."""
    from mountsim.commands.bench import generate
    for program in generate(80, 4243):
        ra, rf_a, ta = _run(live, program, True)
        rb, rf_b, tb = _run(live, program, False)
        assert rf_a == rf_b
        assert len(ra) == len(rb)
        for step, a, b in zip(program.steps, ra, rb):
            assert (a is None) == (b is None)
            if a is not None:
                assert same_result(step, a, b), (step, a, b)
        assert ta == tb


def test_mountinfo_between_run_ahead_steps_raises(live):
    """If a table is read while steps sent ahead are not all taken, then the session says
    so rather than show later steps' mounts; with run_ahead off, it is read as ever."""
    program = parse_text('# main-pid: 1\n# start-dirs: /a /b\n'
                         'mount("none", "/a", "tmpfs", 0, NULL) = 0\n'
                         'mount("none", "/b", "tmpfs", 0, NULL) = 0\n', "<t>")
    with live.start(program) as s:
        s.execute(program.steps[0])
        with pytest.raises(LiveError):
            s.mountinfo(1)
        s.execute(program.steps[1])
        assert len(s.mountinfo(1).splitlines()) == 3
    with live.start(program) as s:
        s.run_ahead = False
        s.execute(program.steps[0])
        assert len(s.mountinfo(1).splitlines()) == 2


@pytest.mark.parametrize("text, index", [
    # the guard in the sandbox refuses a write to a sysctl file: the step in the middle
    ('# main-pid: 1\n# start-dirs: /d /mnt\n'
     'mkdir("/mnt/before", 0755) = 0\n'
     'mount("proc", "/d", "proc", 0, NULL) = 0\n'
     'openat(AT_FDCWD, "/d/sys/fs/mount-max", O_WRONLY) = 3\n'
     'mkdir("/mnt/after", 0755) = 0\n', 2),
    # the controller refuses a step from its text (a filesystem type): the batch ends before it
    ('# main-pid: 1\n# start-dirs: /mnt\n'
     'mkdir("/mnt/before", 0755) = 0\n'
     'mount("sysfs", "/mnt", "sysfs", 0, NULL) = 0\n'
     'mkdir("/mnt/after", 0755) = 0\n', 1),
], ids=["guard-in-sandbox", "controller"])
def test_refusal_stops_a_run_ahead_batch(live, text, index):
    """If a step in the middle of a process's run of steps is refused (by the sandbox's
    guard or by the controller), then the steps before it ran, it and those after it did
    not (the sandbox stops there)."""
    program = parse_text(text, "<t>")
    with live.start(program) as s:
        div = run_pair(program, ModelBackend().start(program), s)
        root = f"/proc/{s.procs[1].host_pid}/root"
        assert div is not None and div.refused is not None and div.index == index
        assert os.path.isdir(f"{root}/mnt/before")
        assert not os.path.exists(f"{root}/mnt/after")


def test_steps_out_of_order_are_an_error(live):
    """If a caller skips a step the sandbox already ran ahead, then execute() says so, then
    and for every step after (their answers are still on the way)."""
    program = parse_text('# main-pid: 1\n# start-dirs: /a /b\n'
                         'mkdir("/a/x", 0755) = 0\nmkdir("/b/y", 0755) = 0\n'
                         'mkdir("/a/z", 0755) = 0\n', "<t>")
    with live.start(program) as s:
        s.execute(program.steps[0])
        with pytest.raises(LiveError):
            s.execute(program.steps[2])
        with pytest.raises(LiveError):             # and the session runs nothing more
            s.execute(program.steps[1])


def _sandboxes_made_ahead_are_reaped() -> None:
    before = _children()
    backend = LiveBackend()
    try:
        for _ in range(5):
            with backend.start(Program(start_dirs=["/a"])) as s:
                s.execute(Step(pid=1, name="fork", args=(), label=2))
        with backend.start(Program(start_dirs=["/b"])):
            pass                                   # other start_dirs: the pool is replaced
        assert len(backend._pool) == live_mod.POOL
        assert all(p.start_dirs == ["/b"] for p in backend._pool)
        assert _children() - before                # the zygote and the pool's inits
    finally:
        backend.close()
    assert _children() == before


def test_sandboxes_made_ahead_are_reaped(live):
    """If sessions run and the backend closes, then no child of ours is left: no sandbox
    init (used, or made ahead of time) and no zygote. (In a forked process: the session's
    own backend makes children of this one meanwhile.)"""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # pragma: no cover - child
        os.close(r)
        try:
            _sandboxes_made_ahead_are_reaped()
            os.write(w, b"ok")
        except BaseException as e:                 # noqa: BLE001 - reported to the parent
            os.write(w, repr(e).encode()[:4000])
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        said = f.read().decode()
    os.waitpid(pid, 0)
    assert said == "ok", said


def test_zygote_falls_back_to_fork(monkeypatch):
    """If the fresh interpreter does not match this process's sources, then the zygote is
    the forked process, and sandboxes work the same."""
    monkeypatch.setattr(sandbox_mod, "STAMP", "not this source")
    backend = LiveBackend()
    if backend.unavailable():
        pytest.skip(backend.unavailable())
    try:
        with backend.start(Program(start_dirs=["/a"])) as s:
            with open(f"/proc/{backend.zygote().pid}/cmdline", "rb") as f:
                assert b"zygote_boot" not in f.read()
            assert s.execute(Step(pid=1, name="mkdir", args=("/a/x", 0o755))).errno is None
    finally:
        backend.close()
