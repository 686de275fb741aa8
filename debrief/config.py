"""Defaults and DEBRIEF_* settings from the environment; the production guard."""

from __future__ import annotations

import os
import re
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from debrief import i18n, text

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_ORG_NAME = "Harbourline"  # debug and tests only; `make run` sets the same name
# Written by `make run` into the data folder, so `debrief ...` in a shell starts without exports.
DEV_SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
DEV_ORG_FILE = "org_name"
_HTTP_URL = re.compile(r"https?://[^\s/?#]+\S*")


class ConfigError(RuntimeError):
    """The app cannot start with these settings; the message says how to fix it."""


def defaults(instance_path: str) -> dict[str, Any]:
    """Every setting with its default, overridden by DEBRIEF_* environment variables."""
    env = os.environ.get
    return {
        "SECRET_KEY": env("DEBRIEF_SECRET_KEY"),
        "DATA_DIR": env("DEBRIEF_DATA_DIR") or instance_path,
        "ENTRIES_DIR": env("DEBRIEF_ENTRIES_DIR") or str(PROJECT_ROOT / "entries"),
        # The sales synonyms search uses (SPEC 2.5); managers' added lines are merged from
        # <DATA_DIR>/synonyms.txt. A missing file means no shipped synonyms.
        "SYNONYMS_FILE": env("DEBRIEF_SYNONYMS") or str(PROJECT_ROOT / "debrief" / "synonyms.txt"),
        "MAIL_URL": env("DEBRIEF_MAIL_URL") or "outbox",
        "MAIL_FROM": env("DEBRIEF_MAIL_FROM") or "Debrief <debrief@localhost>",
        "BASE_URL": (env("DEBRIEF_BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "API_KEYS": [k.strip() for k in (env("DEBRIEF_API_KEYS") or "").split(",") if k.strip()],
        # Who is asking: named to buyers in every mail and on every page (SPEC 2.2).
        "ORG_NAME": (env("DEBRIEF_ORG_NAME") or "").strip(),
        "ORG_URL": env("DEBRIEF_ORG_URL") or None,
        "PRIVACY_URL": env("DEBRIEF_PRIVACY_URL") or None,
        # The language a deal's buyer is asked in when the deal names none (a BCP 47 tag).
        "DEFAULT_LANGUAGE": env("DEBRIEF_DEFAULT_LANGUAGE") or "en",
        "INVITE_EXPIRY_DAYS": int(env("DEBRIEF_INVITE_EXPIRY_DAYS") or 30),
        "REMINDER_AFTER_DAYS": int(env("DEBRIEF_REMINDER_AFTER_DAYS") or 7),
        # 5 MB: a 10,000-row CRM export fits; anything larger is refused with 413.
        "MAX_CONTENT_LENGTH": int(env("DEBRIEF_MAX_CONTENT_LENGTH") or 5 * 1024 * 1024),
        "IMPORT_MAX_ROWS": int(env("DEBRIEF_IMPORT_MAX_ROWS") or 50_000),  # per file, else refused
        "LOGIN_ATTEMPTS": 5,  # failed sign-ins per account and per address ...
        "LOGIN_WINDOW": 15 * 60,  # ... within this many seconds, then 429
        "TOKEN_MISSES": 30,  # unknown survey tokens per address per minute, then 429
        # Proxies in front: the client address is then read from the last N X-Forwarded-For hops.
        "TRUSTED_PROXIES": env("DEBRIEF_TRUSTED_PROXIES", "").strip() or "0",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "debrief_session",
        "PERMANENT_SESSION_LIFETIME": 12 * 3600,
        # The cookie is re-signed and re-sent when it is SESSION_REFRESH_AFTER seconds old, not on
        # every response (auth.views.load_user): 12 hours of inactivity still end a session.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "SESSION_REFRESH_AFTER": 5 * 60,
        # The CSRF token lives as long as the session: no form lost after a long lunch.
        "WTF_CSRF_TIME_LIMIT": None,
    }


def finish(config: dict[str, Any]) -> None:
    """Derived settings and the guard: no secret key, no start (unless debug or testing)."""
    config["SECRET_KEY"] = config.get("SECRET_KEY") or _dev_file(config, DEV_SECRET_FILE)
    if not config.get("SECRET_KEY"):
        if config.get("TESTING") or config.get("DEBUG"):
            config["SECRET_KEY"] = "dev-only-not-secret"  # noqa: S105
        else:
            raise ConfigError(
                "DEBRIEF_SECRET_KEY is not set: export DEBRIEF_SECRET_KEY=$(python3 -c "
                "'import secrets; print(secrets.token_hex(32))') and start again."
            )
    proxies = str(config["TRUSTED_PROXIES"])
    if not (proxies.isascii() and proxies.isdigit()):
        raise ConfigError(
            f"DEBRIEF_TRUSTED_PROXIES must be a whole number (0 or more), not {proxies!r}: the "
            "number of proxies in front of the site, 0 when clients connect to it directly."
        )
    config["TRUSTED_PROXIES"] = int(proxies)
    _check_who_asks(config)
    try:
        config["DEFAULT_LANGUAGE"] = i18n.normalize(config["DEFAULT_LANGUAGE"]) or i18n.ENGLISH
    except i18n.LanguageError as error:
        raise ConfigError(f"DEBRIEF_DEFAULT_LANGUAGE: {error}") from None
    config["SESSION_COOKIE_SECURE"] = config["BASE_URL"].startswith("https://")
    Path(config["DATA_DIR"]).mkdir(parents=True, exist_ok=True)


def _check_who_asks(config: dict[str, Any]) -> None:
    """No organisation name, no start (buyers must know who asks); links http(s), a sender."""
    try:
        # One line of text by the one rule: it goes into the From header of every buyer's mail,
        # where no line break may split the header, and may be written in any script.
        name = text.clean_text(config.get("ORG_NAME") or _dev_file(config, DEV_ORG_FILE))
    except text.TextError as error:
        raise ConfigError(f"DEBRIEF_ORG_NAME {error.reason}.") from None
    if not name:
        if not (config.get("TESTING") or config.get("DEBUG")):
            raise ConfigError(
                "DEBRIEF_ORG_NAME is not set: export DEBRIEF_ORG_NAME='Your Company' (the name "
                "buyers see in every mail and page) and start again."
            )
        name = DEMO_ORG_NAME
    config["ORG_NAME"] = name
    for key in ("ORG_URL", "PRIVACY_URL"):
        url = config.get(key)
        if url and not (_HTTP_URL.fullmatch(url) and url.isprintable()):
            raise ConfigError(f"DEBRIEF_{key} must be an http:// or https:// address.")
    if "@" not in parseaddr(config["MAIL_FROM"])[1]:
        raise ConfigError("DEBRIEF_MAIL_FROM holds no email address, e.g. debrief@example.com.")


def _dev_file(config: dict[str, Any], name: str) -> str | None:
    """A setting `make run` left in the data folder (secret_key, org_name), when it is there.

    Only these two files, only in DATA_DIR, only when the variable is unset: a production
    start with neither the variable nor the file still refuses. A secret_key others may read
    is refused, since a secret in a shared file signs nobody's sessions safely.
    """
    path = Path(config["DATA_DIR"]) / name
    try:
        value = path.read_text(encoding="utf-8").strip()
        mode = path.stat().st_mode
    except (OSError, UnicodeDecodeError):
        return None
    if name == DEV_SECRET_FILE and mode & 0o077:
        raise ConfigError(
            f"{path} may be read by other users: run chmod 600 {path}, or set DEBRIEF_SECRET_KEY."
        )
    return value or None
