"""CSV import end to end: the service, `debrief deals import` and the upload page."""
# ruff: noqa: E501 - the CSV fixture keeps its lines as long as a real CRM export

import io
import re

import pytest
from conftest import csrf_token

from debrief.auth import users
from debrief.deals import imports, service
from debrief.store import get_store

# Salesforce-style headings in their own spelling; line numbers as an editor shows them.
CRM_EXPORT = """\
Opportunity ID,Account Name,Contact Name,Contact Email,Amount,Close Date,Stage,Loss Reason,Opportunity Owner,Competitor
006-1,Northwind,Nora North,nora@northwind.example.com,"12,500.00",2017-03-01,Closed Lost,Price,rep@example.test,Rival
006-2,Contoso,Carl Con,carl@contoso.example.com,$8000,3/1/2017,Closed Won,,Rita Rep,
006-3,Fabrikam,,,,3/2/2017,Closed Lost,Budget,rita rep,
006-4,,Ann Nobody,ann@example.com,100,2017-03-03,Closed Lost,Price,rep@example.test,
006-5,Tailspin,Tom Tail,not-an-email,100,2017-03-03,Closed Lost,Price,rep@example.test,
006-6,Wingtip,Wendy Wing,wendy@wingtip.example.com,1.200,2017-03-03,Lost,Price,Someone Gone,
006-7,Litware,Lee Lit,lee@litware.example.com,500,31/31/2017,Lost,Price,Someone Gone,
006-8,Proseware,Pat Pro,pat@proseware.example.com,900,2017-04-01,Lost,Lost to competitor,Someone Gone,Rival
006-1,Northwind again,,,,2017-03-01,Lost,,rep@example.test,
"""
GOOD_LINES = {2, 4, 9}  # Northwind, Fabrikam, Proseware
SKIPPED_LINES = {3}
BAD_LINES = {5, 6, 7, 8, 10}


def deals_by_company(app):
    with app.app_context():
        return {d["company"]: d for d in get_store().table("deals").all()}


def user_id(app, email):
    with app.app_context():
        return users.find_user(get_store(), email)["id"]


def import_text(app, text, importer="boss@example.test"):
    with app.app_context():
        store = get_store()
        return imports.import_csv(
            store, io.StringIO(text, newline=""), users.find_user(store, importer)
        )


def test_good_rows_are_imported_and_every_other_row_reported_by_line(app):
    summary = import_text(app, CRM_EXPORT)
    assert summary.imported == len(GOOD_LINES)
    assert {s.line for s in summary.skipped} == SKIPPED_LINES
    assert {p.line for p in summary.problems} == BAD_LINES
    reasons = {p.line: p.reason for p in summary.problems}
    assert reasons[5] == "company is missing"
    assert "not-an-email" in reasons[6]
    assert "unclear" in reasons[7]
    assert "31/31/2017" in reasons[8]
    assert "line 2" in reasons[10]  # the same CRM id twice in one file

    deals = deals_by_company(app)
    assert set(deals) == {"Northwind", "Fabrikam", "Proseware"}
    north = deals["Northwind"]
    assert north["value"] == 12500.0 and north["lost_on"] == "2017-03-01"
    assert north["rep_reason"] == "price" and north["competitor"] == "Rival"
    assert north["crm_id"] == "006-1" and north["source"] == "csv"
    assert deals["Fabrikam"]["lost_on"] == "2017-03-02"  # US month/day
    assert deals["Fabrikam"]["rep_reason"] == "timing"
    assert "Lost to competitor" in deals["Proseware"]["notes"]


def test_owners_match_by_email_then_by_name_else_the_importer_gets_the_deal(app):
    summary = import_text(app, CRM_EXPORT)
    deals = deals_by_company(app)
    rita = user_id(app, "rep@example.test")
    assert deals["Northwind"]["rep_id"] == rita  # by email
    assert deals["Fabrikam"]["rep_id"] == rita  # by name, any case
    assert deals["Northwind"]["owner_text"] is None
    proseware = deals["Proseware"]
    assert proseware["rep_id"] == user_id(app, "boss@example.test")
    assert proseware["owner_text"] == "Someone Gone"
    assert summary.unmatched == {"Someone Gone": 1}
    assert summary.unmatched_count == 1


def test_a_row_without_contact_email_is_imported_as_no_contact(app):
    summary = import_text(app, CRM_EXPORT)
    assert summary.no_contact == 1
    assert deals_by_company(app)["Fabrikam"]["contact_email"] is None
    with app.app_context():
        rita = users.find_user(get_store(), "rep@example.test")
        rows = service.visible_deals(get_store(), rita, status="no-contact")
    assert [r["deal"]["company"] for r in rows] == ["Fabrikam"]


