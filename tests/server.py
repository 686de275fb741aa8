"""The production server (gunicorn, several processes) on 127.0.0.1 and the visitors that load it.

Shared by tests/test_load.py and tests/test_faults.py: a prepared site (accounts, deals, one
fresh link per buyer), a server that can be started and killed with SIGKILL, buyers answering and
reps writing lessons over real HTTP, and the checks that every acknowledged write is stored once.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

from conftest import PASSWORD, free_port

from debrief import create_app, entries
from debrief.auth import users
from debrief.deals import invitations
from debrief.store import get_store

GUNICORN = Path(sys.executable).with_name("gunicorn")
SECRET_KEY = "load-test-secret-key-not-for-production"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
REPS = ("rep1@example.test", "rep2@example.test", "rep3@example.test")


@dataclass
class Site:
    """A data folder and an entries folder with accounts, and one open link per buyer."""

    root: Path
    tokens: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def entries(self) -> Path:
        return self.root / "entries"

    def env(self, port: int) -> dict[str, str]:
        """The server's settings, as production gets them: environment variables."""
        return {
            **os.environ,
            "DEBRIEF_SECRET_KEY": SECRET_KEY,
            "DEBRIEF_ORG_NAME": "Harbourline",
            "DEBRIEF_DATA_DIR": str(self.data),
            "DEBRIEF_ENTRIES_DIR": str(self.entries),
            "DEBRIEF_BASE_URL": f"http://127.0.0.1:{port}",
            "DEBRIEF_MAIL_URL": "outbox",
        }

    def app(self):
        """An app over the folders, to look at what the server stored."""
        return create_app(
            {"TESTING": True, "DATA_DIR": str(self.data), "ENTRIES_DIR": str(self.entries)}
        )


def prepare(root: Path, buyers: int) -> Site:
    """Accounts, one deal per buyer (rep deals spread over the reps) and a fresh link each."""
    site = Site(root, [])
    site.entries.mkdir(parents=True)
    app = site.app()
    with app.app_context():
        for email in REPS:
            users.add_user(get_store(), email, "rep", PASSWORD)
    add_buyers(site, buyers)
    return site


def add_buyers(site: Site, buyers: int) -> list[str]:
    """More lost deals, each with a fresh link (while no server runs): the new links."""
    app = site.app()
    with app.app_context():
        store = get_store()
        reps = [users.find_user(store, email) for email in REPS]
        deals = store.table("deals")
        first = len(site.tokens)
        records = [
            {
                "company": f"Loadco {i}",
                "contact_name": f"Buyer {i}",
                "contact_email": f"buyer{i}@loadco.test",
                "rep_id": reps[i % len(reps)]["id"],
                "lost_on": "2024-05-02",
                "rep_reason": "price",
                "rep_reasons": [],
                "claims": ["Live in two weeks"],
                "crm_id": None,
                "created": invitations.stamp(),
                "source": "form",
            }
            for i in range(first, first + buyers)
        ]
        for deal_id, _ in deals.insert_many(records):
            inv = invitations.create_invitation(store, deals.get(deal_id), 30)
            site.tokens.append(invitations.issue_token(store, inv["id"]))
    return site.tokens[first:]


class Server:
    """gunicorn with several workers and threads, in its own process group (killed as one)."""

    def __init__(self, site: Site, workers: int = 3, threads: int = 4) -> None:
        self.site = site
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = site.root / "server.log"
        args = [str(GUNICORN), "-w", str(workers), "--threads", str(threads), "--timeout", "60",
                "-b", f"127.0.0.1:{self.port}", "debrief:create_app()"]  # fmt: skip
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                args, env=site.env(self.port), stdout=log, stderr=log, start_new_session=True
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                # Our own http://127.0.0.1 URL, never user input.
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer in time")

    def workers(self) -> list[int]:
        """The process ids of the workers right now (the master's children)."""
        pid = self.proc.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: a crash, no clean-up of any kind."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """A normal shutdown (SIGTERM), then SIGKILL if it takes too long."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is the acknowledgement we look for: never follow it


