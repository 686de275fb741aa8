"""Hostile input against the whole app: CSRF, oversize bodies, the API, header injection,
path traversal, generated queries and entry files, token guessing."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from conftest import PASSWORD, app_settings, refuse_sqlite_writes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_access import TABLE, fill, site, template  # noqa: F401 - fixtures used below
from world import build, deal_record, page_token

from debrief import create_app
from debrief.auth import users
from debrief.store import get_store

HYPOTHESIS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
KEY = {"Authorization": "Bearer test-api-key"}
API_BODY = {"company": "Acme", "rep_email": "rep@example.test", "contact_email": "j@acme.test"}


def table(app, name: str) -> list[dict]:
    with app.app_context():
        return get_store().table(name).all()


def outbox(app) -> list[Path]:
    return sorted((Path(app.config["DATA_DIR"]) / "outbox").glob("*.eml"))


SECRET = "TOP-SECRET-OUTSIDE-THE-ENTRIES-FOLDER"


@pytest.fixture(scope="module")
def shared(template, tmp_path_factory):  # noqa: F811 - the imported fixture
    """One populated site for the tests that must change nothing: (app, world, clients).

    A valid-looking entry sits just outside its entries folder, with a symlink to it inside.
    """
    import shutil

    root, world, cookies = template
    here = tmp_path_factory.mktemp("hostile")
    for folder in ("data", "entries"):
        shutil.copytree(root / folder, here / folder)
    app = create_app(app_settings(here))
    text = f"---\nTitle: {SECRET}\nDate: 2024-01-01\nKind: lesson\n---\n\n{SECRET}\n"
    (here / "secret.md").write_text(text)
    (here / "data" / "secret.md").write_text(text)
    os.symlink(here / "secret.md", here / "entries" / "linked.md")
    clients = {}
    for role, cookie in cookies.items():
        clients[role] = app.test_client()
        if cookie:
            clients[role].set_cookie("debrief_session", cookie)
    return app, world, clients


def count(app, name: str = "deals") -> int:
    with app.app_context():
        return get_store().table(name).count()


def versions(app) -> dict[str, int]:
    """Every table's change counter: equal before and after means nothing was written."""
    with app.app_context():
        store = get_store()
        names = [p.name for p in (Path(app.config["DATA_DIR"]) / "db").iterdir() if p.is_dir()]
        return {name: store.table(name).version() for name in names}


# --- CSRF on every form --------------------------------------------------------------------------

POST_ROUTES = sorted(r for r in TABLE if r[1] == "POST" and r[0] != "api.create_deal")


def test_the_api_is_the_only_route_without_csrf(app):
    """Any other exempt view must be justified here (the optout view checks its form itself)."""
    from debrief.security import csrf

    exempt = set(csrf._exempt_views) | {getattr(b, "name", b) for b in csrf._exempt_blueprints}
    assert exempt <= {"debrief.survey.views.optout", "api"}, exempt


@pytest.mark.parametrize("route", POST_ROUTES, ids=lambda r: r[0])
@pytest.mark.parametrize("token", ["missing", "wrong", "another-session"])
def test_a_form_post_without_its_csrf_token_is_400_and_changes_nothing(site, route, token):  # noqa: F811
    app, world, clients = site
    path, data, _ = TABLE[route]
    client = clients["manager"]  # may do everything: only CSRF can stop it
    form = {k: fill(v, world) for k, v in data.items()}
    if token == "wrong":
        form["csrf_token"] = "IjAwMDAi.ZmFrZQ.bm90LWEtdG9rZW4"
    elif token == "another-session":
        form["csrf_token"] = page_token(clients["rep_a"])
    before = versions(app)
    response = client.post(fill(path, world), data=form)
    assert response.status_code == 400
    assert versions(app) == before
    assert client.get("/deals").status_code == 200  # still signed in (logout refused too)


# --- oversize bodies -----------------------------------------------------------------------------

BIG = 5 * 1024 * 1024 + 1


