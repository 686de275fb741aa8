"""The entry header: written strictly, read leniently (SPEC 2.4), each repair a warning."""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

from markdown.extensions.meta import BEGIN_RE, END_RE, META_MORE_RE, META_RE

from debrief.entries.model import (
    DATE_RE,
    KINDS,
    REFERENCE_MAX,
    Entry,
    EntryError,
    clean_header_value,
    read_language,
    slug_list,
    slug_value,
)
from debrief.entries.render import UNDERLINE_RE

# --- writing --------------------------------------------------------------------------------


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
    lines = [
        f"{key}: {_written(value)}" for key, value in values.items() if value not in (None, "")
    ]
    return "---\n" + "\n".join(lines) + "\n---\n"


def _written(value: object) -> object:
    """A header value as written: in quotes when reading would change it otherwise (lenient
    reading undoes YAML's quotes and [a, b] lists, and a title may look like either)."""
    if isinstance(value, str) and _value(value) != value:
        return f'"{value}"'
    return value


def serialize(entry: Entry) -> bytes:
    """The whole file: header, one blank line, then the body exactly as given."""
    return (_header(entry) + "\n" + entry.body).encode("utf-8")


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
        if line.strip() and UNDERLINE_RE.match(after) and not _LIST_ITEM_RE.match(line):
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
        competitor=slug_value(meta.get("competitor", "")) or None,
        outcome=slug_value(meta.get("outcome", "")) or None,
        prospect_reasons=slug_list(meta.get("prospect-reasons", "")),
        rep_reasons=slug_list(meta.get("rep-reasons", "")),
        themes=slug_list(meta.get("themes", "")),
        tags=slug_list(meta.get("tags", "")),
        trust=trust,
        language=read_language(meta.get("language")),
        slug=path.stem,
        path=path,
        warnings=warnings,
    )
