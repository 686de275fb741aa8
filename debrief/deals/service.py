"""Lost deals: create, list, find, change and import them (plain functions, no Flask)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

from debrief.auth import users
from debrief.deals import csvimport, invitations
from debrief.store import Store

Deal = dict[str, Any]

# The fields a form, the API or a CSV row may set (rep_id, source and dates are ours to set).
FIELDS = (
    "company",
    "contact_name",
    "contact_email",
    "value",
    "lost_on",
    "competitor",
    "rep_reason",
    "rep_reasons",
    "notes",
    "claims",
    "crm_id",
)

# A deal's status is its invitation's, or says why there is none yet. The list filters on it.
STATUS_LABELS = {
    "pending": "Not sent yet",
    "no-contact": "No contact",
    "sent": "Sent",
    "opened": "Opened",
    "answered": "Answered",
    "expired": "Expired",
    "opted-out": "Opted out",
    "failed": "Failed",
}
PER_PAGE = 25
QUERY_MAX = 200  # characters of a company search
# The list's orders: lost date (the default: the latest losses are the ones to act on) or value.
SORTS = {"lost": "Lost date, newest first", "value": "Value, highest first"}
IMPORT_BATCH = 1000  # rows per store write: one shard rewrite per batch, not per row


class DealError(ValueError):
    """A deal cannot be saved as asked; field names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _text(value: Any) -> str | None:
    """A stripped string, None when empty."""
    if value is None:
        return None
    return str(value).strip() or None


def clean(data: dict[str, Any]) -> Deal:
    """The deal fields of data in their stored form (dates as YYYY-MM-DD, lists deduplicated)."""
    lost_on = data.get("lost_on")
    value = data.get("value")
    reason = _text(data.get("rep_reason"))
    others = [r for r in dict.fromkeys(data.get("rep_reasons") or []) if r and r != reason]
    claims = [c.strip() for c in data.get("claims") or [] if c and c.strip()]
    email = _text(data.get("contact_email"))
    return {
        "company": _text(data.get("company")),
        "contact_name": _text(data.get("contact_name")),
        "contact_email": email,
        "value": float(value) if value is not None else None,
        "lost_on": lost_on.isoformat() if isinstance(lost_on, date) else _text(lost_on),
        "competitor": _text(data.get("competitor")),
        "rep_reason": reason,
        "rep_reasons": others,
        "notes": _text(data.get("notes")) or "",
        "claims": claims,
        "crm_id": _text(data.get("crm_id")),
    }


def create_deal(
    store: Store,
    data: dict[str, Any],
    owner: dict[str, Any],
    source: str,
    *,
    created_by: int | None = None,
) -> tuple[Deal, bool]:
    """Store a lost deal owned by data["rep_id"] or else owner: (deal, created).

    A deal whose CRM id is known already is not stored twice: the existing one comes back
    with created=False, so the API and imports can be repeated safely.
    """
    record = {
        **clean(data),
        "rep_id": data.get("rep_id") or owner["id"],
        "owner_text": _text(data.get("owner_text")),
        "created": invitations.stamp(),
        "created_by": created_by,
        "source": source,
    }
    table = store.table("deals")
    if record["crm_id"]:
        deal_id, created = table.insert_unique(record, "crm_id")
    else:
        deal_id, created = table.insert(record), True
    return table.get(deal_id), created


def update_deal(store: Store, deal_id: int, data: dict[str, Any]) -> Deal:
    """Change a deal's fields (and its rep, when data names one); DealError on a taken CRM id."""
    changes = clean(data)
    if data.get("rep_id"):
        changes["rep_id"] = data["rep_id"]
    if changes["crm_id"]:
        other = store.table("deals").find_one("crm_id", changes["crm_id"])
        if other is not None and other["id"] != deal_id:
            raise DealError(f"Deal {other['id']} has this CRM id already.", "crm_id")
    updated = store.table("deals").update(deal_id, changes)
    if updated is None:
        raise DealError("This deal does not exist any more.")
    return updated


def can_see(user: dict[str, Any], deal: Deal) -> bool:
    """Managers see every deal; a rep only their own."""
    return user["role"] == "manager" or deal.get("rep_id") == user["id"]


def get_deal_for(store: Store, user: dict[str, Any], deal_id: int) -> Deal | None:
    """The deal if it exists and user may see it, else None (the caller answers 404 for both)."""
    deal = store.table("deals").get(deal_id)
    return deal if deal is not None and can_see(user, deal) else None


def deal_status(deal: Deal, invitation: dict[str, Any] | None) -> str:
    """The status shown in the list: the invitation's, or no-contact / pending before one."""
    if invitation is not None:
        return invitation["status"]
    return "pending" if deal.get("contact_email") else "no-contact"


