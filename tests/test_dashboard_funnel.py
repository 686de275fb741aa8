"""The funnel's per-shard cache (themes/funnel.py) and its saved counts (funnel_counts.py) over
a real store: current, shared, robust."""

from __future__ import annotations

import datetime
import os

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from debrief.store import SHARD_SIZE, Store
from debrief.themes import funnel, funnel_counts, funnel_stats, stats


def seeded(tmp_path) -> Store:
    """Two shards of deals and invitations: sent, opened, answered (with an answer) and never-sent
    ones; deals with and without a value, a lost date and a competitor."""
    store = Store(tmp_path / "db", fsync=False)
    deals, invitations = store.table("deals"), store.table("invitations")
    for i in range(SHARD_SIZE + 10):  # ids 1..510: shard 0 and shard 1
        deal = deals.insert(
            {
                "company": f"Co {i}",
                "rep_id": 1 + i % 3,
                "value": None if i % 5 == 0 else 1000.0 * (1 + i % 7),
                "lost_on": f"2024-0{4 + i % 3}-1{i % 10}" if i % 11 else None,
                "created": "2024-05-01T09:00:00",
                "competitor": ("Initech", "initech ", None)[i % 3],
            }
        )
        status = ("created", "sent", "opened", "answered")[i % 4]
        record = {"deal_id": deal, "status": status, "created": "2024-05-01T09:00:00"}
        if status != "created":
            record["sent_at"] = f"2024-0{5 + i % 2}-02T10:00:00"
        invitations.insert(record)
        if status == "answered":
            named = "Globex" if i % 8 == 3 else None
            store.table("answers").insert({"deal_id": deal, "reason": "price", "competitor": named})
    return store


def expected(store: Store) -> tuple[list[list], list[list], list[list]]:
    """The columns worked out from every record, without the cache."""
    invitations = [r for r in store.table("invitations").all() if funnel_stats.sent_day(r)]
    deals = store.table("deals").all()
    answers = store.table("answers").all()
    return (
        [
            [r["deal_id"] for r in invitations],
            [funnel_stats.sent_day(r) for r in invitations],
            [funnel_stats.stage(r) for r in invitations],
        ],
        [
            [d["id"] for d in deals],
            [d["rep_id"] for d in deals],
            [d.get("lost_on") or d.get("created", "")[:10] for d in deals],
            [d.get("value") for d in deals],
            [d.get("competitor") for d in deals],
        ],
        [
            [a["deal_id"] for a in answers],
            [a["reason"] for a in answers],
            [a.get("competitor") for a in answers],
        ],
    )


def test_columns_match_the_records_and_follow_a_change(tmp_path):
    store = seeded(tmp_path)
    memory: dict = {}
    first = funnel.inputs(store, tmp_path, memory)
    assert first == expected(store)
    # 510 invitations, a quarter never sent; stages 0/1/2 of the sent ones in equal thirds.
    assert len(first[0][0]) == 510 - 128
    assert sorted(set(first[0][2])) == [
        funnel_stats.SENT,
        funnel_stats.OPENED,
        funnel_stats.ANSWERED,
    ]

    store.table("invitations").update(2, {"status": "answered", "answered_at": "2024-06-09"})
    after = funnel.inputs(store, tmp_path, memory)
    assert after == expected(store)
    assert after[0][2][after[0][0].index(2)] == funnel_stats.ANSWERED


def test_a_new_process_reads_the_saved_file_and_nothing_unchanged_is_saved_again(tmp_path):
    store = seeded(tmp_path)
    funnel.inputs(store, tmp_path, {})
    path = tmp_path / funnel.CACHE_FILE
    stamp = os.stat(path).st_mtime_ns, os.stat(path).st_ino
    fresh = Store(tmp_path / "db", fsync=False)  # as another process would open it
    assert funnel.inputs(fresh, tmp_path, {}) == expected(store)
    assert (os.stat(path).st_mtime_ns, os.stat(path).st_ino) == stamp


def test_a_torn_or_foreign_cache_file_is_ignored(tmp_path):
    store = seeded(tmp_path)
    path = tmp_path / funnel.CACHE_FILE
    path.parent.mkdir(parents=True)
    for junk in (b'{"format": 2, "invitations": {"0": [', b"[1, 2]", b'{"format": 1}'):
        path.write_bytes(junk)
        assert funnel.inputs(store, tmp_path, {}) == expected(store)


def test_the_dashboard_funnel_counts_equal_the_per_record_funnel(tmp_path):
    store = seeded(tmp_path)
    invitations, deals, _ = funnel.inputs(store, tmp_path, {})
    emails = {1: "a@example.test", 2: "b@example.test", 3: "c@example.test"}
    rep_of_deal = {d: emails[r] for d, r in zip(deals[0], deals[1], strict=True)}
    rows = [
        (day, rep_of_deal[deal], reached, 1)
        for deal, day, reached in zip(*invitations, strict=True)
    ]
    for filters in (stats.Filters(), stats.Filters("2024-06-01", "2024-06-30", "B@example.test")):
        assert funnel_stats.funnel_counts(rows, filters) == funnel_stats.funnel(
            store.table("invitations").all(), rep_of_deal, filters
        )


