"""A rep's home page (`/`): answers since the last visit, deals waiting, lessons still to write."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from world import deal_record

from debrief.auth import users
from debrief.deals import home, invitations
from debrief.kb import lessons
from debrief.store import get_store, now, stamp


def add_deal(app, owner: str, company: str, status: str | None, answered_ago: int = 0) -> int:
    """A deal of owner's with an invitation in that status (answered answered_ago hours ago)."""
    with app.app_context():
        store = get_store()
        rep = users.find_user(store, owner)
        deal_id = store.table("deals").insert(deal_record(rep, company))
        if status is None:
            return deal_id
        inv = invitations.create_invitation(store, store.table("deals").get(deal_id), 30)
        fields = {}
        if status == "answered":
            fields["answered_at"] = stamp(now() - timedelta(hours=answered_ago))
        invitations.record_event(store, inv["id"], status, status=status, **fields)
        return deal_id


def expire(app, deal_id: int) -> None:
    """The deal's link ran out yesterday (not yet marked expired: the time decides)."""
    with app.app_context():
        store = get_store()
        inv = invitations.for_deal(store, deal_id)
        store.table("invitations").update(inv["id"], {"expires_at": stamp(now() - timedelta(1))})


def section(html: str, heading_id: str) -> str:
    """The HTML of one card of the home page, by its heading's id."""
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', html, re.S)
    assert match, heading_id
    return match.group(0)


def deal_links(html: str) -> list[str]:
    """The deal ids linked in some HTML, in order."""
    return re.findall(r'href="/deals/(\d+)"', html)


def home_page(client) -> str:
    """The signed-in user's home page (must be a page, not a redirect)."""
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def deals(app):
    """Rep's deals in every state that matters, plus another rep's answered deal."""
    ids = {
        "fresh": add_deal(app, "rep@example.test", "Freshco", "answered", answered_ago=1),
        "older": add_deal(app, "rep@example.test", "Oldco", "answered", answered_ago=5),
        "done": add_deal(app, "rep@example.test", "Doneco", "answered", answered_ago=3),
        "sent": add_deal(app, "rep@example.test", "Sentco", "sent"),
        "opened": add_deal(app, "rep@example.test", "Openco", "opened"),
        "expired": add_deal(app, "rep@example.test", "Lateco", "sent"),
        "pending": add_deal(app, "rep@example.test", "Quietco", "pending"),
        "nocontact": add_deal(app, "rep@example.test", "Nocontactco", None),
        "others": add_deal(app, "other@example.test", "Othersco", "answered", answered_ago=1),
    }
    expire(app, ids["expired"])
    with app.app_context():
        rep = users.find_user(get_store(), "rep@example.test")
        lessons.create(rep, "What Doneco taught me", "Ask sooner.", str(ids["done"]))
        boss = users.find_user(get_store(), "boss@example.test")
        # A manager's lesson on a deal is not the rep's own: Oldco still waits for the rep's.
        lessons.create(boss, "Coaching on Oldco", "Ask sooner.", str(ids["older"]))
    return {name: str(deal_id) for name, deal_id in ids.items()}


def test_a_reps_home_lists_answers_waiting_deals_and_lessons_to_write(client, auth, deals):
    auth.login()
    html = home_page(client)
    # First visit: every answer is new, the newest first; another rep's deal is never listed.
    assert deal_links(section(html, "new-h")) == [deals["fresh"], deals["done"], deals["older"]]
    assert deal_links(section(html, "write-h")) == [deals["fresh"], deals["older"]]
    assert f'href="/kb/lessons/new?deal={deals["fresh"]}"' in section(html, "write-h")
    # Invited and not answered, link still working: sent or opened, not expired, not pending.
    assert sorted(deal_links(section(html, "waiting-h"))) == sorted(
        [deals["sent"], deals["opened"]]
    )
    assert "Othersco" not in html and f"/deals/{deals['others']}" not in html


def test_new_answers_are_those_since_the_last_visit(app, client, auth, deals):
    auth.login()
    home_page(client)
    # Back from a deal's page, or a reload, within the same visit: still marked new.
    assert len(deal_links(section(home_page(client), "new-h"))) == 3
    # Two hours later: the visit before ended two hours ago, so only later answers are new.
    with app.app_context():
        store = get_store()
        rep = users.find_user(store, "rep@example.test")
        record = store.table("home_visits").find_one("user_id", rep["id"])
        store.table("home_visits").update(record["id"], {"last": stamp(now() - timedelta(hours=2))})
    html = home_page(client)
    assert deal_links(section(html, "new-h")) == [deals["fresh"]]
    assert "since your last visit" in section(html, "new-h")
    # Nothing is lost: the older answers without the rep's lesson are still listed to write.
    assert deal_links(section(html, "write-h")) == [deals["fresh"], deals["older"]]


def test_a_visit_is_remembered_per_account(app):
    with app.app_context():
        store = get_store()
        rep = users.find_user(store, "rep@example.test")
        other = users.find_user(store, "other@example.test")
        start = now()
        assert home.visit(store, rep, start) is None  # first visit: all is new
        assert home.visit(store, rep, start + timedelta(minutes=20)) is None  # same visit
        later = start + timedelta(minutes=20 + 31)
        assert home.visit(store, rep, later) == stamp(start + timedelta(minutes=20))
        assert home.visit(store, rep, later + timedelta(minutes=5)) == stamp(
            start + timedelta(minutes=20)
        )
        assert home.visit(store, other, later) is None  # another account's own first visit


def test_a_manager_keeps_the_deals_list_at_home(client, auth, deals):
    auth.login("boss@example.test")
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/deals"


def test_the_home_page_reads_on_when_the_visit_cannot_be_saved(
    app, client, auth, deals, monkeypatch
):
    auth.login()
    real_replace = os.replace

    def full_disk(src, dst, *args, **kwargs):
        if "home_visits" in str(dst):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full_disk)
    assert len(deal_links(section(home_page(client), "new-h"))) == 3
    with app.app_context():
        assert get_store().table("home_visits").count() == 0  # the write did fail
