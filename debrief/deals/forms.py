"""Deal, invitation and import forms; the API validates with the same deal fields."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    Field,
    Form,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import TextArea

from debrief import i18n, taxonomy, text
from debrief.deals import amount, service
from debrief.deals.sending import note_problem
from debrief.forms import CheckboxesField, TextMeta, WebForm

MAX_CLAIMS = 30
MAX_CLAIM = 500


REASON_OPTIONS = taxonomy.options(taxonomy.REASONS)


class AmountField(StringField):
    """A deal value typed as 12500, 12,500.00 or $12,500 (deals.amount's rule); .data: float."""

    def process_formdata(self, valuelist: list[str]) -> None:
        """Read the typed text; a refused value leaves its message for validate()."""
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        try:
            self.data = amount.parse_amount(raw)
        except amount.AmountError as exc:
            raise ValueError(f"'{raw}' {exc}.") from None

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return amount.format_amount(self.data) if isinstance(self.data, float) else ""


class ClaimsField(Field):
    """The claims made during the sale, typed one per line; .data is the list of lines."""

    widget = TextArea()

    def process_formdata(self, valuelist: list[str]) -> None:
        """Each non-blank line is one claim."""
        text = valuelist[0] if valuelist else ""
        self.data = [line.strip() for line in text.splitlines() if line.strip()]

    def process_data(self, value: Any) -> None:
        """From a stored deal: a list of strings."""
        self.data = list(value or [])

    def _value(self) -> str:
        return "\n".join(self.data or [])

    def pre_validate(self, form: Any) -> None:
        """A ledger a buyer can read in two minutes: a few short claims."""
        if len(self.data or []) > MAX_CLAIMS:
            raise ValidationError(f"List at most {MAX_CLAIMS} claims.")
        for claim in self.data or []:
            if len(claim) > MAX_CLAIM:
                raise ValidationError(
                    f"Keep each claim under {MAX_CLAIM} characters ('{claim[:40]}...' is longer)."
                )


def not_in_future(form: Any, field: Field) -> None:
    """A lost date is in the past (a day of slack for time zones)."""
    if field.data and field.data > date.today() + timedelta(days=1):
        raise ValidationError("The lost date cannot be in the future.")


def language_tag(form: Any, field: Field) -> None:
    """A BCP 47 tag (en, de, pt-BR), kept in its usual case; empty means the default."""
    try:
        field.data = i18n.normalize(field.data)
    except i18n.LanguageError as error:
        raise ValidationError(str(error)) from None


def language_choices(current: str | None) -> list[SelectChoice]:
    """The languages a buyer can be asked in, by name; a deal's other tag stays choosable,
    saying plainly what its buyer will read (i18n.fallback_note)."""
    choices = [
        SelectChoice(
            tag, f"{i18n.english_name(tag)} ({i18n.own_name(tag)})" if tag != "en" else "English"
        )
        for tag in i18n.shipped()
    ]
    if current and current not in i18n.shipped():
        shown = i18n.english_name(i18n.catalog_language(current))
        choices.append(SelectChoice(current, f"{i18n.english_name(current)}: sent in {shown}"))
    return choices


class DealFields:
    """The fields of a lost deal, shared by the web form and the API."""

    company = StringField("Company", validators=[DataRequired(), Length(max=200)])
    contact_name = StringField("Contact name", validators=[Length(max=200)])
    contact_email = StringField(
        "Contact email",
        validators=[
            Optional(),
            Length(max=254),
            Email(message="Enter an email address like name@company.com."),
        ],
    )
    value = AmountField("Value", validators=[Optional()])
    lost_on = DateField(
        "Lost on",
        validators=[DataRequired(message="Enter the date as YYYY-MM-DD."), not_in_future],
        default=date.today,
    )
    competitor = StringField("Competitor", validators=[Length(max=200)])
    rep_reason = SelectField(
        "Main reason",
        choices=[SelectChoice("", "Choose the main reason"), *REASON_OPTIONS],
        validators=[DataRequired(message="Choose the main reason.")],
    )
    rep_reasons = CheckboxesField("Other reasons", choices=REASON_OPTIONS, validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Length(max=10_000)])
    claims = ClaimsField("Claims made during the sale")
    crm_id = StringField("CRM id", validators=[Length(max=100)])
    language = StringField("Language", validators=[Optional(), Length(max=35), language_tag])

    def deal_data(self) -> dict[str, Any]:
        """The validated values, keyed as the service expects."""
        data = {name: getattr(self, name).data for name in service.FIELDS}
        if getattr(self, "rep_id", None) is not None:
            data["rep_id"] = self.rep_id.data
        return data


