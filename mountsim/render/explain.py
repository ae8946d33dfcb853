"""Why each call did what it did, as data: refusals, created and removed mounts, propagation.

Model-only. `trace_file()` replays a trace with two hooks — the replay's `on_step` and the
kernel's `explain_hook` ("propagate", copy, receiver from fs/pnode.c:propagate_mnt()) —
and keeps, per step, a `Story`: the kernel rule that refused the call (KernelError's `why`
and `where`, with the kernel file that holds that function) and the mounts it names, the
mounts that appeared (each propagated copy with the receiver it came by), disappeared or
changed propagation. Every mount also gets a history (`Tracer.history`, by unique id) that
`mountsim why` prints. `replay --explain`, `why`, the HTML frames and the notebooks read these
records; `lines()` is only one rendering of them.

Limitations: a namespace copy (clone/unshare CLONE_NEWNS, setns) is matched to the mount it
copied by fs root, device and mount point; mounts outside every live process's namespace
and every fd's detached tree are not seen (a lazily unmounted tree held by an fd).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path as FsPath

import attrs

from .load import replay_file, replay_program
from .snapshot import MountView, Snapshot, from_kernel


# Calls whose path arguments name mounts (the "objects involved" of a refusal).
MOUNT_CALLS = frozenset({"mount", "umount2", "move_mount", "open_tree", "pivot_root", "chroot",
                         "mount_setattr", "fspick", "statmount", "setns"})


@attrs.frozen
class MountRef:
    """A mount as a sentence names it."""

    uid: int
    id: int
    target: str
    ns: str
    propagation: str          # mountinfo's optional fields, or "private"
    locked: bool
    fstype: str
    options: str = ""         # the per-mount options (rw/ro, nosuid, …)

    def __str__(self) -> str:
        lock = ", MNT_LOCKED" if self.locked else ""
        return f"{self.target} (id {self.id}, {self.fstype}, {self.propagation}{lock}, {self.ns})"


@attrs.frozen
class Refusal:
    errno: str
    why: str
    where: str                # the kernel function that decided
    source: str               # the kernel file holding it, when known
    objects: tuple[str, ...]  # the mounts the call named, each with its history

    def __str__(self) -> str:
        loc = f"{self.where}() in {self.source}" if self.source else f"{self.where}()"
        return f"{self.errno}: {self.why} — {loc}"


@attrs.frozen
class Propagated:
    """One copy propagate_mnt() made: mounted on *receiver*, which got it as *relation*."""

    copy: MountRef
    receiver: MountRef
    relation: str             # "peer of the destination in shared:1", "slave of shared:1", …
    copy_of: str              # "peer of …" / "slave of …": what the copy itself is

    def __str__(self) -> str:
        return (f"{self.copy.target} (id {self.copy.id}, {self.copy.ns}) came by propagation: "
                f"mounted on {self.receiver.target} (id {self.receiver.id}), {self.relation}; "
                f"the copy is {self.copy_of}")


@attrs.define
class Story:
    """What one step did."""

    file: str
    line: int
    pid: int
    call: str
    result: str
    refusal: Refusal | None = None
    created: list[MountRef] = attrs.Factory(list)
    removed: list[MountRef] = attrs.Factory(list)
    changed: list[tuple[MountRef, str, str]] = attrs.Factory(list)   # (mount, before, after)
    propagated: list[Propagated] = attrs.Factory(list)
    origin: dict[int, str] = attrs.Factory(dict)      # created uid -> how (not propagation)

    def lines(self) -> list[str]:
        out = []
        if self.refusal is not None:
            out.append(f"refused {self.refusal}")
            out.extend(f"  involved: {o}" for o in self.refusal.objects)
        prop = {p.copy.uid for p in self.propagated}
        out.extend(f"new mount {m}{self.origin.get(m.uid, '')}" for m in self.created
                   if m.uid not in prop)
        out.extend(str(p) for p in self.propagated)
        out.extend(f"{m.target} (id {m.id}, {m.ns}): {a} -> {b}" for m, a, b in self.changed)
        out.extend(f"gone: {m}" for m in self.removed)
        return out


def ref(v: MountView, ns: str) -> MountRef:
    return MountRef(v.unique_id or v.id, v.id, v.target, ns, " ".join(v.optional) or "private",
                    bool(v.locked), v.fstype, v.vfs_options)


def index(snap: Snapshot) -> dict[int, MountRef]:
    return {v.unique_id: ref(v, ns.label) for ns in snap.namespaces for v in ns.mounts
            if not v.hidden}


@functools.cache
def _kernel_files() -> dict[str, str]:
    """function name -> kernel file, from the `fs/x.c:function()` mentions in mountsim's own
    docstrings (the style card has every mirrored function name its kernel file)."""
    pat = re.compile(r"\b((?:fs|kernel|mm|include|security)/[\w/.-]+\.[ch]):(\w+)\(\)")
    found: dict[str, str] = {}
    for py in sorted(FsPath(__file__).resolve().parents[1].rglob("*.py")):
        for f, fn in pat.findall(py.read_text(encoding="utf-8")):
            found.setdefault(fn, f)
    return found


def kernel_file(where: str, err: BaseException | None = None) -> str:
    """The kernel file of function *where*: from the mirrors index, else the first kernel
    file the raising module's docstring names."""
    f = _kernel_files().get(where)
    if f or err is None or err.__traceback__ is None:
        return f or ""
    tb = err.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    doc = tb.tb_frame.f_globals.get("__doc__") or ""
    m = re.search(r"\b((?:fs|kernel)/[\w/.-]+\.c)", doc)
    return m.group(1) if m else ""


