"""`mountsim bench`'s report: best-of-K points, log-log slopes, the table, the JSON
document and the SVG plot.

A *point* is one (op, side, N) with the best of its repetitions' seconds; its per-unit cost
is best / N. Its *spread* is median / best - 1: how much the repetitions disagreed (noise
on a shared machine only ever adds time, so the best is the estimate and the spread says
how far to trust it). The *slope* of a series is the least-squares slope of log(total seconds) over
log(N): 1.0 means the total grows linearly (flat per-unit cost), 2.0 quadratically.
"""

from __future__ import annotations

import datetime
import math
import os
import platform
import statistics
import sys

from . import OPS


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(y) over log(x); None with fewer than two distinct x."""
    pts = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return (sum((x - mx) * (y - my) for x, y in pts)
            / sum((x - mx) ** 2 for x, _ in pts))


def best(raw: list[dict]) -> dict[tuple[str, str, int], float]:
    """(op, side, n) -> the smallest seconds among the raw repetitions."""
    out: dict[tuple[str, str, int], float] = {}
    for r in raw:
        key = (r["op"], r["side"], r["n"])
        out[key] = min(out.get(key, math.inf), r["sec"])
    return out


def medians(raw: list[dict]) -> dict[tuple[str, str, int], float]:
    """(op, side, n) -> the median seconds of the raw repetitions."""
    runs: dict[tuple[str, str, int], list[float]] = {}
    for r in raw:
        runs.setdefault((r["op"], r["side"], r["n"]), []).append(r["sec"])
    return {key: statistics.median(v) for key, v in runs.items()}


def summarise(raw: list[dict]) -> list[dict]:
    """Per op class: sizes, per-unit cost at the largest size, ratio, slopes, points, and
    the largest spread among a side's points."""
    b = best(raw)
    med = medians(raw)
    rows = []
    for op in OPS:
        sides = {}
        for side in ("kernel", "model"):
            pts = sorted((n, s) for (o, sd, n), s in b.items() if o == op.key and sd == side)
            if pts:
                sides[side] = pts
        if not sides:
            continue
        row = {"op": op.key, "title": op.title, "unit": op.unit, "family": op.family}
        for side, pts in sides.items():
            n, s = pts[-1]
            points = [{"n": n_, "sec": s_, "per_unit": s_ / n_,
                       "median_sec": med[(op.key, side, n_)],
                       "spread": med[(op.key, side, n_)] / s_ - 1 if s_ > 0 else 0.0}
                      for n_, s_ in pts]
            row[side] = {"points": points, "n_max": n, "per_unit": s / n, "slope": slope(pts),
                         "spread": max(p["spread"] for p in points)}
        if "kernel" in sides and "model" in sides:
            common = sorted(set(n for n, _ in sides["kernel"]) & set(n for n, _ in sides["model"]))
            if common:
                n = common[-1]
                row["ratio"] = b[(op.key, "model", n)] / b[(op.key, "kernel", n)]
                row["ratio_n"] = n
        rows.append(row)
    return rows


# The performance budget (README "Performance"): each op class within RATIO_MAX of the
# kernel at the largest N, its slope within SLOPE_TOL of the kernel's, and the million-mount
# run's peak under MILLION_RSS_MAX_KB.
RATIO_MAX = 3.0
SLOPE_TOL = 0.15
MILLION_RSS_MAX_KB = 1024 * 1024


def budget(rows: list[dict]) -> dict | None:
    """Which op classes are over the budget's ratio and which slopes are apart from the
    kernel's; None when the kernel side was not measured."""
    both = [r for r in rows if "kernel" in r and "model" in r]
    if not both:
        return None
    over = [r["op"] for r in both if r.get("ratio", 0.0) > RATIO_MAX]
    apart = [r["op"] for r in both
             if r["kernel"]["slope"] is not None and r["model"]["slope"] is not None
             and abs(r["kernel"]["slope"] - r["model"]["slope"]) > SLOPE_TOL]
    return {"ratio_max": RATIO_MAX, "over_ratio": over, "slope_tol": SLOPE_TOL,
            "slopes_apart": apart}


