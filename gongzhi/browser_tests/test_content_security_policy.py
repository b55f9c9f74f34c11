"""The content security policy in a real browser: an inline handler is refused and reported, so the watch that
every journey keeps (``new_page`` in conftest.py) would catch one."""

from __future__ import annotations

import pytest

from .conftest import PHONE

pytestmark = pytest.mark.browser


@pytest.mark.django_db
def test_an_inline_handler_is_refused_and_reported(browser, live_server):
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto("/login/")
    page.evaluate("document.querySelector('h1').setAttribute('onclick', 'window.ranInline = true')")
    page.click("h1")
    assert page.evaluate("window.ranInline === undefined")
    assert any("Content Security Policy" in text for text in messages)
    context.close()
