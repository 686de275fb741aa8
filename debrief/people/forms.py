"""Forms for managing accounts."""

from __future__ import annotations

from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from debrief.auth.users import MIN_PASSWORD, ROLES
from debrief.forms import WebForm

PASSWORD_HINT = f"At least {MIN_PASSWORD} characters. Tell the person in person or by phone."


class AddAccountForm(WebForm):
    """A new rep or manager."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    # The rep's name goes into the invitations they send: one line (WebForm's text rule).
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    role = SelectField("Role", choices={r: r.capitalize() for r in ROLES}, default="rep")
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class PasswordForm(WebForm):
    """A new password for one account (typed twice)."""

    password = PasswordField("New password", validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )


class ActiveForm(WebForm):
    """Deactivate ("0") or reactivate ("1") an account."""

    active = HiddenField(validators=[DataRequired()])
