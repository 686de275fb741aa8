"""The one text rule (debrief/text.py): what it keeps, what it refuses, what counts as empty."""

from __future__ import annotations

import pytest

from debrief import text


@pytest.mark.parametrize(
    ("raw", "multiline", "expected"),
    [
        ("  Acme Ltd ", False, "Acme Ltd"),
        ("Cafe\u0301", False, "Café"),  # NFC: one code point for é
        ("Acme\u200dCo", False, "Acme\u200dCo"),  # invisibles inside visible text stay
        ("\u200b", False, ""),
        ("\u200b\u200c\u200d\ufeff\u2060", False, ""),
        ("\u00a0\u3000\u3164 \u202e", False, ""),
        ("line one\r\nline two\rthree", True, "line one\nline two\nthree"),
        ("a\tb\u2028c", True, "a\tb\nc"),
        ("\n\u200b\n", True, ""),
        ("שלום 😀", False, "שלום 😀"),
        # Combining marks (Mn) count as invisible only when nothing else is there: words whose
        # vowels and tones are marks stay whole, in one-line and multi-line text alike.
        ("น้ำไม่", False, "น้ำไม่"),  # Thai tone marks
        ("हिंदी", False, "हिंदी"),  # Devanagari with a nasal mark
        ("مَرْحَبًا", True, "مَرْحَبًا"),  # Arabic with harakat
        ("\u05b0", False, ""),  # a Hebrew point alone
        ("\u0e49\u0e31", False, ""),  # Thai marks with no letter
        (None, False, ""),
    ],
)
def test_kept_text(raw, multiline, expected):
    assert text.clean_text(raw, multiline) == expected


@pytest.mark.parametrize(
    ("raw", "multiline", "repaired"),
    [
        ("Acme\x00", False, "Acme"),
        ("Acme\x00", True, "Acme"),
        ("Ac\x1b[31mme", True, "Ac[31mme"),
        ("A\x85B", True, "AB"),
        ("A\x7fB", False, "AB"),
        ("Jane\r\nBcc: x@evil.test", False, "Jane Bcc: x@evil.test"),
        ("A\tB", False, "A B"),
        ("A\u2028B", False, "A B"),
        ("Acme \ud800 Ltd", False, "Acme \ufffd Ltd"),
        ("Acme \udfff", True, "Acme \ufffd"),
    ],
)
def test_refused_text_says_why_and_what_would_be_kept(raw, multiline, repaired):
    with pytest.raises(text.TextError) as caught:
        text.clean_text(raw, multiline)
    assert caught.value.repaired == repaired
    assert caught.value.message and caught.value.reason.startswith("holds")


def test_repair_all_replaces_surrogates_in_nested_records():
    record = {"company": "A\ud800", "claims": ["x\udc00"], "n": 1, "k\ud801": None}
    assert text.has_surrogate(record)
    repaired = text.repair_all(record)
    assert repaired == {"company": "A\ufffd", "claims": ["x\ufffd"], "n": 1, "k\ufffd": None}
    assert not text.has_surrogate(repaired)
