"""Model-only property tests: kernel invariants hold after every step of generated programs."""

from hypothesis import HealthCheck, given, settings

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.gen import programs
from tests.property.invariants import check, exposed_locked, locked_places, namespaces_of


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_invariants_after_every_step(program):
    """If any generated program runs on the model, then after every step the mount tree is
    a tree, every mount of a namespace (detached trees held by fds included) is reachable
    from its root and the ordered index agrees, peer rings match group ids, masters are
    acyclic, no T_* scratch flags are left, (parent, mountpoint) hash entries are
    consistent, no locked mount left its mountpoint alone, and no unique id names two
    mounts (source: fs/mount.h, fs/pnode.c invariants; mount_namespaces(7) on MNT_LOCKED;
    statmount(2): mnt_id is never reused)."""
    s = ModelBackend().start(program)
    by_unique: dict[int, object] = {}
    for step in program.steps:
        if step.pid not in s.pids():
            continue
        locked = locked_places(s.k)
        s.execute(step)
        errs = check(s.k) + exposed_locked(locked, s.k)
        assert not errs, f"after {step.name}{step.args}: {errs}"
        for ns in namespaces_of(s.k).values():
            for m in ns.mounts:
                uid = m.unique_id
                assert by_unique.setdefault(uid, m) is m, f"unique id {uid} reused by {m}"


# mount(2) flags that make the call something other than a new mount (path_mount()).
NOT_NEW = (uapi.MS_REMOUNT | uapi.MS_BIND | uapi.MS_MOVE | uapi.MS_SHARED | uapi.MS_SLAVE
           | uapi.MS_PRIVATE | uapi.MS_UNBINDABLE)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_slaves_receive_every_new_mount(program):
    """If a new mount lands on a shared mount M at dentry d, then every peer and slave of M
    whose root contains d has a mount on d afterwards (source: sharedsubtree.rst 2a/2b,
    fs/pnode.c propagate_mnt(): events go to every peer and, down the master chain, to
    every slave that can see the mountpoint, except detached trees)."""
    from mountsim import pnode
    from mountsim.fs import is_subdir
    from mountsim.namei import user_path_at
    from mountsim.namespace import lock_mount
    s = ModelBackend().start(program)
    for step in program.steps:
        if step.pid not in s.pids():
            continue
        target = None
        if step.name == "mount" and step.args[2] == "tmpfs" and not step.args[3] & NOT_NEW:
            try:
                task = s.task(step.pid)
                target, mp = lock_mount(s.k, user_path_at(s.k, task, -100, step.args[1]))
            except Exception:          # the call will fail on its own; nothing to check
                target = None
        res = s.execute(step)
        if res.errno or target is None or not target.mnt.is_shared:
            continue
        origin = target.mnt
        m = pnode.propagation_next(origin, origin)
        while m is not None:
            if m.ns is not None and not m.ns.is_anon and is_subdir(mp, m.root):  # need_secondary()
                assert s.k.lookup_mnt(m, mp) is not None, f"{m} missed the mount on {mp}"
            m = pnode.propagation_next(m, origin)


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
