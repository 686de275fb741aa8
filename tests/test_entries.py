"""The entry file format: round trip, buyer blocks, anonymity, broken files, XSS, traversal."""

import datetime
import os
import re
import threading
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debrief.entries import (
    Entry,
    EntryError,
    buyer_block,
    clean_header_value,
    find_entry,
    free_slug,
    iter_entries,
    read_entry,
    render_body,
    save_entry,
    slugify,
    write_entry,
)

PAYLOADS = [
    line.replace("\\n", "\n")  # the file keeps one payload a line; \n marks a line break
    for line in (Path(__file__).parent / "xss_payloads.txt").read_text().splitlines()
    if line.strip()
]
DAY = datetime.date(2026, 3, 14)


def lesson(**fields) -> Entry:
    """A valid lesson entry with the given fields changed."""
    base = {"kind": "lesson", "title": "Ask about the budget owner", "date": DAY}
    return Entry(**(base | fields))


# --- round trip -----------------------------------------------------------------------------

TRICKY = st.sampled_from(
    ["---", "...", "Title: forged", "~~~", "```", "\u202eevil\u202c", "שלום", "🙂👍🏽", ": :", "  "]
)
header_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=60
).map(clean_header_value)
body_text = st.lists(
    st.one_of(
        st.text(st.characters(blacklist_categories=("Cs", "Cc"))),
        TRICKY,
        st.just("x" * 300),
        st.just("\n"),
        st.just("\t"),
    ),  # fmt: skip
    max_size=12,
).map("".join)
slug_list = st.lists(st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8})?", fullmatch=True), max_size=4)

entries = st.builds(
    Entry,
    kind=st.sampled_from(["debrief", "lesson"]),
    title=header_text.filter(bool),
    date=st.dates(min_value=datetime.date(1000, 1, 1), max_value=datetime.date(9999, 12, 31)),
    body=body_text,
    deal=st.none() | st.integers(0, 10**9),
    company=st.none() | header_text.filter(bool),
    rep=st.none() | st.emails(),
    competitor=st.none() | st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,10})?", fullmatch=True),
    outcome=st.none() | st.sampled_from(["competitor", "status-quo", "no-decision", "in-house"]),
    prospect_reasons=slug_list.map(lambda xs: list(dict.fromkeys(xs))),
    rep_reasons=slug_list.map(lambda xs: list(dict.fromkeys(xs))),
    themes=slug_list.map(lambda xs: list(dict.fromkeys(xs))),
    trust=st.none() | st.integers(1, 5),
)


@settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(entry=entries)
def test_round_trip_keeps_every_field(tmp_path, entry):
    written = write_entry(tmp_path, entry)
    back = read_entry(written.path)
    assert back == written
    for name in Entry.__dataclass_fields__:
        if name not in ("slug", "path"):
            assert getattr(back, name) == getattr(entry, name), name


@pytest.mark.parametrize(
    "value", ["[]", "[price, trust]", '"quoted"', "'single'", '""', "[a", "'x", '"a" and "b"']
)
def test_values_that_look_like_yaml_read_back_as_written(tmp_path, value):
    # Lenient reading undoes YAML quotes and [a, b] lists; what Debrief writes must survive it.
    entry = lesson(title=value, company=value)
    back = read_entry(write_entry(tmp_path, entry).path)
    assert (back.title, back.company, back.warnings) == (value, value, [])


def test_file_layout_and_header(tmp_path):
    entry = lesson(themes=["honesty", "trust"], trust=4, rep="ana@example.com", deal=12)
    written = write_entry(tmp_path, entry)
    assert written.path == tmp_path / "2026" / "2026-03-14-ask-about-the-budget-owner.md"
    assert written.slug == "2026-03-14-ask-about-the-budget-owner"
    text = written.path.read_text()
    head = "---\nTitle: Ask about the budget owner\nDate: 2026-03-14\nKind: lesson\n"
    assert text.startswith(head)
    assert "Themes: honesty, trust\n" in text
    assert "Company" not in text and "Competitor" not in text  # empty keys are left out
    # Python-Markdown's own meta extension reads the same header.
    md = markdown.Markdown(extensions=["meta"])
    md.convert(text)
    assert md.Meta["title"] == ["Ask about the budget owner"] and md.Meta["trust"] == ["4"]


