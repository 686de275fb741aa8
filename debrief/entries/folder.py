"""The entries folder: writing new entry files, saving, reading, walking and finding them."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from debrief import files
from debrief.entries.header import parse_entry, serialize
from debrief.entries.model import Entry, EntryError, is_slug, normalized, slugify


def _slug_taken(entries_dir: Path, slug: str) -> bool:
    """Whether this stem exists at the top or one folder down (year folders, starter)."""
    return find_entry(entries_dir, slug, deep=False) is not None


def _stem(entry: Entry) -> str:
    """The file name stem of a normalized entry before any -2, -3 suffix: <date>-<title slug>."""
    return f"{entry.date.isoformat()}-{slugify(entry.title) or 'entry'}"


# Suffixes tried in order before random ones. Anonymous debriefs share neutral titles, so one
# busy day brings many entries of one name; trying -2, -3, ... each time cost a few stats per
# name taken, inside the index's write lock, and writers of the hundredth answer timed out.
SLUG_IN_ORDER = 9


def _slugs(base: str, first: str = "", seed: str = "") -> Iterator[str]:
    """Candidate stems in the order they are tried: `first` if given, base, base-2 ... base-9,
    then base-<random number> (a wide range: one or two tries find a free one).

    With a `seed` (the name chosen ahead and stored, e.g. an answer's entry_slug, else the
    entry's content) the random numbers are drawn from a sequence seeded by it: every try of that
    one entry's write (the request, its retry, a repair after a kill) walks the same names, so an
    earlier copy written under one of them is found (write_entry with `same`) and never written
    again under another.
    """
    draw = random.Random(seed).randrange if seed else secrets.randbelow
    if first:
        yield first
    for n in range(1, 10_000):
        if n <= SLUG_IN_ORDER:
            slug = base if n == 1 else f"{base}-{n}"
        else:
            slug = f"{base}-{SLUG_IN_ORDER + 1 + draw(999_990)}"
        if slug != first:
            yield slug


def free_slug(entries_dir: Path, entry: Entry) -> str:
    """The slug write_entry would give this entry now (another writer may take it first).

    Lets a caller store the slug with its own record before the file exists, so the record is
    written once; write_entry(replace(entry, slug=...)) then tries that name first.
    """
    base = _stem(normalized(entry))
    for slug in _slugs(base):
        if not _slug_taken(entries_dir, slug):
            return slug
    raise OSError(f"no free file name for {base}")


def write_entry(
    entries_dir: Path, entry: Entry, same: Callable[[Entry], bool] | None = None
) -> Entry:
    """Write a new entry file at entries/<year>/<date>-<slug>.md; returns it with slug and path.

    An entry that comes with a slug (from free_slug) gets that name if it is still free and of
    this entry's own form (<date>-<title slug>[-n]); otherwise the first free one, as usual.
    With `same`, a file already written for this entry (same(found) is true) under one of the
    names it could have taken is returned instead of a second copy: a write that may be a retry
    (a repair after a kill) stays exactly once. Callers serialize such writes (kb.publish).
    """
    entry = normalized(entry)
    year_dir = Path(entries_dir) / f"{entry.date.year:04d}"
    base = _stem(entry)
    suffix = entry.slug[len(base) + 1 :] if entry.slug.startswith(f"{base}-") else ""
    # Only a name of this entry's own form (a digit suffix: no pattern compiled per entry).
    wanted = entry.slug if entry.slug == base or (suffix.isascii() and suffix.isdigit()) else ""
    # A write that may be a retry walks the same names each time: seeded by the name chosen
    # ahead, or by the content when none was (the slug could not be chosen before a disk error).
    seed = wanted or (f"{entry.deal}\n{entry.title}\n{entry.body}" if same else "")
    if same is not None:
        found = _written_already(entries_dir, _slugs(base, wanted, seed), same)
        if found is not None:
            return found
    year_dir.mkdir(parents=True, exist_ok=True)
    names = (
        f"{slug}.md" for slug in _slugs(base, wanted, seed) if not _slug_taken(entries_dir, slug)
    )
    try:
        path = files.write_new(year_dir, names, serialize(entry), hint=base)
    except FileExistsError:
        raise OSError(f"no free file name for {base}") from None
    return replace(entry, slug=path.stem, path=path)


def _written_already(
    entries_dir: Path, slugs: Iterator[str], same: Callable[[Entry], bool]
) -> Entry | None:
    """The entry among the files this one could have been written to for which same() is true.

    `slugs` are the names in the order every try walks them (the wanted one, then base,
    base-2, ...): an earlier write of this entry took one of the taken names before the first
    free one. A free name ends the look at once: every try writes at the first free name, so
    no try came before (this spares each answer's first write reading the day's other debriefs).
    """
    for slug in slugs:
        path = find_entry(entries_dir, slug, deep=False)
        if path is None:
            return None
        try:
            found = read_entry(path)
        except EntryError:
            continue
        if same(found):
            return found
    return None


def save_entry(entry: Entry) -> Entry:
    """Rewrite an existing entry file in place, atomically (e.g. after its themes changed)."""
    if entry.path is None:
        raise ValueError("save_entry needs an entry read from or written to a file")
    path = Path(entry.path)
    entry = replace(normalized(entry), slug=path.stem, path=path)
    files.atomic_write(path, serialize(entry), fsync_folder=True)
    return entry


# --- reading and finding ------------------------------------------------------------------


def read_entry(path: Path) -> Entry:
    """Read one entry file, leniently; EntryError only for a file that is unreadable or no text."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise EntryError(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_entry(Path(path), raw)


def inside(root: Path, path: Path) -> bool:
    """Whether path, symlinked folders followed, stays in root (a link cannot point out)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def entry_files(entries_dir: Path) -> Iterator[Path]:
    """Every *.md file under the folder in a stable order (hidden files and links left out)."""
    return files.walk(entries_dir)


def iter_entries(entries_dir: Path) -> Iterator[Entry | EntryError]:
    """Every entry under the folder (starter/ included); broken files are yielded as errors."""
    for path in entry_files(entries_dir):
        try:
            yield read_entry(path)
        except EntryError as exc:
            yield exc


def find_entry(entries_dir: Path, slug: str, *, deep: bool = True) -> Path | None:
    """The file of a slug, or None; the slug must have slugify's shape (no traversal)."""
    if not is_slug(slug) or len(slug) > 200:
        return None
    root = Path(entries_dir)
    name = f"{slug}.md"

    def candidates() -> Iterator[Path]:
        yield root / slug[:4] / name  # the year folder first: the common case
        yield root / name
        # The folder is listed only when needed: every entry page looks up its file.
        if root.is_dir():
            for folder in sorted(root.iterdir()):
                if folder.is_dir() and not folder.name.startswith("."):
                    yield folder / name

    for candidate in candidates():
        if candidate.is_file() and not candidate.is_symlink() and inside(root, candidate):
            return candidate
    if deep:
        for path in entry_files(root):
            if path.name == name:
                return path
    return None
