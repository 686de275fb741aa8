"""Search by what a rep means (SPEC 2.5, issue 15), through the app's /kb page: word forms,
spellings, typos, synonyms and partial matches, each with a query that must find its lesson and
one that must not. The engine's own tests of the same are in tests/index/test_meaning.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import csrf_token

from debrief import create_app
from tests.conftest import app_settings

STARTER = Path(__file__).resolve().parent.parent / "entries" / "starter"
SYNONYMS = """# a small list of our own (the shipped one is the relevance engineer's)
price, cost, costly, expensive, pricing, budget
reference, referral, case study
called back, phoned, rang, returned the call
layoffs, redundancies
"""


@pytest.fixture
def app(tmp_path: Path, seeded_db: Path):
    """The app over the five starter lessons, with its own synonym list."""
    shutil.copytree(seeded_db, tmp_path / "data" / "db")
    shutil.copytree(STARTER, tmp_path / "entries" / "starter")
    (tmp_path / "synonyms.txt").write_text(SYNONYMS, encoding="utf-8")
    yield create_app({**app_settings(tmp_path), "SYNONYMS_FILE": str(tmp_path / "synonyms.txt")})


def found(client, q: str, **args: str) -> tuple[list[str], str]:
    """The result links (slugs) of a /kb search, and the page's HTML."""
    response = client.get(f"/kb?q={quote(q)}" + "".join(f"&{k}={v}" for k, v in args.items()))
    assert response.status_code == 200, q
    html = response.get_data(as_text=True)
    return re.findall(r'<h3><a href="/kb/([^"]+)">', html), html


def first_hit(html: str) -> str:
    """The HTML of the first result."""
    return html.split('<li class="card hit"')[1].split("</li>")[0]


@pytest.fixture
def kb(client, auth):
    """Signed in as a rep: a function from a query to (slugs found, HTML)."""
    auth.login()
    return lambda q, **args: found(client, q, **args)


# --- 1. word forms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "slug"),
    [
        ("overpromises", "promise-only-what-you-deliver"),  # the lesson says "overpromise"
        ("rollout plans vague", "dont-take-a-stated-reason-at-face-value"),
    ],
)
def test_other_forms_of_a_word_find_the_lesson(kb, q, slug):
    slugs, html = kb(q)
    assert slugs[0] == slug and "some of your words" not in first_hit(html)


def test_a_word_no_lesson_has_in_any_form_finds_nothing(kb):
    slugs, html = kb("spreadsheets")
    assert slugs == [] and "No results" in html


# --- 2. spellings and typos ---------------------------------------------------------------------


def test_a_us_spelling_finds_the_uk_one(kb):
    slugs, _ = kb("reorganization")  # the lesson spells it "reorganisation"
    assert slugs == ["customers-hide-the-real-reason"]


def test_a_typo_is_corrected_when_nothing_matches_and_said_so(kb):
    slugs, _ = kb("incumbant")  # the typo: the word forms already find it
    assert "customers-hide-the-real-reason" in slugs
    slugs, html = kb("incumbnet")  # a typo of "incumbent" no word form explains
    assert "customers-hide-the-real-reason" in slugs
    assert re.search(r"Showing results for <strong>incumbent</strong>;\s+search instead for", html)
    assert 'href="/kb?q=incumbnet&amp;typed=1"' in html
    slugs, html = kb("incumbnet", typed="1")  # "search instead for" the words as typed
    assert slugs == [] and "Showing results for" not in html


def test_a_word_the_index_has_is_never_corrected(kb):
    slugs, html = kb("incumbent")
    assert slugs and "Showing results for" not in html and "Did you mean" not in html
    slugs, html = kb("zqxwvy")  # nothing near it: no correction, nothing found
    assert slugs == [] and "Showing results for" not in html


def test_a_typo_beside_words_that_match_is_offered_not_applied(kb):
    slugs, html = kb("sponsor incumbnet")  # "sponsor" matches: its entries are shown, marked
    assert slugs and "Showing results for" not in html and "none has them all" in html
    link = 'Did you mean <a href="/kb?q=sponsor+incumbent">sponsor incumbent</a>?'
    assert link in html


# --- 3. sales synonyms --------------------------------------------------------------------------


def test_synonyms_and_phrases_find_the_lesson(kb):
    slugs, _ = kb("referral never phoned back")  # "a reference that never called back"
    assert slugs[0] == "ask-the-ones-who-leave"
    slugs, html = kb("costly")  # the lessons say "expensive" and "price"
    assert "dont-take-a-stated-reason-at-face-value" in slugs
    assert "<mark>expensive</mark>" in html or "<mark>price</mark>" in html


