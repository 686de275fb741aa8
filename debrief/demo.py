"""Demo data for `make run`: accounts, lost deals, answers and lessons.

Every feature adds its part here through its own service functions, so the demo
exercises the same code paths a user does.
"""

from __future__ import annotations

from typing import Any

from debrief.auth import users
from debrief.store import Store

PASSWORD = "debrief-demo"  # noqa: S105 - printed on purpose by `make run`
ACCOUNTS = [
    ("manager@demo.test", "manager"),
    ("ana@demo.test", "rep"),
    ("ben@demo.test", "rep"),
]
NAMES = {"manager@demo.test": "Mia Manager", "ana@demo.test": "Ana Rep", "ben@demo.test": "Ben Rep"}


def create(store: Store, config: dict[str, Any]) -> None:
    """Create the demo accounts, then each feature's demo records."""
    for email, role in ACCOUNTS:
        if users.find_user(store, email) is None:
            users.add_user(store, email, role, PASSWORD, NAMES[email])
