"""CSV import reader: CRM headings, dates, amounts, stages, reasons and exact line numbers."""

import io
import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from debrief.deals.csvimport import FIELD_HEADERS, HEADER_ALIASES, NOT_UTF8, read_rows
from debrief.deals.csvrow import Row, RowProblem, Skipped, normalize
from debrief.taxonomy import REASONS

DOCS = Path(__file__).resolve().parent.parent / "docs" / "csv-import.md"


def read(text: str) -> list:
    """Everything read_rows yields for text (newlines kept as in a file opened with newline='')."""
    return list(read_rows(io.StringIO(text, newline="")))


def one_row(text: str) -> Row:
    """The single Row read from text."""
    [row] = read(text)
    assert isinstance(row, Row), row
    return row


SAMPLES = {  # field -> (cell as written in a CRM export, value the Row should hold)
    "crm_id": ("006Dn00000ABCdE", "006Dn00000ABCdE"),
    "company": ("Acme GmbH", "Acme GmbH"),
    "contact_name": ("Jane Roe", "Jane Roe"),
    "contact_email": ("jane@acme.example", "jane@acme.example"),
    "value": ("12,500.00", 12500.0),
    "lost_on": ("2017-03-01", date(2017, 3, 1)),
    "stage": ("Closed Lost", "Closed Lost"),
    "rep_reason": ("Too expensive", "price"),
    "rep_reasons": ("Budget; Support", ["timing", "support"]),
    "competitor": ("Globex", "Globex"),
    "owner": ("rep@example.com", "rep@example.com"),
    "notes": ("Met twice, demo went well", "Met twice, demo went well"),
    "language": ("de_DE", "de-DE"),  # as some CRMs write a locale
}
SPELLINGS = [
    (name, spelling)
    for name, headings in FIELD_HEADERS.items()
    for heading in headings
    for spelling in dict.fromkeys(
        (heading, heading.lower(), heading.upper(), heading.replace(" ", "_"))
    )
] + [  # the brief's own examples, written as people type them
    ("crm_id", "opportunity_id"),
    ("crm_id", "crm id"),
    ("crm_id", "Id"),
    ("contact_email", "e-mail"),
    ("lost_on", "close-date"),
]


@pytest.mark.parametrize(("name", "heading"), SPELLINGS)
def test_every_heading_spelling_reads_its_field(name, heading):
    cell, expected = SAMPLES[name]
    if name == "company":
        row = one_row(f'"{heading}"\n"{cell}"\n')
    else:
        row = one_row(f'Company,"{heading}"\nAcme GmbH,"{cell}"\n')
    assert getattr(row, name) == expected


def test_no_heading_names_two_fields():
    seen: dict[str, str] = {}
    for name, headings in FIELD_HEADERS.items():
        for heading in headings:
            assert seen.setdefault(normalize(heading), name) == name, heading
    assert seen == HEADER_ALIASES


def test_docs_list_every_accepted_heading():
    docs = DOCS.read_text(encoding="utf-8")
    missing = [h for headings in FIELD_HEADERS.values() for h in headings if f"`{h}`" not in docs]
    assert missing == []


@pytest.mark.parametrize(
    "cell",
    [
        "2017-03-01",
        "3/1/2017",
        "03/01/2017",
        "3/1/17",
        "01.03.2017",
        "1.3.2017",
        "2017/03/01",
        "Mar 1, 2017",
        "March 1, 2017",
        "1 Mar 2017",
        "2017-03-01T15:20:00",
        "2017-03-01T15:20:00Z",
        "2017-03-01 15:20:00+01:00",
        "3/1/2017 2:05 PM",
        "01.03.2017 14:05",
    ],
)
def test_date_formats(cell):
    assert one_row(f'Account,Close Date\nAcme,"{cell}"\n').lost_on == date(2017, 3, 1)


@pytest.mark.parametrize(
    "cell", ["xx", "yesterday", "13/13/2017", "2/30/2017", "2017-13-01", "31.02.2017", "2017"]
)
def test_bad_date_is_a_problem_with_the_value(cell):
    assert read(f"Account,Close Date\nAcme,{cell}\n") == [
        RowProblem(2, f"close date '{cell}' is not a date (use YYYY-MM-DD)")
    ]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("12,500.00", 12500.0),
        ("$12,500", 12500.0),
        ("12500", 12500.0),
        ("1,200.50", 1200.5),
        ("1200.50", 1200.5),
        ("1,234,567", 1234567.0),
        ("EUR 1200", 1200.0),
        ("1200 USD", 1200.0),
        ("€ 99.5", 99.5),
        ("0", 0.0),
        ("", None),
    ],
)
def test_amounts(cell, expected):
    assert one_row(f'Account,Amount\nAcme,"{cell}"\n').value == expected


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("EUR 1.200", "is unclear"),
        ("1.200", "is unclear"),
        ("1.200,50", "is not a number"),
        ("12,50", "is not a number"),
        ("1,2345", "is not a number"),
        ("-5", "is not a number"),
        ("abc", "is not a number"),
        ("1e5", "is not a number"),
        ("nan", "is not a number"),
        ("inf", "is not a number"),
    ],
)
def test_bad_amount_is_a_problem(cell, why):
    [problem] = read(f'Account,Amount\nAcme,"{cell}"\n')
    assert isinstance(problem, RowProblem) and problem.line == 2
    assert problem.reason.startswith(f"amount '{cell}' {why}")


