"""The dashboard's numbers on small hand-built sets whose answers are worked out below."""

from __future__ import annotations

import datetime
import re

import pytest

from debrief.taxonomy import REASONS
from debrief.themes import charts, funnel_stats, loss_stats, reason_stats, stats

ANA, BEN = "ana@example.test", "ben@example.test"


def fact(day="2024-05-01", kind="debrief", rep=ANA, buyer=(), reps=(), themes=(), deal=None,
         competitor=None, slug=None) -> dict:  # fmt: skip
    """One entry's header facts, shaped like SearchIndex.facts()."""
    return {
        "slug": slug or f"e-{day}-{deal}", "date": day, "kind": kind, "rep": rep,
        "competitor": competitor, "outcome": None, "themes": list(themes),
        "prospect_reasons": list(buyer), "rep_reasons": list(reps), "trust": None, "deal": deal,
    }  # fmt: skip


@pytest.fixture
def debriefs() -> list[dict]:
    """Five comparable debriefs (3 agree), one without a rep reason, one lesson."""
    return [
        fact(rep=ANA, reps=["price"], buyer=["price"], deal=1),  # agree
        fact(rep=ANA, reps=["price", "timing"], buyer=["trust", "price"], deal=2),  # differ
        fact(rep=ANA, reps=["product-fit"], buyer=["product-fit"], deal=3),  # agree
        fact(rep=BEN, reps=["price"], buyer=["overpromising"], deal=4, competitor="initech"),
        fact(rep=BEN, reps=["timing"], buyer=["timing"], deal=5, competitor="initech"),  # agree
        fact(rep=BEN, reps=[], buyer=["price"], deal=6, competitor="globex"),  # not comparable
        fact(kind="lesson", rep=BEN, reps=["price"], buyer=["trust"], deal=7),  # not a debrief
    ]


def test_agreement_rate_overall_and_per_rep(debriefs):
    report = reason_stats.agreement(debriefs)
    # Comparable: deals 1-5. Agree: 1, 3, 5 -> 3 of 5.
    assert (report.overall.agree, report.overall.total) == (3, 5)
    assert report.overall.rate == pytest.approx(0.6)
    # Ana: deals 1, 2, 3 -> 2 of 3. Ben: deals 4, 5 -> 1 of 2.
    assert {rep: (a.agree, a.total) for rep, a in report.per_rep.items()} == {
        ANA: (2, 3),
        BEN: (1, 2),
    }
    assert stats.percent(report.per_rep[ANA].rate) == "67%"


def test_confusion_matrix_cells_and_the_deals_behind_them(debriefs):
    report = reason_stats.agreement(debriefs, order=list(REASONS))
    cells = {key: [d["deal"] for d in deals] for key, deals in report.cells.items()}
    assert cells == {
        ("price", "price"): [1],
        ("price", "trust"): [2],
        ("product-fit", "product-fit"): [3],
        ("price", "overpromising"): [4],
        ("timing", "timing"): [5],
    }
    # Rows are the reps' main reasons, columns the buyers', both in taxonomy order.
    assert report.rep_reasons == ["price", "product-fit", "timing"]
    assert report.buyer_reasons == ["price", "product-fit", "trust", "overpromising", "timing"]
    assert report.count("price", "trust") == 1 and report.count("trust", "price") == 0
    # Every comparable debrief is in exactly one cell; the diagonal is the agreement.
    assert sum(map(len, report.cells.values())) == report.overall.total
    assert sum(report.count(r, r) for r in report.rep_reasons) == report.overall.agree


def test_no_comparable_debriefs_has_no_rate():
    report = reason_stats.agreement([fact(kind="lesson", reps=["price"], buyer=["price"])])
    assert report.overall.rate is None and stats.percent(report.overall.rate) == "–"
    assert report.cells == {}


def test_reason_table_counts_main_and_any_mention_on_debriefs_only(debriefs):
    rows = {r.reason: r for r in reason_stats.reason_table(debriefs)}
    # Buyers' main: price (deals 1, 6), trust, product-fit, overpromising, timing once each.
    assert {k: r.buyer_main for k, r in rows.items()} == {
        "price": 2, "trust": 1, "product-fit": 1, "overpromising": 1, "timing": 1,
    }  # fmt: skip
    # Reps' main: price (deals 1, 2, 4), product-fit, timing (deal 5); deal 6 has none.
    assert {k: r.rep_main for k, r in rows.items() if r.rep_main} == {
        "price": 3, "product-fit": 1, "timing": 1,
    }  # fmt: skip
    assert rows["price"].buyer_any == 3  # deal 2 names price second
    assert rows["timing"].rep_any == 2  # deal 2 names timing second
    assert rows["trust"].rep_main == 0  # the lesson does not count
    assert reason_stats.reason_table([])[:1] == []