def budget_lines(b: dict, rows: list[dict]) -> list[str]:
    """The budget verdict under the table: what is met, and by name what is not."""
    by = {r["op"]: r for r in rows}

    def named(ops: list[str], what) -> str:
        return ", ".join(f"{by[o]['title']} ({what(by[o])})" for o in ops)
    ratio = ("every op class within {:g}x of the kernel".format(b["ratio_max"])
             + (": yes" if not b["over_ratio"] else
                ": no, " + named(b["over_ratio"], lambda r: f"{r['ratio']:.1f}x")))
    slopes = (f"every slope within ±{b['slope_tol']:g} of the kernel's"
              + (": yes" if not b["slopes_apart"] else
                 ": no, " + named(b["slopes_apart"], lambda r: f"kernel {r['kernel']['slope']:.2f}, "
                                                             f"model {r['model']['slope']:.2f}")))
    return [f"budget: {ratio}", f"budget: {slopes}"]


def fmt_time(sec: float | None) -> str:
    if sec is None:
        return "-"
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
        if sec >= scale or unit == "ns":
            v = sec / scale
            return f"{v:.3g} {unit}" if v < 1000 else f"{v:.0f} {unit}"
    return "-"


def fmt_n(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return f"{n:,}"


def table(rows: list[dict]) -> str:
    head = ("op class", "sizes", "per", "kernel/unit", "model/unit", "model/kernel",
            "slope k", "slope m", "spread k/m")
    lines = []
    for r in rows:
        sizes = sorted({p["n"] for side in ("kernel", "model") if side in r
                        for p in r[side]["points"]})
        rng = f"N={fmt_n(sizes[0])}" + ("" if len(sizes) == 1 else f"..{fmt_n(sizes[-1])}")
        k, m = r.get("kernel"), r.get("model")
        sl = lambda side: "-" if side is None or side["slope"] is None else f"{side['slope']:.2f}"  # noqa: E731
        sp = lambda side: "-" if side is None else f"{side['spread']:.0%}"  # noqa: E731
        lines.append((r["title"], rng, r["unit"],
                      fmt_time(k["per_unit"]) if k else "-", fmt_time(m["per_unit"]) if m else "-",
                      f"{r['ratio']:.1f}x" if "ratio" in r else "-", sl(k), sl(m),
                      f"{sp(k)}/{sp(m)}"))
    w = [max(len(str(x[i])) for x in [head, *lines]) for i in range(len(head))]
    out = ["  ".join(str(c).ljust(w[i]) if i < 3 else str(c).rjust(w[i]) for i, c in enumerate(x))
           for x in [head, *lines]]
    out.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(out)


def machine() -> dict:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"kernel": platform.uname().release, "cpu": cpu, "nproc": os.cpu_count(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "python": sys.version.split()[0], "machine": platform.machine()}


def plot(rows: list[dict], path: str, title: str) -> None:
    from ..render.chart import grid, loglog_chart

    charts = []
    for r in rows:
        series = {side: [(p["n"], p["per_unit"] * 1e6) for p in r[side]["points"]]
                  for side in ("kernel", "model") if side in r}
        charts.append(loglog_chart(series, title=r["title"],
                                   xlabel="pairs" if r["family"] == "fixed" else "N",
                                   ylabel=f"us per {r['unit']}", dashed=("kernel",)))
    with open(path, "w") as f:
        f.write(grid(charts, cols=3, title=title).svg)


__all__ = ["MILLION_RSS_MAX_KB", "RATIO_MAX", "SLOPE_TOL", "best", "budget", "budget_lines",
           "fmt_time", "machine", "medians", "plot", "slope", "summarise", "table"]
