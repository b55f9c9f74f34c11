"""Templates keep their title block a title: no markup leaks into the browser tab (an edit once pasted a page's
forms into it)."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2]
TITLE_BLOCK = re.compile(r"\{% block title %\}(.*?)\{% endblock", re.S)


def test_title_blocks_hold_only_a_title():
    offenders = []
    for path in sorted(PACKAGE.rglob("templates/**/*.html")):
        for match in TITLE_BLOCK.finditer(path.read_text(encoding="utf-8")):
            if "<" in match.group(1) or len(match.group(1)) > 300:
                offenders.append(str(path.relative_to(PACKAGE)))
    assert not offenders, offenders
