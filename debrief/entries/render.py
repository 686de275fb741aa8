"""Rendering entries: buyer blocks, plain text for search, Markdown through nh3 to safe HTML."""

from __future__ import annotations

import functools
import re
import threading

import markdown
import nh3
from markupsafe import Markup, escape

from debrief.entries.model import Entry, clean_text

_BUYER_OPEN_RE = re.compile(r"^(~{3,})[ ]*buyer[ ]*$")


def buyer_block(text: str) -> str:
    """Wrap untrusted buyer text in a `buyer` fence that nothing inside it can close.

    The text is stored verbatim except that CR/LF become LF and NUL and the other C0 control
    characters (all but tab and LF) are removed. The tilde fence is one longer than the longest
    tilde run in the text, so no line of the text can close it (in Python-Markdown's fenced_code,
    in CommonMark/GitHub, and in render_body), and the text is always rendered escaped.
    """
    text = clean_text(text)
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
UNDERLINE_RE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


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
        elif line.strip() and UNDERLINE_RE.match(after) and not _ITEM_RE.match(line):
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
        for kind, text in _split_buyer_blocks(clean_text(body))
    )


def buyer_and_rep_text(body: str) -> tuple[str, str]:
    """The buyer's words and the rep's words of a body, headings left out (they are the form's)."""
    buyer, rep = [], []
    for kind, text in _split_buyer_blocks(clean_text(body)):
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
        return render_markdown(clean_text(body))
    parts = []
    for kind, text in _split_buyer_blocks(clean_text(body)):
        if kind == "buyer":
            # dir=auto: buyer text may be right-to-left; the browser takes the direction from it.
            parts.append(
                f'<pre dir="auto"><code class="language-buyer">{escape(text)}</code></pre>'
            )
        else:
            parts.append(render_markdown(text))
    return Markup("\n".join(parts))  # noqa: S704 - every part is escaped or sanitized
