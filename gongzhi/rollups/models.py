"""Daily totals of the heavy figures, per measure, place (every level down to the building) and local day.

``DailyTotal`` holds one number per (measure, place, day): e.g. ``points.ledger.issued`` for a street on
2026-11-03 is the points earned that day by the accounts under the street. A figure for a place and a period is
then one range scan of the unique index (measure, place_id, day): at most 366 rows a year per measure, whatever the
amount of raw data. ``RollupState`` says, per source, how far the totals reach, so that readers add exactly what
the totals do not hold yet (see ``gongzhi.rollups.sources``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DailyTotal(models.Model):
    # Written only by the roll-up job (gongzhi.rollups.services): never on the write path of a posting.
    measure = models.CharField(_("measure"), max_length=96)
    # No foreign key: the totals are derived data, rebuilt from the raw records; a constraint would only slow the
    # bulk INSERT ... SELECT and lock places.
    place_id = models.BigIntegerField(_("place"))
    day = models.DateField(_("day"))
    value = models.BigIntegerField(_("value"), default=0)

    class Meta:
        verbose_name = _("daily total")
        verbose_name_plural = _("daily totals")
        constraints = [models.UniqueConstraint(fields=["measure", "place_id", "day"], name="dailytotal_unique_key")]
        # The readers ask for a few places, their measures and a range of days; the job writes by measure and day.
        indexes = [models.Index(fields=["place_id", "measure", "day"], name="dailytotal_place_idx")]

    def __str__(self) -> str:
        return f"{self.measure} {self.place_id} {self.day}: {self.value}"


class RollupState(models.Model):
    """How far one source's totals reach.

    Append-only sources (the points ledger): the totals hold exactly the raw rows with ``pk <= built_to``;
    ``observed`` is the highest pk seen at the last run, merged at the next one (by then every transaction that
    held a lower pk has committed). Changing sources (cases): the totals hold the days up to ``built_through`` as
    they were at the last run; rows changed since (``pk > built_to`` or a change record ``pk > changes_to``) make
    their days dirty, and readers count dirty days and days after ``built_through`` from the raw records.
    """

    source = models.CharField(_("source"), max_length=64, primary_key=True)
    built_to = models.BigIntegerField(_("rows rolled up up to pk"), default=0)
    observed = models.BigIntegerField(_("highest pk seen at the last run"), default=0)
    changes_to = models.BigIntegerField(_("changes rolled up up to pk"), default=0)
    changes_observed = models.BigIntegerField(_("highest change pk seen at the last run"), default=0)
    built_through = models.DateField(_("days rolled up through"), null=True, blank=True)
    built_at = models.DateTimeField(_("last run"), null=True, blank=True)

    class Meta:
        verbose_name = _("roll-up state")
        verbose_name_plural = _("roll-up states")

    def __str__(self) -> str:
        return f"{self.source} ≤ {self.built_to}"


class FirstSeen(models.Model):
    """Whom a distinct count has counted: one row per (measure, bucket, subject), insert-only but for ``day``.

    Distinct counts (people who earned points in a month, households that have ever earned) cannot be summed from
    daily totals. The roll-up job records each subject once per calendar bucket (the week, month, quarter or year
    it starts, ``bucket``) or once for ever (``bucket`` = 1900-01-01, ``day`` the first day it was seen, moved
    earlier by a back-dated row); the number of new subjects then *is* additive, and is kept in ``DailyTotal``
    (see ``gongzhi.rollups.distinct``).
    """

    measure = models.CharField(_("measure"), max_length=96)
    bucket = models.DateField(_("bucket"))
    subject = models.CharField(_("subject"), max_length=255)
    # The place path of the row that first counted the subject: which places' totals it was added to.
    place_path = models.CharField(_("place path"), max_length=255)
    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("first seen")
        verbose_name_plural = _("first seen")
        constraints = [
            models.UniqueConstraint(fields=["measure", "bucket", "subject"], name="firstseen_unique_subject")
        ]

    def __str__(self) -> str:
        return f"{self.measure} {self.bucket} {self.subject}"
