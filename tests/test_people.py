"""People: managers add accounts, reset passwords, deactivate and reactivate (never themselves)."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, AuthActions, csrf_token

from debrief.auth import users
from debrief.store import get_store

NEW_PASSWORD = "a-brand-new-password"


def account(app, email: str) -> dict | None:
    with app.app_context():
        return users.find_user(get_store(), email)


@pytest.fixture
def manager(client, auth):
    auth.login("boss@example.test")
    return client


def post(client, url: str, data: dict):
    return client.post(url, data={**data, "csrf_token": csrf_token(client, "/people")})


def test_the_list_shows_every_account(manager):
    html = manager.get("/people").get_data(as_text=True)
    for email in ("rep@example.test", "other@example.test", "boss@example.test"):
        assert email in html
    assert "(you)" in html


def test_add_a_rep_who_can_then_sign_in(app, manager):
    response = post(manager, "/people/new", {"email": " New.Rep@Example.test ", "name": "Nova",
                                             "role": "rep", "password": NEW_PASSWORD})  # fmt: skip
    assert response.status_code == 302
    assert "Added rep new.rep@example.test (Nova)." in manager.get("/people").get_data(as_text=True)
    user = account(app, "new.rep@example.test")
    assert user["role"] == "rep" and user["active"] and NEW_PASSWORD not in str(user)
    other = app.test_client()
    signed_in = AuthActions(other).login("new.rep@example.test", NEW_PASSWORD)
    assert signed_in.status_code == 302 and "/login" not in signed_in.location


@pytest.mark.parametrize(
    "data, message",
    [
        ({"email": "rep@example.test", "role": "rep", "password": NEW_PASSWORD}, "exists already"),
        ({"email": "not-an-email", "role": "rep", "password": NEW_PASSWORD}, "not an email"),
        ({"email": "short@example.test", "role": "rep", "password": "short"}, "at least 10"),
        ({"email": "x@example.test", "role": "admin", "password": NEW_PASSWORD}, "Not a valid"),
        ({"email": "", "role": "rep", "password": NEW_PASSWORD}, "This field is required"),
    ],
)
def test_add_refuses_what_debrief_user_add_refuses(app, manager, data, message):
    response = post(manager, "/people/new", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'class="error"' in html
    assert f'value="{data["email"]}"' in html or not data["email"]  # what was typed is kept
    assert len(users.list_users(get_store_of(app))) == 3


def get_store_of(app):
    with app.app_context():
        return get_store()


def test_reset_password_ends_old_sessions_and_the_new_one_works(app, manager):
    rep_client = app.test_client()
    AuthActions(rep_client).login("rep@example.test")
    assert rep_client.get("/themes").status_code == 200
    rep_id = account(app, "rep@example.test")["id"]
    post(manager, f"/people/{rep_id}/password", {"password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD})  # fmt: skip
    assert "New password set for rep@example.test" in manager.get("/people").get_data(as_text=True)
    assert rep_client.get("/themes").status_code == 302  # the old session has ended
    assert AuthActions(app.test_client()).login("rep@example.test", PASSWORD).status_code == 200
    assert AuthActions(app.test_client()).login("rep@example.test", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "password, confirm, message",
    [("short", "short", "at least 10"), (NEW_PASSWORD, "different-password", "differ")],
)
def test_bad_password_resets_are_refused(app, manager, password, confirm, message):
    rep_id = account(app, "rep@example.test")["id"]
    before = account(app, "rep@example.test")["password_hash"]
    post(manager, f"/people/{rep_id}/password", {"password": password, "confirm": confirm})
    assert message in manager.get("/people").get_data(as_text=True)
    assert account(app, "rep@example.test")["password_hash"] == before


def test_deactivate_blocks_sign_in_and_keeps_their_records(app, manager):
    with app.app_context():
        rep_id = users.find_user(get_store(), "rep@example.test")["id"]
        deal_id = get_store().table("deals").insert({"company": "Kept Co", "rep_id": rep_id})
    rep_client = app.test_client()
    AuthActions(rep_client).login("rep@example.test")
    post(manager, f"/people/{rep_id}/active", {"active": "0"})
    assert "can no longer sign in" in manager.get("/people").get_data(as_text=True)
    assert rep_client.get("/themes").status_code == 302  # signed out at the next request
    refused = AuthActions(app.test_client()).login("rep@example.test")
    assert refused.status_code == 200 and "do not match an active account" in refused.get_data(
        as_text=True
    )
    with app.app_context():
        assert get_store().table("deals").get(deal_id)["company"] == "Kept Co"
    post(manager, f"/people/{rep_id}/active", {"active": "1"})
    assert AuthActions(app.test_client()).login("rep@example.test").status_code == 302


def test_a_manager_cannot_deactivate_themselves(app, manager):
    boss_id = account(app, "boss@example.test")["id"]
    post(manager, f"/people/{boss_id}/active", {"active": "0"})
    assert account(app, "boss@example.test")["active"] is True
    html = manager.get("/people").get_data(as_text=True)
    assert "cannot deactivate your own account" in html


@pytest.mark.parametrize(
    "url, data",
    [("/people/999/active", {"active": "0"}),
     ("/people/999/password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})],
)  # fmt: skip
def test_unknown_accounts_are_reported(manager, url, data):
    assert post(manager, url, data).status_code == 302
    assert "There is no such account" in manager.get("/people").get_data(as_text=True)


def test_a_bad_active_value_is_a_plain_400(app, manager):
    rep_id = account(app, "rep@example.test")["id"]
    assert post(manager, f"/people/{rep_id}/active", {"active": "maybe"}).status_code == 400
    assert account(app, "rep@example.test")["active"] is True
