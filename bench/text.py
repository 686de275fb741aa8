"""Believable words for the benchmark data: companies, competitors, buyer answers, lessons.

Deterministic for a given random.Random, so a data set can be rebuilt exactly.
"""

from __future__ import annotations

import random

from debrief.taxonomy import OUTCOMES, REASONS

COMPETITORS = [
    "Acme CRM", "Northwind Sales", "Globex Cloud", "Initech Suite", "Umbrella Analytics",
    "Hooli Workspace", "Vandelay Systems", "Stark Pipeline", "Wayne Data", "Cyberdyne Ops",
    "Soylent Software", "Tyrell Insights", "Massive Dynamic", "Oscorp Commerce", "Wonka Works",
]  # fmt: skip
_PREFIX = [
    "Blue",
    "North",
    "Bright",
    "Iron",
    "Silver",
    "Red",
    "Green",
    "Summit",
    "Harbor",
    "Cedar",
    "Quartz",
    "Atlas",
    "Delta",
    "Maple",
    "Orion",
    "Pine",
    "River",
    "Stone",
    "Sun",
    "Willow",
]
_SUFFIX = [
    "Logistics",
    "Foods",
    "Health",
    "Labs",
    "Retail",
    "Energy",
    "Media",
    "Bank",
    "Freight",
    "Insurance",
    "Textiles",
    "Robotics",
    "Clinics",
    "Studios",
    "Farms",
    "Hotels",
]
_FIRST = [
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kira",
    "Luis",
    "Mei",
    "Nils",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
]
_LAST = [
    "Adams",
    "Berg",
    "Costa",
    "Dubois",
    "Eze",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Khan",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Park",
    "Rossi",
    "Silva",
    "Tan",
    "Weber",
]

# Phrases a buyer would write, grouped by the reason they point to (so text and reason agree).
_BUYER = {
    "price": [
        "the price was well above what our budget allowed",
        "their quote came in thirty percent lower for the same seats",
        "the renewal pricing worried our finance team",
        "per-user pricing made the rollout too expensive",
    ],
    "product-fit": [
        "the reporting module did not cover our warehouse workflow",
        "we needed offline mode for the field teams",
        "integration with our ERP was missing",
        "the mobile app felt unfinished",
    ],
    "incumbent": [
        "we have worked with our current vendor for nine years",
        "our account manager there knows every detail of our setup",
        "switching would have meant retraining two hundred people",
    ],
    "trust": [
        "we were not sure the numbers in the demo were real",
        "references were hard to get and that made us nervous",
        "the answers changed between the first and the second call",
    ],
    "overpromising": [
        "the demo promised features that are only on the roadmap",
        "the onboarding timeline sounded too good to be true",
        "the security answers did not hold up in our review",
    ],
    "support": [
        "support hours did not cover our time zone",
        "the support team took days to answer during the trial",
        "there was no named contact for escalations",
    ],
    "speed": [
        "implementation would have taken six months",
        "the trial setup was slow and needed many calls",
        "we needed to go live before the season started",
    ],
    "contract": [
        "the three year lock-in was a deal breaker",
        "legal could not accept the liability terms",
        "the contract had no exit clause",
    ],
    "timing": [
        "budget was frozen for the rest of the year",
        "priorities changed after the reorganisation",
        "a merger put every purchase on hold",
    ],
    "status-quo": [
        "the team was comfortable with spreadsheets",
        "nobody wanted to own the change",
        "the old process works well enough for now",
    ],
    "other": [
        "our parent company chose a global standard",
        "the champion left the company during the evaluation",
    ],
}
_LINKS = ["Honestly,", "To be fair,", "In the end", "Also,", "What really mattered:", "Frankly",
          "On top of that", "Looking back,", "The deciding point was that"]  # fmt: skip
_LESSONS = [
    "Ask about the budget owner in the first call, not the last.",
    "Promise only what the product does **today**; roadmap items go in writing, with dates.",
    "Offer two references before the buyer asks for them.",
    "Map the incumbent's relationship early and find what it does not give them.",
    "Put the implementation plan on paper with named people and weeks.",
    "Do not answer a security question you cannot prove.",
    "When a buyer says *price*, ask what it is compared with.",
    "Bring support into the trial so the buyer meets them before signing.",
    "Check for lock-in fears and offer a shorter first term.",
    "Confirm the timeline against their season, not our quarter.",
]
CLAIMS = [
    "Go-live in four weeks", "Native ERP integration", "24/7 support", "SOC 2 report available",
    "Unlimited users on the base plan", "Offline mode for field teams", "Dedicated success manager",
    "Migration included at no cost",
]  # fmt: skip
# Two-word searches a rep would type (both words occur in the generated text).
QUERIES = [
    "price budget", "support trial", "implementation months", "demo roadmap", "contract lock",
    "references nervous", "integration erp", "renewal pricing", "security review", "season live",
    "mobile app", "finance team", "account manager", "legal liability", "spreadsheets comfortable",
    "onboarding timeline", "escalations contact", "merger hold", "warehouse reporting",
    "quote lower",
]  # fmt: skip
# 30 more, so a first-time search figure is a median of 50 queries (SPEC 4). A list of its own:
# QUERIES also titles generated lessons, and a longer one would change every data set built.
SEARCHES = QUERIES + [
    "offline field", "reporting warehouse", "vendor years", "retraining people", "numbers demo",
    "answers call", "features roadmap", "support hours", "time zone", "named contact",
    "setup slow", "exit clause", "three year", "frozen year", "priorities reorganisation",
    "process enough", "parent company", "champion evaluation", "global standard", "budget owner",
    "references buyer", "incumbent relationship", "implementation plan", "security question",
    "lock-in term", "timeline season", "percent seats", "rollout expensive", "switching hundred",
    "change own",
]  # fmt: skip


def company(rng: random.Random) -> str:
    """A made-up company name."""
    return f"{rng.choice(_PREFIX)} {rng.choice(_SUFFIX)}"


def person(rng: random.Random) -> str:
    """A made-up full name."""
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def reasons(rng: random.Random) -> tuple[str, list[str]]:
    """A main reason and up to two other reasons (price is the most common, as in life)."""
    slugs = list(REASONS)
    weights = [6, 3, 2, 2, 2, 2, 2, 1, 2, 1, 1]
    main = rng.choices(slugs, weights)[0]
    others = [s for s in rng.sample(slugs, rng.randint(0, 2)) if s != main]
    return main, others


def outcome(rng: random.Random) -> str:
    """What the buyer decided (another vendor most of the time)."""
    return rng.choices(list(OUTCOMES), [6, 2, 2, 1, 1])[0]


def buyer_text(rng: random.Random, reason: str, sentences: int) -> str:
    """A buyer's answer in their own words, about the given reason, of varied length."""
    out = []
    for i in range(sentences):
        pick = reason if i == 0 or rng.random() < 0.5 else rng.choice(list(_BUYER))
        phrase = rng.choice(_BUYER[pick])
        out.append(f"{rng.choice(_LINKS)} {phrase}." if i else phrase.capitalize() + ".")
    return " ".join(out)


def lesson_text(rng: random.Random, paragraphs: int) -> str:
    """A rep's lesson in Markdown: a short list and a few paragraphs."""
    items = "\n".join(f"- {item}" for item in rng.sample(_LESSONS, 3))
    paras = [
        " ".join(rng.choice(_BUYER[rng.choice(list(_BUYER))]).capitalize() + "." for _ in range(3))
        for _ in range(paragraphs)
    ]
    return items + "\n\n" + "\n\n".join(paras)
