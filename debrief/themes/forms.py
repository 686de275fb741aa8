"""Forms for themes, tagging and the dashboard filters (WTForms validates, services decide)."""

from __future__ import annotations

import datetime

from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from debrief.forms import WebForm
from debrief.meaning import LINE_MAX, SynonymError, parse_line
from debrief.themes.service import DESCRIPTION_MAX, NAME_MAX


class ThemeForm(WebForm):
    """Create a theme, or rename and describe one."""

    name = StringField("Name", validators=[DataRequired(), Length(max=NAME_MAX)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=DESCRIPTION_MAX)])


class SynonymForm(WebForm):
    """A line of words that mean the same to the team, added to what search understands."""

    line = StringField("A line of synonyms", validators=[DataRequired(), Length(max=LINE_MAX)])

    def validate_line(self, field: StringField) -> None:
        """The line as the synonym list reads it: at least two members, none too long."""
        try:
            parse_line(field.data)
        except SynonymError as error:
            raise ValidationError(str(error)) from None


class MergeForm(WebForm):
    """Merge this theme into another (choices are set by the view)."""

    target = SelectField("Merge into", validators=[DataRequired()], choices=[])


class ConfirmForm(WebForm):
    """A button that only needs its CSRF token (delete)."""


class TagForm(WebForm):
    """Tag or untag one entry; `next` is where to go back to."""

    slug = StringField("Entry", validators=[DataRequired(), Length(max=200)])
    theme = StringField("Theme", validators=[DataRequired(), Length(max=NAME_MAX)])
    next = HiddenField()


class SearchFields:
    """The knowledge-base search fields, shared by the preview (GET) and the tag-all (POST)."""

    q = StringField("Search", validators=[Optional(), Length(max=1000)])
    kind = SelectField(
        "Kind", choices={"": "Any", "debrief": "Debrief", "lesson": "Lesson"},
        validators=[Optional()],
    )  # fmt: skip
    reason = StringField("Reason", validators=[Optional(), Length(max=60)])
    competitor = StringField("Competitor", validators=[Optional(), Length(max=120)])
    rep = StringField("Rep (email)", validators=[Optional(), Length(max=254)])
    date_from = DateField("From", name="from", validators=[Optional()])
    date_to = DateField("To", name="to", validators=[Optional()])


class SearchForm(SearchFields, WebForm):
    """The search whose results would be tagged (a GET form, like /kb: no CSRF needed)."""

    theme = StringField("Only entries with theme", validators=[Optional(), Length(max=NAME_MAX)])

    class Meta:
        csrf = False


class TagSearchForm(SearchFields, WebForm):
    """Tag every result of the search with one theme (`within_theme` is the search's theme)."""

    within_theme = HiddenField(validators=[Optional(), Length(max=NAME_MAX)])
    # Its own id: the search form on the same page has a `theme` field too.
    theme = SelectField(
        "Tag every result with", validators=[DataRequired()], choices=[], id="tag-theme"
    )
    next = HiddenField()  # where to go back to (a /kb search); the preview page when empty


# The dates the dashboard takes: wide enough for any sales history, narrow enough that month
# arithmetic never leaves the calendar (to=0001-01-01 once reached year 0: a 500).
FIRST_DAY = datetime.date(2000, 1, 1)
LAST_DAY = datetime.date(2100, 12, 31)


def within_range(form: WebForm, field: DateField) -> None:
    """A dashboard date between FIRST_DAY and LAST_DAY."""
    if field.data and not FIRST_DAY <= field.data <= LAST_DAY:
        raise ValidationError(f"Choose a date between {FIRST_DAY} and {LAST_DAY}.")


class DashboardFilters(WebForm):
    """The dashboard's date range and rep (a GET form); a bad value is a 400 with its message."""

    date_from = DateField("From", name="from", validators=[Optional(), within_range])
    date_to = DateField("To", name="to", validators=[Optional(), within_range])
    rep = SelectField("Rep", choices=[], validators=[Optional()])

    class Meta:
        csrf = False
