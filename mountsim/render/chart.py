"""A small line chart as SVG (no plotting library): what notebook 4 uses for its cost plot.

`line_chart(xs, series)` draws one polyline per named series over shared x values on linear
axes; the result is an IPython-displayable object (`_repr_svg_`) whose `.svg` is the text.
"""

from __future__ import annotations

from html import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]


class Svg:
    def __init__(self, svg: str) -> None:
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg


def _axis_labels(left: float, top: float, pw: float, ph: float, height: float,
                 xlabel: str, ylabel: str) -> list[str]:
    """The x label under the plot and the y label turned along the left edge."""
    return [f'<text x="{left + pw / 2}" y="{height - 8}" text-anchor="middle">{escape(xlabel)}</text>',
            f'<text x="14" y="{top + ph / 2}" text-anchor="middle" '
            f'transform="rotate(-90 14 {top + ph / 2})">{escape(ylabel)}</text>']


def _ticks(hi: float, n: int = 5) -> list[float]:
    if hi <= 0:
        return [0]
    step = hi / n
    mag = 10 ** len(str(int(step))) / 10 if step >= 1 else 1
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= step)
    return [i * step for i in range(int(hi / step) + 2) if i * step <= hi * 1.0001 or i == 0]


def line_chart(xs: list[float], series: dict[str, list[float]], title: str = "",
               xlabel: str = "", ylabel: str = "", width: int = 560, height: int = 320) -> Svg:
    left, right, top, bottom = 60, 180, 30, 45
    pw, ph = width - left - right, height - top - bottom
    xmax = max(xs) or 1
    ymax = max(max(v) for v in series.values()) or 1
    X = lambda x: left + pw * x / xmax                      # noqa: E731
    Y = lambda y: top + ph - ph * y / ymax                  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<text x="{left + pw / 2}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>',
           f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="black"/>']
    for t in _ticks(xmax):
        out.append(f'<text x="{X(t):.1f}" y="{top + ph + 14}" text-anchor="middle">{t:g}</text>')
    for t in _ticks(ymax):
        out.append(f'<line x1="{left}" y1="{Y(t):.1f}" x2="{left + pw}" y2="{Y(t):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{Y(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    out.extend(_axis_labels(left, top, pw, ph, height, xlabel, ylabel))
    for i, (name, ys) in enumerate(series.items()):
        c = COLORS[i % len(COLORS)]
        pts = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in zip(xs, ys))
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{pts}"/>')
        out.extend(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3" fill="{c}"/>' for x, y in zip(xs, ys))
        ly = top + 10 + 18 * i
        out.append(f'<line x1="{left + pw + 12}" y1="{ly}" x2="{left + pw + 30}" y2="{ly}" stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{left + pw + 34}" y="{ly + 4}">{escape(name)}</text>')
    out.append("</svg>")
    return Svg("\n".join(out))


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten, with 2 and 5 (or more) between when that gives fewer than three."""
    import math
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for mults in ((1,), (1, 2, 5), (1, 2, 3, 5, 7), tuple(range(1, 10))):
        ticks = [m * 10.0 ** e for e in range(a, b + 1) for m in mults if lo <= m * 10.0 ** e <= hi]
        if len(ticks) >= 3 or len(mults) == 9:
            return ticks
    return ticks


def loglog_chart(series: dict[str, list[tuple[float, float]]], title: str = "",
                 xlabel: str = "", ylabel: str = "", width: int = 420, height: int = 280,
                 dashed: tuple[str, ...] = ()) -> Svg:
    """One polyline per named series of (x, y) points (each its own xs), on log-log axes.
    Non-positive values are left out; series named in *dashed* are drawn dashed."""
    import math
    left, right, top, bottom = 64, 110, 30, 45
    pw, ph = width - left - right, height - top - bottom
    pts = {name: [(x, y) for x, y in ps if x > 0 and y > 0] for name, ps in series.items()}
    xs = [x for ps in pts.values() for x, _ in ps] or [1.0]
    ys = [y for ps in pts.values() for _, y in ps] or [1.0]
    x0, x1 = min(xs) / 1.25, max(xs) * 1.25
    y0, y1 = min(ys) / 1.5, max(ys) * 1.5
    lx0, lx1, ly0, ly1 = map(math.log10, (x0, x1, y0, y1))
    X = lambda x: left + pw * (math.log10(x) - lx0) / (lx1 - lx0)      # noqa: E731
    Y = lambda y: top + ph - ph * (math.log10(y) - ly0) / (ly1 - ly0)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<text x="{left + pw / 2}" y="16" text-anchor="middle" font-size="12">{escape(title)}</text>',
           f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="black"/>']
    for t in _log_ticks(x0, x1):
        out.append(f'<line x1="{X(t):.1f}" y1="{top}" x2="{X(t):.1f}" y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<text x="{X(t):.1f}" y="{top + ph + 14}" text-anchor="middle">{t:g}</text>')
    for t in _log_ticks(y0, y1):
        out.append(f'<line x1="{left}" y1="{Y(t):.1f}" x2="{left + pw}" y2="{Y(t):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{Y(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    out.extend(_axis_labels(left, top, pw, ph, height, xlabel, ylabel))
    for i, (name, ps) in enumerate(pts.items()):
        c = COLORS[i % len(COLORS)]
        dash = ' stroke-dasharray="5,3"' if name in dashed else ""
        ps = sorted(ps)
        if len(ps) > 1:
            line = " ".join(f"{X(x):.1f},{Y(y):.1f}" for x, y in ps)
            out.append(f'<polyline fill="none" stroke="{c}" stroke-width="2"{dash} points="{line}"/>')
        out.extend(f'<circle cx="{X(x):.1f}" cy="{Y(y):.1f}" r="3" fill="{c}"/>' for x, y in ps)
        ly = top + 10 + 18 * i
        out.append(f'<line x1="{left + pw + 10}" y1="{ly}" x2="{left + pw + 28}" y2="{ly}" '
                   f'stroke="{c}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{left + pw + 32}" y="{ly + 4}">{escape(name)}</text>')
    out.append("</svg>")
    return Svg("\n".join(out))


def grid(charts: list[Svg], cols: int = 3, title: str = "") -> Svg:
    """Charts side by side, *cols* per row, in one SVG document (nested <svg> elements)."""
    import re
    size = [tuple(int(v) for v in re.search(r'width="(\d+)" height="(\d+)"', c.svg).groups())
            for c in charts] or [(0, 0)]
    cw, ch = max(w for w, _ in size), max(h for _, h in size)
    head = 28 if title else 0
    rows = (len(charts) + cols - 1) // cols
    width, height = cw * min(cols, max(len(charts), 1)), head + ch * rows
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    if title:
        out.append(f'<text x="{width / 2}" y="19" text-anchor="middle" font-size="14">{escape(title)}</text>')
    for i, c in enumerate(charts):
        x, y = (i % cols) * cw, head + (i // cols) * ch
        out.append(c.svg.replace("<svg ", f'<svg x="{x}" y="{y}" ', 1))
    out.append("</svg>")
    return Svg("\n".join(out))
