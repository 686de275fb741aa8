"""The knowledge-base pages: search, facets, entry pages, lessons, problems, hostile input."""

from __future__ import annotations

import datetime
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from conftest import csrf_token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pages import visible_text

from debrief import entries
from debrief.auth import users
from debrief.index import get_kb
from debrief.kb import service
from debrief.store import get_store

SYNC_WAIT = 2.1  # the index looks at the folder at most every 2 s (SearchIndex.sync_if_stale)


def time_passes(app, seconds: float = SYNC_WAIT) -> None:
    """Move the index's clock on, as if the seconds had passed (no sleep)."""
    with app.app_context():
        index = get_kb().index
        before = index.clock
        index.clock = lambda: before() + seconds


def publish(app, **fields) -> entries.Entry:
    """Write an entry through the app's publishing path (file + index)."""
    values = {"kind": "debrief", "date": datetime.date(2024, 5, 1), "body": "", **fields}
    with app.app_context():
        return service.publish(entries.Entry(**values))


def hand_write(app, relative: str, text: str | bytes) -> Path:
    """A file put in the entries folder by hand (or by git pull), behind the app's back."""
    path = Path(app.config["ENTRIES_DIR"]) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def page(client, url: str) -> str:
    """GET a page that must answer 200; its HTML."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def titles(html: str) -> list[str]:
    """The result titles in the order shown."""
    return re.findall(r'<h3><a href="/kb/[^"]+">([^<]*)</a></h3>', html)


def sign_in_as(client, auth, email: str) -> None:
    """Sign out (with the header form of a knowledge-base page) and sign in as someone else."""
    client.post("/logout", data={"csrf_token": csrf_token(client, "/kb")})
    auth.login(email)


def user_id(app, email: str) -> int:
    """An account's id."""
    with app.app_context():
        return users.find_user(get_store(), email)["id"]


def add_deal(app, owner: str, company: str = "Northwind", **fields) -> int:
    """A lost deal owned by a fixture account."""
    record = {
        "company": company,
        "contact_name": "Pat",
        "contact_email": "pat@northwind.test",
        "rep_id": user_id(app, owner),
        "lost_on": "2024-04-30",
        "competitor": "Acme CRM",
        "rep_reason": "price",
        "rep_reasons": ["support"],
        **fields,
    }
    with app.app_context():
        return get_store().table("deals").insert(record)


@pytest.fixture
def kb(app):
    """Three entries: two debriefs and a lesson, on different dates, competitors and reasons."""
    publish(
        app,
        title="Lost Northwind to Acme on price",
        date=datetime.date(2024, 3, 1),
        rep="rep@example.test",
        competitor="Acme CRM",
        prospect_reasons=["price"],
        themes=["pricing"],
        body="We quoted too late.\n\n" + entries.buyer_block("Acme was cheaper and <b>faster</b>."),
        deal=1,
        trust=2,
    )
    publish(
        app,
        title="Globex kept their spreadsheets",
        date=datetime.date(2024, 4, 1),
        rep="other@example.test",
        prospect_reasons=["status-quo"],
        body=entries.buyer_block("Change felt risky for the onboarding team."),
    )
    publish(
        app,
        kind="lesson",
        title="Send the pricing sheet before the demo",
        date=datetime.date(2024, 5, 1),
        rep="rep@example.test",
        body="Pricing surprises kill deals. **Send it early.**",
    )


# --- browsing and search ----------------------------------------------------------------------


def test_kb_needs_sign_in(client):
    response = client.get("/kb")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_browse_newest_first(client, auth, kb):
    auth.login()
    assert titles(page(client, "/kb")) == [
        "Send the pricing sheet before the demo",
        "Globex kept their spreadsheets",
        "Lost Northwind to Acme on price",
    ]


def test_search_ranks_and_highlights(client, auth, kb):
    auth.login()
    html = page(client, "/kb?q=onboarding")
    assert titles(html) == ["Globex kept their spreadsheets"]
    assert "<mark>onboarding</mark>" in html


def test_prefix_matching_on_the_last_word(client, auth, kb):
    auth.login()
    assert titles(page(client, "/kb?q=spreadsh")) == ["Globex kept their spreadsheets"]
    assert titles(page(client, "/kb?q=kept+spreadsh")) == ["Globex kept their spreadsheets"]


def test_facet_counts_and_links(client, auth, kb):
    auth.login()
    html = page(client, "/kb")
    assert re.search(r'href="/kb\?reason=price">\s*Price</a> <span class="count">1</span>', html)
    assert re.search(r'href="/kb\?kind=debrief">\s*Debrief</a> <span class="count">2</span>', html)
    # A rep shows by name, not by email address.
    assert re.search(
        r'href="/kb\?rep=rep@example.test">\s*Rita Rep</a> <span class="count">2', html
    )
    # A facet link keeps the query and adds the filter.
    html = page(client, "/kb?q=pricing")
    assert 'href="/kb?q=pricing&amp;kind=lesson"' in html


