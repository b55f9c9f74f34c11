"""``gongzhi audit_verify [--chain KEY]``: recompute every audit chain; exit 1 naming the chain and seq if broken."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gongzhi.core.audit_chain import all_chains, verify_chain


class Command(BaseCommand):
    help = "Recompute the audit log's hash chains and report any entry altered, deleted or inserted."

    def add_arguments(self, parser):
        parser.add_argument("--chain", action="append", help="only this chain: a district id or 'system' (repeatable)")

    def handle(self, *args, **options):
        chains = options.get("chain") or all_chains()
        broken = []
        for chain in chains:
            report = verify_chain(chain)
            if report.intact:
                self.stdout.write(
                    f"audit chain {chain}: {report.entries} entries, intact, head {report.seq} {report.head}"
                )
            else:
                broken.append(chain)
                for problem in report.problems:
                    self.stdout.write(problem)
        if broken:
            raise CommandError(f"{len(broken)} audit chain(s) broken: {', '.join(broken)}", returncode=1)
        self.stdout.write("all audit chains intact")
