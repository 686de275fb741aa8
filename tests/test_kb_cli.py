"""`debrief kb reindex` and `debrief kb export`, and the managers' export download."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from pathlib import Path

import pytest

from debrief import entries
from debrief.index import get_kb
from debrief.kb import service
from debrief.kb.export import COLUMNS, neutralize
from debrief.store import get_store


def publish(app, title: str, **fields) -> entries.Entry:
    """An entry written and indexed through the app's publishing path."""
    values = {"kind": "lesson", "date": datetime.date(2024, 5, 1), "body": "Body.", **fields}
    with app.app_context():
        return service.publish(entries.Entry(title=title, **values))


@pytest.fixture
def folder(app) -> Path:
    """The entries folder with two good entries, one unreadable file and a stray hidden file."""
    root = Path(app.config["ENTRIES_DIR"])
    publish(app, "Ask the ones who leave")
    publish(app, "Trust before features", date=datetime.date(2024, 6, 2))
    (root / "2024" / "2024-01-01-binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (root / "2024" / ".2024-01-02-half-written.md.tmp").write_text("partial")
    return root


def test_reindex_rebuilds_and_reports_broken_files(app, runner, folder):
    (Path(app.config["DATA_DIR"]) / "index.sqlite").unlink()  # derived data: may be deleted
    with app.app_context():
        get_kb().close()
    app.extensions.pop("debrief.index", None)
    result = runner.invoke(args=["kb", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 entries from 3 files." in result.output
    assert "1 broken files skipped" in result.output
    assert "2024/2024-01-01-binary.md: binary file" in result.output
    with app.app_context():
        assert get_kb().search("features").total == 1
        assert [p for p, _ in get_kb().problems()[0]] == ["2024/2024-01-01-binary.md"]


def test_reindex_drops_entries_whose_files_are_gone(app, runner, folder):
    next((folder / "2024").glob("*-trust-before-features.md")).unlink()
    result = runner.invoke(args=["kb", "reindex"])
    assert "Indexed 1 entries from 2 files." in result.output
    with app.app_context():
        assert get_kb().search("features").total == 0


def test_reindex_of_an_empty_folder(runner):
    result = runner.invoke(args=["kb", "reindex"])
    assert result.exit_code == 0 and "Indexed 0 entries from 0 files." in result.output
    assert "broken" not in result.output


def test_init_indexes_the_entries_folder(app, runner, folder):
    hand = folder / "starter" / "a-starter-lesson.md"
    hand.parent.mkdir()
    hand.write_text("---\nTitle: A starter lesson\nDate: 2024-01-01\nKind: lesson\n---\n\nHi.\n")
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "Search index: 1 added" in result.output
    assert "1 broken entry files skipped" in result.output
    with app.app_context():
        assert get_kb().search("starter").total == 1


ANSWERS = [
    {
        "deal_id": 1,
        "invitation_id": 1,
        "outcome": "competitor",
        "competitor": "Acme",
        "reason": "price",
        "reasons": ["support", "trust"],
        "own_words": '=HYPERLINK("http://evil.example","click")',
        "claims": [{"claim": "Setup in a day", "verdict": "did-not-hold"}],
        "would_change": "+1 for honesty",
        "trust": 2,
        "attribution": "anonymous",
        "name": "Should Not Appear",
        "company": "Hidden Corp",
        "may_contact": False,
        "contact_email": "hidden@buyer.test",
        "email": "hidden@buyer.test",
        "submitted": "2024-05-01T10:00:00+00:00",
        "entry_slug": "2024-05-01-northwind",
    },
    {
        "deal_id": 2,
        "invitation_id": 2,
        "outcome": "status-quo",
        "competitor": None,
        "reason": "timing",
        "reasons": [],
        "own_words": "@SUM(A1:A9) and -2+3",
        "claims": [],
        "would_change": "Nothing",
        "trust": None,
        "attribution": "named",
        "name": "Nia Named",
        "company": "Open Corp",
        "may_contact": True,
        "contact_email": "nia@open.test",
        "submitted": "2024-05-02T10:00:00+00:00",
        "entry_slug": "2024-05-02-open-corp",
    },
]


@pytest.fixture
def answers(app):
    """Two answers: one anonymous with formula-like text, one signed."""
    with app.app_context():
        for answer in ANSWERS:
            get_store().table("answers").insert(dict(answer))


def read_zip(data: bytes) -> tuple[list[str], list[dict[str, str]], zipfile.ZipFile]:
    """The names in an export zip and the rows of its answers.csv."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    text = archive.read("answers.csv").decode("utf-8")
    return sorted(archive.namelist()), list(csv.DictReader(io.StringIO(text))), archive


def check_export(data: bytes, folder: Path) -> None:
    """The zip holds every visible entry file as written and answers.csv with anonymity kept."""
    names, rows, archive = read_zip(data)
    expected = sorted(
        "entries/" + p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )
    assert names == sorted([*expected, "answers.csv"])
    assert len(expected) == 3  # two entries and the broken file: the folder as it is
    for name in expected:
        assert archive.read(name) == (folder / name.removeprefix("entries/")).read_bytes()
    text = archive.read("answers.csv").decode("utf-8")
    assert list(rows[0]) == list(COLUMNS)
    assert "email" not in ",".join(rows[0]) and "@buyer.test" not in text and "nia@" not in text
    anonymous, named = rows
    assert anonymous["name"] == "" and anonymous["company"] == ""
    assert "Should Not Appear" not in text and "Hidden Corp" not in text
    assert named["name"] == "Nia Named" and named["company"] == "Open Corp"
    assert anonymous["own_words"] == '\'=HYPERLINK("http://evil.example","click")'
    assert anonymous["would_change"] == "'+1 for honesty"
    assert named["own_words"] == "'@SUM(A1:A9) and -2+3"
    assert anonymous["reasons"] == "support, trust"
    assert anonymous["claims"] == "Setup in a day (did-not-hold)"
    assert anonymous["trust"] == "2" and named["trust"] == ""
    assert named["may_contact"] == "yes" and anonymous["may_contact"] == "no"
    assert anonymous["deal_id"] == anonymous["entry_slug"] == ""  # nothing ties it to its deal
    assert (named["deal_id"], named["entry_slug"]) == ("2", "2024-05-02-open-corp")


def test_export_command_writes_the_zip(runner, folder, answers, tmp_path):
    out = tmp_path / "out" / "kb.zip"
    out.parent.mkdir()
    result = runner.invoke(args=["kb", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}: 3 entry files, 2 answers." in result.output
    check_export(out.read_bytes(), folder)
    assert [p.name for p in out.parent.iterdir()] == ["kb.zip"]  # no partial file left


def test_export_command_reports_an_unwritable_target(runner, folder, tmp_path):
    result = runner.invoke(args=["kb", "export", "--out", str(tmp_path / "missing" / "kb.zip")])
    assert result.exit_code == 1
    assert "cannot write" in result.output and "Traceback" not in result.output


def test_export_download_for_managers(client, auth, folder, answers):
    auth.login("boss@example.test")
    assert 'href="/kb/export"' in client.get("/kb").get_data(as_text=True)
    with client.get("/kb/export") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/zip"
        assert "attachment" in response.headers["Content-Disposition"]
        check_export(response.get_data(), folder)


def test_export_is_for_managers_only(client, auth, folder):
    assert client.get("/kb/export").status_code == 302  # signed out: to the sign-in page
    auth.login()
    assert 'href="/kb/export"' not in client.get("/kb").get_data(as_text=True)
    assert client.get("/kb/export").status_code == 403


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("plain = text", "plain = text"),
        ("", ""),
        (3, 3),
        (None, None),
    ],
)
def test_neutralize(value, expected):
    assert neutralize(value) == expected


# --- anonymity in exports and in files written by earlier versions ----------------------------

VEXLEY = {"company": "Vexley GmbH", "contact_name": "Vera Vogt", "contact_email": "vv@vexley.test"}


def vexley_deal(app) -> dict:
    """A lost deal of rep@example.test whose company, contact and email the buyer wrote down."""
    with app.app_context():
        store = get_store()
        rep = store.table("users").find_one("email", "rep@example.test")
        record = {**VEXLEY, "rep_id": rep["id"], "rep_reason": "price", "rep_reasons": [],
                  "claims": ["Native sync with the Vexley CRM"], "crm_id": "SF-0042"}  # fmt: skip
        return store.table("deals").get(store.table("deals").insert(record))


def vexley_answer(deal: dict, slug: str | None) -> dict:
    """An anonymous answer to that deal that names its company, contact and email."""
    return {
        **ANSWERS[0],
        "deal_id": deal["id"],
        "own_words": "Vera Vogt at VEXLEY chose Acme; write to vv@vexley.test.",
        "claims": [{"claim": "Native sync with the Vexley CRM", "verdict": "did-not-hold"}],
        "would_change": "Nothing",
        "entry_slug": slug,
    }


def test_both_answer_exports_show_anonymous_text_as_the_entry_does(app, client, auth):
    deal = vexley_deal(app)
    with app.app_context():
        get_store().table("answers").insert(vexley_answer(deal, "2024-05-01-a-buyers-debrief"))
    auth.login("boss@example.test")
    with client.get("/kb/export") as response:
        _, [row], _ = read_zip(response.get_data())
    dashboard = client.get("/dashboard/answers.csv?from=2024-01-01").get_data(as_text=True)
    [other] = list(csv.DictReader(io.StringIO(dashboard)))
    for exported in (row, other):
        assert exported["deal_id"] == "" and exported.get("entry_slug", "") == ""
        assert exported["own_words"] == (
            "[the buyer] at [the buyer's company] chose Acme; write to [email]."
        )
        assert "Native sync with the [the buyer's company] CRM" in exported["claims"]
    for text in (",".join(row.values()), dashboard):
        for secret in ("vexley", "vera", "vogt", "SF-0042"):
            assert secret.lower() not in text.lower()


def test_both_answer_exports_write_the_same_cells_whatever_is_stored(app, client, auth):
    deal = vexley_deal(app)
    odd = {**vexley_answer(deal, None), "attribution": None, "submitted": "2024-05-02T10:00:00"}
    odd["claims"] = [*odd["claims"], "a claim stored as a bare string"]
    with app.app_context():
        get_store().table("answers").insert(odd)
    auth.login("boss@example.test")
    with client.get("/kb/export") as response:
        _, [row], _ = read_zip(response.get_data())
    dashboard = client.get("/dashboard/answers.csv?from=2024-01-01")
    assert dashboard.status_code == 200  # nothing stored can make a page fail
    [other] = list(csv.DictReader(io.StringIO(dashboard.get_data(as_text=True))))
    for column in set(row) & set(other):
        assert row[column] == other[column], column
    assert row["claims"] == "Native sync with the [the buyer's company] CRM (did-not-hold)"
    assert row["attribution"] == "anonymous" and row["deal_id"] == ""


def old_format_debrief(app, deal: dict) -> entries.Entry:
    """An anonymous debrief as Debrief wrote it before: `Deal: N`, "Deal N: ..." and names."""
    body = (
        "## In the buyer's words\n\n"
        + entries.buyer_block("Vera Vogt at VEXLEY chose Acme; write to vv@vexley.test.")
        + "\n\n## What we told them, and whether it held\n\n"
        "- **Didn't hold**: Native sync with the Vexley CRM\n\n"
        "## What would have changed the decision\n\n" + entries.buyer_block("Nothing") + "\n"
    )
    entry = publish(
        app,
        f"Deal {deal['id']}: Chose another vendor, mainly Price",
        kind="debrief",
        deal=deal["id"],
        rep="rep@example.test",
        competitor="acme",
        outcome="competitor",
        prospect_reasons=["price", "support", "trust"],
        rep_reasons=["price"],
        themes=["pricing"],
        trust=2,
        body=body,
    )
    with app.app_context():
        get_store().table("answers").insert(vexley_answer(deal, entry.slug))
    return entry


def moved_debrief(app, old: entries.Entry) -> entries.Entry:
    """The one anonymous debrief file there is now; the answer's entry_slug leads to it."""
    root = Path(app.config["ENTRIES_DIR"])
    found = [entries.read_entry(p) for p in entries.entry_files(root)]
    [entry] = [e for e in found if e.kind == "debrief" and e.company is None]
    with app.app_context():
        [answer] = get_store().table("answers").all()
    assert answer["entry_slug"] == entry.slug and not old.path.exists()
    return entry


def test_init_moves_old_anonymous_debriefs_to_a_name_without_the_deal_once(
    app, runner, client, auth
):
    deal = vexley_deal(app)
    old = old_format_debrief(app, deal)
    assert f"deal-{deal['id']}" in old.slug  # the old title made the file's name
    named = publish(app, "Open Corp: Kept the current setup, mainly Timing", kind="debrief",
                    deal=7, company="Open Corp", body="Open Corp said so.")  # fmt: skip
    named_bytes = named.path.read_bytes()
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "1 anonymous debrief rewritten" in result.output
    entry = moved_debrief(app, old)  # the answer's entry_slug follows the file
    text = entry.path.read_text()
    assert entry.slug == "2024-05-01-a-buyer-s-debrief-chose-another-vendor-mainly-price"
    assert entry.deal is None and "Deal" not in text
    assert entry.title == "A buyer's debrief: Chose another vendor, mainly Price"
    for secret in ("vexley", "vera", "vogt", "SF-0042"):
        assert secret.lower() not in text.lower()
    assert "[the buyer] at [the buyer's company] chose Acme; write to [email]." in text
    assert "Native sync with the \\[the buyer's company\\] CRM" in text
    # What the file said beyond the names is kept: facts, themes, date, the rest of the body.
    assert (entry.date, entry.themes, entry.trust, entry.rep_reasons) == (
        old.date, ["pricing"], 2, ["price"],
    )  # fmt: skip
    assert entry.prospect_reasons == ["price", "support", "trust"]
    assert named.path.read_bytes() == named_bytes
    again = runner.invoke(args=["init"])
    assert again.exit_code == 0 and "rewritten" not in again.output
    assert entry.path.read_text() == text
    auth.login("other@example.test")
    assert client.get(f"/kb/{old.slug}").status_code == 404
    for query in ("Vexley", "Vera", f"Deal {deal['id']}", ""):
        html = client.get(f"/kb?q={query}").get_data(as_text=True)
        assert f"/kb/{old.slug}" not in html and f"deal-{deal['id']}" not in html


@pytest.mark.parametrize("indexed", [True, False])
def test_init_moves_an_old_debrief_whose_deal_header_was_taken_out_by_hand(app, runner, indexed):
    old = old_format_debrief(app, vexley_deal(app))
    text = old.path.read_text()
    old.path.write_text(text.replace(f"Deal: {old.deal}\n", ""))  # title and name still say it
    if indexed:  # the index has seen the edit before init (else init's own sync sees it)
        with app.app_context():
            get_kb().sync()
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    entry = moved_debrief(app, old)
    assert "deal" not in entry.slug and "Deal" not in entry.path.read_text()


@pytest.mark.parametrize("step", ["answer moved", "old file removed"])
def test_a_move_cut_off_by_a_kill_is_finished_by_the_next_init(app, runner, monkeypatch, step):
    from debrief.survey import upgrade

    old = old_format_debrief(app, vexley_deal(app))

    def killed(*args, **kwargs):
        raise SystemExit("killed")

    if step == "answer moved":  # killed with the new file written
        monkeypatch.setattr(upgrade, "_point_answer", killed)
    else:  # killed with the answer moved to the new file
        monkeypatch.setattr(service, "remove", killed)
    assert runner.invoke(args=["init"]).exit_code != 0
    monkeypatch.undo()
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0, result.output
    moved_debrief(app, old)