def test_competitors_most_frequent_first(debriefs):
    assert reason_stats.competitors(debriefs) == [("initech", 2), ("globex", 1)]


def test_filters_by_date_range_and_rep(debriefs):
    items = [*debriefs, fact(day="2023-12-31", rep=ANA, deal=8)]
    in_2024 = stats.filter_facts(items, stats.Filters("2024-01-01", "2024-12-31"))
    assert len(in_2024) == 7
    ben = stats.filter_facts(items, stats.Filters(rep="BEN@example.test"))
    assert {f["deal"] for f in ben} == {4, 5, 6, 7}


TODAY = datetime.date(2024, 6, 30)  # recent window: 2024-04-02 .. 2024-06-30 (90 days)


def days_ago(n: int) -> str:
    return (TODAY - datetime.timedelta(days=n)).isoformat()


def test_rising_themes_compare_the_last_90_days_with_the_90_before():
    facts = (
        [fact(day=days_ago(n), themes=["onboarding"]) for n in (1, 30, 89)]  # 3 recent
        + [fact(day=days_ago(120), themes=["onboarding"])]  # 1 before -> 3 >= 1.5: rising
        + [fact(day=days_ago(n), themes=["price"]) for n in (5, 10, 100, 150)]  # 2 vs 2: flat
        + [fact(day=days_ago(n), themes=["new-thing"]) for n in (2, 3)]  # 2 vs 0: rising
        + [fact(day=days_ago(4), themes=["one-off"])]  # 1 vs 0: below the minimum
        + [fact(day=days_ago(90), themes=["edge"])]  # exactly 90 days ago: the earlier window
        + [fact(day=days_ago(200), themes=["old"])]  # outside both windows
        + [fact(day=days_ago(-1), themes=["future"])]  # after today: ignored
    )
    trends = {t.theme: t for t in stats.theme_trends(facts, TODAY)}
    assert {k: (t.recent, t.previous, t.rising) for k, t in trends.items()} == {
        "onboarding": (3, 1, True),
        "price": (2, 2, False),
        "new-thing": (2, 0, True),
        "one-off": (1, 0, False),
        "edge": (0, 1, False),
    }
    ordered = [t.theme for t in stats.theme_trends(facts, TODAY)]
    # Rising first, the larger rise first, ties by name; then the rest the same way.
    assert ordered == ["new-thing", "onboarding", "one-off", "price", "edge"]


@pytest.mark.parametrize(
    "recent, previous, rising",
    [(2, 0, True), (1, 0, False), (3, 2, True), (5, 4, False), (6, 4, True), (0, 0, False)],
)
def test_the_rising_rule(recent, previous, rising):
    assert stats.is_rising(recent, previous) is rising


def test_months_wrap_the_year_and_count_per_theme():
    months = stats.last_months(datetime.date(2024, 2, 10), 4)
    assert months == ["2023-11", "2023-12", "2024-01", "2024-02"]
    facts = [
        fact(day="2023-11-30", themes=["a", "b"]),
        fact(day="2024-02-29", themes=["a"]),
        fact(day="2024-02-01", themes=["a"]),
        fact(day="2023-10-31", themes=["a"]),  # before the first month
    ]
    assert stats.themes_per_month(facts, months) == {"a": [1, 0, 0, 2], "b": [1, 0, 0, 0]}


def invitation(status, sent="2024-05-03T09:00:00+00:00", deal=1, **fields) -> dict:
    record = {"deal_id": deal, "status": status, "created": "2024-05-01T09:00:00+00:00"}
    if sent:
        record["sent_at"] = sent
    return {**record, **fields}


