"""The prospect's form at /s/<token>: lifecycle, storing once, anonymity, hostile text, headers."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import AuthActions, csrf_token, free_port
from flask import g, render_template_string
from markupsafe import escape

from debrief import entries
from debrief.auth import users
from debrief.deals import invitations
from debrief.store import get_store
from debrief.survey import anonymity, notices, service
from debrief.survey import views as survey_views
from debrief.survey.answer_entry import team_entry

CONTACT = {"company": "Quuxbridge Ltd", "name": "Zelda Quimby", "email": "zelda@quuxbridge.test"}


# --- helpers -----------------------------------------------------------------------------------


def make_deal(app, **overrides) -> dict:
    """A lost deal owned by rep@example.test with two recorded claims."""
    with app.app_context():
        store = get_store()
        rep = users.find_user(store, "rep@example.test")
        record = {
            "company": CONTACT["company"],
            "contact_name": CONTACT["name"],
            "contact_email": CONTACT["email"],
            "rep_id": rep["id"],
            "owner_text": None,
            "value": 12000.0,
            "lost_on": "2024-05-02",
            "competitor": "Rivalsoft",
            "rep_reason": "price",
            "rep_reasons": ["timing"],
            "notes": "",
            "claims": ["Live in two weeks", "24/7 phone support"],
            "crm_id": None,
            "created": invitations.stamp(),
            "created_by": rep["id"],
            "source": "form",
            **overrides,
        }
        deal_id = store.table("deals").insert(record)
        return store.table("deals").get(deal_id)


def invite(app, deal: dict, status: str = "sent", expiry_days: int = 30) -> tuple[dict, str]:
    """The deal's invitation moved to `status`, and a working raw token for it."""
    with app.app_context():
        store = get_store()
        inv = invitations.create_invitation(store, deal, expiry_days)
        if status != "pending":
            invitations.record_event(store, inv["id"], status, status=status)
        return store.table("invitations").get(inv["id"]), invitations.issue_token(store, inv["id"])


@pytest.fixture
def link(app):
    """(deal, invitation, token) for a freshly sent invitation."""
    deal = make_deal(app)
    inv, token = invite(app, deal)
    return deal, inv, token


