"""Security headers on every response, and templates that keep to the content security policy (no inline
script, no handler in an attribute), so the policy can forbid inline script outright."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
HANDLER_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']\s*javascript:""", re.I)


@pytest.mark.django_db
def test_pages_say_where_scripts_may_come_from(client):
    response = client.get("/login/")
    policy = response["Content-Security-Policy"]
    script_source = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert script_source.split() == ["script-src", "'self'"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    api = client.get("/api/v1/openapi.json")
    assert "Content-Security-Policy" in api


def _templates() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("templates/**/*.html") if ".venv" not in path.parts)


def test_no_template_has_inline_script_or_handlers():
    offenders = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, HANDLER_ATTRIBUTE, JAVASCRIPT_URL):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(PACKAGE)}:{line}: {match.group(0)[:80]}")
    assert not offenders, "move these into a static script (see gongzhi/static/gongzhi/app.js):\n" + "\n".join(
        offenders
    )


def test_the_scan_finds_what_it_looks_for():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/app.js" defer></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" id="data">{}</script>')
    assert HANDLER_ATTRIBUTE.search('<button class="b" onclick="window.print()">')
    assert not HANDLER_ATTRIBUTE.search('<button class="b" data-print>')
    assert JAVASCRIPT_URL.search('<a href="javascript:void(0)">')
