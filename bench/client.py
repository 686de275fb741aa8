"""The app as the benchmarks use it: built over a data set, signed in, forms filled in."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from bench.dataset import PASSWORD, Dataset
from bench.formdata import csrf_from
from debrief import create_app


def make_app(dataset: Dataset) -> Flask:
    """The real app over the data set, configured as in production (CSRF on, not TESTING)."""
    return create_app(dataset.config())


def signed_in(app: Flask, email: str, password: str = PASSWORD) -> FlaskClient:
    """A test client signed in through the real form."""
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    if response.status_code != 302:
        raise RuntimeError(f"sign-in as {email} failed: HTTP {response.status_code}")
    return client


def session_cookie(client: FlaskClient, app: Flask) -> str:
    """The signed session cookie of a signed-in client (valid in any process with the same key)."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        raise RuntimeError("no session cookie")
    return cookie.value
