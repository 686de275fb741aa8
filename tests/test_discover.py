"""Proposed themes (/themes/discover): found in the untagged entries' words, created and tagged
in one step (files and index follow), dismissed for good unless new entries join, managers only,
fresh or saying how fresh they are, and on the dashboard when they grow."""

from __future__ import annotations

import datetime
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import csrf_token
from pages import forms, visible_text

from bench import topics
from debrief import entries
from debrief.kb import service as kb
from debrief.store import get_store
from debrief.themes import discover, proposals, service

MANAGER, REP = "boss@example.test", "rep@example.test"


@pytest.fixture
def planted(app):
    """Two planted topics of 12 entries among 20 unrelated ones, none tagged."""
    return topics.write(
        Path(app.config["ENTRIES_DIR"]), per_topic=12, unrelated=20, topics=("mobile", "invoices")
    )


@pytest.fixture
def manager(client, auth):
    """A client signed in as the manager."""
    auth.login(MANAGER)
    return client


def refresh(app, with_tagged: bool = False) -> None:
    """Compute the proposals as the background process does (same function, this process)."""
    folders = Path(app.config["DATA_DIR"]), Path(app.config["ENTRIES_DIR"])
    assert proposals.refresh(*folders, with_tagged)


def proposal_forms(client, page: str = "/themes/discover") -> dict[str, dict]:
    """proposal id -> {"create": Form, "dismiss": Form} as the page shows them."""
    found: dict[str, dict] = {}
    for form in forms(client.get(page).get_data(as_text=True)):
        parts = form.action.split("?")[0].split("/")
        if form.action.startswith("/themes/discover/"):
            found.setdefault(parts[3], {})[parts[4]] = form
    return found


def topic_proposal(app, slugs: list[str]) -> dict:
    """The shown proposal holding most of these entries."""
    with app.test_request_context():
        shown = proposals.current(get_store(), start=False).proposals
    best = max(shown, key=lambda p: len(set(p["slugs"]) & set(slugs)), default=None)
    assert best is not None and len(set(best["slugs"]) & set(slugs)) >= len(slugs) * 0.6, shown
    return best


def file_themes(app, slug: str) -> list[str]:
    """The Themes header as stored in the entry's file."""
    with app.app_context():
        return entries.read_entry(entries.find_entry(kb.entries_dir(), slug)).themes


def test_planted_topic_is_proposed_and_creating_it_tags_its_entries(app, manager, planted):
    refresh(app)
    mobile = topic_proposal(app, planted.topics["mobile"])
    assert Counter(s in planted.topics["mobile"] for s in mobile["slugs"])[True] >= 0.7 * len(
        mobile["slugs"]
    )
    html = manager.get("/themes/discover").get_data(as_text=True)
    text = visible_text(html)
    assert mobile["name"] in text and f"{len(mobile['slugs'])} entries" in text
    assert any(term in text for term in ("app", "tablets", "field", "mobile", "offline"))

    form = proposal_forms(manager)[mobile["id"]]["create"]
    name_field = f"p{mobile['id']}-name"
    assert form.fields[name_field] == mobile["name"]  # the suggested name, editable
    response = manager.post(form.action, data={**form.fields, name_field: "Mobile and offline"})
    assert response.status_code == 302 and response.location.endswith("/themes/mobile-and-offline")
    for slug in mobile["slugs"]:
        assert "mobile-and-offline" in file_themes(app, slug)
    with app.app_context():
        indexed = kb.search("", {"theme": "mobile-and-offline"}, None, None, 1, per_page=100)
    assert {h.slug for h in indexed.hits} == set(mobile["slugs"])
    assert mobile["id"] not in proposal_forms(manager)  # gone at once, before any recomputation
    # Tagged entries leave the untagged ones: the next computation no longer proposes them.
    refresh(app)
    with app.test_request_context():
        left = proposals.current(get_store(), start=False).proposals
    assert not any(set(p["slugs"]) & set(mobile["slugs"]) for p in left)


