"""Server-rendered SVG charts: horizontal bars, grouped bars and month columns, no JavaScript.

Why not a charting library: pygal (the well-kept SVG one) was considered and rejected because
it embeds an inline <style> block and <script> tags in every chart, which our
Content-Security-Policy (style-src 'self', no inline script) blocks, so its charts would
render unstyled and half-broken. These few shapes need ~200 lines: every chart here uses
presentation attributes only (fill=, x=, ...), carries role="img", a <title> and <desc> tied
by aria-labelledby, and every page shows the same numbers in a table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

# Blue, orange, green: told apart with red-green colour blindness, each >= 4.5:1 on white.
PALETTE = ("#1f5fae", "#b35900", "#1d6b3a")
INK, MUTED, GRID = "#1c2430", "#4d5866", "#d5dbe3"
HIGHLIGHT = "#b3261e"
# Drawn in a narrow box and scaled to the width of the page (width="100%"): a phone's ~340 px
# column shows FONT at about its size; a 670-unit box once shrank it to 6 px at 390 px.
WIDTH = 340
FONT = 13
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()  # noqa: SIM905


def _short(text: str, limit: int = 44) -> str:
    """A label that fits one line of the chart (the full text stays in the table)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(value: float) -> str:
    """A bar's value as text: 3, 12.5."""
    return f"{value:g}"


def _frame(
    chart_id: str, title: str, desc: str, width: int, height: float, body: list[str]
) -> Markup:
    """The <svg> element around a chart's shapes, with its accessible name and description."""
    cid = escape(chart_id)
    head = (
        f'<svg class="chart" role="img" aria-labelledby="{cid}-t {cid}-d" '
        f'viewBox="0 0 {width} {height:.0f}" width="100%" preserveAspectRatio="xMinYMin meet" '
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
    parts, x = [], 0
    for i, name in enumerate(series_names):
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{PALETTE[i]}"/>')
        parts.append(_text(x + 17, y, name))
        x += 28 + 8 * len(name)
    return parts


def _summary(labels: Sequence[str], texts: Sequence[str], values: Sequence[float]) -> str:
    """A sentence naming the largest values, for the chart's <desc>."""
    if not labels:
        return "No data."
    ranked = sorted(zip(labels, texts, values, strict=True), key=lambda lv: -lv[2])[:3]
    return "Largest: " + ", ".join(f"{label} {text}" for label, text, _ in ranked) + "."


def hbar(
    chart_id: str, title: str, rows: Sequence[tuple[str, float]],
    fmt: Callable[[float], str] = number,
) -> Markup:  # fmt: skip
    """Horizontal bars, one per (label, value), longest first as given."""
    labels = [r[0] for r in rows]
    return grouped_hbar(chart_id, title, labels, [("", [r[1] for r in rows])], fmt=fmt)


def grouped_hbar(
    chart_id: str, title: str, labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]], fmt: Callable[[float], str] = number,
) -> Markup:  # fmt: skip
    """Horizontal bars grouped per label, one bar per series (at most three series).

    Each label sits on its own line above its bars, so a long name needs no label column and
    the bars keep the whole width on a phone.
    """
    bar, gap, line = 16, 10, FONT + 5
    named = [name for name, _ in series if name]
    top = 24 if named else 4
    group = line + bar * len(series) + gap
    height = top + group * max(len(labels), 1) + 4
    area = WIDTH - 8 - 7.5 * max((len(fmt(v)) for _, vs in series for v in vs), default=1)
    peak = max((v for _, values in series for v in values), default=0) or 1
    body = _legend(named, 14) if named else []
    for row, label in enumerate(labels):
        y0 = top + row * group
        body.append(_text(0, y0 + FONT, _short(label)))
        for i, (name, values) in enumerate(series):
            value = values[row]
            y = y0 + line + i * bar
            w = area * value / peak
            tip = f"{label}{' – ' + name if name else ''}: {fmt(value)}"
            body.append(
                f'<g><title>{escape(tip)}</title><rect x="0" y="{y}" '
                f'width="{w:.1f}" height="{bar - 2}" fill="{PALETTE[i]}"/></g>'
            )
            body.append(_text(w + 4, y + bar - 3, fmt(value)))
    if not labels:
        body.append(_text(0, top + 14, "No data in this range.", fill=MUTED))
    first = series[0][1] if series else []
    texts = [fmt(v) for v in first]
    return _frame(chart_id, title, _summary(labels, texts, first), WIDTH, height, body)


def columns(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    width: int = WIDTH,
    height: int = 190,
    highlight: bool = False,
    peak: float | None = None,
) -> Markup:
    """Vertical columns per label (months), grouped when there are several series.

    peak: the value of a full-height column. Small multiples pass the largest value of them
    all, so a column of 1 is a third of a column of 3 in every chart (each chart's own largest
    value made a 1 look like a 3).
    """
    named = [name for name, _ in series if name]
    top, bottom = (28 if named else 16), 24
    peak = peak or max((v for _, values in series for v in values), default=0) or 1
    left = 8 + 8 * len(number(peak))  # room for the scale's top value
    plot_w, plot_h = width - left - 8, height - top - bottom
    slot = plot_w / max(len(labels), 1)
    bar = min(max(slot * 0.8 / max(len(series), 1), 1), 48)  # one month must not be a wall
    step = max(1, math.ceil(80 * len(labels) / plot_w))  # "Mar 2026" labels 80 units apart
    body = _legend(named, 14) if named else []
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 2}" y2="{top + plot_h}" '
                f'stroke="{GRID}"/>')  # fmt: skip
    body.append(f'<line x1="{left}" y1="{top}" x2="{width - 2}" y2="{top}" stroke="{GRID}" '
                f'stroke-dasharray="3 3"/>')  # fmt: skip
    body.append(_text(left - 4, top + 5, number(peak), anchor="end", fill=MUTED))
    body.append(_text(left - 4, top + plot_h, "0", anchor="end", fill=MUTED))
    for col, label in enumerate(labels):
        x0 = left + col * slot + (slot - bar * len(series)) / 2
        for i, (name, values) in enumerate(series):
            value = values[col]
            h = plot_h * min(value, peak) / peak
            fill = HIGHLIGHT if highlight and not named else PALETTE[i]
            tip = f"{month_label(label)}{' – ' + name if name else ''}: {value:g}"
            body.append(
                f'<g><title>{escape(tip)}</title><rect x="{x0 + i * bar:.1f}" '
                f'y="{top + plot_h - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                f'fill="{fill}"/></g>'
            )
        if (len(labels) - 1 - col) % step == 0:  # always label the latest month
            x = min(max(left + (col + 0.5) * slot, left + 30), width - 30)
            body.append(_text(x, height - 6, month_label(label), anchor="middle", fill=MUTED))
    if not labels:
        body.append(_text(width / 2, top + plot_h / 2, "No data in this range.", anchor="middle",
                          fill=MUTED))  # fmt: skip
    first = series[0][1] if series else []
    texts = [number(v) for v in first]
    summary = _summary([month_label(m) for m in labels], texts, first)
    return _frame(chart_id, title, summary, width, height, body)


def month_label(label: str) -> str:
    """'2026-03' as 'Mar 2026' (a two-digit year reads as a day); anything else unchanged."""
    if len(label) == 7 and label[4] == "-" and label[5:].isdigit() and 1 <= int(label[5:]) <= 12:
        return f"{MONTHS[int(label[5:]) - 1]} {label[:4]}"
    return label