def test_facet_links_encode_the_search_as_url_for_does(client, auth, kb, app):
    from flask import url_for

    auth.login()
    query = "pricing & über/€ 100%"
    html = page(client, "/kb?" + urlencode({"q": query, "from": "2024-01-01"}))
    links = [unescape(h) for h in re.findall(r'href="(/kb\?q=[^"]*)"', html)]
    assert len(links) >= 3  # the facet links, each the search with one filter changed
    with app.test_request_context():
        for link in links:
            args = parse_qsl(urlsplit(link).query)
            assert args[0] == ("q", query) and url_for("kb.index", **dict(args)) == link


def test_a_huge_query_or_filter_in_the_address_keeps_the_links_and_kept_columns_small(
    client, auth, kb
):
    # Every facet link repeats the search: a whole document pasted into the box (in a script
    # percent-encoding makes nine bytes a letter) or a forged filter must not make each link,
    # and the facet columns kept per process, as long as it.
    from debrief.kb import facets

    auth.login()
    facets._columns.clear()
    query = "pricing " + "価格" * 20_000
    huge = {"q": query, "from": "9" * 50_000, "to": "x" * 50_000}  # bad dates: left out
    html = page(client, "/kb?" + urlencode(huge))
    links = [unescape(h) for h in re.findall(r'href="(/kb\?[^"]*)"', html)]
    assert len(links) >= 10 and max(len(link) for link in links) < 12_000
    assert all(len(kept) <= facets.KEPT_MAX for kept in facets._columns._items.values())


def test_a_broad_search_says_its_facet_counts_are_estimates(client, auth, kb, monkeypatch):
    from debrief.index import search

    auth.login()
    html = page(client, "/kb?q=pric")  # two entries match
    assert "estimates" not in html and '<span class="count">1</span>' in html
    monkeypatch.setattr(search, "SAMPLE", 1)  # more matches than the sample
    html = page(client, "/kb?q=pricing")
    assert "2 entries, best match first" in html
    assert "Counts marked ~ are estimates from the newest matches" in html
    assert re.search(r'<span class="count"><span aria-hidden="true">~</span>'
                     r'<span class="sr-only">about </span>\d+</span>', html)  # fmt: skip
    html = page(client, "/kb?q=pricing&kind=lesson")  # a filter counts every match
    assert "estimates" not in html


def test_a_broad_search_of_the_newest_entries_says_its_total_is_an_estimate(
    client, auth, app, monkeypatch
):
    from debrief.index import recent, search
    from debrief.themes import service as themes

    monkeypatch.setattr(recent, "KEEP", 40)  # the newest 40 entries are searched first
    monkeypatch.setattr(recent, "STEP", 8)
    monkeypatch.setattr(search, "SAMPLE", 24)
    monkeypatch.setattr(search, "RANK_POOL", 20)  # a page of 20 from the pool
    monkeypatch.setattr(search, "RECENT_ENOUGH", 20)
    for n in range(100):
        publish(app, title=f"Note {n}", body="pricing talk" if n % 4 else "support call",
                date=datetime.date(2024, 5, 1 + n % 28))  # fmt: skip
    with app.app_context():
        themes.create_theme(get_store(), "Pricing")  # so that a manager may tag all results
    auth.login("boss@example.test")
    html = page(client, "/kb?q=pricing")
    total = int(re.search(r"About ([\d,]+) entries, best match first", html)[1])
    assert 60 <= total <= 90  # 75 have the word
    assert re.search(r"Page 1 of about \d+</span>", html)
    assert f"Tag all results (about {total})" in html
    html = page(client, "/kb?q=pricing&page=3")  # past the ranked pool: every match is read
    assert "75 entries, best match first" in html and "Page 3 of 4</span>" in html
    html = page(client, "/kb?q=support")
    assert "About" not in html


def test_facet_column_follows_names_themes_and_new_entries(client, auth, app, kb):
    # The column is kept per search (kb/facets.py): whatever it is made of must show at once.
    from debrief.themes import service as themes

    auth.login()
    html = page(client, "/kb")
    assert re.search(r'href="/kb\?theme=pricing">\s*pricing</a> <span class="count">1', html)
    with app.app_context():
        store = get_store()
        store.table("users").update(user_id(app, "rep@example.test"), {"name": "Rita Renamed"})
    html = page(client, "/kb")  # the same counts as before: only a name changed
    assert re.search(r'rep=rep@example.test">\s*Rita Renamed</a> <span class="count">2', html)
    with app.app_context():
        themes.create_theme(store, "Pricing")
    html = page(client, "/kb")
    assert re.search(r'href="/kb\?theme=pricing">\s*Pricing</a> <span class="count">1', html)
    publish(app, title="Price again", rep="rep@example.test", themes=["pricing"])
    html = page(client, "/kb")
    assert re.search(r'href="/kb\?theme=pricing">\s*Pricing</a> <span class="count">2', html)
    # The same counts under another search link to that search.
    html = page(client, "/kb?q=price")
    assert 'href="/kb?q=price&amp;theme=pricing"' in html
    assert not re.search(r'href="/kb\?theme=pricing">\s*Pricing</a> <span class="count">', html)


