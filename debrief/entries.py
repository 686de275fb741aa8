"""The entry file format: write, read, render and sanitize knowledge-base entries (no Flask)."""

from __future__ import annotations

import datetime
import functools
import os
import random
import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace

import markdown
import nh3
from markdown.extensions.meta import END_RE, MetaPreprocessor
from markupsafe import Markup, escape

from debrief import i18n
from debrief import text as text_rule

KINDS = ("debrief", "lesson")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SLUG_MAX = 60
# Temporary files of atomic writes end so (hidden: readers skip names starting with a dot).
TMP_SUFFIX = ".tmp"
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
        trust=int(entry.trust) if entry.trust is not None else None,
        language=_language(entry.language),
    )


def _language(tag: object) -> str | None:
    """A written Language header: a well-formed tag (LanguageError, a ValueError, if not);
    English, the team's own language, is left out."""
    tag = i18n.normalize(tag)
    return tag if tag != i18n.ENGLISH else None


def _read_language(tag: str | None) -> str | None:
    """A read Language header: lenient, a hand-typed tag that is not one is ignored."""
    try:
        return _language(tag)
    except i18n.LanguageError:
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


def buyer_and_rep_text(body: str) -> tuple[str, str]:
    """The buyer's words and the rep's words of a body, headings left out (they are the form's)."""
    buyer, rep = [], []
    for kind, text in _split_buyer_blocks(_clean_text(body)):
        if kind == "buyer":
            buyer.append(text)
        else:
            lines = [line for line in text.split("\n") if not _HEADING_RE.match(line)]
            rep.append(_strip_markup("\n".join(lines)))
    return "\n\n".join(buyer), "\n\n".join(rep)


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
    """This thread's Markdown converter, reset (building one was ~0.7 ms of each entry page)."""
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


# Bodies rendered lately, by their text: Markdown and nh3 cost ~1.5 ms of a ~4 ms entry page,
# and the same entries are opened again and again (SPEC 4). The HTML depends on the text alone.
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
        "Deal": entry.deal,
        "Company": entry.company,
        "Rep": entry.rep,
        "Competitor": entry.competitor,
        "Outcome": entry.outcome,
        "Prospect-Reasons": ", ".join(entry.prospect_reasons),
        "Rep-Reasons": ", ".join(entry.rep_reasons),
        "Themes": ", ".join(entry.themes),
        "Trust": entry.trust,
        "Language": entry.language,
    }
    lines = [f"{key}: {value}" for key, value in values.items() if value not in (None, "")]
    return "---\n" + "\n".join(lines) + "\n---\n"


def _serialize(entry: Entry) -> bytes:
    """The whole file: header, one blank line, then the body exactly as given."""
    return (_header(entry) + "\n" + entry.body).encode("utf-8")


def _write_tmp(directory: Path, stem: str, data: bytes) -> Path:
    """A fully written and fsynced hidden temporary file in `directory` (ignored by readers)."""
    tmp = directory / f".{stem}.{secrets.token_hex(4)}{TMP_SUFFIX}"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        # A full or read-only disk fails the write or the fsync: leave no empty or torn file.
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def sweep_temporary(entries_dir: Path, older_than: float = 60.0, deep: bool = True) -> int:
    """Remove the temporary files of writes cut off by a kill; how many were removed.

    Only files older than `older_than` seconds: a younger one may be a write in progress in
    another process. `deep=False` looks in the folder and the current year's folder only (where
    new entries are written), cheap enough for every start.
    """
    root = Path(entries_dir)
    if deep:
        folders = []
        for top, dirs, _ in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]  # never inside .git
            folders.append(Path(top))
    else:
        folders = [root, root / f"{datetime.date.today().year:04d}"]
    limit = time.time() - older_than
    removed = 0
    for folder in folders:
        for tmp in folder.glob(f".*{TMP_SUFFIX}"):
            try:
                if tmp.is_file() and tmp.lstat().st_mtime <= limit:
                    tmp.unlink()
                    removed += 1
            except OSError:
                continue  # gone already, or a read-only folder: nothing to clean there
    return removed


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable; not every platform can open a directory, which is fine there."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
    # Only a name of this entry's own form (compiling a pattern per entry cost 0.5 ms).
    wanted = entry.slug if entry.slug == base or (suffix.isascii() and suffix.isdigit()) else ""
    # A write that may be a retry walks the same names each time: seeded by the name chosen
    # ahead, or by the content when none was (the slug could not be chosen before a disk error).
    seed = wanted or (f"{entry.deal}\n{entry.title}\n{entry.body}" if same else "")
    if same is not None:
        found = _written_already(entries_dir, _slugs(base, wanted, seed), same)
        if found is not None:
            return found
    year_dir.mkdir(parents=True, exist_ok=True)
    data = _serialize(entry)
    tmp = _write_tmp(year_dir, base, data)
    try:
        for slug in _slugs(base, wanted, seed):
            if _slug_taken(entries_dir, slug):
                continue
            target = year_dir / f"{slug}.md"
            try:
                # link() fails when the name exists, so two writers can never take the same slug,
                # and the file appears complete in one step.
                os.link(tmp, target)
            except FileExistsError:
                continue
            except OSError:
                # No hard links on this file system: a plain rename, race-free only per process.
                if target.exists():
                    continue
                os.replace(tmp, target)
            _fsync_dir(year_dir)
            return replace(entry, slug=slug, path=target)
        raise OSError(f"no free file name for {base}")
    finally:
        tmp.unlink(missing_ok=True)


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
    tmp = _write_tmp(path.parent, path.stem, _serialize(entry))
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return entry


