"""Invitations by mail: a real SMTP server receives them; tokens, opt-outs, failures, reminders."""

import email
import email.policy
import re
import threading
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import csrf_token, free_port, run_smtp_server

from debrief.auth import users
from debrief.deals import invitations, sending, service
from debrief.store import get_store

BASE = "https://debrief.example.test"


def make_deal(app, owner_email="rep@example.test", **fields):
    """A deal stored through the service."""
    with app.app_context():
        store = get_store()
        owner = users.find_user(store, owner_email)
        data = {
            "company": "Acme Widgets",
            "contact_name": "Jane Doe",
            "contact_email": "jane@acme.example.com",
            "claims": ["SSO included"],
            **fields,
        }
        return service.create_deal(store, data, owner, "form", created_by=owner["id"])[0]


def invitation(app, deal):
    with app.app_context():
        return invitations.for_deal(get_store(), deal["id"])


def send_from_page(client, deal, note="", **extra):
    """Open the preview page and press Send, as the rep does."""
    path = f"/deals/{deal['id']}/invite"
    data = {"csrf_token": csrf_token(client, path), "personal_note": note, "send": "1", **extra}
    return client.post(path, data=data)


def token_of(message) -> str:
    """The token in the survey link of a received mail."""
    text = message.get_body(("plain",)).get_content()
    return re.search(rf"{re.escape(BASE)}/s/([A-Za-z0-9_-]+)\s", text).group(1)


def test_the_invitation_arrives_over_smtp_honest_and_with_a_working_link(app, client, auth, smtp):
    deal = make_deal(app)
    auth.login()
    preview = client.get(f"/deals/{deal['id']}/invite").get_data(as_text=True)
    assert "Two minutes on why you didn" in preview and "Nobody will call you" in preview

    response = send_from_page(client, deal, note="Thank you for the time your team gave us.")
    assert response.status_code == 302

    msg = smtp.received()
    assert smtp.envelopes[0].rcpt_tos == ["jane@acme.example.com"]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["To"].addresses[0].display_name == "Jane Doe"
    assert msg["Date"].datetime is not None and msg["Message-ID"]
    assert msg["Reply-To"] == "rep@example.test"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for promise in ("Nobody will call you to reopen the deal", "anonymous", "two minutes"):
        assert promise.lower() in text.lower() and promise.lower() in html.lower()
    assert "Thank you for the time your team gave us." in text
    assert "<img" not in html.lower()  # no tracking pixel, no images at all

    token = token_of(msg)
    assert len(token) >= 22  # at least 128 random bits, base64url
    assert msg["List-Unsubscribe"].strip() == f"<{BASE}/s/{token}/optout>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f'href="{BASE}/s/{token}"' in html and f'href="{BASE}/s/{token}/optout"' in html

    # Follow the link as the buyer: it opens their form.
    auth.logout()
    page = client.get(urlsplit(f"{BASE}/s/{token}").path)
    assert page.status_code == 200
    assert "SSO included" in page.get_data(as_text=True)

    sent = invitation(app, deal)
    assert sent["email"] == "jane@acme.example.com"
    assert sent["personal_note"] == "Thank you for the time your team gave us."
    assert [e["what"] for e in sent["events"]][:2] == ["created", "sent"]


def test_the_token_is_stored_only_as_a_hash(app, client, auth, smtp):
    deal = make_deal(app)
    auth.login()
    send_from_page(client, deal)
    token = token_of(smtp.received())
    with app.app_context():
        assert invitations.find_by_token(get_store(), token)["deal_id"] == deal["id"]
        [row] = get_store().table("tokens").all()
    assert row["hash"] == invitations.hash_token(token)
    data_dir = Path(app.config["DATA_DIR"])
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert token.encode() not in path.read_bytes(), f"raw token found in {path}"


