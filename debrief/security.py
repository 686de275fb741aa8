"""Security defaults on every response: CSRF, headers, caching of personal pages."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def set_headers(response: Response) -> Response:
    """Add the security headers; views may set a stricter Referrer-Policy themselves."""
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault(
        "Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    )
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        # Pages hold deal contacts and buyers' answers: no shared or back-button caches.
        h.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """CSRF protection on every form and the headers on every response."""
    csrf.init_app(app)
    app.after_request(set_headers)