def mount_at(snap: Snapshot, pid: int, path: str) -> MountView | None:
    """The top mount whose target is the longest prefix of *path* in *pid*'s namespace."""
    for ns in snap.namespaces:
        if pid in ns.roots:
            best = None
            for v in ns.mounts:
                t = v.target.rstrip("/")
                if not v.hidden and (path == v.target or path.startswith(t + "/")):
                    if best is None or len(v.target) >= len(best.target):
                        best = v
            return best
    return None


class Tracer:
    """The two hooks, and the bookkeeping between them."""

    def __init__(self, session) -> None:
        self.session = session
        self.before = from_kernel(session.k)
        self.states = [self.before]
        self.stories: list[Story] = []
        self.history: dict[int, list[str]] = {}
        self.copies_of: dict[int, int] = {}          # namespace copy uid -> original uid
        self.pending: list[tuple] = []
        self.after = self.before
        for uid, m in index(self.before).items():
            self.history[uid] = [f"there from the start: {m}"]

    def propagate_hook(self, what: str, copy, receiver) -> None:
        if what != "propagate":
            return
        rmaster = receiver.master.group_id if receiver.master is not None else 0
        cmaster = (copy.master.unique_id, copy.master.mnt_id) if copy.master is not None else None
        self.pending.append((copy.unique_id, receiver.unique_id, receiver.group_id, rmaster,
                             copy.group_id, cmaster))

    def on_step(self, step, got, err) -> None:
        after = self.after = from_kernel(self.session.k)
        old, new = index(self.before), index(after)
        res = f"= -1 {got.errno}" if got.errno else f"= {got.ret}"
        call = step.text.strip().rsplit(" = ", 1)[0].rstrip() or step.name
        st = Story(step.file, step.line, step.pid, call, res)
        where = f"line {step.line}"
        if err is not None:
            st.refusal = Refusal(got.errno, err.why, err.where, kernel_file(err.where, err),
                                 tuple(self._involved(step)))
        for uid in sorted(new.keys() - old.keys()):
            if uid in self.history:             # seen before: back in view, not new
                self.history[uid].append(f"{where}: in view again as {new[uid]} ({st.call})")
            else:
                st.created.append(new[uid])
        st.removed = [old[u] for u in sorted(old.keys() - new.keys())]
        for uid in old.keys() & new.keys():
            a, b = old[uid], new[uid]
            was, now = _change(a, b)
            if was != now:
                st.changed.append((b, was, now))
                self.history[uid].append(f"{where}: {was} -> {now} by {st.call}")
        st.propagated = self._propagated(new, st)
        self._record_created(st, old, new, where)
        for m in st.removed:
            self.history[m.uid].append(f"{where}: gone ({st.call})")
        self.pending = []
        self.stories.append(st)
        self.before = after
        self.states.append(after)

    def _involved(self, step) -> list[str]:
        out: list[str] = []
        if step.name not in MOUNT_CALLS:
            return out
        for a in step.args:
            if isinstance(a, str) and a.startswith("/"):
                v = mount_at(self.before, step.pid, a)
                if v is not None and v.unique_id is not None:
                    hist = self.history.get(v.unique_id, [])
                    m = index(self.before)[v.unique_id]
                    out.append(f"{a} is on {m}" + (f" — {hist[0]}" if hist else ""))
        return out

    def _propagated(self, new: dict[int, MountRef], st: Story) -> list[Propagated]:
        prop_uids = {p[0] for p in self.pending}
        primary = [m for m in st.created if m.uid not in prop_uids]
        dest_group = None
        for m in primary:
            v = _find(self.after, m.uid)
            if v is not None:
                parent = self._view_by_id(m.ns, v.parent)
                if parent is not None:
                    dest_group = parent.shared
                break
        out = []
        for cuid, ruid, rgroup, rmaster, cgroup, cmaster in self.pending:
            if cuid not in new or ruid not in new:
                continue                        # rolled back, or outside what we see
            if rgroup and rgroup == dest_group:
                rel = f"a peer of the destination in shared:{rgroup}"
            elif rmaster:
                rel = f"a slave of peer group {rmaster}" + (
                    " (the destination's group)" if rmaster == dest_group else "")
            else:
                rel = "in the destination's propagation tree"
            if cmaster is not None and cmaster[0] in new:
                of = f"a slave of {new[cmaster[0]].target} (id {cmaster[1]})"
            elif cgroup:
                of = f"in peer group shared:{cgroup}"
            else:
                of = "private"
            out.append(Propagated(new[cuid], new[ruid], rel, of))
        return out

    def _record_created(self, st: Story, old, new, where: str) -> None:
        prop = {p.copy.uid: p for p in st.propagated}
        olds = {(_key(_find(self.before, u)), m.ns): u for u, m in old.items()}
        for m in st.created:
            if m.uid in prop:
                text = f"{where}: created by propagation — {prop[m.uid]}"
            else:
                orig = next((u for (k, ns), u in olds.items()
                             if k == _key(_find(self.after, m.uid)) and ns != m.ns), None)
                if orig is not None and orig in self.history:
                    self.copies_of[m.uid] = orig
                    owner, was = _owner(self.after, m.ns), _owner(self.before, old[orig].ns)
                    how = (f"copied into {m.ns}" + (f" (owned by {owner})" if owner else "")
                           + f", a copy of id {old[orig].id} in {old[orig].ns}")
                    if m.locked and old[orig].locked:
                        how += "; MNT_LOCKED as the original was (copy_tree() keeps it)"
                    elif m.locked and owner != was:
                        how += (f"; MNT_LOCKED: the new namespace's owner is less privileged "
                                f"than {was}, the old one's (lock_mnt_tree() in fs/namespace.c)")
                    st.origin[m.uid] = f": {how}"
                    text = f"{where}: {how} by {st.call}"
                else:
                    text = f"{where}: created by {st.call} as {m}"
            self.history[m.uid] = [text]

    def _view_by_id(self, ns_label: str, mid: int) -> MountView | None:
        for ns in self.after.namespaces:
            if ns.label == ns_label:
                return next((v for v in ns.mounts if v.id == mid), None)
        return None

    def full_history(self, uid: int, seen: frozenset[int] = frozenset()) -> list[str]:
        """The mount's own history, preceded by its original's when it is a namespace copy
        (a mount that left every visible namespace and came back is matched once only)."""
        own = self.history.get(uid, [])
        orig = self.copies_of.get(uid)
        if orig is None or orig in seen:
            return list(own)
        earlier = self.full_history(orig, seen | {uid})
        return [f"(as id {self._id_of(orig)}) {h}" for h in earlier] + own

    def _id_of(self, uid: int) -> str:
        for s in reversed(self.states):
            v = _find(s, uid)
            if v is not None:
                return str(v.id)
        return "?"


