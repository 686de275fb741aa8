"""CSV exports: the buyers' answers (anonymity kept) and each table of the dashboard.

Cells that a spreadsheet would run as a formula (= + - @, tab, CR) get a leading apostrophe:
buyer text is untrusted, and "=HYPERLINK(...)" in an answer must stay text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable

from debrief.deals.service import deals_by_id
from debrief.kb.export import answer_cells, neutralize
from debrief.store import Store
from debrief.survey import answers
from debrief.taxonomy import reason_label
from debrief.themes import funnel_stats, loss_stats, stats
from debrief.themes.dashboard import Dashboard, competitor_label, lost_reason_label

ANSWER_COLUMNS = (
    "submitted", "deal_id", "rep", "outcome", "competitor", "reason", "other_reasons",
    "own_words", "claims", "would_change", "trust", "attribution", "name", "company",
    "may_contact",
)  # fmt: skip


def to_csv(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """CSV text (CRLF line ends, as RFC 4180 and spreadsheets expect), every cell neutralized."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralize(h) for h in header])
    writer.writerows([neutralize(c) for c in row] for row in rows)
    return out.getvalue()


def answer_rows(store: Store, filters: stats.Filters) -> list[list[object]]:
    """One row per answer inside the filters; anonymous rows carry no name, company or deal id."""
    emails = {u["id"]: u["email"] for u in store.table("users").all()}
    deals = deals_by_id(store)
    rows = []
    for answer in answers.every(store):
        deal = deals.get(answer.get("deal_id")) or {}
        rep = emails.get(deal.get("rep_id"), "")
        day = (answer.get("submitted") or "")[:10] or None
        if not filters.keeps(day, rep):
            continue
        cells = answer_cells(answer, deal)  # the deal names the buyer's company
        cells.update(rep=rep, other_reasons=cells["reasons"])
        rows.append([cells.get(column, "") for column in ANSWER_COLUMNS])
    return rows


def _funnel_row(label: str, f: funnel_stats.Funnel) -> list[object]:
    return [label, f.sent, f.opened, f.answered, stats.percent(f.rate)]


def _value_rows(rows: list[loss_stats.ValueRow], name: Callable[[str], str]) -> list[list[object]]:
    return [[name(r.label), r.deals, r.unvalued, round(r.value, 2)] for r in rows]


def tables(d: Dashboard) -> dict[str, tuple[list[str], list[list[object]]]]:
    """Every dashboard table by its CSV name: (header, rows)."""
    agreement = d.agreement
    return {
        "themes-by-month": (
            ["theme", *d.months],
            [[d.theme_name(t), *counts] for t, counts in d.per_month.items()],
        ),
        "theme-trends": (
            ["theme", "last 90 days", "90 days before", "rising"],
            [
                [d.theme_name(t.theme), t.recent, t.previous, "yes" if t.rising else ""]
                for t in d.trends
            ],
        ),  # fmt: skip
        "reasons": (
            ["reason", "buyers: main", "reps: main", "buyers: named at all", "reps: named at all"],
            [
                [reason_label(r.reason), r.buyer_main, r.rep_main, r.buyer_any, r.rep_any]
                for r in d.reasons
            ],
        ),  # fmt: skip
        "agreement": (
            ["rep", "agree", "debriefs", "agreement rate"],
            [
                [
                    "All reps",
                    agreement.overall.agree,
                    agreement.overall.total,
                    stats.percent(agreement.overall.rate),
                ]
            ]
            + [
                [d.rep_name(rep), a.agree, a.total, stats.percent(a.rate)]
                for rep, a in agreement.per_rep.items()
            ],
        ),  # fmt: skip
        "matrix": (
            ["rep reason \\ buyer reason", *map(reason_label, agreement.buyer_reasons)],
            [
                [reason_label(r), *(agreement.count(r, b) for b in agreement.buyer_reasons)]
                for r in agreement.rep_reasons
            ],
        ),  # fmt: skip
        "competitors": (["competitor", "debriefs"], [list(row) for row in d.competitors]),
        "value-by-reason": (
            ["buyer's main reason", "deals lost", "without a value", "value lost"],
            _value_rows(d.losses.by_reason, lost_reason_label),
        ),
        "value-by-competitor": (
            ["competitor", "deals lost", "without a value", "value lost"],
            _value_rows(d.losses.by_competitor, competitor_label),
        ),
        "funnel-by-month": (
            ["month", "sent", "opened", "answered", "response rate"],
            [_funnel_row(m, f) for m, f in d.funnel_by_month.items()],
        ),
        "funnel-by-rep": (
            ["rep", "sent", "opened", "answered", "response rate"],
            [_funnel_row(d.rep_name(r), f) for r, f in d.funnel_by_rep.items()],
        ),
    }
