"""The knowledge-base export: a zip of the entries folder and a CSV of the buyers' answers."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from debrief import files
from debrief.survey import anonymity

Deals = dict[int, dict[str, Any]]

# The answer fields a spreadsheet gets. Contact email is deliberately absent; the name, company,
# deal_id and entry_slug columns are filled only for answers the buyer chose to sign.
COLUMNS = (
    "deal_id",
    "submitted",
    "outcome",
    "competitor",
    "reason",
    "reasons",
    "own_words",
    "claims",
    "would_change",
    "trust",
    "attribution",
    "name",
    "company",
    "may_contact",
    "entry_slug",
)
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> Any:
    """A cell value that a spreadsheet shows as text: formula-like strings get a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def answer_cells(answer: dict[str, Any], deal: dict[str, Any] | None = None) -> dict[str, Any]:
    """An answer's fields as spreadsheet cells, anonymity kept (anonymity.shown): every export
    of answers writes these."""
    anonymous = anonymity.is_anonymous(answer)
    answer = anonymity.shown(answer, deal)
    claims = "; ".join(
        f"{c.get('claim', '')} ({c.get('verdict', '')})"
        for c in answer.get("claims") or []
        if isinstance(c, dict)
    )
    values = {
        **answer,
        "reasons": ", ".join(answer.get("reasons") or []),
        "claims": claims,
        "attribution": "anonymous" if anonymous else "named",
        "may_contact": "yes" if answer.get("may_contact") else "no",
    }
    return {key: neutralize("" if value is None else value) for key, value in values.items()}


def answer_row(answer: dict[str, Any], deal: dict[str, Any] | None = None) -> list[Any]:
    """One answer as the CSV cells of COLUMNS."""
    cells = answer_cells(answer, deal)
    return [cells.get(column, "") for column in COLUMNS]


def answers_csv(answers: Iterable[dict[str, Any]], deals: Deals | None = None) -> str:
    """The answers as CSV text with a header row; `deals` by id, for the names to replace."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for answer in answers:
        writer.writerow(answer_row(answer, (deals or {}).get(answer.get("deal_id"))))
    return out.getvalue()


def write_zip(
    out: IO[bytes], entries_dir: Path, answers: Iterable[dict[str, Any]], deals: Deals | None = None
) -> int:
    """Write the zip (entries/... and answers.csv) to a binary file; returns the files count."""
    count = 0
    entries_dir = Path(entries_dir)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files.walk(entries_dir, suffix=None):
            archive.write(path, "entries/" + path.relative_to(entries_dir).as_posix())
            count += 1
        archive.writestr("answers.csv", answers_csv(answers, deals))
    return count
