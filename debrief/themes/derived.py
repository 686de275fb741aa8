"""Saving derived data (the dashboard's caches) beside the data, for the next process."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger(__name__)


def save(path: Path, data: Any, what: str) -> None:
    """Write JSON through a temporary file and an atomic rename; no fsync: it can be rebuilt.

    A failure is logged, never raised: the next process computes `what` again.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(orjson.dumps(data))
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.warning("%s not saved: %s", what, exc)
