"""``gongzhi demo``: prepare the demo district in var/ (SQLite) and serve it, with no other service."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Create or reuse the demo database, load the demo district, print the logins and serve it.")

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help=_("Port to serve on (default 8000)."))
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to serve on (default 127.0.0.1)."))
        parser.add_argument("--no-serve", action="store_true", help=_("Prepare the database, then exit."))
        parser.add_argument(
            "--reset", action="store_true", help=_("Delete the SQLite demo database first and build it again.")
        )
        parser.add_argument("--scale", type=float, default=1.0, help=_("Size of the district (1.0 = full)."))

    def handle(self, *args, **options):
        from gongzhi.demo import load_demo
        from gongzhi.demo.district import DEMO_LOGINS, DEMO_PASSWORD

        if options["reset"]:
            self._reset()
        self.stdout.write(_("Database: %(name)s") % {"name": settings.DATABASES["default"]["NAME"]})
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        started = time.monotonic()
        ran = load_demo(scale=options["scale"], log=lambda message: self.stdout.write(f"  {message}"))
        if ran:
            self.stdout.write(_("Demo data loaded in %(seconds).1f s.") % {"seconds": time.monotonic() - started})
        else:
            self.stdout.write(_("The demo district is already loaded."))
        self.stdout.write(_("Demo logins (password %(password)s):") % {"password": DEMO_PASSWORD})
        self.stdout.write("  " + ", ".join(DEMO_LOGINS))
        if options["no_serve"]:
            return
        self._serve(options["host"], options["port"])

    def _reset(self) -> None:
        database = settings.DATABASES["default"]
        if database["ENGINE"] != "django.db.backends.sqlite3" or database["NAME"] == ":memory:":
            raise CommandError(_("--reset only deletes a SQLite demo database."))
        from pathlib import Path

        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database['NAME']}{suffix}").unlink(missing_ok=True)
        self.stdout.write(_("Deleted %(name)s.") % {"name": database["NAME"]})

    def _serve(self, host: str, port: int) -> None:
        import waitress

        from gongzhi.core.jobs import start_embedded_scheduler
        from gongzhi.wsgi import application

        connection.close()  # the serving threads open their own
        if settings.GONGZHI_JOBS_MODE == "embedded":
            start_embedded_scheduler(interval_seconds=30)
            self.stdout.write(_("Periodic jobs run in this process."))
        else:
            self.stdout.write(
                _("Periodic jobs run on Celery workers (GONGZHI_JOBS_MODE=%(mode)s).")
                % {"mode": settings.GONGZHI_JOBS_MODE}
            )
        self.stdout.write(_("Serving at http://%(host)s:%(port)d/ (Ctrl-C stops).") % {"host": host, "port": port})
        waitress.serve(application, host=host, port=port, threads=8)
