"""Run one program on two backends in lockstep and find the first divergence. Model-only.

Results are compared call by call (errno always; the return value except for fd and pid
numbers, which are each backend's own); at the end the mountinfo of every live process is
compared after normalisation (mount ids, peer groups and device numbers renumbered in
order of first appearance across all processes of a backend, trace/normalise.py).
"""

from __future__ import annotations

import attrs

from . import uapi
from .errors import StepRefused
from .trace.normalise import normalise, side_by_side
from .trace.program import RETURNS_PID, Program, Result, Step
from .trace.signatures import makes_fd


@attrs.define
class Divergence:
    """Where two backends first disagreed."""

    index: int                  # step index, or len(steps) for the final tables
    step: Step | None
    a: str                      # what backend A gave (a result or a table)
    b: str
    a_name: str = "model"
    b_name: str = "live"
    a_table: str = ""           # normalised tables at the moment of divergence
    b_table: str = ""
    refused: str | None = None  # a sandbox refused the step: not comparable, not a divergence
    flaky: bool = False         # the program did not diverge again when rerun

    def describe(self) -> str:
        if self.refused is not None:
            return f"not comparable: {self.refused}"
        if self.flaky:
            return ("flaky (this program did not diverge again when Hypothesis reran it: "
                    "the real kernel's answer depended on timing); first run: "
                    + attrs.evolve(self, flaky=False).describe())
        if self.step is None:
            return ("final tables differ:\n"
                    + side_by_side(self.a, self.b, self.a_name, self.b_name, renumber=False))
        s = self.step
        head = (f"{s.file}:{s.line}: step {self.index + 1}: [pid {s.pid}] {s.text or s.name}: "
                f"{self.a_name} gave {self.a}, {self.b_name} gave {self.b}")
        if self.a_table or self.b_table:
            head += ("\ntables before the call:\n"
                     + side_by_side(self.a_table, self.b_table, self.a_name, self.b_name,
                                    renumber=False))
        return head


# statmount fields that mean the same on any machine; ids and device numbers do not.
STATMOUNT_STABLE = ("mask", "sb_magic", "sb_flags", "mnt_attr", "mnt_propagation", "fs_type",
                    "mnt_root", "mnt_point", "mnt_opts", "sb_source", "opt_num", "opt_array")
STATMOUNT_FIELD_BIT = {
    "sb_magic": uapi.STATMOUNT_SB_BASIC, "sb_flags": uapi.STATMOUNT_SB_BASIC,
    "mnt_attr": uapi.STATMOUNT_MNT_BASIC, "mnt_propagation": uapi.STATMOUNT_MNT_BASIC,
    "fs_type": uapi.STATMOUNT_FS_TYPE, "mnt_root": uapi.STATMOUNT_MNT_ROOT,
    "mnt_point": uapi.STATMOUNT_MNT_POINT, "mnt_opts": uapi.STATMOUNT_MNT_OPTS,
    "sb_source": uapi.STATMOUNT_SB_SOURCE, "opt_num": uapi.STATMOUNT_OPT_ARRAY,
    "opt_array": uapi.STATMOUNT_OPT_ARRAY}


def stable_out(name: str, out):
    """The part of a call's output buffer two backends must agree on."""
    if out is None:
        return None
    if name == "statmount":             # a field means something only with its mask bit
        mask = out.get("mask") or 0
        return {k: out.get(k) for k in STATMOUNT_STABLE
                if k == "mask" or mask & STATMOUNT_FIELD_BIT.get(k, 0)}
    if name == "listmount":
        return len(out)                 # unique ids are each backend's own
    if name == "read" and isinstance(out, str):
        return normalise(out)           # mountinfo text: ids and devices renumbered
    return out


def same_result(step: Step, a: Result, b: Result) -> bool:
    if a.errno or b.errno:
        return a.errno == b.errno
    if makes_fd(step.name, step.args) or step.name in RETURNS_PID:
        return True
    if step.name == "read":
        return same_read(step, a, b)
    return a.ret == b.ret and stable_out(step.name, a.out) == stable_out(step.name, b.out)


def same_read(step: Step, a: Result, b: Result) -> bool:
    """Two successful reads agree. Mount ids are each backend's own, so the byte counts and
    the place a short read ends differ (and so where end of file comes): whole tables
    (complete lines, read short of the count) are compared normalised; partial ones are
    not compared (the final tables are).
    """
    count = step.arg("count") or 0
    whole = [isinstance(r.out, str) and 0 < r.ret < count and _complete_lines(r.out)
             for r in (a, b)]
    return not all(whole) or stable_out("read", a.out) == stable_out("read", b.out)


def _complete_lines(text: str) -> bool:
    return text == "" or (text.endswith("\n") and all(" - " in ln for ln in text.splitlines()))


def _show(step: Step, r: Result) -> str:
    out = stable_out(step.name, r.out)
    return str(r) if out is None else f"{r} {out}"


def tables(session) -> str:
    """Every live process's mountinfo, normalised together, pid by pid."""
    parts = []
    for pid in sorted(session.pids()):
        parts.append(f"== pid {pid}\n" + session.mountinfo(pid))
    return normalise("".join(parts))


def run_pair(program: Program, a, b, with_tables: bool = False) -> Divergence | None:
    """Run *program* on started sessions *a* and *b*; the first divergence or None.

    *b* runs each step first: when its sandbox refuses a step (errors.StepRefused), neither
    side runs it and the result is a Divergence with `refused` set ("not comparable").
    With *with_tables*, the tables before each call are kept for the report (slower), and
    a session that can run a process's steps ahead (the live one) is told not to.
    """
    if with_tables:
        for s in (a, b):
            if hasattr(s, "run_ahead"):
                s.run_ahead = False
    for i, step in enumerate(program.steps):
        if step.pid not in a.pids() or step.pid not in b.pids():
            continue
        ta, tb = (tables(a), tables(b)) if with_tables else ("", "")
        try:
            rb = b.execute(step)                # the sandbox's guard may refuse it: first
        except StepRefused as e:
            return Divergence(i, step, "", "", refused=str(e))
        ra = a.execute(step)
        if not same_result(step, ra, rb):
            return Divergence(i, step, _show(step, ra), _show(step, rb), a_table=ta, b_table=tb)
    ta, tb = tables(a), tables(b)
    if ta != tb:
        return Divergence(len(program.steps), None, ta, tb)
    return None
