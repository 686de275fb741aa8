"""Browser fixtures: the app served on 127.0.0.1, Debian's Chromium through Playwright, axe-core.

Playwright cannot download its own browser here, so it drives /usr/bin/chromium (`make chromium`).
axe-core comes from the npm registry (package.json beside this file, installed on first use).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"


# werkzeug's development server, which these tests run in a thread, can drop a static file it
# opened for Chromium (a request the browser gave up on) without closing it; the file's
# ResourceWarning then surfaces in whichever test runs when it is collected. Production runs
# gunicorn; these handles are the test server's, so that one warning is not an error here.
_STATIC_HANDLE = (
    "ignore:Exception ignored in. <_io.FileIO name='[^']*/static/"
    ":pytest.PytestUnraisableExceptionWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests tolerate the test server's unclosed static files (see _STATIC_HANDLE)."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.filterwarnings(_STATIC_HANDLE))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    """The app answering on a real socket: `url` for the browser, `app` for test set-up."""

    url: str
    app: Flask


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The conftest app served by werkzeug in a thread on 127.0.0.1 and a free port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Links in mail must point at this server; plain http, so no Secure-only session cookie.
    app.config.update(BASE_URL=url, SESSION_COOKIE_SECURE=False)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(url, app)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (Debian's chromium package).")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """new_page(viewport=PHONE) -> a page in its own context (own cookies); closed afterwards."""
    contexts = []

    def make(viewport: dict[str, int] = PHONE):
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's source, installed from the npm registry with the pinned lock file if missing."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: install Debian's npm package to fetch axe-core.")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, capture_output=True
        )
    return AXE.read_text(encoding="utf-8")


def axe_violations(page, axe_source: str, impacts: tuple[str, ...] = ("serious", "critical")):
    """axe-core's WCAG 2.1 A/AA violations of the given impacts on the page as it is now."""
    # evaluate() runs through the DevTools protocol, so the page's CSP does not block axe.
    page.evaluate(axe_source)
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def page_width(page) -> int:
    """How wide the page's content is; more than the viewport means sideways scrolling."""
    return page.evaluate("() => document.documentElement.scrollWidth")


def overflowing(page, root: str = "body") -> list[str]:
    """The innermost elements under root that reach past the viewport's right edge (what to fix)."""
    return page.evaluate(
        """root => [...document.querySelectorAll(root + ' *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                      && ![...e.children].some(c => c.getBoundingClientRect().right
                                                    > window.innerWidth + 0.5))
            .slice(0, 10)
            .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                      + ': ' + (e.textContent || '').trim().slice(0, 40))""",
        root,
    )


def screenshot(page, tmp_path: Path, name: str) -> Path:
    """A full-page PNG in the test's folder, and in $DEBRIEF_SCREENSHOTS when set (to look at)."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("DEBRIEF_SCREENSHOTS"):
        folder = Path(os.environ["DEBRIEF_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
    return path


def check_page(page, axe_source: str, tmp_path: Path, name: str) -> None:
    """A screenshot to look at; no serious or critical axe violation; no sideways scrolling."""
    screenshot(page, tmp_path, name)
    assert axe_violations(page, axe_source) == [], name
    assert page_width(page) <= page.viewport_size["width"], (name, overflowing(page))


def sign_in(page, url: str, email_address: str, then: str = "") -> None:
    """Sign in through the form, as a person does; land on `then` when given (a rep's / is home)."""
    from conftest import PASSWORD

    page.goto(f"{url}/login" + (f"?next={then}" if then else ""))
    page.get_by_label("Email").fill(email_address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    if then:
        page.wait_for_url(re.compile(re.escape(then.split("?")[0])))
    else:
        page.wait_for_load_state()
    assert "/login" not in page.url, "sign-in failed"