@pytest.mark.parametrize(
    "path", ["/login", "/deals/new", "/deals/import", "/kb/lessons/new", "/s/{token_a}"]
)
def test_a_body_over_the_limit_is_413_with_the_error_page(shared, path):
    app, world, clients = shared
    client = clients["manager"]
    token = page_token(client)
    # Encoded by hand: the test client would spool a big upload to a temporary file that an
    # aborted request never closes (a ResourceWarning, which fails the run).
    boundary = "hostile-boundary"
    name = 'file"; filename="big.csv' if path == "/deals/import" else "notes"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        ).encode()
        + b"x" * BIG
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        fill(path, world), data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200


def test_an_api_body_over_the_limit_is_413_json(shared):
    app, _, clients = shared
    client, before = clients["anon"], count(app)
    body = json.dumps({**API_BODY, "notes": "x" * BIG})
    response = client.post(
        "/api/deals", data=body, headers={**KEY, "Content-Type": "application/json"}
    )
    assert response.status_code == 413 and "errors" in response.get_json()
    assert count(app) == before


# --- the API -------------------------------------------------------------------------------------

MALFORMED = [
    b"",
    b"{",
    b'{"company": "x",}',
    b"\xff\xfe\x00garbage",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"value": 1' + b"0" * 5000 + b"}",  # past Python's int digit limit: ValueError, not JSON's
    b"NaN",
    b'"just a string"',
    b"[1, 2]",
    b"null",
]


@pytest.mark.parametrize("raw", MALFORMED, ids=lambda r: repr(r[:20]))
def test_malformed_json_is_a_json_4xx_with_errors(shared, raw):
    app, _, clients = shared
    client, before = clients["anon"], count(app)
    response = client.post(
        "/api/deals", data=raw, headers={**KEY, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.status_code
    assert "errors" in response.get_json()
    assert count(app) == before


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "application/xml", "application/jsonp", "text/json"],
)  # fmt: skip
def test_a_body_that_is_not_declared_json_is_415(shared, content_type):
    app, _, clients = shared
    client, before = clients["anon"], count(app)
    headers = {**KEY, **({"Content-Type": content_type} if content_type else {})}
    response = client.post("/api/deals", data=json.dumps(API_BODY), headers=headers)
    assert response.status_code == 415 and "errors" in response.get_json()
    assert count(app) == before


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Bearer wrong", "Basic dGVzdC1hcGkta2V5", "test-api-key",
     "Bearer test-api-key-and-more", "Bearer test-api-ke", "Bearer test-api-key\x00",
     "Token test-api-key"],
)  # fmt: skip
def test_a_missing_or_wrong_key_is_401_json(shared, header):
    app, _, clients = shared
    client, before = clients["anon"], count(app)
    headers = {"Authorization": header} if header is not None else {}
    response = client.post("/api/deals", json=API_BODY, headers=headers)
    assert response.status_code == 401 and "authorization" in response.get_json()["errors"]
    assert count(app) == before


WRONG_TYPES = [
    ("company", [1, 2]), ("company", {"a": 1}), ("company", True), ("company", 12),
    ("company", "x" * 100_000), ("company", ""),
    ("contact_email", ["a@b.test"]), ("contact_email", "not an email"), ("contact_email", 5),
    ("rep_email", None), ("rep_email", "nobody@example.test"), ("rep_email", {"$ne": ""}),
    ("value", "twelve"), ("value", [12]), ("value", True), ("value", -5), ("value", {"n": 1}),
    ("lost_on", "yesterday"), ("lost_on", "2024-13-45"), ("lost_on", "99999-01-01"),
    ("lost_on", 20240101), ("lost_on", "2999-01-01"),
    ("rep_reason", "cheap"), ("rep_reason", ["price"]), ("rep_reasons", "price"),
    ("rep_reasons", ["price", 3]), ("rep_reasons", ["nope"]),
    ("claims", "one claim"), ("claims", [1]), ("claims", ["x" * 10_000]), ("claims", [["x"]]),
    ("claims", ["a\nb"]), ("send_invite", "yes"), ("send_invite", 1),
    ("notes", ["x"]), ("crm_id", [1]), ("crm_id", 1.5), ("surprise", "field"),
]  # fmt: skip


