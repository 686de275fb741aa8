"""The one rule for text coming in, from every way in: web forms, JSON, the API, CSV, the CLI.

The rule (README "Text we accept"):
- CR LF and lone CR become LF; so do U+2028/U+2029 in multi-line text.
- Unicode NFC: the same word is stored as the same code points, whatever keyboard typed it.
- Refused, never silently changed: lone UTF-16 surrogates (only broken or hostile clients send
  them; they cannot be written as UTF-8), and control characters (Unicode Cc: NUL, ESC, DEL, the
  C1 range), except tab and LF in multi-line text. One-line text also refuses line breaks and
  tab (it may end up in a mail header). TextError carries the message for the field and the
  text with those characters taken out, so a form can show what would be kept.
- One-line text loses its surrounding blanks. Text made only of blanks and invisible characters
  (zero-width spaces, joiners, BOM, bidi marks, fillers) counts as empty: "" is returned, so a
  required field says it is required.

Records stored by earlier versions may hold a lone surrogate: the store reads them through
repair(), which puts U+FFFD in its place, so no page or export fails on them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

ONE_LINE_MESSAGE = "Use one line of plain text, without line breaks or control characters."
CONTROL_MESSAGE = (
    "This text held invisible control characters; they are taken out below. "
    "Check the text and send it again."
)
SURROGATE_MESSAGE = (
    "This text held a broken character (a lone UTF-16 surrogate), shown below as \ufffd. "
    "Check the text and send it again."
)

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# C0 controls and DEL but tab and LF (CR is turned into LF before these are applied): the one
# character class of control cleaning. Typed text refuses C1 too (all of Cc but tab and LF);
# an entry file read leniently only drops C0, as clean_c0 does.
_C0 = r"\x00-\x08\x0b-\x1f\x7f"
_C0_CONTROL = re.compile(rf"[{_C0}]")
_CONTROL = re.compile(rf"[{_C0}\x80-\x9f]")
_LINE_BREAK = re.compile(r"[\t\n\u2028\u2029]")
# Blank or invisible: separators (Z*), format characters (Cf: ZWSP, ZWJ, BOM, bidi marks) and
# the fillers that are letters or symbols by category but draw nothing.
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cf", "Cc", "Mn"})
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")


class TextError(ValueError):
    """Text the rule refuses: the message for the field, and the text with the culprits out."""

    def __init__(self, message: str, repaired: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.repaired = repaired
        self.reason = reason  # short, after a field name: "company holds a control character"


def clean_text(value: str | None, multiline: bool = False) -> str:
    """The text as stored ("" for nothing or only invisibles); TextError if the rule refuses it."""
    if not value:
        return ""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if multiline:
        text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    if _SURROGATE.search(text):
        reason = "holds a broken character (a lone UTF-16 surrogate)"
        raise TextError(SURROGATE_MESSAGE, _repaired(text, multiline), reason)
    if _CONTROL.search(text) or (not multiline and _LINE_BREAK.search(text)):
        if multiline:
            reason = "holds a control character"
            raise TextError(CONTROL_MESSAGE, _repaired(text, multiline), reason)
        reason = "holds a line break or a control character"
        raise TextError(ONE_LINE_MESSAGE, _repaired(text, multiline), reason)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if not multiline:
        text = text.strip()
    return "" if is_blank(text) else text


def is_blank(text: str) -> bool:
    """Whether the text shows nothing: only blanks, format characters and fillers."""
    if text.isascii():
        return not text.strip()
    return all(unicodedata.category(c) in _INVISIBLE_CATEGORIES or c in _FILLERS for c in text)


def _repaired(text: str, multiline: bool) -> str:
    """What clean_text would keep: surrogates as U+FFFD, controls out, line breaks as spaces."""
    text = repair(text)
    if not multiline:
        text = _LINE_BREAK.sub(" ", text)
    return _CONTROL.sub("", text)


def clean_c0(text: str) -> str:
    """text without C0 controls and DEL (tab and LF kept): what an entry file may not hold."""
    return _C0_CONTROL.sub("", text)


def repair(text: str) -> str:
    """Text safe to encode as UTF-8: every lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def has_surrogate(data: Any) -> bool:
    """Whether any string in data (nested lists and dicts, keys too) holds a lone surrogate."""
    if isinstance(data, str):
        return _SURROGATE.search(data) is not None
    if isinstance(data, dict):
        return any(has_surrogate(k) or has_surrogate(v) for k, v in data.items())
    if isinstance(data, list | tuple):
        return any(has_surrogate(v) for v in data)
    return False


def repair_all(data: Any) -> Any:
    """data with repair() applied to every string in it (nested lists and dicts, keys too)."""
    if isinstance(data, str):
        return repair(data)
    if isinstance(data, dict):
        return {repair_all(k): repair_all(v) for k, v in data.items()}
    if isinstance(data, list):
        return [repair_all(v) for v in data]
    return data


def normalize_email(email: str | None) -> str:
    """An email address as stored and compared: no surrounding blanks, lowercase."""
    return (email or "").strip().lower()