def test_dismissed_proposal_stays_away_until_new_entries_join(app, manager, planted):
    refresh(app)
    mobile = topic_proposal(app, planted.topics["mobile"])
    form = proposal_forms(manager)[mobile["id"]]["dismiss"]
    response = manager.post(form.action, data=form.fields)
    assert response.status_code == 302
    assert mobile["id"] not in proposal_forms(manager)
    assert "1 proposal hidden (dismissed" in visible_text(
        manager.get("/themes/discover").get_data(as_text=True)
    )
    # The knowledge base changes elsewhere and everything is computed again: still away.
    topics.write(Path(app.config["ENTRIES_DIR"]), per_topic=0, unrelated=3, seed=5)
    refresh(app)
    with app.test_request_context():
        shown = proposals.current(get_store(), start=False).proposals
    assert not any(set(p["slugs"]) & set(planted.topics["mobile"]) for p in shown)
    # New entries on the same topic join it: it comes back, with them.
    joined = topics.write(
        Path(app.config["ENTRIES_DIR"]), per_topic=4, unrelated=0, seed=6, topics=("mobile",)
    )
    refresh(app)
    back = topic_proposal(app, planted.topics["mobile"])
    assert set(joined.topics["mobile"]) & set(back["slugs"])
    assert back["id"] in proposal_forms(manager)


def test_rep_gets_403(app, client, auth, planted):
    refresh(app)
    with app.test_request_context():
        pid = proposals.current(get_store(), start=False).proposals[0]["id"]
    auth.login(REP)
    assert client.get("/themes/discover").status_code == 403
    for action in ("create", "dismiss"):
        data = {f"p{pid}-name": "X", "csrf_token": csrf_token(client, "/")}
        response = client.post(f"/themes/discover/{pid}/{action}", data=data)
        assert response.status_code == 403
    with app.app_context():
        assert get_store().table("themes").all() == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "This field is required."),
        ("x" * 81, "Field cannot be longer than 80 characters."),
        ("Discover", "is the name of a page here"),
        ("Taken already", "exists already"),
    ],
)
def test_bad_name_re_renders_with_the_message_beside_the_field(
    app, manager, planted, name, message
):
    refresh(app)
    manager.post("/themes/new", data={"name": "Taken already", **_token(manager)})
    mobile = topic_proposal(app, planted.topics["mobile"])
    form = proposal_forms(manager)[mobile["id"]]["create"]
    field = f"p{mobile['id']}-name"
    response = manager.post(form.action, data={**form.fields, field: name})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html and message in html
    assert f'value="{name}"' in html  # what was typed is kept
    for slug in mobile["slugs"]:
        assert file_themes(app, slug) == []
    with app.app_context():
        assert [t["name"] for t in get_store().table("themes").all()] == ["Taken already"]


def _token(client) -> dict:
    """The CSRF token of the themes page's create form."""
    form = next(f for f in forms(client.get("/themes").get_data(as_text=True)) if f.action)
    return {"csrf_token": form.fields["csrf_token"]}


def test_page_computes_in_the_background_and_says_how_fresh_it_is(app, manager, planted):
    first = visible_text(manager.get("/themes/discover").get_data(as_text=True))
    assert "Looking for recurring reasons now" in first
    cache = proposals.cache_path(Path(app.config["DATA_DIR"]))
    deadline = time.monotonic() + 120
    while not cache.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    while proposals.is_refreshing(Path(app.config["DATA_DIR"])):
        time.sleep(0.2)
    text = visible_text(manager.get("/themes/discover").get_data(as_text=True))
    assert "Up to date" in text and "untagged entries were looked at" in text
    with app.app_context():
        kb.publish(entries.Entry(kind="lesson", title="A new lesson", date=datetime.date.today(),
                                 body="Something else entirely."))  # fmt: skip
    text = visible_text(manager.get("/themes/discover").get_data(as_text=True))
    assert "the knowledge base changed since" in text


def test_only_the_most_recent_untagged_entries_are_looked_at(app, manager, planted, monkeypatch):
    monkeypatch.setattr(discover, "LIMIT", 30)
    refresh(app)
    text = visible_text(manager.get("/themes/discover").get_data(as_text=True))
    assert "Only the most recent 30 of 44 untagged entries were looked at" in text


def test_dashboard_lists_proposals_that_grew_as_possibly_rising(app, manager):
    today = datetime.date.today()
    # The planted entries all fall in the last 90 days: every proposal grew.
    planted = topics.write(
        Path(app.config["ENTRIES_DIR"]), per_topic=12, unrelated=20, topics=("mobile", "invoices"),
        recent_days=80, today=today,
    )  # fmt: skip
    refresh(app)
    mobile = topic_proposal(app, planted.topics["mobile"])
    html = manager.get("/dashboard").get_data(as_text=True)
    text = visible_text(html)
    assert "Possibly rising, not yet a theme" in text
    assert mobile["name"] in text and "/themes/discover" in html


