"""What a person and a browser read from a page: the visible text, and the forms to submit."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    """One <form>: where it posts, its fields as a browser would send them, and its buttons."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)  # a select's option values
    buttons: list[str] = field(default_factory=list)  # each button's text


class _Reader(HTMLParser):
    """Collects the text outside tags (not of script or style) and every form."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.forms: list[Form] = []
        self._skip = 0
        self._select: str | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif self.forms and tag == "input" and a.get("name"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif self.forms and tag == "select":
            self._select = a.get("name")
            self.forms[-1].options[self._select or ""] = []
        elif self.forms and tag == "option" and self._select is not None:
            values = self.forms[-1].options[self._select]
            values.append(a.get("value", ""))
            if len(values) == 1 or "selected" in a:  # a browser sends the first option by default
                self.forms[-1].fields[self._select] = values[-1]
        elif self.forms and tag == "button":
            self._button = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        elif tag == "select":
            self._select = None
        elif tag == "button" and self._button is not None and self.forms:
            self.forms[-1].buttons.append(" ".join("".join(self._button).split()))
            self._button = None

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)
            if self._button is not None:
                self._button.append(data)


def _read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def visible_text(html: str) -> str:
    """The words of a page as read (screen-reader-only text included), whitespace collapsed."""
    return " ".join(" ".join(_read(html).text).split())


def forms(html: str, action: str | None = None) -> list[Form]:
    """The page's forms, only those posting to `action` when given."""
    return [f for f in _read(html).forms if action is None or f.action == action]