class Browser:
    """A visitor with its own cookies; get/post return (status, location, body)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect
        )

    def _open(self, request) -> tuple[int, str, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, "", response.read().decode()
        except urllib.error.HTTPError as error:
            body = error.read().decode(errors="replace")
            return error.code, error.headers.get("Location", ""), body

    def get(self, path: str) -> tuple[int, str, str]:
        return self._open(self.base + path)

    def post(self, path: str, data: dict) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")  # noqa: S310
        return self._open(request)

    def csrf(self, path: str) -> str:
        status, _, html = self.get(path)
        match = CSRF.search(html)
        if status != 200 or not match:
            raise RuntimeError(f"no form on {path}: {status}")
        return match.group(1)


@dataclass
class Tally:
    """What the server acknowledged, and every unexpected answer."""

    answers: list[str] = field(default_factory=list)  # tokens whose answer got its 302
    lessons: dict[str, str] = field(default_factory=dict)  # title -> slug, from the 302
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def answer(base: str, token: str, tally: Tally) -> None:
    """One buyer: open the link, answer, and count the answer if the server said so."""
    browser = Browser(base)
    try:
        form = browser.csrf(f"/s/{token}")
        status, location, _ = browser.post(
            f"/s/{token}",
            {"csrf_token": form, "outcome": "competitor", "reason": "trust",
             "own_words": f"answer-{token[:8]}", "attribution": "anonymous",
             "may_contact": "no", "claim_0": "did-not-hold"},
        )  # fmt: skip
    except (OSError, RuntimeError, http.client.HTTPException):
        return  # refused or cut off: not acknowledged, so nothing is promised
    with tally.lock:
        if status == 302 and location.endswith(f"/s/{token}/thanks"):
            tally.answers.append(token)
        elif status >= 500:
            tally.server_errors.append(f"answer {status}")


def signed_in(base: str, email: str) -> Browser:
    """A rep's browser, signed in."""
    browser = Browser(base)
    token = browser.csrf("/login")
    form = {"csrf_token": token, "email": email, "password": PASSWORD}
    status, _, _ = browser.post("/login", form)
    if status != 302:
        raise RuntimeError(f"sign-in of {email}: {status}")
    return browser


def write_lessons(
    base: str | Browser, email: str, tally: Tally, stop: threading.Event, budget: int
) -> None:
    """One rep: sign in (unless given a signed-in browser) and write lessons with unique titles
    until stopped or out of budget."""
    try:
        browser = signed_in(base, email) if isinstance(base, str) else base
        token = browser.csrf("/kb/lessons/new")
    except (OSError, RuntimeError, http.client.HTTPException):
        return
    for n in range(budget):
        if stop.is_set():
            return
        title = f"Lesson {email.split('@')[0]} {n} {time.monotonic_ns()}"
        try:
            status, location, _ = browser.post(
                "/kb/lessons/new", {"csrf_token": token, "title": title, "body": "Promise less."}
            )
        except (OSError, http.client.HTTPException):
            return  # the server went away mid-request
        with tally.lock:
            if status == 302 and location.startswith("/kb/"):
                tally.lessons[title] = location.removeprefix("/kb/")
            elif status >= 500:
                tally.server_errors.append(f"lesson {status}")


def index_slugs(site: Site) -> dict[str, int]:
    """slug -> how many rows the search index holds for it (read straight from its file)."""
    conn = sqlite3.connect(site.data / "index.sqlite")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(conn.execute("SELECT slug, count(*) FROM entry GROUP BY slug"))
    finally:
        conn.close()


def check_acknowledged(site: Site, tally: Tally, index: dict[str, int]) -> None:
    """Every acknowledged answer and lesson: once in the store, once in the files, in the index."""
    app = site.app()
    with app.app_context():
        store = get_store()
        files: dict[str, list] = {}
        for item in entries.iter_entries(site.entries):
            assert not isinstance(item, entries.EntryError), f"broken entry file: {item}"
            files.setdefault(item.slug, []).append(item)
        titles: dict[str, int] = {}
        for found in files.values():
            for entry in found:
                titles[entry.title] = titles.get(entry.title, 0) + 1
        for token in tally.answers:
            invitation = invitations.find_by_token(store, token)
            assert invitation["status"] == "answered"
            stored = store.table("answers").find("invitation_id", invitation["id"])
            assert len(stored) == 1, f"answer for invitation {invitation['id']}: {len(stored)}"
            slug = stored[0].get("entry_slug")
            assert slug and len(files.get(slug, [])) == 1, f"entry of answer {stored[0]['id']}"
            assert index.get(slug) == 1, f"answer entry {slug} in the index: {index.get(slug)}"
        for title, slug in tally.lessons.items():
            assert titles.get(title) == 1, f"lesson {title!r} in the files: {titles.get(title)}"
            assert len(files.get(slug, [])) == 1 and index.get(slug) == 1, slug
