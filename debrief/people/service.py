"""Account management for managers, on top of auth.users (the same rules as `debrief user add`)."""

from __future__ import annotations

from typing import Any

from debrief.auth import users
from debrief.auth.users import UserError
from debrief.store import Store

__all__ = ["UserError", "accounts", "add_account", "reset_password", "set_active"]


def accounts(store: Store) -> list[dict[str, Any]]:
    """Every account, active ones first, then by name."""
    return sorted(users.list_users(store), key=lambda u: (not u.get("active"), u["name"].lower()))


def add_account(
    store: Store, email: str, role: str, password: str, name: str | None = None
) -> dict[str, Any]:
    """Create an account exactly as `debrief user add` does (UserError says what is wrong)."""
    return users.add_user(store, email, role, password, name)


def _require(store: Store, user_id: int) -> dict[str, Any]:
    """The account or UserError."""
    user = users.get_user(store, user_id)
    if user is None:
        raise UserError("There is no such account.")
    return user


def reset_password(store: Store, user_id: int, password: str) -> dict[str, Any]:
    """Give an account a new password; its open sessions end (the session mark changes)."""
    user = _require(store, user_id)
    users.set_password(store, user_id, password)
    return user


def set_active(store: Store, actor: dict[str, Any], user_id: int, active: bool) -> dict[str, Any]:
    """Deactivate or reactivate an account; deals and entries stay. Never your own account."""
    user = _require(store, user_id)
    if not active and user_id == actor["id"]:
        raise UserError("You cannot deactivate your own account: ask another manager.")
    users.set_active(store, user_id, active)
    return user