def test_command_computes_and_saves_the_proposals(app, runner, planted, manager):
    result = runner.invoke(args=["themes", "discover"])
    assert result.exit_code == 0, result.output
    assert "proposed themes from 44 of 44 untagged entries" in result.output
    assert "Up to date" in visible_text(manager.get("/themes/discover").get_data(as_text=True))


def test_tagged_entries_are_left_out_unless_asked(app, manager, planted):
    with app.app_context():
        service.create_and_tag(get_store(), "Field work", planted.topics["mobile"])
    refresh(app)
    refresh(app, with_tagged=True)
    assert "Include entries that already have a theme" in manager.get("/themes/discover").text
    with app.test_request_context():
        untagged = proposals.current(get_store(), start=False).proposals
        every = proposals.current(get_store(), start=False, with_tagged=True).proposals
    assert not any(set(p["slugs"]) & set(planted.topics["mobile"]) for p in untagged)
    asked = max(every, key=lambda p: len(set(p["slugs"]) & set(planted.topics["mobile"])))
    assert len(set(asked["slugs"]) & set(planted.topics["mobile"])) >= 8
    shown = proposal_forms(manager, "/themes/discover?tagged=1")
    assert asked["id"] in shown and asked["id"] not in proposal_forms(manager)
    text = visible_text(manager.get("/themes/discover?tagged=1").get_data(as_text=True))
    assert "Only entries without a theme" in text and "44 entries were looked at" in text
    form = shown[asked["id"]]["dismiss"]
    response = manager.post(form.action, data=form.fields)
    assert response.status_code == 302 and response.location.endswith("?tagged=1")
    assert asked["id"] not in proposal_forms(manager, "/themes/discover?tagged=1")


def test_one_refresh_at_a_time(app, manager, planted):
    data_dir = Path(app.config["DATA_DIR"])
    with proposals._refresh_lock(data_dir) as held:  # another process's refresh, as it holds it
        assert held
        assert proposals.is_refreshing(data_dir)
        assert not proposals.refresh(data_dir, Path(app.config["ENTRIES_DIR"]))
        text = visible_text(manager.get("/themes/discover").get_data(as_text=True))
        assert "Looking for recurring reasons now" in text
        assert not proposals.cache_path(data_dir).exists()  # no second refresh was started
    assert not proposals.is_refreshing(data_dir)


def test_server_process_never_imports_scikit_learn(app, planted, tmp_path):
    """SPEC 4 memory: the page and the dashboard read the saved proposals only."""
    refresh(app)
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from conftest import app_settings, PASSWORD
from pathlib import Path
from debrief import create_app
app = create_app(app_settings(Path({str(tmp_path)!r})))
client = app.test_client()
import re
token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text)[1]
client.post("/login", data={{"email": "boss@example.test", "password": PASSWORD,
                             "csrf_token": token}})
for page in ("/themes/discover", "/dashboard"):
    response = client.get(page)
    assert response.status_code == 200 and "Up to date" in client.get("/themes/discover").text
print(sorted(m for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy", "numpy")))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_failed_refresh_is_said_and_not_started_again_at_once(app, manager, planted, monkeypatch):
    """A refresh process that fails is not restarted on every reload (each costs seconds of CPU)."""
    monkeypatch.setattr(proposals, "COMMAND", (sys.executable, "-c", "raise SystemExit(3)"))
    manager.get("/themes/discover")
    with app.app_context():
        process, _ = proposals._last_refresh()
    assert process.wait(timeout=60) == 3
    page = manager.get("/themes/discover").get_data(as_text=True)
    assert "Computing the proposals failed" in visible_text(page)
    assert 'http-equiv="refresh"' not in page  # no reload loop on a page that cannot fill
    with app.app_context():
        assert proposals._last_refresh()[0] is process  # not started again
        # RETRY_AFTER later, it is tried again.
        app.extensions["debrief.proposals.process"] = (process, time.monotonic() - 301)
    manager.get("/themes/discover")
    with app.app_context():
        assert proposals._last_refresh()[0] is not process
        proposals._last_refresh()[0].wait(timeout=60)