def answer_data(client, token: str, **overrides) -> dict:
    """A complete, valid anonymous answer with the page's CSRF token."""
    data = {
        "csrf_token": csrf_token(client, f"/s/{token}"),
        "outcome": "competitor",
        "competitor": "Rivalsoft",
        "reason": "trust",
        "reasons": ["price", "support"],
        "own_words": "Their demo showed the real product; yours was slides.",
        "claim_0": "did-not-hold",
        "claim_1": "not-sure",
        "would_change": "A pilot with our own data.",
        "trust": "2",
        "attribution": "anonymous",
        "may_contact": "no",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def table(app, name: str) -> list[dict]:
    with app.app_context():
        return get_store().table(name).all()


def invitation(app, inv_id: int) -> dict:
    with app.app_context():
        return get_store().table("invitations").get(inv_id)


def entry_files(app) -> list[Path]:
    return list(entries.entry_files(Path(app.config["ENTRIES_DIR"])))


def outbox(app) -> list[email.message.EmailMessage]:
    assert notices.wait(), "the rep's notice is still queued"  # it is sent after the response
    folder = Path(app.config["DATA_DIR"]) / "outbox"
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


def text_of(msg) -> str:
    return "\n".join(
        part.get_content() for part in msg.walk() if part.get_content_maintype() == "text"
    )


# --- opening the link --------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "sent", "failed"])
def test_opening_shows_the_form_and_marks_the_invitation_opened(app, client, status):
    deal = make_deal(app)
    inv, token = invite(app, deal, status=status)
    page = client.get(f"/s/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "No sales pitch. Nobody will call you to reopen the deal." in html
    assert "two minutes" in html
    for claim in deal["claims"]:
        assert claim in html
    assert 'name="claim_1"' in html and 'name="csrf_token"' in html
    assert "Sign out" not in html and 'aria-label="Main"' not in html  # no staff navigation
    after = invitation(app, inv["id"])
    assert after["status"] == "opened" and after["opened_at"]
    assert [e["what"] for e in after["events"]].count("opened") == 1
    client.get(f"/s/{token}")  # a refresh adds no second "opened" event
    assert [e["what"] for e in invitation(app, inv["id"])["events"]].count("opened") == 1


def test_a_deal_without_claims_shows_no_claims_question(app, client):
    inv, token = invite(app, make_deal(app, claims=[]))
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert "turn out different" not in html and "claim_0" not in html


def test_the_form_states_who_sees_what_beside_the_attribution_choice(client, link):
    html = client.get(f"/s/{link[2]}").get_data(as_text=True)
    anonymous = re.search(r'id="attribution-0-means">(.*?)</p>', html, re.S).group(1)
    named = re.search(r'id="attribution-1-means">(.*?)</p>', html, re.S).group(1)
    for words in ("knowledge base", "dashboard", "exports", "without your name", "email address"):
        assert words in anonymous
    assert "name and" in named and "company" in named and "email address is never shown" in named
    assert 'value="anonymous" checked' in html or re.search(r'checked[^>]*value="anonymous"', html)
    assert re.search(r'id="may_contact-0"[^>]*value="no"', html) or 'value="no" checked' in html


# --- submitting --------------------------------------------------------------------------------


def test_a_valid_answer_is_stored_written_and_announced(app, client, link):
    deal, inv, token = link
    response = client.post(f"/s/{token}", data=answer_data(client, token))
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/s/{token}/thanks"
    )

    [answer] = table(app, "answers")
    assert answer["deal_id"] == deal["id"] and answer["invitation_id"] == inv["id"]
    assert (answer["outcome"], answer["reason"], answer["reasons"]) == (
        "competitor", "trust", ["price", "support"],
    )  # fmt: skip
    assert answer["claims"] == [
        {"claim": "Live in two weeks", "verdict": "did-not-hold"},
        {"claim": "24/7 phone support", "verdict": "not-sure"},
    ]
    assert answer["trust"] == 2 and answer["may_contact"] is False
    assert "name" not in answer and "company" not in answer
    assert invitation(app, inv["id"])["status"] == "answered"

    [path] = entry_files(app)
    entry = entries.read_entry(path)
    assert answer["entry_slug"] == entry.slug == path.stem
    assert (entry.kind, entry.deal, entry.rep) == ("debrief", None, "rep@example.test")
    assert entry.company is None and entry.competitor == "rivalsoft"
    assert entry.outcome == "competitor" and entry.trust == 2
    assert entry.prospect_reasons == ["trust", "price", "support"]
    assert entry.rep_reasons == ["price", "timing"]
    assert "Their demo showed the real product" in entries.plain_text(entry.body)
    assert "## Where the stories differ" in entry.body
    assert "**Didn't hold**: Live in two weeks" in entry.body

    [msg] = outbox(app)
    assert msg["To"] == "rep@example.test"
    body = text_of(msg)
    assert f"https://debrief.example.test/deals/{deal['id']}" in body
    for answer_text in ("Their demo", "pilot", "Rivalsoft", "slides"):
        assert answer_text not in body  # no answer text in the rep's mail


def test_an_entry_that_cannot_be_written_keeps_the_answer_and_its_slug_for_later(
    app, client, link, runner
):
    deal, inv, token = link
    entries_dir = Path(app.config["ENTRIES_DIR"])
    year = entries_dir / str(invitations.now().year)
    year.parent.mkdir(parents=True, exist_ok=True)
    year.write_text("a file where the year folder goes stops every entry write")
    response = client.post(f"/s/{token}", data=answer_data(client, token))
    assert response.status_code == 302
    [answer] = table(app, "answers")
    assert answer["entry_slug"] and entry_files(app) == []  # owed, under the name it will get
    assert invitation(app, inv["id"])["status"] == "answered"
    page = client.get(f"/s/{token}/thanks")  # rebuilt from the answer
    assert page.status_code == 200 and "Their demo showed the real product" in page.get_data(
        as_text=True
    )
    year.unlink()  # the folder is fixed: the next repair writes the entry
    assert "1 written" in runner.invoke(args=["kb", "reindex"]).output
    [path] = entry_files(app)
    assert path.stem == answer["entry_slug"]


def test_a_slug_whose_file_another_entry_took_after_a_kill_is_not_the_answers_entry(
    app, client, link
):
    deal, _, token = link
    client.post(f"/s/{token}", data=answer_data(client, token, attribution="named", name="Nia"))
    [answer] = table(app, "answers")
    [path] = entry_files(app)
    # As if killed before its file was written, and another deal's debrief took the name since.
    other = entries.read_entry(path)
    path.write_bytes(path.read_bytes().replace(f"Deal: {deal['id']}".encode(), b"Deal: 999999"))
    with app.app_context():
        entry = team_entry(get_store(), answer)
    assert entry.deal == deal["id"] and entry.slug == "" and other.slug == answer["entry_slug"]
    assert entry.body == other.body


def test_an_anonymous_file_another_answer_also_claims_is_not_surely_the_answers_entry(
    app, client, link
):
    token = link[2]
    client.post(f"/s/{token}", data=answer_data(client, token))
    [answer] = table(app, "answers")
    with app.app_context():
        store = get_store()
        assert team_entry(store, answer).slug == answer["entry_slug"]
        # A later answer killed before its file was written was given the same free name: the
        # file names no deal, so neither answer can tell whose it is, and each is rebuilt.
        store.table("answers").insert({**answer, "deal_id": 999999, "own_words": "Not mine."})
        entry = team_entry(store, answer)
    assert entry.slug == "" and "Their demo showed the real product" in entry.body


def page_text(html: str) -> str:
    """The words of a page as a reader sees them: tags dropped, entities and spaces folded."""
    import html as html_lib

    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"</?(?:a|strong|em|b|i|span|small)\b[^>]*>", "", text)  # inline: no gap
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def test_the_thank_you_page_shows_the_buyers_own_answer_and_nothing_the_rep_recorded(app, client):
    deal = make_deal(
        app,
        rep_reason="status-quo",  # distinctive: the buyer never picks these
        rep_reasons=["contract", "incumbent"],
        notes="Rep note: zanzibar-quokka, they loved the demo",
        competitor="Rivalsoft",
    )
    _, token = invite(app, deal)
    client.post(f"/s/{token}", data=answer_data(client, token))
    page = client.get(f"/s/{token}/thanks")
    html = page.get_data(as_text=True)
    text = page_text(html)
    assert page.status_code == 200
    [entry] = [entries.read_entry(p) for p in entry_files(app)]
    for hidden in (
        "Fear of change",  # the rep's main reason
        "Contract terms",  # the rep's other reasons
        "Relationship with another vendor",
        "zanzibar-quokka",  # the rep's note
        "Where the stories differ",
        "rep recorded",
        entry.title,  # the internal title ("Deal 3: ...")
        f"Deal {deal['id']}",
        f"#{deal['id']}",
        CONTACT["company"],
        "Quuxbridge",
    ):
        assert hidden.lower() not in text.lower(), f"{hidden!r} is on the buyer's thank-you page"
    for shown in (
        "What you decided Chose another vendor: Rivalsoft",
        "Main reason Trust",
        "Other reasons Price, Support",
        "Their demo showed the real product; yours was slides.",
        "Didn't hold: Live in two weeks",
        "Not sure: 24/7 phone support",
        "A pilot with our own data.",
        "How far you trusted what we told you 2 of 5",
        "Your name with this answer Anonymous",
        "May we contact you about it No",
    ):
        assert shown in text, f"{shown!r} missing from the thank-you page"
    assert "Only Rita and their managers at " in text  # and who will see it


def test_the_buyers_words_read_alike_for_the_buyer_and_on_the_deal_page(app, client, auth, link):
    deal, _, token = link
    client.post(f"/s/{token}", data=answer_data(client, token))
    thanks = page_text(client.get(f"/s/{token}/thanks").get_data(as_text=True))
    auth.login("rep@example.test")
    deal_page = page_text(client.get(f"/deals/{deal['id']}").get_data(as_text=True))
    for text, who, whose, the in (
        (thanks, "you", "your", "your"),
        (deal_page, "them", "their", "the"),
    ):
        assert f"In {whose} own words Their demo showed the real product" in text
        assert f"What we told {who}, and whether it held Didn't hold: Live in two weeks" in text
        assert "Not sure: 24/7 phone support" in text
        assert f"What would have changed {the} decision A pilot with our own data." in text


