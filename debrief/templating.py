"""Template helpers shared by every page."""

from __future__ import annotations

from flask import Flask, current_app

from debrief import taxonomy


def init_app(app: Flask) -> None:
    """Make the taxonomy labels and helpers available to every template."""
    app.jinja_env.globals.update(
        REASONS=taxonomy.REASONS,
        OUTCOMES=taxonomy.OUTCOMES,
        reason_label=taxonomy.reason_label,
        outcome_label=taxonomy.outcome_label,
        has_endpoint=has_endpoint,
    )


def has_endpoint(name: str) -> bool:
    """Whether a view exists, so the menu shows only features that are installed."""
    return name in current_app.view_functions
