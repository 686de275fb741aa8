"""Themes: create, rename, merge, delete, tagging (files and index agree), roles, dashboard."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from conftest import csrf_token
from pages import Form, forms, visible_text

from debrief import entries
from debrief.index import get_kb
from debrief.kb import service as kb
from debrief.store import get_store
from debrief.themes import service

MANAGER, REP = "boss@example.test", "rep@example.test"


def publish(app, title: str, themes=(), body: str = "", **fields) -> str:
    """Write an entry through the app's publishing path; its slug."""
    values = {"kind": "debrief", "date": datetime.date(2024, 5, 1), **fields}
    with app.app_context():
        written = kb.publish(entries.Entry(title=title, body=body, themes=list(themes), **values))
    return written.slug


def make_theme(app, name: str, description: str = "") -> str:
    """A theme record; its slug."""
    with app.app_context():
        return service.create_theme(get_store(), name, description)["slug"]


def kb_entries(app):
    """The entries folder."""
    with app.app_context():
        return kb.entries_dir()


def file_themes(app, slug: str) -> list[str]:
    """The Themes header as stored in the entry's file."""
    with app.app_context():
        return entries.read_entry(entries.find_entry(kb.entries_dir(), slug)).themes


def index_slugs(app, theme: str) -> set[str]:
    """The entries the search index lists under a theme."""
    with app.app_context():
        return {h.slug for h in get_kb().search(theme=theme, per_page=100).hits}


