"""A scenario written inline and replayed with its explanations: what the notebooks use.

Model-only. `Scenario(text)` parses a trace (strace syntax, '#' headers allowed), replays it
on the model with a Tracer attached, and offers the same views as the commands: `draw()`
(a graphviz.Digraph, shown inline by Jupyter), `table()` (findmnt's tree), `steps()` (each
call with its result and explanation), `why(path)`.
"""

from __future__ import annotations

import textwrap

from . import findmnt
from . import graphviz as gv
from .explain import trace_program, why_lines
from .snapshot import Snapshot, from_kernel, from_task
from ..trace.parse import parse_text


class Text(str):
    """A string Jupyter shows as preformatted text (not as a repr with quotes)."""

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))


class Scenario:
    def __init__(self, text: str, kernel: str | None = None, name: str = "scenario") -> None:
        program = parse_text(textwrap.dedent(text).strip() + "\n", name)
        self.tracer, self.replayed = trace_program(program, kernel)
        self.session = self.replayed.session

    @property
    def ok(self) -> bool:
        """Every recorded result (and the expect-tree, if any) matched."""
        return self.replayed.report.ok

    def state(self, at: int | None = None, pids=None) -> Snapshot:
        """The state after the step on line *at* (default: the end), or only *pids*' view."""
        if at is None:
            return from_kernel(self.session.k, pids) if pids else self.tracer.states[-1]
        i = next(i for i, s in enumerate(self.tracer.stories) if s.line == at)
        return self.tracer.states[i + 1]

    def draw(self, at: int | None = None, pid: int | None = None, propagation: bool = False,
             legend: bool = False):
        snap = self.state(at, [pid] if pid is not None else None)
        if propagation:
            return gv.propagation_tree(snap)
        story = None if at is None else next(s for s in self.tracer.stories if s.line == at)
        new = {m.uid for m in story.created} if story else set()
        return gv.mount_tree(snap, new=new, legend=legend)

    def table(self, pid: int | None = None, columns: str = "TARGET,FSTYPE,PROPAGATION,ID,LOCKED") -> Text:
        p = self.replayed.report.final_pid if pid is None else pid
        rows = from_task(self.session.task(p))
        return Text(findmnt.text_table(rows, findmnt.parse_columns(columns)))

    def propagation(self, path: str, pid: int | None = None) -> str | None:
        """The top mount at *path* as mountinfo's optional fields say ("private" when none),
        or None when nothing is mounted there."""
        p = self.replayed.report.final_pid if pid is None else pid
        on = [v for v in from_task(self.session.task(p)) if v.target == path]
        return (" ".join(on[-1].optional) or "private") if on else None

    def result(self, line: int | None = None) -> str:
        """The result of the step on *line* (default: the last step), e.g. "= -1 EINVAL"."""
        st = self.tracer.stories[-1] if line is None else \
            next(s for s in self.tracer.stories if s.line == line)
        return st.result

    def steps(self, only_interesting: bool = False) -> Text:
        out = []
        for st in self.tracer.stories:
            lines = st.lines()
            if only_interesting and not lines:
                continue
            out.append(f"line {st.line}: {st.call} {st.result}")
            out.extend(f"    {ln}" for ln in lines)
        return Text("\n".join(out))

    def why(self, path: str, pid: int | None = None) -> Text:
        p = self.replayed.report.final_pid if pid is None else pid
        return Text("\n".join(why_lines(self.tracer, p, path)[0]))
