"""The one background-import runner: an uploaded file becomes a job with a progress bar and a report.

A page (or the API) calls ``start_import`` with the checked upload and the dotted path of the app's *runner*;
the person is sent to a progress page that polls the ``Progress`` row. In the background ``run_import`` opens the
saved file in the person's language and origin (so the audit log says who and from where), calls the runner,
stores its report in ``Progress.result`` and deletes the file, whatever happened.

A runner is a plain function of the app (``gongzhi.people.roster.roster_import_runner``)::

    def roster_import_runner(*, actor, file_obj, filename, progress, community_id) -> ImportReport: ...

It resolves its own ids (raising ``NotFound`` for a place out of reach), calls ``progress(phase, done, total)``
as it goes, and returns a report with ``ok`` and ``as_dict()`` (or a plain dict). It writes all or nothing: a
``DomainError`` becomes the report's ``refused`` message, a database error or a crash a message that nothing was
saved.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from . import jobs
from .actors import Actor
from .context import Origin, current_origin, origin
from .errors import DomainError, NotFound
from .models import Progress

logger = logging.getLogger(__name__)

Notify = Callable[[str, int, int], None]

# A running import reports at every phase and every few hundred rows; ten minutes of silence is worth telling the
# person (its page offers to upload again). The hourly housekeeping job gives up on it after two hours.
STALLED_AFTER = timedelta(minutes=10)


def import_folder(folder: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / folder


def stored_upload_path(folder: str, token: str, suffix: str) -> Path:
    """Where an upload waits for its job; the token is random, so a name can never point outside the folder."""
    return import_folder(folder) / f"{token}{suffix}"


def start_import(
    *,
    actor: Actor,
    upload: Any,
    folder: str,
    runner: str,
    progress_kind: str,
    estimate: int = 0,
    params: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    suffix: str = ".xlsx",
) -> Progress:
    """Save ``upload``, create its ``Progress`` (owned by ``actor``) and enqueue the import; returns the progress.

    ``params`` (JSON-able: ids, not objects) go to the runner; ``result`` seeds what the progress page shows
    before the job starts (the place's name, the file's name). The job starts when the caller's transaction
    commits.
    """
    filename = (getattr(upload, "name", "") or f"import{suffix}")[-120:]
    token = uuid.uuid4().hex
    path = stored_upload_path(folder, token, suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    upload.seek(0)
    with path.open("wb") as target:
        for chunk in upload.chunks():
            target.write(chunk)
    progress = Progress.objects.create(
        kind=progress_kind,
        owner=actor,
        total=estimate,
        result={**(result or {}), "filename": filename},
    )
    where = current_origin()
    jobs.enqueue(
        "gongzhi.core.imports.run_import",
        runner=runner,
        progress_id=progress.pk,
        actor_id=actor.pk,
        folder=folder,
        token=token,
        suffix=suffix,
        filename=filename,
        params=params or {},
        language=translation.get_language() or "",
        channel=where.channel,
        source_ip=where.source_ip,
        user_agent=where.user_agent,
    )
    return progress


def run_import(
    *,
    runner: str,
    progress_id: int,
    actor_id: int,
    folder: str,
    token: str,
    suffix: str,
    filename: str,
    params: dict[str, Any],
    language: str = "",
    channel: str = "web",
    source_ip: str | None = None,
    user_agent: str = "",
) -> None:
    """The job: run the import and record its progress and outcome. The saved upload is deleted afterwards."""
    path = stored_upload_path(folder, uuid.UUID(token).hex, suffix)
    running = Progress.objects.filter(pk=progress_id)
    if running.filter(status__in=(Progress.Status.SUCCEEDED, Progress.Status.FAILED)).exists():
        # A second delivery of a job that already finished (its worker died before saying so): keep the report.
        return

    def notify(phase: str, done: int, total: int) -> None:
        running.update(status=Progress.Status.RUNNING, message=phase, done=done, total=total, updated_at=timezone.now())

    def finish(status: str, **outcome: Any) -> None:
        progress = running.first()
        if progress is None:
            return
        running.update(
            status=status,
            message="done",
            done=progress.total if status == Progress.Status.SUCCEEDED else progress.done,
            result={**progress.result, **outcome},
            updated_at=timezone.now(),
        )

    with (
        translation.override(language or settings.LANGUAGE_CODE),
        origin(Origin(channel=channel, source_ip=source_ip, user_agent=user_agent)),
    ):
        running.update(status=Progress.Status.RUNNING, message="reading", updated_at=timezone.now())
        try:
            actor = get_user_model().objects.get(pk=actor_id, is_active=True)
            run = import_string(runner)
            with path.open("rb") as file_obj:
                report = run(actor=actor, file_obj=file_obj, filename=filename, progress=notify, **params)
        except get_user_model().DoesNotExist:
            finish(Progress.Status.FAILED, refused=str(_("Your account can no longer import files.")))
        except DomainError as exc:
            finish(Progress.Status.FAILED, refused=str(exc.message))
        except FileNotFoundError:
            finish(Progress.Status.FAILED, refused=str(_("The uploaded file is gone. Upload it again.")))
        except (IntegrityError, DatabaseError):
            logger.exception("Import %s (%s) failed while writing", progress_id, runner)
            finish(
                Progress.Status.FAILED,
                refused=str(_("The data changed while this file was being imported. Nothing was saved; try again.")),
            )
        except Exception:
            logger.exception("Import %s (%s) failed", progress_id, runner)
            finish(Progress.Status.FAILED, refused=str(_("The import failed unexpectedly. Nothing was saved.")))
        else:
            outcome = report if isinstance(report, dict) else report.as_dict()
            ok = outcome.get("ok", True) if isinstance(report, dict) else report.ok
            finish(Progress.Status.SUCCEEDED if ok else Progress.Status.FAILED, **outcome)
        finally:
            with contextlib.suppress(OSError):
                path.unlink()


# ---------------------------------------------------------------- the progress page


def access_import_progress(actor: Actor, progress_id: int, *, kind: str) -> Progress:
    """The import's progress if ``actor`` started it; NotFound otherwise (someone else's looks like none)."""
    progress = Progress.objects.filter(pk=progress_id, owner_id=actor.pk, kind=kind).first()
    if progress is None:
        raise NotFound()
    return progress


def import_progress_context(progress: Progress, *, now: datetime, errors_shown: int) -> dict[str, Any]:
    """What every import's progress page shows: finished or stalled, the report, the first ``errors_shown`` rows
    in error and how many more there are."""
    result = progress.result or {}
    errors = result.get("errors") or []
    return {
        "progress": progress,
        "result": result,
        "finished": progress.status in (Progress.Status.SUCCEEDED, Progress.Status.FAILED),
        "stalled": progress.status in (Progress.Status.PENDING, Progress.Status.RUNNING)
        and now - progress.updated_at > STALLED_AFTER,
        "errors": errors[:errors_shown],
        "errors_more": max(int(result.get("error_count") or len(errors)) - errors_shown, 0),
    }
