"""Clearing up after background work that died: long tasks whose worker stopped, and the uploads they left.

A roster or hotline import runs in a background task that updates its ``Progress`` row as it goes and deletes its
upload when it ends. If the process is killed (a restart, a deploy, the machine going down) the row stays
"running" for ever — the person's progress page spins — and the upload, with residents' ID card numbers in it,
stays in ``MEDIA_ROOT/imports/``. Both imports write in one transaction, so a killed one saved nothing.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from .models import Progress

# A running import reports progress at every phase and every few hundred rows; two hours of silence means its
# worker is gone. Uploads are kept as long, so a slow import never loses its file.
STALLED_AFTER = timedelta(hours=2)


def uploads_directory() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def progress_abandon_stalled(*, now: datetime, stalled_after: timedelta = STALLED_AFTER) -> dict[str, int]:
    """Mark waiting or running tasks silent since ``now - stalled_after`` as failed, saying what to do, and delete
    uploads older than that. Idempotent: a second run finds nothing left to do."""
    cutoff = now - stalled_after
    stalled = Progress.objects.filter(
        status__in=[Progress.Status.PENDING, Progress.Status.RUNNING], updated_at__lt=cutoff
    )
    abandoned = 0
    for progress in stalled.only("pk", "result"):
        # Guarded by status and time, so a task that reports in meanwhile keeps running.
        abandoned += Progress.objects.filter(
            pk=progress.pk, status__in=[Progress.Status.PENDING, Progress.Status.RUNNING], updated_at__lt=cutoff
        ).update(
            status=Progress.Status.FAILED,
            message="abandoned",
            result={
                **(progress.result or {}),
                "refused": str(
                    _(
                        "The import stopped before it finished (the server was restarted). Nothing was saved; "
                        "upload the file again."
                    )
                ),
            },
            updated_at=now,
        )
    removed = 0
    oldest = cutoff.timestamp()
    directory = uploads_directory()
    if directory.is_dir():
        for path in directory.rglob("*"):
            try:
                if path.is_file() and path.stat().st_mtime < oldest:
                    os.remove(path)
                    removed += 1
            except OSError:  # gone already (the task finished meanwhile)
                continue
    return {"abandoned": abandoned, "uploads_removed": removed}
