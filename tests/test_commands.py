"""The README's commands, run as written in a shell after `make run`'s set-up (`make setup`):
the real `debrief` console script in a subprocess, with no DEBRIEF_SECRET_KEY or DEBRIEF_ORG_NAME
exported (the development data folder holds both), and the production guard still in place."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from debrief.config import PROJECT_ROOT

BIN = Path(sys.executable).parent
README = PROJECT_ROOT / "README.md"
CSV = "Opportunity ID,Account Name,Contact Email,Amount,Close Date,Loss Reason\n" \
      "006A,Initech,ina@initech.example.com,5000,2024-05-02,price\n"  # fmt: skip

# The README's placeholders, as a user would fill them in (tmp is the test's folder).
FILLED = {
    "debrief init": "debrief init",
    "debrief demo": "debrief demo",
    "debrief user add": "debrief user add zoe@demo.test --role rep --password {password}",
    "debrief deals import": "debrief deals import {tmp}/deals.csv --as ana@demo.test",
    "debrief invites send": "debrief invites send",
    "debrief invites remind": "debrief invites remind",
    "debrief digest": "debrief digest",
    "debrief kb reindex": "debrief kb reindex",
    "debrief kb export": "debrief kb export --out {tmp}/export.zip",
    "debrief themes discover": "debrief themes discover",
}


def readme_commands() -> list[str]:
    """The commands of the README's Commands table, placeholders and options left out."""
    section = README.read_text(encoding="utf-8").split("## Commands", 1)[1].split("\n## ", 1)[0]
    cells = re.findall(r"^\| `(debrief [^`]+)` \|", section, flags=re.MULTILINE)
    return [" ".join(w for w in cell.split() if re.fullmatch(r"[a-z]+", w)) for cell in cells]


def shell_env(tmp_path: Path) -> dict[str, str]:
    """A shell after `make run`: the venv's scripts on PATH, only the data folders chosen."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEBRIEF_")}
    return {
        **env,
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "DEBRIEF_DATA_DIR": str(tmp_path / "data"),
        "DEBRIEF_ENTRIES_DIR": str(tmp_path / "entries"),
    }


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """One command in a shell, its output captured."""
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_table_lists_what_this_test_runs():
    assert sorted(readme_commands()) == sorted(FILLED)


@pytest.mark.slow
def test_every_readme_command_works_as_written_after_make_setup(tmp_path):
    env = shell_env(tmp_path)
    made = run(["make", "-s", "-C", str(PROJECT_ROOT), "setup"], env, tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "ana@demo.test" in made.stdout  # the demo logins are printed
    secret = tmp_path / "data" / "secret_key"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "data" / "org_name").read_text().strip() == "Harbourline"
    (tmp_path / "deals.csv").write_text(CSV, encoding="utf-8")
    for name in readme_commands():
        line = FILLED[name].format(tmp=tmp_path, password="a-long-enough-password")
        result = run(line.split(), env, tmp_path)
        assert result.returncode == 0, (line, result.stdout, result.stderr)
    assert (tmp_path / "export.zip").stat().st_size > 0
    added = run(["debrief", "user", "add", "zoe@demo.test", "--role", "rep", "--password",
                 "a-long-enough-password"], env, tmp_path)  # fmt: skip
    assert "exists already" in added.stderr  # the first one was stored, in the same data folder


def test_a_missing_secret_is_the_error_not_no_such_command(tmp_path):
    env = shell_env(tmp_path)
    result = run(["debrief", "invites", "send"], env, tmp_path)
    assert result.returncode == 1
    assert "DEBRIEF_SECRET_KEY is not set" in result.stderr
    assert "No such command" not in result.stderr


def test_a_secret_file_others_may_read_is_refused(tmp_path):
    env = shell_env(tmp_path)
    (tmp_path / "data").mkdir()
    secret = tmp_path / "data" / "secret_key"
    secret.write_text("s" * 64)
    secret.chmod(0o644)
    result = run(["debrief", "init"], env, tmp_path)
    assert result.returncode == 1 and "chmod 600" in result.stderr
    secret.chmod(0o600)
    (tmp_path / "data" / "org_name").write_text("Harbourline\n")
    assert run(["debrief", "init"], env, tmp_path).returncode == 0
