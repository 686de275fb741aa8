"""`debrief digest`: one weekly mail per person, through a real SMTP server.

Reps get the new lessons and debriefs matching their own deals' competitors and reasons; managers
the rising themes and the week's answers. Cron-safe: claimed per user and ISO week in the store.
"""

from __future__ import annotations

import datetime
import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PASSWORD, at_once, csrf_token, free_port
from disk import refuse_writes
from world import deal_record, open_link

from debrief import entries
from debrief.auth import users
from debrief.digest import service as digest
from debrief.kb import service as kb
from debrief.store import get_store, now
from debrief.themes import service as themes

REP, OTHER, BOSS = "rep@example.test", "other@example.test", "boss@example.test"
BASE = "https://debrief.example.test"


def today() -> datetime.date:
    """The day the digest counts from (UTC, like the store's stamps)."""
    return now().date()


def publish(app, title: str, days_ago: int = 1, **fields) -> str:
    """An entry written through the knowledge base's publishing path; its slug."""
    values = {"kind": "lesson", "rep": OTHER, "body": "What we learned.", **fields}
    day = today() - datetime.timedelta(days=days_ago)
    with app.app_context():
        return kb.publish(entries.Entry(title=title, date=day, **values)).slug


def add_deal(app, email: str, company: str, **fields) -> int:
    """A lost deal owned by the account with that email; its id."""
    with app.app_context():
        rep = users.find_user(get_store(), email)
        return get_store().table("deals").insert(deal_record(rep, company, **fields))


def answer(app, client, deal_id: int, **fields) -> dict:
    """The buyer answers the deal's invitation through the real form; the stored answer."""
    with app.app_context():
        _, token = open_link(get_store(), deal_id)
    data = {
        "csrf_token": csrf_token(client, f"/s/{token}"),
        "outcome": "competitor",
        "competitor": "Rivalry CRM",
        "reason": "price",
        "own_words": "The other offer was simpler.",
        "attribution": "anonymous",
        "may_contact": "no",
        **fields,
    }
    assert client.post(f"/s/{token}", data=data).status_code == 302
    with app.app_context():
        return get_store().table("answers").find_one("deal_id", deal_id)


def run(runner, code: int = 0) -> str:
    """`debrief digest` once; its output (and the exit code checked)."""
    result = runner.invoke(args=["digest"])
    assert result.exit_code == code, result.output
    return result.output


def mails_to(handler, address: str) -> list:
    """The digests the SMTP server received for one address."""
    return [m for m in handler.messages() if m["To"].addresses[0].addr_spec == address]


def text_of(msg) -> str:
    """The plain-text part."""
    return msg.get_body(preferencelist=("plain",)).get_content()


def html_of(msg) -> str:
    """The HTML part."""
    return msg.get_body(preferencelist=("html",)).get_content()


def links(text: str) -> set[str]:
    """Every http(s) link in a text."""
    return set(re.findall(r"https?://[^\s<>\"')]+", text))


def test_a_rep_gets_only_the_new_entries_that_match_their_deals(app, runner, smtp):
    add_deal(app, REP, "Northwind", competitor="Rivalry CRM", rep_reason="trust", rep_reasons=[])
    # A vendor name that the entry slugs cannot spell must not turn into "any competitor".
    add_deal(
        app, REP, "Kyoto KK", competitor="株式会社ライバル", rep_reason="trust", rep_reasons=[]
    )
    same_rival = publish(app, "Rivalry wins on onboarding", 2, competitor="Rivalry CRM")
    same_reason = publish(app, "Trust is earned in the demo", 3, prospect_reasons=["trust"])
    debrief = publish(
        app, "A buyer's debrief: chose another vendor", 0, kind="debrief",
        competitor="Rivalry CRM", prospect_reasons=["price"],
    )  # fmt: skip
    old = publish(app, "Rivalry, last month", 20, competitor="Rivalry CRM")
    unrelated = publish(app, "Initech answers the phone", 1, competitor="Initech",
                        prospect_reasons=["support"])  # fmt: skip
    own = publish(app, "My own note on Rivalry", 1, competitor="Rivalry CRM", rep=REP)

    output = run(runner)

    [msg] = mails_to(smtp, REP)
    text, html = text_of(msg), html_of(msg)
    wanted = {f"{BASE}/kb/{slug}" for slug in (same_rival, same_reason, debrief)}
    unwanted = {f"{BASE}/kb/{slug}" for slug in (old, unrelated, own)}
    assert wanted <= links(text) and wanted <= links(html)
    assert not unwanted & (links(text) | links(html))
    # Names as people read them: the competitor as typed, the reason's label.
    assert "Rivalry CRM" in text and "Trust" in text and "rivalry-crm" not in text.replace(BASE, "")
    # Every digest says how to turn it off, in both parts.
    assert f"{BASE}/settings" in links(text) and f"{BASE}/settings" in links(html)
    # Proper MIME from the organisation, at the configured address.
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["From"].addresses[0].display_name == app.config["ORG_NAME"]
    assert msg["From"].addresses[0].addr_spec == "debrief@localhost"
    assert msg["Date"] and msg["Message-ID"]
    # Nothing for the other rep (no deals) nor for the manager (nothing this week): no empty mail.
    assert mails_to(smtp, OTHER) == [] and mails_to(smtp, BOSS) == []
    assert "1 sent" in output


