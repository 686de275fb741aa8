"""Accounts, sign-in, sign-out, role checks, rate limits and the safe redirect."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

import pytest

from debrief import create_app
from debrief.auth import users
from debrief.config import ConfigError
from debrief.store import get_store
from tests.conftest import (
    PASSWORD,
    AuthActions,
    app_settings,
    at_once,
    csrf_token,
    refuse_sqlite_writes,
)


def test_passwords_are_hashed(app):
    with app.app_context():
        user = users.find_user(get_store(), "rep@example.test")
    assert PASSWORD not in str(user)
    assert user["password_hash"].startswith(("scrypt:", "pbkdf2:"))


def test_login_and_logout(client, auth):
    assert client.get("/").headers["Location"].endswith("/login")
    response = auth.login()
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "Rita Rep" in page
    auth.logout()
    assert client.get("/").headers["Location"].endswith("/login")


def test_the_session_cookie_is_renewed_every_few_minutes_not_on_every_page(client, auth, app):
    auth.login()
    client.get("/kb")  # the first page after sign-in puts a CSRF token in the session
    assert "Set-Cookie" not in client.get("/kb").headers  # nothing changed: nothing re-sent
    with client.session_transaction() as session:
        session["seen"] -= app.config["SESSION_REFRESH_AFTER"]  # minutes later
    cookie = client.get("/kb").headers["Set-Cookie"]
    assert "debrief_session=" in cookie and "Expires=" in cookie  # 12 idle hours from now
    assert "Set-Cookie" not in client.get("/kb").headers


def test_a_session_s_signed_csrf_token_is_reused_and_still_works(client, auth, monkeypatch):
    import itsdangerous

    auth.login()
    token = csrf_token(client, "/kb")

    def no_signing(*args, **kwargs):
        raise AssertionError("signed again")

    # Signed once per session, not on every page (itsdangerous with zlib, ~0.3 ms a page).
    monkeypatch.setattr(itsdangerous.URLSafeTimedSerializer, "dumps", no_signing)
    assert csrf_token(client, "/kb") == token
    monkeypatch.undo()
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/kb").status_code == 302  # signed out
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400


def test_logout_needs_csrf(client, auth):
    auth.login()
    assert client.post("/logout").status_code == 400


@pytest.mark.parametrize(
    ("email", "password"),
    [("rep@example.test", "wrong-password"), ("nobody@example.test", PASSWORD), ("", "")],
)
def test_bad_login_shows_the_error_beside_the_form(client, email, password, auth):
    response = auth.login(email, password)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="error"' in html
    assert "session" not in response.headers.get("Set-Cookie", "") or "user_id" not in html


def test_login_without_csrf_is_refused(client):
    response = client.post("/login", data={"email": "rep@example.test", "password": PASSWORD})
    assert response.status_code == 400
    assert "Bad request" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/kb?q=price", "/kb?q=price"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("http:/evil.example", "/"),
        ("", "/"),
    ],
)
def test_next_never_leaves_the_site(client, next_url, expected):
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "email": "rep@example.test",
            "password": PASSWORD,
            "csrf_token": token,
            "next": next_url,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_is_rate_limited_per_account(client, auth, app):
    for _ in range(app.config["LOGIN_ATTEMPTS"]):
        assert auth.login("rep@example.test", "wrong-password").status_code == 200
    blocked = auth.login("rep@example.test", PASSWORD)  # even the right password waits
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.get_data(as_text=True)
    # Another account from another address is not affected.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    token = csrf_token(other)
    ok = other.post(
        "/login", data={"email": "boss@example.test", "password": PASSWORD, "csrf_token": token}
    )
    assert ok.status_code == 302


def test_login_is_rate_limited_per_address(client, auth, app):
    for n in range(app.config["LOGIN_ATTEMPTS"]):
        auth.login(f"guess{n}@example.test", "wrong-password")
    assert auth.login("boss@example.test", PASSWORD).status_code == 429


def test_deactivated_user_cannot_sign_in_and_is_signed_out(client, auth, app):
    auth.login()
    with app.app_context():
        store = get_store()
        users.set_active(store, users.find_user(store, "rep@example.test")["id"], False)
    assert client.get("/").status_code == 302  # the open session ended
    assert auth.login().status_code == 200  # and signing in again fails


def test_password_reset_ends_other_sessions(client, auth, app):
    auth.login()
    with app.app_context():
        store = get_store()
        users.set_password(
            store, users.find_user(store, "rep@example.test")["id"], "a-new-password-1"
        )
    assert client.get("/").headers["Location"].endswith("/login")


def sign_in(app, address: str, email: str, password: str, forwarded: str | None = None):
    """One sign-in from its own browser at address (through a TLS proxy when forwarded is given:
    no Referer, as after a page with Referrer-Policy: no-referrer)."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    headers = {"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"} if forwarded else {}
    data = {"email": email, "password": password, "csrf_token": csrf_token(browser)}
    return browser.post("/login", data=data, headers=headers)


