"""Run the app on a local port and drive Debian's Chromium with Playwright (no browser download)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

from flask import Flask
from werkzeug.serving import make_server

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        msg = "Debian's chromium is not installed: run `apt-get install chromium` (or `make setup`)"
        raise RuntimeError(msg)
    return path


# Every Content-Security-Policy violation (a blocked inline script, handler or asset) shows
# in the console, where browser_page collects it.
_REPORT_CSP = """
document.addEventListener('securitypolicyviolation', (e) => console.error(
    'securitypolicyviolation: ' + e.violatedDirective + ' blocked ' + e.blockedURI
    + ' at ' + e.sourceFile + ':' + e.lineNumber));
"""


def _csp_problem(text: str) -> bool:
    return text.startswith("securitypolicyviolation") or "Content Security Policy" in text


@contextmanager
def browser_page() -> Iterator[tuple[object, list[str]]]:
    """A fresh Chromium page and the list of every URL it requests.

    Fails the test after its body when the page reported any Content-Security-Policy
    violation: the app enforces its CSP, so a violation is a broken page part.
    """
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="qungong-chromium-") as profile,
        sync_playwright() as pw,
    ):
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path(),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},
        )
        requests: list[str] = []
        violations: list[str] = []
        context.add_init_script(_REPORT_CSP)
        page = context.new_page()
        # Navigations wait up to a minute: two test workers share the machine with Chromium.
        page.set_default_navigation_timeout(60_000)
        page.on("request", lambda request: requests.append(request.url))
        page.on(
            "console",
            lambda msg: violations.append(msg.text) if _csp_problem(msg.text) else None,
        )
        try:
            yield page, requests
        finally:
            context.close()
        assert not violations, f"Content-Security-Policy violations: {violations}"


def wait_for(page, function: str, arg: object = None, timeout_s: float = 10.0) -> None:
    """Wait until the JavaScript ``function(arg)`` is truthy in the page.

    Playwright's ``wait_for_function`` polls by evaluating a string inside the page, which the
    app's Content-Security-Policy (no 'unsafe-eval') refuses whenever the condition is not
    already true at the first check; ``page.evaluate`` from here is not subject to it.
    """
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(function, arg):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{function} still false after {timeout_s} s")
        time.sleep(0.1)


def login(page, base: str, username: str = "admin", password: str = "secret-pw-2026") -> None:
    """Log in through the real form."""
    page.goto(f"{base}/auth/login", wait_until="load")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("section.login button[type=submit]")


def outside_host(urls: list[str]) -> list[str]:
    """URLs that left this machine (anything but 127.0.0.1/localhost, data: and blob:)."""
    bad = []
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme in {"data", "blob", "about"}:
            continue
        if parsed.hostname not in {"127.0.0.1", "localhost"}:
            bad.append(url)
    return bad