def test_header_values_stay_on_one_line(tmp_path):
    entry = lesson(title="Line one\r\nTitle: forged\x00\u2028end", company="A\nKind: debrief")
    written = write_entry(tmp_path, entry)
    assert written.title == "Line one Title: forged end"
    header = written.path.read_text().split("---\n")[1]
    keys = [line.split(":")[0] for line in header.splitlines()]
    assert keys == ["Title", "Date", "Kind", "Company"]
    assert read_entry(written.path).company == "A Kind: debrief"


def test_unique_slugs_across_the_tree(tmp_path):
    (tmp_path / "starter").mkdir()
    (tmp_path / "starter" / "2026-03-14-ask-about-the-budget-owner.md").write_text("x")
    slugs = [write_entry(tmp_path, lesson()).slug for _ in range(3)]
    base = "2026-03-14-ask-about-the-budget-owner"
    assert slugs == [f"{base}-2", f"{base}-3", f"{base}-4"]


def test_a_slug_chosen_beforehand_is_the_file_name_unless_taken_meanwhile(tmp_path):
    base = "2026-03-14-ask-about-the-budget-owner"
    write_entry(tmp_path, lesson())
    chosen = free_slug(tmp_path, lesson())
    assert chosen == f"{base}-2"
    assert write_entry(tmp_path, lesson(slug=chosen)).path == tmp_path / "2026" / f"{chosen}.md"
    # Another writer took the name between free_slug and write_entry: the next free one.
    chosen = free_slug(tmp_path, lesson())
    write_entry(tmp_path, lesson())
    assert (chosen, write_entry(tmp_path, lesson(slug=chosen)).slug) == (f"{base}-3", f"{base}-4")
    # A later free suffix is kept (the caller stored it); a name of another form is not used.
    assert write_entry(tmp_path, lesson(slug=f"{base}-9")).slug == f"{base}-9"
    for foreign in ("2026-03-14-other-title", f"{base}-x", "../escape", f"{base}-5/../../x"):
        assert write_entry(tmp_path, lesson(slug=foreign)).slug == f"{base}-5", foreign
        (tmp_path / "2026" / f"{base}-5.md").unlink()


def test_a_busy_title_takes_a_random_free_suffix_after_the_first_nine(tmp_path):
    # Anonymous debriefs share a few neutral titles: the 50th of a day must not try 49 names.
    base = "2026-03-14-ask-about-the-budget-owner"
    slugs = [write_entry(tmp_path, lesson()).slug for _ in range(40)]
    assert slugs[:9] == [base] + [f"{base}-{n}" for n in range(2, 10)]
    later = [int(s.removeprefix(f"{base}-")) for s in slugs[9:]]
    assert len(set(slugs)) == 40 and all(n >= 10 for n in later)
    assert sorted(later) != list(range(10, 41))  # not the next numbers in order
    assert {p.stem for p in (tmp_path / "2026").glob("*.md")} == set(slugs)
    chosen = free_slug(tmp_path, lesson())
    assert write_entry(tmp_path, lesson(slug=chosen)).slug == chosen  # kept, as stored


def test_a_retried_write_finds_its_copy_under_a_random_name(tmp_path):
    # The hundred-kill test's duplicate: two answers were given the same free name at once
    # (free_slug reserves nothing); the one that lost the race wrote under a random name and was
    # killed before recording it. Its repair, walking the names again, must find that copy.
    base = "2026-03-14-ask-about-the-budget-owner"
    for n in range(9):  # the first nine names of the day are taken by other entries
        write_entry(tmp_path, lesson(body=f"another entry {n}"))
    mine = lesson(body="the answer that lost the race", slug=f"{base}-5")

    def same(found: Entry) -> bool:
        return found.body == mine.body

    first = write_entry(tmp_path, mine, same)
    assert first.slug not in {base} | {f"{base}-{n}" for n in range(2, 10)}
    for _ in range(5):  # the retry of the request, the repair at each start, ...
        assert write_entry(tmp_path, mine, same).slug == first.slug
    copies = [p for p in (tmp_path / "2026").glob("*.md") if mine.body in p.read_text()]
    assert copies == [first.path]


