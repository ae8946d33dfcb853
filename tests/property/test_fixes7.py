"""Properties the 7.0-rc2 fixes guarantee, with teeth: each holds on the fixed rows and
Hypothesis finds its counterexample on the pre-fix row (`7.0-rc1`).

"A failed namespace creation leaves every peer group as it was" — commit a41dbf5e004e
("mount: hold namespace_sem across copy in create_new_namespace()", seed 002): before it,
"If that fails or the subsequent do_loopback() fails we rely on the copy of the real root
mount to be cleaned up by path_put(). The problem is that this doesn't deal with mount
propagation and will leave the mounts linked in the propagation lists."
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mountsim import uapi
from mountsim.backends.model import ModelBackend
from mountsim.trace.program import Program, Step
from tests.property.invariants import namespaces_of

# Ways to reach a shared or dependent namespace root and to fail a namespace creation after
# the root was copied (create_new_namespace(): the source of open_tree(OPEN_TREE_NAMESPACE)
# is a detached mount, refused by may_copy_tree() once the copy exists).
SETUP = [("mount", ("proc", "/proc", "proc", 0, None)),
         ("open", ("/proc/self/ns/mnt", uapi.O_RDONLY), 3),
         ("open", ("/tmp", uapi.O_RDONLY | uapi.O_PATH), 4)]
OPS = {
    # detach the tmpfs and then the rootfs on top of the nullfs root; setns() lands the
    # task on what is left (copy-ns-one-lock*.trace)
    "expose-root": [("umount2", ("/", uapi.MNT_DETACH)), ("setns", (3, uapi.CLONE_NEWNS)),
                    ("umount2", ("/", uapi.MNT_DETACH)), ("setns", (3, uapi.CLONE_NEWNS))],
    "shared": [("mount", (None, "/", None, uapi.MS_SHARED, None))],
    "slave": [("mount", (None, "/", None, uapi.MS_SLAVE, None))],
    "private": [("mount", (None, "/", None, uapi.MS_PRIVATE, None))],
    "child-copy": [("fork", (), 101), ("unshare", (uapi.CLONE_NEWNS,), None, 101)],
    "fail-create": [("open_tree", (4, "", uapi.OPEN_TREE_NAMESPACE | uapi.AT_EMPTY_PATH))],
    "create": [("open_tree", (uapi.AT_FDCWD, "/", uapi.OPEN_TREE_NAMESPACE), 20)],
}
NS_CREATING = {"open_tree": uapi.OPEN_TREE_NAMESPACE, "fsmount": uapi.FSMOUNT_NAMESPACE}


def program(ops: list[str]) -> Program:
    steps = []
    for name, args, *rest in SETUP + [s for op in ops for s in OPS[op]]:
        label = rest[0] if rest else None
        pid = rest[1] if len(rest) > 1 else 100
        steps.append(Step(pid, name, args, label=label, line=len(steps) + 1))
    return Program(file="<property>", main_pid=100, start_dirs=["/proc", "/tmp"], steps=steps)


def peer_groups(k) -> dict[int, tuple]:
    """unique id -> (its peer ring's unique ids, its master's) for every mount of a live
    namespace; ring members without a namespace (freed copies) included."""
    out = {}
    for ns in namespaces_of(k).values():
        for m in ns:
            ring, p = [m.unique_id], m.next_peer()
            while p is not m:
                ring.append(p.unique_id)
                p = p.next_peer()
            out[m.unique_id] = (tuple(sorted(ring)), m.master.unique_id if m.master else None)
    return out


def failed_creations_keep_groups(kernel: str, ops: list[str]) -> None:
    """Run the program; after each failed namespace creation the groups are unchanged."""
    p = program(ops)
    s = ModelBackend(kernel).start(p)
    for step in p.steps:
        if step.pid not in s.pids():
            continue
        creating = step.name in NS_CREATING and step.args[-1] & NS_CREATING[step.name]
        before = peer_groups(s.k) if creating else None
        got = s.execute(step)
        if creating and got.errno:
            assert peer_groups(s.k) == before, f"line {step.line}: {step.name} failed with " \
                f"{got.errno} and changed the peer groups"


OPS_LISTS = st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=8)


@pytest.mark.parametrize("kernel", ["7.0", "7.1", "7.3"])
def test_failed_creation_leaves_groups_alone(kernel):
    """If a namespace creation fails, then every peer group is as it was (7.0-rc2 on)."""
    @settings(max_examples=300, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(OPS_LISTS)
    def prop(ops):
        failed_creations_keep_groups(kernel, ops)
    prop()


def test_hypothesis_finds_the_pre_fix_bug():
    """If the kernel is 7.0-rc1, then Hypothesis finds a program whose failed creation left
    the copy of the shared root in the peer ring (the bug the fix removed)."""
    found: list[list[str]] = []

    @settings(max_examples=1000, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(OPS_LISTS)
    def prop(ops):
        try:
            failed_creations_keep_groups("7.0-rc1", ops)
        except AssertionError:
            found.append(ops)
            raise
    with pytest.raises(AssertionError, match="changed the peer groups"):
        prop()
    assert found and {"expose-root", "fail-create"} <= set(found[-1])
    assert "shared" in found[-1] or "slave" in found[-1]
