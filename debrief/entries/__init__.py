"""The entry file format: write, read, render and sanitize knowledge-base entries (no Flask)."""

from __future__ import annotations

import datetime
import functools
import os
import random
import re
import secrets
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import markdown
import nh3
from markdown.extensions.meta import BEGIN_RE, END_RE, META_MORE_RE, META_RE
from markupsafe import Markup, escape

from debrief import files, language_tag
from debrief import text as text_rule

KINDS = ("debrief", "lesson")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SLUG_MAX = 60
REFERENCE_MAX = 200  # a hand-written Deal value kept as text (a CRM id, a link)
_CLEAN_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")

_BUYER_OPEN_RE = re.compile(r"^(~{3,})[ ]*buyer[ ]*$")
# C0 controls except \t and \n: NUL makes the file look binary, the others are invisible noise.
_C0_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


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


def _clean_text(text: str) -> str:
    """Text safe to store: LF line ends, no C0 controls but tab/LF, no lone surrogates."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Lone surrogates cannot be encoded as UTF-8; they only come from broken clients.
    return text_rule.repair(_C0_RE.sub("", text))


def clean_header_value(value: object) -> str:
    """One header line's value: control and line-break characters collapsed to single spaces."""
    text = _clean_text(str(value)).replace("\t", " ").replace("\n", " ")
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


def _slug_value(text: str) -> str:
    """slugify(), with a fast path: stored values are slugs already, only hand edits are not."""
    text = text.strip()
    if len(text) <= SLUG_MAX and _CLEAN_SLUG_RE.match(text):
        return text
    return slugify(text)


def _slug_list(values: list[str] | str) -> list[str]:
    """Unique slugs in their given order (the main reason stays first)."""
    items = values.split(",") if isinstance(values, str) else values
    out: list[str] = []
    for item in items:
        slug = _slug_value(item)
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
        body=_clean_text(entry.body),
        deal=int(entry.deal) if entry.deal is not None else None,
        company=opt(entry.company),
        rep=opt(entry.rep),
        competitor=slugify(entry.competitor or "") or None,
        outcome=slugify(entry.outcome or "") or None,
        prospect_reasons=_slug_list(entry.prospect_reasons),
        rep_reasons=_slug_list(entry.rep_reasons),
        themes=_slug_list(entry.themes),
        tags=_slug_list(entry.tags),
        reference=opt(entry.reference)[:REFERENCE_MAX] if entry.reference else None,
        trust=int(entry.trust) if entry.trust is not None else None,
        language=_language(entry.language),
    )


def _language(tag: object) -> str | None:
    """A written Language header: a well-formed tag (LanguageError, a ValueError, if not);
    English, the team's own language, is left out."""
    tag = language_tag.normalize(tag)
    return tag if tag != language_tag.ENGLISH else None


def _read_language(tag: str | None) -> str | None:
    """A read Language header: lenient, a hand-typed tag that is not one is ignored."""
    try:
        return _language(tag)
    except language_tag.LanguageError:
        return None


# --- buyer blocks ---------------------------------------------------------------------------


def buyer_block(text: str) -> str:
    """Wrap untrusted buyer text in a `buyer` fence that nothing inside it can close.

    The text is stored verbatim except that CR/LF become LF and NUL and the other C0 control
    characters (all but tab and LF) are removed. The tilde fence is one longer than the longest
    tilde run in the text, so no line of the text can close it (in Python-Markdown's fenced_code,
    in CommonMark/GitHub, and in render_body), and the text is always rendered escaped.
    """
    text = _clean_text(text)
    longest = max((len(run) for run in re.findall(r"~+", text)), default=0)
    fence = "~" * max(3, longest + 1)
    inner = text if not text or text.endswith("\n") else text + "\n"
    return f"{fence} buyer\n{inner}{fence}"


