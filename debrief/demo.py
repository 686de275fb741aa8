"""Demo data for `make run`: accounts, lost deals, answers and lessons.

Every feature adds its part here through its own service functions, so the demo
exercises the same code paths a user does.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from debrief.auth import users
from debrief.store import Store
from debrief.themes import demo as themes_demo

PASSWORD = "debrief-demo"  # noqa: S105 - printed on purpose by `make run`
ACCOUNTS = [
    ("manager@demo.test", "manager"),
    ("ana@demo.test", "rep"),
    ("ben@demo.test", "rep"),
]
NAMES = {"manager@demo.test": "Mia Manager", "ana@demo.test": "Ana Rep", "ben@demo.test": "Ben Rep"}


def create(store: Store, config: dict[str, Any]) -> None:
    """Create the demo accounts, then each feature's demo records."""
    for email, role in ACCOUNTS:
        if users.find_user(store, email) is None:
            users.add_user(store, email, role, PASSWORD, NAMES[email])
    deals = create_deals(store, config)
    answer_demo_deals(store, config, deals)
    themes_demo.create(store)


# rep, company, contact, email, value, lost (days ago), competitor, reason, others, claims, notes
DEALS = [
    ("ana", "Northwind Traders", "Nora Lind", "nora@northwind.example.com", 18000, 86,
     "Rivalry CRM", "price", ["product-fit"],
     ["Setup takes one afternoon", "Salesforce sync included in every plan"],
     "Procurement asked for a 20% discount in the last week."),
    ("ana", "Contoso Logistics", "Carl Berg", "carl@contoso.example.com", 42000, 73,
     "Pipeworks", "overpromising", ["trust"],
     ["Go-live in two weeks", "Dedicated success manager", "SSO on every plan"],
     "They asked twice whether the two-week go-live was realistic."),
    ("ana", "Fabrikam Health", "Dr. Ines Vogel", "ines@fabrikam.example.com", 65000, 57,
     None, "status-quo", ["timing"], ["HIPAA paperwork handled by us"],
     "Decided to keep their spreadsheets for another year."),
    ("ana", "Tailspin Toys", None, None, 7500, 38, "Rivalry CRM", "price", [], [],
     "Found on a trade-show list; no contact kept."),
    ("ben", "Wingtip Travel", "Wendy Park", "wendy@wingtip.example.com", 23000, 91,
     "Pipeworks", "incumbent", ["contract"], ["Month-to-month contract", "Free data migration"],
     "Their current vendor matched our price at renewal."),
    ("ben", "Litware Studios", "Lee Okafor", "lee@litware.example.com", 12000, 58,
     None, "product-fit", ["support"], ["Native Figma integration", "Replies within 1 hour"],
     "Needed an on-premise option."),
    ("ben", "Proseware Legal", "Pat Moreau", "pat@proseware.example.com", 31000, 47,
     "Rivalry CRM", "trust", ["overpromising"], ["SOC 2 report available", "EU-only data hosting"],
     "Legal review stalled on our security questionnaire."),
    ("ben", "Adatum Energy", "Ada Novak", "ada@adatum.example.com", 54000, 24,
     "BuildItOurselves", "speed", ["timing"], ["Implementation in 30 days"],
     "Their IT team said they could build it faster."),
]  # fmt: skip


def create_deals(store: Store, config: dict[str, Any]) -> list[dict[str, Any]]:
    """Eight lost deals for the two demo reps; invitations sent (to the outbox) for most."""
    from debrief.deals import sending, service

    keys = ("contact_name", "contact_email", "value", "days_ago", "competitor", "rep_reason",
            "rep_reasons", "claims", "notes")  # fmt: skip
    made = []
    for n, (rep, company, *rest) in enumerate(DEALS):
        owner = users.find_user(store, f"{rep}@demo.test")
        data = {"company": company, "crm_id": f"DEMO-{n + 1}", **dict(zip(keys, rest, strict=True))}
        data["lost_on"] = date.today() - timedelta(days=data.pop("days_ago"))
        deal, created = service.create_deal(store, data, owner, "form", created_by=owner["id"])
        made.append(deal)
        if created and deal["contact_email"] and n != len(DEALS) - 1:  # the last: yours to send
            # Demo mail always goes to the outbox, never to a real server.
            sending.send_invitation(store, {**config, "MAIL_URL": "outbox"}, deal)
    return made


# company -> the buyer's answer (two agree with the rep, two tell another story; one is named)
ANSWERS = {
    "Northwind Traders": {
        "outcome": "competitor", "competitor": "Rivalry CRM", "reason": "price",
        "reasons": ["product-fit"], "trust": 4, "attribution": "anonymous", "may_contact": False,
        "own_words": "Rivalry was 20% cheaper for the same seats, and finance had the last word.",
        "verdicts": ["held", "did-not-hold"],
        "would_change": "A price closer to theirs, or a longer trial so we could show the value.",
    },
    "Contoso Logistics": {
        "outcome": "competitor", "competitor": "Pipeworks", "reason": "overpromising",
        "reasons": ["trust"], "trust": 2, "attribution": "named", "name": "Carl Berg",
        "company": "Contoso Logistics", "may_contact": True,
        "own_words": "Two weeks to go live sounded too good, and your references took 4 weeks.",
        "verdicts": ["did-not-hold", "not-sure", "held"],
        "would_change": "A realistic plan with dates we could hold you to.",
    },
    "Wingtip Travel": {
        "outcome": "status-quo", "competitor": None, "reason": "support",
        "reasons": ["contract"], "trust": 3, "attribution": "anonymous", "may_contact": False,
        "own_words": "Price was fine. Nobody answered our support test ticket for three days.",
        "verdicts": ["held", "not-sure"],
        "would_change": "Seeing support work before we signed.",
    },
    "Proseware Legal": {
        "outcome": "competitor", "competitor": "Rivalry CRM", "reason": "speed",
        "reasons": [], "trust": 4, "attribution": "anonymous", "may_contact": False,
        "own_words": "We trusted you. Your security answers took a month; theirs took a week.",
        "verdicts": ["held", "held"],
        "would_change": "A filled-in security questionnaire on day one.",
    },
}  # fmt: skip


def answer_demo_deals(store: Store, config: dict[str, Any], deals: list[dict[str, Any]]) -> None:
    """Answer four of the sent invitations the way a buyer would, through the survey service."""
    from debrief.deals import invitations
    from debrief.survey import service

    for deal in deals:
        answer = ANSWERS.get(deal["company"])
        invitation = invitations.for_deal(store, deal["id"])
        if answer is None or invitation is None or invitation["status"] != "sent":
            continue
        claims = [
            {"claim": claim, "verdict": verdict}
            for claim, verdict in zip(deal.get("claims") or [], answer["verdicts"], strict=False)
        ]
        data = {**answer, "claims": claims}
        service.submit_answer(store, {**config, "MAIL_URL": "outbox"}, invitation, data)
