"""Check that the roll-ups agree with a recount from the raw records; exit 1 listing every disagreement."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gongzhi.rollups.checks import kpi_check
from gongzhi.rollups.services import rollups_build


class Command(BaseCommand):
    help = (
        "Recount the rolled-up figures from the raw records and compare: every daily total, and the figure groups "
        "of the top places and those right below for the month and year of each --day (default today). "
        "Exit 1 on any disagreement."
    )

    def add_arguments(self, parser):
        parser.add_argument("--day", action="append", default=[], help="a day (YYYY-MM-DD) whose month/year to check")
        parser.add_argument("--build", action="store_true", help="bring the roll-ups up to date first")
        parser.add_argument("--rebuild", action="store_true", help="recompute every roll-up from the raw records first")

    def handle(self, *args, **options):
        now = timezone.now()
        if options["build"] or options["rebuild"]:
            for report in rollups_build(now=now, rebuild=options["rebuild"]):
                self.stdout.write(f"built {report}")
        try:
            days = [date.fromisoformat(day) for day in options["day"]] or [timezone.localdate(now)]
        except ValueError as error:
            raise CommandError(f"--day: {error}") from error
        problems = kpi_check(days)
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            raise CommandError(
                f"{len(problems)} disagreement(s) between the roll-ups and the raw records.", returncode=1
            )
        self.stdout.write(self.style.SUCCESS("The roll-ups agree with the raw records."))