def visible_deals(
    store: Store,
    user: dict[str, Any],
    status: str | None = None,
    q: str | None = None,
    *,
    rep_id: int | None = None,
    sort: str = "lost",
) -> list[dict[str, Any]]:
    """The deals user may see as {deal, invitation, status, rep}, filtered and sorted if asked.

    sort "lost": lost date, newest first (a deal with none last); "value": highest value first
    (a deal with none last). Ties, newest recorded first.
    """
    invites = {i["deal_id"]: i for i in store.table("invitations").all()}
    names = {u["id"]: u["name"] for u in users.list_users(store)}
    needle = (q or "").strip().lower()
    rows = []
    for deal in reversed(store.table("deals").all()):
        if not can_see(user, deal) or (needle and needle not in (deal["company"] or "").lower()):
            continue
        if rep_id is not None and deal.get("rep_id") != rep_id:
            continue
        invitation = invites.get(deal["id"])
        row_status = deal_status(deal, invitation)
        if status and row_status != status:
            continue
        rep = names.get(deal.get("rep_id"))
        rows.append({"deal": deal, "invitation": invitation, "status": row_status, "rep": rep})
    # Python's sort is stable, reverse=True too: equal keys keep the newest recorded first.
    return sorted(rows, key=_SORT_KEYS[sort], reverse=True)


# Sort keys, highest first: a deal without the value sorts after every deal with one.
_SORT_KEYS = {
    "lost": lambda row: (row["deal"].get("lost_on") is not None, row["deal"].get("lost_on") or ""),
    "value": lambda row: (row["deal"].get("value") is not None, row["deal"].get("value") or 0),
}


def page_of(items: list[Any], page: int, per_page: int = PER_PAGE) -> tuple[list[Any], int, int]:
    """One page of items: (items on it, page number clamped to 1..pages, pages)."""
    pages = max(1, math.ceil(len(items) / per_page))
    page = min(max(page, 1), pages)
    return items[(page - 1) * per_page : page * per_page], page, pages


def deal_page(store: Store, deal: Deal) -> dict[str, Any]:
    """What the deal page shows besides the deal: its rep, invitation and status."""
    invitation = invitations.for_deal(store, deal["id"])
    return {
        "rep": users.get_user(store, deal["rep_id"]),
        "invitation": invitation,
        "status": deal_status(deal, invitation),
    }


def rep_names(store: Store) -> list[tuple[int, str]]:
    """(id, name) of every account, active or not (a former rep's deals stay), by name."""
    return sorted(((u["id"], u["name"]) for u in users.list_users(store)), key=lambda u: u[1])


def rep_choices(store: Store) -> list[tuple[int, str]]:
    """Active accounts a manager may give a deal to: (id, "Name (email)")."""
    return [
        (u["id"], f"{u['name']} ({u['email']})") for u in users.list_users(store) if u["active"]
    ]


# -- CSV import ------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    """What an import did, row by row where something needs the importer's attention."""

    imported: int = 0
    no_contact: int = 0
    already: list[tuple[int, str]] = field(default_factory=list)  # (line, CRM id) known before
    skipped: list[csvimport.Skipped] = field(default_factory=list)
    problems: list[csvimport.RowProblem] = field(default_factory=list)
    unmatched: dict[str, int] = field(default_factory=dict)  # owner text -> deals given to you

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
) -> ImportSummary:
    """Import the lost deals of a CRM export; report every other row. Safe to run again."""
    summary = ImportSummary()
    find_owner = _owner_finder(store)
    first_line: dict[str, int] = {}  # CRM id (lower case) -> line it first appeared on
    batch: list[tuple[csvimport.Row, Deal]] = []
    for item in csvimport.read_rows(stream):
        if on_row is not None:
            on_row(item.line)
        if isinstance(item, csvimport.Skipped):
            summary.skipped.append(item)
            continue
        if isinstance(item, csvimport.RowProblem):
            summary.problems.append(item)
            continue
        if item.crm_id:
            key = item.crm_id.lower()
            if key in first_line:
                summary.problems.append(
                    csvimport.RowProblem(
                        item.line,
                        f"CRM id '{item.crm_id}' is on line {first_line[key]} already: "
                        "only the first is imported",
                    )
                )
                continue
            first_line[key] = item.line
        batch.append((item, _row_record(item, importer, find_owner)))
        if len(batch) >= IMPORT_BATCH:
            _store_batch(store, batch, summary)
            batch = []
    _store_batch(store, batch, summary)
    return summary


def _row_record(
    row: csvimport.Row,
    importer: dict[str, Any],
    find_owner: Callable[[str | None], dict[str, Any] | None],
) -> Deal:
    """The deal record for one CSV row; an unmatched owner stays as text, the deal is yours."""
    owner = find_owner(row.owner)
    return {
        **clean(row.__dict__),
        "rep_id": owner["id"] if owner else importer["id"],
        "owner_text": row.owner if row.owner and owner is None else None,
        "created": invitations.stamp(),
        "created_by": importer["id"],
        "source": "csv",
    }


def _store_batch(
    store: Store, batch: Iterable[tuple[csvimport.Row, Deal]], summary: ImportSummary
) -> None:
    """Insert a batch in one write; count what was new and what the store knew already."""
    batch = list(batch)
    if not batch:
        return
    results = store.table("deals").insert_many([record for _, record in batch], unique="crm_id")
    for (row, record), (_, created) in zip(batch, results, strict=True):
        if not created:
            summary.already.append((row.line, row.crm_id or ""))
            continue
        summary.imported += 1
        if not record["contact_email"]:
            summary.no_contact += 1
        if record["owner_text"]:
            summary.unmatched[record["owner_text"]] = (
                summary.unmatched.get(record["owner_text"], 0) + 1
            )