def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit(app):
    # No proxy is configured (the default): X-Forwarded-For is the client's own, ignored.
    for n in range(app.config["LOGIN_ATTEMPTS"]):
        wrong = sign_in(
            app, "203.0.113.7", f"guess{n}@example.test", "wrong-password", f"10.9.{n}.1"
        )
        assert wrong.status_code == 200
    assert sign_in(app, "203.0.113.7", "boss@example.test", PASSWORD, "10.9.9.9").status_code == 429


@pytest.mark.parametrize("app", [{"TRUSTED_PROXIES": 1}], indirect=True)
def test_behind_a_proxy_each_client_is_limited_on_its_own(app):
    proxy, locked_out, other = "10.0.0.1", "203.0.113.7", "198.51.100.8"
    for n in range(app.config["LOGIN_ATTEMPTS"]):
        wrong = sign_in(app, proxy, f"guess{n}@example.test", "wrong-password", locked_out)
        assert wrong.status_code == 200
    assert sign_in(app, proxy, "boss@example.test", PASSWORD, locked_out).status_code == 429
    assert sign_in(app, proxy, "boss@example.test", PASSWORD, other).status_code == 302
    # A client that sends its own X-Forwarded-For: the proxy appends the address it saw.
    spoofed = f"{other}, {locked_out}"
    assert sign_in(app, proxy, "boss@example.test", PASSWORD, spoofed).status_code == 429


@pytest.mark.parametrize("value", ["-1", "two", "1.5", "+1", "²"])
def test_trusted_proxies_must_be_a_whole_number(tmp_path, monkeypatch, value):
    monkeypatch.setenv("DEBRIEF_TRUSTED_PROXIES", " ")
    assert create_app(app_settings(tmp_path)).config["TRUSTED_PROXIES"] == 0  # blank: unset
    monkeypatch.setenv("DEBRIEF_TRUSTED_PROXIES", value)
    with pytest.raises(ConfigError, match="DEBRIEF_TRUSTED_PROXIES must be a whole number"):
        create_app(app_settings(tmp_path))


def test_forty_concurrent_wrong_passwords_get_exactly_five_checks(app):
    def guess(browser, token):
        data = {"email": "rep@example.test", "password": "wrong-password", "csrf_token": token}
        response = browser.post("/login", data=data)
        return response.status_code, "do not match" in response.get_data(as_text=True)

    browsers = [app.test_client() for _ in range(40)]
    answers = at_once([functools.partial(guess, b, csrf_token(b)) for b in browsers])
    # Each 200 "do not match" is one password checked; every other guess waits (429) unchecked.
    assert sorted(answers) == [(200, True)] * 5 + [(429, False)] * 35


def age_sessions(app, seconds: float) -> None:
    """Move every live session's last use back in time, as if nobody had used it since."""
    with sqlite3.connect(Path(app.config["DATA_DIR"]) / "sessions.sqlite") as db:
        db.execute("UPDATE sessions SET seen = seen - ?", (seconds,))
    db.close()


def end_session(app, auth, how: str) -> None:
    """Sign out, reset the password or deactivate the fixture rep."""
    if how == "sign-out":
        assert auth.logout().status_code == 302
        return
    with app.app_context():
        store = get_store()
        user_id = users.find_user(store, "rep@example.test")["id"]
        if how == "password reset":
            users.set_password(store, user_id, "a-new-password-1")
        else:
            users.set_active(store, user_id, False)


