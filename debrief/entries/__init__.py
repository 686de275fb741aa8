"""The entry file format, no Flask: the model, the header, rendering and the entries folder.

Callers import from here (`from debrief.entries import Entry, read_entry`); the modules are
model (Entry, cleaning, slugs), header (strict writing, lenient reading), render (buyer blocks,
plain text, safe HTML) and folder (write, save, read, walk, find).
"""

from debrief.entries.folder import (
    entry_files,
    find_entry,
    free_slug,
    inside,
    iter_entries,
    read_entry,
    save_entry,
    write_entry,
)
from debrief.entries.header import parse_entry, serialize
from debrief.entries.model import (
    KINDS,
    Entry,
    EntryError,
    clean_header_value,
    is_slug,
    normalized,
    slugify,
)
from debrief.entries.render import buyer_and_rep_text, buyer_block, plain_text, render_body

__all__ = [
    "KINDS",
    "Entry",
    "EntryError",
    "buyer_and_rep_text",
    "buyer_block",
    "clean_header_value",
    "entry_files",
    "find_entry",
    "free_slug",
    "inside",
    "is_slug",
    "iter_entries",
    "normalized",
    "parse_entry",
    "plain_text",
    "read_entry",
    "render_body",
    "save_entry",
    "serialize",
    "slugify",
    "write_entry",
]
