"""What an anonymous answer shows outside the store: no deal, company, contact name or email.

SPEC 2.3: the deal's rep and the managers know which deal an anonymous answer belongs to (the
store's answers.deal_id and answers.entry_slug); everything anyone else can read, search or export
shows the answer without its deal, and with the deal's company, contact name and email replaced by
neutral placeholders wherever the rep's claims or the buyer's words name them. The store keeps the
answer verbatim for the deal's own page.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from debrief import entries

COMPANY = "[the buyer's company]"
CONTACT = "[the buyer]"
EMAIL = "[email]"

# Any address, not only the contact's: a buyer who writes one wants to be reached, not read.
_EMAIL_RE = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# "Vexley GmbH" is "Vexley" in a claim ("Native sync with the Vexley CRM"): the name is matched
# with and without its legal form.
_LEGAL_FORM_RE = re.compile(
    r"(?:[\s,]+(?:ltd|limited|gmbh|mbh|inc|incorporated|llc|llp|lp|plc|corp|corporation|co|"
    r"company|ag|kg|se|sa|sas|sarl|srl|spa|bv|nv|ab|oy|as|pty|group|holding|holdings)\.?)+$",
    re.IGNORECASE,
)
_TEXT_FIELDS = ("own_words", "would_change")


def is_anonymous(answer: dict[str, Any]) -> bool:
    """Whether the buyer chose to stay anonymous (the default: anything but 'named')."""
    return answer.get("attribution") != "named"


def _company_forms(company: str) -> list[str]:
    """The company's name as written, and without a trailing legal form."""
    short = _LEGAL_FORM_RE.sub("", company).strip(" ,.")
    return [company] + ([short] if short and short.lower() != company.lower() else [])


@functools.lru_cache(maxsize=256)
def _pattern(company: str, contact: str, email: str) -> tuple[re.Pattern | None, dict[str, str]]:
    """One case-insensitive whole-word pattern for the deal's names, and name -> placeholder."""
    names: dict[str, str] = {}
    if email:
        names[email.lower()] = EMAIL
    for form in _company_forms(company) if company else []:
        names.setdefault(form.lower(), COMPANY)
    if contact:
        names.setdefault(contact.lower(), CONTACT)
    names = {name: sub for name, sub in names.items() if len(name) >= 2}
    if not names:
        return None, names
    # Longest first, so "Vexley GmbH" wins over "Vexley"; spaces match any run of white space.
    alternatives = sorted(names, key=len, reverse=True)
    body = "|".join(r"\s+".join(map(re.escape, name.split())) for name in alternatives)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE), names


def scrub(text: str | None, deal: dict[str, Any] | None) -> str | None:
    """Text with email addresses and the deal's company and contact name as placeholders."""
    if not text:
        return text
    deal = deal or {}
    pattern, names = _pattern(
        entries.clean_header_value(deal.get("company") or ""),
        entries.clean_header_value(deal.get("contact_name") or ""),
        entries.clean_header_value(deal.get("contact_email") or ""),
    )
    text = _EMAIL_RE.sub(EMAIL, text)  # first: "bob@vexley.test" must not keep "bob@"
    if pattern is not None:
        text = pattern.sub(lambda m: names.get(" ".join(m.group(0).lower().split()), COMPANY), text)
    return text


def shown(answer: dict[str, Any], deal: dict[str, Any] | None) -> dict[str, Any]:
    """The answer as anyone but the deal's rep and the managers may see it (entries, exports).

    A named answer is returned as it is. An anonymous one has no deal id, entry slug, name or
    company, and placeholders in its text; a competitor that names the buyer is dropped.
    """
    if not is_anonymous(answer):
        return dict(answer)
    out = {**answer, "deal_id": None, "entry_slug": None, "name": None, "company": None}
    for key in _TEXT_FIELDS:
        out[key] = scrub(answer.get(key), deal)
    out["claims"] = [
        {**c, "claim": scrub(c.get("claim"), deal)} if isinstance(c, dict) else c
        for c in answer.get("claims") or []
    ]
    competitor = answer.get("competitor")
    if competitor and scrub(competitor, deal) != competitor:
        out["competitor"] = None
    return out
