"""`debrief kb reindex` and `debrief kb export`, and the managers' export download."""

from __future__ import annotations

import csv
import datetime
import io
import zipfile
from pathlib import Path

import pytest

from debrief import entries
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
    """The entries folder with two good entries, one broken file and a stray hidden file."""
    root = Path(app.config["ENTRIES_DIR"])
    publish(app, "Ask the ones who leave")
    publish(app, "Trust before features", date=datetime.date(2024, 6, 2))
    (root / "2024" / "2024-01-01-bad-header.md").write_text("---\nTitle Broken\n---\n\nBody\n")
    (root / "2024" / ".2024-01-02-half-written.md.tmp").write_text("partial")
    return root


def test_reindex_rebuilds_and_reports_broken_files(app, runner, folder):
    (Path(app.config["DATA_DIR"]) / "index.sqlite").unlink()  # derived data: may be deleted
    with app.app_context():
        service.get_index().close()
    app.extensions.pop("debrief.index", None)
    result = runner.invoke(args=["kb", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 entries from 3 files." in result.output
    assert "1 broken files skipped" in result.output
    assert "2024/2024-01-01-bad-header.md: bad header line" in result.output
    with app.app_context():
        assert service.get_index().query("features").total == 1
        assert [p for p, _ in service.get_index().problems()] == ["2024/2024-01-01-bad-header.md"]


def test_reindex_drops_entries_whose_files_are_gone(app, runner, folder):
    next((folder / "2024").glob("*-trust-before-features.md")).unlink()
    result = runner.invoke(args=["kb", "reindex"])
    assert "Indexed 1 entries from 2 files." in result.output
    with app.app_context():
        assert service.get_index().query("features").total == 0


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
        assert service.get_index().query("starter").total == 1


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
