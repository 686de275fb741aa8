"""Every route x every kind of visitor: exactly the allowed ones get in.

The table below has one row per (endpoint, method) of the app's url_map; a new route without a
row fails test_every_route_has_a_row, so nobody can add a page and forget who may see it.
Visitors: anonymous, a buyer holding deal A's link (token), rep A (owns deal A and lesson A),
rep B (owns deal B), a manager.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from conftest import PASSWORD, AuthActions, app_settings
from world import build, deal_record, page_token

from debrief import create_app
from debrief.auth import users
from debrief.store import get_store

ROLES = ("anon", "token", "rep_b", "rep_a", "manager")  # allowed writers last: they change state
LOGIN = "login"  # 302 to the sign-in page
GO = "go"  # 302 somewhere else: the action was accepted (or its form sent back with a message)


def _who(anon, token, rep_b, rep_a, manager) -> dict[str, object]:
    return dict(zip(ROLES, (anon, token, rep_b, rep_a, manager), strict=True))


SIGNED_IN = _who(LOGIN, LOGIN, 200, 200, 200)
MANAGER = _who(LOGIN, LOGIN, 403, 403, 200)
MANAGER_GO = _who(LOGIN, LOGIN, 403, 403, GO)
OWNER = _who(LOGIN, LOGIN, 404, 200, 200)  # rep B gets 404, never 403: ids cannot be probed
AUTHOR = _who(LOGIN, LOGIN, 403, 200, 200)  # lesson slugs are public in the kb: 403 is honest
EVERYONE = _who(200, 200, 200, 200, 200)

# (endpoint, method) -> (path, form data, expected per visitor). Form data gets a valid CSRF token
# of the visitor's own session, so what is tested is the role check, not CSRF (test_hostile.py).
TABLE: dict[tuple[str, str], tuple[str, dict, dict]] = {
    ("index", "GET"): ("/", {}, _who(LOGIN, LOGIN, 200, 200, GO)),  # a rep's home page
    ("healthz", "GET"): ("/healthz", {}, EVERYONE),
    ("static", "GET"): ("/static/debrief.css", {}, EVERYONE),
    ("auth.login", "GET"): ("/login", {}, EVERYONE),
    ("auth.login", "POST"): ("/login", {"email": "x@example.test", "password": "nope"}, EVERYONE),
    ("auth.logout", "POST"): ("/logout", {}, _who(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)),
    ("auth.settings", "GET"): ("/settings", {}, SIGNED_IN),
    ("auth.settings", "POST"): ("/settings", {"digest": "y"}, _who(LOGIN, LOGIN, GO, GO, GO)),
    ("api.create_deal", "POST"): ("/api/deals", {}, _who(401, 401, 401, 401, 401)),
    ("deals.index", "GET"): ("/deals", {}, SIGNED_IN),
    ("deals.new", "GET"): ("/deals/new", {}, SIGNED_IN),
    ("deals.new", "POST"): ("/deals/new", {}, SIGNED_IN),  # empty: the form with its errors
    ("deals.import_csv", "GET"): ("/deals/import", {}, SIGNED_IN),
    ("deals.import_csv", "POST"): ("/deals/import", {}, SIGNED_IN),
    ("deals.show", "GET"): ("/deals/{deal_a}", {}, OWNER),
    ("deals.edit", "GET"): ("/deals/{deal_a}/edit", {}, OWNER),
    ("deals.edit", "POST"): ("/deals/{deal_a}/edit", {"company": ""}, OWNER),
    ("deals.invite", "GET"): ("/deals/{deal_a}/invite", {}, OWNER),
    ("deals.invite", "POST"): ("/deals/{deal_a}/invite", {"personal_note": "Hi."}, OWNER),
    ("deals.retry", "POST"): ("/deals/{deal_a}/retry", {}, _who(LOGIN, LOGIN, 404, GO, GO)),
    # Managers only; the owning rep gets 403, another rep 404 (ids cannot be probed). Without
    # confirmed=y the manager gets the confirmation page; the deletion is in test_deals.py.
    ("deals.delete", "POST"): ("/deals/{deal_a}/delete", {}, _who(LOGIN, LOGIN, 404, 403, 200)),
    # The site has no import: the manager's 404 shows the role check passed (test_deals.py
    # undoes a real import through the web).
    ("deals.undo_import", "POST"): ("/deals/imports/1/undo", {}, _who(LOGIN, LOGIN, 403, 403, 404)),
    ("kb.index", "GET"): ("/kb", {}, SIGNED_IN),
    ("kb.entry", "GET"): ("/kb/{lesson_a}", {}, SIGNED_IN),
    ("kb.new_lesson", "GET"): ("/kb/lessons/new", {}, SIGNED_IN),
    ("kb.new_lesson", "POST"): ("/kb/lessons/new", {}, SIGNED_IN),
    ("kb.edit_lesson", "GET"): ("/kb/{lesson_a}/edit", {}, AUTHOR),
    ("kb.edit_lesson", "POST"): ("/kb/{lesson_a}/edit", {"title": ""}, AUTHOR),
    ("kb.problems", "GET"): ("/kb/problems", {}, MANAGER),
    ("kb.export", "GET"): ("/kb/export", {}, MANAGER),
    ("people.index", "GET"): ("/people", {}, MANAGER),
    ("people.add", "POST"): ("/people/new", {"email": "bad"}, _who(LOGIN, LOGIN, 403, 403, 400)),
    ("people.password", "POST"): ("/people/{rep_b_id}/password", {"password": "x"}, MANAGER_GO),
    ("people.active", "POST"): ("/people/{rep_b_id}/active", {"active": "1"}, MANAGER_GO),
    ("survey.answer", "GET"): ("/s/{token_a}", {}, EVERYONE),  # the link is the key
    ("survey.answer", "POST"): ("/s/{token_a}", {}, EVERYONE),  # empty: the form with errors
    ("survey.thanks", "GET"): ("/s/{token_a}/thanks", {}, _who(GO, GO, GO, GO, GO)),
    ("survey.optout", "GET"): ("/s/{token_a}/optout", {}, EVERYONE),
    ("survey.optout", "POST"): ("/s/{token_a}/optout", {}, EVERYONE),
    ("themes.index", "GET"): ("/themes", {}, SIGNED_IN),
    ("themes.show", "GET"): ("/themes/{theme}", {}, SIGNED_IN),
    ("themes.create", "POST"): ("/themes/new", {"name": "Trust"}, MANAGER_GO),
    ("themes.edit", "POST"): ("/themes/{theme}/edit", {"name": "Price"}, MANAGER_GO),
    ("themes.merge", "POST"): ("/themes/{theme}/merge", {"target": "nope"}, MANAGER_GO),
    ("themes.delete", "POST"): ("/themes/{theme}/delete", {}, MANAGER_GO),
    ("themes.tag", "POST"): ("/themes/tag", {"slug": "{lesson_a}", "theme": "{theme}"}, MANAGER_GO),
    ("themes.untag", "POST"): ("/themes/untag", {"slug": "{lesson_a}", "theme": "x"}, MANAGER_GO),
    ("themes.tag_search", "POST"): ("/themes/tag-search", {"theme": "{theme}"}, MANAGER_GO),
    ("themes.tag_search_preview", "GET"): ("/themes/tag-search?q=alpha", {}, MANAGER),
    ("themes.suggestions", "GET"): ("/themes/suggestions", {}, MANAGER),
    # One word is no group: the manager's 400 (the form again, the error beside the field).
    ("themes.add_synonyms", "POST"): (
        "/themes/synonyms",
        {"line": "x"},
        _who(LOGIN, LOGIN, 403, 403, 400),
    ),
    ("themes.dashboard", "GET"): ("/dashboard", {}, MANAGER),
    ("themes.cell", "GET"): ("/dashboard/cell?rep_reason=price&buyer_reason=trust", {}, MANAGER),
    ("themes.answers_csv", "GET"): ("/dashboard/answers.csv", {}, MANAGER),
    ("themes.table_csv", "GET"): ("/dashboard/themes-by-month.csv", {}, MANAGER),
}


def routes(app) -> set[tuple[str, str]]:
    """Every (endpoint, method) the app answers, HEAD and OPTIONS aside."""
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_has_a_row(app):
    missing = routes(app) - set(TABLE)
    stale = set(TABLE) - routes(app)
    assert not missing, f"routes without an access row in test_access.TABLE: {sorted(missing)}"
    assert not stale, f"rows for routes that no longer exist: {sorted(stale)}"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The populated site built once, with each visitor's session cookie (hashing is slow)."""
    root = tmp_path_factory.mktemp("access-template")
    app = create_app(app_settings(root))
    Path(app.config["ENTRIES_DIR"]).mkdir(parents=True)
    with app.app_context():
        for email, role in (("rep", "rep"), ("other", "rep"), ("boss", "manager")):
            users.add_user(get_store(), f"{email}@example.test", role, PASSWORD, email.title())
    world = build(app)
    cookies = {}
    for role in ROLES:
        client = app.test_client()
        if role == "token":
            assert client.get(f"/s/{world.token_a}").status_code == 200
        elif role != "anon":
            email = {"rep_a": "rep", "rep_b": "other", "manager": "boss"}[role]
            assert AuthActions(client).login(f"{email}@example.test").status_code == 302
        cookie = client.get_cookie("debrief_session")
        cookies[role] = cookie.value if cookie else None
    return root, world, cookies