@pytest.mark.parametrize(
    "query, expected",
    [
        ("reason=price", ["Lost Northwind to Acme on price"]),
        ("reason=status-quo", ["Globex kept their spreadsheets"]),
        ("competitor=acme-crm", ["Lost Northwind to Acme on price"]),
        ("competitor=Acme+CRM", ["Lost Northwind to Acme on price"]),
        ("kind=lesson", ["Send the pricing sheet before the demo"]),
        ("theme=pricing", ["Lost Northwind to Acme on price"]),
        ("rep=other@example.test", ["Globex kept their spreadsheets"]),
        ("from=2024-03-15&to=2024-04-15", ["Globex kept their spreadsheets"]),
        (
            "from=2024-04-01",
            ["Send the pricing sheet before the demo", "Globex kept their spreadsheets"],
        ),
        ("q=pricing&kind=debrief", ["Lost Northwind to Acme on price"]),
        ("q=cheaper&reason=status-quo", []),
    ],
)
def test_filters(client, auth, kb, query, expected):
    auth.login()
    assert titles(page(client, "/kb?" + query)) == expected


def test_active_filter_can_be_removed(client, auth, kb):
    auth.login()
    html = page(client, "/kb?q=pricing&reason=price")
    # The removal link keeps the other parameters and drops only this filter.
    assert re.search(
        r'<a class="tag active" href="/kb\?q=pricing" title="Remove this filter">\s*Reason: Price',
        html,
    )
    # The facet value that is active links back to the unfiltered search as well.
    assert re.search(
        r'<a href="/kb\?q=pricing" aria-current="true" class="active">\s*Price</a>', html
    )


def test_pagination(client, auth, app):
    for n in range(25):
        publish(
            app, kind="lesson", title=f"Lesson number {n:02d}", date=datetime.date(2024, 1, n + 1)
        )
    auth.login()
    first = page(client, "/kb")
    assert len(titles(first)) == 20 and titles(first)[0] == "Lesson number 24"
    assert "Page 1 of 2" in first and 'href="/kb?page=2"' in first
    second = page(client, "/kb?page=2")
    assert titles(second) == [f"Lesson number {n:02d}" for n in range(4, -1, -1)]
    for past in ("/kb?page=3", "/kb?page=99999"):  # a page past the end shows the last page
        html = page(client, past)
        assert titles(html) == titles(second) and "Page 2 of 2" in html, past
        assert 'rel="next"' not in html and 'href="/kb?page=1"' in html


def test_snippets_are_escaped(client, auth, kb):
    auth.login()
    html = page(client, "/kb?q=faster")
    assert "&lt;b&gt;<mark>faster</mark>&lt;/b&gt;" in html
    assert "<b>" not in html


def test_snippets_keep_headings_apart_from_the_text(client, auth, app):
    body = (
        "## In the buyer's words\n\n"
        + entries.buyer_block("Rivalry was cheaper per seat.")
        + "\n\n## What we told them\n\n- **Held**: Setup takes an afternoon\n"
        + "- **Didn't hold**: Sync in every plan\n\nWhy it matters\n---\n\n## Trust?\n\nYes."
    )
    publish(app, title="Lost to Rivalry", body=body)
    auth.login()
    found = " ".join(page(client, "/kb?q=rivalry").split())
    assert "In the buyer&#39;s words — <mark>Rivalry</mark> was cheaper per seat." in found
    browsed = visible_text(page(client, "/kb"))
    assert (
        "In the buyer's words — Rivalry was cheaper per seat. What we told them — "
        "Held: Setup takes an afternoon. Didn't hold: Sync in every plan. "
        "Why it matters — Trust? Yes."
    ) in browsed


def test_empty_knowledge_base_says_so(client, auth):
    auth.login()
    assert "The knowledge base is empty so far" in page(client, "/kb")


HOSTILE = [
    '"', "'", '"unbalanced', "foo\"", "(a OR b) c", "a AND", "OR", "NOT", "NEAR(a b)", "NEAR",
    "*", "**", "a*b", "-", "-price", "e-mail", ":", "title:price", "col:", "^", "{a b}", "[x]",
    "\\", "%", "%00", "\x00", "\ufffd", "\u202e", "🙂 emoji", "<script>alert(1)</script>",
    "x" * 10_000, "price " * 2000, "'; DROP TABLE entry; --", "\ue000mark\ue001",
]  # fmt: skip


