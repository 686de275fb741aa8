"""Server-rendered SVG charts: horizontal bars, grouped bars and month columns, no JavaScript.

Why not a charting library: pygal (the well-kept SVG one) was considered and rejected because
it embeds an inline <style> block and <script> tags in every chart, which our
Content-Security-Policy (style-src 'self', no inline script) blocks, so its charts would
render unstyled and half-broken. These few shapes need ~150 lines: every chart here uses
presentation attributes only (fill=, x=, ...), carries role="img", a <title> and <desc> tied
by aria-labelledby, and every page shows the same numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

# Blue, orange, green: told apart with red-green colour blindness, each >= 4.5:1 on white.
PALETTE = ("#1f5fae", "#b35900", "#1d6b3a")
INK, MUTED, GRID = "#1c2430", "#4d5866", "#d5dbe3"
HIGHLIGHT = "#b3261e"
LABEL_WIDTH = 240
BAR_AREA = 380
FONT = 13


def _short(text: str, limit: int = 30) -> str:
    """A label that fits the label column (the full text stays in the table)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _frame(
    chart_id: str, title: str, desc: str, width: int, height: int, body: list[str]
) -> Markup:
    """The <svg> element around a chart's shapes, with its accessible name and description."""
    cid = escape(chart_id)
    head = (
        f'<svg class="chart" role="img" aria-labelledby="{cid}-t {cid}-d" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{cid}-t">{escape(title)}</title><desc id="{cid}-d">{escape(desc)}</desc>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every value is escaped


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK,
          size: int = FONT, weight: str = "normal") -> str:  # fmt: skip
    """One escaped text element."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" '
        f'font-size="{size}" font-weight="{weight}">{escape(text)}</text>'
    )


def _legend(series_names: Sequence[str], y: float) -> list[str]:
    """Coloured squares with the series names, in one row."""
    parts, x = [], LABEL_WIDTH
    for i, name in enumerate(series_names):
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{PALETTE[i]}"/>')
        parts.append(_text(x + 17, y, name))
        x += 24 + 8 * len(name)
    return parts


def _summary(labels: Sequence[str], values: Sequence[float]) -> str:
    """A sentence naming the largest values, for the chart's <desc>."""
    if not labels:
        return "No data."
    ranked = sorted(zip(labels, values, strict=True), key=lambda lv: -lv[1])[:3]
    return "Largest: " + ", ".join(f"{label} {value:g}" for label, value in ranked) + "."


def hbar(chart_id: str, title: str, rows: Sequence[tuple[str, float]]) -> Markup:
    """Horizontal bars, one per (label, value), longest first as given."""
    return grouped_hbar(chart_id, title, [r[0] for r in rows], [("", [r[1] for r in rows])])


def grouped_hbar(
    chart_id: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> Markup:
    """Horizontal bars grouped per label, one bar per series (at most three series)."""
    bar, gap = 16, 10
    named = [name for name, _ in series if name]
    top = 24 if named else 6
    group = bar * len(series) + gap
    height = top + group * max(len(labels), 1) + 4
    width = LABEL_WIDTH + BAR_AREA + 50
    peak = max((v for _, values in series for v in values), default=0) or 1
    body = _legend(named, 14) if named else []
    for row, label in enumerate(labels):
        y0 = top + row * group
        body.append(_text(LABEL_WIDTH - 8, y0 + bar * len(series) / 2 + 4, _short(label),
                          anchor="end"))  # fmt: skip
        for i, (name, values) in enumerate(series):
            value = values[row]
            y = y0 + i * bar
            w = BAR_AREA * value / peak
            tip = f"{label}{' – ' + name if name else ''}: {value:g}"
            body.append(
                f'<g><title>{escape(tip)}</title><rect x="{LABEL_WIDTH}" y="{y}" '
                f'width="{w:.1f}" height="{bar - 2}" fill="{PALETTE[i]}"/></g>'
            )
            body.append(_text(LABEL_WIDTH + w + 4, y + bar - 5, f"{value:g}", size=12))
    if not labels:
        body.append(_text(LABEL_WIDTH, top + 12, "No data in this range.", fill=MUTED))
    first = series[0][1] if series else []
    return _frame(chart_id, title, _summary(labels, first), width, height, body)


def columns(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = 620,
    height: int = 180,
    highlight: bool = False,
) -> Markup:
    """Vertical columns per label (months), grouped when there are several series."""
    named = [name for name, _ in series if name]
    top, bottom, left = (26 if named else 16), 22, 34
    plot_w, plot_h = width - left - 20, height - top - bottom  # room for the last label
    peak = max((v for _, values in series for v in values), default=0) or 1
    slot = plot_w / max(len(labels), 1)
    bar = min(max(slot * 0.8 / max(len(series), 1), 1), 48)  # one month must not be a wall
    step = max(1, math.ceil(44 * len(labels) / plot_w))  # month labels at least 44 px apart
    body = _legend(named, 14) if named else []
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 4}" y2="{top + plot_h}" '
                f'stroke="{GRID}"/>')  # fmt: skip
    body.append(_text(left - 4, top + 9, f"{peak:g}", anchor="end", fill=MUTED, size=11))
    body.append(_text(left - 4, top + plot_h, "0", anchor="end", fill=MUTED, size=11))
    for col, label in enumerate(labels):
        x0 = left + col * slot + (slot - bar * len(series)) / 2
        for i, (name, values) in enumerate(series):
            value = values[col]
            h = plot_h * value / peak
            fill = HIGHLIGHT if highlight and not named else PALETTE[i]
            tip = f"{label}{' – ' + name if name else ''}: {value:g}"
            body.append(
                f'<g><title>{escape(tip)}</title><rect x="{x0 + i * bar:.1f}" '
                f'y="{top + plot_h - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                f'fill="{fill}"/></g>'
            )
        if (len(labels) - 1 - col) % step == 0:  # always label the latest month
            body.append(_text(left + (col + 0.5) * slot, height - 6, _month_label(label),
                              anchor="middle", fill=MUTED, size=11))  # fmt: skip
    if not labels:
        body.append(_text(width / 2, top + plot_h / 2, "No data in this range.", anchor="middle",
                          fill=MUTED))  # fmt: skip
    first = series[0][1] if series else []
    return _frame(chart_id, title, _summary(labels, first), width, height, body)


def _month_label(label: str) -> str:
    """'2024-03' as 'Mar 24'; anything else unchanged."""
    names = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()  # noqa: SIM905
    if len(label) == 7 and label[4] == "-" and label[5:].isdigit() and 1 <= int(label[5:]) <= 12:
        return f"{names[int(label[5:]) - 1]} {label[2:4]}"
    return label
