"""What a rep means by a query: word forms, US/UK spellings, sales synonyms and typos (SPEC 2.5).

A query becomes a Plan of FTS5 expressions, one per tier: the words as typed (the exact table),
their forms and spellings (the porter table), and their synonyms too. search.py ranks the tiers
in that order. No Flask import: the index uses this module on its own.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from debrief.lru import LRU
from debrief.text import TextError, clean_text

log = logging.getLogger(__name__)
MAX_QUERY_CHARS = 1000
MAX_TERMS = 16
MAX_ALTERNATIVES = 24  # per typed word: a long synonym group must not make a huge expression
# The shipped list: the default of DEBRIEF_SYNONYMS (config.py). Missing means none shipped.
SHIPPED = Path(__file__).resolve().parent / "synonyms.txt"
# A line of the list: at least two members, each at most MEMBER_MAX characters.
LINE_MAX, MEMBER_MAX, MEMBER_WORDS = 500, 60, 4
TOKENIZER = "porter unicode61 remove_diacritics 2"  # the index's (index.py builds fts with it)

# --- word forms: the index's own stemmer ----------------------------------------------------------

_stem_lock = threading.Lock()
_stem_conn: sqlite3.Connection | None = None


@lru_cache(maxsize=8192)
def stems(text: str) -> tuple[str, ...]:
    """The tokens of text as the index stores them (FTS5's porter over unicode61)."""
    global _stem_conn
    with _stem_lock:
        if _stem_conn is None:
            # The same tokenizer as the index, so a word's stem here is its stem there.
            _stem_conn = sqlite3.connect(":memory:", check_same_thread=False)
            _stem_conn.execute(f"CREATE VIRTUAL TABLE s USING fts5(x, tokenize = '{TOKENIZER}')")
            _stem_conn.execute("CREATE VIRTUAL TABLE sv USING fts5vocab(s, instance)")
        conn = _stem_conn
        conn.execute("INSERT INTO s (x) VALUES (?)", (text,))
        found = tuple(t for (t,) in conn.execute("SELECT term FROM sv ORDER BY offset"))
        conn.execute("DELETE FROM s")
    return found


# --- US/UK spellings ------------------------------------------------------------------------------

# British, American: whole words whose inflections the porter stemmer then covers.
_PAIRS = dict(
    re.findall(
        r"(\w+) (\w+)",
        """colour color  behaviour behavior  favour favor  favourite favorite
    honour honor  labour labor  neighbour neighbor  humour humor  rumour rumor  flavour flavor
    endeavour endeavor  harbour harbor  centre center  theatre theater  metre meter  litre liter
    fibre fiber  catalogue catalog  dialogue dialog  analogue analog  licence license
    defence defense  offence offense  pretence pretense  cancelled canceled  cancelling canceling
    travelled traveled  travelling traveling  traveller traveler  labelled labeled
    labelling labeling  modelled modeled  modelling modeling  signalled signaled
    fuelled fueled  totalled totaled  counselling counseling  levelled leveled
    channelled channeled  enrol enroll  enrolment enrollment  fulfil fulfill
    fulfilment fulfillment  instalment installment  judgement judgment
    acknowledgement acknowledgment  programme program  grey gray  aluminium aluminum
    jewellery jewelry  manoeuvre maneuver  sceptical skeptical  ageing aging  practise practice
    enquiry inquiry  enquiries inquiries  enquire inquire  amongst among  learnt learned
    cosy cozy  plough plow  mould mold  artefact artifact  cheque check""",
    )
)
_SPELLINGS = {**_PAIRS, **{us: uk for uk, us in _PAIRS.items() if us != "check"}}
# -ise/-ize (organise, organisation, prioritised) and -yse/-yze (analyse): rules, both ways.
_ISE = re.compile(r"^(\w{3,})i([sz])(e|es|ed|ing|er|ers|ation|ations|able)$")
_YSE = re.compile(r"^(\w{2,})y([sz])(e|es|ed|ing|er|ers)$")


def spellings(word: str) -> list[str]:
    """The word's other spellings (organise -> organize, cancelled -> canceled), maybe none."""
    found = []
    if word in _SPELLINGS:
        found.append(_SPELLINGS[word])
    for rule, letter in ((_ISE, "i"), (_YSE, "y")):
        m = rule.match(word)
        if m:
            found.append(f"{m[1]}{letter}{'z' if m[2] == 's' else 's'}{m[3]}")
    return found


# --- sales synonyms -------------------------------------------------------------------------------


class SynonymError(ValueError):
    """A line of the synonym list that cannot be used; the message says why."""


def parse_line(line: str) -> tuple[str, ...]:
    """One group of the list as its members (lowercase, cleaned); SynonymError if unusable."""
    try:
        line = clean_text(line)
    except TextError as error:
        raise SynonymError("Use one line of plain text, without control characters.") from error
    if len(line) > LINE_MAX:
        raise SynonymError(f"Keep the line under {LINE_MAX} characters.")
    members = list(dict.fromkeys(" ".join(m.lower().split()) for m in line.split(",")))
    members = [m for m in members if m]
    for member in members:
        if len(member) > MEMBER_MAX or len(member.split()) > MEMBER_WORDS:
            raise SynonymError(
                f"“{member[:40]}” is too long: a member is a word or a phrase of at most "
                f"{MEMBER_WORDS} words."
            )
        if not stems(member):
            raise SynonymError(f"“{member[:40]}” has no word in it (letters or digits).")
    if len(members) < 2:
        raise SynonymError(
            "Write at least two words or phrases that mean the same, e.g. “price, cost”."
        )
    return tuple(members)


def parse_list(text: str) -> tuple[list[tuple[str, ...]], list[str]]:
    """The groups of a synonym list, and a message for each line left out (never an error)."""
    groups, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            groups.append(parse_line(line))
        except SynonymError as error:
            problems.append(f"line {number}: {error}")
    return groups, problems


def _key(phrase: str) -> tuple[str, ...]:
    """How a word or phrase is looked up: its stems, so 'costs' finds the group of 'cost'."""
    return stems(phrase)


class Thesaurus:
    """The shipped synonym list merged with the managers' added lines, read again on change."""

    def __init__(self, *paths: Path | str | None) -> None:
        self.paths = [Path(p) for p in paths if p]
        self._lock = threading.Lock()
        self._seen: tuple | None = None
        self._groups: dict[tuple[str, ...], set[str]] = {}
        self.problems: list[str] = []
        self.plans = LRU(1024)  # query text and stamp() -> Plan, see plan()

    def _stamp(self) -> tuple:
        """What changes when a list file changes (a missing file is no error: no synonyms)."""
        stamp = []
        for path in self.paths:
            try:
                st = os.stat(path)
                stamp.append((st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                stamp.append(None)
        return tuple(stamp)

    def report(self) -> list[str]:
        """The lines of the list files left out, and why (as the files are now)."""
        self.groups()
        return list(self.problems)

    def stamp(self) -> tuple:
        """The state of the list files (read again first when one changed)."""
        self.groups()
        return self._seen or ()

    def groups(self) -> dict[tuple[str, ...], set[str]]:
        """Member key -> every member of every group it is in (the files as they are now)."""
        # A cache of the files: valid while their mtime, size and inode stay (os.replace of an
        # added line gives a new inode), checked on every query for a couple of stat calls.
        stamp = self._stamp()
        with self._lock:
            if stamp != self._seen:
                self._groups, self.problems = self._load()
                self._seen = stamp
            return self._groups

    def _load(self) -> tuple[dict[tuple[str, ...], set[str]], list[str]]:
        """Read every list file; bad lines are reported in problems and left out."""
        groups: dict[tuple[str, ...], set[str]] = {}
        problems = []
        for path in self.paths:
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError) as error:
                problems.append(f"{path}: cannot read: {error}")
                continue
            found, bad = parse_list(text)
            problems += [f"{path.name} {p}" for p in bad]
            for problem in bad:
                log.warning("synonym list %s %s: left out", path, problem)
            for members in found:
                for member in members:
                    groups.setdefault(_key(member), set()).update(members)
        return groups, problems

    def longest(self, words: list[str], start: int) -> tuple[int, set[str]]:
        """(how many words, the members meaning the same) of the longest member starting there."""
        groups = self.groups()
        for size in range(min(MEMBER_WORDS, len(words) - start), 0, -1):
            found = groups.get(_key(" ".join(words[start : start + size])))
            if found:
                return size, found
        return 1, set()


# --- the plan of one query ------------------------------------------------------------------------


def quote(text: str) -> str:
    """Text as an FTS5 string (a phrase of its tokens), never an operator."""
    return '"' + text.replace('"', '""') + '"'


def _any(alternatives: list[str]) -> str:
    """FTS5 OR of alternatives (already quoted), in parentheses when more than one."""
    return alternatives[0] if len(alternatives) == 1 else "(" + " OR ".join(alternatives) + ")"


@dataclass(frozen=True)
class Term:
    """One thing the rep typed (a word, or a phrase of the list) and what else it may mean."""

    text: str
    exact: str  # as typed, for the exact table
    forms: str  # as typed and its other spellings (the porter table adds the word forms)
    meant: str  # and its synonyms


@dataclass(frozen=True)
class Plan:
    """A query's expressions: exact, forms and meant are each an AND over the terms."""

    terms: tuple[Term, ...]

    @property
    def text(self) -> str:
        """The words searched, as shown back to the rep."""
        return " ".join(t.text for t in self.terms)

    @property
    def exact(self) -> str:
        """Every term as typed (the exact table: no stemming)."""
        return " AND ".join(t.exact for t in self.terms)

    @property
    def forms(self) -> str:
        """Every term in any form or spelling."""
        return " AND ".join(t.forms for t in self.terms)

    @property
    def meant(self) -> str:
        """Every term in any form or spelling, or a synonym of it: the set of full matches."""
        return " AND ".join(t.meant for t in self.terms)

    @property
    def any(self) -> str:
        """Any of the terms: the partial matches, and what a snippet highlights."""
        return " OR ".join(t.meant for t in self.terms)


def clean_query(text: str) -> str:
    """Query text that SQLite can bind: no NUL, no lone surrogates, no private-use marks."""
    text = "".join(c for c in str(text) if not 0xD800 <= ord(c) <= 0xDFFF)
    return re.sub("[\x00\ue000\ue001]", " ", text)


def query_words(q: str) -> list[str]:
    """The searchable words of a query, lowercase (a word needs a letter or a digit)."""
    text = clean_query(q)[:MAX_QUERY_CHARS].lower()
    return [w for w in text.split() if any(c.isalnum() for c in w)][:MAX_TERMS]


def plan(q: str, thesaurus: Thesaurus | None = None) -> Plan | None:
    """The query's plan: the last word is also a prefix; None when no word is searchable."""
    # Kept per query text and synonym files' state (a repeated search costs a dict lookup).
    key = (q, thesaurus.stamp() if thesaurus else None)
    plans = thesaurus.plans if thesaurus else _plans
    found = plans.get(key)
    if found is None:
        found = _make_plan(q, thesaurus) or NO_PLAN
        plans.put(key, found)
    return found if found is not NO_PLAN else None


def _make_plan(q: str, thesaurus: Thesaurus | None) -> Plan | None:
    """plan() computed."""
    words = query_words(q)
    terms, start = [], 0
    while start < len(words):
        size, synonyms = thesaurus.longest(words, start) if thesaurus else (1, set())
        text = " ".join(words[start : start + size])
        start += size
        last = start == len(words)
        typed = quote(text) + ("*" if last and size == 1 else "")
        forms = [typed] + [quote(s) for s in spellings(text)]
        own = _key(text)
        meant = list(forms)
        for member in sorted(synonyms):
            if _key(member) != own:  # the typed word's own forms are already there
                meant += [quote(m) for m in (member, *spellings(member))]
        meant = list(dict.fromkeys(meant))[:MAX_ALTERNATIVES]
        terms.append(Term(text, typed, _any(forms), _any(meant)))
    return Plan(tuple(terms)) if terms else None


NO_PLAN = Plan(())  # kept for a query with no searchable word (LRU keeps no None)
_plans = LRU(1024)  # plans without synonyms


# --- typos ----------------------------------------------------------------------------------------


def closest(word: str, vocabulary: dict[str, int]) -> str | None:
    """The indexed word the rep most likely meant (one or two typing slips), or None."""
    if len(word) < 4 or not word.isalpha():
        return None
    limit = 1 if len(word) < 7 else 2
    terms = list(vocabulary)
    found = process.extract(word, terms, scorer=OSA.distance, score_cutoff=limit, limit=20)
    # Fewest slips first; among those the word most entries use.
    found = [(distance, -vocabulary[term], term) for term, distance, _ in found if term != word]
    return min(found)[2] if found else None