# --- the counts per month, rep and stage (themes/funnel_counts.py) ----------------------------


def recount(store: Store, start: str, end: str):
    """The counts worked out from every record, without any cache."""
    invitations, deals, _ = expected(store)
    return funnel_counts.count(invitations, deals, start, end)


def test_counts_follow_a_change_and_each_range(tmp_path):
    store = seeded(tmp_path)
    memory: dict = {}
    june = funnel_counts.sent_counts(store, tmp_path, memory, "2024-06-01", "2024-06-30")
    assert june == recount(store, "2024-06-01", "2024-06-30")
    assert {month for month, _, _ in june} == {"2024-06"}
    every = funnel_counts.sent_counts(store, tmp_path, memory, "", "\uffff")
    assert sum(every.values()) == 510 - 128
    store.table("invitations").update(1, {"status": "answered", "answered_at": "2024-06-09"})
    after = funnel_counts.sent_counts(store, tmp_path, memory, "", "\uffff")
    assert after == recount(store, "", "\uffff") != every


def test_a_new_process_uses_the_saved_counts_while_the_shards_are_unchanged(tmp_path):
    store = seeded(tmp_path)
    funnel_counts.sent_counts(store, tmp_path, {}, "2024-05-01", "2024-06-30")
    path = tmp_path / funnel_counts.CACHE_FILE
    data = orjson.loads(path.read_bytes())
    data["months"].append(["1999-01", 1, funnel_stats.SENT, 5])  # a mark no record makes
    data["bounds"]["1999-01"] = ["1999-01-05", "1999-01-05"]
    path.write_bytes(orjson.dumps(data))

    fresh = Store(tmp_path / "db", fsync=False)  # as another process would open it
    saved = funnel_counts.sent_counts(fresh, tmp_path, {}, "1999-01-01", "2024-06-30")
    assert saved[("1999-01", 1, funnel_stats.SENT)] == 5  # from the file, not counted
    fresh.table("deals").update(3, {"rep_id": 2})
    changed = funnel_counts.sent_counts(fresh, tmp_path, {}, "1999-01-01", "2024-06-30")
    assert changed == recount(fresh, "1999-01-01", "2024-06-30")
    assert ("1999-01", 1, funnel_stats.SENT) not in changed


def test_a_range_that_cuts_an_earlier_month_is_counted_and_kept(tmp_path):
    store = seeded(tmp_path)
    store.table("invitations").update(5, {"sent_at": "2024-05-20T08:00:00"})
    memory: dict = {}
    cut = funnel_counts.sent_counts(store, tmp_path, memory, "2024-05-10", "2024-06-30")
    assert cut == recount(store, "2024-05-10", "2024-06-30")
    assert sum(n for (month, _, _), n in cut.items() if month == "2024-05") == 1
    summary = memory["counts"][1]
    assert list(summary.ranges) == [("2024-05-10", "2024-06-30")]
    fresh = Store(tmp_path / "db", fsync=False)
    again = funnel_counts.sent_counts(fresh, tmp_path, {}, "2024-05-10", "2024-06-30")
    assert again == cut


DAYS = st.dates(datetime.date(2024, 1, 25), datetime.date(2024, 4, 5)).map(str)


@given(
    rows=st.lists(st.tuples(st.integers(1, 6), DAYS, st.sampled_from([0, 1, 2])), max_size=40),
    bounds=st.tuples(st.one_of(st.just(""), DAYS), st.one_of(st.just("\uffff"), DAYS)),
)
def test_the_summary_adds_up_as_a_pass_over_the_rows_would(rows, bounds):
    invitations = [list(column) for column in zip(*rows, strict=True)] if rows else []
    deals = [[1, 2, 3, 4, 5], [10, 10, 11, None, 12]]  # deal 6 is unknown: no rep
    start, end = bounds
    summary = funnel_counts.summarize(invitations, deals)
    found = funnel_counts.from_summary(summary, start, end)
    expected = funnel_counts.count(invitations, deals, start, end)
    cut = [
        month
        for month, (first, last) in summary.bounds.items()
        if not (start <= first and last <= end) and not (last < start or first > end)
    ]
    if set(cut) <= {summary.latest}:
        assert found == expected
    else:
        assert found is None  # counted by a pass instead