def test_a_word_in_no_group_finds_no_synonyms(kb):
    slugs, _ = kb("costlier")  # no lesson has it; not in a group (only "costly" is)
    assert slugs == []


def test_a_manager_adds_a_line_and_search_uses_it(app, client, auth):
    auth.login("boss@example.test")
    lesson = "dont-take-a-stated-reason-at-face-value"  # "the rollout plan was vague"
    slugs, html = found(client, "cutover plan")
    assert "none has them all" in html  # before the line: "plan" alone, partial matches
    token = csrf_token(client, "/themes")
    line = "Rollout, cutover, switch-over"
    response = client.post("/themes/synonyms", data={"csrf_token": token, "line": line})
    assert response.status_code == 302
    assert "rollout, cutover, switch-over" in client.get("/themes").get_data(as_text=True)
    assert (
        (Path(app.config["DATA_DIR"]) / "synonyms.txt")
        .read_text()
        .endswith("rollout, cutover, switch-over\n")
    )
    slugs, html = found(client, "cutover plan")
    assert slugs[0] == lesson and "some of your words" not in first_hit(html)
    # The button pressed again, or the same words in another order and case: kept once.
    again = client.post(
        "/themes/synonyms", data={"csrf_token": token, "line": "cutover, ROLLOUT, switch-over"}
    )
    assert again.status_code == 302
    assert (Path(app.config["DATA_DIR"]) / "synonyms.txt").read_text().count("cutover") == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("pricing", "at least two"),
        ("price,\x1b cost", "control characters"),
        ("a, " + "b" * 70, "too long"),
        ("one, ***", "no word in it"),
        ("x, " * 300, "500 characters"),
    ],
)
def test_a_bad_line_is_shown_beside_the_field(app, client, auth, line, message):
    auth.login("boss@example.test")
    token = csrf_token(client, "/themes")
    response = client.post("/themes/synonyms", data={"csrf_token": token, "line": line})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    error = re.search(r'<p class="error" id="line-error">([^<]*)</p>', html)
    assert error and message in error.group(1), html[-3000:]
    assert not (Path(app.config["DATA_DIR"]) / "synonyms.txt").exists()


def test_only_managers_add_synonyms_and_only_with_the_csrf_token(client, auth):
    auth.login()  # a rep
    response = client.post("/themes/synonyms", data={"line": "a, b"})
    assert response.status_code in (400, 403)
    token = csrf_token(client, "/themes")
    assert client.post("/themes/synonyms", data={"csrf_token": token, "line": "a, b"}
                       ).status_code == 403  # fmt: skip
    assert 'action="/themes/synonyms' not in client.get("/themes").get_data(as_text=True)


# --- 4. partial matches, queries without a word, pages past the end ----------------------------


def test_most_of_the_words_follow_marked_when_none_has_all(kb):
    slugs, html = kb("sponsor lost interest redundancies")  # no lesson says the last word
    assert slugs[0] == "customers-hide-the-real-reason"  # "a sponsor who lost interest"
    assert html.count("Matches some of your words") == len(slugs)
    assert "with some of your words (none has them all)" in html


def test_no_partial_match_is_made_up(kb):
    slugs, html = kb("zebra walrus")
    assert slugs == [] and "No results" in html
    slugs, html = kb("sponsor lost interest")  # a lesson has every word: nothing marked
    assert slugs[0] == "customers-hide-the-real-reason"
    assert "some of your words" not in first_hit(html)


@pytest.mark.parametrize("q", ["*", "-", "🙂", '"" ()'])
def test_a_query_with_no_word_says_so_and_lists_nothing(kb, q):
    slugs, html = kb(q)
    assert slugs == [] and "Nothing to search for" in html and "best match" not in html


def test_a_page_past_the_end_of_a_search_shows_the_last_page(kb):
    slugs, html = kb("the", page="99999")
    assert slugs and "Page 99999" not in html and 'rel="next"' not in html


def test_a_bad_line_in_a_list_file_is_shown_to_managers_not_a_failure(app, client, auth):
    (Path(app.config["DATA_DIR"]) / "synonyms.txt").write_text("price, cost\nlonely\n")
    auth.login("boss@example.test")
    html = client.get("/themes").get_data(as_text=True)
    assert "left out of search" in html and "synonyms.txt line 2: Write at least two" in html
    assert "dont-take-a-stated-reason-at-face-value" in found(client, "cost")[0]
