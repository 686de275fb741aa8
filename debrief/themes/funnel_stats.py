"""The invitation funnel's numbers: sent, opened, answered, overall, per month sent and per rep."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from debrief.themes.stats import Filters, month_of


@dataclass
class Funnel:
    """Invitations sent, opened and answered; the response rate is answered / sent."""

    sent: int = 0
    opened: int = 0
    answered: int = 0

    @property
    def rate(self) -> float | None:
        """answered / sent, or None when nothing was sent."""
        return self.answered / self.sent if self.sent else None

    def add(self, invitation: dict) -> None:
        """Count one sent invitation at the furthest stage it reached."""
        self.add_stage(stage(invitation))

    def add_stage(self, reached: int, n: int = 1) -> None:
        """Count n sent invitations that reached the same stage (SENT, OPENED or ANSWERED)."""
        self.sent += n
        self.opened += n if reached >= OPENED else 0
        self.answered += n if reached >= ANSWERED else 0


SENT, OPENED, ANSWERED = 0, 1, 2


def stage(invitation: dict) -> int:
    """How far a sent invitation got: ANSWERED, OPENED or SENT."""
    if invitation.get("answered_at") or invitation.get("status") == "answered":
        return ANSWERED
    if invitation.get("opened_at") or invitation.get("status") == "opened":
        return OPENED
    return SENT


def sent_day(invitation: dict) -> str | None:
    """The day an invitation was first sent (YYYY-MM-DD), or None if it never was."""
    sent = invitation.get("sent_at")
    if not sent and invitation.get("status") in ("opened", "answered"):
        sent = invitation.get(
            "created"
        )  # an answered invitation was sent, whatever the record says
    return sent[:10] if sent else None


def funnel(
    invitations: Iterable[dict], rep_of_deal: dict[int, str], filters: Filters
) -> tuple[Funnel, dict[str, Funnel], dict[str, Funnel]]:
    """The funnel overall, per month sent and per rep (rep_of_deal: deal id -> rep email)."""
    rows = []
    for invitation in invitations:
        day = sent_day(invitation)
        if day is not None:
            rows.append((day, rep_of_deal.get(invitation.get("deal_id"), ""), stage(invitation), 1))
    return funnel_counts(rows, filters)


def funnel_counts(
    rows: Iterable[tuple[str, str, int, int]], filters: Filters
) -> tuple[Funnel, dict[str, Funnel], dict[str, Funnel]]:
    """funnel over (day sent, rep email, stage reached, invitations) rows."""
    total = Funnel()
    by_month: dict[str, Funnel] = defaultdict(Funnel)
    by_rep: dict[str, Funnel] = defaultdict(Funnel)
    for day, rep, reached, n in rows:
        if not filters.keeps(day, rep):
            continue
        for tally in (total, by_month[month_of(day)], by_rep[rep]):
            tally.add_stage(reached, n)
    return total, dict(sorted(by_month.items())), dict(sorted(by_rep.items()))