@pytest.mark.parametrize(("field", "value"), WRONG_TYPES, ids=lambda v: repr(v)[:30])
def test_a_wrong_value_per_field_is_a_json_4xx_naming_the_field(shared, field, value):
    app, _, clients = shared
    client, before = clients["anon"], count(app)
    response = client.post("/api/deals", json={**API_BODY, field: value}, headers=KEY)
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data())
    assert field in response.get_json()["errors"]
    assert count(app) == before


@pytest.mark.parametrize("raw", ["1e999", "-1e999", "1" * 400])
def test_huge_numbers_are_refused_or_kept_exactly_never_a_500(shared, raw):
    app, _, clients = shared
    client, before = clients["anon"], count(app)
    body = json.dumps(API_BODY)[:-1] + f', "value": {raw}}}'
    response = client.post(
        "/api/deals", data=body, headers={**KEY, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert "value" in response.get_json()["errors"]
    assert count(app) == before


# --- header injection in every field that reaches a mail -----------------------------------------

BREAKS = [
    "\r\nBcc: victim@evil.test",
    "\nBcc: victim@evil.test",
    "\rX-Evil: 1",
    "a\u2028b",
    "x\x00y",
    "\x0bz",
]  # fmt: skip  (%0d%0a arrives decoded as \r\n: form-encoded below)


def deal_form(**changes) -> dict:
    data = {
        "company": "Gammaco",
        "contact_name": "Gus Gamma",
        "contact_email": "gus@gamma.test",
        "lost_on": "2024-04-01",
        "rep_reason": "price",
    }
    return {**data, **changes}


@pytest.mark.parametrize("field", ["company", "contact_name", "contact_email", "competitor"])
@pytest.mark.parametrize("payload", BREAKS, ids=range(len(BREAKS)))
def test_line_breaks_in_deal_fields_are_refused_beside_the_field(shared, field, payload):
    app, _, clients = shared
    client, before = clients["rep_a"], count(app)
    token = page_token(client, "/deals/new")
    value = ("gus@gamma.test" if field == "contact_email" else "Gamma") + payload
    response = client.post("/deals/new", data={**deal_form(**{field: value}), "csrf_token": token})
    assert response.status_code == 200
    assert re.search(rf'id="{field}-error"', response.get_data(as_text=True)), field
    assert count(app) == before and outbox(app) == []


@pytest.mark.parametrize("field", ["company", "contact_name", "contact_email"])
def test_line_breaks_in_api_fields_are_refused_and_nothing_is_mailed(shared, field):
    app, _, clients = shared
    client, before = clients["anon"], count(app)
    base = "j@acme.test" if field == "contact_email" else "Acme"
    body = {**API_BODY, field: base + "\r\nBcc: victim@evil.test", "send_invite": True}
    response = client.post("/api/deals", json=body, headers=KEY)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    assert count(app) == before and outbox(app) == []


def test_a_percent_encoded_line_break_is_decoded_and_refused(shared):
    app, _, clients = shared
    client, before = clients["rep_a"], count(app)
    token = page_token(client, "/deals/new")
    body = "&".join(f"{k}={v}" for k, v in deal_form().items() if k != "contact_name")
    body += f"&contact_name=Gus%0d%0aBcc:%20victim@evil.test&csrf_token={token}"
    response = client.post(
        "/deals/new", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert 'id="contact_name-error"' in response.get_data(as_text=True)
    assert count(app) == before


@pytest.mark.parametrize("payload", BREAKS, ids=range(len(BREAKS)))
def test_a_personal_sentence_with_a_line_break_is_refused_and_not_sent(shared, payload):
    app, world, clients = shared
    client = clients["rep_a"]
    with app.app_context():  # a deal not invited yet, so its page offers to send
        deal_id = get_store().table("deals").insert(deal_record(world.rep_a, "Notedco"))
    token = page_token(client, f"/deals/{deal_id}/invite")
    response = client.post(
        f"/deals/{deal_id}/invite",
        data={"csrf_token": token, "personal_note": "Thanks" + payload, "send": "1"},
    )
    assert response.status_code == 200
    assert 'id="personal_note-error"' in response.get_data(as_text=True)
    assert outbox(app) == []


@pytest.mark.parametrize("payload", BREAKS, ids=range(len(BREAKS)))
def test_a_rep_name_with_a_line_break_is_refused(shared, payload):
    app, _, clients = shared
    client = clients["manager"]
    response = client.post(
        "/people/new",
        data={
            "csrf_token": page_token(client, "/people"),
            "email": "newrep@example.test",
            "name": "New" + payload,
            "role": "rep",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 400
    assert 'id="name-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert users.find_user(get_store(), "newrep@example.test") is None


def test_a_csv_cell_with_a_line_break_never_reaches_a_mail(shared):
    app, _, clients = shared
    client, before = clients["rep_a"], count(app)
    csv = (
        "Company,Contact Name,Contact Email,Lost On,Reason\r\n"
        '"Delta\r\nBcc: victim@evil.test",Dan,dan@delta.test,2024-04-01,price\r\n'
        'Epsilon,"Eve\r\nBcc: victim@evil.test",eve@eps.test,2024-04-01,price\r\n'
    )
    response = client.post(
        "/deals/import",
        data={
            "csrf_token": page_token(client, "/deals/import"),
            "file": (io.BytesIO(csv.encode()), "deals.csv"),
        },
    )
    assert response.status_code == 200
    for deal in table(app, "deals")[before:]:  # a row that got in cannot be mailed
        token = page_token(client, f"/deals/{deal['id']}/invite")
        client.post(f"/deals/{deal['id']}/invite", data={"csrf_token": token, "send": "1"})
    assert outbox(app) == []


# --- path traversal ------------------------------------------------------------------------------

TRAVERSALS = [
    "..%2f..%2fsecret", "..%2Fsecret", "%2e%2e%2fsecret", "..%5csecret", "..\\secret",
    "secret%00", "%00", "x%00.md", "%2fetc%2fpasswd", "%2Ftmp%2Fsecret", "/etc/passwd",
    "C:%5Csecret", "..", ".", "...", "a/../../secret", "2024/..%2f..%2fsecret", "~%2fsecret",
    "%252e%252e%252fsecret", "secret.md", "SECRET",
]  # fmt: skip


@pytest.mark.parametrize("slug", TRAVERSALS)
def test_traversal_in_entry_urls_is_404_and_reads_nothing_outside(shared, slug):
    client = shared[2]["manager"]
    for path in (f"/kb/{slug}", f"/kb/{slug}/edit", f"/themes/{slug}"):
        response = client.get(path)
        assert response.status_code in (404, 308, 405), (path, response.status_code)
        assert SECRET not in response.get_data(as_text=True)


def test_a_symlink_out_of_the_entries_folder_is_never_shown(shared):
    client = shared[2]["manager"]
    for path in ("/kb", "/kb?q=secret", "/kb/linked", "/kb/problems", "/kb/export"):
        response = client.get(path)
        assert response.status_code in (200, 404)
        assert SECRET.encode() not in response.get_data(), path
        response.close()


@pytest.mark.parametrize("slug", ["../secret", "..\\secret", "/tmp/secret", "x\x00", "linked"])
def test_tagging_a_traversal_slug_changes_no_file(shared, slug):
    app, world, clients = shared
    client = clients["manager"]
    outside = Path(app.config["DATA_DIR"]).parent
    before = (outside / "secret.md").read_bytes()
    client.post(
        "/themes/tag",
        data={"csrf_token": page_token(client), "slug": slug, "theme": world.theme},
    )
    assert (outside / "secret.md").read_bytes() == before


@pytest.mark.parametrize(
    "title", ["../../escape", "..\\..\\escape", "/etc/passwd", "C:\\x", "nul\x00byte", "%2e%2e%2f"]
)
def test_a_lesson_title_never_places_its_file_outside(shared, title):
    app, _, clients = shared
    client = clients["rep_a"]
    response = client.post(
        "/kb/lessons/new",
        data={"csrf_token": page_token(client), "title": title, "body": "Body text."},
    )
    assert response.status_code in (200, 302)
    root = Path(app.config["ENTRIES_DIR"]).resolve()
    tmp = root.parent
    written = [p for p in tmp.rglob("*.md") if "secret" not in p.name and not p.is_symlink()]
    assert all(root in p.resolve().parents for p in written), written


ODD_NAMES = ["with space.md", "UPPER.md", "dots..md", ".hidden.md", "-dash.md", "ünï.md",
             "semi;colon.md", "quote'.md", "back\\slash.md", "percent%2f.md", "new\nline.md",
             "a" * 240 + ".md", "no-extension", "x.MD"]  # fmt: skip


def test_entry_files_named_oddly_by_hand_never_break_a_page(app, client, auth, runner):
    folder = Path(app.config["ENTRIES_DIR"]) / "2024"
    folder.mkdir()
    for i, name in enumerate(ODD_NAMES):
        body = f"---\nTitle: Odd {i}\nDate: 2024-02-0{i % 9 + 1}\nKind: lesson\n---\n\nOdd {i}\n"
        (folder / name).write_text(body)
    auth.login("boss@example.test")
    result = runner.invoke(args=["kb", "reindex"])
    assert result.exit_code == 0, result.output
    html = client.get("/kb").get_data(as_text=True)
    assert client.get("/kb?q=odd").status_code == 200
    for href in set(re.findall(r'href="(/kb/[^"?]+)"', html)) - {"/kb/export"}:
        assert client.get(href).status_code in (200, 404), href
    assert client.get("/kb/problems").status_code == 200


# --- generated queries and entry files (hypothesis) ----------------------------------------------


@HYPOTHESIS
@given(q=st.text(), field=st.sampled_from(["q", "kind", "theme", "reason", "competitor", "rep",
                                           "from", "to", "page"]))  # fmt: skip
def test_any_search_parameter_never_gives_a_500(app, client, auth, q, field):
    if not getattr(client, "_signed_in", False):
        auth.login()
        client._signed_in = True
    response = client.get("/kb", query_string={field: q, "q": q if field != "q" else q})
    assert response.status_code == 200


HEADER_KEYS = st.sampled_from(["Title", "Date", "Kind", "Deal", "Rep", "Themes", "Trust",
                               "Competitor", "Prospect-Reasons", "Rep-Reasons", "Company",
                               "Outcome", "title", "X"])  # fmt: skip
HEADERS = st.lists(st.tuples(HEADER_KEYS, st.text(max_size=40)), max_size=8)
RAW = st.one_of(
    st.binary(max_size=400),
    st.builds(
        lambda h, body: ("---\n" + "".join(f"{k}: {v}\n" for k, v in h) + "---\n\n" + body).encode(
            "utf-8", "surrogatepass"
        ),
        HEADERS,
        st.text(max_size=200),
    ),
)


@HYPOTHESIS
@given(files=st.lists(RAW, min_size=1, max_size=4))
def test_generated_entry_files_never_give_a_500_and_reindex_reports_them(
    app, client, auth, runner, files
):
    if not getattr(client, "_signed_in", False):
        auth.login("boss@example.test")
        client._signed_in = True
    folder = Path(app.config["ENTRIES_DIR"]) / "gen"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for i, raw in enumerate(files):
        (folder / f"gen-{i}.md").write_bytes(raw)
    result = runner.invoke(args=["kb", "reindex"])
    assert result.exit_code == 0 and result.exception is None, result.output
    for path in ["/kb", "/kb?q=a", "/kb/problems", "/themes/suggestions", "/dashboard"] + [
        f"/kb/gen-{i}" for i in range(len(files))
    ]:
        assert client.get(path).status_code in (200, 404), path


# --- token guessing ------------------------------------------------------------------------------


def test_token_guessing_is_429_after_the_configured_misses(app, client):
    world = build(app)
    app.config["TOKEN_MISSES"] = 5
    guesses = [f"{'A' * 31}{i}" for i in range(5)]
    codes = [client.get(f"/s/{g}{s}").status_code for g, s in zip(guesses, ["", "/optout",
             "/thanks", "", "/optout"], strict=True)]  # fmt: skip
    assert codes == [404] * 5
    for suffix in ("", "/optout", "/thanks"):
        response = client.get(f"/s/{'B' * 32}{suffix}")
        assert response.status_code == 429 and "Too many" in response.get_data(as_text=True)
    assert client.get(f"/s/{world.token_a}").status_code == 200  # the real link still works
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "127.0.0.9"
    assert other.get(f"/s/{'C' * 32}").status_code == 404  # per address


@pytest.mark.parametrize("how", ["full", "read-only"])
def test_a_guess_that_cannot_be_counted_is_503_and_real_links_still_open(
    app, client, monkeypatch, how
):
    world = build(app)
    refuse_sqlite_writes(monkeypatch, Path(app.config["DATA_DIR"]) / "ratelimit.sqlite", how)
    response = client.get(f"/s/{'A' * 32}")
    assert response.status_code == 503 and "Cannot save right now" in response.get_data(
        as_text=True
    )
    assert client.get(f"/s/{world.token_a}").status_code == 200  # a real link is never throttled


# --- one text rule at every door (debrief/text.py) -----------------------------------------------

SURROGATE_JSON = '"Acme \\ud800 Ltd"'  # a lone UTF-16 surrogate, as JSON escapes it
BAD_TEXT = ["Acme\x00", "Acme\x1b[31m", "Acme\x85", "Acme\u2028Bcc", "Acme\ud800"]


def json_post(client, url: str, body: str, **headers):
    """A raw JSON body, so a lone surrogate escape goes through as the client wrote it."""
    return client.post(url, data=body, headers={"Content-Type": "application/json", **headers})


def test_a_lone_surrogate_through_the_api_is_refused_with_a_json_422(shared):
    app, _, clients = shared
    before = versions(app)
    body = f'{{"company": {SURROGATE_JSON}, "rep_email": "rep@example.test"}}'
    response = json_post(clients["anon"], "/api/deals", body, **KEY)
    assert response.status_code == 422 and "company" in response.get_json()["errors"]
    assert versions(app) == before


@pytest.mark.parametrize(
    "body",
    [
        f'{{"company": {SURROGATE_JSON}, "rep_reason": "price", "lost_on": "2024-04-01"}}',
        '{"company": 5, "rep_reason": "price", "lost_on": "2024-04-01"}',
        '{"company": ["Acme"], "rep_reason": {"a": 1}, "lost_on": "2024-04-01"}',
        "[1, 2]",
    ],
    ids=["surrogate", "number", "list-and-object", "array"],
)
@pytest.mark.parametrize("path", ["/deals/new", "/deals/{deal_a}/edit", "/s/{token_a}"])
def test_a_json_body_to_a_web_form_is_415_and_changes_nothing(shared, body, path):
    """Flask-WTF would read a JSON body as form data; web forms take form bodies only."""
    app, world, clients = shared
    client = clients["rep_a"]
    url = fill(path, world)
    before = versions(app)
    response = json_post(client, url, body, **{"X-CSRFToken": page_token(client, url)})
    assert response.status_code == 415
    assert "web form" in response.get_data(as_text=True)
    assert versions(app) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/cbor"])
def test_any_body_but_a_form_to_a_web_form_is_415(shared, content_type):
    app, _, clients = shared
    client = clients["rep_a"]
    before = versions(app)
    headers = {"Content-Type": content_type, "X-CSRFToken": page_token(client, "/deals/new")}
    response = client.post("/deals/new", data="company=Acme", headers=headers)
    assert response.status_code == 415 and versions(app) == before


@pytest.mark.parametrize(
    ("content_type", "status", "opted_out"),
    [
        ("application/x-www-form-urlencoded", 200, True),
        ("application/x-www-form-urlencoded; charset=utf-8", 200, True),
        ("multipart/form-data", 200, True),  # RFC 8058 allows either form encoding
        ("text/plain", 415, False),
    ],
)
def test_the_one_click_opt_out_takes_either_form_encoding(app, content_type, status, opted_out):
    """A mail provider's RFC 8058 POST (no cookie, no CSRF token) passes the body check."""
    world = build(app)
    client = app.test_client()
    url = f"/s/{world.token_a}/optout"
    if content_type.startswith("multipart/"):
        response = client.post(
            url, data={"List-Unsubscribe": "One-Click"}, content_type=content_type
        )
    else:
        response = client.post(url, data="List-Unsubscribe=One-Click", content_type=content_type)
    assert response.status_code == status
    with app.app_context():
        invitation = get_store().table("invitations").get(world.invitation_a)
    assert (invitation["status"] == "opted-out") is opted_out


@pytest.mark.parametrize("route", POST_ROUTES, ids=lambda r: r[0])
def test_a_json_body_to_any_form_route_is_415_even_for_a_manager(shared, route):
    """Every web form, the newer ones too (settings, delete, undo an import, tag, untag), with
    its CSRF token and what would otherwise do the deed (confirmed=y): refused, nothing changed."""
    app, world, clients = shared
    path, data, _ = TABLE[route]
    client = clients["manager"]  # may do everything: only the body's type can stop it
    body = json.dumps({**{k: fill(v, world) for k, v in data.items()}, "confirmed": "y"})
    token = page_token(client, "/deals")
    before = versions(app)
    response = json_post(client, fill(path, world), body, **{"X-CSRFToken": token})
    assert response.status_code == 415, route
    assert versions(app) == before
    assert client.get("/deals").status_code == 200  # still signed in (logout refused too)


@pytest.mark.parametrize("value", BAD_TEXT, ids=repr)
@pytest.mark.parametrize("field", ["company", "contact_name", "competitor", "crm_id"])
def test_control_characters_and_surrogates_are_refused_in_every_channel(shared, field, value):
    """The same rule, the same answer: a field error on the form, a 422 from the API, a line
    problem from the CSV import; nothing stored by any of them."""
    app, _, clients = shared
    client = clients["rep_a"]
    before = versions(app)
    if "\ud800" not in value:  # a form body is UTF-8: a surrogate cannot be sent in one
        token = page_token(client, "/deals/new")
        response = client.post(
            "/deals/new", data={**deal_form(**{field: value}), "csrf_token": token}
        )
        assert response.status_code == 200
        assert re.search(rf'id="{field}-error"', response.get_data(as_text=True))
    body = json.dumps({**API_BODY, field: value})  # json.dumps escapes a surrogate as \ud800
    response = json_post(clients["anon"], "/api/deals", body, **KEY)
    assert response.status_code == 422 and field in response.get_json()["errors"]
    with app.app_context():
        from debrief.deals import imports

        row = {"company": "Acme", "crm_id": "x-1", field: value}
        csv = ",".join(row) + "\n" + ",".join(f'"{v}"' for v in row.values()) + "\n"
        rep = users.find_user(get_store(), "rep@example.test")
        summary = imports.import_csv(get_store(), io.StringIO(csv, newline=""), rep)
    assert summary.imported == 0
    [problem] = summary.problems
    assert problem.line == 2 and problem.reason.startswith(field.replace("_", " "))
    assert versions(app) == before


@pytest.mark.parametrize("invisible", ["\u200b", "\u200b\u200d\ufeff", "\u00a0\u3164\u2060"])
def test_a_company_of_only_invisible_characters_is_required_in_every_channel(shared, invisible):
    app, _, clients = shared
    client = clients["rep_a"]
    before = versions(app)
    token = page_token(client, "/deals/new")
    response = client.post("/deals/new", data={**deal_form(company=invisible), "csrf_token": token})
    assert 'id="company-error"' in response.get_data(as_text=True)
    response = client.post("/api/deals", json={**API_BODY, "company": invisible}, headers=KEY)
    assert response.status_code == 422 and "company" in response.get_json()["errors"]
    with app.app_context():
        from debrief.deals import imports

        rep = users.find_user(get_store(), "rep@example.test")
        stream = io.StringIO(f"Company,Contact Name\n{invisible},Ann\n", newline="")
        summary = imports.import_csv(get_store(), stream, rep)
    assert summary.imported == 0 and summary.problems[0].reason == "company is missing"
    assert versions(app) == before


def test_a_surrogate_stored_by_an_earlier_version_never_breaks_a_page(app, caplog):
    """Old versions stored lone surrogates (json.dumps escapes them); every page and export
    that shows the record answers 200 with U+FFFD in its place, and the store logs a warning."""
    world = build(app)
    buyer = app.test_client()
    answer = {"outcome": "competitor", "reason": "trust", "own_words": "Fine.",
              "claim_0": "held", "attribution": "anonymous", "may_contact": "no"}  # fmt: skip
    token = page_token(buyer, f"/s/{world.token_b}")
    assert (
        buyer.post(f"/s/{world.token_b}", data={**answer, "csrf_token": token}).status_code == 302
    )
    db = Path(app.config["DATA_DIR"]) / "db"
    for table_name, record_id, fields in (
        ("deals", world.deal_a, ("company", "contact_name", "notes", "competitor")),
        ("deals", world.deal_b, ("company",)),
        ("answers", 1, ("own_words", "competitor")),
    ):
        shard = db / table_name / "000000.json"
        data = json.loads(shard.read_bytes())
        record = data["_default"][str(record_id)]
        for name in fields:
            record[name] = f"Old \ud800 {name}"
        record.setdefault("claims", ["Live in two weeks"])
        if table_name == "deals":
            record["claims"] = ["Live \udfff in two weeks"]
        shard.write_text(json.dumps(data))  # as json.dumps wrote shards before orjson
    fresh = create_app(app_settings(Path(app.config["DATA_DIR"]).parent))
    pages = {
        "rep@example.test": ["/deals", f"/deals/{world.deal_a}", f"/deals/{world.deal_a}/edit",
                             f"/deals/{world.deal_a}/invite", "/kb/lessons/new",
                             f"/kb/lessons/new?deal={world.deal_a}"],
        "other@example.test": ["/deals", f"/deals/{world.deal_b}"],
        "boss@example.test": ["/deals", f"/deals/{world.deal_a}", f"/deals/{world.deal_b}",
                              "/dashboard", "/dashboard/answers.csv", "/kb/export", "/kb"],
    }  # fmt: skip
    for email, paths in pages.items():
        client = fresh.test_client()
        from conftest import AuthActions

        AuthActions(client).login(email)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (email, path)
            response.close()
    html = fresh.test_client().get(f"/s/{world.token_a}").get_data(as_text=True)
    assert "Live \ufffd in two weeks" in html
    assert "lone surrogate" in caplog.text


@pytest.mark.parametrize(
    "args",
    [
        ["evil\x1b@example.test"],
        ["evil@example.test", "--name", "Evil\r\nBcc: x@evil.test"],
        ["evil@example.test", "--name", "Evil\x00"],
    ],
    ids=["email-escape", "name-line-break", "name-nul"],
)
def test_the_cli_applies_the_same_text_rule(app, runner, args):
    before = versions(app)
    result = runner.invoke(args=["user", "add", *args, "--role", "rep", "--password", PASSWORD])
    assert result.exit_code == 2 and "holds a line break or a control character" in result.output
    assert versions(app) == before
