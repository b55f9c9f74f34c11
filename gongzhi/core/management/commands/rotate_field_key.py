"""``gongzhi rotate_field_key``: re-encrypt every encrypted field under the current GONGZHI_FIELD_KEY."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from gongzhi.core.audit import audit_record
from gongzhi.core.crypto import current_key_id, rotate_encrypted_fields


class Command(BaseCommand):
    help = (
        "Re-encrypt ID card numbers and other encrypted fields under the current GONGZHI_FIELD_KEY, in batches "
        "(safe while the platform runs; stop it any time and run it again to go on). Keep the old key in "
        "GONGZHI_FIELD_KEYS_RETIRED until this reports nothing left."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        log = self.stdout.write if options["verbosity"] >= 2 else None
        changed = rotate_encrypted_fields(batch_size=options["batch_size"], log=log)
        audit_record(
            actor=None,
            actor_label="cli:rotate_field_key",
            action="crypto.key_rotation",
            changes={"key": current_key_id(), "re_encrypted": changed},
        )
        for label, count in changed.items():
            self.stdout.write(f"{label}: {count} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Every encrypted field is under key {current_key_id()}."))
