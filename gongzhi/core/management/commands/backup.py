"""``gongzhi backup FILE``: the database and the uploaded files in one archive (see gongzhi/core/backup.py)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gongzhi.core.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Write a backup (database + uploaded files) to FILE; consistent while the platform runs."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Where to write the archive, e.g. /backups/gongzhi-2026-12-03.tar")

    def handle(self, *args, **options):
        try:
            summary = backup_create(Path(options["file"]), now=timezone.now())
        except BackupError as error:
            raise CommandError(str(error), returncode=1) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written: {summary.path} ({summary.vendor}, {summary.media_files} files, "
                f"{summary.size / 1_000_000:.1f} MB)."
            )
        )
