"""Secrets: after a whole journey no raw token or password is in any stored file or any log;
and the production server refuses to start without a secret key."""

from __future__ import annotations

import email
import email.policy
import logging
import os
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from conftest import PASSWORD
from server import Browser, free_port
from world import files_under, page_token

from debrief.store import get_store

NEW_PASSWORD = "staple-battery-horse-correct-9"
LINK = re.compile(r"/s/([A-Za-z0-9_-]{20,})")
BIN = Path(sys.executable).parent


def deal(client, company: str) -> int:
    response = client.post(
        "/deals/new",
        data={
            "csrf_token": page_token(client, "/deals/new"),
            "company": company,
            "contact_name": "Pat Buyer",
            "contact_email": f"pat@{company.lower()}.example.com",
            "lost_on": "2024-04-01",
            "rep_reason": "price",
            "claims": "Live in two weeks",
        },
    )
    assert response.status_code == 302
    return int(response.location.rsplit("/", 1)[1])


def send(client, deal_id: int) -> None:
    token = page_token(client, f"/deals/{deal_id}/invite")
    response = client.post(
        f"/deals/{deal_id}/invite", data={"csrf_token": token, "personal_note": "", "send": "1"}
    )
    assert response.status_code == 302


def tokens_in(messages: list) -> set[str]:
    """The survey tokens in the links of parsed mails (decoded, so no soft line breaks)."""
    text = "".join(
        part.get_content() for m in messages for part in m.walk()
        if part.get_content_maintype() == "text"
    )  # fmt: skip
    return set(LINK.findall(text))


def leaks(secrets: set[str], folders: list[Path], texts: dict[str, str]) -> list[str]:
    """Where any secret appears, raw or URL-encoded."""
    found = []
    forms = {s: {s.encode(), urllib.parse.quote(s).encode()} for s in secrets}
    for path in files_under(*folders):
        content = path.read_bytes()
        found += [f"{path}: {s[:6]}..." for s, f in forms.items() if any(x in content for x in f)]
    for name, text in texts.items():
        found += [f"{name}: {s[:6]}..." for s in secrets if s in text]
    return found


@pytest.mark.timeout(120)
def test_no_token_or_password_is_stored_or_logged_in_clear(
    app, client, auth, runner, smtp_server, caplog
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="debrief")  # bench/client.py quiets it to WARNING
    port, handler = smtp_server
    data, entries_dir = Path(app.config["DATA_DIR"]), Path(app.config["ENTRIES_DIR"])

    result = runner.invoke(args=["user", "add", "new@example.test", "--role", "rep",
                                 "--password", NEW_PASSWORD])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert auth.login("new@example.test", NEW_PASSWORD).status_code == 302
    outboxed, smtped = deal(client, "Outboxco"), deal(client, "Smtpco")
    send(client, outboxed)  # through the outbox (the default)
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{port}"
    send(client, smtped)  # through a real SMTP server
    outbox = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in (data / "outbox").glob("*.eml")
    ]
    tokens = tokens_in(outbox + handler.messages())
    assert len(tokens) == 2, tokens

    buyer = app.test_client()
    for token in tokens:
        response = buyer.post(
            f"/s/{token}",
            data={"csrf_token": page_token(buyer, f"/s/{token}"), "outcome": "competitor",
                  "reason": "trust", "own_words": "Slides, not a product.", "claim_0": "held",
                  "attribution": "anonymous"},
        )  # fmt: skip
        assert response.status_code == 302
    lesson = client.post(
        "/kb/lessons/new",
        data={"csrf_token": page_token(client), "title": "Show the product", "body": "Demo it."},
    )
    assert lesson.status_code == 302
    auth.logout()
    assert auth.login("rep@example.test", PASSWORD).status_code == 302
    assert auth.login("boss@example.test", "wrong-password-here").status_code == 200

    # The served site too: waitress over the same folders, its stderr kept.
    port = free_port()
    env = {**os.environ, "DEBRIEF_SECRET_KEY": "s" * 64, "DEBRIEF_DATA_DIR": str(data),
           "DEBRIEF_ENTRIES_DIR": str(entries_dir), "DEBRIEF_ORG_NAME": "Harbourline",
           "DEBRIEF_BASE_URL": f"http://127.0.0.1:{port}"}  # fmt: skip
    stderr_path = data.parent / "waitress.log"
    with open(stderr_path, "wb") as log:
        proc = subprocess.Popen(
            [str(BIN / "waitress-serve"), f"--listen=127.0.0.1:{port}",
             "--call", "debrief:create_app"],
            env=env, stdout=log, stderr=log,
        )  # fmt: skip
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        for _ in range(100):
            try:
                browser.get("/healthz")
                break
            except OSError:
                time.sleep(0.1)
        token = browser.csrf("/login")
        status, _, _ = browser.post(
            "/login", {"csrf_token": token, "email": "new@example.test", "password": NEW_PASSWORD}
        )
        assert status == 302
        for token in tokens:
            assert browser.get(f"/s/{token}")[0] == 200  # answered: the kind page
            assert browser.get(f"/s/{token}/optout")[0] == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    secrets = tokens | {PASSWORD, NEW_PASSWORD, "wrong-password-here"}
    # The outbox holds the mails themselves, links included: that is delivery, not storage.
    folders = [p for p in data.iterdir() if p.name != "outbox"] + [entries_dir]
    # The outbox mode logs the link of each mail it keeps (SPEC 2.2: the site works with no
    # mail server); that line is the delivery itself. Every other record holds no secret.
    delivered = [r for r in caplog.records if r.getMessage().startswith("mail saved to")]
    assert len(delivered) == 1
    # aiosmtpd ("mail.log") is the receiving mail server of the test: it reads the mail itself.
    ours = [r for r in caplog.records if r not in delivered and not r.name.startswith("mail.log")]
    logged = "\n".join(r.getMessage() for r in ours)
    texts = {"caplog": logged, "waitress stderr": stderr_path.read_text()}
    assert "invitation" in caplog.text  # the log was captured at all
    assert leaks(secrets, folders, texts) == []
    with app.app_context():
        hashes = {u["password_hash"] for u in get_store().table("users").all()}
    assert all(h.startswith(("scrypt:", "pbkdf2:")) for h in hashes)


def without_secret() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBRIEF_")}
    return {**env, "DEBRIEF_DATA_DIR": "/tmp/debrief-no-secret-test"}


COMMANDS = pytest.mark.parametrize(
    "command",
    [["debrief", "init"],
     ["waitress-serve", "--listen=127.0.0.1:1", "--call", "debrief:create_app"],
     ["gunicorn", "-b", "127.0.0.1:1", "debrief:create_app()"]],
    ids=["debrief", "waitress", "gunicorn"],
)  # fmt: skip


@COMMANDS
def test_production_refuses_to_start_without_a_secret_key(command):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        env=without_secret(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DEBRIEF_SECRET_KEY is not set" in result.stdout + result.stderr


@COMMANDS
def test_production_refuses_to_start_without_an_org_name(command):
    # Buyers must always be told who is asking (SPEC 2.2): no organisation, no start.
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        env={**without_secret(), "DEBRIEF_SECRET_KEY": "s" * 64},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DEBRIEF_ORG_NAME is not set" in result.stdout + result.stderr
