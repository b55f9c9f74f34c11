"""``gongzhi demo``: prepare the demo district in var/ (SQLite) and serve it, with no other service.

On a database loaded on an earlier day it tops the demo up (``load_demo`` calls each step's ``top_up``), so the
district a newcomer sees is current: an open exchange window, orders waiting at the counter, a review queue,
requests inside and past their deadlines.

What it prints is for the person running it, in their language: one line a step; module paths, logger names and
the periodic jobs' log lines only with ``--verbosity 2``.
"""

from __future__ import annotations

import logging
import os
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter
from django.db import connection
from django.utils.translation import gettext as _

# Loggers that report routine work (each periodic job, the server starting, a page not found): details for
# --verbosity 2; below it they log only what goes wrong.
ROUTINE_LOGGERS = {
    "gongzhi": logging.WARNING,
    "waitress": logging.WARNING,
    "celery": logging.WARNING,
    "django.request": logging.ERROR,  # pages not found
}


class _HelpFormatter(DjangoHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix if prefix is not None else _("usage: "))


def _common_option_help() -> dict[str, str]:
    """Django's and argparse's own options, described in the reader's language."""
    return {
        "help": _("Show this help and exit."),
        "version": _("Show the version number and exit."),
        "verbosity": _(
            "How much to print: 0 = only errors, 1 = normal, 2 = also each step's details and the log, 3 = more."
        ),
        "settings": _('The settings module to use, e.g. "gongzhi.settings" (default: DJANGO_SETTINGS_MODULE).'),
        "pythonpath": _("A directory to add to the Python path."),
        "traceback": _("Show the full traceback when the command fails."),
        "no_color": _("Print without colours."),
        "force_color": _("Print in colour even when the output is not a terminal."),
        "skip_checks": _("Skip the system checks."),
    }


class Command(BaseCommand):
    help = _("Create or reuse the demo database, load the demo district, print the logins and serve it.")

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser._optionals.title = _("options")
        descriptions = _common_option_help()
        for action in parser._actions:
            if action.dest in descriptions:
                action.help = descriptions[action.dest]
        return parser

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help=_("Port to serve on (default 8000)."))
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to serve on (default 127.0.0.1)."))
        parser.add_argument("--no-serve", action="store_true", help=_("Prepare the database, then exit."))
        parser.add_argument(
            "--reset", action="store_true", help=_("Delete the SQLite demo database first and build it again.")
        )
        parser.add_argument("--scale", type=float, default=1.0, help=_("Size of the district (1.0 = full)."))

    def handle(self, *args, **options):
        from gongzhi.demo import demo_is_loaded, load_demo
        from gongzhi.demo.district import DEMO_LOGINS, DEMO_PASSWORD

        verbosity = self.verbosity = options["verbosity"]
        self._quiet_routine_logs()
        if "GONGZHI_TWO_FACTOR_MANDATORY" not in os.environ:
            # The demo's shared logins are for looking around; a real deployment makes administrators set up
            # two-factor login before anything else (people/two_factor.py).
            settings.GONGZHI_TWO_FACTOR_MANDATORY = False
        if options["reset"]:
            self._reset()
        self.stdout.write(_("Database: %(name)s") % {"name": settings.DATABASES["default"]["NAME"]})
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        started = time.monotonic()
        loaded_before = demo_is_loaded()
        ran = load_demo(
            scale=options["scale"],
            log=(lambda message: self.stdout.write(f"  {message}")) if verbosity >= 1 else None,
            detail=(lambda message: self.stdout.write(f"    {message}")) if verbosity >= 2 else None,
        )
        seconds = time.monotonic() - started
        if verbosity >= 2:
            for step, counts in ran.items():
                self.stdout.write(f"    {step}: {', '.join(f'{name} {value}' for name, value in counts.items())}")
        if not ran:
            self.stdout.write(_("The demo district is loaded and up to date."))
        elif loaded_before:
            self.stdout.write(_("The demo district was brought up to date in %(seconds).1f s.") % {"seconds": seconds})
        else:
            self.stdout.write(_("Demo data loaded in %(seconds).1f s.") % {"seconds": seconds})
        self.stdout.write(_("Demo logins (password %(password)s):") % {"password": DEMO_PASSWORD})
        self.stdout.write("  " + ", ".join(DEMO_LOGINS))
        if options["no_serve"]:
            return
        self._serve(options["host"], options["port"])

    def _quiet_routine_logs(self) -> None:
        """Below --verbosity 2, only what goes wrong is logged, and without the logger's (module's) name."""
        if self.verbosity >= 2:
            return
        for name, level in ROUTINE_LOGGERS.items():
            logging.getLogger(name).setLevel(level)
        for handler in logging.getLogger().handlers:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

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

        self._quiet_routine_logs()  # setting up the WSGI application configured the logging again
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
