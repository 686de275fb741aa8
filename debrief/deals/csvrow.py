"""One CSV record read as a lost deal: its cells checked, its loss reasons mapped."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from debrief import i18n, text
from debrief.deals import amount
from debrief.taxonomy import REASONS

# Cells that may hold several lines; every other cell is one line of text.
MULTILINE = frozenset({"notes", "rep_reasons"})

# A stage column is optional; when present only these stages are imported.
LOST_STAGES = frozenset({"lost", "closedlost", "closelost", "deallost", "lostdeal"})

# CRM loss-reason labels -> our taxonomy. "Budget" is timing (the taxonomy's "timing, budget or
# priorities"); "No decision" is status-quo (nothing changed). "Lost to competitor" names who
# won, not why, so it is deliberately absent: it becomes "other" with the label kept in notes.
REASON_LABELS: dict[str, str] = {
    **{slug.replace("-", " "): slug for slug in REASONS},
    **dict.fromkeys(
        ["pricing", "too expensive", "expensive", "cost", "costs", "price too high",
         "lost on price", "cheaper option", "cheaper alternative"], "price"),
    **dict.fromkeys(
        ["fit", "features", "feature", "missing feature", "missing features", "feature gap",
         "functionality", "product", "product gap", "not a fit", "no fit", "poor fit",
         "technical fit", "requirements not met", "integration", "integrations"], "product-fit"),
    **dict.fromkeys(
        ["existing vendor", "existing relationship", "relationship", "stayed with incumbent",
         "renewed with incumbent", "went with incumbent", "incumbent vendor"], "incumbent"),
    **dict.fromkeys(
        ["lack of trust", "credibility", "references", "no references", "reputation"], "trust"),
    **dict.fromkeys(["overpromised", "over promised", "over promising"], "overpromising"),
    **dict.fromkeys(
        ["service", "customer service", "poor support", "support quality"], "support"),
    **dict.fromkeys(
        ["too slow", "implementation time", "implementation", "timeline", "turnaround",
         "time to value", "onboarding time"], "speed"),
    **dict.fromkeys(
        ["terms", "contract terms", "legal", "lock in", "lockin", "contract length",
         "payment terms"], "contract"),
    **dict.fromkeys(
        ["budget", "no budget", "budget cuts", "budget cut", "bad timing", "priorities",
         "priority change", "changed priorities", "not now", "postponed", "on hold",
         "project cancelled", "project canceled"], "timing"),
    **dict.fromkeys(
        ["status quo", "statusquo", "do nothing", "no decision", "no change",
         "kept current solution", "stayed with current solution", "fear of change"],
        "status-quo"),
}  # fmt: skip

# A conservative shape for ordinary addresses, so 10,000 rows do not each pay for the full
# validator; anything else (quoted parts, IDN, oddities) still goes through email_validator.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
# Numeric dates by regex (strptime is slow and lenient): US month/day, European day.month,
# and year/month/day, each with an optional time that is ignored.
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?)?"
_US_DATE = re.compile(r"(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}|\d{2})" + _TIME)
_EU_DATE = re.compile(r"(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})" + _TIME)
_YMD_DATE = re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})" + _TIME)
_NAMED_MONTH_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y")


def normalize(text: str) -> str:
    """Lower case with everything but a-z and 0-9 removed: how headings and stages are compared."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass
class Row:
    """One lost deal read from the file, ready for the importer."""

    line: int
    crm_id: str | None
    company: str
    contact_name: str | None
    contact_email: str | None
    value: float | None
    lost_on: date | None
    competitor: str | None
    rep_reason: str | None
    rep_reasons: list[str] = field(default_factory=list)
    notes: str | None = None
    owner: str | None = None
    stage: str | None = None
    language: str | None = None  # the buyer's, a BCP 47 tag; None: DEBRIEF_DEFAULT_LANGUAGE


@dataclass
class RowProblem:
    """A row that cannot be imported, and why."""

    line: int
    reason: str


@dataclass
class Skipped:
    """A row that is fine but not a lost deal (won, still open, ...)."""

    line: int
    reason: str


class _BadCell(ValueError):
    """A cell that cannot be read; its message becomes the RowProblem reason."""


