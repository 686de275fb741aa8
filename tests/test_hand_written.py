"""Lenient reading (SPEC 2.4): Markdown files written by hand, in any common shape, are searchable.

Each test puts one kind of hand-written file in the entries folder, runs `debrief kb reindex`
as an operator would, then searches for it through /kb as a rep and opens its page.
"""

from __future__ import annotations

import datetime
import os
import re

import pytest
from test_kb import hand_write

from debrief import entries

NO_HEADER = "# Pricing objections in retail\n\nThey said our price was a zeppelin above the rest.\n"
CRM_DEAL = (
    "---\nTitle: Lost the Quorvex renewal\nDate: 2025-02-11\nKind: lesson\nDeal: OPP-004417\n"
    "---\n\nThe zeppelin budget went to a cheaper tool.\n"
)
LONG_DATE = "---\nTitle: Call notes with Brightwell\nDate: 4 March 2025\n---\n\nA zeppelin story.\n"
FRONT_MATTER = (
    "---\ntitle: Why we lost Acme\ndate: 2025-03-04\ntags: [price, trust]\n---\n\n"
    "The buyer trusted the zeppelin vendor more.\n"
)


def reindex(runner) -> str:
    """`debrief kb reindex`; its output."""
    result = runner.invoke(args=["kb", "reindex"])
    assert result.exit_code == 0, result.output
    return result.output


def found(client, q: str) -> list[str]:
    """The slugs of the /kb results for q, in the order shown."""
    response = client.get("/kb", query_string={"q": q})
    assert response.status_code == 200
    return re.findall(r'<h3><a href="/kb/([^"]+)">', response.get_data(as_text=True))


def entry_page(client, slug: str) -> str:
    """An entry's page, which must open."""
    response = client.get(f"/kb/{slug}")
    assert response.status_code == 200, slug
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "text", "title", "kind", "date"),
    [
        ("notes/2024-11-05-pricing.md", NO_HEADER, "Pricing objections in retail", "lesson",
         datetime.date(2024, 11, 5)),
        ("2025/quorvex.md", CRM_DEAL, "Lost the Quorvex renewal", "lesson",
         datetime.date(2025, 2, 11)),
        ("2025/brightwell.md", LONG_DATE, "Call notes with Brightwell", "lesson",
         datetime.date(2025, 3, 4)),
        ("acme.md", FRONT_MATTER, "Why we lost Acme", "lesson", datetime.date(2025, 3, 4)),
    ],
)  # fmt: skip
def test_a_hand_written_file_is_found_by_search_after_reindex(
    app, runner, client, auth, name, text, title, kind, date
):
    path = hand_write(app, name, text)
    output = reindex(runner)
    assert "Indexed 1 entries from 1 files." in output
    assert "broken" not in output
    auth.login()
    assert found(client, "zeppelin") == [path.stem]
    assert title in entry_page(client, path.stem)
    read = entries.read_entry(path)
    assert (read.title, read.kind, read.date) == (title, kind, date)


def test_a_file_with_no_title_and_no_heading_is_named_after_its_file(app, runner, client, auth):
    path = hand_write(app, "field-notes_from-march.md", "Just a zeppelin line, nothing else.\n")
    reindex(runner)
    auth.login()
    assert found(client, "zeppelin") == [path.stem]
    assert entries.read_entry(path).title == "field notes from march"


def test_a_file_with_no_date_anywhere_takes_its_modification_date(app, runner):
    path = hand_write(app, "undated.md", "---\nTitle: Undated zeppelin\n---\n\nBody.\n")
    moment = datetime.datetime(2023, 7, 9, 12, 0).timestamp()
    os.utime(path, (moment, moment))
    reindex(runner)
    assert entries.read_entry(path).date == datetime.date(2023, 7, 9)


def test_a_crm_deal_is_kept_as_reference_text_shown_and_searchable(app, runner, client, auth):
    path = hand_write(app, "2025/quorvex.md", CRM_DEAL)
    reindex(runner)
    read = entries.read_entry(path)
    assert read.deal is None and read.reference == "OPP-004417"
    auth.login()
    assert found(client, "OPP-004417") == [path.stem]
    html = entry_page(client, path.stem)
    assert "OPP-004417" in html
    assert "/deals/" not in re.sub(r"<header.*?</header>", "", html, flags=re.S)