def test_the_week_is_marked_even_when_there_was_nothing_to_send(app, runner, smtp):
    run(runner)  # the other rep has nothing: no mail, but this week is done for them
    add_deal(app, OTHER, "Betaworks", competitor="Rivalry CRM")
    publish(app, "Rivalry again", 0, competitor="Rivalry CRM", rep=REP)
    run(runner)
    assert mails_to(smtp, OTHER) == []
    with app.app_context():
        ran = digest.run(get_store(), app.config, today() + datetime.timedelta(days=7))
    assert ran.sent == 1 and len(mails_to(smtp, OTHER)) == 1  # next week it comes


def test_another_reps_anonymous_debrief_is_never_tied_to_its_deal(app, client, runner, smtp):
    add_deal(app, REP, "Northwind", competitor="Rivalry CRM")
    theirs = add_deal(
        app, OTHER, "Betaworks GmbH", contact_name="Bea Buyer",
        contact_email="bea@betaworks.test", competitor="Rivalry CRM",
    )  # fmt: skip
    stored = answer(app, client, theirs, own_words="Betaworks GmbH needed it by May. Ask Bea.")
    assert stored["attribution"] == "anonymous" and stored["entry_slug"]

    run(runner)

    [mine] = mails_to(smtp, REP)
    [boss] = mails_to(smtp, BOSS)
    for msg in (mine, boss):
        body = text_of(msg) + html_of(msg)
        assert f"{BASE}/kb/{stored['entry_slug']}" in links(body)
        for secret in ("Betaworks", "Bea", "bea@betaworks.test", f"/deals/{theirs}", "Deal #"):
            assert secret not in body
        assert "Betaworks" not in msg["Subject"]


def test_a_manager_gets_the_rising_themes_and_the_weeks_answers(app, client, runner, smtp):
    with app.app_context():
        theme = themes.create_theme(get_store(), "Price pressure", "Lost on price")["slug"]
    for n in (5, 20, 40):  # 3 in the last 90 days, none before: rising
        publish(app, f"Price talk {n}", n, themes=[theme])
    deals = [add_deal(app, REP, f"Company {n}") for n in range(3)]
    fresh = [answer(app, client, deals[0]), answer(app, client, deals[1], reason="trust")]
    late = answer(app, client, deals[2], reason="support")
    with app.app_context():  # answered two weeks ago: not this week's
        stamp = (now() - datetime.timedelta(days=14)).isoformat(timespec="seconds")
        get_store().table("answers").update(late["id"], {"submitted": stamp})

    run(runner)

    [msg] = mails_to(smtp, BOSS)
    text, html = text_of(msg), html_of(msg)
    assert "Price pressure" in text and "Price pressure" in html
    assert f"{BASE}/themes/{theme}" in links(html)
    assert re.search(r"\b3 entries in the last 90 days\b.*\b0 in the 90 before\b", text)
    assert re.search(r"\b2 answers\b", text)
    assert "Price: 1" in text and "Trust: 1" in text and "Support" not in text
    for a in fresh:
        assert f"{BASE}/kb/{a['entry_slug']}" in links(text)
    assert f"{BASE}/kb/{late['entry_slug']}" not in links(text)
    # The rep's digest holds no manager part.
    for rep_mail in mails_to(smtp, REP):
        assert "Rising themes" not in text_of(rep_mail)


