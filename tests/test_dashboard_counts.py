"""The dashboard's entry counts saved for the next process (themes/entry_counts.py): reused
while they apply, added to, and ignored when stale, torn or foreign."""

from __future__ import annotations

import datetime
from collections import Counter
from pathlib import Path

import orjson
import pytest
from conftest import app_settings

from debrief import create_app, entries
from debrief.index import entry_counts, get_kb
from debrief.kb import service as kb
from debrief.store import get_store
from debrief.themes import dashboard as board
from debrief.themes import stats

REP = "rep@example.test"
TODAY = datetime.date.today()


def publish(app, title: str, **fields) -> entries.Entry:
    """A debrief written through the app's publishing path."""
    values = {"kind": "debrief", "date": TODAY, "rep": REP, **fields}
    with app.app_context():
        return kb.publish(entries.Entry(title=title, body="Why we lost.", **values))


def dashboard(app) -> board.Dashboard:
    """The dashboard with the default filters, computed (not from the per-app cache)."""
    with app.app_context():
        filters = board.default_filters(None, None, None, TODAY)
        return board.compute(get_store(), filters)


def saved_file(app) -> Path:
    return Path(app.config["DATA_DIR"]) / entry_counts.CACHE_FILE


def from_scratch(tmp_path) -> board.Dashboard:
    """What a new app computes with no saved counts."""
    app = create_app(app_settings(tmp_path))
    saved_file(app).unlink(missing_ok=True)
    return dashboard(app)


def add_sentinel(path: Path) -> None:
    """Mark the saved counts with a competitor no entry names: shows whether they were used."""
    data = orjson.loads(path.read_bytes())
    for item in data["counts"]:
        item["competitors"].append(["sentinel-co", 7])
    path.write_bytes(orjson.dumps(data))


@pytest.fixture
def seeded(app):
    publish(app, "Price", prospect_reasons=["price"], rep_reasons=["price"], themes=["cost"])
    publish(app, "Differ", prospect_reasons=["trust", "price"], rep_reasons=["price"],
            competitor="Initech", themes=["cost", "speed"])  # fmt: skip
    publish(app, "Old", date=TODAY - datetime.timedelta(days=90), competitor="Initech")
    return app


def test_a_new_app_adds_the_entries_since_onto_the_saved_counts(seeded, tmp_path):
    first = dashboard(seeded)
    assert first.entries == 3
    path = saved_file(seeded)
    assert list(entry_counts.load(path)) == [(first.filters.date_from, first.filters.date_to, None)]
    publish(seeded, "Later", prospect_reasons=["speed"], competitor="Globex", themes=["speed"])

    restarted = dashboard(create_app(app_settings(tmp_path)))
    assert restarted.entries == 4
    assert dict(restarted.competitors) == {"initech": 2, "globex": 1}
    assert restarted == from_scratch(tmp_path)

    dashboard(create_app(app_settings(tmp_path)))  # saves the full count again
    add_sentinel(path)
    marked = dashboard(create_app(app_settings(tmp_path)))
    assert dict(marked.competitors)["sentinel-co"] == 7  # the saved counts were the base


def test_saved_counts_are_not_used_after_an_update(seeded, tmp_path):
    dashboard(seeded)
    add_sentinel(saved_file(seeded))
    with seeded.app_context():
        old = next(e for e in get_kb().facts() if e["competitor"] is None)
        entry = kb.load(old["slug"])
        entry.competitor = "Globex"
        kb.update(entry)
    restarted = dashboard(create_app(app_settings(tmp_path)))
    assert "sentinel-co" not in dict(restarted.competitors)
    assert restarted == from_scratch(tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b'{"format": 1, "counts": [{"key": ["a"',  # torn
        b"[1, 2, 3]",
        b'{"format": 99, "counts": []}',
    ],
)
def test_a_torn_or_foreign_file_is_ignored(seeded, tmp_path, content):
    dashboard(seeded)
    path = saved_file(seeded)
    path.write_bytes(content)
    assert entry_counts.load(path) == {}
    assert dashboard(create_app(app_settings(tmp_path))) == from_scratch(tmp_path)


@pytest.mark.parametrize(
    ("name", "row"),
    [
        ("themes", ["2024-05", 3, 0, 1]),  # themes not text
        ("themes", ["2024-05", "cost", 1]),  # a part missing
        ("mains", [None, "price", "trust", "1"]),  # count not an int
        ("buyer", [["price"], 1]),  # key not text
        ("competitors", [None, True]),
    ],
)
def test_rows_of_another_shape_make_the_file_foreign(seeded, tmp_path, name, row):
    dashboard(seeded)
    path = saved_file(seeded)
    data = orjson.loads(path.read_bytes())
    data["counts"][0][name].append(row)
    path.write_bytes(orjson.dumps(data))
    assert entry_counts.load(path) == {}
    assert dashboard(create_app(app_settings(tmp_path))).entries == 3


