"""The records and entries of one benchmark data set, generated from a seeded random.Random."""

from __future__ import annotations

import datetime
import random
from dataclasses import replace
from typing import Any

from bench import text
from debrief import entries
from debrief.survey import answer_entry


def deal(rng: random.Random, n: int, reps: list[dict], today: datetime.date) -> dict[str, Any]:
    """One lost deal, lost some day in the last two years."""
    rep = rng.choice(reps)
    main, others = text.reasons(rng)
    lost_on = today - datetime.timedelta(days=rng.randint(0, 729))
    name = text.person(rng)
    return {
        "company": text.company(rng),
        "contact_name": name,
        "contact_email": f"{name.split()[0].lower()}.{n}@buyer.test",
        "rep_id": rep["id"],
        "owner_text": None,
        "value": float(rng.randrange(2_000, 250_000, 500)) if rng.random() < 0.8 else None,
        "lost_on": lost_on.isoformat(),
        "competitor": rng.choice(text.COMPETITORS) if rng.random() < 0.7 else None,
        "rep_reason": main,
        "rep_reasons": others,
        "notes": text.buyer_text(rng, main, rng.randint(1, 4)),
        "claims": rng.sample(text.CLAIMS, rng.randint(0, 3)),
        "crm_id": f"CRM-{n:07d}" if rng.random() < 0.6 else None,
        "created": f"{lost_on.isoformat()}T09:00:00+00:00",
        "created_by": rep["id"],
        "source": rng.choice(["form", "csv", "api"]),
    }


def day(deal: dict, days: int) -> str:
    """A timestamp `days` after the deal was lost."""
    lost = datetime.date.fromisoformat(deal["lost_on"])
    return f"{(lost + datetime.timedelta(days=days)).isoformat()}T10:00:00+00:00"


def invitation(deal: dict, deal_id: int, answered: bool) -> dict[str, Any]:
    """The deal's invitation: answered, or sent and still waiting."""
    sent, opened, done = day(deal, 1), day(deal, 3), day(deal, 4)
    events = [{"at": deal["created"], "what": "created"}, {"at": sent, "what": "sent"}]
    record = {
        "deal_id": deal_id,
        "email": deal["contact_email"],
        "status": "answered" if answered else "sent",
        "created": deal["created"],
        "expires_at": day(deal, 31),
        "personal_note": "",
        "sent_at": sent,
    }
    if answered:
        events += [{"at": opened, "what": "opened"}, {"at": done, "what": "answered"}]
        record.update(opened_at=opened, answered_at=done)
    return {**record, "events": events}


def answer(rng: random.Random, deal: dict, deal_id: int, inv_id: int) -> dict[str, Any]:
    """The buyer's answer; it agrees with the rep's reason about half of the time."""
    main, others = text.reasons(rng)
    if rng.random() < 0.45:
        main = deal["rep_reason"]
    named = rng.random() < 0.2
    outcome = text.outcome(rng)
    return {
        "deal_id": deal_id,
        "invitation_id": inv_id,
        "outcome": outcome,
        "competitor": deal["competitor"] if outcome == "competitor" else None,
        "reason": main,
        "reasons": [r for r in others if r != main],
        "own_words": text.buyer_text(rng, main, rng.choice([1, 2, 3, 5, 8])),
        "claims": [
            {"claim": c, "verdict": rng.choice(["held", "did-not-hold", "not-sure"])}
            for c in deal["claims"]
        ],
        "would_change": text.buyer_text(rng, rng.choice(others or [main]), rng.randint(0, 3)),
        "trust": rng.choice([1, 2, 3, 3, 4, 4, 5, None]),
        "attribution": "named" if named else "anonymous",
        **({"name": deal["contact_name"], "company": deal["company"]} if named else {}),
        "may_contact": named and rng.random() < 0.5,
        "submitted": day(deal, 4),
    }


def themes(rng: random.Random, theme_slugs: list[str]) -> list[str]:
    """Zero to two themes (four in ten entries stay untagged)."""
    return rng.sample(theme_slugs, rng.choice([0, 0, 1, 1, 1, 2]))


def debrief_entry(
    rng: random.Random,
    deal: dict,
    deal_id: int,
    answer: dict,
    rep_emails: dict[int, str],
    theme_slugs: list[str],
) -> entries.Entry:
    """The entry the survey writes for this answer, dated when it came and maybe tagged."""
    entry = answer_entry.build_entry({**deal, "id": deal_id}, rep_emails[deal["rep_id"]], answer)
    submitted = datetime.date.fromisoformat(answer["submitted"][:10])
    return replace(entry, date=submitted, themes=themes(rng, theme_slugs))


def lesson_entry(
    rng: random.Random,
    deals: list[dict],
    deal_ids: list[int],
    rep_emails: dict[int, str],
    theme_slugs: list[str],
) -> entries.Entry:
    """A rep's lesson, tied to one of their deals or (one in three) standing alone."""
    n = rng.randrange(len(deals))
    deal = deals[n]
    tied = rng.random() < 0.67
    when = datetime.date.fromisoformat(deal["lost_on"]) + datetime.timedelta(days=7)
    return entries.Entry(
        kind="lesson",
        title=f"Lesson {n}: {rng.choice(text.QUERIES)}",
        date=min(when, datetime.date.today()),
        body=text.lesson_text(rng, rng.randint(1, 6)) + "\n",
        deal=deal_ids[n] if tied else None,
        rep=rep_emails[deal["rep_id"]],
        rep_reasons=[deal["rep_reason"]],
        themes=themes(rng, theme_slugs),
    )
