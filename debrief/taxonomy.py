"""Reasons and outcomes: the slugs and labels shared by reps and buyers, in one place.

The labels here are English, as the team reads them everywhere (pages, entries, exports). They
are marked N_ so that `make messages` extracts them; the buyer's pages and mails show them
translated (buyer_label), while slugs stay the same in forms, entries and the dashboard.
"""

from collections.abc import Iterable, Mapping

from wtforms.fields.choices import SelectChoice


def N_(text: str) -> str:  # noqa: N802 - gettext's conventional name for "mark, don't translate"
    """Mark a string for the catalogs without translating it here (gettext_noop)."""
    return text


REASONS: dict[str, str] = {
    "price": N_("Price"),
    "product-fit": N_("Product fit"),
    "incumbent": N_("Relationship with another vendor"),
    "trust": N_("Trust"),
    "overpromising": N_("Claims seemed too good or didn't hold"),
    "support": N_("Support"),
    "speed": N_("Speed of implementation or turnaround"),
    "contract": N_("Contract terms or lock-in"),
    "timing": N_("Timing, budget or priorities"),
    "status-quo": N_("Fear of change, kept things as they were"),
    "other": N_("Other"),
}

OUTCOMES: dict[str, str] = {
    "competitor": N_("Chose another vendor"),
    "status-quo": N_("Kept the current setup"),
    "no-decision": N_("Postponed, no decision"),
    "in-house": N_("Built it ourselves"),
    "other": N_("Other"),
}

CLAIM_VERDICTS: dict[str, str] = {
    "held": N_("Held"),
    "did-not-hold": N_("Didn't hold"),
    "not-sure": N_("Not sure"),
}


def reason_label(slug: str) -> str:
    """The human label of a reason slug (the slug itself when unknown)."""
    return REASONS.get(slug, slug)


def outcome_label(slug: str) -> str:
    """The human label of an outcome slug (the slug itself when unknown)."""
    return OUTCOMES.get(slug, slug)


def verdict_label(slug: str) -> str:
    """The human label of a claim verdict slug (the slug itself when unknown)."""
    return CLAIM_VERDICTS.get(slug, slug)


def options(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """WTForms choices from a slug -> label mapping or (value, label) pairs.

    SelectChoice, because WTForms 3.3 deprecates plain tuples (and warnings fail our tests).
    """
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return [SelectChoice(value, label) for value, label in items]