def test_running_twice_in_a_week_sends_once(app, runner, smtp):
    add_deal(app, REP, "Northwind", competitor="Rivalry CRM")
    publish(app, "Rivalry wins on onboarding", 0, competitor="Rivalry CRM")
    run(runner)
    second = run(runner)
    assert len(mails_to(smtp, REP)) == 1
    assert "0 sent" in second
    with app.app_context():  # the next ISO week is a new week
        ran = digest.run(get_store(), app.config, today() + datetime.timedelta(days=7))
    assert ran.sent == 1 and len(mails_to(smtp, REP)) == 2


def test_two_concurrent_runs_send_once(app, smtp):
    add_deal(app, REP, "Northwind", competitor="Rivalry CRM")
    add_deal(app, OTHER, "Betaworks", competitor="Rivalry CRM")
    publish(app, "Rivalry wins on onboarding", 0, competitor="Rivalry CRM", rep=BOSS)

    def one_run():
        with app.app_context():
            return digest.run(get_store(), app.config)

    runs = at_once([one_run] * 4)
    assert sum(r.sent for r in runs) == 2
    assert len(mails_to(smtp, REP)) == 1 and len(mails_to(smtp, OTHER)) == 1


@pytest.mark.slow
def test_two_cron_processes_at_once_send_once(app, smtp, tmp_path):
    add_deal(app, REP, "Northwind", competitor="Rivalry CRM")
    add_deal(app, OTHER, "Betaworks", competitor="Rivalry CRM")
    publish(app, "Rivalry wins on onboarding", 0, competitor="Rivalry CRM", rep=BOSS)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DEBRIEF_")},
        "DEBRIEF_SECRET_KEY": "s" * 64,
        "DEBRIEF_ORG_NAME": "Harbourline",
        "DEBRIEF_DATA_DIR": app.config["DATA_DIR"],
        "DEBRIEF_ENTRIES_DIR": app.config["ENTRIES_DIR"],
        "DEBRIEF_MAIL_URL": app.config["MAIL_URL"],
        "DEBRIEF_BASE_URL": BASE,
    }
    command = [str(Path(sys.executable).parent / "debrief"), "digest"]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in "ab"]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert len(mails_to(smtp, REP)) == 1 and len(mails_to(smtp, OTHER)) == 1


def test_a_user_who_turned_it_off_gets_nothing(app, client, auth, runner, smtp):
    add_deal(app, REP, "Northwind", competitor="Rivalry CRM")
    add_deal(app, OTHER, "Betaworks", competitor="Rivalry CRM")
    publish(app, "Rivalry wins on onboarding", 0, competitor="Rivalry CRM", rep=BOSS)
    auth.login(REP)
    token = csrf_token(client, "/settings")
    response = client.post("/settings", data={"csrf_token": token})  # the box unticked
    assert response.status_code == 302
    run(runner)
    assert mails_to(smtp, REP) == [] and len(mails_to(smtp, OTHER)) == 1
    # Turned on again, the same week: this week's digest comes after all.
    client.post("/settings", data={"csrf_token": token, "digest": "y"})
    run(runner)
    assert len(mails_to(smtp, REP)) == 1 and len(mails_to(smtp, OTHER)) == 1


def test_a_deactivated_account_gets_nothing(app, runner, smtp):
    add_deal(app, REP, "Northwind", competitor="Rivalry CRM")
    publish(app, "Rivalry wins on onboarding", 0, competitor="Rivalry CRM", rep=BOSS)
    with app.app_context():
        users.set_active(get_store(), users.find_user(get_store(), REP)["id"], False)
    run(runner)
    assert mails_to(smtp, REP) == []


def test_a_mail_server_that_is_down_is_tried_again_on_the_next_run(app, runner, smtp):
    add_deal(app, REP, "Northwind", competitor="Rivalry CRM")
    publish(app, "Rivalry wins on onboarding", 0, competitor="Rivalry CRM", rep=BOSS)
    working = app.config["MAIL_URL"]
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    output = run(runner, code=1)  # cron tells someone
    assert "1 failed" in output and "Connection refused" in output
    app.config["MAIL_URL"] = working
    run(runner)
    run(runner)
    assert len(mails_to(smtp, REP)) == 1


