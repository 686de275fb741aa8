"""Themes, the manager's dashboard and its charts."""

from flask import Blueprint


def blueprint() -> Blueprint:
    """The `themes` blueprint with the theme pages and the dashboard routes on it."""
    from debrief.themes import dashboard_views, discover_views, views  # noqa: F401 - importing registers routes

    return views.bp
