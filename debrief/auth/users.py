"""User accounts: create, look up, check passwords (hashes from werkzeug only)."""

from __future__ import annotations

from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from debrief.store import Store, stamp
from debrief.text import normalize_email

ROLES = ("rep", "manager")
MIN_PASSWORD = 10
# A real hash to compare against when the account does not exist, so a wrong
# email takes as long as a wrong password (no account enumeration by timing).
_DUMMY_HASH = generate_password_hash("not-a-password-at-all")


class UserError(ValueError):
    """A user cannot be created or changed; the message says why."""


def _users(store: Store):
    return store.table("users")


def check_password(password: str) -> None:
    """Refuse passwords too short to be safe."""
    if len(password or "") < MIN_PASSWORD:
        raise UserError(f"Use a password of at least {MIN_PASSWORD} characters.")


def add_user(
    store: Store, email: str, role: str, password: str, name: str | None = None
) -> dict[str, Any]:
    """Create an account; UserError for a bad role, short password or taken email."""
    email = normalize_email(email)
    if "@" not in email or any(c.isspace() for c in email):
        raise UserError(f"'{email}' is not an email address.")
    if role not in ROLES:
        raise UserError(f"Role must be one of: {', '.join(ROLES)}.")
    check_password(password)
    record = {
        "email": email,
        "name": (name or "").strip() or email.split("@")[0].capitalize(),
        "role": role,
        "password_hash": generate_password_hash(password),
        "active": True,
        "created": stamp(),
    }
    user_id, created = _users(store).insert_unique(record, "email")
    if not created:
        raise UserError(f"An account for {email} exists already.")
    return {**record, "id": user_id}


def get_user(store: Store, user_id: int) -> dict[str, Any] | None:
    """The account with that id, or None."""
    return _users(store).get(user_id)


def find_user(store: Store, email: str) -> dict[str, Any] | None:
    """The account with that email, or None."""
    return _users(store).find_one("email", normalize_email(email))


def find_user_by_name(store: Store, name: str) -> dict[str, Any] | None:
    """The account whose display name is name (case-insensitive), or None."""
    return _users(store).find_one("name", (name or "").strip())


def list_users(store: Store) -> list[dict[str, Any]]:
    """Every account, oldest first."""
    return _users(store).all()


def authenticate(store: Store, email: str, password: str) -> dict[str, Any] | None:
    """The active account if the password matches, else None."""
    user = find_user(store, email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user["password_hash"], password or "") or not user.get("active"):
        return None
    return user


def set_password(store: Store, user_id: int, password: str) -> None:
    """Replace an account's password."""
    check_password(password)
    _users(store).update(user_id, {"password_hash": generate_password_hash(password)})


def set_active(store: Store, user_id: int, active: bool) -> None:
    """Deactivate (or reactivate) an account; its deals and entries stay."""
    _users(store).update(user_id, {"active": active})


def wants_digest(user: dict[str, Any]) -> bool:
    """Whether the account gets the weekly digest (on unless its owner turned it off)."""
    return user.get("digest", True) is not False


def set_digest(store: Store, user_id: int, on: bool) -> None:
    """Turn an account's weekly digest on or off (its owner's choice, on /settings)."""
    _users(store).update(user_id, {"digest": bool(on)})


def is_manager(user: dict[str, Any] | None) -> bool:
    """Whether the account is a manager (every deal, the dashboard, the team's settings)."""
    return bool(user) and user.get("role") == "manager"


def may_see_deal(user: dict[str, Any] | None, deal: dict[str, Any] | None) -> bool:
    """Managers see every deal and what belongs to it; a rep only their own."""
    if not user or deal is None:
        return False
    return is_manager(user) or deal.get("rep_id") == user.get("id")
