"""The retention job: periods from settings, frozen ``now``, idempotent; audit entries and ledger rows untouched."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session

from gongzhi.cases.models import Notification
from gongzhi.core.jobs import run_job
from gongzhi.core.models import AuditEntry, JobRun
from gongzhi.people.anonymise import ANONYMISED_NAME
from gongzhi.people.models import ApiToken, Resident
from gongzhi.people.retention import retention_enforce, retention_periods
from gongzhi.people.services import api_token_issue
from gongzhi.people.tests.factories import AccountFactory, ResidentFactory

NOW = datetime(2031, 6, 1, 3, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = NOW.date()


@pytest.fixture
def residents(tree):
    long_gone = ResidentFactory(household=tree["household_a1"], name="早已搬走", is_active=False)
    Resident.objects.filter(pk=long_gone.pk).update(left_on=TODAY - timedelta(days=731))
    recently_gone = ResidentFactory(household=tree["household_a1"], name="刚搬走", is_active=False)
    Resident.objects.filter(pk=recently_gone.pk).update(left_on=TODAY - timedelta(days=30))
    exactly = ResidentFactory(household=tree["household_a2"], name="整两年", is_active=False)
    Resident.objects.filter(pk=exactly.pk).update(left_on=TODAY - timedelta(days=730))
    staying = ResidentFactory(household=tree["household_a2"], name="还住着")
    return {"long_gone": long_gone, "recently_gone": recently_gone, "exactly": exactly, "staying": staying}


def _name(resident):
    return Resident.objects.get(pk=resident.pk).name


def test_defaults_are_documented_values(settings):
    del settings.GONGZHI_RETENTION
    periods = retention_periods()
    assert (periods.moved_out_residents_days, periods.api_tokens_days, periods.notifications_days) == (730, 90, 180)


def test_residents_who_left_long_ago_are_anonymised_as_the_system(residents, settings):
    settings.GONGZHI_RETENTION = {"moved_out_residents_days": 730}
    done = retention_enforce(now=NOW)
    assert done["residents_anonymised"] == 2
    assert _name(residents["long_gone"]) == ANONYMISED_NAME and _name(residents["exactly"]) == ANONYMISED_NAME
    assert _name(residents["recently_gone"]) == "刚搬走" and _name(residents["staying"]) == "还住着"
    entries = AuditEntry.objects.filter(action="resident.anonymise")
    assert entries.count() == 2
    assert all(entry.actor_id is None and entry.actor_label == "system" for entry in entries)
    assert all("730" in entry.purpose for entry in entries)
    # Idempotent: the second run on the same day finds nothing to do.
    assert retention_enforce(now=NOW)["residents_anonymised"] == 0


def test_zero_switches_a_step_off(residents, settings):
    settings.GONGZHI_RETENTION = {"moved_out_residents_days": 0}
    assert retention_enforce(now=NOW)["residents_anonymised"] == 0
    assert _name(residents["long_gone"]) == "早已搬走"


def test_tokens_sessions_and_notifications(tree, settings):
    settings.GONGZHI_RETENTION = {"api_tokens_days": 90, "notifications_days": 180}
    account = AccountFactory()
    api_token_issue(account=account, now=NOW - timedelta(days=200))  # expired 170 days ago (30-day tokens)
    api_token_issue(account=account, now=NOW - timedelta(days=10))  # live
    old_session = SessionStore()
    old_session["x"] = 1
    old_session.create()
    Session.objects.filter(session_key=old_session.session_key).update(expire_date=NOW - timedelta(minutes=1))
    live_session = SessionStore()
    live_session.create()
    Session.objects.filter(session_key=live_session.session_key).update(expire_date=NOW + timedelta(hours=1))
    read_old = Notification.objects.create(
        recipient=account,
        kind="x",
        text="old read",
        created_at=NOW - timedelta(days=400),
        read_at=NOW - timedelta(days=181),
    )
    read_recent = Notification.objects.create(
        recipient=account,
        kind="x",
        text="recent read",
        created_at=NOW - timedelta(days=400),
        read_at=NOW - timedelta(days=10),
    )
    unread_old = Notification.objects.create(
        recipient=account, kind="x", text="unread 361", created_at=NOW - timedelta(days=361)
    )
    unread_recent = Notification.objects.create(
        recipient=account, kind="x", text="unread 200", created_at=NOW - timedelta(days=200)
    )
    audit_before = AuditEntry.objects.count()
    done = retention_enforce(now=NOW)
    assert done["api_tokens_deleted"] == 1 and ApiToken.objects.filter(account=account).count() == 1
    assert done["sessions_deleted"] == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live_session.session_key]
    remaining = set(Notification.objects.values_list("pk", flat=True))
    assert remaining == {read_recent.pk, unread_recent.pk}
    assert read_old.pk not in remaining and unread_old.pk not in remaining
    assert AuditEntry.objects.count() == audit_before  # never deletes an audit entry
    again = retention_enforce(now=NOW)
    assert again == {key: 0 for key in again}


def test_ledger_and_audit_untouched_when_a_points_holder_is_anonymised(tree, settings):
    from gongzhi.points.models import Entry, PointsAccount
    from gongzhi.points.tests.factories import resident_with_login

    settings.GONGZHI_RETENTION = {"moved_out_residents_days": 730}
    _login, account = resident_with_login(tree["household_a1"], name="有积分")
    Resident.objects.filter(pk=account.resident_id).update(is_active=False, left_on=date(2020, 1, 1))
    audit_before = set(AuditEntry.objects.values_list("pk", flat=True))
    accounts_before = list(PointsAccount.objects.values_list("pk", "balance", "held", "earned_total"))
    entries_before = Entry.objects.count()
    assert retention_enforce(now=NOW)["residents_anonymised"] == 1
    assert audit_before <= set(AuditEntry.objects.values_list("pk", flat=True))
    assert list(PointsAccount.objects.values_list("pk", "balance", "held", "earned_total")) == accounts_before
    assert Entry.objects.count() == entries_before


def test_registered_as_a_daily_job(residents, settings):
    settings.GONGZHI_RETENTION = {"moved_out_residents_days": 730}
    run = run_job("people.retention", now=NOW)
    assert run.status == JobRun.Status.SUCCEEDED and run.result["residents_anonymised"] == 2
    assert run.run_key == TODAY.isoformat()
    assert run_job("people.retention", now=NOW) is None  # once per day