def test_a_refused_recipient_is_tried_again_and_the_others_are_sent(app, runner, smtp):
    with app.app_context():
        users.add_user(get_store(), "reject@example.test", "rep", PASSWORD, "Rex Rejected")
    add_deal(app, "reject@example.test", "Refusalco", competitor="Rivalry CRM")
    add_deal(app, REP, "Northwind", competitor="Rivalry CRM")
    publish(app, "Rivalry wins on onboarding", 0, competitor="Rivalry CRM", rep=BOSS)
    first = run(runner, code=1)
    assert "reject@example.test" in first and "Recipient rejected" in first
    second = run(runner, code=1)  # still owed this week, so tried again
    assert "0 sent" in second and "1 failed" in second
    assert len(mails_to(smtp, REP)) == 1


# --- the settings page --------------------------------------------------------------------------


def test_the_settings_page_turns_the_digest_off_and_on(app, client, auth):
    assert client.get("/settings").status_code == 302  # signed out: the sign-in page
    auth.login(REP)
    page = client.get("/settings").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="digest"|name="digest"[^>]*checked', page)
    assert "Weekly digest" in page
    # Without the form's CSRF token nothing changes.
    assert client.post("/settings", data={}).status_code == 400
    with app.app_context():
        assert users.wants_digest(users.find_user(get_store(), REP))
    token = csrf_token(client, "/settings")
    done = client.post("/settings", data={"csrf_token": token}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "turned off" in html and not re.search(r'name="digest"[^>]*checked', html)
    with app.app_context():
        assert not users.wants_digest(users.find_user(get_store(), REP))
        assert users.wants_digest(users.find_user(get_store(), OTHER))  # only one's own
    client.post("/settings", data={"csrf_token": token, "digest": "y"})
    with app.app_context():
        assert users.wants_digest(users.find_user(get_store(), REP))


def test_a_full_disk_refuses_the_setting_and_it_stays_as_it_was(app, client, auth, monkeypatch):
    auth.login(REP)
    token = csrf_token(client, "/settings")
    refuse_writes(monkeypatch, Path(app.config["DATA_DIR"]), errno.ENOSPC)
    response = client.post("/settings", data={"csrf_token": token})  # the box unticked
    assert response.status_code == 503
    assert "Cannot save right now" in response.get_data(as_text=True)
    monkeypatch.undo()
    with app.app_context():
        assert users.wants_digest(users.find_user(get_store(), REP))
    page = client.get("/settings").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="digest"|name="digest"[^>]*checked', page)


def test_settings_pressed_twice_says_the_same_and_keeps_the_choice(app, client, auth):
    auth.login(REP)
    token = csrf_token(client, "/settings")
    for _ in range(2):
        done = client.post("/settings", data={"csrf_token": token}, follow_redirects=True)
        assert "Weekly digest turned off." in done.get_data(as_text=True)
    with app.app_context():
        assert not users.wants_digest(users.find_user(get_store(), REP))


def test_the_menu_links_the_settings_page(client, auth):
    auth.login(BOSS)
    page = client.get("/deals").get_data(as_text=True)
    assert 'href="/settings"' in page


def test_a_claim_left_by_a_killed_run_is_taken_over_after_the_lease(app, runner, smtp):
    add_deal(app, REP, "Northwind", competitor="Rivalry CRM")
    publish(app, "Rivalry wins on onboarding", 0, competitor="Rivalry CRM", rep=BOSS)
    with app.app_context():  # a run claimed the rep's week, then was killed before sending
        rep = users.find_user(get_store(), REP)
        record_id = digest.claim(get_store(), rep["id"], digest.week_of(today()))
    run(runner)
    assert mails_to(smtp, REP) == []  # a claim this fresh may be a run still sending
    with app.app_context():
        long_ago = now() - digest.CLAIM_LEASE - datetime.timedelta(seconds=1)
        get_store().table("digests").update(
            record_id, {"claimed_at": long_ago.isoformat(timespec="seconds")}
        )
    run(runner)
    run(runner)
    assert len(mails_to(smtp, REP)) == 1
