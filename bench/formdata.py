"""Form data as a browser sends it: the CSRF token from a page, a buyer's filled-in answer.

No Flask or app imports here: the load generator uses it in a process of its own.
"""

from __future__ import annotations

import random
import re
from typing import Any

_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
_CLAIM = re.compile(r'name="claim_(\d+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = _CSRF.search(html)
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


def claim_count(html: str) -> int:
    """How many claim questions the survey page asks."""
    return len({m.group(1) for m in _CLAIM.finditer(html)})


def answer_form(rng: random.Random, csrf: str, claims: int) -> dict[str, Any]:
    """A buyer's filled-in survey form (the field names of survey/forms.py)."""
    reasons = ["price", "trust", "support", "overpromising", "speed", "contract", "timing"]
    main = rng.choice(reasons)
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "outcome": rng.choice(["competitor", "status-quo", "no-decision"]),
        "competitor": rng.choice(["Acme CRM", "Globex Cloud", ""]),
        "reason": main,
        "reasons": rng.sample([r for r in reasons if r != main], 2),
        "own_words": "Honestly, the demo promised features that are only on the roadmap. "
        * rng.randint(1, 6),
        "would_change": "A written implementation plan with named people and weeks.",
        "trust": str(rng.randint(1, 5)),
        "attribution": "anonymous",
        "may_contact": "no",
    }
    for i in range(claims):
        data[f"claim_{i}"] = rng.choice(["held", "did-not-hold", "not-sure"])
    return data
