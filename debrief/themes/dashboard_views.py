"""The manager's dashboard, the deals behind a matrix cell, and the CSV exports."""

from __future__ import annotations

import datetime
from dataclasses import replace

from flask import Response, abort, render_template, request

from debrief.auth.views import manager_required
from debrief.kb import service as kb
from debrief.store import get_store
from debrief.taxonomy import REASONS, reason_label
from debrief.templating import amount
from debrief.themes import charts, export, proposals, stats
from debrief.themes import dashboard as board
from debrief.themes.forms import DashboardFilters
from debrief.themes.views import bp


def _filters() -> tuple[stats.Filters, DashboardFilters]:
    """The filters from the query string; a bad value keeps its message and its default."""
    form = DashboardFilters(formdata=request.args)
    form.rep.choices = [("", "All reps")] + board.reps(get_store())
    form.validate()
    start, end = form.date_from.data, form.date_to.data
    start = start if not form.date_from.errors else None
    end = end if not form.date_to.errors else None
    if start and end and start > end:
        form.date_to.errors = [*form.date_to.errors, "Choose a date after “From”."]
        end = None
    rep = form.rep.data if not form.rep.errors else None
    filters = board.default_filters(
        start.isoformat() if start else None,
        end.isoformat() if end else None,
        rep,
        datetime.date.today(),
    )
    if not start:
        form.date_from.data = datetime.date.fromisoformat(filters.date_from)
    if not end:
        form.date_to.data = datetime.date.fromisoformat(filters.date_to)
    return filters, form


def _charts(d: board.Dashboard) -> dict:
    """The dashboard's SVG charts (their numbers are in the tables beside them)."""
    reasons, losses = d.reasons, d.losses
    shown = list(d.per_month.items())[:12]
    peak = max((max(counts) for _, counts in shown), default=0)  # one scale for every theme
    return {
        "reasons": charts.grouped_hbar(
            "chart-reasons", "Main reason: as buyers gave it, as reps logged it",
            [reason_label(r.reason) for r in reasons],
            [("Buyers", [r.buyer_main for r in reasons]), ("Reps", [r.rep_main for r in reasons])],
        ),
        "value_reasons": charts.hbar(
            "chart-value-reasons", "Value lost by the buyer's main reason",
            [(board.lost_reason_label(r.label), r.value) for r in losses.by_reason], fmt=amount,
        ),
        "value_competitors": charts.hbar(
            "chart-value-competitors", "Value lost by competitor",
            [(board.competitor_label(r.label), r.value) for r in losses.by_competitor[:15]],
            fmt=amount,
        ),
        "competitors": charts.hbar(
            "chart-competitors", "Competitors lost to", d.competitors[:15]
        ),
        "agreement": charts.hbar(
            "chart-agreement", "Agreement rate per rep (%)",
            [(d.rep_name(r), round(100 * (a.rate or 0))) for r, a in d.agreement.per_rep.items()],
        ),
        "funnel": charts.columns(
            "chart-funnel", "Invitations per month: sent, opened, answered",
            list(d.funnel_by_month),
            [(name, [getattr(f, name.lower()) for f in d.funnel_by_month.values()])
             for name in ("Sent", "Opened", "Answered")],
        ),
        "themes": {
            theme: charts.columns(
                f"chart-theme-{i}", f"{d.theme_name(theme)} per month", d.months,
                [("", counts)], width=260, height=130, peak=peak,
                highlight=any(t.theme == theme and t.rising for t in d.trends),
            )
            for i, (theme, counts) in enumerate(shown)
        },
        "themes_peak": peak,
    }  # fmt: skip


@bp.get("/dashboard")
@manager_required
def dashboard():
    """Themes over time, reasons, agreement, competitors and the invitation funnel."""
    filters, form = _filters()
    d = _named(board.build(get_store(), filters))
    possibly = proposals.rising(get_store(), d.end)
    return render_template(
        "themes/dashboard.html", d=d, form=form, charts=_charts(d), percent=stats.percent,
        possibly=possibly,
        args=_args(filters), REASON_ORDER=list(REASONS),
        month_label=charts.month_label, lost_reason_label=board.lost_reason_label,
        competitor_label=board.competitor_label,
    ), 400 if form.errors else 200  # fmt: skip


def _named(d: board.Dashboard) -> board.Dashboard:
    """The dashboard with its competitors as people wrote them, not the entries' slugs."""
    label = kb.labeller()
    return replace(d, competitors=[(label("competitor", name), n) for name, n in d.competitors])


def _args(filters: stats.Filters) -> dict[str, str]:
    """The filters as query parameters, for links that keep them."""
    args = {"from": filters.date_from, "to": filters.date_to, "rep": filters.rep}
    return {k: v for k, v in args.items() if v}


@bp.get("/dashboard/cell")
@manager_required
def cell():
    """The deals where the rep logged one main reason and the buyer gave another."""
    rep_reason = request.args.get("rep_reason", "")
    buyer_reason = request.args.get("buyer_reason", "")
    if rep_reason not in REASONS or buyer_reason not in REASONS:
        abort(404)  # no such cell in the matrix
    filters, form = _filters()
    rows = board.cell_deals(get_store(), filters, rep_reason, buyer_reason)
    return render_template(
        "themes/cell.html", rows=rows, rep_reason=rep_reason, buyer_reason=buyer_reason,
        filters=filters, args=_args(filters), problems=form.problems(),
    ), 400 if form.errors else 200  # fmt: skip


def _refused(form: DashboardFilters) -> Response:
    """A CSV request with a bad filter: 400 with the messages as plain text."""
    text = "".join(f"{problem}\n" for problem in form.problems())
    return Response(text, status=400, mimetype="text/plain")


def _csv(name: str, text: str) -> Response:
    """A CSV download; `name` is one of our fixed table names, never user text."""
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="debrief-{name}.csv"'},
    )


@bp.get("/dashboard/answers.csv")
@manager_required
def answers_csv():
    """Every answer in the filters; anonymous ones without name, company or deal."""
    filters, form = _filters()
    if form.errors:
        return _refused(form)
    rows = export.answer_rows(get_store(), filters)
    return _csv("answers", export.to_csv(export.ANSWER_COLUMNS, rows))


@bp.get("/dashboard/<name>.csv")
@manager_required
def table_csv(name: str):
    """One of the dashboard's tables as CSV."""
    filters, form = _filters()
    if form.errors:
        return _refused(form)
    tables = export.tables(board.build(get_store(), filters))
    if name not in tables:
        abort(404)
    header, rows = tables[name]
    return _csv(name, export.to_csv(header, rows))
