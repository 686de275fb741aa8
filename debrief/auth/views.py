"""Sign-in, sign-out, one's own settings, and the decorators every rep or manager route uses."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from contextlib import suppress
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from debrief.auth import users
from debrief.auth.forms import LoginForm, SettingsForm
from debrief.auth.sessions import get_sessions
from debrief.ratelimit import get_limiter
from debrief.sqlitefile import Unavailable
from debrief.store import get_store

bp = Blueprint("auth", __name__)


@bp.before_app_request
def load_user() -> None:
    """Put the signed-in, still active account on g.user (or None)."""
    user_id = session.get("user_id")
    user = users.get_user(get_store(), user_id) if isinstance(user_id, int) else None
    try:
        if user is not None and not _still_signed_in(user):
            session.clear()  # signed out, deactivated, or the password changed since sign-in
            user = None
    except Unavailable:
        user = None  # cannot tell: fail closed, and keep the cookie for when the disk is back
    if user is not None and session.permanent:
        # Re-signing and re-sending the cookie on every response is work on every page;
        # a changed session is re-sent, so the 12-hour idle limit moves every few minutes.
        now = int(time.time())
        if now - session.get("seen", 0) >= current_app.config["SESSION_REFRESH_AFTER"]:
            session["seen"] = now
            with suppress(Unavailable):  # a full disk must not stop reading: try again later
                get_sessions().touch(session["sid"])
    g.user = user


def _still_signed_in(user: dict) -> bool:
    """The session was not ended on the server, the account is active, its password unchanged."""
    if not user.get("active") or session.get("pw") != _pw_mark(user):
        return False
    return get_sessions().is_live(session.get("sid"), user["id"])


def _pw_mark(user: dict) -> str:
    """A short mark of the password hash, so a reset ends older sessions."""
    return user["password_hash"][-12:]


def login_required(view: Callable) -> Callable:
    """Send anonymous visitors to the sign-in page, then back."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)

    return wrapped


def manager_required(view: Callable) -> Callable:
    """Like login_required, and 403 for anyone who is not a manager."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if g.user["role"] != "manager":
            abort(403)
        return view(**kwargs)

    return wrapped


def is_manager() -> bool:
    """Whether the signed-in account is a manager."""
    return bool(g.get("user")) and g.user["role"] == "manager"


def safe_next(target: str | None) -> str:
    """A local path to go to after sign-in; anything else (another host, a scheme) goes home."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return url_for("index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t\\"):
        return url_for("index")
    return target


def _refused(form: LoginForm, message: str, status: int):
    """The sign-in form again, with why beside the password."""
    form.password.errors.append(message)
    return render_template("auth/login.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in on a valid email and password."""
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    try:
        return _sign_in(form)
    except Unavailable:  # the attempt or the session cannot be recorded: no uncounted guess
        message = (
            "Signing in is not possible right now: the site cannot record it (its disk is full "
            "or read-only). Please try again later."
        )
        return _refused(form, message, 503)


def _sign_in(form: LoginForm):
    """Count the attempt, then check the password, then open a session: the response."""
    email = users.normalize_email(form.email.data)
    keys = [f"login:acct:{email}", f"login:addr:{request.remote_addr}"]
    cfg = current_app.config
    limiter = get_limiter()
    at = limiter.attempt(keys, cfg["LOGIN_ATTEMPTS"], cfg["LOGIN_WINDOW"])
    if at is None:
        minutes = cfg["LOGIN_WINDOW"] // 60
        return _refused(
            form, f"Too many failed attempts. Wait {minutes} minutes and try again.", 429
        )
    user = users.authenticate(get_store(), email, form.password.data)
    if user is None:
        return _refused(form, "That email and password do not match an active account.", 200)
    sid = get_sessions().begin(user["id"])
    limiter.withdraw(keys[1:], at)  # a sign-in is no failure of the address (an office's NAT)
    limiter.reset(keys[0])  # and the account's earlier failures are forgiven
    session.clear()
    session.permanent = True
    session["user_id"] = user["id"]
    session["sid"] = sid
    session["pw"] = _pw_mark(user)
    session["seen"] = int(time.time())  # the cookie is fresh: load_user renews it later
    return redirect(safe_next(form.next.data))


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (a POST with a CSRF token, so no page can sign you out by a link)."""
    sid = session.get("sid")
    session.clear()  # the browser forgets it at once, even if the server cannot (503) below
    if isinstance(sid, str):
        get_sessions().end(sid)  # so a copy of the cookie no longer works either
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """The signed-in person's own settings: the weekly digest on or off."""
    form = SettingsForm(digest=users.wants_digest(g.user))
    if form.validate_on_submit():
        users.set_digest(get_store(), g.user["id"], form.digest.data)
        flash(f"Weekly digest turned {'on' if form.digest.data else 'off'}.", "ok")
        return redirect(url_for("auth.settings"))
    return render_template("auth/settings.html", form=form)
