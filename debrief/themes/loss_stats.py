"""The deals lost and their value: in all, per buyer's main reason and per competitor."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from debrief.themes.stats import Filters


@dataclass
class ValueRow:
    """Deals lost for one reason or to one competitor ("" for none): how many, and their value."""

    label: str = ""
    deals: int = 0
    valued: int = 0  # the deals that have a value; the others count in deals but not in value
    value: float = 0.0

    @property
    def unvalued(self) -> int:
        """The deals without a value."""
        return self.deals - self.valued

    def add(self, deals: int, valued: int, value: float) -> None:
        """Count more deals, `valued` of them worth `value` in all."""
        self.deals += deals
        self.valued += valued
        self.value += value


@dataclass
class Losses:
    """The deals lost in the filters: in all, per buyer's main reason and per competitor."""

    total: ValueRow = field(default_factory=ValueRow)
    by_reason: list[ValueRow] = field(default_factory=list)  # "": the buyer has not answered
    by_competitor: list[ValueRow] = field(default_factory=list)  # "": no competitor named


def _name_key(name: str) -> str:
    """Competitor names that differ only in case or spacing are one competitor."""
    return " ".join(name.split()).casefold()


def _by_value(rows: Iterable[ValueRow]) -> list[ValueRow]:
    """Largest value first, then most deals; the "none" row last."""
    return sorted(rows, key=lambda r: (r.label == "", -r.value, -r.deals, r.label.casefold()))


def loss_counts(
    rows: Iterable[tuple[str | None, str | None, str | None, int, int, float]], filters: Filters
) -> Losses:
    """Losses over (rep email, buyer's main reason, competitor, deals, valued, value) rows.

    The rows are of the filters' dates already; the rep filter applies here. A competitor is
    shown as typed, in its most frequent spelling.
    """
    losses = Losses()
    reasons: dict[str, ValueRow] = {}
    competitors: dict[str, ValueRow] = {}
    spellings: dict[str, Counter] = defaultdict(Counter)
    for rep, reason, competitor, deals, valued, value in rows:
        if filters.rep and (rep or "").lower() != filters.rep.lower():
            continue
        losses.total.add(deals, valued, value)
        reasons.setdefault(reason or "", ValueRow(reason or "")).add(deals, valued, value)
        name = " ".join((competitor or "").split())
        key = _name_key(name)
        competitors.setdefault(key, ValueRow()).add(deals, valued, value)
        spellings[key][name] += deals
    for key, row in competitors.items():
        row.label = min(spellings[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
    losses.by_reason = _by_value(reasons.values())
    losses.by_competitor = _by_value(competitors.values())
    return losses