def test_the_thank_you_page_of_a_named_answer_shows_the_name_and_who_sees_it(app, client, link):
    token = link[2]
    client.post(
        f"/s/{token}",
        data=answer_data(
            client, token, attribution="named", name="Zed Named", company="Zedco",
            may_contact="yes", reasons=None, trust=None, claim_0=None, claim_1=None,
            own_words="", would_change="",
        ),
    )  # fmt: skip
    text = page_text(client.get(f"/s/{token}/thanks").get_data(as_text=True))
    assert "Your name with this answer With my name and company: Zed Named, Zedco" in text
    assert "May we contact you about it Yes" in text
    assert "with the name and company you gave" in text
    for absent in ("Other reasons", "How far you trusted", "whether it held", "own words"):
        assert absent not in text  # questions left blank are not listed


def test_someone_else_with_the_link_sees_only_already_received(app, client, link):
    token = link[2]
    client.post(f"/s/{token}", data=answer_data(client, token))
    other = app.test_client()
    for path in (f"/s/{token}", f"/s/{token}/thanks"):
        html = other.get(path).get_data(as_text=True)
        assert "Already received, thank you" in html
        assert "Their demo" not in html


def test_a_second_submit_stores_nothing_new(app, client, link):
    token = link[2]
    data = answer_data(client, token)
    client.post(f"/s/{token}", data=data)
    again = client.post(f"/s/{token}", data={**data, "own_words": "second try"})
    assert again.status_code == 200 and "Already received, thank you" in again.get_data(
        as_text=True
    )
    assert len(table(app, "answers")) == 1 and len(entry_files(app)) == 1
    assert table(app, "answers")[0]["own_words"].startswith("Their demo")
    assert len(outbox(app)) == 1


def test_two_tabs_submitting_at_once_store_one_answer_and_one_entry(app, link):
    token = link[2]
    clients = [app.test_client() for _ in range(4)]
    payloads = [answer_data(c, token, own_words=f"tab {i}") for i, c in enumerate(clients)]
    start = threading.Barrier(len(clients))
    codes: list[int] = []

    def submit(c, data):
        start.wait()
        codes.append(c.post(f"/s/{token}", data=data).status_code)

    pairs = zip(clients, payloads, strict=True)
    threads = [threading.Thread(target=submit, args=pair) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 200, 200, 302]
    assert len(table(app, "answers")) == 1 and len(entry_files(app)) == 1
    assert len(outbox(app)) == 1


@pytest.mark.parametrize(
    "overrides, field_name, message",
    [
        ({"outcome": None}, "outcome", "Please choose what you decided."),
        ({"reason": None}, "reason", "Please choose the main reason."),
        ({"outcome": "bogus"}, "outcome", "Not a valid choice"),
        ({"claim_0": "maybe"}, "claim_0", "Not a valid choice"),
        ({"trust": "9"}, "trust", "Not a valid choice"),
        ({"own_words": "x" * 10_001}, "own_words", "the limit is 10,000"),
        ({"own_words": "y" * 12_345}, "own_words", "shorten it by 2,345"),
        (
            {"attribution": "named", "name": " ", "company": ""},
            "name",
            "Give your name or your company",
        ),
    ],
)
def test_an_invalid_answer_is_shown_again_with_errors_and_nothing_stored(
    app, client, link, overrides, field_name, message
):
    inv, token = link[1], link[2]
    data = answer_data(client, token, would_change="Keep this text ✓", **overrides)
    page = client.post(f"/s/{token}", data=data)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    error = re.search(rf'<p class="error" id="{field_name}-error">(.*?)</p>', html)
    assert error and message in error.group(1)
    assert f'aria-describedby="{field_name}-error"' in html or re.search(
        rf'aria-describedby="[^"]*{field_name}-error', html
    )
    assert "Keep this text ✓" in html  # nothing the buyer typed is lost
    assert table(app, "answers") == [] and entry_files(app) == [] and outbox(app) == []
    assert invitation(app, inv["id"])["status"] == "opened"


def test_an_over_long_paste_is_refused_beside_its_field_with_every_character_kept(
    app, client, link
):
    inv, token = link[1], link[2]
    form = client.get(f"/s/{token}").get_data(as_text=True)
    textarea = re.search(r"<textarea[^>]*id=\"own_words\"[^>]*>", form).group(0)
    assert "maxlength" not in textarea  # the browser would cut a long paste silently
    assert 'data-limit="10000"' in textarea and 'dir="auto"' in textarea
    assert '<p class="char-count" id="own_words-count">Up to 10,000 characters.' in form
    pasted = "שלום, a long paste. " * 600 + "THE-LAST-WORDS"  # 12,014 characters
    page = client.post(f"/s/{token}", data=answer_data(client, token, own_words=pasted))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    error = re.search(r'<p class="error" id="own_words-error">(.*?)</p>', html).group(1)
    assert (
        "12,014 characters long; the limit is 10,000" in error and "nothing has been cut" in error
    )
    typed = re.search(r'<textarea[^>]*id="own_words"[^>]*>\r?\n?(.*?)</textarea>', html, re.S)
    assert typed.group(1) == str(escape(pasted))  # all of it, THE-LAST-WORDS included
    assert table(app, "answers") == [] and entry_files(app) == []
    assert invitation(app, inv["id"])["status"] == "opened"


def test_line_ends_count_once_as_the_counter_on_the_page_counts_them(app, client, link):
    token = link[2]
    text = "abc\r\n" * 2400  # 9,600 characters as typed, 12,000 bytes with CR LF line ends
    page = client.post(f"/s/{token}", data=answer_data(client, token, would_change=text))
    assert page.status_code == 302, page.get_data(as_text=True)[:2000]
    [answer] = table(app, "answers")
    assert answer["would_change"] == "abc\n" * 2400


