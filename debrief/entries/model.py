"""The entry model: the Entry record, its errors, cleaning, slugs and the normalized form."""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path

from debrief import language_tag
from debrief import text as text_rule

KINDS = ("debrief", "lesson")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SLUG_MAX = 60
REFERENCE_MAX = 200  # a hand-written Deal value kept as text (a CRM id, a link)
_CLEAN_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")

# C0 controls except \t and \n: NUL makes the file look binary, the others are invisible noise.


@dataclass
class Entry:
    """One knowledge-base entry: the header fields and the Markdown body of one file."""

    kind: str
    title: str
    date: datetime.date
    body: str = ""
    deal: int | None = None
    company: str | None = None
    rep: str | None = None
    competitor: str | None = None
    outcome: str | None = None
    prospect_reasons: list[str] = field(default_factory=list)
    rep_reasons: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    trust: int | None = None
    # The language a buyer answered in (a BCP 47 tag), when not English: header `Language: de`.
    language: str | None = None
    slug: str = ""
    path: Path | None = None
    # Read from hand-written files only (SPEC 2.4): a Deal that is no Debrief deal number (a CRM
    # id), YAML front matter's tags, and what reading had to repair, for the problems page.
    reference: str | None = None
    tags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)


class EntryError(Exception):
    """A file that cannot be read as an entry; str() names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


# --- cleaning -------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Text safe to store: LF line ends, no C0 controls but tab/LF, no lone surrogates."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Lone surrogates cannot be encoded as UTF-8; they only come from broken clients.
    return text_rule.repair(text_rule.clean_c0(text))


def clean_header_value(value: object) -> str:
    """One header line's value: control and line-break characters collapsed to single spaces."""
    text = clean_text(str(value)).replace("\t", " ").replace("\n", " ")
    if not text.isprintable():  # the common case skips the per-character pass below
        # Unicode line/paragraph separators and C1 controls would break the line elsewhere.
        text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join(text.split())


def slugify(text: str) -> str:
    """Lowercase words of any script joined by hyphens, at most 60 characters ('' if none left).

    Accents on Latin letters are dropped ("Ça coûte" -> "ca-coute", as slugs always were), but
    letters of other scripts are kept: "株式会社ライバル" stays itself instead of vanishing.
    """
    kept: list[str] = []
    # Compatibility forms first ("𝐀" -> "A"), then case-folded, then decomposed again: folding
    # can add an accent ("İ" -> "i" + dot), which then goes like any other on a Latin letter.
    folded = unicodedata.normalize("NFKD", str(text)).casefold()
    for char in unicodedata.normalize("NFKD", folded):
        if unicodedata.combining(char) and (
            not kept or kept[-1].isascii() or not _is_word_char(kept[-1])
        ):
            continue  # an accent on a Latin letter (or on nothing); other scripts keep theirs
        kept.append(char)
    composed = unicodedata.normalize("NFC", "".join(kept))
    words = "".join(c if _is_word_char(c) else " " for c in composed).split()
    slug = "-".join(words)
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rsplit("-", 1)[0] if "-" in slug[:SLUG_MAX] else slug[:SLUG_MAX]
    return slug.strip("-")


def _is_word_char(char: str) -> bool:
    """A letter, digit or combining mark of any script (the characters a slug keeps)."""
    return unicodedata.category(char)[0] in "LNM"


def is_slug(text: object) -> bool:
    """Whether text has the shape slugify() gives: lowercase words of any script and hyphens."""
    return (
        isinstance(text, str)
        and text[:1] not in ("", "-")
        and unicodedata.normalize("NFC", text.casefold()) == text
        and all(c == "-" or _is_word_char(c) for c in text)
    )


def slug_value(text: str) -> str:
    """slugify(), with a fast path: stored values are slugs already, only hand edits are not."""
    text = text.strip()
    if len(text) <= SLUG_MAX and _CLEAN_SLUG_RE.match(text):
        return text
    return slugify(text)


def slug_list(values: list[str] | str) -> list[str]:
    """Unique slugs in their given order (the main reason stays first)."""
    items = values.split(",") if isinstance(values, str) else values
    out: list[str] = []
    for item in items:
        slug = slug_value(item)
        if slug and slug not in out:
            out.append(slug)
    return out


def normalized(entry: Entry) -> Entry:
    """The entry as it will read back from its file: cleaned header values and body."""
    if entry.kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    title = clean_header_value(entry.title)
    if not title:
        raise ValueError("title is required")
    if entry.trust is not None and not 1 <= int(entry.trust) <= 5:
        raise ValueError("trust must be between 1 and 5")

    def opt(value: object) -> str | None:
        return clean_header_value(value) or None if value is not None else None

    return replace(
        entry,
        title=title,
        body=clean_text(entry.body),
        deal=int(entry.deal) if entry.deal is not None else None,
        company=opt(entry.company),
        rep=opt(entry.rep),
        competitor=slugify(entry.competitor or "") or None,
        outcome=slugify(entry.outcome or "") or None,
        prospect_reasons=slug_list(entry.prospect_reasons),
        rep_reasons=slug_list(entry.rep_reasons),
        themes=slug_list(entry.themes),
        tags=slug_list(entry.tags),
        reference=opt(entry.reference)[:REFERENCE_MAX] if entry.reference else None,
        trust=int(entry.trust) if entry.trust is not None else None,
        language=_language(entry.language),
    )


def _language(tag: object) -> str | None:
    """A written Language header: a well-formed tag (LanguageError, a ValueError, if not);
    English, the team's own language, is left out."""
    tag = language_tag.normalize(tag)
    return tag if tag != language_tag.ENGLISH else None


def read_language(tag: str | None) -> str | None:
    """A read Language header: lenient, a hand-typed tag that is not one is ignored."""
    try:
        return _language(tag)
    except language_tag.LanguageError:
        return None