def _owner(snap: Snapshot, ns_label: str) -> str:
    """The user namespace owning the mount namespace labelled *ns_label*, or ""."""
    return next((ns.user_ns or "" for ns in snap.namespaces if ns.label == ns_label), "")


def _find(snap: Snapshot, uid: int) -> MountView | None:
    return next((v for v in snap.all_mounts() if v.unique_id == uid), None)


def _key(v: MountView | None):
    return None if v is None else (v.majmin, v.root, v.target)


def _parts(m: MountRef) -> list[str]:
    """What a step can change about a mount: where it is, its options, propagation, lock."""
    return [f"at {m.target} in {m.ns}", m.options, m.propagation,
            "MNT_LOCKED" if m.locked else "not locked"]


def _change(a: MountRef, b: MountRef) -> tuple[str, str]:
    """(before, after), each only the parts that differ."""
    diff = [(x, y) for x, y in zip(_parts(a), _parts(b)) if x != y]
    return ", ".join(x for x, _ in diff), ", ".join(y for _, y in diff)


def explain_text(t: Tracer) -> str:
    """`replay --explain`: each refused call and each call that propagated, with its lines."""
    out = []
    for st in t.stories:
        if st.refusal is None and not st.propagated:
            continue
        out.append(f"{st.file}:{st.line}: {st.call} {st.result}\n")
        out.extend(f"  {ln}\n" for ln in st.lines()
                   if st.refusal is not None or "came by propagation" in ln)
    return "".join(out)