def test_links_use_base_url_even_when_the_host_header_is_evil(app, smtp):
    deal = make_deal(app)
    evil = app.test_client()
    evil.environ_base["HTTP_HOST"] = "evil.example"
    from conftest import AuthActions

    assert AuthActions(evil).login().status_code == 302
    assert send_from_page(evil, deal).status_code == 302
    msg = smtp.received()
    raw = msg.as_string()
    assert "evil.example" not in raw
    links = re.findall(r"https?://[^\s\"'<>]+", msg.get_body(("plain",)).get_content())
    assert links and all(link.startswith(BASE + "/s/") for link in links)
    preview = evil.get(f"/deals/{deal['id']}/invite").get_data(as_text=True)
    assert "evil.example/s/" not in preview and f"{BASE}/s/" in preview


def test_an_opted_out_address_is_never_mailed_again(app, client, auth, smtp):
    first = make_deal(app, company="First Co")
    auth.login()
    send_from_page(client, first)
    token = token_of(smtp.received())
    # The buyer's mail client uses the one-click List-Unsubscribe POST.
    response = client.post(f"/s/{token}/optout", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200

    second = make_deal(app, company="Second Co", contact_email="JANE@acme.example.com")
    response = send_from_page(client, second)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "asked never to be mailed again" in page
    assert invitation(app, second)["status"] == "opted-out"
    assert len(smtp.envelopes) == 1  # only the first mail, ever

    # Nor does a reminder go out to it.
    with app.app_context():
        later = invitations.now() + timedelta(days=8)
        run = sending.send_reminders(get_store(), app.config, later)
    assert run.reminded == 0
    assert len(smtp.envelopes) == 1


def test_a_server_that_is_down_marks_failed_with_the_reason_and_retry_succeeds(app, client, auth):
    deal = make_deal(app)
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    auth.login()
    send_from_page(client, deal, note="Thanks for your time.")
    failed = invitation(app, deal)
    assert failed["status"] == "failed"
    assert "Connection refused" in failed["error"]
    with app.app_context():
        assert get_store().table("tokens").count() == 0  # no link exists that nobody received
    page = client.get(f"/deals/{deal['id']}").get_data(as_text=True)
    assert "Connection refused" in page and ">Retry</button>" in page

    controller, handler = run_smtp_server()
    try:
        app.config["MAIL_URL"] = f"smtp://127.0.0.1:{controller.port}"
        token = csrf_token(client, f"/deals/{deal['id']}")
        response = client.post(f"/deals/{deal['id']}/retry", data={"csrf_token": token})
        assert response.status_code == 302
    finally:
        controller.stop()
    retried = invitation(app, deal)
    assert retried["status"] == "sent" and retried["error"] is None
    assert [e["what"] for e in retried["events"]] == ["created", "failed", "sent"]
    assert "Thanks for your time." in handler.received().get_body(("plain",)).get_content()
    page = client.get(f"/deals/{deal['id']}").get_data(as_text=True)
    assert "Connection refused" in page  # the timeline keeps the failure


def test_a_rejected_recipient_is_failed_with_the_servers_reply(app, client, auth, smtp):
    deal = make_deal(app, contact_email="reject@acme.example.com")
    auth.login()
    send_from_page(client, deal)
    failed = invitation(app, deal)
    assert failed["status"] == "failed"
    assert "550" in failed["error"] and "No such user" in failed["error"]
    assert smtp.envelopes == []


def test_an_invitation_is_sent_once(app, client, auth, smtp):
    deal = make_deal(app)
    auth.login()
    send_from_page(client, deal)
    response = send_from_page(client, deal)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "sent already" in page
    assert len(smtp.envelopes) == 1


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("Thanks.\r\nBcc: everyone@example.com", "one line"),
        ("Thanks\x00", "one line"),
        ("See https://acme.example.com/offer", "No links"),
        ("Visit www.acme.example now", "No links"),
        ("Our new pricing is at acme.com", "No links"),
        ("x" * 301, "300 characters"),
    ],
)
def test_a_bad_personal_sentence_is_refused_with_a_field_error(
    app, client, auth, smtp, note, message
):
    deal = make_deal(app)
    auth.login()
    response = send_from_page(client, deal, note=note)
    assert response.status_code == 200
    error = re.search(r'id="personal_note-error">([^<]*)<', response.get_data(as_text=True))
    assert error and message.lower() in error.group(1).lower()
    assert smtp.envelopes == []
    assert invitation(app, deal) is None