def test_hostile_queries_never_error(client, auth, kb):
    auth.login()
    # One sign-in for all of them: a loop, not parametrize, because each app costs seconds.
    for q in HOSTILE:
        html = page(client, "/kb?q=" + quote(q))
        assert "<script>alert" not in html, q
        assert titles(html) or "No results" in html or "Nothing to search for" in html, q


HOSTILE_PARAMETERS = [
    "from=banana", "to=2024-13-45", "from=2024-02-30", "from=99999-01-01", "page=-1",
    "page=abc", "page=0", "page=99999999999999999999999", "page=1e9", "kind=<b>x</b>",
    "kind=nonsense", "theme=" + "t" * 5000, "rep=%00", "reason=price&reason=trust",
    "competitor=\"'", "from=2024-05-01&to=2024-01-01", "q=&from=&to=&page=",
]  # fmt: skip


def test_hostile_parameters_never_error(client, auth, kb):
    auth.login()
    for query in HOSTILE_PARAMETERS:
        html = page(client, "/kb?" + query)
        assert "<b>x</b>" not in html, query


def test_bad_date_is_explained_and_ignored(client, auth, kb):
    auth.login()
    html = page(client, "/kb?from=banana")
    assert "Not a valid date value" in html and "left out of the search" in html
    assert len(titles(html)) == 3


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=st.text(max_size=300), filter_value=st.text(max_size=40))
def test_any_text_is_a_safe_query(client, auth, kb, q, filter_value):
    if not client.get_cookie("session"):
        auth.login()
    for params in ({"q": q, "reason": filter_value}, {"from": filter_value, "page": q}):
        response = client.get("/kb", query_string=params)
        assert response.status_code == 200


# --- the index follows the files -----------------------------------------------------------------


def test_hand_added_and_deleted_files_are_reflected(client, auth, app, kb):
    auth.login()
    assert "No results" in page(client, "/kb?q=zeppelin")
    path = hand_write(
        app,
        "2024/2024-06-01-zeppelin.md",
        "---\nTitle: Zeppelin lesson\nDate: 2024-06-01\nKind: lesson\n---\n\nZeppelin stories.\n",
    )
    time_passes(app)
    assert titles(page(client, "/kb?q=zeppelin")) == ["Zeppelin lesson"]
    assert "Zeppelin stories." in page(client, "/kb/2024-06-01-zeppelin")
    path.unlink()
    time_passes(app)
    assert "No results" in page(client, "/kb?q=zeppelin")
    assert client.get("/kb/2024-06-01-zeppelin").status_code == 404


def test_an_entry_nested_deeper_is_opened_through_the_index(client, auth, app, kb):
    # A team may keep entries in their own sub-folders: the page finds the file where the
    # index found it, instead of walking every file of the folder for each address.
    auth.login()
    hand_write(
        app,
        "team-east/2024/2024-07-01-airship.md",
        "---\nTitle: Airship lesson\nDate: 2024-07-01\nKind: lesson\n---\n\nAirship stories.\n",
    )
    assert client.get("/kb/2024-07-01-airship").status_code == 404  # not indexed yet
    with app.app_context():
        get_kb().sync()
    assert "Airship stories." in page(client, "/kb/2024-07-01-airship")
    assert client.get("/kb/2024-07-01-no-such-entry").status_code == 404


def test_a_hand_added_file_with_any_name_opens_from_its_result(client, auth, app):
    from debrief.themes import service as themes

    auth.login()
    hand_write(
        app,
        "2024/Notes #1 & more?.md",
        "---\nTitle: Odd name\nDate: 2024-07-01\nKind: lesson\nThemes: pricing\n---\n\n"
        "Odd stories.\n",
    )
    with app.app_context():
        get_kb().sync()
        themes.create_theme(get_store(), "Pricing")
    quoted = "/kb/Notes%20%231%20%26%20more%3F"
    href = re.search(r'<h3><a href="([^"]+)">Odd name', page(client, "/kb?q=odd")).group(1)
    assert href == quoted
    assert "Odd stories." in page(client, href)
    # Every page that links entries quotes the name the same way (templating.entry_url).
    assert f'href="{quoted}"' in page(client, "/themes/pricing")


BROKEN = "2024/2024-02-02-broken.md"


@pytest.fixture
def broken(app, kb):
    """A file broken by hand: binary bytes where Markdown should be."""
    hand_write(app, BROKEN, b"\x00\x01\x02 not markdown")
    with app.app_context():
        get_kb().sync()


