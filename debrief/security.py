"""Security defaults on every response: CSRF, headers, caching of personal pages."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request, session
from flask_wtf.csrf import CSRFProtect

from debrief.lru import LRU

csrf = CSRFProtect()

# Signed CSRF tokens by (secret key, the session's raw token). Every page signs the raw token
# for its forms (the sign-out button at least): itsdangerous with zlib, on every page view.
# With WTF_CSRF_TIME_LIMIT = None a token signed earlier in the session stays valid,
# so it is reused: the same as a page opened earlier in another tab.
_signed = LRU(4096)
FIELD = "csrf_token"  # Flask-WTF's default WTF_CSRF_FIELD_NAME, which we keep

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


def _reuse_signed_token() -> None:
    """Give this request the session's token as signed before (Flask-WTF reads it from g)."""
    raw = session.get(FIELD)
    if isinstance(raw, str) and current_app.config.get("WTF_CSRF_TIME_LIMIT") is None:
        signed = _signed.get((current_app.secret_key, raw))
        if signed is not None:
            setattr(g, FIELD, signed)


def _keep_signed_token(response: Response) -> Response:
    """Remember the token this request signed for the session's raw token."""
    signed, raw = g.get(FIELD), session.get(FIELD)
    if isinstance(signed, str) and isinstance(raw, str):
        _signed.put((current_app.secret_key, raw), signed)
    return response


def init_app(app: Flask) -> None:
    """CSRF protection on every form and the headers on every response."""
    csrf.init_app(app)
    app.before_request(_reuse_signed_token)
    app.after_request(_keep_signed_token)
    app.after_request(set_headers)
