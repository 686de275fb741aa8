"""Reasons as buyers and reps gave them on the same debriefs, their agreement, competitors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


def debriefs(facts: Iterable[dict]) -> list[dict]:
    """The entries that hold a buyer's answer."""
    return [f for f in facts if f["kind"] == "debrief"]


@dataclass
class ReasonRow:
    """One reason: how often buyers and reps named it as the main reason, and at all."""

    reason: str
    buyer_main: int = 0
    rep_main: int = 0
    buyer_any: int = 0
    rep_any: int = 0


def reason_table(facts: Iterable[dict]) -> list[ReasonRow]:
    """Reasons as buyers gave them beside reasons as reps logged them, on the same debriefs."""
    return reason_table_counts(
        (f["prospect_reasons"], f["rep_reasons"], 1) for f in debriefs(facts)
    )


def reason_table_counts(
    rows: Iterable[tuple[Sequence[str], Sequence[str], int]],
) -> list[ReasonRow]:
    """reason_table over (buyer's reasons, rep's reasons, number of debriefs) rows."""
    counts = {key: Counter() for key in ("buyer_main", "rep_main", "buyer_any", "rep_any")}
    for buyer, rep, n in rows:
        if buyer:
            counts["buyer_main"][buyer[0]] += n
            for reason in buyer:
                counts["buyer_any"][reason] += n
        if rep:
            counts["rep_main"][rep[0]] += n
            for reason in rep:
                counts["rep_any"][reason] += n
    reasons = set().union(*counts.values())
    rows = [ReasonRow(r, **{key: c[r] for key, c in counts.items()}) for r in reasons]
    return sorted(rows, key=lambda r: (-(r.buyer_main + r.rep_main), r.reason))


@dataclass
class Agreement:
    """How often the rep's main reason was the buyer's main reason."""

    agree: int = 0
    total: int = 0

    @property
    def rate(self) -> float | None:
        """agree / total, or None when no debrief has both reasons."""
        return self.agree / self.total if self.total else None


@dataclass
class AgreementReport:
    """Agreement overall and per rep, and the confusion matrix with the deals in each cell."""

    overall: Agreement = field(default_factory=Agreement)
    per_rep: dict[str, Agreement] = field(default_factory=dict)
    # (rep reason, buyer reason) -> the deals (or entry slugs when no deal) in that cell
    cells: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    rep_reasons: list[str] = field(default_factory=list)
    buyer_reasons: list[str] = field(default_factory=list)
    # (rep reason, buyer reason) -> how many debriefs (kept also when cells are not listed)
    sizes: dict[tuple[str, str], int] = field(default_factory=dict)

    def count(self, rep_reason: str, buyer_reason: str) -> int:
        """How many debriefs fall in one cell."""
        return self.sizes.get((rep_reason, buyer_reason), 0)


def agreement(facts: Iterable[dict], order: list[str] | None = None) -> AgreementReport:
    """Compare main reasons on every debrief that has both; `order` sorts the matrix axes."""
    cells: dict[tuple[str, str], list[dict]] = {}
    rows = []
    for fact in debriefs(facts):
        if not fact["prospect_reasons"] or not fact["rep_reasons"]:
            continue
        rep_main, buyer_main = fact["rep_reasons"][0], fact["prospect_reasons"][0]
        rows.append((fact.get("rep"), rep_main, buyer_main, 1))
        cell = cells.setdefault((rep_main, buyer_main), [])
        cell.append({"deal": fact.get("deal"), "slug": fact["slug"], "date": fact["date"]})
    report = agreement_counts(rows, order)
    report.cells = cells
    return report


def agreement_counts(
    rows: Iterable[tuple[str | None, str, str, int]], order: list[str] | None = None
) -> AgreementReport:
    """agreement over (rep, rep's main reason, buyer's main reason, n) rows; no cell lists."""
    report = AgreementReport()
    for rep, rep_main, buyer_main, n in rows:
        if not rep_main or not buyer_main:
            continue
        same = rep_main == buyer_main
        for tally in (report.overall, report.per_rep.setdefault(rep or "", Agreement())):
            tally.total += n
            tally.agree += n if same else 0
        key = (rep_main, buyer_main)
        report.sizes[key] = report.sizes.get(key, 0) + n
    rank = {slug: i for i, slug in enumerate(order or [])}

    def key(slug: str) -> tuple[int, str]:
        return (rank.get(slug, len(rank)), slug)

    report.rep_reasons = sorted({r for r, _ in report.sizes}, key=key)
    report.buyer_reasons = sorted({b for _, b in report.sizes}, key=key)
    report.per_rep = dict(sorted(report.per_rep.items()))
    return report


def competitors(facts: Iterable[dict]) -> list[tuple[str, int]]:
    """Competitors lost to (from debriefs), most frequent first."""
    return competitor_counts((f.get("competitor"), 1) for f in debriefs(facts))


def competitor_counts(rows: Iterable[tuple[str | None, int]]) -> list[tuple[str, int]]:
    """competitors over (competitor, debriefs) rows."""
    counts: Counter[str] = Counter()
    for name, n in rows:
        if name:
            counts[name] += n
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
