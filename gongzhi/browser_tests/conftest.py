"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium) against pytest-django's live_server.

No Playwright browser is ever downloaded. Without /usr/bin/chromium the tests skip with a message, unless
GONGZHI_STRICT=1 (CI), where that is a failure. Set GONGZHI_SCREENSHOT_DIR to keep screenshots for a look.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in this thread; Django would otherwise refuse ORM calls from it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


class _OneRequestAtATime:
    """A WSGI application answering one request at a time: the lock is held from the call until the server closes
    the response (after sending its body)."""

    def __init__(self, application) -> None:
        self.application = application
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        self.lock.acquire()
        try:
            return _Released(self.application(environ, start_response), self.lock)
        except BaseException:
            self.lock.release()
            raise


class _Released:
    def __init__(self, result, lock) -> None:
        self.result, self.lock = result, lock

    def __iter__(self):
        return iter(self.result)

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self.lock.release()


def _one_request_at_a_time_on_in_memory_sqlite() -> None:
    """On an in-memory SQLite database the live server's threads share the test's one connection, and two pages'
    fragments fetched at once (the cockpit's comparison and trend) would use it together and hang. There the
    live server answers one request at a time; on PostgreSQL each request has its own connection."""
    from django.conf import settings
    from django.core.servers.basehttp import ThreadedWSGIServer
    from django.test.testcases import LiveServerThread

    class Server(ThreadedWSGIServer):
        def set_app(self, application) -> None:
            super().set_app(_OneRequestAtATime(application))

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        LiveServerThread.server_class = Server


@pytest.fixture(scope="session", autouse=True)
def _live_server_threads():
    _one_request_at_a_time_on_in_memory_sqlite()
DESKTOP = {"width": 1280, "height": 800}


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("GONGZHI_STRICT") == "1":
            pytest.fail(message + " (required under GONGZHI_STRICT=1)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(viewport=PHONE) → a fresh browser context (own cookies) and page pointed at the live server.

    Every journey is also a test of the content security policy: anything the browser refuses under it (an inline
    script, a handler in an attribute, a resource from elsewhere) fails the test that met it; and of the app's own
    scripts: an uncaught error in any of them fails it too.
    """
    contexts = []
    refused: list[str] = []
    script_errors: list[str] = []

    def watch(message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            refused.append(text)

    def make(viewport=PHONE, locale="zh-CN"):
        context = browser.new_context(viewport=viewport, locale=locale, base_url=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", watch)
        page.on("pageerror", lambda error: script_errors.append(f"{page.url}: {error}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not refused, "refused under the content security policy:\n" + "\n".join(refused)
    assert not script_errors, "uncaught script errors:\n" + "\n".join(script_errors)


@pytest.fixture
def screenshot_dir():
    value = os.environ.get("GONGZHI_SCREENSHOT_DIR")
    return Path(value) if value else None
