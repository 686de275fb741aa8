"""Open survey links for the submit measurements: new lost deals, invitations and tokens.

Made through the same service functions as a rep's "send" (minus the mail), so each link
leads to a real open invitation of a real deal.
"""

from __future__ import annotations

import random

from flask import Flask

from bench import text
from bench.dataset import rep_email
from debrief.auth import users
from debrief.deals import invitations
from debrief.deals.service import create_deal
from debrief.store import get_store


def open_links(app: Flask, count: int, seed: int = 7) -> list[str]:
    """`count` fresh tokens, each the only link of a newly sent invitation."""
    rng = random.Random(seed)
    tokens = []
    with app.app_context():
        store = get_store()
        reps = [users.find_user(store, rep_email(i)) for i in range(4)]
        for n in range(count):
            main, others = text.reasons(rng)
            name = text.person(rng)
            deal, _ = create_deal(
                store,
                {
                    "company": text.company(rng),
                    "contact_name": name,
                    "contact_email": f"bench.{seed}.{n}@buyer.test",
                    "lost_on": "2025-01-15",
                    "competitor": rng.choice(text.COMPETITORS),
                    "rep_reason": main,
                    "rep_reasons": others,
                    "notes": text.buyer_text(rng, main, 2),
                    "claims": rng.sample(text.CLAIMS, rng.randint(0, 3)),
                },
                reps[n % len(reps)],
                "api",
            )
            invitation = invitations.create_invitation(
                store, deal, app.config["INVITE_EXPIRY_DAYS"]
            )
            tokens.append(invitations.issue_token(store, invitation["id"]))
            invitations.record_event(
                store, invitation["id"], "sent", status="sent", sent_at=invitations.stamp()
            )
    return tokens
