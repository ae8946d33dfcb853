"""One trace under several simulated kernels: where do the versions answer differently?

Model-only. `mountsim replay --kernel 6.18,7.1 FILE` replays the program once per version
(each on its own model session) and lines the results up call by call; a call whose result
differs between versions is printed with every version's answer, and so are the final
tables (normalised, so mount ids and peer-group numbers do not count as differences).
"""

from __future__ import annotations

import attrs

from ..backends.model import ModelBackend
from ..versions import semantics
from .normalise import normalise, side_by_side
from .program import RETURNS_PID, Program, Result, Step
from .signatures import makes_fd
from .replay import Report, replay


@attrs.define
class VersionReport:
    """Each version's replay report and the lines where the versions disagree."""

    reports: dict[str, Report]
    differences: list[str] = attrs.Factory(list)


def _shown(step: Step, r: Result) -> str:
    """A result as it compares across versions: fd and pid numbers are labels, not values."""
    if r.errno:
        return f"-1 {r.errno}"
    if makes_fd(step.name, step.args) or step.name in RETURNS_PID:
        return "ok"
    return str(r.ret)


def compare_versions(program: Program, kernels: list[str], strict: bool = False,
                     profile: str | None = None) -> VersionReport:
    """Replay *program* under each of *kernels* and collect where the answers differ.

    Every version runs with one build profile (*profile*, default the first kernel's), so a
    difference is one of semantics, not of a distribution's configuration (versions.Profile).
    """
    profile = profile or semantics(kernels[0]).profile
    reports = {v: replay(program, ModelBackend(v, profile).start(program), strict=strict)
               for v in kernels}
    out = VersionReport(reports)
    answers: dict[int, dict[str, tuple[Step, str]]] = {}
    for v, rep in reports.items():
        for step, got, _ in rep.results:
            answers.setdefault(id(step), {})[v] = (step, _shown(step, got))
    for step in program.steps:
        per = answers.get(id(step), {})
        shown = {v: per[v][1] if v in per else "not run" for v in kernels}
        if len(set(shown.values())) > 1:
            text = step.text or step.name
            out.differences.append(f"{step.file}:{step.line}: {text}: "
                                   + "; ".join(f"{v}: {s}" for v, s in shown.items()))
    tables = {v: normalise(rep.mountinfo) for v, rep in reports.items()}
    if len(set(tables.values())) > 1:
        first = kernels[0]
        for v in kernels[1:]:
            if tables[v] != tables[first]:
                out.differences.append(f"{program.file}: final table of pid "
                                       f"{reports[v].final_pid}: {first} and {v} differ:\n"
                                       + _table_diff(tables[first], tables[v], first, v))
    return out


def _table_diff(a: str, b: str, a_name: str, b_name: str) -> str:
    return side_by_side(a, b, a_name, b_name, renumber=False)
