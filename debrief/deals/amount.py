"""A deal's value as people type it (one rule for the web form, the API and CSV) and as shown.

Accepted: ASCII digits, grouped by thousands with commas or spaces ("12,500", "12 500"), an
optional decimal point with at most 2 decimals, a currency symbol or 3-letter code before or
after ("$12,500", "EUR 1200", "1200 USD"). The number is finite, not negative and at most
MAX_VALUE. Refused: signs ("-0" too), exponents ("1e308"), underscores ("1_000"), NaN and
infinity, other scripts' digits, and "1.200" (twelve hundred in Europe, 1.2 elsewhere).
"""

from __future__ import annotations

import re

MAX_VALUE = 10**12
_GROUP = r"[, \u00a0\u202f]"  # comma, space, no-break space, narrow no-break space
_CURRENCY = r"(?:[$€£¥]|[A-Za-z]{3})"
_AMOUNT = re.compile(
    rf"(?:{_CURRENCY}\s*)?"
    rf"(?P<whole>[0-9]{{1,3}}(?P<sep>{_GROUP})[0-9]{{3}}(?:(?P=sep)[0-9]{{3}})*|[0-9]+)"
    r"(?:\.(?P<decimals>[0-9]+))?"
    rf"(?:\s*{_CURRENCY})?"
)
NOT_A_NUMBER = "is not a number (use 12500 or 12,500.00)"


class AmountError(ValueError):
    """A value the rule refuses; the message reads after the value: "'1e5' is not a number"."""


def parse_amount(raw: str | None) -> float | None:
    """The value as a float, None when blank; AmountError says why it is refused."""
    raw = (raw or "").strip()
    if not raw:
        return None
    match = _AMOUNT.fullmatch(raw)
    if match is None:
        raise AmountError(NOT_A_NUMBER)
    whole, decimals = match["whole"], match["decimals"]
    if re.fullmatch(r"[0-9]{1,3}", whole) and decimals is not None and len(decimals) == 3:
        raise AmountError("is unclear (write 1200 or 1200.00)")
    if decimals is not None and len(decimals) > 2:
        raise AmountError("has more than 2 decimals")
    number = float(re.sub(r"[^0-9]", "", whole) + (f".{decimals}" if decimals else ""))
    if number > MAX_VALUE:
        raise AmountError(f"is over the largest value we take ({MAX_VALUE:,})")
    return number


def format_amount(value: float) -> str:
    """A value as people write it and parse_amount reads it back: 12,500 or 1,200.50."""
    return f"{value:,.2f}".removesuffix(".00")