def _split_buyer_blocks(body: str) -> list[tuple[str, str]]:
    """The body as (kind, text) segments: 'md' for rep Markdown, 'buyer' for buyer text."""
    segments: list[tuple[str, str]] = []
    current: list[str] = []
    fence = ""
    for line in body.split("\n"):
        if fence:
            if line.rstrip(" ") == fence:
                segments.append(("buyer", "\n".join(current)))
                current, fence = [], ""
            else:
                current.append(line)
            continue
        opening = _BUYER_OPEN_RE.match(line)
        if opening:
            segments.append(("md", "\n".join(current)))
            current, fence = [], opening.group(1)
        else:
            current.append(line)
    # An unclosed buyer block stays buyer text: escaping too much is the safe side.
    segments.append(("buyer" if fence else "md", "\n".join(current)))
    return [(kind, text) for kind, text in segments if kind == "buyer" or text.strip()]


_MARKUP_RES = [
    (re.compile(r"^ {0,3}(#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.M), ""),  # block markers
    (re.compile(r"^ {0,3}([-*_=|:]\s*){3,}$", re.M), ""),  # rules, table separators
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links and images: keep the text
    (re.compile(r"(\*\*|__|\*|`+|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # emphasis, code spans
    (re.compile(r"[ \t]*\|[ \t]*"), " "),  # table cell bars
]


_HEADING_RE = re.compile(r"^ {0,3}#{1,6}\s")
_ITEM_RE = re.compile(r"^ {0,3}([-*+]|\d+[.)])\s")
_UNDERLINE_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def _ended(line: str, mark: str) -> str:
    """The line with `mark` added unless it ends with punctuation of its own (markup aside)."""
    return line if line.rstrip(" \t*_`~#")[-1:] in tuple(".:;!?…—–") else line.rstrip() + mark


def _mark_block_ends(text: str) -> str:
    """Headings end with " —" and one-line list items with ".", so a snippet, where line
    breaks are spaces, never runs a heading or an item into the text that follows."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        after = lines[i + 1] if i + 1 < len(lines) else ""
        if _HEADING_RE.match(line):
            lines[i] = _ended(line, " —")
        elif _ITEM_RE.match(line) and (not after.strip() or _ITEM_RE.match(after)):
            lines[i] = _ended(line, ".")
        elif line.strip() and _UNDERLINE_RE.match(after) and not _ITEM_RE.match(line):
            lines[i] = _ended(line, " —")  # a heading underlined with === or ---
    return "\n".join(lines)


def _strip_markup(text: str) -> str:
    """Rep Markdown as the words a reader sees, for search snippets (not for display)."""
    text = _mark_block_ends(text)
    for pattern, replacement in _MARKUP_RES:
        text = pattern.sub(replacement, text)
    return text


def plain_text(body: str) -> str:
    """The body for full-text search: Markdown markup dropped, buyer text kept verbatim."""
    return "\n\n".join(
        text if kind == "buyer" else _strip_markup(text)
        for kind, text in _split_buyer_blocks(_clean_text(body))
    )


# --- rendering ------------------------------------------------------------------------------

_ALLOWED_TAGS = {
    "p", "h2", "h3", "h4", "ul", "ol", "li", "blockquote", "pre", "code", "em", "strong",
    "hr", "br", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href"}, "code": {"class"}, "th": {"align"}, "td": {"align"}}


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    """Keep only `language-*` classes on code and left/center/right alignment in tables."""
    if attr == "class":
        # language-buyer is the buyer-quote style: only render_body gives it, to a debrief's
        # buyer blocks, so a rep's ```buyer fence cannot make a made-up quote look real.
        kept = [
            c
            for c in value.split()
            if re.fullmatch(r"language-[a-z0-9_+#.-]+", c) and c != "language-buyer"
        ]
        return " ".join(kept) or None
    if attr == "align":
        return value if value in ("left", "center", "right") else None
    return value


def _sanitize(html: str) -> str:
    """Rep HTML through nh3 with an explicit allow-list (no raw HTML, script or unsafe URL)."""
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_MARKDOWN = threading.local()


def _markdown() -> markdown.Markdown:
    """This thread's Markdown converter, reset (built once per thread: building one is slow)."""
    # One per thread: instances are not thread-safe. No `meta` extension here: the header is
    # already split off, and meta would swallow a first line such as "Note: ...".
    md = getattr(_MARKDOWN, "md", None)
    if md is None:
        md = _MARKDOWN.md = markdown.Markdown(
            extensions=["fenced_code", "tables", "sane_lists"],
            extension_configs={"tables": {"use_align_attribute": True}},  # align=, not style=
        )
    return md.reset()


def render_markdown(text: str) -> Markup:
    """Rep-written Markdown as sanitized HTML."""
    return Markup(_sanitize(_markdown().convert(text)))  # noqa: S704 - sanitized by nh3 just above


def render_body(entry: Entry) -> Markup:
    """The entry body as safe HTML: rep Markdown sanitized, a debrief's buyer blocks as quotes.

    Only a debrief (written by Debrief from an answer) has buyer blocks; in any other entry a
    `buyer` fence is the author's own Markdown and shows as an ordinary code block.
    """
    return _render_text(entry.body, entry.kind == "debrief")


# Bodies rendered lately, by their text: Markdown and nh3 are most of an entry page's work, and
# the same entries are opened again and again. The HTML depends on the text alone, so a changed
# body is a new key: nothing to invalidate.
@functools.lru_cache(maxsize=512)
def _render_text(body: str, buyer_blocks: bool) -> Markup:
    """render_body() of a body text, its buyer blocks quoted or (not a debrief) left as Markdown."""
    if not buyer_blocks:
        return render_markdown(_clean_text(body))
    parts = []
    for kind, text in _split_buyer_blocks(_clean_text(body)):
        if kind == "buyer":
            # dir=auto: buyer text may be right-to-left; the browser takes the direction from it.
            parts.append(
                f'<pre dir="auto"><code class="language-buyer">{escape(text)}</code></pre>'
            )
        else:
            parts.append(render_markdown(text))
    return Markup("\n".join(parts))  # noqa: S704 - every part is escaped or sanitized


# --- files ----------------------------------------------------------------------------------


def _header(entry: Entry) -> str:
    """The `---` header block of a normalized entry, leaving out empty keys."""
    values = {
        "Title": entry.title,
        "Date": entry.date.isoformat(),
        "Kind": entry.kind,
        "Deal": entry.deal if entry.deal is not None else entry.reference,
        "Company": entry.company,
        "Rep": entry.rep,
        "Competitor": entry.competitor,
        "Outcome": entry.outcome,
        "Prospect-Reasons": ", ".join(entry.prospect_reasons),
        "Rep-Reasons": ", ".join(entry.rep_reasons),
        "Themes": ", ".join(entry.themes),
        "Tags": ", ".join(entry.tags),  # only a hand-written file's, kept when Debrief rewrites it
        "Trust": entry.trust,
        "Language": entry.language,
    }
    lines = [f"{key}: {value}" for key, value in values.items() if value not in (None, "")]
    return "---\n" + "\n".join(lines) + "\n---\n"


def _serialize(entry: Entry) -> bytes:
    """The whole file: header, one blank line, then the body exactly as given."""
    return (_header(entry) + "\n" + entry.body).encode("utf-8")


def _slug_taken(entries_dir: Path, slug: str) -> bool:
    """Whether this stem exists at the top or one folder down (year folders, starter)."""
    return find_entry(entries_dir, slug, deep=False) is not None


def _stem(entry: Entry) -> str:
    """The file name stem of a normalized entry before any -2, -3 suffix: <date>-<title slug>."""
    return f"{entry.date.isoformat()}-{slugify(entry.title) or 'entry'}"


# Suffixes tried in order before random ones. Anonymous debriefs share neutral titles, so one
# busy day brings many entries of one name; trying -2, -3, ... each time cost a few stats per
# name taken, inside the index's write lock, and writers of the hundredth answer timed out.
SLUG_IN_ORDER = 9


def _slugs(base: str, first: str = "", seed: str = "") -> Iterator[str]:
    """Candidate stems in the order they are tried: `first` if given, base, base-2 ... base-9,
    then base-<random number> (a wide range: one or two tries find a free one).

    With a `seed` (the name chosen ahead and stored, e.g. an answer's entry_slug, else the
    entry's content) the random numbers are drawn from a sequence seeded by it: every try of that
    one entry's write (the request, its retry, a repair after a kill) walks the same names, so an
    earlier copy written under one of them is found (write_entry with `same`) and never written
    again under another.
    """
    draw = random.Random(seed).randrange if seed else secrets.randbelow
    if first:
        yield first
    for n in range(1, 10_000):
        if n <= SLUG_IN_ORDER:
            slug = base if n == 1 else f"{base}-{n}"
        else:
            slug = f"{base}-{SLUG_IN_ORDER + 1 + draw(999_990)}"
        if slug != first:
            yield slug


def free_slug(entries_dir: Path, entry: Entry) -> str:
    """The slug write_entry would give this entry now (another writer may take it first).

    Lets a caller store the slug with its own record before the file exists, so the record is
    written once; write_entry(replace(entry, slug=...)) then tries that name first.
    """
    base = _stem(normalized(entry))
    for slug in _slugs(base):
        if not _slug_taken(entries_dir, slug):
            return slug
    raise OSError(f"no free file name for {base}")


def write_entry(
    entries_dir: Path, entry: Entry, same: Callable[[Entry], bool] | None = None
) -> Entry:
    """Write a new entry file at entries/<year>/<date>-<slug>.md; returns it with slug and path.

    An entry that comes with a slug (from free_slug) gets that name if it is still free and of
    this entry's own form (<date>-<title slug>[-n]); otherwise the first free one, as usual.
    With `same`, a file already written for this entry (same(found) is true) under one of the
    names it could have taken is returned instead of a second copy: a write that may be a retry
    (a repair after a kill) stays exactly once. Callers serialize such writes (kb.publish).
    """
    entry = normalized(entry)
    year_dir = Path(entries_dir) / f"{entry.date.year:04d}"
    base = _stem(entry)
    suffix = entry.slug[len(base) + 1 :] if entry.slug.startswith(f"{base}-") else ""
    # Only a name of this entry's own form (a digit suffix: no pattern compiled per entry).
    wanted = entry.slug if entry.slug == base or (suffix.isascii() and suffix.isdigit()) else ""
    # A write that may be a retry walks the same names each time: seeded by the name chosen
    # ahead, or by the content when none was (the slug could not be chosen before a disk error).
    seed = wanted or (f"{entry.deal}\n{entry.title}\n{entry.body}" if same else "")
    if same is not None:
        found = _written_already(entries_dir, _slugs(base, wanted, seed), same)
        if found is not None:
            return found
    year_dir.mkdir(parents=True, exist_ok=True)
    names = (
        f"{slug}.md" for slug in _slugs(base, wanted, seed) if not _slug_taken(entries_dir, slug)
    )
    try:
        path = files.write_new(year_dir, names, _serialize(entry), hint=base)
    except FileExistsError:
        raise OSError(f"no free file name for {base}") from None
    return replace(entry, slug=path.stem, path=path)


def _written_already(
    entries_dir: Path, slugs: Iterator[str], same: Callable[[Entry], bool]
) -> Entry | None:
    """The entry among the files this one could have been written to for which same() is true.

    `slugs` are the names in the order every try walks them (the wanted one, then base,
    base-2, ...): an earlier write of this entry took one of the taken names before the first
    free one. A free name ends the look at once: every try writes at the first free name, so
    no try came before (this spares each answer's first write reading the day's other debriefs).
    """
    for slug in slugs:
        path = find_entry(entries_dir, slug, deep=False)
        if path is None:
            return None
        try:
            found = read_entry(path)
        except EntryError:
            continue
        if same(found):
            return found
    return None


def save_entry(entry: Entry) -> Entry:
    """Rewrite an existing entry file in place, atomically (e.g. after its themes changed)."""
    if entry.path is None:
        raise ValueError("save_entry needs an entry read from or written to a file")
    path = Path(entry.path)
    entry = replace(normalized(entry), slug=path.stem, path=path)
    files.atomic_write(path, _serialize(entry), fsync_folder=True)
    return entry


# --- reading, leniently (SPEC 2.4) ---------------------------------------------------------

# The keys Debrief writes, in order, and the one more it reads (YAML front matter's tags).
KEYS = ("title", "date", "kind", "deal", "company", "rep", "competitor", "outcome",
        "prospect-reasons", "rep-reasons", "themes", "trust")  # fmt: skip
READ_KEYS = (*KEYS, "tags")
# Other common ways of writing a date, tried in order after YYYY-MM-DD (day before month where a
# number could be either: the European order of "04.03.2025").
DATE_FORMATS = ("%Y/%m/%d", "%Y.%m.%d", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y",
                "%B %d %Y", "%b %d %Y", "%d.%m.%Y", "%d-%m-%Y")  # fmt: skip
_ORDINAL_RE = re.compile(r"(?<=\d)(st|nd|rd|th)\b", re.I)
_WEEKDAY_RE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.I)
_NAME_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TITLE_RE = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_LIST_ITEM_RE = re.compile(r"^[ ]{0,3}-[ \t]+(?P<value>.*)")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def decode(path: Path, raw: bytes) -> str:
    """The file's text; EntryError for bytes that are no UTF-8 text (the only unreadable files)."""
    if b"\x00" in raw:
        raise EntryError(path, "binary file (contains NUL bytes), not a Markdown entry")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise EntryError(
            path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at {exc.start})"
        ) from None


def _value(raw: str) -> str:
    """A header value as written by hand: YAML quotes and [a, b] lists undone."""
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    elif value.startswith("[") and value.endswith("]"):
        value = ", ".join(_value(v) for v in value[1:-1].split(","))
    return value


def _read_block(lines: list[str], first: int) -> tuple[dict[str, str], list[str], list[str]]:
    """Key: value lines (with continuation and YAML list lines) -> (meta, other lines, warnings)."""
    meta: dict[str, str] = {}
    kept: list[str] = []
    warnings: list[str] = []
    key = None
    for number, line in enumerate(lines, first):
        line = line.rstrip("\r")
        if not line.strip():
            key = None
            continue
        item = _LIST_ITEM_RE.match(line) if key else None
        more = META_MORE_RE.match(line) if key else None
        pair = META_RE.match(line)
        if item or (more and not pair):
            found = (item or more).group("value").strip()
            joiner = ", " if item and meta[key] else " "
            meta[key] = (meta[key] + joiner + _value(found)).strip(", ")
        elif pair:
            key = pair.group("key").lower()
            meta[key] = _value(pair.group("value"))
        else:
            key = None
            kept.append(line)
            warnings.append(f"header line {number}: {line.strip()[:60]!r} is not Key: value"
                            " (kept in the body)")  # fmt: skip
    return meta, kept, warnings


def split_header(text: str) -> tuple[dict[str, str], str, list[str]] | None:
    """(meta, body, warnings) of a file with a header; None when it has none."""
    lines = text.split("\n")
    if BEGIN_RE.match(lines[0]):
        return _dashed_header(lines)
    # Python-Markdown's meta also reads a header with no --- lines: only of our own keys here,
    # so that a note starting "Note: call them back" stays a note.
    first = META_RE.match(lines[0])
    if first is None or first.group("key").lower() not in READ_KEYS:
        return None
    end = next((i for i, line in enumerate(lines) if not META_RE.match(line)
                and not META_MORE_RE.match(line)), len(lines))  # fmt: skip
    meta, _, _ = _read_block(lines[:end], 1)
    return meta, _after_header(lines[end:]), []


def _dashed_header(lines: list[str]) -> tuple[dict[str, str], str, list[str]] | None:
    """split_header() of a file whose first line is ---."""
    end = next((i for i in range(1, len(lines)) if END_RE.match(lines[i])), None)
    warnings = []
    if end is None:  # never closed: the header is what comes before the first blank line
        end = next((i for i in range(1, len(lines)) if not lines[i].strip()), len(lines))
        rest = lines[end:]
        warnings.append("header not closed by a --- line")
    else:
        rest = lines[end + 1 :]
    meta, kept, bad = _read_block(lines[1:end], 2)
    if not meta:
        return None  # a rule or a setext heading at the top, not a header
    body = _after_header(rest)
    if kept:
        body = "\n".join(kept) + "\n\n" + body
    return meta, body, warnings + bad


def _after_header(rest: list[str]) -> str:
    """The body: the lines after the header, less the blank line that separates them."""
    if rest and not rest[0].strip():
        rest = rest[1:]
    return "\n".join(rest)


def first_heading(body: str) -> str:
    """The text of the body's first heading (# style or underlined), '' when there is none."""
    lines = body.split("\n")
    fence = ""
    for i, line in enumerate(lines):
        opening = _FENCE_RE.match(line)
        if opening and (not fence or opening.group(1).startswith(fence)):
            fence = "" if fence else opening.group(1)[:3]
            continue
        if fence:
            continue
        heading = _TITLE_RE.match(line)
        if heading:
            return clean_header_value(heading.group(1).strip("*_` "))
        after = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and _UNDERLINE_RE.match(after) and not _LIST_ITEM_RE.match(line):
            return clean_header_value(line.strip("*_` "))
    return ""


def name_title(path: Path) -> str:
    """A title from the file name: "2024-05-01-ask-why_they-left" -> "ask why they left"."""
    words = _NAME_DATE_RE.sub(" ", path.stem, count=1).replace("-", " ").replace("_", " ")
    return " ".join(words.split()) or path.stem


def parse_date(value: str) -> datetime.date | None:
    """A date as people write it (2025-03-04, 4 March 2025, March 4th, 2025, ...), or None."""
    value = _ORDINAL_RE.sub("", _WEEKDAY_RE.sub("", value.strip()))
    if re.match(r"\d{4}-\d{2}-\d{2}([T ]|$)", value):
        value = value[:10]  # an ISO date with a time after it
    for fmt in ("%Y-%m-%d", *DATE_FORMATS):
        try:
            return datetime.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def fallback_date(path: Path, mtime_ns: int | None) -> tuple[datetime.date, str]:
    """The date in the file name, else the file's modification date; with where it came from."""
    for match in _NAME_DATE_RE.finditer(path.name):
        try:
            return datetime.date(*map(int, match.groups())), "from its file name"
        except ValueError:
            continue
    if mtime_ns is None:
        try:
            mtime_ns = os.stat(path).st_mtime_ns
        except OSError:
            mtime_ns = None
    if mtime_ns is None:
        return datetime.date.today(), "today (no file date)"
    moment = datetime.datetime.fromtimestamp(mtime_ns / 1e9)
    return moment.date(), "its file's modification date"


def _date(path: Path, value: str, mtime_ns: int | None) -> tuple[datetime.date, str | None]:
    """The entry's date and the warning its repair needs (None: written as Debrief writes it)."""
    value = value.strip()
    if DATE_RE.match(value):
        try:
            return datetime.date.fromisoformat(value), None
        except ValueError:
            pass
    parsed = parse_date(value) if value else None
    if parsed is not None:
        return parsed, f"Date {value[:30]!r} read as {parsed.isoformat()}"
    date, where = fallback_date(path, mtime_ns)
    said = f"Date {value[:30]!r} not understood" if value else "no Date"
    return date, f"{said}: dated {date.isoformat()}, {where}"


def _title(value: str, body: str, path: Path) -> tuple[str, str | None]:
    """(title, warning): the Title, else the body's first heading, else the file name's words."""
    title = clean_header_value(value)
    if title:
        return title, None
    heading = first_heading(body)
    return heading or name_title(path), (
        f"no Title: {'its first heading' if heading else 'its file name'} is its title"
    )


def _kind(value: str) -> tuple[str, str | None]:
    """(kind, warning): the Kind, else a lesson."""
    kind = value.strip().lower()
    if kind in KINDS:
        return kind, None
    said = f"Kind {value.strip()[:30]!r} is not {' or '.join(KINDS)}" if kind else "no Kind"
    return "lesson", f"{said}: read as a lesson"


def _deal(value: str) -> tuple[int | None, str | None, str | None]:
    """(Debrief deal number, reference text, warning) from a Deal value."""
    value = clean_header_value(value)
    if not value:
        return None, None, None
    if re.fullmatch(r"[0-9]{1,18}", value):
        return int(value), None, None
    reference = value[:REFERENCE_MAX]
    return (
        None,
        reference,
        f"Deal {value[:30]!r} is not a Debrief deal number: kept as reference text",
    )


def _trust(value: str) -> tuple[int | None, str | None]:
    """(trust, warning) from a Trust value: a whole number from 1 to 5, else left out."""
    value = value.strip()
    if not value or re.fullmatch(r"[1-5]", value):
        return (int(value) if value else None), None
    return None, f"Trust {value[:30]!r} is not a whole number from 1 to 5: left out"


def parse_entry(path: Path, raw: bytes, mtime_ns: int | None = None) -> Entry:
    """Read the bytes of an entry file; EntryError only for bytes that are not UTF-8 text.

    mtime_ns: the file's modification time when the caller has it (the date of last resort).
    """
    path = Path(path)
    text = decode(path, raw)
    found = split_header(text)
    meta, body, warnings = found if found is not None else ({}, text, [])
    if not text.strip():
        warnings.append("empty file: only its name is searchable")
    title, repair_title = _title(meta.get("title", ""), body, path)
    kind, repair_kind = _kind(meta.get("kind", ""))
    if found is not None:
        warnings += [w for w in (repair_title, repair_kind) if w]
    date, repair = _date(path, meta.get("date", ""), mtime_ns)
    if found is None:
        warnings.insert(0, f"no header: read as a lesson titled {title[:60]!r}, "
                           f"dated {date.isoformat()}")  # fmt: skip
    elif repair:
        warnings.append(repair)
    deal, reference, repair = _deal(meta.get("deal", ""))
    trust, repair_trust = _trust(meta.get("trust", ""))
    warnings += [w for w in (repair, repair_trust) if w]
    return Entry(
        kind=kind,
        title=title,
        date=date,
        body=body,
        deal=deal,
        reference=reference,
        company=clean_header_value(meta.get("company", "")) or None,
        rep=clean_header_value(meta.get("rep", "")) or None,
        competitor=_slug_value(meta.get("competitor", "")) or None,
        outcome=_slug_value(meta.get("outcome", "")) or None,
        prospect_reasons=_slug_list(meta.get("prospect-reasons", "")),
        rep_reasons=_slug_list(meta.get("rep-reasons", "")),
        themes=_slug_list(meta.get("themes", "")),
        tags=_slug_list(meta.get("tags", "")),
        trust=trust,
        language=_read_language(meta.get("language")),
        slug=path.stem,
        path=path,
        warnings=warnings,
    )


def read_entry(path: Path) -> Entry:
    """Read one entry file, leniently; EntryError only for a file that is unreadable or no text."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise EntryError(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_entry(Path(path), raw)


def inside(root: Path, path: Path) -> bool:
    """Whether path, symlinked folders followed, stays in root (a link cannot point out)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def entry_files(entries_dir: Path) -> Iterator[Path]:
    """Every *.md file under the folder in a stable order (hidden files and links left out)."""
    return files.walk(entries_dir)


def iter_entries(entries_dir: Path) -> Iterator[Entry | EntryError]:
    """Every entry under the folder (starter/ included); broken files are yielded as errors."""
    for path in entry_files(entries_dir):
        try:
            yield read_entry(path)
        except EntryError as exc:
            yield exc


def find_entry(entries_dir: Path, slug: str, *, deep: bool = True) -> Path | None:
    """The file of a slug, or None; the slug must have slugify's shape (no traversal)."""
    if not is_slug(slug) or len(slug) > 200:
        return None
    root = Path(entries_dir)
    name = f"{slug}.md"

    def candidates() -> Iterator[Path]:
        yield root / slug[:4] / name  # the year folder first: the common case
        yield root / name
        # The folder is listed only when needed: every entry page looks up its file.
        if root.is_dir():
            for folder in sorted(root.iterdir()):
                if folder.is_dir() and not folder.name.startswith("."):
                    yield folder / name

    for candidate in candidates():
        if candidate.is_file() and not candidate.is_symlink() and inside(root, candidate):
            return candidate
    if deep:
        for path in entry_files(root):
            if path.name == name:
                return path
    return None
