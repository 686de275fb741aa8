"""The app factory, settings, security headers and error pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from debrief import create_app
from debrief.config import ConfigError


def test_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("DEBRIEF_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="DEBRIEF_SECRET_KEY"):
        create_app({"DATA_DIR": str(tmp_path)})


def test_the_command_says_how_to_set_the_key(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DEBRIEF_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "debrief"), "user", "add", "a@b.c", "--role", "rep"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DEBRIEF_SECRET_KEY is not set: export DEBRIEF_SECRET_KEY=" in done.stderr
    assert "Traceback" not in done.stderr


def test_refuses_to_start_without_an_org_name(tmp_path, monkeypatch):
    monkeypatch.delenv("DEBRIEF_ORG_NAME", raising=False)
    with pytest.raises(ConfigError, match="DEBRIEF_ORG_NAME is not set"):
        create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "s" * 64})


def test_the_command_says_how_to_set_the_org_name(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DEBRIEF_DATA_DIR": str(tmp_path), "HOME": str(tmp_path),
           "DEBRIEF_SECRET_KEY": "s" * 64}  # fmt: skip
    done = subprocess.run(
        [str(Path(sys.executable).parent / "debrief"), "init"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    [line] = [x for x in done.stderr.splitlines() if "DEBRIEF_ORG_NAME" in x]
    assert "DEBRIEF_ORG_NAME is not set: export DEBRIEF_ORG_NAME=" in line
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("variable", ["ORG_URL", "PRIVACY_URL"])
@pytest.mark.parametrize(
    "bad",
    ["javascript:alert(1)", "ftp://files.example/privacy", "www.example.com/privacy",
     "https://", "https://example.com/a b", "https://example.com/\r\nX: y", "data:text/html,x"],
)  # fmt: skip
def test_org_and_privacy_urls_must_be_http_urls(tmp_path, variable, bad):
    settings = {"DATA_DIR": str(tmp_path), "SECRET_KEY": "s" * 64, "ORG_NAME": "Harbourline"}
    with pytest.raises(ConfigError, match=f"DEBRIEF_{variable} .*http"):
        create_app({**settings, variable: bad})


@pytest.mark.parametrize("bad", ["Harbour\r\nBcc: x@evil.test", "Harbour\nline", "Tab\tCo"])
def test_an_org_name_with_a_control_character_is_refused(tmp_path, bad):
    with pytest.raises(ConfigError, match="DEBRIEF_ORG_NAME"):
        create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "s" * 64, "ORG_NAME": bad})


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("نرم\u200cافزار پارس", "نرم\u200cافزار پارس"),  # Persian: a ZWNJ inside the word
        ("Société\u00a0Générale", "Société\u00a0Générale"),  # a no-break space
        ("Cafe\u0301 Noir", "Café Noir"),  # NFC, as every other text we keep
        ("株式会社ライバル", "株式会社ライバル"),
    ],
)
def test_an_org_name_in_any_script_is_kept_by_the_one_text_rule(tmp_path, name, kept):
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "s" * 64, "ORG_NAME": name})
    assert app.config["ORG_NAME"] == kept


@pytest.mark.parametrize("bad", ["", "Debrief", "Debrief <>", "Debrief <debrief>"])
def test_the_sender_setting_must_hold_an_address(tmp_path, bad):
    # Buyers' mail keeps this address under the rep's and organisation's name.
    with pytest.raises(ConfigError, match="DEBRIEF_MAIL_FROM"):
        create_app({"DATA_DIR": str(tmp_path), "TESTING": True, "MAIL_FROM": bad})


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DEBRIEF_SECRET_KEY", "from-env")
    monkeypatch.setenv("DEBRIEF_ORG_NAME", " Harbourline Ltd ")
    monkeypatch.setenv("DEBRIEF_ORG_URL", "https://harbourline.example/")
    monkeypatch.setenv("DEBRIEF_PRIVACY_URL", "https://harbourline.example/privacy")
    monkeypatch.setenv("DEBRIEF_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("DEBRIEF_API_KEYS", "k1, k2,")
    monkeypatch.setenv("DEBRIEF_BASE_URL", "http://x.test/")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["API_KEYS"] == ["k1", "k2"]
    assert app.config["BASE_URL"] == "http://x.test"
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert (tmp_path / "d").is_dir()
    assert app.config["ORG_NAME"] == "Harbourline Ltd"
    assert app.config["ORG_URL"] == "https://harbourline.example/"
    assert app.config["PRIVACY_URL"] == "https://harbourline.example/privacy"


def test_tests_and_debug_get_a_demo_org_name(tmp_path, monkeypatch):
    monkeypatch.delenv("DEBRIEF_ORG_NAME", raising=False)
    app = create_app({"DATA_DIR": str(tmp_path), "TESTING": True})
    assert app.config["ORG_NAME"] and app.config["ORG_URL"] is None
    assert app.config["PRIVACY_URL"] is None


def test_security_headers_on_every_response(client):
    for path in ("/login", "/nowhere", "/healthz"):
        h = client.get(path).headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"]
        assert h["Cache-Control"] == "no-store"


def test_no_inline_script_or_style_in_pages(client, auth):
    auth.login()
    for path in ("/login", "/", "/nowhere"):
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert "<script>" not in html and "style=" not in html and " onclick" not in html


@pytest.mark.parametrize("code", [404, 405])
def test_error_pages_use_the_layout(client, code):
    response = client.get("/nowhere") if code == 404 else client.get("/logout")
    assert response.status_code == code
    html = response.get_data(as_text=True)
    assert "<title>" in html and "Debrief" in html and "Traceback" not in html


def test_request_size_is_capped(client, app):
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post("/login", data={"email": big})
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)


def test_unexpected_errors_show_a_plain_500(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong" in html and "secret internals" not in html


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
