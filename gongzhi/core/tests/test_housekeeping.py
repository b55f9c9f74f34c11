"""Imports whose worker died are marked failed with a message, and their uploads are deleted; live ones are not."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from gongzhi.core import jobs
from gongzhi.core.housekeeping import STALLED_AFTER, progress_abandon_stalled, uploads_directory
from gongzhi.core.models import Progress
from gongzhi.people.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(tmp_path):
    with override_settings(MEDIA_ROOT=str(tmp_path)):
        yield tmp_path


def _progress(owner, status, silent_for):
    progress = Progress.objects.create(kind="people.roster_import", owner=owner, status=status, result={"file": "a"})
    Progress.objects.filter(pk=progress.pk).update(updated_at=timezone.now() - silent_for)  # update() skips auto_now
    return progress


def _upload(name, age):
    path = uploads_directory() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK")
    stamp = (timezone.now() - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_stalled_imports_fail_with_a_message_and_their_uploads_go(media):
    owner = AccountFactory(username="worker")
    dead = _progress(owner, Progress.Status.RUNNING, STALLED_AFTER + timedelta(minutes=1))
    never_started = _progress(owner, Progress.Status.PENDING, STALLED_AFTER + timedelta(hours=5))
    alive = _progress(owner, Progress.Status.RUNNING, timedelta(minutes=5))
    finished = _progress(owner, Progress.Status.SUCCEEDED, timedelta(days=3))
    old_upload = _upload("dead.xlsx", STALLED_AFTER + timedelta(minutes=1))
    old_hotline_upload = _upload("hotline/dead.xlsx", timedelta(days=1))
    fresh_upload = _upload("alive.xlsx", timedelta(minutes=5))

    outcome = progress_abandon_stalled(now=timezone.now())

    assert outcome == {"abandoned": 2, "uploads_removed": 2}
    for progress in (dead, never_started):
        progress.refresh_from_db()
        assert progress.status == Progress.Status.FAILED
        assert progress.result["file"] == "a" and progress.result["refused"]  # the page shows why
    alive.refresh_from_db()
    finished.refresh_from_db()
    assert alive.status == Progress.Status.RUNNING and finished.status == Progress.Status.SUCCEEDED
    assert not old_upload.exists() and not old_hotline_upload.exists() and fresh_upload.exists()
    assert progress_abandon_stalled(now=timezone.now()) == {"abandoned": 0, "uploads_removed": 0}


def test_the_job_runs_hourly_through_the_scheduler(media):
    (job,) = [job for job in jobs.registered_jobs() if job.name == "core.abandon_stalled_tasks"]
    assert job.every == "hour" and not job.atomic
    dead = _progress(AccountFactory(username="worker"), Progress.Status.RUNNING, STALLED_AFTER * 2)
    run = jobs.run_job("core.abandon_stalled_tasks", now=timezone.now())
    assert run.result == {"abandoned": 1, "uploads_removed": 0}
    dead.refresh_from_db()
    assert dead.status == Progress.Status.FAILED
