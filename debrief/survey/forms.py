"""The prospect's form: the seven questions of SPEC 2.3, and the opt-out button."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from wtforms import RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from debrief.forms import WebForm
from debrief.taxonomy import CLAIM_VERDICTS, OUTCOMES, REASONS, options

TEXT_MAX = 10_000  # a long, honest answer fits; a pasted novel gets a clear message
LINE_MAX = 200


TRUST = {"1": "1 – not at all", "2": "2", "3": "3 – partly", "4": "4", "5": "5 – completely"}
ATTRIBUTION = {"anonymous": "Anonymous", "named": "With my name and company"}
CONTACT = {"no": "No, please don't contact me", "yes": "Yes, you may contact me"}


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (the `choices` macro puts them in a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SurveyForm(WebForm):
    """Everything but the claims, which depend on the deal (see survey_form)."""

    outcome = RadioField(
        "What did you decide?",
        choices=options(OUTCOMES),
        validators=[InputRequired(message="Please choose what you decided.")],
    )
    competitor = StringField(
        "Which vendor did you choose? (optional)", validators=[Optional(), Length(max=LINE_MAX)]
    )
    reason = RadioField(
        "What was the main reason?",
        choices=options(REASONS),
        validators=[InputRequired(message="Please choose the main reason.")],
    )
    reasons = CheckboxesField("Any other reasons?", choices=options(REASONS), default=[])
    own_words = TextAreaField(
        "In your own words, what decided it?", validators=[Optional(), Length(max=TEXT_MAX)]
    )
    would_change = TextAreaField(
        "What would have changed your decision?", validators=[Optional(), Length(max=TEXT_MAX)]
    )
    trust = RadioField(
        "How far did you trust what we told you?",
        choices=options(TRUST),
        validators=[Optional()],
    )
    attribution = RadioField(
        "Who may see your name with this answer?",
        choices=options(ATTRIBUTION),
        default="anonymous",  # a missing choice stays anonymous: the safe side
    )
    # No Optional() here: it would stop the chain before validate_name runs.
    name = StringField("Your name", validators=[Length(max=LINE_MAX)])
    company = StringField("Your company", validators=[Optional(), Length(max=LINE_MAX)])
    may_contact = RadioField(
        "May we contact you about this answer?",
        choices=options(CONTACT),
        default="no",
    )

    def validate_name(self, field: StringField) -> None:
        """A named answer needs a name or a company; an anonymous one ignores both."""
        if self.attribution.data == "named" and not (
            (field.data or "").strip() or (self.company.data or "").strip()
        ):
            raise ValidationError("Give your name or your company, or choose Anonymous.")

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
    (a class made per request cost ~0.3 ms of each form view and answer POST)."""
    fields = {
        f"claim_{i}": RadioField(
            f"Claim {i + 1}", choices=options(CLAIM_VERDICTS), validators=[Optional()]
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
