"""Compiled templates kept in <DATA_DIR>/cache/templates for the next process.

Jinja compiles each template to Python on its first render in a process: for the dashboard a
large share of its first view after every restart or new worker. Jinja checks each saved file
against the template's source checksum and its own and Python's versions, so an edited template
or an upgrade compiles afresh. The files are derived data: one that cannot be read or written is
skipped, never an error page. They are loaded with marshal/pickle, so they live in the data
folder, which only the app may write.
"""

from __future__ import annotations

import logging
from pathlib import Path

from jinja2.bccache import Bucket, FileSystemBytecodeCache

log = logging.getLogger(__name__)

CACHE_DIR = Path("cache") / "templates"


class TemplateCache(FileSystemBytecodeCache):
    """A FileSystemBytecodeCache that creates its folder and never fails a render."""

    def __init__(self, directory: Path) -> None:
        super().__init__(str(directory), "%s.jinja")
        self._ready = False

    def load_bytecode(self, bucket: Bucket) -> None:
        """Load a saved template, or leave the bucket empty (Jinja then compiles it)."""
        try:
            super().load_bytecode(bucket)
        except Exception as exc:  # noqa: BLE001 - a torn or foreign file: compile instead
            log.warning("compiled template %s not loaded: %s", bucket.key, exc)
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Save a compiled template (atomically, by Jinja); a failure only costs a compile."""
        try:
            if not self._ready:
                Path(self.directory).mkdir(parents=True, exist_ok=True)
                self._ready = True
            super().dump_bytecode(bucket)
        except OSError as exc:
            log.warning("compiled template %s not saved: %s", bucket.key, exc)


def for_data_dir(data_dir: str | Path) -> TemplateCache:
    """The template cache of one data folder."""
    return TemplateCache(Path(data_dir) / CACHE_DIR)