def test_broken_file_is_skipped_and_listed_for_managers(client, auth, broken):
    auth.login()
    assert len(titles(page(client, "/kb"))) == 3
    assert client.get("/kb/problems").status_code == 403
    assert client.get("/kb/2024-02-02-broken").status_code == 404
    sign_in_as(client, auth, "boss@example.test")
    html = page(client, "/kb/problems")
    assert BROKEN in html and "binary file" in html
    response = client.get("/kb/2024-02-02-broken")
    assert response.status_code == 404
    assert "binary file" in response.get_data(as_text=True)


def test_problems_page_without_problems(client, auth, kb):
    auth.login("boss@example.test")
    assert "No problems" in page(client, "/kb/problems")


@pytest.mark.parametrize(
    "path",
    [
        "/kb/..%2F..%2Fetc%2Fpasswd",
        "/kb/..%2f..%2fetc%2fpasswd",
        "/kb/%00",
        "/kb/x%00",
        "/kb/%2Fetc%2Fpasswd",
        "/kb//etc/passwd",
        "/kb/..",
        "/kb/.hidden",
        "/kb/C:%5CWindows%5Cwin.ini",
        "/kb/%2e%2e%2fstarter",
        "/kb/2024-03-01-Lost-Northwind",
        "/kb/" + "a" * 500,
    ],
)
def test_path_traversal_slugs_are_not_found(client, auth, kb, path):
    auth.login()
    assert client.get(path).status_code == 404


# --- the entry page ------------------------------------------------------------------------------


def test_entry_page_shows_facts_as_filter_links(client, auth, kb):
    auth.login()
    html = page(client, "/kb/2024-03-01-lost-northwind-to-acme-on-price")
    assert '<a class="tag" href="/kb?competitor=acme-crm">acme-crm</a>' in html  # no deal names it
    assert '<a class="tag" href="/kb?reason=price">Price</a>' in html
    assert '<a class="tag" href="/kb?theme=pricing">pricing</a>' in html
    assert '<a class="tag" href="/kb?rep=rep@example.test">Rita Rep</a>' in html
    assert '<a class="tag" href="/kb?kind=debrief">Debrief</a>' in html
    assert 'href="/kb?from=2024-03-01&amp;to=2024-03-01"' in html
    assert "2 of 5" in html
    # The buyer's words are a quote, escaped; the rep's Markdown is rendered.
    assert '<code class="language-buyer">Acme was cheaper and &lt;b&gt;faster&lt;/b&gt;.' in html
    assert "<p>We quoted too late.</p>" in html


SLUGS = ("rivalry-crm", "product-fit", "status-quo", "price-pressure", "no-decision", "@example")


def test_names_not_slugs_wherever_a_person_reads(client, auth, app):
    from debrief.themes import service as themes

    with app.app_context():
        themes.create_theme(get_store(), "Price pressure")
    deal = add_deal(app, "rep@example.test", competitor="Rivalry CRM")
    entry = publish(
        app, title="Lost to Rivalry", deal=deal, rep="rep@example.test", competitor="Rivalry CRM",
        outcome="no-decision", prospect_reasons=["product-fit"], rep_reasons=["status-quo"],
        themes=["price-pressure"],
    )  # fmt: skip
    auth.login("boss@example.test")
    for url in (
        "/kb", "/kb?competitor=rivalry-crm&theme=price-pressure", f"/kb/{entry.slug}",
        "/themes/price-pressure", "/themes/tag-search?q=rivalry",
    ):  # fmt: skip
        html = page(client, url)
        text = visible_text(html)
        assert "Rivalry CRM" in text and "Price pressure" in text, url
        assert [slug for slug in SLUGS if slug in text] == [], url
        # An entry's themes are links to the theme's search.
        assert '<a class="tag" href="/kb?theme=price-pressure">Price pressure</a>' in html, url
    text = visible_text(page(client, f"/kb/{entry.slug}"))
    for label in ("Rita Rep", "Product fit", "Fear of change", "Postponed, no decision"):
        assert label in text
    # The deal's number is a link for those who may open the deal, and shown to nobody else.
    assert f'<a href="/deals/{deal}">#{deal}</a>' in page(client, f"/kb/{entry.slug}")
    sign_in_as(client, auth, "other@example.test")
    assert f"/deals/{deal}" not in page(client, f"/kb/{entry.slug}")
    assert "Rivalry CRM" in visible_text(page(client, "/kb"))


