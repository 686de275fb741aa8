"""Template helpers: the option lists of radio and checkbox groups, kept rendered."""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict
from wtforms import Form, RadioField, SelectMultipleField, widgets

from debrief.taxonomy import options
from debrief.templating import options_html

CHOICES = options([("price", "Price"), ("fit", "Fit <not> for us"), ("timing", "Timing")])


class Boxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class Survey(Form):
    reason = RadioField("Main reason", choices=CHOICES)
    other = RadioField("Other reason", choices=CHOICES)
    reasons = Boxes("Reasons", choices=CHOICES, default=[])


def checked(html: str) -> list[str]:
    """The values rendered as checked."""
    return re.findall(r'<input checked id="[^"]+" name="[^"]+" type="\w+" value="(\w+)"', html)


def test_options_follow_what_is_chosen_and_stay_escaped():
    fresh = options_html(Survey().reason)
    assert checked(fresh) == [] and "Fit &lt;not&gt; for us" in fresh
    assert options_html(Survey().reason) is fresh  # kept: the same state renders once
    chosen = Survey(MultiDict({"reason": "fit", "reasons": ["price", "timing"]}))
    assert checked(options_html(chosen.reason)) == ["fit"]
    assert checked(options_html(chosen.reasons)) == ["price", "timing"]
    assert 'type="checkbox"' in options_html(chosen.reasons)
    assert checked(options_html(Survey().reason)) == []  # the next buyer starts blank
    # The same choices under another field keep their own ids and names.
    other = options_html(Survey().other)
    assert 'id="other-1" name="other"' in other and 'name="reason"' not in other