def attach(session) -> Tracer:
    """A Tracer on a started model session: the kernel's explain_hook goes to it; pass its
    `on_step` to replay()."""
    t = Tracer(session)
    session.k.explain_hook = t.propagate_hook
    return t


def trace_file(path: str, at: int | None = None, kernel: str | None = None):
    """Replay *path* with a Tracer attached: (tracer, Replayed)."""
    holder: list[Tracer] = []
    r = replay_file(path, at, kernel, on_start=lambda s: holder.append(attach(s)),
                    on_step=lambda *a: holder[0].on_step(*a))
    return holder[0], r


def trace_program(program, kernel: str | None = None):
    """Replay a parsed program with a Tracer attached: (tracer, Replayed)."""
    holder: list[Tracer] = []
    r = replay_program(program, kernel, on_start=lambda s: holder.append(attach(s)),
                       on_step=lambda *a: holder[0].on_step(*a))
    return holder[0], r


def why_lines(t: Tracer, pid: int, path: str) -> tuple[list[str], bool]:
    """`mountsim why`: the history of each mount on *path* in *pid*'s final table (stacked
    ones in table order, the top one last); (lines, found)."""
    final = t.states[-1]
    ns = next(n for n in final.namespaces if pid in n.roots)
    path = path.rstrip("/") or "/"
    refs = index(final)
    on = [v for v in ns.mounts if v.target == path and not v.hidden]
    if not on:
        v = mount_at(final, pid, path)
        where = f"; it lies on {refs[v.unique_id]}" if v is not None else ""
        return [f"{path} is not a mount point in pid {pid}'s table{where}"], False
    out = []
    for v in on:
        out.append(f"{refs[v.unique_id]} in pid {pid}'s table:")
        out.extend(f"  {line}" for line in t.full_history(v.unique_id))
    if len(on) > 1:
        out.append(f"({len(on)} mounts are stacked on {path}; the last one is on top)")
    return out, True