def test_funnel_per_month_and_per_rep():
    invitations = [
        invitation("sent", deal=1),
        invitation("opened", deal=1, opened_at="2024-05-04"),
        invitation("answered", deal=2, opened_at="x", answered_at="y"),
        invitation("answered", deal=2, sent="2024-06-01T00:00:00+00:00"),
        invitation("expired", deal=2, sent="2024-06-02T00:00:00+00:00"),
        invitation("pending", sent=None, deal=1),  # never sent: not in the funnel
        invitation("failed", sent=None, deal=2, error="mailbox full"),  # not sent either
    ]
    reps = {1: ANA, 2: BEN}
    total, by_month, by_rep = funnel_stats.funnel(invitations, reps, stats.Filters())
    assert (total.sent, total.opened, total.answered) == (5, 3, 2)
    assert total.rate == pytest.approx(0.4)
    assert {m: (f.sent, f.opened, f.answered) for m, f in by_month.items()} == {
        "2024-05": (3, 2, 1),
        "2024-06": (2, 1, 1),
    }
    assert {r: (f.sent, f.answered) for r, f in by_rep.items()} == {ANA: (2, 0), BEN: (3, 2)}
    only_june = funnel_stats.funnel(invitations, reps, stats.Filters("2024-06-01", "2024-06-30"))[0]
    assert (only_june.sent, only_june.answered) == (2, 1)
    only_ana = funnel_stats.funnel(invitations, reps, stats.Filters(rep=ANA))[0]
    assert (only_ana.sent, only_ana.opened, only_ana.rate) == (2, 1, 0)


# --- the deals lost and their value -----------------------------------------------------------

# (rep, buyer's main reason or None: no answer, competitor, deals, with a value, value)
LOSS_ROWS = [
    (ANA, "price", "Initech", 2, 2, 30000.0),
    (ANA, "price", "initech  ", 1, 0, 0.0),  # the same competitor typed differently, no value
    (ANA, "trust", None, 1, 1, 5000.0),
    (BEN, "price", "Globex", 1, 1, 12000.0),
    (BEN, None, "Initech", 3, 2, 8000.5),  # no answer yet
]


def test_value_lost_per_reason_and_competitor_counts_deals_without_a_value():
    losses = loss_stats.loss_counts(LOSS_ROWS, stats.Filters())
    total = losses.total
    # Deals: 2+1+1+1+3 = 8; with a value: 2+0+1+1+2 = 6; value 30000+5000+12000+8000.5.
    assert (total.deals, total.valued, total.unvalued) == (8, 6, 2)
    assert total.value == pytest.approx(55000.5)
    by_reason = [(r.label, r.deals, r.unvalued, r.value) for r in losses.by_reason]
    # Largest value first; the deals with no answer ("") last whatever their value.
    assert by_reason == [("price", 4, 1, 42000.0), ("trust", 1, 0, 5000.0), ("", 3, 1, 8000.5)]
    by_competitor = [(r.label, r.deals, r.unvalued, r.value) for r in losses.by_competitor]
    # "Initech" and "initech  " are one competitor, shown in its most frequent spelling.
    assert by_competitor == [
        ("Initech", 6, 2, 38000.5),
        ("Globex", 1, 0, 12000.0),
        ("", 1, 0, 5000.0),
    ]


def test_value_lost_for_one_rep():
    losses = loss_stats.loss_counts(LOSS_ROWS, stats.Filters(rep="BEN@example.test"))
    assert (losses.total.deals, losses.total.value) == (4, pytest.approx(20000.5))
    assert [r.label for r in losses.by_reason] == ["price", ""]


# --- charts: one scale for the small multiples, months with their year --------------------------


def column_heights(svg: str) -> list[float]:
    return [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]


def test_small_multiples_share_one_scale():
    months = ["2026-01", "2026-02", "2026-03"]
    one = charts.columns("a", "A", months, [("", [0, 1, 0])], peak=3, width=260, height=130)
    three = charts.columns("b", "B", months, [("", [0, 3, 0])], peak=3, width=260, height=130)
    [bar_of_1] = [h for h in column_heights(one) if h > 0]
    [bar_of_3] = [h for h in column_heights(three) if h > 0]
    assert bar_of_3 == pytest.approx(3 * bar_of_1, rel=0.01)
    assert ">3</text>" in one  # the scale's top value, the same on every chart


def test_months_read_with_their_year():
    assert charts.month_label("2026-03") == "Mar 2026"
    assert charts.month_label("2026-13") == "2026-13"
    svg = charts.columns("m", "M", ["2025-12", "2026-01"], [("", [1, 2])])
    assert "Jan 2026" in svg and "Jan 26" not in svg


def test_charts_scale_to_the_page_with_readable_text():
    svg = charts.hbar("c", "Competitors", [("A very long competitor name that goes on", 3)])
    assert 'width="100%"' in svg and 'viewBox="0 0 340 ' in svg
    sizes = [int(s) for s in re.findall(r'font-size="(\d+)"', svg)]
    assert min(sizes) >= charts.FONT == 13
