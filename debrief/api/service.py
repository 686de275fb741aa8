"""POST /api/deals without HTTP: JSON in, the same validation as the web form, a deal out."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from werkzeug.datastructures import MultiDict

from debrief import i18n
from debrief.auth import users
from debrief.deals import invitations, sending, service
from debrief.deals.forms import ApiDealForm
from debrief.store import Store

TEXT_FIELDS = (
    "company",
    "contact_name",
    "contact_email",
    "rep_email",
    "lost_on",
    "competitor",
    "rep_reason",
    "notes",
    "crm_id",
    "language",
)
LIST_FIELDS = ("rep_reasons", "claims")
KNOWN = {*TEXT_FIELDS, *LIST_FIELDS, "value", "send_invite"}


class ApiError(Exception):
    """A request the API refuses: an HTTP status and a message per field."""

    def __init__(self, status: int, errors: dict[str, str]) -> None:
        super().__init__(status, errors)
        self.status = status
        self.errors = errors


def key_is_valid(header: str | None, keys: list[str]) -> bool:
    """Whether an Authorization header holds one of the keys (compared in constant time)."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return False
    given_bytes = given.strip().encode()
    # Compare with every key, not stopping at a match, so timing says nothing about which.
    matches = [hmac.compare_digest(given_bytes, key.encode()) for key in keys]
    return any(matches)


def formdata(payload: dict[str, Any]) -> MultiDict:
    """The JSON body as form data, so WTForms reads it exactly as a browser's form; 422 on types."""
    errors: dict[str, str] = {}
    data = MultiDict()
    for name, value in payload.items():
        if name not in KNOWN:
            errors[name] = "unknown field"
            continue
        if value is None:
            continue
        converted = _converter(name)(name, value)
        if isinstance(converted, str):
            errors[name] = converted
        else:
            for item in converted:
                data.add(name, item)
    if errors:
        raise ApiError(422, errors)
    return data


# Each converter gives a JSON value as the form values a browser would send, or an error.
Converted = list[str] | str


def _converter(name: str) -> Callable[[str, Any], Converted]:
    """How a known field's JSON value becomes form values."""
    if name in TEXT_FIELDS:
        return _text
    return {"value": _number, "send_invite": _flag}.get(name, _strings)


def _text(name: str, value: Any) -> Converted:
    if name == "crm_id" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # many CRMs number their deals
    return [value] if isinstance(value, str) else "must be a string"


def _number(_name: str, value: Any) -> Converted:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [repr(value)]
    return [value] if isinstance(value, str) else "must be a number"


def _flag(_name: str, value: Any) -> Converted:
    if not isinstance(value, bool):
        return "must be true or false"
    return ["y"] if value else []


def _strings(name: str, value: Any) -> Converted:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "must be a list of strings"
    if name == "claims":
        if any("\n" in v or "\r" in v for v in value):
            return "each claim must be one line"
        return ["\n".join(value)]
    return list(value)


def create_deal(store: Store, config: dict[str, Any], payload: Any) -> tuple[int, dict[str, Any]]:
    """Create the deal (or find it by CRM id) and maybe send its invitation: (status, body)."""
    if not isinstance(payload, dict):
        raise ApiError(400, {"body": "must be a JSON object"})
    form = ApiDealForm(formdata(payload))
    form.validate()
    errors = {name: " ".join(messages) for name, messages in form.errors.items() if messages}
    rep = None
    if "rep_email" not in errors:
        rep = users.find_user(store, form.rep_email.data or "")
        if rep is None or not rep.get("active"):
            errors["rep_email"] = "no active account has this email"
    if form.send_invite.data and not form.contact_email.data:
        errors.setdefault("send_invite", "needs a contact_email to send the invitation to")
    if errors:
        raise ApiError(422, errors)
    deal, created = service.create_deal(store, form.deal_data(), rep, "api")
    invite = None
    if created and form.send_invite.data:
        try:
            invitation = sending.send_invitation(store, config, deal)
            invite = {"status": invitation["status"]}
            if invitation.get("error"):
                invite["error"] = invitation["error"]
        except sending.InviteError as exc:
            current = invitations.for_deal(store, deal["id"])
            invite = {"status": current["status"] if current else "pending", "error": str(exc)}
    elif (existing := invitations.for_deal(store, deal["id"])) is not None:
        invite = {"status": existing["status"]}
    body = {"id": deal["id"], "url": f"{config['BASE_URL']}/deals/{deal['id']}", "invite": invite}
    language = i18n.deal_language(deal, config)
    body["language"] = language
    if note := i18n.fallback_note(language):  # said plainly: this buyer will not read `language`
        body["language_note"] = note
    return (201 if created else 200), body