@given(st.integers(min_value=0, max_value=10**12 - 1), st.integers(min_value=0, max_value=99))
def test_thousands_separated_amounts_read_back(whole, cents):
    row = one_row(f'Account,Amount\nAcme,"{whole:,}.{cents:02d}"\n')
    assert row.value == pytest.approx(whole + cents / 100)


@pytest.mark.parametrize(
    "stage",
    ["Lost", "Closed Lost", "closed_lost", "Closed - Lost", "CLOSED/LOST", "closedlost", ""],
)
def test_lost_stages_are_read(stage):
    assert one_row(f"Account,Stage\nAcme,{stage}\n").stage == (stage or None)


@pytest.mark.parametrize("stage", ["Closed Won", "Won", "Open", "Negotiation", "Prospecting"])
def test_other_stages_are_skipped_with_the_reason(stage):
    assert read(f"Account,Stage\nAcme,{stage}\n") == [Skipped(2, f"stage is '{stage}', not lost")]


def test_without_a_stage_column_every_row_is_lost():
    assert one_row("Account\nAcme\n").stage is None


@pytest.mark.parametrize(
    ("label", "slug"),
    [
        ("Price", "price"),
        ("Too expensive", "price"),
        ("Budget", "timing"),
        ("No decision", "status-quo"),
        ("Missing features", "product-fit"),
        ("Product Fit", "product-fit"),
        ("over-promised", "overpromising"),
        ("Contract terms", "contract"),
        ("Implementation time", "speed"),
        ("Other", "other"),
        *[(slug, slug) for slug in REASONS],
    ],
)
def test_known_loss_reasons_map_to_the_taxonomy(label, slug):
    row = one_row(f"Account,Loss Reason\nAcme,{label}\n")
    assert (row.rep_reason, row.notes) == (slug, None)


@pytest.mark.parametrize("label", ["Lost to competitor", "Competitor", "Alien abduction"])
def test_unclear_loss_reason_is_other_with_the_label_kept_in_notes(label):
    row = one_row(f'Account,Loss Reason,Notes\nAcme,{label},"Demo, then silence"\n')
    assert row.rep_reason == "other"
    assert row.notes == f"Demo, then silence\n\nLoss reason in the CRM: {label}"


def test_other_reasons_are_mapped_deduplicated_and_kept():
    row = one_row(
        'Account,Loss Reason,Other Reasons\nAcme,Price,"Budget; Support, Price | Weird"\n'
    )
    assert (row.rep_reason, row.rep_reasons) == ("price", ["timing", "support", "other"])
    assert row.notes == "Other reason in the CRM: Weird"


def test_blank_reason_is_none():
    row = one_row("Account,Loss Reason,Other Reasons\nAcme,,\n")
    assert (row.rep_reason, row.rep_reasons, row.notes) == (None, [], None)


@pytest.mark.parametrize(
    "cell",
    ["jane@", "jane", "a b@acme.example", "jane@acme..example", "jane@localhost", "x@foo.test"],
)
def test_bad_email_is_a_problem(cell):
    [problem] = read(f"Account,Email\nAcme,{cell}\n")
    assert isinstance(problem, RowProblem) and problem.line == 2
    assert problem.reason.startswith(f"contact email '{cell}' is not usable: ")


def test_a_special_use_domain_says_why():
    [problem] = read("Account,Email\nAcme,x@foo.test\n")
    assert "special-use or reserved name" in problem.reason


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Jane.Roe+crm@ACME.Example", "Jane.Roe+crm@acme.example"),
        ("zoë@exämple.com", "zoë@exämple.com"),
        ("", None),
    ],
)
def test_emails_are_read_and_missing_ones_are_none(cell, expected):
    assert one_row(f"Account,Email\nAcme,{cell}\n").contact_email == expected