def test_a_bad_csrf_token_stores_nothing(app, client, link):
    token = link[2]
    data = answer_data(client, token, csrf_token="forged")
    page = client.post(f"/s/{token}", data=data)
    assert page.status_code == 400
    assert table(app, "answers") == [] and invitation(app, link[1]["id"])["status"] == "opened"


def test_a_named_answer_carries_name_and_company(app, client, link):
    token = link[2]
    data = answer_data(client, token, attribution="named", name="Zed", company="Acme Buyer Co")
    client.post(f"/s/{token}", data=data)
    [answer] = table(app, "answers")
    assert (answer["name"], answer["company"]) == ("Zed", "Acme Buyer Co")
    entry = entries.read_entry(entry_files(app)[0])
    assert entry.company == "Acme Buyer Co" and entry.title.startswith("Acme Buyer Co:")
    assert "Zed, Acme Buyer Co" in entries.plain_text(entry.body)


def test_name_typed_then_switched_back_to_anonymous_is_not_kept(app, client, link):
    token = link[2]
    data = answer_data(client, token, name="Secret Sam", company="Hidden Inc")
    client.post(f"/s/{token}", data=data)
    [answer] = table(app, "answers")
    assert "name" not in answer
    assert "Secret Sam" not in entry_files(app)[0].read_text()


# --- anonymity ---------------------------------------------------------------------------------


def test_an_anonymous_answer_leaks_no_identity_anywhere_but_the_deal(app, client, link):
    deal, _, token = link
    client.post(f"/s/{token}", data=answer_data(client, token))
    secrets = [CONTACT["company"], CONTACT["name"], CONTACT["email"], "Quuxbridge", "zelda"]
    assert notices.wait()  # the rep's notice goes out after the response
    places = {p: p.read_bytes() for p in Path(app.config["ENTRIES_DIR"]).rglob("*") if p.is_file()}
    places.update({p: p.read_bytes() for p in Path(app.config["DATA_DIR"]).glob("index.sqlite*")})
    places.update({p: p.read_bytes() for p in (Path(app.config["DATA_DIR"]) / "outbox").glob("*")})
    assert any(p.suffix == ".md" for p in places) and any(p.suffix == ".eml" for p in places)
    for answer in table(app, "answers"):
        places[Path("answers-record")] = repr(answer).encode()
    auth_client = app.test_client()
    pages = [client.get(f"/s/{token}/thanks"), client.get(f"/s/{token}")]
    AuthActions(auth_client).login("boss@example.test")  # a manager reaches every team page
    slug = table(app, "answers")[0]["entry_slug"]
    paths = ["/kb", f"/kb/{slug}", "/kb?q=slides", "/kb/export", "/dashboard", "/themes"]
    for path in paths:
        pages.append(auth_client.get(path))
    assert pages[3].status_code == 200 and "slides" in pages[3].get_data(as_text=True)
    for page in pages:
        places[Path(page.request.path)] = page.get_data()
        page.close()  # the export is streamed from a file
    for where, content in places.items():
        for secret in secrets:
            assert secret.lower().encode() not in content.lower(), f"{secret!r} leaks in {where}"


LEAKY = {
    "own_words": "Zelda Quimby here: QUUXBRIDGE needed it sooner. Mail zelda@quuxbridge.test.",
    "would_change": "Call zelda@quuxbridge.test or ask quuxbridge ltd's board.",
}


def leaky_answer(app, client, **deal_fields) -> tuple[dict, dict, str]:
    """An anonymous answer whose claims and own words name the deal's company, contact, email."""
    claims = ["Native sync with the Quuxbridge CRM", "Zelda Quimby gets a named engineer"]
    deal = make_deal(app, claims=claims, crm_id="CRM-778899", **deal_fields)
    _, token = invite(app, deal)
    response = client.post(f"/s/{token}", data=answer_data(client, token, **LEAKY))
    assert response.status_code == 302
    [answer] = [a for a in table(app, "answers") if a["deal_id"] == deal["id"]]
    return deal, answer, token


def test_an_anonymous_entry_names_no_deal_company_contact_email_or_crm_id(app, client):
    deal, answer, _ = leaky_answer(app, client)
    [path] = entry_files(app)
    text = path.read_text()
    entry = entries.read_entry(path)
    assert answer["entry_slug"] == path.stem
    assert entry.kind == "debrief" and entry.deal is None and entry.company is None
    assert "Deal:" not in text and "Company:" not in text
    assert not re.search(rf"Deal\W*{deal['id']}\b", entry.title) and "deal" not in path.stem
    assert entry.title == "A buyer's debrief: Chose another vendor, mainly Trust"
    for secret in ("quuxbridge", "zelda", "quimby", "CRM-778899", "778899"):
        assert secret.lower() not in text.lower(), secret
    plain = entries.plain_text(entry.body)
    assert "[the buyer's company] needed it sooner" in plain
    assert "[the buyer] here" in plain and "Mail [email]." in plain
    assert "ask [the buyer's company]'s board" in plain
    assert "Native sync with the \\[the buyer's company\\] CRM" in entry.body
    # The store keeps the answer verbatim: the deal's rep and the managers read it there.
    assert "Zelda Quimby here" in answer["own_words"]


def test_a_named_entry_keeps_the_deal_and_the_words_as_given(app, client):
    deal = make_deal(app, claims=["Native sync with the Quuxbridge CRM"])
    _, token = invite(app, deal)
    data = answer_data(client, token, attribution="named", name="Zelda Quimby", **LEAKY)
    client.post(f"/s/{token}", data={**data, "company": "Quuxbridge Ltd"})
    entry = entries.read_entry(entry_files(app)[0])
    assert entry.deal == deal["id"] and entry.company == "Quuxbridge Ltd"
    assert entry.title == "Quuxbridge Ltd: Chose another vendor, mainly Trust"
    assert LEAKY["own_words"] in entry.body and "Quuxbridge CRM" in entry.body


