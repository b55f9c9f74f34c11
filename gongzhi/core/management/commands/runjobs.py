"""``gongzhi runjobs``: run periodic jobs without Celery, or backfill one period of one job."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core import jobs


class Command(BaseCommand):
    help = _("Run due periodic jobs once (--once), in a loop (--forever), or one job for one period (--job/--key).")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help=_("Run the jobs due now, then exit."))
        parser.add_argument("--forever", action="store_true", help=_("Keep running due jobs every --interval."))
        parser.add_argument("--interval", type=float, default=30, help=_("Seconds between rounds (default 30)."))
        parser.add_argument("--job", help=_("Name of one job to run (backfill)."))
        parser.add_argument("--key", help=_("Period to run --job for, e.g. 2026-11 or 2026-W47 (default: now)."))
        parser.add_argument("--list", action="store_true", help=_("List the registered jobs."))

    def handle(self, *args, **options):
        chosen = [options["once"], options["forever"], bool(options["job"]), options["list"]]
        if sum(chosen) != 1:
            raise CommandError(_("Choose one of --once, --forever, --job NAME [--key KEY] or --list."))
        if options["key"] and not options["job"]:
            raise CommandError(_("--key needs --job."))
        if options["list"]:
            self._list()
        elif options["job"]:
            self._backfill(options["job"], options["key"])
        elif options["once"]:
            self._round()
        else:
            self._forever(options["interval"])

    def _list(self) -> None:
        registered = jobs.registered_jobs()
        if not registered:
            self.stdout.write(_("No jobs are registered."))
        now = timezone.now()
        for job in registered:
            self.stdout.write(
                _("%(name)s: every %(every)s, current period %(key)s")
                % {"name": job.name, "every": job.every, "key": job.run_key(now)}
            )

    def _report(self, run) -> None:
        line = f"{run.job_name} {run.run_key} {run.status} " + _("attempt %(n)d") % {"n": run.attempts}
        if run.status == run.Status.FAILED:
            self.stdout.write(self.style.ERROR(line))
            self.stdout.write(run.error.strip().splitlines()[-1] if run.error.strip() else "")
        else:
            self.stdout.write(self.style.SUCCESS(line) + f" {run.result}")

    def _round(self) -> int:
        runs = jobs.run_due_jobs()
        for run in runs:
            self._report(run)
        return len(runs)

    def _backfill(self, name: str, key: str | None) -> None:
        try:
            run = jobs.run_job(name, key)
        except jobs.JobError as exc:
            raise CommandError(str(exc)) from None
        if run is None:
            job = jobs.get_job(name)
            key = key or job.run_key(timezone.now())
            existing = jobs.JobRun.objects.filter(job_name=name, run_key=key).first()
            status = existing.status if existing else "?"
            self.stdout.write(
                _("%(name)s %(key)s was not run: it is already %(status)s.")
                % {"name": name, "key": key, "status": status}
            )
            return
        self._report(run)
        if run.status == run.Status.FAILED:
            raise CommandError(_("The job failed."))

    def _forever(self, interval: float) -> None:
        self.stdout.write(_("Running due jobs every %(seconds)s seconds; Ctrl-C stops.") % {"seconds": interval})
        try:
            while True:
                close_old_connections()
                try:
                    self._round()
                except Exception as exc:  # keep the loop alive; the next round tries again
                    self.stderr.write(_("Round failed: %(error)s") % {"error": exc})
                finally:
                    close_old_connections()
                time.sleep(interval)
        except KeyboardInterrupt:
            self.stdout.write(_("Stopped."))
