"""CSV imports as batches: import a CRM export, list the recent batches, undo one (no Flask).

Each import that stores a deal is an `imports` record (who, when, the file's name, the deal ids)
and each of its deals carries `import_id`. A file of more than max_rows rows is refused whole
before anything is stored: the rows are counted in a first pass over the file (stopping at
max_rows + 1), then the file is rewound and read again, a batch of IMPORT_BATCH rows at a time,
so no more than one batch of rows is ever held in memory.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from debrief.auth import users
from debrief.deals import csvimport, csvrow, invitations
from debrief.deals.service import Deal, DealError, clean
from debrief.store import Store

IMPORT_BATCH = 1000  # rows per store write: one shard rewrite per batch, not per row
DEFAULT_MAX_ROWS = 50_000  # DEBRIEF_IMPORT_MAX_ROWS
RECENT = 5  # batches offered for undo on the deals page
UNDONE_ALREADY = "This import was undone already."


class TooManyRows(ValueError):
    """A file over the row limit: refused whole, nothing stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"This file has more than {limit:,} rows, the most one import takes "
            f"(DEBRIEF_IMPORT_MAX_ROWS). Nothing was imported: split the file into parts of at "
            f"most {limit:,} rows and import each part."
        )


@dataclass
class ImportSummary:
    """What an import did, row by row where something needs the importer's attention."""

    imported: int = 0
    no_contact: int = 0
    already: list[tuple[int, str]] = field(default_factory=list)  # (line, CRM id) known before
    skipped: list[csvrow.Skipped] = field(default_factory=list)
    problems: list[csvrow.RowProblem] = field(default_factory=list)
    unmatched: dict[str, int] = field(default_factory=dict)  # owner text -> deals given to you
    owners_read: bool = True  # False: a rep's import, every deal is the rep's
    import_id: int | None = None
    deal_ids: list[int] = field(default_factory=list)

    @property
    def unmatched_count(self) -> int:
        """Imported deals whose owner matched no account."""
        return sum(self.unmatched.values())


def _owner_finder(store: Store) -> Callable[[str | None], dict[str, Any] | None]:
    """owner text -> active account, by email then by name (cached: exports repeat owners)."""
    cache: dict[str, dict[str, Any] | None] = {}

    def find(text: str | None) -> dict[str, Any] | None:
        if not text:
            return None
        if text not in cache:
            user = users.find_user(store, text) if "@" in text else None
            user = user or users.find_user_by_name(store, text)
            cache[text] = user if user and user.get("active") else None
        return cache[text]

    return find


def import_csv(
    store: Store,
    stream: TextIO,
    importer: dict[str, Any],
    on_row: Callable[[int], None] | None = None,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    read_owners: bool = True,
    file_name: str = "",
) -> ImportSummary:
    """Import the lost deals of a CRM export as one batch; report every other row.

    Safe to run again (CRM ids are not imported twice). TooManyRows, with nothing stored, for
    a file of more than max_rows rows. read_owners=False gives every deal to the importer.
    """
    if csvimport.count_rows(stream, max_rows) > max_rows:
        raise TooManyRows(max_rows)
    summary = ImportSummary(owners_read=read_owners)
    find_owner = _owner_finder(store) if read_owners else lambda _text: None
    first_line: dict[str, int] = {}  # CRM id (lower case) -> line it first appeared on
    batch: list[tuple[csvrow.Row, Deal]] = []
    for item in csvimport.read_rows(stream):
        if on_row is not None:
            on_row(item.line)
        if isinstance(item, csvrow.Skipped):
            summary.skipped.append(item)
            continue
        if isinstance(item, csvrow.RowProblem):
            summary.problems.append(item)
            continue
        if item.crm_id:
            key = item.crm_id.lower()
            if key in first_line:
                summary.problems.append(
                    csvrow.RowProblem(
                        item.line,
                        f"CRM id '{item.crm_id}' is on line {first_line[key]} already: "
                        "only the first is imported",
                    )
                )
                continue
            first_line[key] = item.line
        batch.append((item, _row_record(item, importer, find_owner, read_owners)))
        if len(batch) >= IMPORT_BATCH:
            _store_batch(store, batch, summary, importer, file_name)
            batch = []
    _store_batch(store, batch, summary, importer, file_name)
    if summary.import_id is not None:
        store.table("imports").update(summary.import_id, {"deal_ids": summary.deal_ids})
    return summary


