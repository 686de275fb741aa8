"""Entries owed by answers: an answer stored, but its entry file cut off by a kill or refused by
the entries folder, is written exactly once under the slug it holds, at the next app start, by
the index's periodic full sync, and by `debrief init`, `kb reindex` and `invites remind`.
(A hundred real kills: tests/test_faults.py; full and read-only folders: tests/test_faults.py.)
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest
from conftest import app_settings
from test_survey import answer_data, invite, make_deal

import debrief.index.staleness
from debrief import create_app, entries
from debrief.index import get_kb
from debrief.kb import service as kb
from debrief.store import get_store
from debrief.survey import repair


def answers(app) -> list[dict]:
    with app.app_context():
        return get_store().table("answers").all()


def files_of(app, answer: dict) -> list[Path]:
    """Every entry file that holds this answer's debrief (a debrief with the buyer's words)."""
    found = []
    for item in entries.iter_entries(Path(app.config["ENTRIES_DIR"])):
        if isinstance(item, entries.EntryError) or item.kind != "debrief":
            continue
        if answer["own_words"] in item.body:
            found.append(item.path)
    return found


def answered(app, client, n: int = 1) -> list[dict]:
    """n buyers answer through the site (each in their own words); their stored answers."""
    for _ in range(n):
        _, token = invite(app, make_deal(app))
        words = f"Buyer {token[:10]} saw a better demo."
        data = answer_data(client, token, own_words=words)
        assert client.post(f"/s/{token}", data=data).status_code == 302
    return answers(app)


def cut_off(app, answer: dict, link_open: bool = False) -> None:
    """The state a kill leaves: the answer stored with its slug, its file never written (and so
    never indexed); with link_open, killed before the link was closed too."""
    with app.app_context():
        [path] = files_of(app, answer)
        path.unlink()
        get_kb().sync()
        if link_open:
            get_store().table("invitations").update(answer["invitation_id"], {"status": "opened"})


def restart(app):
    """A new process over the same folders (its start repairs)."""
    return create_app(app_settings(Path(app.config["DATA_DIR"]).parent))


@pytest.mark.parametrize("link_open", [False, True])
def test_an_entry_a_kill_cut_off_is_written_at_the_next_start_under_its_slug(
    app, client, link_open
):
    [answer] = answered(app, client)
    cut_off(app, answer, link_open)
    assert files_of(app, answer) == []
    again = restart(app)
    [path] = files_of(again, answer)
    assert path.stem == answer["entry_slug"]  # links to it hold
    assert entries.read_entry(path).date.isoformat() == answer["entry_slug"][:10]
    with again.app_context():
        store = get_store()
        assert store.table("invitations").get(answer["invitation_id"])["status"] == "answered"
        assert get_kb().index.path_of(answer["entry_slug"]) == path  # searchable at once
    restart(again)
    assert files_of(app, answer) == [path]  # exactly once, however often it runs


def test_a_buyer_back_after_a_cut_off_answer_is_told_received_and_the_entry_is_written(app, client):
    [answer] = answered(app, client)
    cut_off(app, answer, link_open=True)
    token = invite(app, {"id": answer["deal_id"]})[1]  # the buyer's link (a fresh token for it)
    response = client.post(f"/s/{token}", data=answer_data(client, token))
    assert response.status_code == 200
    assert "already received" in response.get_data(as_text=True).lower()
    assert len(answers(app)) == 1
    [path] = files_of(app, answer)
    assert path.stem == answer["entry_slug"]
    with app.app_context():
        invitation = get_store().table("invitations").get(answer["invitation_id"])
    assert invitation["status"] == "answered"


def test_a_name_another_entry_took_meanwhile_gets_the_next_free_one_once(app, client):
    [answer] = answered(app, client)
    cut_off(app, answer)
    entries_dir = Path(app.config["ENTRIES_DIR"])
    # As if another writer took the free name after the kill: a lesson with the same stem.
    other = entries.Entry(kind="lesson", title="Other", date=datetime.date.today())
    with app.app_context():
        taken = kb.publish(other)
    (entries_dir / taken.path.relative_to(entries_dir)).rename(
        taken.path.with_name(f"{answer['entry_slug']}.md")
    )
    for _ in range(2):
        with app.app_context():
            done = repair.repair_owed_entries(get_store())
    [path] = files_of(app, answer)
    assert path.stem == f"{answer['entry_slug']}-2"
    [stored] = answers(app)
    assert stored["entry_slug"] == path.stem and done.written == 0
    assert entries.read_entry(entries_dir / path.parent / f"{answer['entry_slug']}.md").kind == (
        "lesson"
    )


@pytest.mark.parametrize(
    ("args", "code"), [(["init"], 0), (["kb", "reindex"], 0), (["invites", "remind"], 0)]
)
def test_init_reindex_and_remind_write_what_is_owed(app, client, runner, args, code):
    [answer] = answered(app, client)
    cut_off(app, answer)
    result = runner.invoke(args=args)
    assert result.exit_code == code, result.output
    assert "Entries owed by answers: 1 written." in result.output
    [path] = files_of(app, answer)
    assert path.stem == answer["entry_slug"]
    assert "Entries owed by answers: 0 written." in runner.invoke(args=args).output


def test_the_periodic_full_sync_writes_what_is_owed(app, client, auth, monkeypatch):
    [answer] = answered(app, client)
    cut_off(app, answer)
    monkeypatch.setattr(debrief.index.staleness, "FULL_SYNC_EVERY", 0.0)
    auth.login()
    deadline = time.monotonic() + 10
    while not files_of(app, answer) and time.monotonic() < deadline:
        assert client.get("/kb?q=demo").status_code == 200  # each search may start the sync
        time.sleep(0.05)
    [path] = files_of(app, answer)
    assert path.stem == answer["entry_slug"]


def test_a_start_looks_at_the_newest_answers_only_and_commands_at_all(
    app, client, runner, monkeypatch
):
    first, second, third = answered(app, client, 3)
    for answer in (first, second, third):
        cut_off(app, answer)
    monkeypatch.setattr(repair, "REPAIR_LOOKS_AT", 2)
    again = restart(app)
    assert [len(files_of(again, a)) for a in (first, second, third)] == [0, 1, 1]
    with again.app_context():  # no checkpoint moved past the one not looked at
        assert repair.repair_owed_entries(get_store(), limit=2).checked == 2
    result = runner.invoke(args=["invites", "remind"])
    assert "Entries owed by answers: 1 written." in result.output
    assert [len(files_of(again, a)) for a in (first, second, third)] == [1, 1, 1]
    with again.app_context():  # all checked: the next runs look at nothing older
        assert repair.repair_owed_entries(get_store()).checked == 0
    [fourth] = [a for a in answered(app, client) if a["id"] > third["id"]]
    cut_off(app, fourth)
    with again.app_context():
        done = repair.repair_owed_entries(get_store(), limit=2)
    assert (done.checked, done.written) == (1, 1) and len(files_of(app, fourth)) == 1


def test_a_start_with_no_answers_creates_no_table(tmp_path):
    restart_app = create_app(app_settings(tmp_path))
    db = Path(restart_app.config["DATA_DIR"]) / "db"
    assert not (db / "answers").exists() and not (db / "checkpoints").exists()


@pytest.mark.parametrize("same_words", [True, False], ids=["its-own", "another-buyers"])
def test_a_debrief_without_a_deal_in_its_header_is_told_apart_by_its_words(app, client, same_words):
    [answer] = answered(app, client)
    [path] = files_of(app, answer)
    # A debrief header naming no deal (as an anonymous one may): only its words tell whose it is.
    text = "\n".join(line for line in path.read_text().split("\n") if not line.startswith("Deal:"))
    if not same_words:
        text = text.replace(answer["own_words"], "Somebody else's words.")
    cut_off(app, answer)
    path.write_text(text)
    with app.app_context():
        done = repair.repair_owed_entries(get_store())
    assert done.written == (0 if same_words else 1)
    found = files_of(app, answer)
    assert [p.stem for p in found] == [answer["entry_slug"] if same_words else f"{path.stem}-2"]
