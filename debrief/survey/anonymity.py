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
# Japanese and Chinese legal forms come before or after the name, with no space: "株式会社ライバル"
# is "ライバル" in a sentence.
_CJK_LEGAL_FORM_RE = re.compile(
    r"^(?:株式会社|有限会社|合同会社)|(?:株式会社|有限会社|合同会社|股份有限公司|有限公司)$"
)
# From Hebrew on, scripts either join words to a name (Hebrew, Arabic: "ول" and-for) or write no
# spaces at all (Chinese, Japanese, Thai): there a name is matched inside a run of letters.
_JOINED_SCRIPTS = "\u0590"
_TEXT_FIELDS = ("own_words", "would_change")


def is_anonymous(answer: dict[str, Any]) -> bool:
    """Whether the buyer chose to stay anonymous (the default: anything but 'named')."""
    return answer.get("attribution") != "named"


def _company_forms(company: str) -> list[str]:
    """The company's name as written, and without a trailing legal form."""
    short = _CJK_LEGAL_FORM_RE.sub("", _LEGAL_FORM_RE.sub("", company)).strip(" ,.")
    return [company] + ([short] if short and short.lower() != company.lower() else [])


def _alternative(name: str, as_a_name: bool = False) -> str:
    """A name's regex: spaces match any white space; whole words where the script has word ends.

    as_a_name: a part of a contact name ("Bill") counts only capitalised or in capitals, as a
    name is written, so that the same word in lower case ("the bill") is left alone.
    """
    body = r"\s+".join(map(re.escape, name.split()))
    if as_a_name:
        body = f"(?-i:{re.escape(name[0].upper() + name[1:])}|{re.escape(name.upper())})"
    before = r"(?<!\w)" if name[0] < _JOINED_SCRIPTS else ""
    after = r"(?!\w)" if name[-1] < _JOINED_SCRIPTS else ""
    return f"{before}{body}{after}"


@functools.lru_cache(maxsize=256)
def _pattern(company: str, contact: str, email: str) -> tuple[re.Pattern | None, dict[str, str]]:
    """One case-insensitive pattern for the deal's names, and name -> placeholder."""
    names: dict[str, str] = {}
    if email:
        names[email.lower()] = EMAIL
    for form in _company_forms(company) if company else []:
        names.setdefault(form.lower(), COMPANY)
    if contact:
        names.setdefault(contact.lower(), CONTACT)
    names = {name: sub for name, sub in names.items() if len(name) >= 2}
    # A first name or surname alone names the contact too.
    parts = [p for p in contact.split() if len(p) >= 2 and p.lower() not in names]
    alternatives = [(name, False) for name in names] + [(part, True) for part in parts]
    names.update((form.lower(), CONTACT) for part in parts for form in (part, part.upper()))
    if not alternatives:
        return None, names
    # Longest first, so "Vexley GmbH" wins over "Vexley".
    alternatives.sort(key=lambda alt: len(alt[0]), reverse=True)
    body = "|".join(_alternative(name, part) for name, part in alternatives)
    return re.compile(body, re.IGNORECASE), names


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