def test_a_contact_name_with_a_line_break_from_an_import_is_refused_not_mailed(app, smtp):
    deal = make_deal(app, contact_name="Jane\r\nBcc: everyone@example.com")
    with app.app_context():
        result = sending.send_invitation(get_store(), app.config, deal)
    assert result["status"] == "failed"
    assert "line break" in result["error"]
    assert smtp.envelopes == []


def test_a_deal_without_contact_cannot_be_sent(app):
    deal = make_deal(app, contact_email=None)
    with app.app_context(), pytest.raises(sending.InviteError, match="no contact email"):
        sending.send_invitation(get_store(), app.config, deal)


def remind(app, days: float):
    """Run the reminder job as if `days` had passed since now."""
    with app.app_context():
        moment = invitations.now() + timedelta(days=days)
        return sending.send_reminders(get_store(), app.config, moment)


def test_one_reminder_after_the_delay_even_when_run_three_times(app, client, auth, smtp):
    deal = make_deal(app)
    auth.login()
    send_from_page(client, deal)
    assert remind(app, 3).reminded == 0  # too early
    assert [remind(app, 8).reminded for _ in range(3)] == [1, 0, 0]
    assert len(smtp.envelopes) == 2
    reminder = smtp.messages()[1]
    assert reminder["Subject"].startswith("Last note")
    assert "only reminder" in reminder.get_body(("plain",)).get_content()
    assert token_of(reminder) != token_of(smtp.messages()[0])  # a fresh link, also working
    with app.app_context():
        assert invitations.find_by_token(get_store(), token_of(reminder))["deal_id"] == deal["id"]
    events = [e["what"] for e in invitation(app, deal)["events"]]
    assert events.count("reminder sent") == 1


def test_concurrent_reminder_runs_send_one_reminder(app, smtp):
    deals = [
        make_deal(app, company=f"Co {n}", contact_email=f"b{n}@x.example.com") for n in range(3)
    ]
    with app.app_context():
        for deal in deals:
            sending.send_invitation(get_store(), app.config, deal)
    barrier = threading.Barrier(4)
    results = []

    def run():
        barrier.wait()
        results.append(remind(app, 8).reminded)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 3
    assert len(smtp.envelopes) == 3 + 3


def test_the_remind_command_is_safe_from_cron_and_expires_old_links(app, runner, smtp):
    deal = make_deal(app)
    with app.app_context():
        sending.send_invitation(get_store(), app.config, deal)
    result = runner.invoke(args=["invites", "remind"])
    assert result.exit_code == 0 and "0 reminder(s) sent" in result.output
    run = remind(app, app.config["INVITE_EXPIRY_DAYS"] + 1)
    assert run.expired == 1 and run.reminded == 0
    assert invitation(app, deal)["status"] == "expired"
    assert len(smtp.envelopes) == 1


def test_the_send_command_sends_every_pending_invitation_with_a_contact(app, runner, smtp):
    with_contact = make_deal(app, company="Has Contact")
    make_deal(app, company="No Contact", contact_email=None)
    other = make_deal(app, company="Later", contact_email="later@x.example.com")
    result = runner.invoke(args=["invites", "send", "--deal", str(other["id"])])
    assert result.exit_code == 0, result.output
    assert "sent to later@x.example.com" in result.output
    result = runner.invoke(args=["invites", "send"])
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == [
        "jane@acme.example.com",
        "later@x.example.com",
    ]
    assert invitation(app, with_contact)["status"] == "sent"
    again = runner.invoke(args=["invites", "send"])
    assert "0 sent" in again.output and len(smtp.envelopes) == 2