def test_front_matter_tags_are_kept_and_searchable(app, runner, client, auth):
    path = hand_write(app, "acme.md", FRONT_MATTER.replace("zeppelin", "other"))
    reindex(runner)
    assert entries.read_entry(path).tags == ["price", "trust"]
    auth.login()
    assert found(client, "trust acme") == [path.stem]


def test_each_repair_is_a_warning_in_reindex_and_on_the_problems_page(app, runner, client, auth):
    hand_write(app, "notes/2024-11-05-pricing.md", NO_HEADER)
    hand_write(app, "2025/quorvex.md", CRM_DEAL)
    hand_write(app, "2025/brightwell.md", LONG_DATE)
    output = reindex(runner)
    assert "Indexed 3 entries from 3 files." in output
    assert "notes/2024-11-05-pricing.md: no header" in output
    assert "2025/quorvex.md: Deal 'OPP-004417' is not a Debrief deal number" in output
    assert "2025/brightwell.md: no Kind: read as a lesson" in output
    assert "2025/brightwell.md: Date '4 March 2025' read as 2025-03-04" in output
    auth.login("boss@example.test")
    html = client.get("/kb/problems").get_data(as_text=True)
    assert "2025/quorvex.md" in html and "not a Debrief deal number" in html


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
        ("latin1.md", "---\nTitle: Caf\xe9\n---\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_only_unreadable_files_stay_out_of_search(app, runner, name, raw, reason):
    hand_write(app, name, raw)
    output = reindex(runner)
    assert "Indexed 0 entries from 1 files." in output
    assert f"{name}: {reason}" in output


def test_files_debrief_writes_keep_the_strict_header(app, tmp_path):
    written = entries.write_entry(
        tmp_path,
        entries.Entry(kind="lesson", title="Strict", date=datetime.date(2025, 1, 2), body="B\n"),
    )
    assert written.path.read_text().startswith(
        "---\nTitle: Strict\nDate: 2025-01-02\nKind: lesson\n---\n"
    )
    assert entries.read_entry(written.path).warnings == []


def with_theme(app, theme: str) -> list[str]:
    """The slugs the knowledge base files under a theme (its filter, as the theme page uses)."""
    from debrief.index import get_kb

    with app.app_context():
        return [hit.slug for hit in get_kb().search(theme=theme).hits]


def test_a_front_matter_tag_naming_a_theme_counts_as_that_theme(app, runner):
    from debrief.store import get_store
    from debrief.themes import service as themes

    with app.app_context():
        themes.create_theme(get_store(), "Price")
    path = hand_write(app, "acme.md", FRONT_MATTER)
    reindex(runner)
    assert with_theme(app, "price") == [path.stem]
    assert with_theme(app, "trust") == []  # no such theme: it stays a tag
    assert entries.read_entry(path).tags == ["price", "trust"]  # the file is not rewritten


def test_a_theme_made_later_takes_in_the_tag_and_gives_it_back_when_deleted(
    app, runner, client, auth
):
    from debrief.store import get_store
    from debrief.themes import service as themes

    path = hand_write(app, "acme.md", FRONT_MATTER)
    reindex(runner)
    assert with_theme(app, "trust") == []
    with app.app_context():
        themes.create_theme(get_store(), "Trust")
    assert with_theme(app, "trust") == [path.stem]  # no reindex needed
    with app.app_context():
        themes.edit_theme(get_store(), "trust", "Buyer trust", "")
    assert with_theme(app, "trust") == [] and with_theme(app, "buyer-trust") == []
    with app.app_context():
        themes.create_theme(get_store(), "Price")
        themes.delete_theme(get_store(), "price")
    assert with_theme(app, "price") == []
    auth.login()
    assert found(client, "trust acme") == [path.stem]  # still searchable as a tag
