"""Periodic work of the red points (registered with ``@periodic_job``; each one idempotent).

- ``points.monthly_publication``: on the 2nd of each month, publish last month's list for every community with
  approved claims in it that has not published it yet.
- ``points.lock_publications``: every hour, lock the published months whose objection window is over and that
  have no open objection.
- ``points.refresh_rankings``: every hour, rebuild the score histogram behind "my rank" in districts, streets and
  communities (one transaction per scope, not one for the whole run: ~20 s for a million accounts).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from gongzhi.core.errors import DomainError
from gongzhi.core.jobs import period_bounds, periodic_job
from gongzhi.places.models import Place

from .models import Claim, Objection, Publication
from .publication import _lock, _publish, month_end
from .rankings import rank_buckets_refresh


@periodic_job(name="points.monthly_publication", every="month", at="2 02:00")
def monthly_publication(*, run_key: str, now: datetime) -> dict:
    """Publish the month before ``run_key`` in every community with approved claims that has not published it."""
    start, _end = period_bounds("month", run_key)
    month = (timezone.localtime(start) - timedelta(days=1)).date().replace(day=1)
    return publish_month(month=month, now=now)


def publish_month(*, month: date, now: datetime) -> dict:
    """Publish ``month`` wherever it has approved claims and is not published yet (safe to run again)."""
    end = month_end(month)
    community_ids = set(
        Claim.objects.filter(service_date__gte=month, service_date__lt=end, transfer__isnull=False).values_list(
            "community_id", flat=True
        )
    )
    done = set(
        Publication.objects.filter(community_id__in=community_ids, month=month)
        .exclude(state=Publication.State.OPEN)
        .values_list("community_id", flat=True)
    )
    published = []
    for community in Place.objects.filter(pk__in=community_ids - done).order_by("pk"):
        try:
            with transaction.atomic():
                _publish(
                    actor=None,
                    actor_label="job:points.monthly_publication",
                    community=community,
                    month=month,
                    now=now,
                )
        except DomainError:  # published meanwhile by the committee: nothing to do
            continue
        published.append(community.pk)
    return {"month": f"{month:%Y-%m}", "published": len(published), "communities": published}


@periodic_job(name="points.lock_publications", every="hour", at=":20")
def lock_publications(*, run_key: str, now: datetime) -> dict:
    """Lock every published month whose objection window ended with no objection open (safe to run again)."""
    due = (
        Publication.objects.filter(state=Publication.State.PUBLISHED, objections_until__lte=now)
        .exclude(objections__state=Objection.State.OPEN)
        .select_related("community")
        .order_by("pk")
    )
    locked, waiting = [], 0
    for publication in due:
        try:
            with transaction.atomic():
                _lock(actor=None, actor_label="job:points.lock_publications", publication=publication, now=now)
        except DomainError:  # an objection arrived or it was locked meanwhile
            waiting += 1
            continue
        locked.append(publication.pk)
    return {"locked": len(locked), "publications": locked, "skipped": waiting}


@periodic_job(name="points.refresh_rankings", every="hour", at=":07", atomic=False)
def refresh_rankings(*, run_key: str, now: datetime) -> dict:
    """Rebuild the histogram of scores per district, street and community that "my rank" reads (rankings.py)."""
    return rank_buckets_refresh(now=now)


@periodic_job(name="points.review_reminders", every="week", at="09:00")
def review_reminders(*, run_key: str, now: datetime) -> dict:
    """Remind each community's reviewers of claims still waiting from earlier weeks (一周一审核).

    One audit entry per community with waiting claims (the reminders list the back office shows); run once per
    week by the JobRun row, so it is safe to run again.
    """
    from django.db.models import Count, Min

    from gongzhi.core.audit import audit_bulk, audit_entry

    from .models import ClaimState

    waiting = (
        Claim.objects.filter(state=ClaimState.SUBMITTED, review_week__lt=run_key)
        .values("community_id", "community__path")
        .annotate(claims=Count("id"), oldest=Min("review_week"))
        .order_by("community_id")
    )
    reminders = [
        {"community": row["community_id"], "claims": row["claims"], "oldest_week": row["oldest"]} for row in waiting
    ]
    audit_bulk(
        [
            audit_entry(
                actor=None,
                actor_label="job:points.review_reminders",
                action="points.review_reminder",
                place_path=row["community__path"],
                changes={"week": run_key, "claims": row["claims"], "oldest_week": row["oldest"]},
                occurred_at=now,
            )
            for row in waiting
        ]
    )
    return {"week": run_key, "reminders": reminders}
