"""Sign-in and personal settings forms."""

from wtforms import BooleanField, EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Length

from debrief.forms import WebForm


class LoginForm(WebForm):
    """Email and password; `next` carries where to go afterwards."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    next = HiddenField()


class SettingsForm(WebForm):
    """A signed-in person's own settings."""

    digest = BooleanField("Weekly digest")