def post(client, url: str, data: dict, page: str = "/themes"):
    """POST a form with the CSRF token read from a page, as a browser would."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page)})


@pytest.fixture
def manager(client, auth):
    """A client signed in as the manager."""
    auth.login(MANAGER)
    return client


@pytest.fixture
def tagged(app):
    """Two themes on three entries; entry 1 carries both (main theme first)."""
    slow, price = make_theme(app, "Slow onboarding"), make_theme(app, "Price shock")
    e1 = publish(app, "Both", [slow, price, "hand-tag"])
    e2 = publish(app, "Slow only", [slow])
    e3 = publish(app, "Price only", [price])
    return {"slow": slow, "price": price, "e1": e1, "e2": e2, "e3": e3}


def test_create_lists_with_counts_and_rejects_duplicates(app, manager, tagged):
    html = manager.get("/themes").get_data(as_text=True)
    assert re.search(r"Slow onboarding</a></td>\s*<td>[^<]*</td>\s*<td class=\"num\">2<", html)
    assert "hand-tag" in html  # a tag written by hand shows up as no theme yet
    response = post(manager, "/themes/new", {"name": "slow  ONBOARDING"})
    assert response.status_code == 302
    assert "exists already" in manager.get("/themes").get_data(as_text=True)
    response = post(manager, "/themes/new", {"name": "Suggestions"})
    assert "name of a page" in manager.get(response.location).get_data(as_text=True)
    with app.app_context():
        assert len(get_store().table("themes").all()) == 2


def test_rename_rewrites_every_entry_in_files_and_index(app, manager, tagged):
    response = post(
        manager, f"/themes/{tagged['slow']}/edit", {"name": "Onboarding delays", "description": "d"}
    )
    assert response.status_code == 302 and response.location.endswith("/themes/onboarding-delays")
    assert file_themes(app, tagged["e1"]) == ["onboarding-delays", "price-shock", "hand-tag"]
    assert file_themes(app, tagged["e2"]) == ["onboarding-delays"]
    assert file_themes(app, tagged["e3"]) == ["price-shock"]
    assert index_slugs(app, "onboarding-delays") == {tagged["e1"], tagged["e2"]}
    assert index_slugs(app, "slow-onboarding") == set()
    assert manager.get("/themes/slow-onboarding").status_code == 404
    page = manager.get("/themes/onboarding-delays").get_data(as_text=True)
    assert "Onboarding delays" in page and "Both" in page and "Slow only" in page


def test_rename_to_an_existing_theme_is_refused_and_changes_nothing(app, manager, tagged):
    post(manager, f"/themes/{tagged['slow']}/edit", {"name": "Price Shock"})
    assert file_themes(app, tagged["e2"]) == ["slow-onboarding"]
    assert "merge into it instead" in manager.get("/themes").get_data(as_text=True)


def test_merge_moves_entries_without_duplicates_and_deletes_the_source(app, manager, tagged):
    response = post(manager, f"/themes/{tagged['slow']}/merge", {"target": tagged["price"]})
    assert response.location.endswith("/themes/price-shock")
    assert file_themes(app, tagged["e1"]) == ["price-shock", "hand-tag"]
    assert file_themes(app, tagged["e2"]) == ["price-shock"]
    assert file_themes(app, tagged["e3"]) == ["price-shock"]
    assert index_slugs(app, "price-shock") == {tagged["e1"], tagged["e2"], tagged["e3"]}
    assert index_slugs(app, "slow-onboarding") == set()
    with app.app_context():
        assert service.get_theme(get_store(), "slow-onboarding") is None
        assert get_kb().search(theme="price-shock").facets["theme"][0] == ("price-shock", 3)


def test_merge_into_itself_or_nowhere_is_refused(app, manager, tagged):
    post(manager, f"/themes/{tagged['slow']}/merge", {"target": tagged["slow"]})
    post(manager, f"/themes/{tagged['slow']}/merge", {"target": "no-such-theme"})
    assert file_themes(app, tagged["e2"]) == ["slow-onboarding"]


def test_delete_untags_every_entry(app, manager, tagged):
    post(manager, f"/themes/{tagged['price']}/delete", {})
    assert file_themes(app, tagged["e1"]) == ["slow-onboarding", "hand-tag"]
    assert file_themes(app, tagged["e3"]) == []
    assert index_slugs(app, "price-shock") == set()
    assert manager.get("/themes/price-shock").status_code == 404


def test_tag_and_untag_one_entry(app, manager, tagged):
    back = f"/themes/{tagged['price']}"
    response = post(manager, "/themes/tag", {"slug": tagged["e2"], "theme": "price-shock",
                                             "next": back})  # fmt: skip
    assert response.location.endswith(back)
    assert file_themes(app, tagged["e2"]) == ["slow-onboarding", "price-shock"]
    post(manager, "/themes/tag", {"slug": tagged["e2"], "theme": "price-shock"})  # twice: once
    assert file_themes(app, tagged["e2"]) == ["slow-onboarding", "price-shock"]
    post(manager, "/themes/untag", {"slug": tagged["e2"], "theme": "slow-onboarding"})
    assert file_themes(app, tagged["e2"]) == ["price-shock"]
    assert index_slugs(app, "slow-onboarding") == {tagged["e1"]}


@pytest.mark.parametrize("action", ["/themes/tag", "/themes/untag"])
@pytest.mark.parametrize(
    ("target", "back"),
    [
        ("/kb?q=slow#hit-2", "/kb?q=slow#hit-2"),  # the result the manager tagged, kept
        ("https://evil.example/", "/"),
        ("//evil.example/kb", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_tag_and_untag_go_back_only_to_a_local_page(app, manager, tagged, action, target, back):
    response = post(manager, action, {"slug": tagged["e1"], "theme": tagged["slow"],
                                      "next": target})  # fmt: skip
    assert response.status_code == 302 and response.location == back
    assert (tagged["slow"] in file_themes(app, tagged["e1"])) is (action == "/themes/tag")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"slug": "no-such-entry", "theme": "price-shock"}, "There is no entry"),
        ({"slug": "../../etc/passwd", "theme": "price-shock"}, "There is no entry"),
        ({"slug": "ENTRY", "theme": "not-a-theme"}, "There is no theme"),
        ({"slug": "", "theme": "price-shock"}, "Entry: This field is required."),
    ],
)
def test_bad_tag_requests_say_why(app, manager, tagged, data, message):
    data = {**data, "slug": tagged["e3"] if data["slug"] == "ENTRY" else data["slug"]}
    response = post(manager, "/themes/tag", {**data, "next": "https://evil.example/"})
    assert response.status_code == 302 and not response.location.startswith("https://evil")
    assert message in manager.get("/themes").get_data(as_text=True)
    assert file_themes(app, tagged["e3"]) == ["price-shock"]


def test_tag_search_tags_every_page_of_results(app, manager):
    theme = make_theme(app, "Onboarding")
    matching = [
        publish(app, f"Deal {i}", body=f"The onboarding plan slipped by week {i}.")
        for i in range(45)
    ]
    others = [publish(app, f"Other {i}", body="Price was the stated reason.") for i in range(5)]
    matching.append(publish(app, "Has it", [theme], body="onboarding again"))
    preview = manager.get("/themes/tag-search?q=onboarding").get_data(as_text=True)
    assert "<strong>46</strong> entries match" in preview
    assert 'rel="next"' in preview  # more than one page of results
    response = post(
        manager, "/themes/tag-search", {"q": "onboarding", "theme": theme}, "/themes/tag-search"
    )
    assert response.status_code == 302 and "q=onboarding" in response.location
    assert "Tagged 45 of 46 results (1 had the theme already)" in manager.get(
        response.location
    ).get_data(as_text=True)
    assert index_slugs(app, theme) == set(matching)
    assert all(file_themes(app, s) == [theme] for s in matching)
    assert all(file_themes(app, s) == [] for s in others)


def test_tag_search_keeps_the_filters(app, manager):
    theme = make_theme(app, "Lesson theme")
    lesson = publish(app, "A lesson", kind="lesson", body="promise less")
    debrief = publish(app, "A debrief", body="promise less")
    post(manager, "/themes/tag-search", {"q": "promise", "kind": "lesson", "theme": theme})
    assert file_themes(app, lesson) == [theme] and file_themes(app, debrief) == []


# --- tagging where entries are read: /kb results and entry pages -------------------------------


def entry_form(html: str, action: str, slug: str, **fields: str) -> Form:
    """The one form on a page posting to `action` for the entry `slug` (and these fields)."""
    found = [
        f for f in forms(html, action)
        if f.fields.get("slug") == slug and all(f.fields.get(k) == v for k, v in fields.items())
    ]  # fmt: skip
    assert len(found) == 1, (action, slug, fields, found)
    return found[0]


def submit(client, form: Form, **choices: str):
    """Send a form as the browser would: its own fields (CSRF token included), some chosen."""
    return client.post(form.action, data={**form.fields, **choices})


def test_a_manager_tags_and_untags_a_kb_result(app, manager, tagged):
    html = manager.get("/kb?q=only").get_data(as_text=True)
    tag = entry_form(html, "/themes/tag", tagged["e2"])
    assert tag.options["theme"] == [tagged["price"]]  # only the themes it does not have yet
    response = submit(manager, tag, theme=tagged["price"])
    assert response.status_code == 302 and response.location.startswith("/kb?q=only#hit-")
    assert file_themes(app, tagged["e2"]) == [tagged["slow"], tagged["price"]]
    html = manager.get(response.location).get_data(as_text=True)
    assert "Tagged." in visible_text(html)
    untag = entry_form(html, "/themes/untag", tagged["e2"], theme=tagged["slow"])
    assert "Remove the theme Slow onboarding from “Slow only”" in visible_text(html)
    response = submit(manager, untag)
    assert response.location.startswith("/kb?q=only#hit-")
    assert file_themes(app, tagged["e2"]) == [tagged["price"]]
    assert index_slugs(app, tagged["slow"]) == {tagged["e1"]}


def test_a_manager_tags_and_untags_on_the_entry_page(app, manager, tagged):
    url = f"/kb/{tagged['e3']}"
    tag = entry_form(manager.get(url).get_data(as_text=True), "/themes/tag", tagged["e3"])
    assert tag.options["theme"] == [tagged["slow"]]
    response = submit(manager, tag, theme=tagged["slow"])
    assert response.status_code == 302 and response.location == url
    assert file_themes(app, tagged["e3"]) == [tagged["price"], tagged["slow"]]
    html = manager.get(url).get_data(as_text=True)
    assert '<a class="tag" href="/kb?theme=slow-onboarding">Slow onboarding</a>' in html
    assert forms(html, "/themes/tag") == []  # it has every theme now
    response = submit(manager, entry_form(html, "/themes/untag", tagged["e3"], theme="price-shock"))
    assert response.location == url
    assert file_themes(app, tagged["e3"]) == [tagged["slow"]]
    assert index_slugs(app, tagged["price"]) == {tagged["e1"]}


def test_a_hand_added_file_with_any_name_is_tagged_from_its_page(app, manager):
    path = kb_entries(app) / "2024" / "Notes #1 & more?.md"
    path.parent.mkdir()
    path.write_text("---\nTitle: Odd name\nDate: 2024-07-01\nKind: lesson\n---\n\nOdd.\n")
    theme = make_theme(app, "Pricing")
    with app.app_context():
        get_kb().sync()
    url = "/kb/Notes%20%231%20%26%20more%3F"
    tag = entry_form(manager.get(url).get_data(as_text=True), "/themes/tag", "Notes #1 & more?")
    response = submit(manager, tag, theme=theme)
    assert response.location == url
    assert "Themes: pricing" in path.read_text()
    assert index_slugs(app, theme) == {"Notes #1 & more?"}


def test_a_manager_tags_all_results_of_a_kb_search(app, manager):
    theme = make_theme(app, "Onboarding")
    matching = [
        publish(app, f"Deal {i}", body=f"The onboarding plan slipped by week {i}.")
        for i in range(45)
    ]
    matching.append(publish(app, "Has it", [theme], body="onboarding again"))
    lesson = publish(app, "A lesson", kind="lesson", body="onboarding lesson")
    older = publish(app, "Older", body="onboarding long ago", date=datetime.date(2023, 1, 1))
    other = publish(app, "Other", body="Price was the stated reason.")
    assert forms(manager.get("/kb").get_data(as_text=True), "/themes/tag-search") == []
    url = "/kb?q=onboarding&kind=debrief&from=2024-01-01"
    html = manager.get(url).get_data(as_text=True)
    [form] = forms(html, "/themes/tag-search")
    assert form.buttons == ["Tag all 46 results"] and 'rel="next"' in html  # all pages
    response = submit(manager, form, theme=theme)
    assert response.status_code == 302 and response.location == url
    message = "Tagged 45 of 46 results (1 had the theme already)."
    assert message in visible_text(manager.get(response.location).get_data(as_text=True))
    assert index_slugs(app, theme) == set(matching)
    assert all(file_themes(app, s) == [theme] for s in matching)
    assert all(file_themes(app, s) == [] for s in (lesson, older, other))


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/kb", "/\\evil"])
def test_tag_all_goes_back_only_to_a_local_page(app, manager, target):
    theme = make_theme(app, "Onboarding")
    publish(app, "Deal", body="onboarding")
    response = post(manager, "/themes/tag-search", {"q": "onboarding", "theme": theme,
                                                   "next": target})  # fmt: skip
    assert response.status_code == 302 and response.location.startswith("/")
    assert not response.location.startswith(("//", "/\\"))


def test_a_rep_sees_tags_but_no_controls(app, client, auth, tagged):
    auth.login(REP)
    for url in ("/kb", "/kb?q=only", "/kb?theme=slow-onboarding", f"/kb/{tagged['e1']}"):
        html = client.get(url).get_data(as_text=True)
        assert '<a class="tag" href="/kb?theme=slow-onboarding">Slow onboarding</a>' in html
        for action in ("/themes/tag", "/themes/untag", "/themes/tag-search"):
            assert forms(html, action) == [], (url, action)
    response = post(client, "/themes/tag-search", {"q": "only", "theme": tagged["slow"],
                                                   "next": "/kb?q=only"}, "/kb")  # fmt: skip
    assert response.status_code == 403
    assert file_themes(app, tagged["e3"]) == [tagged["price"]]


def test_suggestions_come_from_similar_tagged_entries_and_accept_in_one_click(app, manager):
    slow = make_theme(app, "Slow onboarding")
    make_theme(app, "Price shock")
    publish(app, "Onboarding dragged", [slow], body="Implementation took months, onboarding "
            "workshops kept slipping and the integration never finished.")  # fmt: skip
    publish(app, "Too expensive", ["price-shock"], body="Licence cost doubled at renewal.")
    target = publish(app, "Stuck in rollout", body="The integration and the onboarding "
                     "workshops slipped for months.")  # fmt: skip
    html = manager.get("/themes/suggestions").get_data(as_text=True)
    assert "Stuck in rollout" in html and "1 entry has no theme" in html
    block = html.split("Stuck in rollout", 1)[1]
    assert "Tag “Slow onboarding”" in block and "Onboarding dragged" in block
    assert "Tag “Price shock”" not in block
    post(manager, "/themes/tag", {"slug": target, "theme": slow}, "/themes/suggestions")
    assert file_themes(app, target) == [slow]
    assert "Every entry has a theme" in manager.get("/themes/suggestions").get_data(as_text=True)


def test_theme_page_counts_per_month(app, manager):
    theme = make_theme(app, "Monthly")
    today = datetime.date.today()
    publish(app, "Now", [theme], date=today)
    publish(app, "Also now", [theme], date=today)
    publish(app, "Long ago", [theme], date=today - datetime.timedelta(days=800))
    html = manager.get(f"/themes/{theme}").get_data(as_text=True)
    assert f'<td>{today:%Y-%m}</td><td class="num">2</td>' in html
    assert "1 older entry" in html
    assert 'role="img"' in html and "<title id=" in html


def test_reps_read_themes_but_their_changes_are_refused(app, client, auth, tagged):
    auth.login(REP)
    assert client.get("/themes").status_code == 200
    page = client.get(f"/themes/{tagged['slow']}").get_data(as_text=True)
    assert "Slow only" in page and "Manage this theme" not in page and "Untag" not in page
    assert (
        post(client, "/themes/tag", {"slug": tagged["e3"], "theme": "slow-onboarding"}).status_code
        == 403
    )
    assert file_themes(app, tagged["e3"]) == ["price-shock"]


# --- role checks on every route -----------------------------------------------------------------

GET_ROUTES = [
    "/themes/tag-search", "/themes/suggestions", "/dashboard", "/dashboard/answers.csv",
    "/dashboard/reasons.csv", "/dashboard/cell?rep_reason=price&buyer_reason=trust", "/people",
]  # fmt: skip
READ_ROUTES = ["/themes", "/themes/price-shock"]
POST_ROUTES = [
    ("/themes/new", {"name": "New one"}),
    ("/themes/price-shock/edit", {"name": "Renamed"}),
    ("/themes/price-shock/merge", {"target": "slow-onboarding"}),
    ("/themes/price-shock/delete", {}),
    ("/themes/tag", {"slug": "x", "theme": "price-shock"}),
    ("/themes/untag", {"slug": "x", "theme": "price-shock"}),
    ("/themes/tag-search", {"q": "x", "theme": "price-shock"}),
    ("/people/new", {"email": "n@example.test", "role": "rep", "password": "long-enough-pw"}),
    ("/people/1/password", {"password": "long-enough-pw", "confirm": "long-enough-pw"}),
    ("/people/1/active", {"active": "0"}),
]


@pytest.mark.parametrize("who", [None, REP, MANAGER])
@pytest.mark.parametrize("url", GET_ROUTES + READ_ROUTES)
def test_get_routes_by_role(client, auth, tagged, who, url):
    if who:
        auth.login(who)
    response = client.get(url)
    if who is None:
        assert response.status_code == 302 and "/login?next=" in response.location
    elif who == REP and url not in READ_ROUTES:
        assert response.status_code == 403
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("who", [None, REP])
@pytest.mark.parametrize("url, data", POST_ROUTES)
def test_post_routes_refuse_all_but_managers(app, client, auth, tagged, who, url, data):
    if who:
        auth.login(who)
    response = post(client, url, data, "/login" if who is None else "/themes")
    if who is None:
        assert response.status_code == 302 and "/login" in response.location
    else:
        assert response.status_code == 403
    with app.app_context():
        assert service.get_theme(get_store(), "price-shock") is not None
    assert file_themes(app, tagged["e1"]) == ["slow-onboarding", "price-shock", "hand-tag"]


@pytest.mark.parametrize("url, data", POST_ROUTES[:7])
def test_post_routes_work_for_managers(manager, tagged, url, data):
    response = post(manager, url, data)
    assert response.status_code == 302


# --- dashboard pages ----------------------------------------------------------------------------


@pytest.fixture
def deals(app, tagged):
    """Two deals with debriefs: one where rep and buyer agree, one where they differ."""
    with app.app_context():
        store = get_store()
        rep_id = store.table("users").find_one("email", REP)["id"]
        ids = [
            store.table("deals").insert({"company": name, "rep_id": rep_id, "contact_email": mail})
            for name, mail in (("Acme", "a@acme.test"), ("Globex", "g@globex.test"))
        ]
    day = datetime.date.today()
    publish(app, "Agree", rep="rep@example.test", deal=ids[0], date=day,
            prospect_reasons=["price"], rep_reasons=["price"])  # fmt: skip
    publish(app, "Differ", rep="rep@example.test", deal=ids[1], date=day, competitor="Initech",
            prospect_reasons=["overpromising", "price"], rep_reasons=["price"])  # fmt: skip
    return ids


def test_dashboard_cell_lists_the_deals_behind_it(manager, deals):
    html = manager.get("/dashboard").get_data(as_text=True)
    assert "<strong>50%</strong>" in html
    link = re.search(r'href="(/dashboard/cell\?[^"]*buyer_reason=overpromising[^"]*)"', html)
    cell = manager.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert f'href="/deals/{deals[1]}">Globex</a>' in cell and "Acme" not in cell
    assert "They differ" in cell


def test_dashboard_cell_finds_an_anonymous_debriefs_deal_through_its_answer(app, manager, deals):
    slug = publish(app, "A buyer's debrief: Chose another vendor, mainly Trust", rep=REP,
                   date=datetime.date.today(), prospect_reasons=["trust"],
                   rep_reasons=["speed"])  # fmt: skip
    with app.app_context():
        get_store().table("answers").insert(
            {"deal_id": deals[0], "entry_slug": slug, "attribution": "anonymous"}
        )
    cell = manager.get("/dashboard/cell?rep_reason=speed&buyer_reason=trust")
    assert f'href="/deals/{deals[0]}">Acme</a>' in cell.get_data(as_text=True)


def test_answers_csv_keeps_anonymity_and_neutralizes_formulas(app, manager, deals):
    with app.app_context():
        answers = get_store().table("answers")
        today = datetime.date.today().isoformat()
        common = {"outcome": "competitor", "reason": "price", "reasons": [], "claims": [],
                  "trust": 3, "may_contact": False,
                  "submitted": today + "T10:00:00+00:00"}  # fmt: skip
        answers.insert({**common, "deal_id": deals[0], "attribution": "anonymous",
                        "own_words": "=HYPERLINK(\"http://x\")", "name": "Secret Sam",
                        "company": "Acme"})  # fmt: skip
        answers.insert({**common, "deal_id": deals[1], "attribution": "named",
                        "own_words": "+1 fine", "name": "Nia Named", "company": "Globex",
                        "may_contact": True})  # fmt: skip
    response = manager.get("/dashboard/answers.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert (
        "Secret Sam" not in text
        and "Acme" not in text
        and "@" not in text.replace("rep@example.test", "")
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    anonymous = next(r for r in rows if r["attribution"] == "anonymous")
    named = next(r for r in rows if r["attribution"] == "named")
    assert anonymous["own_words"] == '\'=HYPERLINK("http://x")'
    assert anonymous["name"] == anonymous["company"] == anonymous["deal_id"] == ""
    assert named["name"] == "Nia Named" and named["company"] == "Globex"
    assert named["own_words"] == "'+1 fine" and named["deal_id"] == str(deals[1])


def test_dashboard_tables_export_as_csv(manager, deals):
    rows = list(
        csv.reader(io.StringIO(manager.get("/dashboard/matrix.csv").get_data(as_text=True)))
    )
    assert rows[0][0].startswith("rep reason") and rows[1][0] == "Price"
    assert sorted(rows[1][1:]) == ["1", "1"]
    competitors = manager.get("/dashboard/competitors.csv").get_data(as_text=True)
    assert "initech,1" in competitors
    assert manager.get("/dashboard/nothing.csv").status_code == 404


def test_dashboard_follows_every_change_at_once(app, manager, tagged):
    """The dashboard is cached per filters; a tag, a new entry or a rename shows at once."""
    today = datetime.date.today()
    fresh = publish(app, "Today", [tagged["price"]], date=today)

    def counts() -> dict[str, int]:
        text = manager.get("/dashboard/themes-by-month.csv").get_data(as_text=True)
        return {row[0]: int(row[-1]) for row in list(csv.reader(io.StringIO(text)))[1:]}

    assert counts() == {"Price shock": 1}
    assert counts() == {"Price shock": 1}  # from the cache
    post(manager, "/themes/tag", {"slug": fresh, "theme": tagged["slow"]})
    assert counts() == {"Price shock": 1, "Slow onboarding": 1}
    publish(app, "Another", [tagged["slow"]], date=today)
    assert counts() == {"Price shock": 1, "Slow onboarding": 2}
    post(manager, f"/themes/{tagged['slow']}/edit", {"name": "Renamed"})
    assert counts() == {"Price shock": 1, "Renamed": 2}


BAD_DASHBOARD_QUERIES = [
    "?to=0001-01-01", "?from=0001-01-01&to=0001-01-02", "?from=1999-12-31", "?to=2101-01-01",
    "?to=9999-12-31", "?from=not-a-date", "?to=2024-13-01", "?from=2030-01-01&to=2020-01-01",
    "?rep=nobody@x.test", "?from=%00", "?to=2024-01-01T00:00",
]  # fmt: skip


@pytest.mark.parametrize("query", BAD_DASHBOARD_QUERIES)
def test_a_bad_dashboard_filter_is_a_400_with_its_message_on_the_page(manager, deals, query):
    response = manager.get("/dashboard" + query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error"' in html and "Main reason" in html  # the page, with the message


@pytest.mark.parametrize("query", BAD_DASHBOARD_QUERIES)
@pytest.mark.parametrize(
    "path",
    ["/dashboard/answers.csv", "/dashboard/themes-by-month.csv", "/dashboard/funnel-by-rep.csv"],
)
def test_a_bad_filter_on_a_dashboard_csv_is_a_400_text_message(manager, deals, path, query):
    response = manager.get(path + query)
    assert response.status_code == 400 and response.mimetype == "text/plain"
    assert ": " in response.get_data(as_text=True)


def test_a_bad_filter_on_a_matrix_cell_is_a_400(manager, deals):
    response = manager.get("/dashboard/cell?rep_reason=price&buyer_reason=trust&to=0001-01-01")
    assert response.status_code == 400 and "2000-01-01" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["", "?from=2000-01-01&to=2100-12-31", "?to=2024-02-29"])
def test_good_dashboard_filters_at_the_edges_of_the_range_work(manager, deals, query):
    for path in ("/dashboard", "/dashboard/answers.csv", "/dashboard/themes-by-month.csv"):
        assert manager.get(path + query).status_code == 200, path + query


def test_tag_all_tags_only_the_entries_with_every_word(app, manager):
    """Partial matches are shown after the full ones, marked; tagging "all results" of a search
    tags the entries that have every word, not those with some of them."""
    theme = make_theme(app, "Offline field work")
    full = publish(app, "Field crews", body="The field crews needed offline tablets.")
    some = [publish(app, f"Tablets {i}", body=f"Tablets were late, week {i}.") for i in range(3)]
    html = manager.get("/kb?q=offline+tablets").get_data(as_text=True)
    assert "Matches some of your words" in html  # the three follow, marked
    [form] = forms(html, "/themes/tag-search")
    assert form.buttons == ["Tag the 1 result with every word"]
    preview = visible_text(
        manager.get("/themes/tag-search?q=offline+tablets").get_data(as_text=True)
    )
    assert "Tag the 1 result with every word" in preview
    response = submit(manager, form, theme=theme)
    assert "Tagged 1 of 1 result" in visible_text(
        manager.get(response.location).get_data(as_text=True)
    )
    assert file_themes(app, full) == [theme] and index_slugs(app, theme) == {full}
    assert all(file_themes(app, s) == [] for s in some)
    # None with every word: nothing to tag all of, and the page says why.
    html = manager.get("/kb?q=tablets+spreadsheets").get_data(as_text=True)
    assert forms(html, "/themes/tag-search") == []
    preview = visible_text(
        manager.get("/themes/tag-search?q=tablets+spreadsheets").get_data(as_text=True)
    )
    assert "No entry has every word" in preview
    posts = forms(manager.get("/themes/tag-search?q=tablets+spreadsheets").get_data(as_text=True))
    assert [f for f in posts if f.method == "post" and f.action == "/themes/tag-search"] == []
