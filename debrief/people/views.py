"""People pages: managers list, add, reset and (de)activate accounts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for

from debrief.auth.views import manager_required
from debrief.people import service
from debrief.people.forms import PASSWORD_HINT, ActiveForm, AddAccountForm, PasswordForm
from debrief.store import get_store

bp = Blueprint("people", __name__, url_prefix="/people")


def _page(add: AddAccountForm | None = None, status: int = 200):
    """The people page, with the add form as submitted when it had errors."""
    return render_template(
        "people/index.html", people=service.accounts(get_store()), add=add or AddAccountForm(),
        password=PasswordForm(), active=ActiveForm(), hint=PASSWORD_HINT,
    ), status  # fmt: skip


@bp.get("")
@manager_required
def index():
    """Every account with its role and state."""
    return _page()


@bp.post("/new")
@manager_required
def add():
    """Create an account (the same rules as `debrief user add`)."""
    form = AddAccountForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        user = service.add_account(
            get_store(), form.email.data, form.role.data, form.password.data, form.name.data
        )
    except service.UserError as e:
        target = form.password if "password" in str(e) else form.email
        target.errors.append(str(e))
        return _page(form, 400)
    flash(f"Added {user['role']} {user['email']} ({user['name']}).", "ok")
    return redirect(url_for("people.index"))


@bp.post("/<int:user_id>/password")
@manager_required
def password(user_id: int):
    """Set a new password for an account."""
    form = PasswordForm()
    if not form.validate_on_submit():
        flash(" ".join(e for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("people.index"))
    try:
        user = service.reset_password(get_store(), user_id, form.password.data)
    except service.UserError as e:
        flash(str(e), "error")
        return redirect(url_for("people.index"))
    flash(f"New password set for {user['email']}.", "ok")
    return redirect(url_for("people.index"))


@bp.post("/<int:user_id>/active")
@manager_required
def active(user_id: int):
    """Deactivate or reactivate an account."""
    form = ActiveForm()
    if not form.validate_on_submit() or form.active.data not in ("0", "1"):
        abort(400)
    try:
        user = service.set_active(get_store(), g.user, user_id, form.active.data == "1")
    except service.UserError as e:
        flash(str(e), "error")
        return redirect(url_for("people.index"))
    state = "reactivated" if form.active.data == "1" else "deactivated: they can no longer sign in"
    flash(f"{user['email']} {state}.", "ok")
    return redirect(url_for("people.index"))
