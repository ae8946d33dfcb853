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
    out.append(f'<text x="{left + pw / 2}" y="{height - 8}" text-anchor="middle">{escape(xlabel)}</text>')
    out.append(f'<text x="14" y="{top + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 14 {top + ph / 2})">{escape(ylabel)}</text>')
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
