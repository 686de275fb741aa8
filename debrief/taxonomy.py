"""Reasons and outcomes: the slugs and labels shared by reps and buyers, in one place."""

from collections.abc import Iterable, Mapping

from wtforms.fields.choices import SelectChoice

REASONS: dict[str, str] = {
    "price": "Price",
    "product-fit": "Product fit",
    "incumbent": "Relationship with another vendor",
    "trust": "Trust",
    "overpromising": "Claims seemed too good or didn't hold",
    "support": "Support",
    "speed": "Speed of implementation or turnaround",
    "contract": "Contract terms or lock-in",
    "timing": "Timing, budget or priorities",
    "status-quo": "Fear of change, kept things as they were",
    "other": "Other",
}

OUTCOMES: dict[str, str] = {
    "competitor": "Chose another vendor",
    "status-quo": "Kept the current setup",
    "no-decision": "Postponed, no decision",
    "in-house": "Built it ourselves",
    "other": "Other",
}

CLAIM_VERDICTS: dict[str, str] = {
    "held": "Held",
    "did-not-hold": "Didn't hold",
    "not-sure": "Not sure",
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