SCRUBBED = [
    # Scripts written without spaces (Japanese, Chinese) or with words joined to the name
    # (Arabic "و" and, "ل" for): the name stands inside a longer run of letters.
    ("株式会社ライバル", "山田太郎", "株式会社ライバルの担当者、山田太郎さん。ライバルは遅い",
     "[the buyer's company]の担当者、[the buyer]さん。[the buyer's company]は遅い"),
    ("شركة النور", "أحمد", "تحدثت مع أحمد ولأحمد رأي. لشركة النور مشكلة",
     "تحدثت مع [the buyer] ول[the buyer] رأي. ل[the buyer's company] مشكلة"),
    # A contact is named by first name or surname alone as often as in full.
    ("Quuxbridge Ltd", "Zelda Quimby", "Zelda told us. QUIMBY agreed; zelda@x.test",
     "[the buyer] told us. [the buyer] agreed; [email]"),
    # ... but a name part that is also a common word is replaced only where written as a name.
    ("Vexley", "Will Bill", "The bill will matter, Bill said.",
     "The bill will matter, [the buyer] said."),
    # Latin names stay whole words; regex characters are plain characters.
    ("Apple", "Bob", "We liked apples; Apple's price. Bob said so, bobby not.",
     "We liked apples; [the buyer's company]'s price. [the buyer] said so, bobby not."),
    ("C++ Labs (EU)", "", "C++ Labs (EU) and c++  labs (eu) and C++ Labs", "[the buyer's company] "
     "and [the buyer's company] and C++ Labs"),
]  # fmt: skip


@pytest.mark.parametrize("company, contact, text, shown", SCRUBBED)
def test_the_deals_names_are_replaced_in_any_script_and_in_part(company, contact, text, shown):
    deal = {"company": company, "contact_name": contact, "contact_email": "z@q.test"}
    assert anonymity.scrub(text, deal) == shown


def test_a_japanese_buyers_anonymous_entry_names_no_company_or_contact(app, client):
    deal = make_deal(app, company="株式会社ライバル", contact_name="山田 太郎", claims=[])
    _, token = invite(app, deal)
    words = "株式会社ライバルの山田さんより。ライバルは遅かった。"
    client.post(f"/s/{token}", data=answer_data(client, token, own_words=words))
    text = entry_files(app)[0].read_text()
    assert "遅かった" in text
    for secret in ("ライバル", "山田"):
        assert secret not in text, secret


def test_other_readers_cannot_find_or_place_an_anonymous_debrief(app, client):
    deal, answer, _ = leaky_answer(app, client)
    slug = answer["entry_slug"]
    other = app.test_client()
    AuthActions(other).login("other@example.test")
    owner = app.test_client()
    AuthActions(owner).login("rep@example.test")
    token = csrf_token(owner, "/kb/lessons/new")
    response = owner.post(
        "/kb/lessons/new",
        data={"title": "Sync claims", "body": "Check it.", "deal": deal["id"], "csrf_token": token},
    )
    lesson = response.headers["Location"].rsplit("/", 1)[1]
    for query in ("Quuxbridge", "quuxbridge ltd", "Zelda", "Quimby", "zelda@quuxbridge.test",
                  "CRM-778899", f"Deal {deal['id']}"):  # fmt: skip
        html = other.get(f"/kb?q={query}").get_data(as_text=True)
        assert f"/kb/{slug}" not in html, query
    assert f"/kb/{slug}" in other.get("/kb?q=sooner").get_data(as_text=True)  # it is searchable
    debrief_page = other.get(f"/kb/{slug}").get_data(as_text=True)
    lesson_page = other.get(f"/kb/{lesson}").get_data(as_text=True)
    assert f"/kb/{lesson}" not in debrief_page and f"/kb/{slug}" not in lesson_page
    for html in (debrief_page, lesson_page):
        assert f"#{deal['id']}" not in html and f"/deals/{deal['id']}" not in html
        assert "quuxbridge" not in html.lower() and "zelda" not in html.lower()
    assert other.get(f"/deals/{deal['id']}").status_code == 404
    # The deal's rep and a manager reach the answer and its entry from the deal, both ways.
    manager = app.test_client()
    AuthActions(manager).login("boss@example.test")
    for reader in (owner, manager):
        deal_page = reader.get(f"/deals/{deal['id']}").get_data(as_text=True)
        assert f'href="/kb/{slug}"' in deal_page and "Zelda Quimby here" in deal_page
        debrief_page = reader.get(f"/kb/{slug}").get_data(as_text=True)
        assert f'href="/kb/{lesson}"' in debrief_page
        assert f'href="/deals/{deal["id"]}"' in debrief_page
        assert f'href="/kb/{slug}"' in reader.get(f"/kb/{lesson}").get_data(as_text=True)


def test_no_mail_names_the_deal_of_an_anonymous_answer_to_anyone_but_its_rep(app, client):
    deal, answer, _ = leaky_answer(app, client)
    for msg in outbox(app):
        text = text_of(msg)
        if f"#{deal['id']}" in text or answer["entry_slug"] in text:
            assert msg["To"] == "rep@example.test"  # the deal's own rep
        assert answer["entry_slug"] not in text and "Zelda Quimby here" not in text


def test_deal_page_fragment_shows_reasons_side_by_side_and_identity_to_rep_and_managers(
    app, client, link
):
    deal, _, token = link
    client.post(
        f"/s/{token}", data=answer_data(client, token, attribution="named", name="Zed Named")
    )

    def fragment(email_address: str) -> str:
        with app.test_request_context("/deals/1"):
            g.user = users.find_user(get_store(), email_address)
            panel = survey_views.answer_panel(deal)
            return render_template_string(
                '{% include "survey/_answer.html" %}', deal=deal, panel=panel
            )

    html = fragment("rep@example.test")
    rows = re.findall(
        r'<th scope="row">([^<]*?)\s*<span class="(differs|agrees)">(.*?)</span>', html
    )
    assert ("Main reason", "differs", "✗ Differs") in rows  # price (rep) against trust (buyer)
    assert ("Vendor chosen", "agrees", "✓ Agrees") in rows
    assert "Price" in html and "Trust" in html and "Zed Named" in html
    assert "Zed Named" in fragment("boss@example.test")
    assert "Zed Named" not in fragment("other@example.test")


RIVAL = "株式会社ライバル"