def read_row(line: int, values: dict[str, str | None]) -> Row | RowProblem | Skipped:
    """Turn one record's cells into a Row, or say why it is not imported."""
    try:
        values = {name: _text(name, value) for name, value in values.items()}
    except _BadCell as exc:
        return RowProblem(line, str(exc))
    stage = values.get("stage")
    if stage and normalize(stage) not in LOST_STAGES:
        return Skipped(line, f"stage is '{stage}', not lost")
    company = values.get("company")
    if not company:
        return RowProblem(line, "company is missing")
    try:
        email = _email(values.get("contact_email"))
        value = _amount(values.get("value"))
        lost_on = _date(values.get("lost_on"))
        language = _language(values.get("language"))
    except _BadCell as exc:
        return RowProblem(line, str(exc))
    notes = [values["notes"]] if values.get("notes") else []
    reason, label = _reason(values.get("rep_reason"))
    if label:
        notes.append(f"Loss reason in the CRM: {label}")
    others: list[str] = []
    for raw in re.split(r"[;,|\n]", values.get("rep_reasons") or ""):
        slug, label = _reason(raw.strip())
        if label:
            notes.append(f"Other reason in the CRM: {label}")
        if slug and slug != reason and slug not in others:
            others.append(slug)
    return Row(
        line=line,
        crm_id=values.get("crm_id"),
        company=company,
        contact_name=values.get("contact_name"),
        contact_email=email,
        value=value,
        lost_on=lost_on,
        competitor=values.get("competitor"),
        rep_reason=reason,
        rep_reasons=others,
        notes="\n\n".join(notes) or None,
        owner=values.get("owner"),
        stage=stage,
        language=language,
    )


def _text(name: str, value: str | None) -> str | None:
    """A cell by the one text rule of debrief.text (None when empty); _BadCell when refused."""
    if value is None:
        return None
    try:
        return text.clean_text(value, multiline=name in MULTILINE) or None
    except text.TextError as exc:
        raise _BadCell(f"{name.replace('_', ' ')} {exc.reason}") from None


@functools.lru_cache(maxsize=1024)  # exports repeat the same few labels thousands of times
def _reason(label: str | None) -> tuple[str | None, str | None]:
    """(taxonomy slug, label to keep in notes): unknown labels become 'other' and are kept."""
    if not label:
        return None, None
    key = " ".join(re.sub(r"[^a-z0-9]+", " ", label.lower()).split())
    if key in REASON_LABELS:
        return REASON_LABELS[key], None
    return "other", label


def _language(raw: str | None) -> str | None:
    """A language tag (de, pt-BR, de_DE as some CRMs write it), normalized; _BadCell if not."""
    try:
        return i18n.normalize(raw)
    except i18n.LanguageError as exc:
        raise _BadCell(f"language {exc}") from None


def _email(raw: str | None) -> str | None:
    """The address, or None when blank; _BadCell when it is not an email address."""
    if raw is None:
        return None
    domain = raw.rpartition("@")[2].lower()
    special = any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAIN_NAMES)
    if len(raw) <= 254 and not special and _PLAIN_EMAIL.fullmatch(raw):
        local, _, domain = raw.rpartition("@")
        if len(local) <= 64:
            return f"{local}@{domain.lower()}"
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as e:
        # The validator's words say why ("...special-use or reserved name..." for .test).
        raise _BadCell(f"contact email '{raw}' is not usable: {e}") from None


def _amount(raw: str | None) -> float | None:
    """The deal value by the rule of deals.amount (the form's and the API's too)."""
    try:
        return amount.parse_amount(raw)
    except amount.AmountError as exc:
        raise _BadCell(f"amount '{raw}' {exc}") from None


def _date(raw: str | None) -> date | None:
    """The lost date from ISO dates and datetimes or common US/European spellings."""
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw).date()
    except ValueError:
        pass
    try:
        for pattern in (_US_DATE, _EU_DATE, _YMD_DATE):
            if match := pattern.fullmatch(raw):
                year = int(match["y"])
                if len(match["y"]) == 2:  # the same pivot as strptime's %y
                    year += 1900 if year >= 69 else 2000
                return date(year, int(match["m"]), int(match["d"]))
        for fmt in _NAMED_MONTH_FORMATS:
            try:
                return datetime.strptime(raw, fmt).date()
            except ValueError:
                continue
    except ValueError:  # 2/30/2017 and friends
        pass
    raise _BadCell(f"close date '{raw}' is not a date (use YYYY-MM-DD)")
