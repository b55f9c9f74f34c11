"""``gongzhi restore FILE``: put a backup onto an empty database, then verify it (see gongzhi/core/backup.py)."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError

from gongzhi.core.backup import VERIFY_COMMANDS, BackupError, backup_restore


class Command(BaseCommand):
    help = "Restore a backup onto an empty database and media folder, then run every integrity check."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The archive written by `gongzhi backup`")

    def handle(self, *args, **options):
        try:
            manifest = backup_restore(Path(options["file"]))
        except BackupError as error:
            raise CommandError(str(error), returncode=1) from None
        self.stdout.write(
            f"Restored the backup of {manifest['created_at']} ({manifest['vendor']}, "
            f"{manifest['media_files']} files). Checking it:"
        )
        available = get_commands()
        failed = []
        for name in VERIFY_COMMANDS:
            if name not in available:
                continue
            try:
                call_command(name, stdout=self.stdout, stderr=self.stderr)
            except CommandError as error:
                failed.append(f"{name}: {error}")
        if failed:
            raise CommandError("The restored data did not verify: " + "; ".join(failed), returncode=1)
        self.stdout.write(self.style.SUCCESS("The restored data verifies."))