class DealForm(DealFields, WebForm):
    """Record or edit a lost deal (managers also choose the rep: see deal_form)."""

    rep_id = SelectField("Rep", coerce=int, validators=[DataRequired()])
    language = SelectField("Language of the mail and form", validators=[language_tag])


def deal_form(
    reps: list[tuple[int, str]] | None,
    deal: dict[str, Any] | None = None,
    rep_id: int | None = None,
) -> DealForm:
    """A DealForm, filled from deal when editing; reps: the rep choices (managers), else None."""
    language = i18n.deal_language(deal or {})  # a deal stored without one: the default
    if deal is None:
        form = DealForm(data={"rep_id": rep_id, "language": language})
    else:
        lost_on = deal.get("lost_on")
        lost = date.fromisoformat(lost_on) if lost_on else None
        form = DealForm(data={**deal, "lost_on": lost, "language": language})
    form.language.choices = language_choices(form.language.data or language)
    if reps is None:
        del form.rep_id
    else:
        form.rep_id.choices = taxonomy.options(reps)
    return form


class ApiDealForm(DealFields, Form):
    """POST /api/deals: the deal fields, the owning rep's account and send_invite."""

    class Meta(TextMeta):
        csrf = False  # the API authenticates with a bearer key, not a session

    rep_email = StringField("rep_email", validators=[DataRequired(), Length(max=254)])
    rep_reason = SelectField(  # the API may leave the reason to the rep (SPEC 3)
        "rep_reason",
        choices=[SelectChoice(""), *REASON_OPTIONS],
        validators=[Optional()],
    )
    send_invite = BooleanField("send_invite")


class InviteForm(WebForm):
    """The one personal sentence a rep may add; preview or send."""

    personal_note = StringField("Your personal sentence (optional)")
    preview = SubmitField("Update the preview")
    send = SubmitField("Send this mail")

    def validate_personal_note(self, field: Field) -> None:
        """The same rule the sender applies."""
        problem = note_problem(field.data)
        if problem:
            raise ValidationError(problem)


class ImportForm(WebForm):
    """A CRM export to import."""

    file = FileField(
        "CRM export (.csv)",
        validators=[
            FileRequired("Choose a .csv file."),
            FileAllowed(["csv", "txt"], "Upload a .csv file."),
        ],
    )


class ActionForm(WebForm):
    """A button that posts (retry a failed invitation): only the CSRF token."""


class ConfirmForm(WebForm):
    """A destructive button: posted once to ask, then again with confirmed=yes to do it."""

    confirmed = BooleanField("Yes, I am sure")


def upload_name(name: str | None) -> str:
    """An uploaded file's name as the imports list shows it (the text rule, at most 200)."""
    try:
        return text.clean_text(name)[:200] or "upload.csv"
    except text.TextError as exc:
        return exc.repaired[:200] or "upload.csv"


class ListFilters(WebForm):
    """The deal list's query string (a GET form: no CSRF); a bad value is a 400 with its message.

    The rep choices are set by the view: every account for a manager, none for a rep (a rep's
    list holds only their own deals, so any rep value from a rep is refused).
    """

    q = StringField("Company", validators=[Optional(), Length(max=service.QUERY_MAX)])
    status = SelectField(
        "Status",
        choices=taxonomy.options([("", "Any status"), *service.STATUS_LABELS.items()]),
        validators=[Optional()],
    )
    rep = SelectField("Rep", choices=taxonomy.options([("", "All reps")]), validators=[Optional()])
    sort = SelectField("Sort by", choices=taxonomy.options(service.SORTS), default="lost")
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1)])

    class Meta:
        csrf = False

    def value(self, name: str) -> Any:
        """A field's value, or its default when it was refused."""
        field = self[name]
        return field.default if field.errors else field.data
