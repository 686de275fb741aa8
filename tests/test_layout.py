"""The layout the code keeps: the knowledge-base engine works without Flask (issue 14)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BLOCK_FLASK = (
    "import sys\nfor name in ('flask', 'werkzeug', 'jinja2'):\n    sys.modules[name] = None\n"
)


@pytest.mark.parametrize("module", ["debrief.files", "debrief.entries", "debrief.index"])
def test_the_engine_imports_and_works_with_flask_absent(module, tmp_path):
    script = BLOCK_FLASK + (
        f"import {module}\n"
        "import datetime, pathlib\n"
        "from debrief.entries import Entry, read_entry, write_entry\n"
        f"root = pathlib.Path({str(tmp_path)!r})\n"
        "e = write_entry(root, Entry(kind='lesson', title='T', date=datetime.date(2025, 1, 2)))\n"
        "assert read_entry(e.path).title == 'T'\n"
        "assert 'flask' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


ENGINE_INTERNALS = ("get_index", "count_by", "id_range", "db_path", "sqlite-wal", "get_kb().index")


def test_nothing_outside_the_engine_reaches_into_it():
    # Callers use the KnowledgeBase facade (get_kb()); the dashboard asks version(), it does
    # not stat the index's files.
    root = Path(__file__).parent.parent / "debrief"
    found = [
        f"{path.relative_to(root)}: {name}"
        for path in sorted(root.rglob("*.py"))
        if "index" not in path.relative_to(root).parts[:1]
        for name in ENGINE_INTERNALS
        if name in path.read_text(encoding="utf-8")
    ]
    assert found == []


def test_only_the_engine_and_the_other_sqlite_files_import_sqlite3():
    # The index's SQLite is the engine's; errors.py and sqlitefile.py serve the other SQLite
    # files (rate-limit counters, sessions). A caller catches the facade's IndexWriteError.
    root = Path(__file__).parent.parent / "debrief"
    allowed = {"errors.py", "sqlitefile.py"}
    found = [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*.py"))
        if path.relative_to(root).parts[0] != "index" and str(path.relative_to(root)) not in allowed
        if re.search(r"^\s*(import sqlite3|from sqlite3 import)", path.read_text("utf-8"), re.M)
    ]
    assert found == []


def _modules(under: str = "") -> list[tuple[str, str]]:
    """(path relative to debrief/, source) of every module under debrief/<under>."""
    root = Path(__file__).parent.parent / "debrief"
    return [
        (str(path.relative_to(root)), path.read_text("utf-8"))
        for path in sorted((root / under).rglob("*.py"))
    ]


def test_only_the_console_script_imports_the_app_factory():
    # create_app registers the commands and the blueprints: a module it registers that imports
    # it back is a cycle. The console script (debrief/__main__.py) sits above the package.
    found = [
        path
        for path, source in _modules()
        if path not in ("__init__.py", "__main__.py") and re.search(r"\bcreate_app\b", source)
    ]
    assert found == []


def test_the_deals_feature_does_not_know_the_survey():
    # The survey is built on deals (invitations, the deal an answer is about), not the other way:
    # what deals runs for the survey (`invites remind`'s catch-up) the survey registers.
    imports_survey = re.compile(
        r"^\s*(from debrief\.survey\b|from debrief import survey\b|import debrief\.survey\b)", re.M
    )
    found = [path for path, source in _modules("deals") if imports_survey.search(source)]
    assert found == []


def test_other_features_ask_the_survey_and_deals_for_their_records():
    # Answers and deals are the survey's and the deals feature's to read (survey.answers,
    # deals.service): the knowledge base, the dashboard, its exports and the digest ask them.
    # competitors.py tallies the names as typed in both tables shard by shard (its cache).
    found = [
        f"{path}: {table}"
        for path, source in _modules()
        if not path.startswith(("survey/", "deals/")) and path != "kb/competitors.py"
        for table in re.findall(r"""table\(\s*["'](answers|deals)["']""", source)
    ]
    assert found == []


def test_the_deal_pages_name_no_survey_template_or_helper():
    # The survey adds the buyer's answer to the deal page as a panel (deals.views.add_panel);
    # the deals templates neither include the survey's templates nor call its globals.
    root = Path(__file__).parent.parent / "templates" / "deals"
    found = [
        f"{path.name}: {name}"
        for path in sorted(root.rglob("*.html"))
        for name in re.findall(r"survey/|answer_for", path.read_text("utf-8"))
    ]
    assert found == []
