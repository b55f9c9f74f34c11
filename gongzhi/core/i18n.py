"""Compile the translation catalogues (.po → .mo) with polib, so no GNU gettext is needed to install or run.

The project-wide catalogue is ``gongzhi/locale``; an app may keep its own strings in ``gongzhi/<app>/locale``
(Django finds an installed app's catalogue by itself), so domains written side by side don't edit one file.

Run as ``python -m gongzhi.core.i18n`` (``make install`` does). Extracting new strings still uses Django's
``makemessages`` (which needs GNU gettext): ``gongzhi makemessages -l zh_Hans --ignore=.venv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

PACKAGE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = PACKAGE_DIR / "locale"


def catalogue_paths(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    """Every .po file: the project's and each app's."""
    return sorted([*package_dir.glob("locale/*/LC_MESSAGES/*.po"), *package_dir.glob("*/locale/*/LC_MESSAGES/*.po")])


def compile_catalogues(package_dir: Path = PACKAGE_DIR) -> list[Path]:
    written = []
    for po_path in catalogue_paths(package_dir):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        written.append(mo_path)
    return written


if __name__ == "__main__":
    # `make run` calls this before every start; it says nothing unless asked (`-v`), so the first lines a person
    # sees are the demo's own, in their language.
    written = compile_catalogues()
    if "-v" in sys.argv[1:]:
        for path in written:
            print(f"compiled {path.relative_to(PACKAGE_DIR.parent)}", file=sys.stderr)