@pytest.fixture
def site(template, tmp_path):
    """A fresh copy of the populated site: (app, world, one client per visitor)."""
    root, world, cookies = template
    for folder in ("data", "entries"):
        shutil.copytree(root / folder, tmp_path / folder)
    app = create_app(app_settings(tmp_path))
    clients = {}
    for role in ROLES:
        clients[role] = app.test_client()
        if cookies[role]:
            clients[role].set_cookie("debrief_session", cookies[role])
    return app, world, clients


def fill(text: str, world) -> str:
    """A path or form value with the world's ids and tokens put in."""
    return text.format(
        deal_a=world.deal_a,
        lesson_a=world.lesson_a,
        token_a=world.token_a,
        theme=world.theme,
        rep_b_id=world.rep_b["id"],
    )


def outcome(response) -> object:
    """The status as the table spells it."""
    if response.status_code == 302:
        return LOGIN if response.location.startswith("/login") else GO
    return response.status_code


@pytest.mark.parametrize("route", sorted(TABLE), ids=lambda r: f"{r[1]} {r[0]}")
def test_exactly_the_allowed_visitors_get_in(site, route):
    app, world, clients = site
    path, data, expected = TABLE[route]
    method = route[1]
    seen = {}
    for role in ROLES:
        client = clients[role]
        url = fill(path, world)
        if method == "GET":
            response = client.get(url)
        else:
            form = {k: fill(v, world) for k, v in data.items()}
            form["csrf_token"] = page_token(client)
            response = client.post(url, data=form)
        response.close()  # a download (the export zip) holds its file until closed
        seen[role] = outcome(response)
        assert response.status_code < 500, f"{role} {method} {url}: {response.status_code}"
    assert seen == expected, f"{method} {path}"


