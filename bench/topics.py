"""A knowledge base with planted recurring topics, for the theme discovery bench and its tests.

Each planted topic is a recurring reason for losing deals, written the way different buyers and
reps would write it: every entry is put together from several sentence shapes, each with its own
synonyms, so no two entries of a topic share one sentence. The unrelated entries are each about
a subject of their own, with the same everyday filler around them as the topic entries.
Deterministic for a given seed.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from pathlib import Path

from debrief import entries

# A topic: sentence shapes with {slots}, and the words each slot takes.
TOPICS: dict[str, dict] = {
    "mobile": {
        "shapes": [
            "Our {crew} has to work {offline} and your {app} could not do that.",
            "The {app} was read-only, so the {crew} would still carry paper.",
            "Without {offline} access on {devices} this was never going to work for the {crew}.",
            "We tried the {app} on our {devices} in the warehouse and it lost everything when "
            "the signal dropped.",
            "No proper {app} for the {devices} our {crew} uses every day.",
            "{Crew} spend half the week {offline}; the competitor's {app} syncs when they are "
            "back in range.",
            "What sank it was the {app}: it needs a connection, and our {crew} rarely has one.",
            "The {devices} rollout is the whole point of the project, and your {app} is an "
            "afterthought.",
        ],
        "slots": {
            "crew": ["field team", "technicians", "drivers", "site engineers", "field crews"],
            "offline": ["offline", "without signal", "with no connection", "off the network"],
            "app": ["mobile app", "phone app", "mobile version", "tablet app", "app"],
            "devices": ["tablets", "phones", "rugged tablets", "handhelds", "mobile devices"],
        },
    },
    "invoices": {
        "shapes": [
            "{Finance} could not export {invoices} into {ledger} without retyping them.",
            "The {sync} with {ledger} was missing, which our {finance} would not accept.",
            "Every month-end our {finance} would have to copy {invoices} by hand into {ledger}.",
            "They wanted {invoices} to flow straight into {ledger}; we only offer a CSV.",
            "No {sync} for {ledger} meant double entry of {invoices} for {finance}.",
            "The competitor posts {invoices} to {ledger} automatically, and that won over "
            "{finance}.",
            "Reconciling {invoices} against {ledger} was the deal breaker for {finance}.",
        ],
        "slots": {
            "finance": ["the finance team", "accounts payable", "the controller", "bookkeeping"],
            "invoices": ["invoices", "billing records", "credit notes", "invoice data"],
            "ledger": [
                "their accounting system",
                "the general ledger",
                "their ERP ledger",
                "the bookkeeping software",
            ],  # fmt: skip
            "sync": [
                "accounting integration",
                "ledger connector",
                "two-way sync",
                "accounting export",
            ],  # fmt: skip
        },
    },
    "onboarding": {
        "shapes": [
            "The {onboarding} plan asked too much of our {staff} in the first {weeks}.",
            "Nobody offered {training} for the {staff}; we would have been on our own.",
            "Their {staff} needed {training} in their own language and we had none to give.",
            "The competitor sent a trainer on site for the first {weeks}; our {onboarding} "
            "was a video library.",
            "After the pilot the {staff} still did not know where to start: {onboarding} "
            "failed them.",
            "Rolling out to the {staff} without {training} felt too risky to the sponsor.",
            "Our {onboarding} took {weeks} longer than promised during the trial.",
        ],
        "slots": {
            "onboarding": [
                "onboarding",
                "rollout programme",
                "implementation plan",
                "getting-started programme",
            ],  # fmt: skip
            "training": [
                "hands-on training",
                "classroom training",
                "user training",
                "training sessions",
                "coaching",
            ],  # fmt: skip
            "staff": [
                "new users",
                "store managers",
                "call centre staff",
                "employees",
                "frontline staff",
            ],  # fmt: skip
            "weeks": ["weeks", "two weeks", "month", "few weeks"],
        },
    },
}

# One subject per unrelated entry: things that cost a deal once, not a pattern.
UNRELATED = [
    "the sponsor left the company halfway through", "their budget was frozen after a merger",
    "a board member's cousin sells a similar product", "legal asked for a data centre in Norway",
    "the trial expired during their summer shutdown", "they decided to build it in-house",
    "our quote was sent to the wrong contact", "they paused all purchases after a cyber attack",
    "a reorganisation moved the project to another department",
    "they only buy from suppliers on a government framework", "the champion went on parental leave",
    "the demo environment crashed twice", "they wanted a perpetual licence, not a subscription",
    "the procurement portal rejected our certificate", "they needed a Braille-friendly interface",
    "our contract had a liability cap their lawyers refused",
    "they chose to wait for the next fiscal year", "a competitor offered a free first year",
    "the chief executive preferred a local vendor", "their IT team is standardising on one suite",
    "the pilot site burned down", "they found our logo too similar to a rival's",
    "the deal needed a reference in the shipping industry", "we could not meet a tender deadline",
    "they wanted payment in cryptocurrency", "the steering committee never met",
    "their auditors flagged a conflict of interest", "the project lost its executive sponsor",
    "they merged with a company that already uses a rival product",
    "a strike delayed every decision", "their warehouse moved to another country",
    "they wanted a custom font in every report", "the evaluation scoring sheet was lost",
    "the union objected to any tracking of hours", "the buyer retired before signing",
    "they needed support for an old version of their browser", "currency swings doubled the price",
    "the tender was cancelled", "they wanted us to match a penalty clause",
    "the decision moved to headquarters abroad", "their data must stay on premises",
    "they asked for a feature only hospitals need", "a flood closed their offices",
    "the contact stopped answering after a holiday", "they wanted to pay by the hour",
    "the trial account was blocked by their firewall", "an investor vetoed new software spend",
    "their pilot users were all interns who left", "they found a free open-source tool",
    "the sales cycle crossed an election", "they wanted exclusivity in their region",
    "our references were all in another industry", "they insisted on a fixed-price project",
    "their chief financial officer disliked our terms", "they were acquired during the trial",
    "a new law changed what they must record", "we missed the call because of a time zone mistake",
    "they needed a two-year price guarantee", "their parent company mandated another vendor",
    "they wanted a physical server delivered",
]  # fmt: skip
FILLER = [
    "The call itself was friendly.", "They thanked us for the time we spent.",
    "Price was not the main issue.", "We would be happy to talk again next year.",
    "It was a close decision in the end.", "The team liked parts of the demo.",
    "Honestly, the decision came down to one thing.", "",
]  # fmt: skip


@dataclass(frozen=True)
class Planted:
    """Where the entries went: topic name -> slugs, and the slugs of the unrelated ones."""

    topics: dict[str, list[str]]
    unrelated: list[str]


def topic_text(rng: random.Random, topic: str) -> str:
    """Two or three sentences on a topic, each from a different shape, slots filled at random."""
    spec = TOPICS[topic]
    shapes = rng.sample(spec["shapes"], rng.choice((2, 3)))
    out = []
    for shape in shapes:
        values = {k: rng.choice(v) for k, v in spec["slots"].items()}
        values |= {k.capitalize(): v[0].upper() + v[1:] for k, v in values.items()}
        out.append(shape.format(**values))
    return " ".join(out)


def unrelated_text(rng: random.Random, n: int) -> str:
    """One unrelated subject in a sentence of its own."""
    subject = UNRELATED[n % len(UNRELATED)]
    frame = rng.choice(["In the end {}.", "What happened: {}.", "We lost it because {}.",
                        "{}, so that was that.", "As far as we can tell, {}."])  # fmt: skip
    text = frame.format(subject)
    return text[0].upper() + text[1:]


def entry(rng: random.Random, text: str, day: datetime.date, n: int) -> entries.Entry:
    """A debrief (buyer text in a buyer block, rep's note after it) or a rep's lesson."""
    filler = rng.choice(FILLER)
    if rng.random() < 0.6:
        body = (
            f"## In the buyer's words\n\n{entries.buyer_block(text)}\n\n"
            f"## What the rep noted\n\n{filler}\n"
        )
        return entries.Entry(kind="debrief", title=f"A buyer's debrief {n}", date=day, body=body)
    return entries.Entry(kind="lesson", title=f"Lesson {n}", date=day, body=f"{text} {filler}\n")


def write(
    entries_dir: Path,
    per_topic: int = 20,
    unrelated: int = 60,
    seed: int = 17,
    today: datetime.date | None = None,
    topics: tuple[str, ...] = tuple(TOPICS),
    recent_days: int = 360,
) -> Planted:
    """Write the planted knowledge base into entries_dir (no themes on any entry), dated over
    the `recent_days` up to today."""
    rng = random.Random(seed)
    today = today or datetime.date.today()
    planned: list[tuple[str | None, str]] = []
    for topic in topics:
        planned += [(topic, topic_text(rng, topic)) for _ in range(per_topic)]
    planned += [(None, unrelated_text(rng, n)) for n in range(unrelated)]
    rng.shuffle(planned)
    found: dict[str, list[str]] = {t: [] for t in topics}
    others: list[str] = []
    entries_dir.mkdir(parents=True, exist_ok=True)
    for n, (topic, text) in enumerate(planned):
        day = today - datetime.timedelta(days=rng.randrange(0, recent_days))
        written = entries.write_entry(entries_dir, entry(rng, text, day, n))
        (found[topic] if topic else others).append(written.slug)
    return Planted(found, others)