def test_competitor_names_follow_the_deals_and_answers_at_once(client, auth, app):
    # Labels are kept per store state (kb/competitors.py, the facet column): a new spelling shows
    # on the next page, and the spelling typed most often wins.
    publish(app, title="Lost to Acme", competitor="acme")
    auth.login()

    def shown() -> str:
        html = page(client, "/kb")
        return re.search(r'href="/kb\?competitor=acme">\s*([^<]+)</a>', html).group(1)

    assert shown() == "acme"  # no deal or answer names it: the slug is all there is
    add_deal(app, "rep@example.test", competitor="Acme")
    assert shown() == "Acme"
    with app.app_context():
        answers = get_store().table("answers")
        for n in (1, 2):
            answers.insert({"deal_id": 100 + n, "competitor": "  ACME  "})
    assert shown() == "ACME"
    # Deals and answers count together: "Acme" twice more among the answers makes 3 to 2.
    with app.app_context():
        for n in (3, 4):
            get_store().table("answers").insert({"deal_id": 100 + n, "competitor": "Acme"})
    assert shown() == "Acme"


def test_competitor_names_are_saved_for_a_restarted_app(client, auth, app):
    from debrief.kb import competitors

    publish(app, title="Lost to Acme", competitor="acme")
    rep = user_id(app, "rep@example.test")
    with app.app_context():  # five shards of deals: a count worth saving
        get_store().table("deals").insert_many(
            [{"company": f"C{n}", "rep_id": rep, "competitor": "Acme"} for n in range(2100)]
        )
    auth.login()
    assert "Acme" in visible_text(page(client, "/kb"))
    saved = Path(app.config["DATA_DIR"]) / "cache" / competitors.CACHE_FILE
    # A restarted app reads the counts of unchanged shards from the file instead of counting.
    saved.write_bytes(saved.read_bytes().replace(b'"Acme"', b'"Acme (saved)"'))
    competitors._tallies.clear()  # what a new process starts with
    competitors._names.clear()
    assert "Acme (saved)" in visible_text(page(client, "/kb"))


# --- lessons -------------------------------------------------------------------------------------


def post_lesson(client, url: str, **data):
    """Submit the lesson form with a fresh CSRF token."""
    data.setdefault("save", "Save lesson")
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data})


def entry_files(app) -> list[Path]:
    """Every entry file in the folder."""
    return list(entries.entry_files(Path(app.config["ENTRIES_DIR"])))


