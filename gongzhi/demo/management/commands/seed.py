"""``gongzhi seed``: a large deterministic district for benchmarks, into the configured database."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Build a deterministic district of --households households (about 2.1 residents each).")

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, required=True, help=_("Number of households."))
        parser.add_argument("--seed", type=int, default=1, help=_("Random seed (same seed, same data)."))
        parser.add_argument(
            "--streets", type=int, default=None, help=_("Number of streets (default: 1 per 10 communities).")
        )

    def handle(self, *args, **options):
        from gongzhi.demo.district import build_district
        from gongzhi.demo.figures import seed_district
        from gongzhi.places.models import Place, PlaceKind

        if options["households"] < 1:
            raise CommandError(_("--households must be at least 1."))
        spec = seed_district(options["households"], options["seed"], options["streets"])
        if Place.objects.filter(kind=PlaceKind.DISTRICT, code=spec.code, is_active=True).exists():
            raise CommandError(
                _("A district built with seed %(seed)d (%(code)s) is already in this database.")
                % {"seed": options["seed"], "code": spec.code}
            )
        self.stdout.write(
            _(
                "Building %(name)s: %(streets)d streets, %(communities)d communities, %(households)d households, "
                "%(residents)d residents."
            )
            % {
                "name": spec.name,
                "streets": len(spec.streets),
                "communities": len(spec.communities),
                "households": spec.households,
                "residents": spec.residents,
            }
        )
        started = time.monotonic()
        verbose = options["verbosity"] > 1
        built = build_district(
            spec, seed=options["seed"], log=(lambda m: self.stdout.write(f"  {m}")) if verbose else None
        )
        seconds = time.monotonic() - started
        for name, value in sorted(built.counts.items()):
            self.stdout.write(f"  {name}: {value}")
        self.stdout.write(_("Done in %(seconds).1f s.") % {"seconds": seconds})