@pytest.mark.parametrize(
    "junk",
    [
        b'{"format": 2, "stamp": "%s", "months": [["', b"[1]", b'{"format": 2}',
        b'{"format": 2, "stamp": "%s", "months": [["2024-05", 1, "2", 1]], "bounds": {},'
        b' "latest": "", "days": [], "ranges": []}',
        b'{"format": 2, "stamp": "%s", "months": [], "bounds": {"2024-05": [1, 2]},'
        b' "latest": "", "days": [], "ranges": []}',
        b'{"format": 2, "stamp": "%s", "months": [], "bounds": {}, "latest": "",'
        b' "days": [], "ranges": [["", "z", [["2024-05", 1, 2]]]]}',
    ],
)  # fmt: skip
def test_a_torn_or_foreign_counts_file_is_ignored(tmp_path, junk):
    store = seeded(tmp_path)
    path = tmp_path / funnel_counts.CACHE_FILE
    path.parent.mkdir(parents=True)
    stamp = funnel_counts.fingerprint(funnel.stamps(store)).encode()
    path.write_bytes(junk.replace(b"%s", stamp))
    assert funnel_counts.sent_counts(store, tmp_path, {}, "", "z") == recount(store, "", "z")


# --- the deals lost and their value (funnel_counts.loss_counts) --------------------------------


def recount_losses(store: Store, start: str, end: str) -> dict:
    """(rep, reason, competitor) -> [deals, valued, value], worked out from every record."""
    answers = {a["deal_id"]: a for a in store.table("answers").all()}
    out: dict = {}
    for deal in store.table("deals").all():
        day = deal.get("lost_on") or deal["created"][:10]
        if not start <= day <= end:
            continue
        answer = answers.get(deal["id"], {})
        key = (deal["rep_id"], answer.get("reason"), answer.get("competitor") or deal["competitor"])
        tally = out.setdefault(key, [0, 0, 0.0])
        tally[0] += 1
        tally[1] += deal["value"] is not None
        tally[2] += deal["value"] or 0
    return out


def as_dict(rows: list) -> dict:
    return {tuple(row[:3]): list(row[3:]) for row in rows}


def test_loss_counts_follow_an_answer_and_each_range(tmp_path):
    store = seeded(tmp_path)
    memory: dict = {}
    june = funnel_counts.loss_counts(store, tmp_path, memory, "2024-06-01", "2024-06-30")
    assert as_dict(june) == recount_losses(store, "2024-06-01", "2024-06-30")
    every = funnel_counts.loss_counts(store, tmp_path, memory, "", "\uffff")
    assert sum(row[3] for row in every) == SHARD_SIZE + 10
    # Deals without a lost date count on the day they were recorded (May).
    assert sum(row[3] for row in june) == sum(
        1 for i in range(SHARD_SIZE + 10) if i % 3 == 2 and i % 11
    )
    store.table("answers").insert({"deal_id": 1, "reason": "trust", "competitor": "Umbrella"})
    after = funnel_counts.loss_counts(store, tmp_path, memory, "", "\uffff")
    assert as_dict(after) == recount_losses(store, "", "\uffff") != as_dict(every)


def test_a_new_process_uses_the_saved_loss_counts_while_the_shards_are_unchanged(tmp_path):
    store = seeded(tmp_path)
    funnel_counts.loss_counts(store, tmp_path, {}, "2024-05-01", "2024-06-30")
    path = tmp_path / funnel_counts.CACHE_FILE
    data = orjson.loads(path.read_bytes())
    [[start, end, rows]] = data["losses"]
    rows.append([1, "price", "Sentinel Co", 7, 7, 700.0])  # a mark no record makes
    path.write_bytes(orjson.dumps(data))

    fresh = Store(tmp_path / "db", fsync=False)  # as another process would open it
    saved = funnel_counts.loss_counts(fresh, tmp_path, {}, "2024-05-01", "2024-06-30")
    assert (1, "price", "Sentinel Co", 7, 7, 700.0) in saved  # from the file, not counted
    fresh.table("answers").insert({"deal_id": 2, "reason": "trust", "competitor": None})
    changed = funnel_counts.loss_counts(fresh, tmp_path, {}, "2024-05-01", "2024-06-30")
    assert as_dict(changed) == recount_losses(fresh, "2024-05-01", "2024-06-30")


def test_saved_loss_rows_of_another_shape_make_the_file_foreign(tmp_path):
    store = seeded(tmp_path)
    funnel_counts.loss_counts(store, tmp_path, {}, "", "z")
    path = tmp_path / funnel_counts.CACHE_FILE
    for bad in ([1, "price", None, "7", 1, 1.0], [1, "price", None, 7], [[1], None, None, 1, 1, 1]):
        data = orjson.loads(path.read_bytes())
        data["losses"][0][2].append(bad)
        path.write_bytes(orjson.dumps(data))
        assert funnel_counts._load(path) == ("", None)
        found = funnel_counts.loss_counts(store, tmp_path, {}, "", "z")
        assert as_dict(found) == recount_losses(store, "", "z")