def test_bad_rows_are_reported_with_their_line_numbers():
    text = (
        "Deal ID,Account,Contact Email,Close Date,Stage\n"  # 1
        "1,Acme,a@acme.example,2017-03-01,Closed Lost\n"  # 2
        "2,,b@acme.example,2017-03-01,Closed Lost\n"  # 3
        "\n"  # 4
        "3,Beta,not-an-email,2017-03-01,Closed Lost\n"  # 5
        ",,,,\n"  # 6: an empty record counts as blank
        "4,Gamma,,someday,Lost\n"  # 7
        "5,Delta,d@delta.example,2017-03-02,Closed Won\n"  # 8
        "6,Epsilon,,3/1/2017,\n"  # 9
    )
    results = read(text)
    assert [(type(r).__name__, r.line) for r in results] == [
        ("Row", 2),
        ("RowProblem", 3),
        ("RowProblem", 5),
        ("RowProblem", 7),
        ("Skipped", 8),
        ("Row", 9),
    ]
    assert results[1].reason == "company is missing"
    assert results[5] == Row(
        line=9, crm_id="6", company="Epsilon", contact_name=None, contact_email=None, value=None,
        lost_on=date(2017, 3, 1), competitor=None, rep_reason=None, rep_reasons=[], notes=None,
        owner=None, stage=None,
    )  # fmt: skip


def test_quoted_newlines_keep_line_numbers_right():
    text = (
        "Account,Notes,Amount\n"  # 1
        'Acme,"first line\nsecond line\nthird line",100\n'  # 2-4
        'Beta,"one\r\ntwo",oops\n'  # 5-6: reported where the record starts
        "Gamma,,7\n"  # 7
    )
    results = read(text)
    assert [(type(r).__name__, r.line) for r in results] == [
        ("Row", 2),
        ("RowProblem", 5),
        ("Row", 7),
    ]
    assert results[0].notes == "first line\nsecond line\nthird line"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"])
def test_a_real_file_with_bom_semicolons_and_crlf(tmp_path, encoding):
    path = tmp_path / "export.csv"
    path.write_bytes(
        "\ufeffAccount Name;Amount;Close Date\r\nMüller AG;1200,00;01.03.2017\r\n"
        'Zoë SARL;"1,200.50";01.03.2017\r\n'.encode()
    )
    with path.open(encoding=encoding, newline="") as stream:
        results = list(read_rows(stream))
    assert results[0] == RowProblem(2, "amount '1200,00' is not a number (use 12500 or 12,500.00)")
    assert (results[1].line, results[1].company, results[1].value) == (3, "Zoë SARL", 1200.5)


def test_tab_delimited():
    row = one_row("Account\tAmount\tLost To\nAcme, Inc.\t1,000\tGlobex\n")
    assert (row.company, row.value, row.competitor) == ("Acme, Inc.", 1000.0, "Globex")


def test_unknown_columns_short_rows_and_duplicate_headings():
    text = "Account,Favourite Colour,Email,Contact Email,Amount\nAcme,blue,a@acme.example\n"
    row = one_row(text)
    assert (row.company, row.contact_email, row.value) == ("Acme", "a@acme.example", None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("\n\nAccount\n", "the file is empty"),
        ("Name,Amount\nAcme,1\n", "no company column"),
    ],
)
def test_unreadable_headers_are_one_problem_on_line_one(text, reason):
    [problem] = read(text)
    assert problem.line == 1 and problem.reason.startswith(reason)


def test_header_only_yields_nothing():
    assert read("Account,Amount\r\n") == []


def test_non_utf8_file_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("Account\nMüller AG\n".encode("latin-1"))
    with path.open(encoding="utf-8", newline="") as stream:
        assert list(read_rows(stream)) == [RowProblem(1, NOT_UTF8)]


def test_oversized_field_stops_with_a_problem_after_the_good_rows():
    text = f'Account,Notes\nAcme,ok\nBeta,"{"x" * 200_000}"\n'
    results = read(text)
    assert isinstance(results[0], Row)
    assert results[1].line == 3 and "cannot be read from here on" in results[1].reason


@given(st.text(max_size=300))
def test_any_text_yields_results_never_an_exception(body):
    for result in read("Account,Amount,Close Date,Email,Stage,Loss Reason\n" + body):
        assert isinstance(result, Row | RowProblem | Skipped)
        assert result.line >= 2


def test_ten_thousand_rows_in_well_under_a_second():
    rows = "".join(
        f'{i};Acme {i};Jane {i};jane{i}@acme{i % 50}.example;"{i * 10:,}.00";'
        f"{1 + i % 12}/{1 + i % 28}/2017;Closed Lost;{['Price', 'Budget', 'Weird'][i % 3]}\n"
        for i in range(10_000)
    )
    text = "Opportunity ID;Account;Contact;Email;Amount;Close Date;Stage;Loss Reason\n" + rows
    started = time.process_time()  # CPU time: other test runs on the machine do not count
    results = read(text)
    elapsed = time.process_time() - started
    assert len(results) == 10_000 and all(isinstance(r, Row) for r in results)
    assert elapsed < 1.0