def test_a_retried_write_without_a_chosen_name_finds_its_copy_too(tmp_path):
    # An answer stored without a slug (free_slug failed on a disk error): each try of its entry
    # (the repair at each start) must still walk the same names, or a copy written under a
    # random one by a try killed before recording it is written again.
    for n in range(9):
        write_entry(tmp_path, lesson(body=f"another entry {n}"))
    mine = lesson(body="an answer whose name was never chosen")

    def same(found: Entry) -> bool:
        return found.body == mine.body

    first = write_entry(tmp_path, mine, same)
    for _ in range(5):
        assert write_entry(tmp_path, mine, same).slug == first.slug
    copies = [p for p in (tmp_path / "2026").glob("*.md") if mine.body in p.read_text()]
    assert copies == [first.path]


def test_concurrent_writers_never_share_a_file(tmp_path):
    results = []

    def write():
        results.append(write_entry(tmp_path, lesson(body="same title, many writers")))

    threads = [threading.Thread(target=write) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({e.path for e in results}) == 16
    assert len(list((tmp_path / "2026").glob("*.md"))) == 16
    assert not list((tmp_path / "2026").glob(".*"))  # no temporary files left behind


def test_save_entry_rewrites_in_place(tmp_path):
    written = write_entry(tmp_path, lesson(body="keep me"))
    saved = save_entry(written.__class__(**{**written.__dict__, "themes": ["trust"]}))
    assert saved.path == written.path
    again = read_entry(written.path)
    assert again.themes == ["trust"] and again.body == "keep me"
    assert [p.name for p in (tmp_path / "2026").iterdir()] == [written.path.name]


def test_write_rejects_an_invalid_entry(tmp_path):
    for bad in (lesson(title=" \n "), lesson(kind="memo"), lesson(trust=9)):
        with pytest.raises(ValueError):
            write_entry(tmp_path, bad)
    assert not any(tmp_path.rglob("*.md"))


@pytest.mark.parametrize(
    ("text", "slug"),
    [("Lost to Globex: price?", "lost-to-globex-price"), ("Ça coûte", "ca-coute"),
     ("🙂", ""), ("a" * 100, "a" * 60), ("--x--", "x"),
     # Names in any script are kept, not dropped (issue 16): letters, marks and digits,
     # case-folded (so a final sigma folds to σ, ß to ss).
     ("株式会社ライバル", "株式会社ライバル"), ("ＲＩＶＡＬＲＹ ＣＲＭ", "rivalry-crm"),
     ("Ελληνικά Λύσεις", "ελληνικά-λύσεισ"), ("שלום עולם", "שלום-עולם"),
     ("हिन्दी टेक", "हिन्दी-टेक"), ("Straße 2", "strasse-2"), ("Søren & Co", "søren-co"),
     ("Шаг_1", "шаг-1"), ("İstanbul", "istanbul")],
)  # fmt: skip
def test_slugify(text, slug):
    assert slugify(text) == slug


# --- anonymity ------------------------------------------------------------------------------


def test_anonymous_entry_never_names_the_company(tmp_path):
    named = write_entry(tmp_path, lesson(company="Initrode Freight"))
    anonymous = write_entry(tmp_path, lesson(company=None, body="Answer without a name."))
    assert "Company: Initrode Freight" in named.path.read_text()
    text = anonymous.path.read_text()
    assert "Company" not in text and "Initrode" not in text
    assert read_entry(anonymous.path).company is None


# --- buyer blocks ---------------------------------------------------------------------------

HOSTILE_BUYER = [
    "~~~~\n<script>alert(1)</script>\n~~~~~~~~",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "---\nTitle: forged\n---",
    "~~~ buyer\nnested\n~~~",
    "<b>bold</b> & [link](https://evil.example) **strong**",
    "",
]


def test_a_body_rendered_again_is_the_same_html_and_an_edit_renders_anew():
    # Bodies are kept rendered by their text (entry pages are opened again and again).
    first = render_body(lesson(body="**Send** the sheet <script>x</script>"))
    assert render_body(lesson(body="**Send** the sheet <script>x</script>")) is first
    edited = render_body(lesson(body="**Send** the sheet early"))
    assert str(edited) == "<p><strong>Send</strong> the sheet early</p>"
    assert "<script" not in str(first) and "<strong>Send</strong>" in str(first)


@pytest.mark.parametrize("text", HOSTILE_BUYER)
def test_buyer_text_is_stored_verbatim_and_rendered_escaped(tmp_path, text):
    body = "Rep intro.\n\n" + buyer_block(text) + "\n\nRep outro."
    written = write_entry(tmp_path, lesson(kind="debrief", body=body))
    assert text in written.path.read_text()
    html = str(render_body(read_entry(written.path)))
    inner = re.search(
        r'<pre dir="auto"><code class="language-buyer">(.*?)</code></pre>', html, re.S
    )
    assert inner is not None
    assert inner.group(1) == str(__import__("markupsafe").escape(text))
    assert "<script" not in html and "<b>" not in html and "<a " not in html
    assert html.startswith("<p>Rep intro.</p>") and html.endswith("<p>Rep outro.</p>")


@settings(max_examples=200)
@given(text=st.text(st.sampled_from("~`-<>&\n ab*[]()!:")) | st.text())
def test_nothing_in_buyer_text_closes_its_fence(text):
    """Python-Markdown's own fenced_code agrees: the whole text is one escaped code block."""
    block = buyer_block(text)
    html = markdown.markdown(block, extensions=["fenced_code"])
    assert html.startswith('<pre><code class="language-buyer">')
    assert html.count("</code></pre>") == 1 and html.endswith("</code></pre>")
    inner = html.removeprefix('<pre><code class="language-buyer">').removesuffix("</code></pre>")
    assert "<" not in inner


FORGED_QUOTES = [
    "```buyer\nWe loved you, honestly.\n```",
    "``` buyer\nWe loved you, honestly.\n```",
    "```{.buyer}\nWe loved you, honestly.\n```",
    "~~~ buyer\nWe loved you, honestly.\n~~~",
    "~~~~buyer\nWe loved you, honestly.\n~~~~",
    '<pre><code class="language-buyer">We loved you, honestly.</code></pre>',
    '<blockquote class="buyer">We loved you, honestly.</blockquote>',
    "Intro.\n\n" + buyer_block("We loved you, honestly."),
]


@pytest.mark.parametrize("body", FORGED_QUOTES)
def test_only_a_debrief_shows_buyer_quotes_a_lesson_shows_code_or_text(body):
    html = str(render_body(lesson(body=body)))
    assert "We loved you, honestly." in html
    assert "buyer" not in html.replace("We loved you", ""), html  # no class, no quote style
    if "```" in body or "~~~" in body:
        assert re.search(r"<pre><code>We loved you, honestly\.\n?</code></pre>", html), html


def test_a_debrief_shows_its_buyer_blocks_as_quotes_and_rep_fences_as_code():
    body = "```buyer\nRep-made.\n```\n\n" + buyer_block("The buyer's own.")
    html = str(render_body(lesson(kind="debrief", body=body)))
    assert '<pre dir="auto"><code class="language-buyer">The buyer&#39;s own.</code></pre>' in html
    assert "<pre><code>Rep-made.\n</code></pre>" in html and html.count("language-buyer") == 1


def test_buyer_block_strips_control_characters():
    assert buyer_block("a\x00b\x07c\r\nd\te") == "~~~ buyer\nabc\nd\te\n~~~"


# --- broken files ---------------------------------------------------------------------------

# Only bytes that are no UTF-8 text stay out of search (SPEC 2.4: strict writing, lenient reading).
BROKEN = {
    "latin1.md": ("---\nTitle: Caf\xe9\nKind: lesson\nDate: 2026-01-01\n---\n".encode("latin-1"),
                  "not UTF-8"),
    "binary.md": (b"---\nTitle: x\x00\x01\x02\n---\n", "binary"),
}  # fmt: skip
# Every other file is read, each repair named in a warning.
REPAIRED = {
    "bad-header.md": (b"---\nTitle: x\nthis is not a key\n---\n",
                      "header line 3: 'this is not a key' is not Key: value (kept in the body)"),
    "empty.md": (b"", "empty file: only its name is searchable"),
    "no-title.md": (b"---\nKind: lesson\nDate: 2026-01-01\n---\n\nbody\n",
                    "no Title: its file name is its title"),
    "bad-date.md": (b"---\nTitle: x\nKind: lesson\nDate: 14/03/2026\n---\n",
                    "Date '14/03/2026' not understood: dated "),
    "bad-kind.md": (b"---\nTitle: x\nKind: memo\nDate: 2026-01-01\n---\n",
                    "Kind 'memo' is not debrief or lesson: read as a lesson"),
    "bad-trust.md": (b"---\nTitle: x\nKind: lesson\nDate: 2026-01-01\nTrust: 9\n---\n",
                     "Trust '9' is not a whole number from 1 to 5: left out"),
    "unclosed.md": (b"---\nTitle: x\nKind: lesson\nDate: 2026-01-01", "header not closed"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file_gives_a_clear_error(tmp_path, name):
    raw, reason = BROKEN[name]
    path = tmp_path / name
    path.write_bytes(raw)
    with pytest.raises(EntryError) as caught:
        read_entry(path)
    assert reason in str(caught.value) and str(path) in str(caught.value)


@pytest.mark.parametrize("name", sorted(REPAIRED))
def test_a_file_not_as_debrief_writes_it_is_read_with_a_warning(tmp_path, name):
    raw, warning = REPAIRED[name]
    path = tmp_path / name
    path.write_bytes(raw)
    entry = read_entry(path)
    assert entry.kind in ("lesson", "debrief") and entry.title
    assert any(w.startswith(warning) for w in entry.warnings), entry.warnings


def test_a_header_line_that_is_no_key_stays_in_the_body(tmp_path):
    path = tmp_path / "odd.md"
    path.write_text("---\nTitle: Odd\nKind: lesson\nDate: 2026-01-01\nnote to self\n---\n\nBody.\n")
    entry = read_entry(path)
    assert entry.title == "Odd" and entry.body == "note to self\n\nBody.\n"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2025-03-04", "2025-03-04"),
        ("2025-03-04T09:30:00Z", "2025-03-04"),
        ("4 March 2025", "2025-03-04"),
        ("4th March 2025", "2025-03-04"),
        ("Tuesday, 4 March 2025", "2025-03-04"),
        ("March 4, 2025", "2025-03-04"),
        ("Mar 4 2025", "2025-03-04"),
        ("2025/03/04", "2025-03-04"),
        ("04.03.2025", "2025-03-04"),
    ],
)
def test_dates_in_common_formats_are_read(tmp_path, written, expected):
    path = tmp_path / "dated.md"
    path.write_text(f"---\nTitle: Dated\nKind: lesson\nDate: {written}\n---\n")
    assert read_entry(path).date.isoformat() == expected


def test_a_note_starting_with_a_colon_line_is_not_a_header(tmp_path):
    path = tmp_path / "2025-01-02-call.md"
    path.write_text("Note: call them back about the price.\n")
    entry = read_entry(path)
    assert entry.body == "Note: call them back about the price.\n"
    assert (entry.title, entry.date.isoformat()) == ("call", "2025-01-02")


def test_a_rewritten_hand_file_keeps_its_reference_and_tags(tmp_path):
    path = tmp_path / "crm.md"
    path.write_text("---\ntitle: CRM note\ntags: [price]\nDeal: OPP-1\n---\n\nBody.\n")
    saved = save_entry(replace(read_entry(path), themes=["trust"]))
    again = read_entry(saved.path)
    assert (again.reference, again.tags, again.themes) == ("OPP-1", ["price"], ["trust"])
    assert again.deal is None


def test_iter_entries_yields_errors_and_goes_on(tmp_path):
    good = write_entry(tmp_path, lesson())
    for name, (raw, _) in {**BROKEN, **REPAIRED}.items():
        (tmp_path / name).write_bytes(raw)
    (tmp_path / ".hidden.md").write_bytes(b"\x00")  # hidden files are not entries
    results = list(iter_entries(tmp_path))
    read = sorted(r.slug for r in results if isinstance(r, Entry))
    assert read == sorted([good.slug, *(Path(n).stem for n in REPAIRED)])
    errors = [r for r in results if isinstance(r, EntryError)]
    assert sorted(Path(e.path).name for e in errors) == sorted(BROKEN)


def test_hand_written_file_is_read(tmp_path):
    path = tmp_path / "by-hand.md"
    path.write_bytes(
        b"\xef\xbb\xbf---\r\nTitle: By hand\r\nKind: lesson\r\nDate: 2026-01-02\r\n"
        b"Themes: Honesty, Over Promising\r\n---\r\nBody right away.\r\n"
    )
    entry = read_entry(path)
    assert (entry.title, entry.themes, entry.slug) == (
        "By hand",
        ["honesty", "over-promising"],
        "by-hand",
    )
    assert entry.body.startswith("Body right away.")


# --- find_entry -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug",
    ["../x", "..%2fx", "/etc/passwd", "..", "2026/../../secret", "A-Upper", "-x", "", "a b",
     "x.md", "x\x00", "\\..\\x"],
)  # fmt: skip
def test_find_entry_rejects_traversal(tmp_path, slug):
    entries_dir = tmp_path / "entries"
    entries_dir.mkdir()
    (tmp_path / "secret.md").write_text("outside")
    (tmp_path / "x.md").write_text("outside")
    assert find_entry(entries_dir, slug) is None


