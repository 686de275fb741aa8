"""The prospect's form: the seven questions of SPEC 2.3, and the opt-out button."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask_babel import format_number, ngettext
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from debrief.forms import CheckboxesField, WebForm
from debrief.i18n import buyer_options
from debrief.taxonomy import CLAIM_VERDICTS, OUTCOMES, REASONS, options

TEXT_MAX = 10_000  # a long, honest answer fits; a pasted novel gets a clear message
LINE_MAX = 200
# Buyer text may be in any script: the browser sets each field's direction from what is typed.
LINE_KW = {"dir": "auto"}
# No maxlength: the browser would cut a long paste silently. static/survey.js counts instead,
# and text_limit refuses an over-long answer with the text kept (SPEC 2.3, issue 16).
TEXT_KW = {"dir": "auto", "maxlength": False, "data-limit": TEXT_MAX, "rows": 3}


# Labels and messages in the buyer's language: lazy, so each is translated when shown.
# Translators: keep " – " between the number and the words (the form splits the label there).
TRUST = {
    "1": _l("1 – not at all"),
    "2": "2",
    "3": _l("3 – partly"),
    "4": "4",
    "5": _l("5 – completely"),
}
ATTRIBUTION = {"anonymous": _l("Anonymous"), "named": _l("With my name and company")}
CONTACT = {"no": _l("No, please don't contact me"), "yes": _l("Yes, you may contact me")}


def text_limit(form: Any, field: TextAreaField) -> None:
    """At most TEXT_MAX characters, counted as static/survey.js counts them (line ends as one)."""
    text = (field.data or "").replace("\r\n", "\n")
    if len(text) > TEXT_MAX:
        over = len(text) - TEXT_MAX
        raise ValidationError(
            ngettext(
                "This answer is %(length)s characters long; the limit is %(limit)s. "
                "Please shorten it by %(over)s character: nothing has been cut.",
                "This answer is %(length)s characters long; the limit is %(limit)s. "
                "Please shorten it by %(over)s characters: nothing has been cut.",
                over,  # which plural form (ngettext's num)
                length=format_number(len(text)),
                limit=format_number(TEXT_MAX),
                over=format_number(over),
            )
        )


class SurveyForm(WebForm):
    """Everything but the claims, which depend on the deal (see survey_form)."""

    outcome = RadioField(
        _l("What did you decide?"),
        choices=buyer_options(OUTCOMES),
        validators=[InputRequired(message=_l("Please choose what you decided."))],
    )
    competitor = StringField(
        _l("Which vendor did you choose? (optional)"),
        validators=[Optional(), Length(max=LINE_MAX)],
        render_kw=LINE_KW,
    )
    reason = RadioField(
        _l("What was the main reason?"),
        choices=buyer_options(REASONS),
        validators=[InputRequired(message=_l("Please choose the main reason."))],
    )
    reasons = CheckboxesField(_l("Any other reasons?"), choices=buyer_options(REASONS), default=[])
    own_words = TextAreaField(
        _l("In your own words, what decided it?"),
        validators=[Optional(), text_limit],
        render_kw=TEXT_KW,
    )
    would_change = TextAreaField(
        _l("What would have changed your decision?"),
        validators=[Optional(), text_limit],
        render_kw=TEXT_KW,
    )
    trust = RadioField(
        _l("How far did you trust what we told you?"),
        choices=options(TRUST),
        validators=[Optional()],
    )
    attribution = RadioField(
        _l("Who may see your name with this answer?"),
        choices=options(ATTRIBUTION),
        default="anonymous",  # a missing choice stays anonymous: the safe side
    )
    # No Optional() here: it would stop the chain before validate_name runs.
    name = StringField(_l("Your name"), validators=[Length(max=LINE_MAX)], render_kw=LINE_KW)
    company = StringField(
        _l("Your company"), validators=[Optional(), Length(max=LINE_MAX)], render_kw=LINE_KW
    )
    may_contact = RadioField(
        _l("May we contact you about this answer?"),
        choices=options(CONTACT),
        default="no",
    )

    def validate_name(self, field: StringField) -> None:
        """A named answer needs a name or a company; an anonymous one ignores both."""
        if self.attribution.data == "named" and not (
            (field.data or "").strip() or (self.company.data or "").strip()
        ):
            raise ValidationError(_l("Give your name or your company, or choose Anonymous."))

    def claim_fields(self) -> list[tuple[str, RadioField]]:
        """(claim text, its verdict field) for each claim the rep recorded."""
        return [(text, self[f"claim_{i}"]) for i, text in enumerate(self.claims)]

    def answer_data(self) -> dict[str, Any]:
        """The validated answers as plain data for survey.service.submit_answer."""
        named = self.attribution.data == "named"
        return {
            "outcome": self.outcome.data,
            "competitor": self.competitor.data or None,
            "reason": self.reason.data,
            "reasons": [r for r in self.reasons.data or [] if r != self.reason.data],
            "own_words": self.own_words.data or "",
            "claims": [
                {"claim": text, "verdict": f.data} for text, f in self.claim_fields() if f.data
            ],
            "would_change": self.would_change.data or "",
            "trust": int(self.trust.data) if self.trust.data else None,
            "attribution": "named" if named else "anonymous",
            # Never kept for an anonymous answer, even if typed before switching back.
            "name": (self.name.data or None) if named else None,
            "company": (self.company.data or None) if named else None,
            "may_contact": self.may_contact.data == "yes",
        }


@lru_cache(maxsize=16)
def _form_class(claim_count: int) -> type[SurveyForm]:
    """SurveyForm plus one optional verdict field per claim; built once per claim count
    (a class made per request was work on each form view and answer POST)."""
    fields = {
        f"claim_{i}": RadioField(
            _l("Claim %(number)s", number=i + 1),
            choices=buyer_options(CLAIM_VERDICTS),
            validators=[Optional()],
        )
        for i in range(claim_count)
    }
    return type("DealSurveyForm", (SurveyForm,), fields)


def survey_form(claims: list[str], **kwargs: Any) -> SurveyForm:
    """The form for one deal: SurveyForm plus one optional verdict per recorded claim."""
    form = _form_class(len(claims))(**kwargs)
    form.claims = list(claims)
    return form


class OptOutForm(WebForm):
    """One button; the CSRF token is all it carries."""
