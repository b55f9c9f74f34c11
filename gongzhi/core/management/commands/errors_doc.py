"""`gongzhi errors_doc`: write docs/errors.md from the error catalogues (`--check` only compares)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gongzhi.core.error_catalogue import DOC_PATH, render_markdown


class Command(BaseCommand):
    help = "Write docs/errors.md from the apps' error catalogues (errors.py)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Fail if docs/errors.md is not up to date.")

    def handle(self, *args, check: bool = False, **options):
        text = render_markdown()
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if check:
            if current != text:
                raise CommandError("docs/errors.md is out of date: run `gongzhi errors_doc`.")
            self.stdout.write("docs/errors.md is up to date.")
            return
        DOC_PATH.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {DOC_PATH}.")