def _row_record(
    row: csvrow.Row,
    importer: dict[str, Any],
    find_owner: Callable[[str | None], dict[str, Any] | None],
    read_owners: bool,
) -> Deal:
    """The deal record for one CSV row; an unmatched owner stays as text, the deal is yours."""
    owner = find_owner(row.owner)
    unmatched = read_owners and row.owner and owner is None
    return {
        **clean(row.__dict__),
        "rep_id": owner["id"] if owner else importer["id"],
        "owner_text": row.owner if unmatched else None,
        "created": invitations.stamp(),
        "created_by": importer["id"],
        "source": "csv",
    }


def _store_batch(
    store: Store,
    batch: Iterable[tuple[csvrow.Row, Deal]],
    summary: ImportSummary,
    importer: dict[str, Any],
    file_name: str,
) -> None:
    """Insert a batch in one write; count what was new and what the store knew already."""
    batch = list(batch)
    if not batch:
        return
    if summary.import_id is None:  # the batch record exists before its first deal does
        summary.import_id = store.table("imports").insert(
            {
                "importer_id": importer["id"],
                "created": invitations.stamp(),
                "file_name": file_name,
                "deal_ids": [],
                "undone": None,
            }
        )
    for _, record in batch:
        record["import_id"] = summary.import_id
    results = store.table("deals").insert_many([record for _, record in batch], unique="crm_id")
    for (row, record), (deal_id, created) in zip(batch, results, strict=True):
        if not created:
            summary.already.append((row.line, row.crm_id or ""))
            continue
        summary.imported += 1
        summary.deal_ids.append(deal_id)
        if not record["contact_email"]:
            summary.no_contact += 1
        if record["owner_text"]:
            summary.unmatched[record["owner_text"]] = (
                summary.unmatched.get(record["owner_text"], 0) + 1
            )


# -- the batches -----------------------------------------------------------------------------


@dataclass
class Batch:
    """One import as the deals page offers it: its record, deals to remove and deals kept."""

    record: dict[str, Any]
    importer: dict[str, Any] | None
    removable: list[Deal]  # not invited yet: undo removes them
    invited: list[Deal]  # an invitation exists: undo keeps them


def get_batch(store: Store, import_id: int) -> Batch | None:
    """The import and where each of its deals stands now, or None if there is no such import."""
    record = store.table("imports").get(import_id)
    return _batch(store, record, _invited(store)) if record is not None else None


def _invited(store: Store) -> set[int]:
    """The ids of deals that have an invitation."""
    return {i["deal_id"] for i in store.table("invitations").all()}


def _batch(store: Store, record: dict[str, Any], invited_ids: set[int]) -> Batch:
    """An import record with its deals sorted into removable and invited."""
    deals = store.table("deals").find("import_id", record["id"])
    return Batch(
        record,
        users.get_user(store, record["importer_id"]),
        [d for d in deals if d["id"] not in invited_ids],
        [d for d in deals if d["id"] in invited_ids],
    )


def recent_batches(store: Store, count: int = RECENT) -> list[Batch]:
    """The newest imports not undone yet that still have deals, newest first."""
    batches = []
    invited_ids = _invited(store)
    for record in reversed(store.table("imports").all()):
        if record.get("undone"):
            continue
        batch = _batch(store, record, invited_ids)
        if batch.removable or batch.invited:
            batches.append(batch)
        if len(batches) == count:
            break
    return batches


def undo_import(store: Store, import_id: int) -> tuple[list[int], list[Deal]]:
    """Remove the import's deals that are not invited yet: (ids removed, deals kept).

    DealError for no such import, or one undone already (a second submit, a reload): the
    record is claimed before any deal goes, under the store's lock, so only one undo runs
    and its record of what it removed stays. A crash after the claim keeps deals, never loses.
    """
    batch = get_batch(store, import_id)
    if batch is None:
        raise DealError("There is no such import.")
    claimed = store.table("imports").update(
        import_id,
        {"undone": invitations.stamp()},
        only_if=lambda record: not record.get("undone"),
    )
    if claimed is None:
        raise DealError(UNDONE_ALREADY)
    # Asked again under the deals table's lock: a deal invited since get_batch stays
    # (invitations.create_invitation orders itself against this lock).
    invited_now = functools.cache(lambda: _invited(store))
    removed = store.table("deals").remove_many(
        [d["id"] for d in batch.removable], only_if=lambda deal: deal["id"] not in invited_now()
    )
    gone = set(removed)
    kept = batch.invited + [d for d in batch.removable if d["id"] not in gone]
    store.table("imports").update(import_id, {"removed": removed, "kept": [d["id"] for d in kept]})
    return removed, kept