def test_an_entry_titled_in_any_script_is_written_and_found_by_its_slug(tmp_path):
    written = write_entry(tmp_path, lesson(title="株式会社ライバル: 価格"))
    assert written.slug == "2026-03-14-株式会社ライバル-価格"
    assert find_entry(tmp_path, written.slug) == written.path
    assert find_entry(tmp_path, "2026-03-14-株式会社ライバル/../x") is None


def test_find_entry_finds_year_starter_and_nested(tmp_path):
    written = write_entry(tmp_path, lesson())
    (tmp_path / "starter").mkdir()
    (tmp_path / "starter" / "trust-first.md").write_text("x")
    (tmp_path / "team" / "deep").mkdir(parents=True)
    (tmp_path / "team" / "deep" / "nested-one.md").write_text("x")
    assert find_entry(tmp_path, written.slug) == written.path
    assert find_entry(tmp_path, "trust-first") == tmp_path / "starter" / "trust-first.md"
    assert find_entry(tmp_path, "nested-one") == tmp_path / "team" / "deep" / "nested-one.md"
    assert find_entry(tmp_path, "missing") is None


# --- XSS ------------------------------------------------------------------------------------


class _Collector(HTMLParser):
    """Every start tag with its attributes, as the browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def assert_safe_html(html: str) -> None:
    """No script, iframe, event handler, style or dangerous URL survives in the HTML."""
    lowered = html.lower()
    assert "<script" not in lowered and "<iframe" not in lowered
    # Escaped text and quoted attribute values may say "onerror="; a tag itself must not.
    tags_only = re.sub(r'"[^"]*"', '""', lowered)
    assert not re.search(r"<[^>]*\son\w+\s*=", tags_only)
    assert not re.search(r"<[^>]*\sstyle\s*=", tags_only)
    parser = _Collector()
    parser.feed(html)
    parser.close()
    allowed = {"p", "h2", "h3", "h4", "ul", "ol", "li", "blockquote", "pre", "code", "em",
               "strong", "hr", "br", "a", "table", "thead", "tbody", "tr", "th", "td"}  # fmt: skip
    for tag, attrs in parser.tags:
        assert tag in allowed, tag
        for name, value in attrs:
            assert not name.startswith("on") and name != "style"
            if name in ("href", "src"):
                url = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
                assert not url.startswith(("javascript:", "vbscript:", "data:")), value
                assert re.match(r"^(https?:|mailto:|[^:]*$)", url), value
            if name == "class":
                assert all(c.startswith("language-") for c in (value or "").split())


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payload_in_rep_markdown(tmp_path, payload):
    written = write_entry(tmp_path, lesson(body=f"Intro\n\n{payload}\n\nOutro"))
    assert_safe_html(str(render_body(read_entry(written.path))))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payload_in_buyer_block(tmp_path, payload):
    written = write_entry(tmp_path, lesson(body=buyer_block(payload)))
    html = str(render_body(read_entry(written.path)))
    assert_safe_html(html)
    assert "&lt;" in html or "<" not in payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_payload_in_title_and_competitor(tmp_path, payload):
    from markupsafe import escape

    written = write_entry(tmp_path, lesson(title=payload, competitor=payload, body=payload))
    back = read_entry(written.path)
    assert back.title == clean_header_value(payload)  # kept as text; templates escape it
    assert back.competitor is None or re.fullmatch(r"[a-z0-9-]+", back.competitor)
    assert_safe_html(str(escape(back.title)))
    assert_safe_html(str(render_body(back)))


def test_markdown_still_renders(tmp_path):
    body = "## Lesson\n\n*one* **two** [site](https://example.com)\n\n```python\nx = 1\n```"
    html = str(render_body(lesson(body=body)))
    assert "<h2>Lesson</h2>" in html and "<em>one</em>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">site</a>' in html
    assert '<code class="language-python">x = 1' in html


def test_render_is_thread_safe():
    bodies = [f"## Heading {i}\n\n" + "word " * 200 for i in range(8)]
    out: dict[int, str] = {}

    def render(i):
        for _ in range(20):
            out[i] = str(render_body(lesson(body=bodies[i])))

    threads = [threading.Thread(target=render, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(out[i].startswith(f"<h2>Heading {i}</h2>") for i in range(8))


def test_starter_lessons_are_valid():
    starter = Path(__file__).parent.parent / "entries" / "starter"
    found = [read_entry(p) for p in sorted(starter.glob("*.md"))]
    assert len(found) == 5
    for entry in found:
        assert entry.kind == "lesson" and entry.date == datetime.date(2026, 1, 1)
        assert entry.rep is None and entry.themes
        assert 150 <= len(entry.body.split()) <= 300, entry.slug
    assert os.path.commonpath([str(e.path) for e in found]) == str(starter)


@given(text=st.text())
def test_a_slug_is_its_own_slug_and_has_the_shape_find_entry_accepts(text):
    from debrief.entries import is_slug

    slug = slugify(text)
    assert slugify(slug) == slug and (slug == "" or is_slug(slug))


@settings(max_examples=500)
@given(text=st.text() | st.from_regex(r"[a-z0-9-]{0,70}", fullmatch=True))
def test_slug_fast_path_agrees_with_slugify(text):
    from debrief.entries.model import slug_value

    assert slug_value(text) == slugify(text)


def test_plain_text_drops_markdown_markup_but_keeps_buyer_words_verbatim():
    from debrief.entries import plain_text

    body = (
        "## In the buyer's words\n\n"
        + buyer_block("**their** words # kept [as](typed)")
        + "\n\n- **Ask about claims.** See [the guide](https://x.test) and `code`\n\n"
        + "| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    text = plain_text(body)
    assert "**their** words # kept [as](typed)" in text
    assert "Ask about claims. See the guide and code" in text
    assert "##" not in text.replace("# kept", "") and "https://x.test" not in text
    assert "---" not in text and "a b" in text and "1 2" in text