def test_importing_again_changes_nothing(app):
    import_text(app, CRM_EXPORT)
    before = deals_by_company(app)
    again = import_text(app, CRM_EXPORT)
    assert again.imported == 0
    assert sorted(line for line, _ in again.already) == sorted(GOOD_LINES)
    assert deals_by_company(app) == before


def test_ten_thousand_rows_import_in_one_go(app):
    header = "Deal ID,Company,Email,Value,Close Date,Stage,Owner\n"
    rows = "".join(
        f"D{n},Company {n},buyer{n}@firm{n % 97}.example.com,{n},2023-01-{n % 28 + 1:02d},"
        f"{'Won' if n % 10 == 0 else 'Lost'},{'rep@example.test' if n % 2 else 'Otto Other'}\n"
        for n in range(10_000)
    )
    summary = import_text(app, header + rows)
    assert summary.imported == 9_000 and len(summary.skipped) == 1_000
    assert summary.problems == [] and summary.unmatched == {}
    with app.app_context():
        deals = get_store().table("deals")
        assert deals.count() == 9_000
        assert deals.find_one("crm_id", "d9999")["company"] == "Company 9999"
    again = import_text(app, header + rows)
    assert again.imported == 0 and len(again.already) == 9_000


def write(tmp_path, text, name="export.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_the_command_imports_lists_bad_lines_and_fails_when_some_need_fixing(app, runner, tmp_path):
    result = runner.invoke(args=["deals", "import", str(write(tmp_path, CRM_EXPORT))])
    assert result.exit_code == 1
    out = result.output
    assert "Imported: 3 lost deal(s), 1 without a contact email" in out
    assert "Skipped (not lost): 1" in out and "Problems (not imported): 5" in out
    assert "Owner matched no account: 1 deal(s), given to boss@example.test" in out
    for line in BAD_LINES:
        assert re.search(rf"^line {line}: problem: ", out, re.M), line
    assert "line 3: skipped: stage is 'Closed Won', not lost" in out
    again = runner.invoke(args=["deals", "import", str(write(tmp_path, CRM_EXPORT))])
    assert "Imported: 0" in again.output and "Already in Debrief (same CRM id): 3" in again.output
    assert len(deals_by_company(app)) == 3


def test_the_command_gives_unmatched_deals_to_the_account_named_with_as(app, runner, tmp_path):
    text = "Company,Owner,Email\nSolo,Nobody Here,solo@solo.example.com\n"
    result = runner.invoke(
        args=["deals", "import", "--as", "other@example.test", str(write(tmp_path, text))]
    )
    assert result.exit_code == 0, result.output
    assert deals_by_company(app)["Solo"]["rep_id"] == user_id(app, "other@example.test")
    bad = runner.invoke(args=["deals", "import", "--as", "nobody@x.test", str(tmp_path / "x")])
    assert bad.exit_code == 2


def test_the_command_shows_progress_and_the_service_reports_every_line(app, runner, tmp_path):
    text = "Company\n" + "".join(f"Firm {n}\n" for n in range(2_000))
    result = runner.invoke(args=["deals", "import", str(write(tmp_path, text))])
    assert result.exit_code == 0
    assert "Importing" in result.stderr  # the bar (drawn in full on a terminal)
    assert "Imported: 2000" in result.stdout
    seen = []
    with app.app_context():
        store = get_store()
        boss = users.find_user(store, "boss@example.test")
        imports.import_csv(store, io.StringIO(text), boss, on_row=seen.append)
    assert seen == list(range(2, 2_002))


def test_the_command_reads_a_file_that_cannot_seek_such_as_a_pipe(app, runner, tmp_path):
    """`debrief deals import /dev/stdin < export.csv`, `<(zcat export.csv.gz)`: a pipe."""
    import os
    import threading

    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    text = "Company\n" + "".join(f"Piped {n}\n" for n in range(3))
    threading.Thread(target=fifo.write_text, args=(text,), daemon=True).start()
    results = []  # in a thread: a command that opens the pipe twice waits forever for a writer
    command = threading.Thread(
        target=lambda: results.append(runner.invoke(args=["deals", "import", str(fifo)])),
        daemon=True,
    )
    command.start()
    command.join(timeout=30)
    assert results, "the command read the pipe twice and hung"
    result = results[0]
    assert result.exit_code == 0, result.output
    assert "Imported: 3" in result.stdout
    assert set(deals_by_company(app)) == {"Piped 0", "Piped 1", "Piped 2"}


def upload(client, content: bytes, name="export.csv"):
    token = csrf_token(client, "/deals/import")
    return client.post(
        "/deals/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_the_upload_page_imports_and_shows_every_bad_line(app, client, auth):
    auth.login("boss@example.test")
    response = upload(client, CRM_EXPORT.encode())
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<strong>3</strong> lost deals imported" in html
    for line in BAD_LINES | SKIPPED_LINES:
        assert f"<tr><td>{line}</td>" in html
    assert "Someone Gone: 1" in html
    assert "not-an-email" in html
    # The unmatched owner's deal is the uploader's own; Northwind is the rep's it names.
    deals = deals_by_company(app)
    assert deals["Proseware"]["rep_id"] == user_id(app, "boss@example.test")
    assert deals["Northwind"]["rep_id"] == user_id(app, "rep@example.test")


def test_a_reps_upload_gives_every_row_to_that_rep_whatever_the_owner_column_says(
    app, client, auth
):
    """A rep could otherwise plant deals in another rep's list (issue 12)."""
    export = (
        "Account,Owner,Contact Email\n"
        "Planted,other@example.test,p@planted.example.com\n"
        "Boss's,boss@example.test,\n"
        "Nobody's,Someone Gone,\n"
    )
    auth.login("rep@example.test")
    html = upload(client, export.encode()).get_data(as_text=True)
    assert "<strong>3</strong> lost deals imported" in html
    assert "Every imported deal is yours" in html
    rep = user_id(app, "rep@example.test")
    deals = deals_by_company(app)
    assert {name: d["rep_id"] for name, d in deals.items()} == dict.fromkeys(deals, rep)
    assert all(d["owner_text"] is None for d in deals.values())
    auth.logout()
    auth.login("other@example.test")
    assert "Planted" not in client.get("/deals").get_data(as_text=True)


def test_the_upload_page_explains_a_file_that_is_not_utf8_and_escapes_cells(app, client, auth):
    auth.login()
    latin = "Company,Email\nCafé Crème,<script>@x\n".encode("latin-1")
    html = upload(client, latin).get_data(as_text=True)
    assert "not UTF-8" in html
    evil = b"Company,Email\nEvil,<script>alert(1)</script>\n"
    html = upload(client, evil).get_data(as_text=True)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert deals_by_company(app) == {}


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [(None, None, "Choose a .csv file"), (b"Company\nX\n", "deals.exe", "Upload a .csv file")],
)
def test_the_upload_page_refuses_a_missing_or_wrong_file(app, client, auth, content, name, message):
    auth.login()
    token = csrf_token(client, "/deals/import")
    data = {"csrf_token": token}
    if content is not None:
        data["file"] = (io.BytesIO(content), name)
    response = client.post("/deals/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert deals_by_company(app) == {}


# --- bounded imports: DEBRIEF_IMPORT_MAX_ROWS -------------------------------------------------------


def one_column_rows(count: int) -> bytes:
    """A file like the one of issue 13: a company column and `count` one-cell rows."""
    return b"Company\n" + b"".join(b"C%d\n" % i for i in range(count))


def versions(app) -> dict:
    with app.app_context():
        store = get_store()
        return {name: store.table(name).version() for name in ("deals", "imports")}


@pytest.fixture
def small_limit(app):
    app.config["IMPORT_MAX_ROWS"] = 20
    return 20


@pytest.mark.parametrize("who", ["rep@example.test", "boss@example.test"])
def test_an_upload_over_the_row_limit_is_refused_whole(app, client, auth, small_limit, who):
    auth.login(who)
    before = versions(app)
    html = upload(client, one_column_rows(small_limit + 1)).get_data(as_text=True)
    assert "more than 20 rows" in html and "split the file" in html
    assert 'id="file-error"' in html
    assert versions(app) == before and deals_by_company(app) == {}
    html = upload(client, one_column_rows(small_limit)).get_data(as_text=True)
    assert f"<strong>{small_limit}</strong> lost deals imported" in html


def test_the_command_refuses_a_file_over_the_row_limit(app, runner, tmp_path, small_limit):
    before = versions(app)
    path = tmp_path / "big.csv"
    path.write_bytes(one_column_rows(small_limit + 1))
    result = runner.invoke(args=["deals", "import", str(path)])
    assert result.exit_code == 1
    assert "more than 20 rows" in result.output and "split the file" in result.output
    assert versions(app) == before


def test_blank_lines_and_quoted_line_breaks_are_not_rows(app, small_limit):
    text = "Company,Notes\n" + "\n\n".join(f'C{i},"a\nb"' for i in range(small_limit)) + "\n\n"
    assert import_text(app, text).imported == small_limit


def test_a_file_one_row_over_the_default_limit_is_refused_quickly_with_nothing_stored(
    app, client, auth
):
    import time

    assert app.config["IMPORT_MAX_ROWS"] == 50_000  # the default of DEBRIEF_IMPORT_MAX_ROWS
    auth.login()
    before = versions(app)
    started = time.perf_counter()
    html = upload(client, one_column_rows(50_001)).get_data(as_text=True)
    elapsed = time.perf_counter() - started
    assert "more than 50,000 rows" in html
    assert versions(app) == before
    assert elapsed < 5, f"refusing took {elapsed:.1f} s"  # the 2.5M-row file took 58 s to store
