"""The store's Flask glue: one Store per app, over <DATA_DIR>/db."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from debrief.store.folder import Store


def init_app(app: Any) -> None:
    """Give the app one Store over <DATA_DIR>/db."""
    app.extensions["debrief.store"] = Store(Path(app.config["DATA_DIR"]) / "db")


def get_store() -> Store:
    """The current app's store."""
    from flask import current_app

    return current_app.extensions["debrief.store"]
