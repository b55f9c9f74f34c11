"""Compile the translation catalogues (.po → .mo) with polib, so no GNU gettext is needed to install or run.

Run as ``python -m gongzhi.core.i18n`` (``make install`` does). Extracting new strings still uses Django's
``makemessages`` (which needs GNU gettext): ``gongzhi makemessages -l zh_Hans --ignore=.venv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compile_catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        written.append(mo_path)
    return written


if __name__ == "__main__":
    for path in compile_catalogues():
        print(f"compiled {path.relative_to(LOCALE_DIR.parent.parent)}", file=sys.stderr)
