"""One error page for every status code, in the site's layout; JSON under /api/."""

from __future__ import annotations

import logging
import sqlite3

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from debrief.taxonomy import N_

# Marked for translation (N_) and translated when shown: a buyer can reach most of these
# pages from a link or a stale form, and reads them in their language (debrief/i18n.py).
MESSAGES = {
    400: (
        N_("Bad request"),
        N_("The form was stale or incomplete. Go back, reload the page and try again."),
    ),
    403: (N_("Not yours to see"), N_("Your account does not have access to this page.")),
    404: (N_("Not found"), N_("There is nothing at this address.")),
    405: (N_("Not allowed"), N_("This page does not accept that kind of request.")),
    410: (N_("This link has expired"), N_("The link is no longer valid.")),
    413: (N_("Too large"), N_("That upload or form is larger than this site accepts (5 MB).")),
    429: (N_("Too many attempts"), N_("Please wait a few minutes before trying again.")),
    500: (N_("Something went wrong"), N_("The error is logged. Please try again in a moment.")),
    503: (
        N_("Cannot save right now"),
        N_(
            "The site cannot save right now (its disk is full or read-only). Nothing saved "
            "before is lost and reading still works. Please try again later."
        ),
    ),
}

log = logging.getLogger("debrief")


def render_error(error: HTTPException):
    """The page (or JSON for the API) for an HTTP error."""
    code = error.code or 500
    title, message = MESSAGES.get(code, (error.name, error.description))
    if request.path.startswith("/api/"):
        return jsonify({"errors": {"request": error.description or message}}), code
    if code in MESSAGES:
        title, message = gettext(title), gettext(message)
    return render_template("errors/error.html", code=code, title=title, message=message), code


def unexpected(error: Exception):
    """Log the stack trace for us; show the user a plain 500 page."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(InternalServerError())


def storage_failed(error: Exception):
    """A write the disk refused (full, read-only, a file where a folder should be): say so."""
    log.exception("storage error on %s %s", request.method, request.path)
    return render_error(ServiceUnavailable())


# SQLite's own words for a disk that refuses writes (the search index, the rate-limit counters):
# full, read-only, an I/O error, a file it cannot open. Its other errors are bugs: 500.
_SQLITE_STORAGE = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")


def sqlite_failed(error: sqlite3.OperationalError):
    """A SQLite file the disk would not let us write is a 503 like any other storage error."""
    if (getattr(error, "sqlite_errorname", None) or "").startswith(_SQLITE_STORAGE):
        return storage_failed(error)
    return unexpected(error)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(OSError, storage_failed)
    app.register_error_handler(sqlite3.OperationalError, sqlite_failed)
    app.register_error_handler(Exception, unexpected)
