"""Reading CRM exports: the file's delimiter, columns and records in, a Row or problem per line out.

Each record's cells are read by csvrow.py; no store, no Flask.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from typing import TextIO

from debrief.deals.csvrow import Row, RowProblem, Skipped, normalize, read_row

# The column headings we accept for each deal field, as CRMs spell them (Salesforce, HubSpot,
# Pipedrive, spreadsheets). Matching ignores case, spaces and punctuation, so "Close Date",
# "close_date" and "CLOSE-DATE" are one heading. docs/csv-import.md lists this table.
FIELD_HEADERS: dict[str, tuple[str, ...]] = {
    "crm_id": ("Opportunity ID", "Deal ID", "CRM ID", "ID", "Record ID", "Deal - ID"),
    "company": (
        "Account", "Account Name", "Company", "Company Name", "Organization",
        "Associated Company", "Deal - Organization",
    ),
    "contact_name": ("Contact", "Contact Name", "Contact Person", "Deal - Contact person"),
    "contact_email": ("Contact Email", "Email", "Email Address", "Contact E-mail"),
    "value": ("Amount", "Value", "Deal Value", "Deal Amount", "Deal - Value"),
    "lost_on": (
        "Close Date", "Closed On", "Closed Date", "Lost On", "Lost Date", "Lost Time",
        "Deal - Lost time",
    ),
    "stage": ("Stage", "Deal Stage", "Status", "Deal - Status"),
    "rep_reason": (
        "Loss Reason", "Lost Reason", "Reason", "Closed Lost Reason", "Deal - Lost reason",
    ),
    "rep_reasons": ("Other Reasons", "Other Loss Reasons", "Secondary Reasons"),
    "competitor": ("Competitor", "Lost To", "Primary Competitor", "Winning Competitor"),
    "owner": (
        "Owner", "Opportunity Owner", "Sales Agent", "Rep", "Deal Owner", "Sales Rep",
        "Deal - Owner",
    ),
    "notes": ("Notes", "Description", "Comments"),
    "language": ("Language", "Contact Language", "Preferred Language", "Locale"),
}  # fmt: skip

HEADER_ALIASES: dict[str, str] = {
    normalize(heading): name for name, headings in FIELD_HEADERS.items() for heading in headings
}

NOT_UTF8 = "the file is not UTF-8 text: save it as 'CSV UTF-8' and import it again"


def read_rows(stream: TextIO) -> Iterator[Row | RowProblem | Skipped]:
    """Read a CRM export; yield a Row, RowProblem or Skipped for each non-blank data line."""
    try:
        first = stream.readline().removeprefix("\ufeff")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError:  # text streams decode in chunks, so this can come at line 1
        yield RowProblem(1, NOT_UTF8)
        return
    if not first.strip():
        yield RowProblem(1, "the file is empty: the first line must hold the column names")
        return
    reader = csv.reader(itertools.chain([first], stream), delimiter=_delimiter(first))
    try:
        columns = _columns(next(reader))
    except csv.Error as exc:
        yield RowProblem(1, f"the column names cannot be read: {exc}")
        return
    if "company" not in columns:
        known = ", ".join(FIELD_HEADERS["company"][:3])
        yield RowProblem(1, f"no company column: name one of the columns {known}")
        return
    end = reader.line_num
    while True:
        start = end + 1  # a record may span lines (quoted newlines): report where it starts
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowProblem(start, f"the file cannot be read from here on: {exc}")
            return
        except UnicodeDecodeError:
            yield RowProblem(start, NOT_UTF8)
            return
        end = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are skipped silently
        values = {name: _cell(cells, index) for name, index in columns.items()}
        yield read_row(start, values)


def count_rows(stream: TextIO, limit: int) -> int:
    """The file's non-blank data records, counted up to limit + 1; the stream is rewound.

    A first pass over the file, so a file over the limit is refused before anything is stored;
    where the file cannot be read, the count stops and the import pass reports the line.
    """
    count = 0
    try:
        first = stream.readline().removeprefix("\ufeff")
        for cells in csv.reader(stream, delimiter=_delimiter(first)):
            if any(cell.strip() for cell in cells):
                count += 1
                if count > limit:
                    break
    except (csv.Error, UnicodeDecodeError):
        pass
    stream.seek(0)
    return count


def _delimiter(header_line: str) -> str:
    """The delimiter of the header line: comma, semicolon or tab (comma when unsure)."""
    try:
        return csv.Sniffer().sniff(header_line, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _columns(headings: list[str]) -> dict[str, int]:
    """Field name -> column index; unknown headings are ignored, the first of duplicates wins."""
    columns: dict[str, int] = {}
    for index, heading in enumerate(headings):
        name = HEADER_ALIASES.get(normalize(heading))
        if name and name not in columns:
            columns[name] = index
    return columns


def _cell(cells: list[str], index: int) -> str | None:
    """The cell at index as written (the text rule strips it), None when missing or blank."""
    if index >= len(cells) or not cells[index].strip():
        return None
    return cells[index]
