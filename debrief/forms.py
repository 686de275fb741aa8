"""The base of every form: each text a field receives passes the one rule of debrief.text.

Web forms take form bodies only (urlencoded or multipart). Flask-WTF would otherwise read a JSON
body as form data (FlaskForm.Meta.wrap_formdata: ImmutableMultiDict(request.get_json())), so a
number or a list could reach a text field and a lone surrogate the store. JSON has one door,
POST /api/deals, which checks each value's type itself.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import Field, PasswordField, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget, TextArea

from debrief import text

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class _TextRule:
    """A field filter: text.clean_text on its text (a list: on each item, empty ones dropped)."""

    def __init__(self, field: Field) -> None:
        self.field = field
        self.multiline = isinstance(field.widget, TextArea)

    def __call__(self, data: Any) -> Any:
        """The cleaned data; ValueError (a field error) with the repaired text left in the field."""
        if isinstance(data, str):
            try:
                return text.clean_text(data, self.multiline)
            except text.TextError as exc:
                self.field.data = exc.repaired  # shown in the field: check it and send again
                raise ValueError(exc.message) from None
        if isinstance(data, list) and all(isinstance(item, str) for item in data):
            cleaned, problem = [], None
            for item in data:
                try:
                    cleaned.append(text.clean_text(item, self.multiline))
                except text.TextError as exc:
                    cleaned.append(exc.repaired)
                    problem = problem or exc.message
            if problem:
                self.field.data = cleaned
                raise ValueError(problem)
            return [item for item in cleaned if item]
        return data


class TextMeta:
    """WTForms Meta mixin: binds the text rule as the first filter of every field but secrets."""

    def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
        """Bind as WTForms does, then put the rule before the field's own filters."""
        field = super().bind_field(form, unbound_field, options)  # type: ignore[misc]
        if not isinstance(field, PasswordField | FileField):  # a password is never text we keep
            field.filters = (_TextRule(field), *field.filters)
        return field


class WebForm(FlaskForm):
    """A web form (CSRF from Flask-WTF) whose text follows the rule."""

    class Meta(TextMeta):
        pass

    def problems(self) -> list[str]:
        """Each refused field as "Label: message" (empty when every field is good)."""
        return [f"{self[name].label.text}: {' '.join(msgs)}" for name, msgs in self.errors.items()]


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (the `choices` macro puts them in a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def refuse_other_bodies() -> None:
    """415 for a body to a web page that is not a form (JSON goes to /api/ only)."""
    if request.blueprint == "api" or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.routing_exception is not None:
        return  # no such page or verb: the 404 or 405 says more than "send a form"
    if request.mimetype and request.mimetype not in FORM_TYPES:
        abort(415, description="Send this form as a web form (urlencoded or multipart), not JSON.")


def init_app(app: Flask) -> None:
    """Register the body check."""
    app.before_request(refuse_other_bodies)
