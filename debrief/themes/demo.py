"""Demo themes: reps' lessons spread over 12 months, tagged so the dashboard has a rising theme.

"Slow onboarding" rises (five entries in the last 90 days against one in the 90 before);
the others hold steady. Everything goes through the same service functions managers use.
"""

from __future__ import annotations

from datetime import date, timedelta

from debrief.entries import Entry, slugify
from debrief.kb import service as kb
from debrief.store import Store
from debrief.themes import service

THEMES = [
    ("Slow onboarding", "Go-live took longer than promised, or the buyer feared it would."),
    ("Price pressure", "Lost on price or on a discount we would not match."),
    ("Security reviews", "Questionnaires, SOC 2, data hosting: the review stalled the deal."),
    ("Promises we could not keep", "A claim in the sale that the buyer found did not hold."),
]

# days ago, rep, title, body, themes (slugs)
LESSONS = [
    (12, "ana", "Show the onboarding plan before the price",
     "The buyer asked three times how long onboarding takes. Bring the plan to the first call.",
     ["slow-onboarding"]),
    (26, "ben", "Onboarding estimates need a named engineer",
     "A go-live date without a named engineer behind it reads as a guess.",
     ["slow-onboarding"]),
    (41, "ana", "Pilot first, then the rollout",
     "They feared a long onboarding; a two-week pilot would have answered that.",
     ["slow-onboarding"]),
    (67, "ben", "Integration work is onboarding work",
     "The Salesforce sync took a month in the reference account; say so up front.",
     ["slow-onboarding", "promises-we-could-not-keep"]),
    (150, "ana", "Onboarding checklist went missing",
     "Our kick-off had no checklist; the buyer noticed.", ["slow-onboarding"]),
    (20, "ben", "Discounts at the last minute look like padding",
     "Procurement read our late discount as proof the first price was padded.",
     ["price-pressure"]),
    (110, "ana", "Anchor on value before the price slide",
     "We showed the price before the savings: finance never saw the savings.",
     ["price-pressure"]),
    (200, "ben", "Price match at renewal",
     "The incumbent matched our price at renewal; we had nothing else to offer.",
     ["price-pressure"]),
    (300, "ana", "Per-seat pricing scared a growing team",
     "They planned to double; per-seat pricing made us the expensive choice.",
     ["price-pressure"]),
    (95, "ben", "Have the security questionnaire filled in before they ask",
     "Their legal team waited a month for our answers.", ["security-reviews"]),
    (240, "ana", "EU hosting question came too late",
     "We learned about their data residency rule in the final week.", ["security-reviews"]),
    (330, "ben", "Only promise features that ship today",
     "The roadmap item we mentioned became the reason they doubted everything else.",
     ["promises-we-could-not-keep"]),
]  # fmt: skip


def create(store: Store) -> None:
    """The demo themes, lessons tagged with them, and the demo debriefs tagged by search."""
    for name, description in THEMES:
        if service.get_theme(store, slugify(name)) is None:
            service.create_theme(store, name, description)
    today = date.today()
    for days, rep, title, body, themes in LESSONS:
        kb.publish(
            Entry(kind="lesson", title=title, date=today - timedelta(days=days), body=body,
                  rep=f"{rep}@demo.test", themes=themes)
        )  # fmt: skip
    # The buyers' debriefs (from the survey demo) are tagged the way a manager would: by search.
    searches = [
        ("go-live", "slow-onboarding"),
        ("weeks", "promises-we-could-not-keep"),
        ("security", "security-reviews"),
        ("cheaper", "price-pressure"),
    ]
    for words, theme in searches:
        service.tag_search(store, service.SearchParams(q=words, kind="debrief"), theme)
