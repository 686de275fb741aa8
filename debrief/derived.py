"""Saving derived data (the dashboard's caches) beside the data, for the next process."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson

from debrief.files import atomic_write

log = logging.getLogger(__name__)


def save(path: Path, data: Any, what: str) -> None:
    """Write JSON through a temporary file and an atomic rename; no fsync: it can be rebuilt.

    A failure is logged, never raised: the next process computes `what` again.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, orjson.dumps(data), fsync=False)
    except OSError as exc:
        log.warning("%s not saved: %s", what, exc)
