"""``gongzhi deliberation_verify [--vote ID]``: recompute every vote's ballot chain; exit 1 if any is broken."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gongzhi.deliberation.models import Vote
from gongzhi.deliberation.selectors import chain_report


class Command(BaseCommand):
    help = "Recompute the ballot chains of votes and report any ballot altered, deleted or inserted."

    def add_arguments(self, parser):
        parser.add_argument("--vote", type=int, action="append", help="only this vote (repeatable)")

    def handle(self, *args, **options):
        votes = Vote.objects.order_by("pk")
        if options.get("vote"):
            votes = votes.filter(pk__in=options["vote"])
        broken = 0
        for vote in votes:
            report = chain_report(vote)
            if report.intact:
                self.stdout.write(f"vote {vote.pk}: {report.ballots} ballots, chain intact, head {report.head}")
            else:
                broken += 1
                for problem in report.problems:
                    self.stdout.write(f"vote {vote.pk}: {problem}")
        if broken:
            raise CommandError(f"{broken} vote(s) with a broken ballot chain")
        self.stdout.write("all ballot chains intact")