def test_a_vendor_named_in_any_script_is_kept_and_differs_from_none_on_the_deal_page(
    app, client, auth, link
):
    deal, _, token = link
    with app.app_context():
        get_store().table("deals").update(deal["id"], {"competitor": None})
    data = answer_data(client, token, competitor=RIVAL, attribution="named", company=RIVAL)
    assert client.post(f"/s/{token}", data=data).status_code == 302
    [path] = entry_files(app)
    entry = entries.read_entry(path)
    assert entry.competitor == RIVAL and RIVAL in path.name

    auth.login("rep@example.test")
    html = client.get(f"/deals/{deal['id']}").get_data(as_text=True)
    row = re.search(r"Vendor chosen\s*<span class=\"(\w+)\">.*?</tr>", html, re.S)
    assert row.group(1) == "differs" and "<td>—</td>" in row.group(0)
    assert f"<bdi>{RIVAL}</bdi>" in row.group(0)
    assert '<blockquote class="buyer" dir="auto">' in html  # the buyer's words, any direction
    # The entry, its facet link and the filtered search all work with the name as a slug.
    page = client.get(f"/kb/{entry.slug}")
    assert page.status_code == 200 and '<pre dir="auto"><code class="language-buyer">' in page.text
    kb = client.get("/kb").get_data(as_text=True)
    quoted = "competitor=%E6%A0%AA%E5%BC%8F%E4%BC%9A%E7%A4%BE%E3%83%A9%E3%82%A4%E3%83%90%E3%83%AB"
    assert quoted in kb
    found = client.get(f"/kb?{quoted}").get_data(as_text=True)
    assert "1 entry" in found and entry.title in found
    assert '<p class="snippet" dir="auto">' in found


@pytest.mark.parametrize(
    "rep, buyer, agrees",
    [(None, RIVAL, False), (RIVAL, None, False), ("", "  ", True), (None, None, True),
     (RIVAL, f" {RIVAL} ", True), (RIVAL, "ライバル", False), ("Rivalry CRM", "rivalry  crm", True),
     ("Rivalsoft", None, False), ("🙂", None, False), ("🙂", "🙂", True), ("🙂", "😀", False),
     ("Ça Corp", "ca corp", True), ("—", RIVAL, False)],
)  # fmt: skip
def test_the_vendor_comparison_is_right_for_any_text(rep, buyer, agrees):
    deal = {"rep_reason": "price", "rep_reasons": [], "competitor": rep}
    answer = {"reason": "price", "reasons": [], "competitor": buyer}
    rows = {row["what"]: row for row in service.compare(deal, answer)}
    assert rows["Vendor chosen"]["agrees"] is agrees


# --- hostile text ------------------------------------------------------------------------------

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3))\n"
    "~~~\n~~~~ buyer\n---\nTitle: injected\n"
    + "W" * 3000
    + "\n😀 שלום עולם \u202etxet\u202c\x00nul\x07bell\x1b[31m\ttab\r\nend"
)


def test_hostile_text_is_stored_faithfully_and_rendered_escaped(app, client, link):
    token = link[2]
    data = answer_data(
        client, token, own_words=HOSTILE, would_change=HOSTILE, competitor="<b>Evil</b>\x00 Co"
    )
    # Control characters are refused by the one text rule (debrief.text); the form comes back
    # with them taken out, so sending it again keeps everything the buyer can see.
    refused = client.post(f"/s/{token}", data=data)
    assert refused.status_code == 200 and table(app, "answers") == []
    html = refused.get_data(as_text=True)
    assert "invisible control characters" in html and "one line of plain text" in html
    expected = (
        HOSTILE.replace("\x00", "").replace("\x07", "").replace("\x1b", "").replace("\r\n", "\n")
    )
    resent = answer_data(
        client, token, own_words=expected, would_change=expected, competitor="<b>Evil</b> Co"
    )
    assert client.post(f"/s/{token}", data=resent).status_code == 302
    [answer] = table(app, "answers")
    assert answer["own_words"] == expected and answer["would_change"] == expected
    assert answer["competitor"] == "<b>Evil</b> Co"

    [path] = entry_files(app)
    raw = path.read_bytes()
    assert b"\x00" not in raw and b"\x07" not in raw
    entry = entries.read_entry(path)
    assert entry.title.startswith("A buyer's debrief: ") and entry.competitor == "b-evil-b-co"
    assert entries.plain_text(entry.body).count(expected.rstrip("\n")) == 2
    html = client.get(f"/s/{token}/thanks").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript' not in html
    assert "😀 שלום עולם" in html


# --- closed links ------------------------------------------------------------------------------


def test_an_expired_link_is_410_with_a_kind_page_and_marks_expired(app, client):
    inv, token = invite(app, make_deal(app), expiry_days=-1)
    page = client.get(f"/s/{token}")
    assert page.status_code == 410
    assert "has expired" in page.get_data(as_text=True)
    assert "Thank you for thinking of us" in page.get_data(as_text=True)
    assert invitation(app, inv["id"])["status"] == "expired"
    data = {"csrf_token": csrf_token(client, "/login"), "outcome": "price", "reason": "price"}
    assert client.post(f"/s/{token}", data=data).status_code == 410
    assert table(app, "answers") == []


def test_a_link_that_expires_while_the_form_is_open_is_not_answered(app, client, link):
    token, inv = link[2], link[1]
    data = answer_data(client, token)
    with app.app_context():
        past = invitations.stamp(invitations.now() - timedelta(minutes=1))
        get_store().table("invitations").update(inv["id"], {"expires_at": past})
    assert client.post(f"/s/{token}", data=data).status_code == 410
    assert table(app, "answers") == []


@pytest.mark.parametrize(
    "token",
    [
        "A" * 32,  # well-formed, unknown
        "short",  # malformed
        "x" * 200,  # too long
        "bad%20chars%3Cscript%3E-but-long-enough-1234567890",
        "%00" * 40,
    ],
)
def test_unknown_or_malformed_tokens_are_the_plain_404(client, token):
    page = client.get(f"/s/{token}")
    missing = client.get("/no-such-page-at-all")
    assert page.status_code == missing.status_code == 404
    assert page.get_data() == missing.get_data()