def test_the_send_command_reports_a_mail_error_with_a_failing_exit_code(app, runner):
    make_deal(app)
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"
    result = runner.invoke(args=["invites", "send"])
    assert result.exit_code == 1
    assert "failed: Connection refused" in result.output


def test_the_outbox_is_the_default_and_holds_the_mail(app, client, auth):
    deal = make_deal(app)
    auth.login()
    send_from_page(client, deal)
    [eml] = (Path(app.config["DATA_DIR"]) / "outbox").glob("*.eml")
    assert b"jane@acme.example.com" in eml.read_bytes()
    assert invitation(app, deal)["status"] == "sent"


# --- who is asking (SPEC 2.2: the organisation in the From name and the text of every mail) ---

ORG = {
    "ORG_NAME": "Smith, Jones & Co",
    "ORG_URL": "https://sjco.example/",
    "PRIVACY_URL": "https://sjco.example/privacy",
}


def delivered(app, handler, transport: str) -> list:
    """Every mail sent so far, from the SMTP server or the outbox."""
    if transport == "smtp":
        return handler.messages()
    folder = Path(app.config["DATA_DIR"]) / "outbox"
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]


@pytest.mark.parametrize("transport", ["smtp", "outbox"])
def test_invitation_and_reminder_say_who_is_asking(app, client, auth, smtp_server, transport):
    port, handler = smtp_server
    if transport == "smtp":
        app.config["MAIL_URL"] = f"smtp://127.0.0.1:{port}"
    app.config.update(ORG)
    deal = make_deal(app)
    auth.login()
    preview = client.get(f"/deals/{deal['id']}/invite").get_data(as_text=True)
    assert "Rita Rep at Smith, Jones &amp; Co" in preview  # the From line, as it goes out
    send_from_page(client, deal)
    assert remind(app, 8).reminded == 1
    mails = delivered(app, handler, transport)
    assert sorted(m["Subject"][:4] for m in mails) == ["Last", "Two "]  # invitation, reminder
    for msg in mails:
        [sender] = msg["From"].addresses
        assert sender.display_name == "Rita Rep at Smith, Jones & Co"
        assert sender.addr_spec == "debrief@localhost"  # the address of DEBRIEF_MAIL_FROM
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "Rita Rep at Smith, Jones & Co" in text and "go with Smith, Jones & Co" in text
        assert "go with Smith, Jones &amp; Co" in html
        assert '<a href="https://sjco.example/">Smith, Jones &amp; Co</a>' in html
        assert "https://sjco.example/privacy" in text
        assert 'href="https://sjco.example/privacy"' in html
        assert "only my managers and i at smith, jones & co will know" in text.lower()


def test_without_org_or_privacy_address_the_mail_names_the_org_and_links_nothing_else(
    app, client, auth, smtp
):
    app.config.update(ORG_NAME="Harbourline", ORG_URL=None, PRIVACY_URL=None)
    deal = make_deal(app)
    auth.login()
    send_from_page(client, deal)
    msg = smtp.received()
    assert msg["From"].addresses[0].display_name == "Rita Rep at Harbourline"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Harbourline" in text and "Harbourline" in html and "privacy" not in text.lower()
    links = re.findall(r'href="([^"]+)"', html)
    assert links and all(link.startswith(f"{BASE}/s/") for link in links)


def test_a_deal_whose_rep_is_gone_is_mailed_in_the_orgs_name(app, smtp):
    app.config.update(ORG_NAME="Harbourline")
    deal = make_deal(app)
    with app.app_context():
        get_store().table("deals").update(deal["id"], {"rep_id": 999})
        sending.send_invitation(get_store(), app.config, {**deal, "rep_id": 999})
    msg = smtp.received()
    assert msg["From"].addresses[0].display_name == "Harbourline"
    assert "the person who worked with you" in msg.get_body(("plain",)).get_content()
