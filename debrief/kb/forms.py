"""Knowledge-base forms: the search query string and the lesson editor."""

from __future__ import annotations

from wtforms import (
    DateField,
    Form,
    SearchField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from debrief.forms import WebForm
from debrief.kb.lessons import BODY_MAX, TITLE_MAX


def _strip(value: str | None) -> str | None:
    """Leading and trailing blanks are never meant."""
    return value.strip() if isinstance(value, str) else value


class SearchForm(Form):
    """The /kb query string. A GET form that changes nothing, so it carries no CSRF token."""

    q = SearchField("Search the knowledge base", filters=[_strip])
    date_from = DateField("From", validators=[Optional()], name="from")
    date_to = DateField("To", validators=[Optional()], name="to")

    def validate_date_to(self, field: DateField) -> None:
        """An end before the start would silently match nothing."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")


def _body_not_blank(form: WebForm, field: TextAreaField) -> None:
    """A lesson needs something to read."""
    if not (field.data or "").strip():
        raise ValidationError("Write the lesson itself (Markdown is fine).")


class LessonForm(WebForm):
    """Title and Markdown body; Preview re-renders the form, Save writes the lesson."""

    # WebForm's text rule refuses line breaks and controls and strips the title, and a title of
    # only invisible characters arrives empty: the entry's Title header always has words.
    title = StringField(
        "Title",
        validators=[
            DataRequired("Give the lesson a title."),
            Length(max=TITLE_MAX, message=f"Keep the title under {TITLE_MAX} characters."),
        ],
    )
    body = TextAreaField(
        "Lesson",
        validators=[
            _body_not_blank,
            Length(max=BODY_MAX, message=f"Keep the lesson under {BODY_MAX:,} characters."),
        ],
        render_kw={"rows": 14},
    )
    preview = SubmitField("Preview")
    save = SubmitField("Save lesson")


class NewLessonForm(LessonForm):
    """A new lesson may be tied to one of the author's deals."""

    deal = SelectField("Deal", choices=[SelectChoice("", "No deal")], default="")

    def set_deals(self, deals: list[tuple[str, str]]) -> None:
        """The deals this author may choose from, as (id, label) pairs."""
        self.deal.choices = [SelectChoice(value, label) for value, label in deals]
