"""Model-only property tests: kernel invariants hold after every step of generated programs."""

from hypothesis import HealthCheck, given, settings

from mountsim.backends.model import ModelBackend
from mountsim.gen import programs
from tests.property.invariants import check


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_invariants_after_every_step(program):
    """If any generated program runs on the model, then after every step the mount tree is
    a tree, the ns index agrees with it, peer rings match group ids, masters are acyclic,
    no T_* scratch flags are left and (parent, mountpoint) hash entries are consistent
    (source: fs/mount.h, fs/pnode.c invariants; style card "tests/property")."""
    s = ModelBackend().start(program)
    seen_unique: set[int] = set()
    for step in program.steps:
        if step.pid not in s.pids():
            continue
        s.execute(step)
        errs = check(s.k)
        assert not errs, f"after {step.name}{step.args}: {errs}"
        for t in s.k.tasks.values():
            for uid in t.mnt_ns.mounts:
                seen_unique.add(uid)
    assert len(seen_unique) == len(set(seen_unique))


@settings(max_examples=200, deadline=None)
@given(programs())
def test_failed_calls_change_nothing(program):
    """If a call fails, then the mount table of every process is unchanged (source: the
    kernel does every fallible check before the first change; style card "How errno flows")."""
    s = ModelBackend().start(program)
    for step in program.steps:
        if step.pid not in s.pids():
            continue
        before = {p: s.mountinfo(p) for p in s.pids()}
        res = s.execute(step)
        if res.errno:
            after = {p: s.mountinfo(p) for p in before if p in s.pids()}
            assert after == {p: before[p] for p in after}, f"{step.name}{step.args} -> {res}"