def test_unknown_tokens_are_throttled_per_address_but_real_links_are_not(app, client, link):
    app.config["TOKEN_MISSES"] = 5
    for i in range(5):
        assert client.get(f"/s/{'Z' * 31}{i}").status_code == 404
    assert client.get(f"/s/{'Z' * 32}").status_code == 429
    assert client.get(f"/s/{link[2]}").status_code == 200  # a valid link still works
    elsewhere = app.test_client()
    page = elsewhere.get(f"/s/{'Y' * 32}", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert page.status_code == 404  # another address has its own count


# --- opting out --------------------------------------------------------------------------------


def test_optout_get_changes_nothing_and_post_suppresses(app, client, link):
    inv, token = link[1], link[2]
    page = client.get(f"/s/{token}/optout")
    assert page.status_code == 200 and "Yes, stop all mail to me" in page.get_data(as_text=True)
    with app.app_context():
        assert not invitations.is_suppressed(get_store(), CONTACT["email"])
    assert invitation(app, inv["id"])["status"] == "sent"

    done = client.post(
        f"/s/{token}/optout", data={"csrf_token": csrf_token(client, f"/s/{token}/optout")}
    )
    assert done.status_code == 200 and "no more mail" in done.get_data(as_text=True)
    with app.app_context():
        assert invitations.is_suppressed(get_store(), CONTACT["email"].upper())
    assert invitation(app, inv["id"])["status"] == "opted-out"
    after = client.get(f"/s/{token}").get_data(as_text=True)
    assert "not to write again" in after and "csrf_token" not in after


def test_optout_post_without_csrf_is_refused(app, client, link):
    page = client.post(f"/s/{link[2]}/optout", data={})
    assert page.status_code == 400
    with app.app_context():
        assert not invitations.is_suppressed(get_store(), CONTACT["email"])


def test_rfc8058_one_click_unsubscribe_works_without_csrf(app, client, link):
    page = client.post(f"/s/{link[2]}/optout", data={"List-Unsubscribe": "One-Click"})
    assert page.status_code == 200
    with app.app_context():
        assert invitations.is_suppressed(get_store(), CONTACT["email"])
    assert invitation(app, link[1]["id"])["status"] == "opted-out"


def test_opting_out_after_answering_keeps_the_answer(app, client, link):
    token = link[2]
    client.post(f"/s/{token}", data=answer_data(client, token))
    client.post(f"/s/{token}/optout", data={"List-Unsubscribe": "One-Click"})
    assert invitation(app, link[1]["id"])["status"] == "answered"
    with app.app_context():
        assert invitations.is_suppressed(get_store(), CONTACT["email"])


def test_optout_of_an_unknown_token_is_404(client):
    assert (
        client.post(f"/s/{'Q' * 32}/optout", data={"List-Unsubscribe": "One-Click"}).status_code
        == 404
    )


# --- headers -----------------------------------------------------------------------------------


def test_every_survey_response_is_private(app, client, link):
    token = link[2]
    _, expired_token = invite(app, make_deal(app), expiry_days=-1)
    responses = [
        client.get(f"/s/{token}"),
        client.get(f"/s/{token}/optout"),
        client.post(f"/s/{token}", data={"outcome": "bogus"}),
        client.get(f"/s/{'N' * 32}"),
        client.get(f"/s/{expired_token}"),
    ]
    client.post(f"/s/{token}", data=answer_data(client, token))
    responses += [client.get(f"/s/{token}/thanks"), client.get(f"/s/{token}")]
    for response in responses:
        assert response.headers["Referrer-Policy"] == "no-referrer", response.request.path
        assert response.headers["Cache-Control"] == "no-store", response.request.path
        # No inline script and nothing from elsewhere: at most our own character counter.
        scripts = re.findall(r"<script[^>]*>(.*?)</script>", response.get_data(as_text=True))
        assert scripts in ([], [""]), response.request.path
        assert all(
            tag == '<script src="/static/survey.js" defer>'
            for tag in re.findall(r"<script[^>]*>", response.get_data(as_text=True))
        )


# --- mail to the rep ---------------------------------------------------------------------------


def test_the_rep_is_told_over_real_smtp(app, client, link, smtp_server):
    port, inbox = smtp_server
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{port}"
    token = link[2]
    client.post(f"/s/{token}", data=answer_data(client, token))
    assert notices.wait()  # sent after the response, by the notices thread
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["rep@example.test"]
    msg = inbox.received()
    assert f"/deals/{link[0]['id']}" in text_of(msg) and "Their demo" not in text_of(msg)


def outbox_files(app) -> list[Path]:
    return sorted((Path(app.config["DATA_DIR"]) / "outbox").glob("*.eml"))


@pytest.mark.parametrize("max_delay", [30.0, 0.3])
def test_the_reps_notice_waits_for_a_pause_in_requests_or_max_delay(
    app, client, link, monkeypatch, max_delay
):
    monkeypatch.setattr(notices, "MAX_DELAY", max_delay)
    token = link[2]
    data = answer_data(client, token)
    with app.test_request_context("/deals"):
        notices.request_began()  # a request of this process still running
        try:
            assert client.post(f"/s/{token}", data=data).status_code == 302
            sent = notices.wait(1.0)
            assert sent is (max_delay < 1.0)  # held back while busy, unless held too long
            assert len(outbox_files(app)) == int(sent)
        finally:
            notices.request_ended()
    assert notices.wait(5.0) and len(outbox_files(app)) == 1
    assert table(app, "answers")[0]["rep_notified"]


def test_notices_queued_while_busy_are_stamped_in_one_write(app, client):
    # Under load the notices wait for a pause; their stamps then cost one shard write in all.
    tokens = [invite(app, make_deal(app, contact_email=f"b{i}@buyer.test"))[1] for i in range(3)]
    with app.test_request_context("/deals"):
        notices.request_began()
        try:
            for token in tokens:
                response = client.post(f"/s/{token}", data=answer_data(client, token))
                assert response.status_code == 302
            writes = get_store().table("answers").version()
        finally:
            notices.request_ended()
    assert notices.wait(5.0) and len(outbox_files(app)) == 3
    assert all(a["rep_notified"] for a in table(app, "answers"))
    with app.app_context():
        assert get_store().table("answers").version() == writes + 1  # one write, not three


def test_a_mail_failure_loses_no_answer(app, client, link, caplog):
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    token = link[2]
    response = client.post(f"/s/{token}", data=answer_data(client, token))
    assert response.status_code == 302
    assert len(table(app, "answers")) == 1 and len(entry_files(app)) == 1
    assert notices.wait()
    assert "mail to the rep failed" in caplog.text
    assert table(app, "answers")[0]["rep_notified"] is None  # left for `invites remind`
    assert client.get(f"/s/{token}/thanks").status_code == 200


def test_a_notice_cut_off_by_a_crash_is_sent_by_invites_remind_once(app, client, link, runner):
    deal, _, token = link
    client.post(f"/s/{token}", data=answer_data(client, token))
    assert len(outbox(app)) == 1
    with app.app_context():  # as if the process died between the answer and its mail
        answers = get_store().table("answers")
        [answer] = answers.all()
        stored = invitations.now() - notices.CATCH_UP_AFTER - timedelta(seconds=1)
        answers.update(answer["id"], {"rep_notified": None, "submitted": invitations.stamp(stored)})
    first, second = (runner.invoke(args=["invites", "remind"]) for _ in range(2))
    assert first.exit_code == 0 and "1 rep notice(s) sent, 0 failed" in first.output
    assert second.exit_code == 0 and "0 rep notice(s) sent" in second.output
    mails = outbox(app)
    assert len(mails) == 2 and mails[1]["To"] == "rep@example.test"
    assert f"/deals/{deal['id']}" in text_of(mails[1])
    assert table(app, "answers")[0]["rep_notified"]


def test_invites_remind_leaves_fresh_and_older_answers_alone(app, client, link, runner):
    token = link[2]
    client.post(f"/s/{token}", data=answer_data(client, token))
    assert len(outbox(app)) == 1
    with app.app_context():  # a fresh answer whose mail is still on its way, and one stored
        answers = get_store().table("answers")  # before rep_notified existed (no field at all)
        [answer] = answers.all()
        answers.update(answer["id"], {"rep_notified": None})
        old = {k: v for k, v in answer.items() if k not in ("id", "rep_notified")}
        answers.insert({**old, "invitation_id": -1, "submitted": "2020-01-01T00:00:00+00:00"})
    result = runner.invoke(args=["invites", "remind"])
    assert result.exit_code == 0 and "0 rep notice(s) sent" in result.output
    assert len(outbox(app)) == 1


# --- who is asking (SPEC 2.2 and 2.3) ------------------------------------------------------------

ORG_NAME = "Quayside Partners"


def buyer_pages(app, client) -> dict:
    """Every page a buyer can meet, by name: (status code, HTML)."""
    pages = {}
    _, token = invite(app, make_deal(app))
    pages["form"] = client.get(f"/s/{token}")
    pages["optout"] = client.get(f"/s/{token}/optout")
    _, answered = invite(app, make_deal(app))
    client.post(f"/s/{answered}", data=answer_data(client, answered))
    pages["thanks"] = client.get(f"/s/{answered}/thanks")
    pages["received"] = app.test_client().get(f"/s/{answered}")
    _, expired = invite(app, make_deal(app), expiry_days=-1)
    pages["expired"] = client.get(f"/s/{expired}")
    _, leaving = invite(app, make_deal(app))
    pages["opted_out"] = client.post(f"/s/{leaving}/optout", data={"List-Unsubscribe": "One-Click"})
    pages["opted_out_later"] = client.get(f"/s/{leaving}")
    return {name: (r.status_code, r.get_data(as_text=True)) for name, r in pages.items()}


def test_every_buyer_page_names_the_org_in_its_heading_and_says_who_reads_answers(app, client):
    app.config.update(ORG_NAME=ORG_NAME, ORG_URL=None, PRIVACY_URL=None)
    pages = buyer_pages(app, client)
    assert {name: code for name, (code, _) in pages.items()} == {
        "form": 200, "optout": 200, "thanks": 200, "received": 200, "expired": 410,
        "opted_out": 200, "opted_out_later": 200,
    }  # fmt: skip
    for name, (_, html) in pages.items():
        [heading] = re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S)
        assert ORG_NAME in page_text(heading), f"{name}: the heading does not name the org"
        assert re.search(r"<title>[^<]*Quayside Partners</title>", html), name
        line = re.search(r'<p class="who-reads">(.*?)</p>', html, re.S)
        assert line, f"{name}: no line says who reads the answer"
        assert f"Only Rita and their managers at {ORG_NAME} will know" in page_text(line[1])
        assert "privacy" not in html.lower()  # no privacy address set, no link
        assert "Debrief" not in page_text(html)  # the buyer is told who asks, not the tool


def test_a_deal_whose_rep_is_gone_names_the_person_who_worked_with_you(app, client):
    deal = make_deal(app, rep_id=999)
    _, token = invite(app, deal)
    text = page_text(client.get(f"/s/{token}").get_data(as_text=True))
    assert "Only the person who worked with you and their managers at" in text


def test_the_privacy_and_org_links_are_on_every_buyer_page_when_set(app, client):
    app.config.update(
        ORG_NAME=ORG_NAME,
        ORG_URL="https://quayside.example/",
        PRIVACY_URL="https://quayside.example/privacy?lang=en&x=1",
    )
    for name, (_, html) in buyer_pages(app, client).items():
        privacy = re.search(
            r'<a href="https://quayside.example/privacy\?lang=en&amp;x=1"[^>]*>', html
        )
        assert privacy and "noreferrer" in privacy[0], f"{name}: no privacy link"
        assert re.search(r'<a href="https://quayside.example/"[^>]*>Quayside Partners</a>', html)


def test_the_org_is_escaped_on_pages(app, client):
    app.config.update(ORG_NAME="<b>Bold</b> & Sons", ORG_URL=None, PRIVACY_URL=None)
    _, token = invite(app, make_deal(app))
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt; &amp; Sons" in html
