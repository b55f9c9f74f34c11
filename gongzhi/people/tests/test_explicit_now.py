"""Issue #15: the people services that read the clock take ``now``, and one call stamps one moment everywhere."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.models import Account, ApiToken
from gongzhi.people.services import (
    ResidentInput,
    account_is_locked,
    api_token_authenticate,
    api_token_issue,
    api_token_revoke,
    resident_clean,
    resident_create,
    role_assign,
    role_end,
)
from gongzhi.people.tests.factories import AccountFactory, account_with_role

pytestmark = pytest.mark.django_db

# Far from any day the tests run on, so a service reading the wall clock instead of ``now`` shows.
NOW = datetime(2031, 5, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DAY = date(2031, 5, 5)


def test_tokens_follow_the_given_now():
    account = AccountFactory()
    token = api_token_issue(account=account, now=NOW)
    record = ApiToken.objects.get(account=account)
    assert record.created_at == NOW
    assert record.expires_at == NOW + timedelta(days=settings.GONGZHI_API_TOKEN_DAYS)
    assert AuditEntry.objects.get(action="auth.token_issued").occurred_at == NOW
    used_at = NOW + timedelta(hours=1)
    assert api_token_authenticate(token, now=used_at) == account
    record.refresh_from_db()
    assert record.last_used_at == used_at
    # Past its expiry for ``now``, though the wall clock is years before it.
    expired = NOW + timedelta(days=settings.GONGZHI_API_TOKEN_DAYS, seconds=1)
    assert api_token_authenticate(token, now=expired) is None
    revoked_at = NOW + timedelta(hours=2)
    api_token_revoke(account=account, token=token, now=revoked_at)
    record.refresh_from_db()
    assert record.revoked_at == revoked_at
    assert AuditEntry.objects.get(action="auth.token_revoked").occurred_at == revoked_at


def test_a_lockout_is_judged_at_the_given_now():
    account = AccountFactory()
    Account.objects.filter(pk=account.pk).update(locked_until=NOW + timedelta(minutes=5))
    account.refresh_from_db()
    assert account_is_locked(account, now=NOW)
    assert not account_is_locked(account, now=NOW + timedelta(minutes=5))


def test_roles_start_and_end_on_the_day_of_the_given_now(tree):
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    worker = AccountFactory()
    assignment = role_assign(actor=secretary, account=worker, role=Role.GRID_WORKER, place=tree["grid_a1"], now=NOW)
    assignment.refresh_from_db()
    assert assignment.starts_on == DAY
    assert assignment.created_at == NOW
    assert AuditEntry.objects.get(action="role.assign").occurred_at == NOW
    ended_at = NOW + timedelta(days=30)
    role_end(actor=secretary, assignment=assignment, now=ended_at)
    assignment.refresh_from_db()
    assert assignment.ends_on == date(2031, 6, 4)
    assert AuditEntry.objects.get(action="role.end").occurred_at == ended_at


def test_a_birth_date_is_judged_against_the_given_now(tree):
    # After the wall clock's today but before ``now``'s: accepted only if the check reads ``now``.
    born = DAY - timedelta(days=1)
    assert resident_clean(ResidentInput(name="李四", birth_date=born), now=NOW)["birth_date"] == born
    assert_refused(
        "validation_failed", lambda: resident_clean(ResidentInput(name="李四", birth_date=DAY + timedelta(1)), now=NOW)
    )
    admin = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    resident = resident_create(
        actor=admin, data=ResidentInput(name="王五", household=tree["household_a1"], birth_date=born), now=NOW
    )
    resident.refresh_from_db()
    assert resident.birth_date == born
    assert resident.created_at == NOW
    assert AuditEntry.objects.get(action="resident.create").occurred_at == NOW