def test_counts_survive_the_round_trip():
    counts = entry_counts.EntryCounts(
        generation="g1", top=9, count=8, reps=["a@example.test"],
        themes=Counter({("2024-05", "cost,speed", 2): 3, ("2024-06", None, 0): 1}),
        buyer=Counter({"price,trust": 2, None: 1}), logged=Counter({"price": 3}),
        mains=Counter({("a@example.test", "price", "price"): 2, (None, "", ""): 1}),
        competitors=Counter({"initech": 2, None: 1}), entries=3,
    )  # fmt: skip
    assert entry_counts.from_json(orjson.loads(orjson.dumps(entry_counts.to_json(counts)))) == (
        counts
    )


# --- moving an earlier day's counts to a later one (themes/counting.py) ------------------------

D1, D2 = datetime.date(2026, 3, 5), datetime.date(2026, 3, 19)


def dashboard_on(app, day: datetime.date) -> board.Dashboard:
    """The dashboard with the default filters of a given day (what that day's first view shows)."""
    with app.app_context():
        return board.compute(get_store(), board.default_filters(None, None, None, day))


def scratch_on(tmp_path, day: datetime.date) -> board.Dashboard:
    app = create_app(app_settings(tmp_path))
    saved_file(app).unlink(missing_ok=True)
    return dashboard_on(app, day)


@pytest.fixture
def bounds(app):
    """Entries on and beside every trend bound of D1 and D2, and on the days between them."""
    days = {D1 + datetime.timedelta(days=i) for i in range(-1, 16)}
    for end in (D1, D2):
        for mark in stats.trend_marks(end):
            bound = datetime.date.fromisoformat(mark)
            days |= {bound + datetime.timedelta(days=i) for i in (-1, 0, 1)}
    for i, day in enumerate(sorted(days)):
        publish(app, f"Around {day}", date=day, themes=["cost", "speed"][: 1 + i % 2],
                prospect_reasons=[["price"], ["trust", "price"]][i % 2],
                rep_reasons=["price"], competitor=["Initech", None][i % 2])  # fmt: skip
        if i % 3 == 0:
            publish(app, f"Lesson {day}", kind="lesson", date=day, themes=["speed"])
    return app


def test_the_counts_of_an_earlier_day_move_to_a_later_one(bounds, tmp_path):
    dashboard_on(bounds, D1)
    publish(bounds, "Added since", date=D2 - datetime.timedelta(days=2), themes=["cost"],
            prospect_reasons=["speed"], competitor="Globex")  # fmt: skip
    moved = dashboard_on(create_app(app_settings(tmp_path)), D2)
    assert moved == scratch_on(tmp_path, D2)
    assert any(t.theme == "cost" for t in moved.trends)

    dashboard_on(create_app(app_settings(tmp_path)), D1)
    add_sentinel(saved_file(bounds))
    marked = dashboard_on(create_app(app_settings(tmp_path)), D2)
    assert dict(marked.competitors)["sentinel-co"] == 7  # D1's saved counts were the base


@pytest.mark.parametrize(
    ("first", "later"),
    [
        (datetime.date(2026, 2, 26), datetime.date(2026, 3, 2)),  # another month
        (D2, D1),  # an earlier day
    ],
)
def test_counts_are_not_moved_across_a_month_or_back(bounds, tmp_path, first, later):
    dashboard_on(bounds, first)
    add_sentinel(saved_file(bounds))
    again = dashboard_on(create_app(app_settings(tmp_path)), later)
    assert "sentinel-co" not in dict(again.competitors)
    assert again == scratch_on(tmp_path, later)


def test_counts_are_not_moved_over_a_deletion(bounds, tmp_path):
    dashboard_on(bounds, D1)
    add_sentinel(saved_file(bounds))
    with bounds.app_context():
        old = next(e for e in get_kb().facts() if e["competitor"] == "initech")
        entry = kb.load(old["slug"])
        entry.competitor = "Globex"
        kb.update(entry)
    again = dashboard_on(create_app(app_settings(tmp_path)), D2)
    assert "sentinel-co" not in dict(again.competitors)
    assert again == scratch_on(tmp_path, D2)
