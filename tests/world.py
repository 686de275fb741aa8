"""A small populated site for the proof tests (access, hostile input, secrets, load, faults).

Two reps, each with a deal, an open invitation (raw token kept here only) and a lesson, plus a
theme; everything made through the services, the way the site makes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from debrief.auth import users
from debrief.deals import invitations
from debrief.kb import lessons
from debrief.store import get_store
from debrief.themes import service as themes

PAGE_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@dataclass
class World:
    """Ids, slugs and raw tokens of the populated site."""

    rep_a: dict
    rep_b: dict
    manager: dict
    deal_a: int
    deal_b: int
    token_a: str
    token_b: str
    invitation_a: int
    lesson_a: str
    lesson_b: str
    theme: str


def deal_record(rep: dict, company: str, **overrides) -> dict:
    """A lost deal's fields, as the deals service stores them."""
    record = {
        "company": company,
        "contact_name": f"Contact of {company}",
        "contact_email": f"buyer@{company.lower().replace(' ', '-')}.test",
        "rep_id": rep["id"],
        "owner_text": None,
        "value": 9000.0,
        "lost_on": "2024-05-02",
        "competitor": "Rivalsoft",
        "rep_reason": "price",
        "rep_reasons": ["timing"],
        "notes": "",
        "claims": ["Live in two weeks"],
        "crm_id": None,
        "created": invitations.stamp(),
        "created_by": rep["id"],
        "source": "form",
    }
    return {**record, **overrides}


def open_link(store, deal_id: int, status: str = "sent") -> tuple[int, str]:
    """A sent invitation for the deal and a working raw token for it."""
    deal = store.table("deals").get(deal_id)
    inv = invitations.create_invitation(store, deal, 30)
    if status != "pending":
        invitations.record_event(store, inv["id"], status, status=status)
    return inv["id"], invitations.issue_token(store, inv["id"])


def build(app: Flask) -> World:
    """Populate the conftest app (its three accounts) with two reps' deals, links and lessons."""
    with app.app_context():
        store = get_store()
        rep_a = users.find_user(store, "rep@example.test")
        rep_b = users.find_user(store, "other@example.test")
        boss = users.find_user(store, "boss@example.test")
        deal_a = store.table("deals").insert(deal_record(rep_a, "Alphacorp"))
        deal_b = store.table("deals").insert(deal_record(rep_b, "Betaworks"))
        inv_a, token_a = open_link(store, deal_a)
        _, token_b = open_link(store, deal_b)
        lesson_a = lessons.create(rep_a, "Alpha lesson", "Promise less.", str(deal_a)).slug
        lesson_b = lessons.create(rep_b, "Beta lesson", "Listen more.", str(deal_b)).slug
        theme = themes.create_theme(store, "Pricing", "Lost on price")["slug"]
    return World(
        rep_a, rep_b, boss, deal_a, deal_b, token_a, token_b, inv_a, lesson_a, lesson_b, theme
    )


def page_token(client, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's form."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = PAGE_TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def files_under(*folders: Path) -> list[Path]:
    """Every regular file under the folders."""
    return [p for folder in folders for p in Path(folder).rglob("*") if p.is_file()]