@pytest.mark.parametrize("how", ["sign-out", "password reset", "deactivation"])
def test_a_saved_cookie_replayed_after_the_session_ended_gets_the_sign_in_page(
    app, client, auth, how
):
    auth.login()
    assert client.get("/deals").status_code == 200
    saved = client.get_cookie("debrief_session").value
    thief = app.test_client()
    thief.set_cookie("debrief_session", saved)
    assert thief.get("/deals").status_code == 200  # a copy of a live session's cookie works
    end_session(app, auth, how)
    response = thief.get("/deals")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_signing_out_ends_only_that_session(app, client, auth):
    auth.login()
    laptop = app.test_client()
    AuthActions(laptop).login()
    auth.logout()
    assert client.get("/deals").status_code == 302
    assert laptop.get("/deals").status_code == 200


def test_a_session_idle_for_twelve_hours_ends_on_the_server(app, client, auth):
    auth.login()
    age_sessions(app, 11 * 3600)
    with client.session_transaction() as session:
        session["seen"] -= app.config["SESSION_REFRESH_AFTER"]  # the cookie is due for renewal
    assert client.get("/deals").status_code == 200  # in use: its idle time starts again
    age_sessions(app, 2 * 3600)  # 13 hours after sign-in, 2 since it was last used
    assert client.get("/deals").status_code == 200
    age_sessions(app, 12 * 3600)
    assert client.get("/deals").headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("broken", "how", "password"),
    [
        ("ratelimit.sqlite", "full", "wrong-password"),
        ("ratelimit.sqlite", "full", PASSWORD),
        ("ratelimit.sqlite", "read-only", PASSWORD),
        ("sessions.sqlite", "full", PASSWORD),
    ],
)
def test_sign_in_is_refused_with_503_when_it_cannot_be_recorded(
    app, client, auth, monkeypatch, broken, how, password
):
    refuse_sqlite_writes(monkeypatch, Path(app.config["DATA_DIR"]) / broken, how)
    response = auth.login("rep@example.test", password)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Signing in is not possible right now" in html and 'class="error"' in html
    assert "do not match" not in html  # no password checked without counting the attempt
    assert client.get("/deals").status_code == 302  # and nobody signed in
    monkeypatch.undo()  # the disk has room again
    assert auth.login("rep@example.test", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["user", "add", "new@example.test", "--role", "boss", "--password", "long-enough-1"],
            "boss",
        ),
        (["user", "add", "new@example.test", "--role", "rep", "--password", "short"], "at least"),
        (
            ["user", "add", "rep@example.test", "--role", "rep", "--password", "long-enough-1"],
            "exists",
        ),
        (
            ["user", "add", "not-an-email", "--role", "rep", "--password", "long-enough-1"],
            "not an email",
        ),
    ],
)
def test_user_add_refuses_bad_input(runner, args, message):
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert message in result.output


def test_user_add_creates_a_manager_that_can_sign_in(runner, client, auth):
    result = runner.invoke(
        args=[
            "user",
            "add",
            "New@Example.test",
            "--role",
            "manager",
            "--name",
            "Nia",
            "--password",
            "long-enough-1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Added manager new@example.test (Nia)" in result.output
    assert auth.login("new@example.test", "long-enough-1").status_code == 302


def test_user_add_prompts_for_the_password(runner, auth):
    result = runner.invoke(
        args=["user", "add", "p@example.test", "--role", "rep"],
        input="prompted-pass-1\nprompted-pass-1\n",
    )
    assert result.exit_code == 0, result.output
    assert auth.login("p@example.test", "prompted-pass-1").status_code == 302


def test_a_sign_out_the_server_cannot_record_still_clears_the_browser(app, client, auth):
    """A full or read-only disk: 503 says so, and this browser is signed out all the same."""
    auth.login()
    del app.extensions["debrief.sessions"]  # a new connection, as in a fresh worker thread
    with pytest.MonkeyPatch.context() as patch:
        refuse_sqlite_writes(patch, Path(app.config["DATA_DIR"]) / "sessions.sqlite", "read-only")
        response = auth.logout()
    assert response.status_code == 503 and "Cannot save right now" in response.get_data(
        as_text=True
    )
    assert client.get("/deals").status_code == 302  # the browser's cookie is gone
