"""Recompute every points account from the ledger and report any drift (there must be none)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gongzhi.points.ledger import ledger_check


class Command(BaseCommand):
    help = "Recompute every points account's balance, held and earned total from its entries; exit 1 on drift."

    def handle(self, *args, **options):
        problems = ledger_check()
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} drift(s) found in the points ledger.", returncode=1)
        self.stdout.write(self.style.SUCCESS("The points ledger is consistent: every balance equals its entries."))
