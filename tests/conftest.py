"""Shared fixtures: an app over temporary folders, a client, a CLI runner, signed-in users,
and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from hypothesis import HealthCheck, settings

from debrief import create_app
from debrief.auth import users
from debrief.store import Store
from debrief.survey import notices

# Property tests check behaviour, not speed: on a busy 2-core machine (CI shares it) generating
# or running an example can take longer than Hypothesis' defaults, which then fail the test.
settings.register_profile("debrief", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("debrief")

PASSWORD = "correct-horse-battery"


def pytest_sessionstart(session) -> None:
    """Build the buyers' catalogs as `make test` does (pybabel compile), for a bare pytest run
    in a fresh clone: without the .mo files every buyer would read English."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(__file__).resolve().parent.parent.glob("debrief/translations/*/*/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            with mo.open("wb") as target:
                write_mo(target, catalog)


FIXTURE_USERS = [
    ("rep@example.test", "rep", "Rita Rep"),
    ("other@example.test", "rep", "Otto Other"),
    ("boss@example.test", "manager", "Mona Manager"),
]


def app_settings(root: Path) -> dict:
    """The test app's settings over a folder: data and entries inside it, outbox mail."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATA_DIR": str(root / "data"),
        "ENTRIES_DIR": str(root / "entries"),
        "MAIL_URL": "outbox",
        "BASE_URL": "https://debrief.example.test",
        "API_KEYS": ["test-api-key"],
    }


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory) -> Path:
    """A store holding the fixture accounts, made once: hashing three passwords takes ~1 s."""
    root = tmp_path_factory.mktemp("seed") / "db"
    store = Store(root)
    for email_address, role, name in FIXTURE_USERS:
        users.add_user(store, email_address, role, PASSWORD, name)
    return root


@pytest.fixture
def app(request, tmp_path: Path, seeded_db: Path):
    """The real app with its data and entries in a temporary folder, the fixture accounts in it
    (more settings by indirect parametrization: parametrize("app", [{...}], indirect=True))."""
    shutil.copytree(seeded_db, tmp_path / "data" / "db")
    app = create_app({**app_settings(tmp_path), **getattr(request, "param", {})})
    Path(app.config["ENTRIES_DIR"]).mkdir(parents=True, exist_ok=True)
    yield app


@pytest.fixture
def client(app):
    """A test client (CSRF is on, as in production)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the `debrief` commands."""
    return app.test_cli_runner()


def csrf_token(client, path: str = "/login") -> str:
    """Read the CSRF token from a page's form, as a browser would."""
    import re

    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    """Sign in and out through the real form."""

    def __init__(self, client):
        self._client = client

    def login(self, email: str = "rep@example.test", password: str = PASSWORD):
        """Sign in as one of the fixture accounts."""
        token = csrf_token(self._client, "/login")
        return self._client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def logout(self):
        """Sign out with the form in the page header."""
        token = csrf_token(self._client, "/")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    """Sign-in helper: auth.login("boss@example.test")."""
    return AuthActions(client)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SMTPHandler:
    """An aiosmtpd handler that keeps every envelope and rejects recipients named reject@."""

    envelopes: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, parsed."""
        return [
            email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes
        ]

    def received(self) -> EmailMessage:
        """The one message received so far, parsed."""
        assert len(self.envelopes) == 1
        return self.messages()[0]


def run_smtp_server(**options):
    """Start an aiosmtpd controller on a free port; return (controller, handler)."""
    handler = SMTPHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller, handler


@pytest.fixture
def smtp_server():
    """A plain SMTP server on 127.0.0.1: (port, handler)."""
    controller, handler = run_smtp_server()
    yield controller.port, handler
    # A rep's notice still queued (sent after the response, by the notices thread) would meet a
    # stopped server, and the connection it leaves fails a later test as a ResourceWarning.
    notices.wait()
    controller.stop()


@pytest.fixture
def smtp(app, smtp_server):
    """The app mailing through the real SMTP server on 127.0.0.1; its handler (what arrived)."""
    port, handler = smtp_server
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{port}"
    return handler


def refuse_sqlite_writes(monkeypatch, path: Path, how: str = "full") -> None:
    """Make SQLite itself fail on one file as a full disk (a new file cannot grow: "database or
    disk is full") or a read-only one ("attempt to write a readonly database") would."""
    real_connect = sqlite3.connect

    def connect(database, *args, **kwargs):
        if Path(database) != path:
            return real_connect(database, *args, **kwargs)
        if how == "read-only":
            return real_connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)
        conn = real_connect(database, *args, **kwargs)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread, all released together: their results, in order."""
    start = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(n: int, call: Callable[[], Any]) -> None:
        start.wait()
        results[n] = call()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