def parse_entry(path: Path, raw: bytes) -> Entry:
    """Parse the bytes of an entry file; raise EntryError naming what is wrong."""
    if not raw.strip():
        raise EntryError(path, "empty file")
    if b"\x00" in raw:
        raise EntryError(path, "binary file (contains NUL bytes), not a Markdown entry")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EntryError(
            path, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at {exc.start})"
        ) from None
    lines = text.removeprefix("\ufeff").split("\n")
    holder = SimpleNamespace(Meta={})
    rest = MetaPreprocessor(holder).run(list(lines))  # type: ignore[arg-type]
    consumed = len(lines) - len(rest)
    if consumed and lines[0].strip() == "---":
        last = lines[consumed - 1]
        if consumed == 1 or not (last.strip() == "" or END_RE.match(last)):
            bad = lines[consumed] if consumed < len(lines) else "(end of file)"
            raise EntryError(
                path, f"bad header line {consumed + 1}: {bad[:60]!r} (want Key: value)"
            )
    meta = {key: " ".join(v for v in values if v) for key, values in holder.Meta.items()}
    if rest and not rest[0].strip():
        rest = rest[1:]  # the blank line that separates header and body
    return _entry_from_meta(path, meta, "\n".join(rest))


def _entry_from_meta(path: Path, meta: dict[str, str], body: str) -> Entry:
    """Validate header values and build the entry."""
    for key in ("title", "kind", "date"):
        if not meta.get(key):
            raise EntryError(path, f"missing {key.capitalize()} in the header")
    if meta["kind"] not in KINDS:
        raise EntryError(path, f"Kind must be one of {', '.join(KINDS)}, not {meta['kind'][:30]!r}")
    try:
        if not DATE_RE.match(meta["date"]):
            raise ValueError
        date = datetime.date.fromisoformat(meta["date"])
    except ValueError:
        raise EntryError(path, f"Date must be YYYY-MM-DD, not {meta['date'][:30]!r}") from None
    numbers: dict[str, int | None] = {}
    for key in ("deal", "trust"):
        value = meta.get(key) or None
        if value is not None and not re.fullmatch(r"[0-9]{1,18}", value):
            raise EntryError(path, f"{key.capitalize()} must be a whole number, not {value[:30]!r}")
        numbers[key] = int(value) if value is not None else None
    if numbers["trust"] is not None and not 1 <= numbers["trust"] <= 5:
        raise EntryError(path, "Trust must be between 1 and 5")
    path = Path(path)
    return Entry(
        kind=meta["kind"],
        title=clean_header_value(meta["title"]),
        date=date,
        body=body,
        deal=numbers["deal"],
        company=meta.get("company") or None,
        rep=meta.get("rep") or None,
        competitor=_slug_value(meta.get("competitor", "")) or None,
        outcome=_slug_value(meta.get("outcome", "")) or None,
        prospect_reasons=_slug_list(meta.get("prospect-reasons", "")),
        rep_reasons=_slug_list(meta.get("rep-reasons", "")),
        themes=_slug_list(meta.get("themes", "")),
        trust=numbers["trust"],
        language=_read_language(meta.get("language")),
        slug=path.stem,
        path=path,
    )


def read_entry(path: Path) -> Entry:
    """Read one entry file; raise EntryError for an unreadable, binary or badly headed file."""
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
    """Every *.md file under the folder in a stable order, hidden files and folders skipped."""
    for root, dirs, files in os.walk(entries_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".md") and not name.startswith("."):
                path = Path(root) / name
                if not path.is_symlink():  # as the index and the export: links are not entries
                    yield path


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
        # Listing the folder only when needed: it was ~1 ms of each entry page.
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