def test_deal_ids_cannot_be_walked(app, auth, client):
    world = build(app)
    with app.app_context():
        deals = get_store().table("deals")
        for i in range(6):
            deals.insert(deal_record(world.rep_a if i % 2 else world.manager, f"Walk {i}"))
        top = max(d["id"] for d in deals.all())
        own = {d["id"] for d in deals.all() if d["rep_id"] == world.rep_b["id"]}
    auth.login("other@example.test")
    for deal_id in range(0, top + 3):
        for suffix in ("", "/edit", "/invite"):
            code = client.get(f"/deals/{deal_id}{suffix}").status_code
            assert code == (200 if deal_id in own else 404), f"/deals/{deal_id}{suffix}"
        token = page_token(client)
        code = client.post(f"/deals/{deal_id}/retry", data={"csrf_token": token}).status_code
        assert code == (302 if deal_id in own else 404)


def test_a_reps_lists_and_choices_hold_only_their_own_deals(app, auth, client):
    world = build(app)
    auth.login("other@example.test")
    for path in ("/deals", "/deals?q=Alpha", "/deals?status=sent", "/kb/lessons/new",
                 f"/kb/lessons/new?deal={world.deal_a}"):  # fmt: skip
        html = client.get(path).get_data(as_text=True)
        assert "Alphacorp" not in html and "buyer@alphacorp" not in html, path
    before = sorted(Path(app.config["ENTRIES_DIR"]).rglob("*.md"))
    response = client.post(
        "/kb/lessons/new",
        data={
            "csrf_token": page_token(client, "/kb/lessons/new"),
            "title": "Stolen",
            "body": "x",
            "deal": str(world.deal_a),
        },
    )
    assert response.status_code == 200
    assert sorted(Path(app.config["ENTRIES_DIR"]).rglob("*.md")) == before


def test_a_rep_cannot_edit_another_reps_lesson(app, auth, client):
    world = build(app)
    with app.app_context():
        from debrief.kb.service import load

        path = load(world.lesson_a).path
    original = Path(path).read_bytes()
    auth.login("other@example.test")
    token = page_token(client)
    for data in ({"title": "Mine now", "body": "Overwritten"}, {"preview": "1", "body": "x"}):
        response = client.post(f"/kb/{world.lesson_a}/edit", data={**data, "csrf_token": token})
        assert response.status_code == 403
    assert Path(path).read_bytes() == original


def test_a_buyer_token_opens_only_its_own_form_and_never_the_knowledge_base(app):
    world = build(app)
    client = app.test_client()
    token = world.token_a
    assert "Live in two weeks" in client.get(f"/s/{token}").get_data(as_text=True)
    near_misses = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        token.upper() if token.upper() != token else token.lower(),
        token + "x",
        hashlib.sha256(token.encode()).hexdigest(),
        str(world.invitation_a),
    ]
    for guess in near_misses:
        for suffix in ("", "/thanks", "/optout"):
            assert client.get(f"/s/{guess}{suffix}").status_code == 404, guess
    bearer = {"Authorization": f"Bearer {token}"}
    for path in ("/kb", f"/kb?token={token}", f"/kb/{world.lesson_a}", f"/deals/{world.deal_a}",
                 "/dashboard", "/themes", f"/kb/{world.lesson_a}/edit"):  # fmt: skip
        response = client.get(path, headers=bearer)
        assert outcome(response) == LOGIN, path
    response = client.post("/api/deals", json={"company": "x"}, headers=bearer)
    assert response.status_code == 401 and "errors" in response.get_json()
