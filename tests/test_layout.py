"""The layout the code keeps: the knowledge-base engine works without Flask (issue 14)."""

from __future__ import annotations

import subprocess
import sys

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
