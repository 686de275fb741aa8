"""The buyer's language (issue 18): mail and form in the deal's language, switching on the form,
catalogs complete, the answer's language kept in its entry, the team's side in English."""

from __future__ import annotations

import dataclasses
import datetime
import io
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from conftest import app_settings, csrf_token
from test_invitations import send_from_page, token_of
from test_survey import answer_data, invite, make_deal

from debrief import create_app, entries, i18n
from debrief.config import ConfigError
from debrief.deals import csvimport, csvrow
from debrief.store import get_store

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "debrief" / "translations"
SHIPPED = ("de", "es", "fr")
BASE = "https://debrief.example.test"


def record_deal(client, language: str, **fields) -> int:
    """Record a lost deal through the deal form, as a rep does; its id."""
    data = {
        "csrf_token": csrf_token(client, "/deals/new"),
        "company": "Kranich Logistik GmbH",
        "contact_name": "Jana Schulz",
        "contact_email": "jana@kranich.example.de",
        "lost_on": "2026-11-02",
        "rep_reason": "price",
        "claims": "Go-live in zwei Wochen",
        "language": language,
        **fields,
    }
    response = client.post("/deals/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def text_of(html: str) -> str:
    """A page's words without its markup, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- the mail and the form in the deal's language ------------------------------------------------


def test_a_german_deal_gets_a_german_mail_in_both_parts_and_a_german_form(app, client, auth, smtp):
    auth.login()
    deal_id = record_deal(client, "de")
    preview = client.get(f"/deals/{deal_id}/invite").get_data(as_text=True)
    assert "<dt>Language</dt><dd>German" in preview  # the rep sees which language goes out
    assert '<pre class="mail-text" lang="de">Guten Tag Jana Schulz,' in preview
    assert send_from_page(client, {"id": deal_id}).status_code == 302

    msg = smtp.received()
    assert msg["Subject"] == (
        "Zwei Minuten dazu, warum Sie sich nicht für uns entschieden haben (kein Verkaufsanruf)"
    )
    assert msg["From"].addresses[0].display_name == "Rita Rep, Harbourline"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Guten Tag Jana Schulz," in part
        assert "Niemand wird Sie anrufen, um Sie doch noch umzustimmen." in part
        assert "Sie können anonym antworten (das ist die Voreinstellung)" in part
        assert re.search(r"läuft am \d{1,2}\. \w+ \d{4} ab", part)  # a German date
        assert "Nobody will call" not in part and "Hello" not in part
    assert '<html lang="de" dir="ltr">' in html
    assert "Sagen Sie uns, warum (zwei Minuten)</a>" in html

    auth.logout()
    page = client.get(f"/s/{token_of(msg)}")
    body = page.get_data(as_text=True)
    assert page.headers["Content-Language"] == "de"
    assert '<html lang="de" dir="ltr">' in body
    words = text_of(body)
    assert "Warum haben Sie sich nicht für Harbourline entschieden?" in words
    assert "Wie haben Sie sich entschieden? (Pflichtangabe)" in words
    assert "Beziehung zu einem anderen Anbieter" in words  # the taxonomy, for the buyer
    assert "Go-live in zwei Wochen" in words
    assert "Bis zu 10.000 Zeichen." in words
    assert "Antwort senden" in words and "Send my answer" not in words
    # The slugs stay what they are in the forms, entries and the dashboard.
    assert 'value="incumbent"' in body and 'value="competitor"' in body


def test_the_reminder_is_in_the_deal_language_too(app):
    deal = make_deal(app, language="fr", contact_name=None)
    with app.test_request_context():
        from debrief.deals import sending

        mail = sending.compose(app.config, deal, None, None, "tok", kind="reminder")
    assert mail.subject.startswith("Dernier message\u00a0: pourquoi vous ne nous avez pas choisis")
    assert mail.text.startswith("Bonjour,\n")
    assert "Il y a quelques jours, nous vous avons demandé pourquoi Quuxbridge Ltd" in mail.text
    assert '<html lang="fr" dir="ltr">' in mail.html and "Ne plus me contacter</a>" in mail.html


@pytest.mark.parametrize("app", [{"DEFAULT_LANGUAGE": "ES"}], indirect=True)
def test_default_language_setting_picks_the_language_of_deals_that_name_none(tmp_path, app):
    assert app.config["DEFAULT_LANGUAGE"] == "es"  # normalized
    deal = make_deal(app)
    assert deal.get("language") is None
    _, token = invite(app, deal)
    page = app.test_client().get(f"/s/{token}")
    assert page.headers["Content-Language"] == "es"
    assert "¿Por qué no eligió a Harbourline?" in page.get_data(as_text=True)
    with pytest.raises(ConfigError, match="DEBRIEF_DEFAULT_LANGUAGE"):
        create_app({**app_settings(tmp_path / "other"), "DEFAULT_LANGUAGE": "not a language"})


def test_a_language_without_a_catalog_falls_back_and_the_rep_is_told(app, client, auth):
    auth.login()
    response = client.post(
        "/api/deals",
        json={"company": "Vento Srl", "rep_email": "rep@example.test", "language": "it",
              "contact_email": "g@vento.example.it", "rep_reason": "price"},
        headers={"Authorization": "Bearer test-api-key"},
    )  # fmt: skip
    assert response.status_code == 201
    body = response.get_json()
    assert body["language"] == "it"
    assert body["language_note"] == (
        "Debrief has no Italian translation yet: the buyer reads the mail and the form in English."
    )
    deal_page = text_of(client.get(f"/deals/{body['id']}").get_data(as_text=True))
    assert "Language Italian Debrief has no Italian translation yet" in deal_page
    # Editing keeps the tag choosable, named for what it sends.
    edit = client.get(f"/deals/{body['id']}/edit").get_data(as_text=True)
    assert '<option selected value="it">Italian: sent in English</option>' in edit

    with app.app_context():
        deal = get_store().table("deals").get(body["id"])
    _, token = invite(app, deal)
    page = client.get(f"/s/{token}")
    assert page.headers["Content-Language"] == "en"
    assert '<html lang="en" dir="ltr">' in page.get_data(as_text=True)
    # A regional tag reads its base language, and the rep is told which.
    deal = make_deal(app, language="de-AT")
    _, token = invite(app, deal)
    assert client.get(f"/s/{token}").headers["Content-Language"] == "de"
    with app.app_context():
        assert i18n.fallback_note("de-AT") == (
            "Debrief has no German (Austria) translation: the buyer reads the mail and the form "
            "in German."
        )


@pytest.mark.parametrize(
    ("given", "stored"), [("DE", "de"), ("pt_br", "pt-BR"), ("zh-hant-tw", "zh-Hant-TW")]
)
def test_the_api_normalizes_a_language_tag(app, given, stored):
    response = app.test_client().post(
        "/api/deals",
        json={"company": "Acme", "rep_email": "rep@example.test", "language": given},
        headers={"Authorization": "Bearer test-api-key"},
    )
    assert response.status_code == 201
    with app.app_context():
        assert get_store().table("deals").get(response.get_json()["id"])["language"] == stored


@pytest.mark.parametrize("bad", ["english please", "d", "de-", "x" * 40, "de\nfr"])
def test_a_bad_language_is_refused_clearly_by_the_api_the_form_and_the_csv(app, client, auth, bad):
    response = client.post(
        "/api/deals",
        json={"company": "Acme", "rep_email": "rep@example.test", "language": bad},
        headers={"Authorization": "Bearer test-api-key"},
    )
    assert response.status_code == 422
    assert "language" in response.get_json()["errors"]

    auth.login()
    form = client.post(
        "/deals/new",
        data={"csrf_token": csrf_token(client, "/deals/new"), "company": "Acme",
              "lost_on": "2026-11-02", "rep_reason": "price", "language": bad},
    )  # fmt: skip
    assert form.status_code == 200  # the form again, with the message beside the field
    assert "Not a valid choice" in form.get_data(as_text=True) or "language tag" in form.get_data(
        as_text=True
    )
    with app.app_context():
        assert get_store().table("deals").all() == []

    if "\n" not in bad:
        [problem] = csvimport.read_rows(io.StringIO(f"Company,Language\nAcme,{bad}\n"))
        assert isinstance(problem, csvrow.RowProblem)
        assert "is not a language tag" in problem.reason


# --- switching language on the form --------------------------------------------------------------


def test_switching_language_keeps_what_was_typed_and_then_answers_in_it(app, client):
    deal = make_deal(app, language="de")
    _, token = invite(app, deal)
    typed = answer_data(
        client,
        token,
        own_words="Die Kündigungsfrist war zu lang, <b>ehrlich</b>.",
        attribution="named",
        name="Zoë Brandt",
        reason=None,  # not chosen yet: a switch checks nothing
    )
    switched = client.post(f"/s/{token}", data={**typed, "lang": "fr"})
    assert switched.status_code == 200
    html = switched.get_data(as_text=True)
    assert switched.headers["Content-Language"] == "fr"
    assert '<html lang="fr" dir="ltr">' in html
    assert "Pourquoi n'avez-vous pas choisi Harbourline\u00a0?" in html
    assert "Die Kündigungsfrist war zu lang, &lt;b&gt;ehrlich&lt;/b&gt;.</textarea>" in html
    assert 'value="Zoë Brandt"' in html
    assert re.search(r'<input checked id="outcome-0"[^>]*value="competitor"', html)
    assert re.search(r'<input [^>]*checked id="attribution-1"[^>]*value="named"', html)
    assert "error-summary" not in html and "Merci de choisir" not in html  # nothing checked
    assert f'action="/s/{token}?lang=fr"' in html  # the answer is sent in French
    with app.app_context():
        assert get_store().table("answers").all() == []

    sent = client.post(f"/s/{token}?lang=fr", data={**typed, "reason": "price"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith("/thanks?lang=fr")
    thanks = client.get(sent.headers["Location"])
    assert thanks.headers["Content-Language"] == "fr"
    words = text_of(thanks.get_data(as_text=True))
    assert "Merci : Harbourline a bien reçu votre réponse" in words  # (text_of: no-break spaces)
    assert "Raison principale Prix" in words
    with app.app_context():
        [answer] = get_store().table("answers").all()
    assert answer["language"] == "fr" and answer["reason"] == "price"


def test_a_buyer_error_page_is_in_their_language(app, client):
    deal = make_deal(app, language="es")
    _, token = invite(app, deal)
    stale = client.post(f"/s/{token}", data={"outcome": "other", "reason": "price"})  # no token
    assert stale.status_code == 400
    assert stale.headers["Content-Language"] == "es"
    assert "El formulario estaba caducado o incompleto." in stale.get_data(as_text=True)
    invalid = client.post(f"/s/{token}", data=answer_data(client, token, outcome=None))
    assert "Indique qué decidió, por favor." in invalid.get_data(as_text=True)
    assert "Revise esta respuesta, por favor" in invalid.get_data(as_text=True)  # one: singular
    two = client.post(f"/s/{token}", data=answer_data(client, token, outcome=None, reason=None))
    assert "Revise estas respuestas, por favor" in two.get_data(as_text=True)
    missing = client.get("/s/no-such-token-at-all-000000?lang=de")
    assert missing.status_code == 404 and "Nicht gefunden" in missing.get_data(as_text=True)


def test_numbers_and_plurals_follow_the_language(app, client):
    deal = make_deal(app, language="fr")
    _, token = invite(app, deal)
    for over, words in ((1, "de 1 caractère\u00a0:"), (5, "de 5 caractères\u00a0:")):
        page = client.post(
            f"/s/{token}", data=answer_data(client, token, own_words="x" * (10_000 + over))
        )
        html = unescape(page.get_data(as_text=True))
        assert f"Cette réponse fait 10\u202f{over:03d} caractères\u00a0;" in html
        assert f"Merci de la raccourcir {words} rien n'a été coupé." in html


def test_the_team_side_stays_english(app, client, auth):
    deal = make_deal(app, language="de")
    _, token = invite(app, deal)
    client.post(f"/s/{token}", data=answer_data(client, token))
    auth.login()
    page = client.get(f"/deals/{deal['id']}")
    html = page.get_data(as_text=True)
    assert page.headers["Content-Language"] == "en"
    assert '<html lang="en" dir="ltr">' in html
    assert "The buyer's answer" in html and "Chose another vendor" in html
    assert "Language</dt>" in html and "German" in html


# --- the answer keeps its language ---------------------------------------------------------------


def test_a_german_answer_is_recorded_as_german_and_found_by_its_german_words(app, client, auth):
    deal = make_deal(app, language="de")
    _, token = invite(app, deal)
    words = "Die Kündigungsfrist von drei Jahren war für uns nicht tragbar."
    client.post(f"/s/{token}", data=answer_data(client, token, own_words=words))
    with app.app_context():
        [answer] = get_store().table("answers").all()
    path = Path(app.config["ENTRIES_DIR"]).rglob(f"{answer['entry_slug']}.md")
    raw = next(path).read_text(encoding="utf-8")
    assert "\nLanguage: de\n" in raw.split("\n---\n", 1)[0] + "\n"

    auth.login()
    entry = text_of(client.get(f"/kb/{answer['entry_slug']}").get_data(as_text=True))
    assert "Language Answered in German" in entry
    for query in ("Kündigungsfrist", "kundigungsfrist", "KÜNDIGUNGSFRIST", "tragbar"):
        found = client.get(f"/kb?q={query}").get_data(as_text=True)
        assert f"/kb/{answer['entry_slug']}" in found, query


def test_an_english_answer_writes_no_language_header_and_a_bad_one_is_ignored_on_read(tmp_path):
    entry = entries.Entry(kind="lesson", title="T", date=datetime.date(2026, 1, 2))
    assert "Language" not in entries.serialize(entries.normalized(entry)).decode()
    written = entries.normalized(dataclasses.replace(entry, language="pt_br"))
    assert "\nLanguage: pt-BR\n" in entries.serialize(written).decode()
    with pytest.raises(ValueError, match="not a language tag"):
        entries.normalized(dataclasses.replace(entry, language="?!"))
    raw = b"---\nTitle: T\nDate: 2026-01-02\nKind: lesson\nLanguage: ?!\n---\n\nBody\n"
    assert entries.parse_entry(tmp_path / "t.md", raw).language is None  # lenient reading
    raw = raw.replace(b"?!", b"fr")
    assert entries.parse_entry(tmp_path / "t.md", raw).language == "fr"


# --- the catalogs --------------------------------------------------------------------------------


def _extracted(tmp_path: Path):
    """The buyer's strings as `make messages` extracts them from the source today."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).with_name("pybabel"), "extract", "-F", "babel.cfg",
         "-k", "lazy_gettext", "-k", "_l", "-k", "N_", "--no-location",
         "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        return read_po(f)


def test_every_shipped_catalog_translates_every_buyer_string(tmp_path):
    template = _extracted(tmp_path)
    ids = {m.id for m in template if m.id}
    assert len(ids) > 150  # the buyer's pages and mails are marked
    shipped = sorted(p.name for p in TRANSLATIONS.iterdir() if (p / "LC_MESSAGES").is_dir())
    assert shipped == sorted(SHIPPED)
    placeholder = re.compile(r"%\(\w+\)s")
    for language in shipped:
        with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalog = read_po(f, locale=language)
        assert not catalog.fuzzy, f"{language}: the catalog is marked fuzzy"
        problems = []
        for msgid in ids:
            message = catalog.get(msgid)
            if message is None:
                problems.append(f"missing: {msgid!r}")
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                problems.append(f"untranslated or fuzzy: {msgid!r}")
            if isinstance(message.string, tuple) and len(strings) != catalog.num_plurals:
                problems.append(
                    f"{len(strings)} plural forms, not {catalog.num_plurals}: {msgid!r}"
                )
            source = msgid if isinstance(msgid, str) else msgid[-1]
            for string in strings:
                if set(placeholder.findall(string)) - set(placeholder.findall(source)) or (
                    set(placeholder.findall(source)) - set(placeholder.findall(string))
                    and not isinstance(msgid, tuple)
                ):
                    problems.append(f"placeholders differ: {msgid!r}")
        assert problems == [], f"{language}: {problems}"
