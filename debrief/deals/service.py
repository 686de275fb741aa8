"""Lost deals: create, list, find, change and import them (plain functions, no Flask)."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from debrief import i18n
from debrief.auth import users
from debrief.deals import invitations
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
    "language",
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
        # The buyer's language (BCP 47); None: DEBRIEF_DEFAULT_LANGUAGE when the mail is sent.
        "language": i18n.normalize(data.get("language")),
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


def crm_id_taken(user: dict[str, Any], other: Deal) -> str:
    """The message for a CRM id another deal holds: naming that deal only to who may open it.

    A CRM id leads to a company; naming the deal to any rep would lead from it to the deal's
    anonymous debrief (SPEC 2.3: no message names a deal the reader may not open).
    """
    if users.may_see_deal(user, other):
        return (
            f"Deal {other['id']} ({other.get('company') or 'no company'}) has this CRM id already."
        )
    return "This CRM id is already recorded."


def update_deal(store: Store, deal_id: int, data: dict[str, Any], user: dict[str, Any]) -> Deal:
    """Change a deal's fields (and its rep, when data names one); DealError on a taken CRM id."""
    changes = clean(data)
    if data.get("rep_id"):
        changes["rep_id"] = data["rep_id"]
    if changes["crm_id"]:
        other = store.table("deals").find_one("crm_id", changes["crm_id"])
        if other is not None and other["id"] != deal_id:
            raise DealError(crm_id_taken(user, other), "crm_id")
    updated = store.table("deals").update(deal_id, changes)
    if updated is None:
        raise DealError("This deal does not exist any more.")
    return updated


def delete_deal(store: Store, deal_id: int) -> Deal:
    """Remove a deal with its invitation and link tokens; DealError if the buyer answered.

    An answered deal is kept: its answer and entry are the buyer's words in the knowledge base,
    and the entry's Deal header would point at nothing. Lessons tied to a deal stay either way.
    """
    deal = store.table("deals").get(deal_id)
    if deal is None:
        raise DealError("This deal does not exist any more.")
    if store.table("answers").find_one("deal_id", deal_id) is not None:
        raise DealError("The buyer has answered: a deal with an answer is kept.")
    # The deal first: an invitation made from now on finds it gone (create_invitation), and one
    # made before is found below.
    if not store.table("deals").remove(deal_id):
        raise DealError("This deal does not exist any more.")
    for invitation in store.table("invitations").find("deal_id", deal_id):
        tokens = store.table("tokens").find("invitation_id", invitation["id"])
        store.table("tokens").remove_many([t["id"] for t in tokens])
        store.table("invitations").remove(invitation["id"])
    return deal


def get_deal(store: Store, deal_id: int) -> Deal | None:
    """The deal with this id, or None; whoever asks (callers check users.may_see_deal)."""
    return store.table("deals").get(deal_id)


def deals_of_rep(store: Store, rep_id: int) -> list[Deal]:
    """The deals a rep owns, in no particular order."""
    return store.table("deals").find("rep_id", rep_id)


def deals_by_id(store: Store) -> dict[int, Deal]:
    """Every deal by its id (the exports)."""
    return {d["id"]: d for d in store.table("deals").all()}


def get_deal_for(store: Store, user: dict[str, Any], deal_id: int) -> Deal | None:
    """The deal if it exists and user may see it, else None (the caller answers 404 for both)."""
    deal = get_deal(store, deal_id)
    return deal if deal is not None and users.may_see_deal(user, deal) else None


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
        if not users.may_see_deal(user, deal) or (
            needle and needle not in (deal["company"] or "").lower()
        ):
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