def test_lesson_preview_then_save(client, auth, app):
    auth.login()
    body = "Ask **who else** they talk to.\n\n- early\n- often\n\n<script>alert(1)</script>"
    response = post_lesson(
        client, "/kb/lessons/new", title="Ask about rivals", body=body, preview="Preview"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>who else</strong>" in html and "<li>early</li>" in html
    assert "<script>alert" not in html
    assert entry_files(app) == []  # a preview writes nothing
    assert "Ask about rivals" in html  # the form keeps what was typed
    response = post_lesson(client, "/kb/lessons/new", title="Ask about rivals", body=body)
    assert response.status_code == 302
    slug = response.headers["Location"].rsplit("/", 1)[1]
    [path] = entry_files(app)
    assert path.stem == slug and path.parent.name == str(datetime.date.today().year)
    text = path.read_text()
    assert "Kind: lesson" in text and "Rep: rep@example.test" in text and "Deal:" not in text
    html = page(client, "/kb/" + slug)
    assert "<strong>who else</strong>" in html and "Edit this lesson" in html
    assert titles(page(client, "/kb?q=rivals")) == ["Ask about rivals"]


@pytest.mark.parametrize(
    "title, body, message",
    [
        ("", "Body", "Give the lesson a title."),
        ("   ", "Body", "Give the lesson a title."),
        ("\x01\x02", "Body", "Give the lesson a title."),
        ("A\x01\x02", "Body", "Use one line of plain text"),
        ("\u200b\ufeff", "Body", "Give the lesson a title."),
        ("t" * 151, "Body", "Keep the title under 150 characters."),
        ("Title", "", "Write the lesson itself"),
        ("Title", "  \n ", "Write the lesson itself"),
        ("Title", "b" * 20_001, "Keep the lesson under 20,000 characters."),
    ],
)
def test_lesson_limits(client, auth, app, title, body, message):
    auth.login()
    response = post_lesson(client, "/kb/lessons/new", title=title, body=body)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert entry_files(app) == []


@pytest.mark.parametrize("fence", ["```buyer", "~~~ buyer"])
def test_a_lesson_cannot_forge_a_buyer_quote(client, auth, app, fence):
    auth.login()
    body = f"What they said:\n\n{fence}\nYou were the best vendor we met.\n{fence[:3]}\n"
    shown = post_lesson(client, "/kb/lessons/new", title="Forged", body=body, preview="Preview")
    saved = post_lesson(client, "/kb/lessons/new", title="Forged", body=body)
    slug = saved.headers["Location"].rsplit("/", 1)[1]
    for html in (shown.get_data(as_text=True), page(client, f"/kb/{slug}")):
        assert "<pre><code>You were the best vendor we met.\n</code></pre>" in html
        assert "language-buyer" not in html


def test_lesson_tied_to_a_deal_shows_on_its_debrief(client, auth, app):
    deal_id = add_deal(app, "rep@example.test")
    debrief = publish(app, title="Northwind debrief", deal=deal_id, rep="rep@example.test")
    auth.login()
    form = page(client, f"/kb/lessons/new?deal={deal_id}")
    assert f'<option selected value="{deal_id}">#{deal_id} Northwind, lost 2024-04-30' in form
    response = post_lesson(
        client, "/kb/lessons/new", title="Quote before the demo", body="Do it.", deal=str(deal_id)
    )
    slug = response.headers["Location"].rsplit("/", 1)[1]
    text = entries.find_entry(Path(app.config["ENTRIES_DIR"]), slug).read_text()
    assert f"Deal: {deal_id}" in text and "Competitor: acme-crm" in text
    assert "Rep-Reasons: price, support" in text and "Northwind" not in text
    html = page(client, f"/kb/{debrief.slug}")
    assert f'<a href="/kb/{slug}">Quote before the demo</a>' in html
    html = page(client, f"/kb/{slug}")
    assert f'<a href="/kb/{debrief.slug}">the buyer\'s debrief</a>' in html


def test_rep_cannot_tie_a_lesson_to_another_reps_deal(client, auth, app):
    deal_id = add_deal(app, "other@example.test", company="Initech")
    auth.login()
    assert "Initech" not in page(client, f"/kb/lessons/new?deal={deal_id}")
    response = post_lesson(
        client, "/kb/lessons/new", title="Sneaky", body="Body", deal=str(deal_id)
    )
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    assert entry_files(app) == []


def test_manager_may_tie_a_lesson_to_any_deal(client, auth, app):
    deal_id = add_deal(app, "rep@example.test")
    auth.login("boss@example.test")
    response = post_lesson(
        client, f"/kb/lessons/new?deal={deal_id}", title="Coaching", body="B", deal=str(deal_id)
    )
    assert response.status_code == 302
    [path] = entry_files(app)
    assert f"Deal: {deal_id}" in path.read_text() and "Rep: boss@example.test" in path.read_text()
    # The debrief, written later from the buyer's answer (found through the answer record even
    # under another rep's name), lists the manager's lesson; the lesson links to the debrief.
    debrief = publish(app, title="Answer", deal=deal_id, rep="someone@example.test")
    with app.app_context():
        get_store().table("answers").insert({"deal_id": deal_id, "entry_slug": debrief.slug})
    assert f'<a href="/kb/{path.stem}">Coaching</a>' in page(client, f"/kb/{debrief.slug}")
    assert f'<a href="/kb/{debrief.slug}">the buyer' in page(client, f"/kb/{path.stem}")


@pytest.mark.parametrize(
    "wanted", ["abc", "-1", "0", "1.0", "9" * 30, "²", "¹", "٣", "１", "%00"], ids=repr
)
def test_a_link_to_a_deal_that_is_not_a_plain_id_is_a_lesson_about_no_deal(
    client, auth, app, wanted
):
    """?deal= is typed into a URL by hand too: anything but a deal's digits ties to no deal
    (Unicode digits such as "²" pass str.isdigit() but not int(): they were a 500)."""
    add_deal(app, "rep@example.test")
    add_deal(app, "rep@example.test", company="Initech")
    add_deal(app, "rep@example.test", company="Globex")
    auth.login()
    url = f"/kb/lessons/new?deal={quote(wanted)}"
    html = page(client, url)
    assert '<option selected value="">' in html and "Write a lesson about" not in html
    response = post_lesson(client, url, title="Standing alone", body="B.", deal="")
    assert response.status_code == 302 and response.location.startswith("/kb/")
    assert "Deal:" not in entry_files(app)[0].read_text()


@pytest.fixture
def lesson(app):
    """A lesson written by rep@example.test."""
    return publish(app, kind="lesson", title="Listen first", rep="rep@example.test", body="Old.")


def test_author_edits_own_lesson(client, auth, app, lesson):
    auth.login()
    url = f"/kb/{lesson.slug}/edit"
    assert "Listen first" in page(client, url)
    response = post_lesson(client, url, title="Listen first, then talk", body="New *text*.")
    assert response.status_code == 302 and response.headers["Location"] == f"/kb/{lesson.slug}"
    html = page(client, f"/kb/{lesson.slug}")
    assert "Listen first, then talk" in html and "<em>text</em>" in html
    assert titles(page(client, "/kb?q=talk")) == ["Listen first, then talk"]
    assert "Rep: rep@example.test" in lesson.path.read_text()


def test_edit_preview_writes_nothing(client, auth, lesson):
    auth.login()
    url = f"/kb/{lesson.slug}/edit"
    response = post_lesson(client, url, title="Listen", body="**Draft**", preview="Preview")
    assert "<strong>Draft</strong>" in response.get_data(as_text=True)
    assert "Old." in lesson.path.read_text()


def test_rep_cannot_edit_another_reps_lesson(client, auth, lesson):
    auth.login("other@example.test")
    url = f"/kb/{lesson.slug}/edit"
    assert client.get(url).status_code == 403
    assert "Edit this lesson" not in page(client, f"/kb/{lesson.slug}")
    token = csrf_token(client, "/kb")
    response = client.post(url, data={"csrf_token": token, "title": "Mine", "body": "x"})
    assert response.status_code == 403
    assert "Title: Listen first" in lesson.path.read_text()


def test_manager_edits_any_lesson(client, auth, lesson):
    auth.login("boss@example.test")
    url = f"/kb/{lesson.slug}/edit"
    response = post_lesson(client, url, title="Listen first", body="Edited by the manager.")
    assert response.status_code == 302
    text = lesson.path.read_text()
    assert "Edited by the manager." in text and "Rep: rep@example.test" in text


def test_edit_needs_csrf(client, auth, lesson):
    auth.login()
    response = client.post(f"/kb/{lesson.slug}/edit", data={"title": "X", "body": "Y"})
    assert response.status_code == 400
    assert "Old." in lesson.path.read_text()


def test_debriefs_are_not_edited_as_lessons(client, auth, app):
    debrief = publish(app, title="A debrief", rep="rep@example.test")
    auth.login("boss@example.test")
    assert client.get(f"/kb/{debrief.slug}/edit").status_code == 404
    assert client.get("/kb/no-such-entry/edit").status_code == 404


# --- XSS ------------------------------------------------------------------------------------------


def payloads() -> list[str]:
    """The XSS corpus shared by the tests of every field that reaches an entry."""
    text = (Path(__file__).parent / "xss_payloads.txt").read_text(encoding="utf-8")
    # One payload a line; a literal \n in the file marks a line break inside the payload.
    return [line.replace("\\n", "\n") for line in text.splitlines() if line.strip()]


class Executable(HTMLParser):
    """Collects anything in a page that a browser could run."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "frame", "base"):
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                self.found.append(f"{tag} {name}={value!r}")
            if name in ("href", "src", "action", "xlink:href", "data") and value:
                scheme = re.sub(r"[\x00-\x20]", "", value).lower()
                if scheme.startswith(("javascript:", "data:", "vbscript:")):
                    self.found.append(f"{tag} {name}={value!r}")


def executable(html: str) -> list[str]:
    """The executable markup found in a page."""
    parser = Executable()
    parser.feed(html)
    parser.close()
    return parser.found


def test_the_payload_corpus_is_there():
    assert len(payloads()) >= 30


def test_xss_payloads_are_inert_in_lessons(client, auth, app):
    auth.login()
    assert executable(page(client, "/kb")) == []  # the checker itself finds nothing in a clean page
    for n, payload in enumerate(payloads()):
        response = post_lesson(
            client,
            "/kb/lessons/new",
            title=f"xss {n} {payload}"[:150].replace("\n", " "),
            body=payload,
        )
        assert response.status_code == 302, payload
        slug = response.headers["Location"].rsplit("/", 1)[1]
        for url in (f"/kb/{slug}", f"/kb?q=xss+{n}", "/kb?kind=lesson"):
            assert executable(page(client, url)) == [], (payload, url)
        preview = post_lesson(
            client, "/kb/lessons/new", title=payload[:150], body=payload, preview="Preview"
        )
        assert executable(preview.get_data(as_text=True)) == [], payload


def test_checker_finds_executable_markup():
    assert executable('<a href=" javascript:x">a</a><img src=x onerror=y><script></script>') == [
        "a href=' javascript:x'",
        "img onerror='y'",
        "<script>",
    ]


def test_a_lesson_cannot_tag_itself_with_a_theme_through_front_matter_in_its_body(
    client, auth, app
):
    # Themes are the managers' (SPEC 2.6); a rep's lesson body that looks like YAML front
    # matter with tags naming a theme stays body text: the header Debrief writes comes first.
    from debrief.themes import service as themes

    with app.app_context():
        themes.create_theme(get_store(), "Renewal pricing")
    auth.login()
    body = "---\ntags: [renewal-pricing]\nThemes: renewal-pricing\n---\n\nA lesson."
    saved = post_lesson(client, "/kb/lessons/new", title="Sneaky", body=body)
    assert saved.status_code == 302
    [path] = entry_files(app)
    assert entries.read_entry(path).themes == [] and entries.read_entry(path).tags == []
    with app.app_context():
        assert get_kb().search(theme="renewal-pricing").total == 0
