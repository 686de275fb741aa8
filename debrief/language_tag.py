"""Language tags (BCP 47) as deals and entries store them: no Flask, so the entry format and the
engine can read and write a `Language` header without the web layer (debrief.i18n re-exports)."""

from __future__ import annotations

import re

ENGLISH = "en"  # the language of the source strings, and the fallback
# A well-formed BCP 47 tag as deals use it: language, then optional script, region, variants
# (RFC 5646 section 2.1; extensions and private use are not needed to pick a catalog).
_TAG = re.compile(
    r"(?P<language>[A-Za-z]{2,3}|[A-Za-z]{5,8})"
    r"(?:-(?P<script>[A-Za-z]{4}))?"
    r"(?:-(?P<region>[A-Za-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*)"
)


class LanguageError(ValueError):
    """A language tag that is not well-formed BCP 47; str() says what is expected."""


def normalize(tag: object) -> str | None:
    """The tag in its usual case (`pt-br` -> `pt-BR`, `de_de` -> `de-DE`); None when empty.

    Raises LanguageError for anything that is not a language tag.
    """
    text = str(tag or "").strip().replace("_", "-")
    if not text:
        return None
    match = _TAG.fullmatch(text)
    if match is None:
        shown = text[:40]
        raise LanguageError(f"'{shown}' is not a language tag: use one like en, de, fr or pt-BR.")
    parts = [match["language"].lower()]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    parts += [v.lower() for v in match["variants"].split("-") if v]
    return "-".join(parts)
