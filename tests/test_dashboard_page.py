"""The dashboard page: its headline row, the value lost by reason and by competitor, one scale
for the small multiples, months with their year, tables a keyboard can scroll, one menu item."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest

from debrief import entries
from debrief.kb import service as kb
from debrief.store import get_store
from debrief.themes import charts

TODAY = datetime.date.today()
DAY = TODAY.isoformat()


def publish(app, title: str, **fields) -> None:
    with app.app_context():
        kb.publish(entries.Entry(title=title, body="Why we lost.", date=TODAY, **fields))


@pytest.fixture
def manager(client, auth):
    auth.login("boss@example.test")
    return client


@pytest.fixture
def losses(app):
    """Five deals lost today (one of them without a value, one of another rep), four invitations
    sent (three answered), two debriefs (rep and buyer agree on one), and one deal lost long ago.

    Worked out: deals lost 5; value 20,000 + 10,000 + 5,000 + 2,500 = 37,500 and one without;
    response rate 3 of 4 = 75%; agreement 1 of 2 = 50%.
    By the buyer's reason: price 20,000 + no value (2 deals), trust 10,000; no answer 7,500.
    By competitor: Initech 20,000 + 5,000 (typed "initech" once), Globex 10,000, none 2,500.
    """
    with app.app_context():
        store = get_store()
        rep = store.table("users").find_one("email", "rep@example.test")["id"]
        other = store.table("users").find_one("email", "other@example.test")["id"]
        rows = [  # company, rep, value, competitor (rep's), sent, buyer's reason, buyer's vendor
            ("Acme", rep, 20000.0, "Initech", True, "price", None),
            ("Globex buyer", rep, 10000.0, None, True, "trust", "Globex"),
            ("No value", rep, None, "Initech", True, "price", "Initech"),
            ("Pending", other, 5000.0, "initech", True, None, None),
            ("Quiet", other, 2500.0, None, False, None, None),
        ]
        for company, owner, value, competitor, sent, reason, vendor in rows:
            deal = store.table("deals").insert(
                {"company": company, "rep_id": owner, "value": value, "lost_on": DAY,
                 "competitor": competitor, "contact_email": "b@x.test"}
            )  # fmt: skip
            if sent:
                status = "answered" if reason else "sent"
                store.table("invitations").insert(
                    {"deal_id": deal, "status": status, "sent_at": DAY + "T09:00:00"}
                )
            if reason:
                store.table("answers").insert(
                    {"deal_id": deal, "reason": reason, "competitor": vendor}
                )
        store.table("deals").insert(
            {"company": "Long ago", "rep_id": rep, "value": 99999.0, "lost_on": "2001-01-01"}
        )
    publish(app, "Agree", kind="debrief", rep="rep@example.test", prospect_reasons=["price"],
            rep_reasons=["price"], themes=["cost"])  # fmt: skip
    publish(app, "Differ", kind="debrief", rep="rep@example.test", prospect_reasons=["trust"],
            rep_reasons=["price"], themes=["cost"])  # fmt: skip
    return app


def headline(html: str) -> dict[str, str]:
    """The headline row: label -> figure and note."""
    block = re.search(r'<dl class="headline">(.*?)</dl>', html, re.S).group(1)
    items = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block, re.S)
    return {label: " ".join(re.sub(r"<[^>]+>", " ", dd).split()) for label, dd in items}


def test_the_headline_row_shows_the_periods_figures(manager, losses):
    html = manager.get("/dashboard").get_data(as_text=True)
    assert headline(html) == {
        "Deals lost": "5",
        "Value lost": "37,500 1 deal without a value, not in this sum",
        "Response rate": "75% 3 of 4 invitations answered",
        "Rep/buyer agreement": "50% same main reason on 1 of 2 debriefs",
    }


def test_the_headline_follows_the_rep_filter(manager, losses):
    html = manager.get("/dashboard?rep=other@example.test").get_data(as_text=True)
    assert headline(html)["Deals lost"] == "2"
    assert headline(html)["Value lost"].startswith("7,500 every deal has a value")


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=garbage", "from", "Not a valid date value."),
        ("to=2024-02-30", "to", "Not a valid date value."),
        ("from=2024-05-01&to=2024-01-01", "to", "Choose a date after “From”."),
        ("from=0001-01-01", "from", "Choose a date between 2000-01-01 and 2100-12-31."),
        ("rep=nobody@example.test", "rep", "Not a valid choice."),
        ("rep=" + "x" * 5000, "rep", "Not a valid choice."),
    ],
    ids=["not-a-date", "no-such-day", "to-before-from", "out-of-range", "no-such-rep", "long"],
)
def test_a_bad_filter_is_400_says_why_and_the_page_uses_its_default(
    manager, losses, query, field, message
):
    """A filter typed or kept in a bookmark: its message beside it, the dashboard still drawn."""
    response = manager.get(f"/dashboard?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'<p class="error" id="{field}-error">{message}</p>' in html
    assert headline(html)["Deals lost"] == "5"  # the default period, every rep


def table_rows(html: str, caption: str) -> list[list[str]]:
    table = re.search(rf"<caption[^>]*>{re.escape(caption)}</caption>(.*?)</table>", html, re.S)
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]
    return [[" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in row] for row in cells]


def test_value_lost_by_the_buyers_reason_and_by_competitor(manager, losses):
    html = manager.get("/dashboard").get_data(as_text=True).replace("&#39;", "'")
    assert table_rows(html, "Value lost by the buyer's main reason")[1:] == [
        ["Price", "2", "1", "20,000"],
        ["Trust", "1", "0", "10,000"],
        ["No answer from the buyer", "2", "0", "7,500"],
    ]
    assert table_rows(html, "Value lost by competitor")[1:] == [
        ["Initech", "3", "1", "25,000"],
        ["Globex", "1", "0", "10,000"],
        ["None named", "1", "0", "2,500"],
    ]
    text = manager.get("/dashboard/value-by-competitor.csv").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(text)))[1] == ["Initech", "3", "1", "25000.0"]


def test_small_multiples_share_one_scale_on_the_page(manager, losses, app):
    for i in range(2):  # "speed": 2 entries this month; "cost": the 2 debriefs above
        publish(app, f"Speed {i}", kind="lesson", themes=["speed"])
    publish(app, "Speed 3", kind="lesson", themes=["speed"])
    html = manager.get("/dashboard").get_data(as_text=True)
    svgs = dict(re.findall(r'<title id="chart-theme-\d+-t">(\w+) per month</title>(.*?)</svg>',
                           html, re.S))  # fmt: skip
    height = {
        theme: max(float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg))
        for theme, svg in svgs.items()
    }
    assert height["cost"] == pytest.approx(height["speed"] * 2 / 3, rel=0.01)
    assert "a full column is 3 entries in a month" in html


def test_months_read_with_their_year_on_the_page(manager, losses):
    html = manager.get("/dashboard").get_data(as_text=True)
    this_month = charts.month_label(DAY[:7])
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{4}", this_month)
    assert f'<th scope="col" class="num">{this_month}</th>' in html
    assert f"<td>{this_month}</td>" in html  # the funnel per month
    assert f"{this_month[:3]} {DAY[2:4]}<" not in html


def test_every_table_is_in_a_labelled_region_a_keyboard_can_scroll(manager, losses):
    html = manager.get("/dashboard").get_data(as_text=True)
    tables = html.count("<table")
    regions = re.findall(r'<div class="table-wrap[^"]*" role="region" aria-label="[^"]+" '
                         r'tabindex="0"><table', html)  # fmt: skip
    assert tables == len(regions) >= 9


@pytest.mark.parametrize(
    ("url", "current"),
    [
        ("/dashboard", "Dashboard"),
        ("/dashboard/cell?rep_reason=price&buyer_reason=trust", "Dashboard"),
        ("/themes", "Themes"),
        ("/themes/suggestions", "Themes"),
        ("/deals", "Deals"),
        ("/kb", "Knowledge base"),
    ],
)
def test_the_menu_marks_exactly_one_current_item(manager, losses, url, current):
    html = manager.get(url).get_data(as_text=True)
    nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)
    marked = re.findall(r'aria-current="page">([^<]+)</a>', nav)
    assert marked == [current]


def test_competitors_lost_to_are_named_as_people_wrote_them(app, manager):
    """The entries keep a competitor's slug; the dashboard shows the name from deals and answers."""
    with app.app_context():
        store = get_store()
        rep = store.table("users").find_one("email", "rep@example.test")["id"]
        store.table("deals").insert(
            {"company": "Zed", "rep_id": rep, "lost_on": DAY, "competitor": "Rivalry CRM"}
        )
    publish(app, "Lost to Rivalry", kind="debrief", rep="rep@example.test",
            competitor="rivalry-crm", prospect_reasons=["price"])  # fmt: skip
    html = manager.get("/dashboard").get_data(as_text=True)
    section = html.split('id="competitors-h"', 1)[1].split("</section>", 1)[0]
    assert "Rivalry CRM" in section
    assert "rivalry-crm" not in section
