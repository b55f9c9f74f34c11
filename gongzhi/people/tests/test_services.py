"""People services: login with lockout, tokens, roles, residents, revealing personal data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from gongzhi.core.errors import Locked, ValidationFailed
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.errors import InvalidCredentials, PeopleError
from gongzhi.people.models import Account, ApiToken, Resident, RoleAssignment
from gongzhi.people.services import (
    ResidentInput,
    account_unlock,
    api_token_authenticate,
    api_token_issue,
    api_token_revoke,
    id_card_is_valid,
    login_attempt,
    resident_create,
    resident_reveal,
    role_assign,
    role_end,
)
from gongzhi.people.tests.factories import PASSWORD, AccountFactory, account_with_role, make_id_card_number
from gongzhi.places.tests.factories import superuser

pytestmark = pytest.mark.django_db


def test_argon2_is_the_production_hasher():
    from gongzhi.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_login_success_resets_failures_and_is_audited():
    account = AccountFactory(username="li")
    Account.objects.filter(pk=account.pk).update(failed_login_count=3, first_failed_login_at=timezone.now())
    assert login_attempt(username="li", password=PASSWORD) == account
    account.refresh_from_db()
    assert account.failed_login_count == 0
    assert AuditEntry.objects.filter(action="auth.login", actor=account).count() == 1


def test_lockout_after_repeated_failures():
    account = AccountFactory(username="wang")
    limit = settings.GONGZHI_LOGIN_MAX_FAILURES
    for _attempt in range(limit - 1):
        with pytest.raises(InvalidCredentials):
            login_attempt(username="wang", password="wrong")
    with pytest.raises(Locked):
        login_attempt(username="wang", password="wrong")
    # Even the right password is refused while locked.
    with pytest.raises(Locked):
        login_attempt(username="wang", password=PASSWORD)
    account.refresh_from_db()
    assert account.locked_until > timezone.now()
    assert AuditEntry.objects.filter(action="auth.locked").count() == 1
    assert AuditEntry.objects.filter(action="auth.login_failed").count() == limit


def test_lock_expires(settings):
    account = AccountFactory(username="zhao")
    Account.objects.filter(pk=account.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert login_attempt(username="zhao", password=PASSWORD) == account


def test_failures_outside_the_window_start_a_new_count():
    account = AccountFactory(username="sun")
    old = timezone.now() - timedelta(minutes=settings.GONGZHI_LOGIN_FAILURE_WINDOW_MINUTES + 1)
    Account.objects.filter(pk=account.pk).update(failed_login_count=4, first_failed_login_at=old)
    with pytest.raises(InvalidCredentials):
        login_attempt(username="sun", password="wrong")
    account.refresh_from_db()
    assert account.failed_login_count == 1 and account.locked_until is None


def test_unknown_username_gives_the_same_error():
    with pytest.raises(InvalidCredentials) as error:
        login_attempt(username="nobody", password="x")
    assert error.value.code == "invalid_credentials"


def test_unlock_by_superuser():
    account = AccountFactory(username="zhou")
    Account.objects.filter(pk=account.pk).update(locked_until=timezone.now() + timedelta(minutes=5))
    account_unlock(actor=superuser(), account=account)
    assert login_attempt(username="zhou", password=PASSWORD) == account


def test_tokens_store_only_a_digest_and_can_be_revoked():
    account = AccountFactory()
    token = api_token_issue(account=account)
    record = ApiToken.objects.get(account=account)
    assert token not in record.digest and record.prefix == token[:8]
    assert api_token_authenticate(token) == account
    api_token_revoke(account=account, token=token)
    assert api_token_authenticate(token) is None


def test_expired_token_and_inactive_account_are_refused():
    account = AccountFactory()
    token = api_token_issue(account=account)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_token_authenticate(token) is None
    token = api_token_issue(account=account)
    Account.objects.filter(pk=account.pk).update(is_active=False)
    assert api_token_authenticate(token) is None
    assert api_token_authenticate("not-a-token") is None


def test_secretary_assigns_roles_in_their_community_only(tree):
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    worker = AccountFactory()
    assignment = role_assign(actor=secretary, account=worker, role=Role.GRID_WORKER, place=tree["grid_a1"])
    assert assignment.granted_by == secretary
    assert AuditEntry.objects.filter(action="role.assign").count() == 1
    assert_refused(
        "not_found", lambda: role_assign(actor=secretary, account=worker, role=Role.GRID_WORKER, place=tree["grid_b1"])
    )
    error = assert_refused(
        PeopleError.ROLE_TOO_HIGH,
        lambda: role_assign(actor=secretary, account=worker, role=Role.COMMUNITY_SECRETARY, place=tree["community_a"]),
    )
    assert isinstance(error, ValidationFailed) and error.code == "role_too_high"
    error = assert_refused(
        PeopleError.DUPLICATE_ROLE,
        lambda: role_assign(actor=secretary, account=worker, role=Role.GRID_WORKER, place=tree["grid_a1"]),
    )
    assert error.code == "duplicate_role"
    assert RoleAssignment.objects.filter(account=worker).count() == 1


def test_resident_role_is_held_on_a_household(tree):
    with pytest.raises(ValidationFailed):
        role_assign(actor=superuser(), account=AccountFactory(), role=Role.RESIDENT, place=tree["grid_a1"])


def test_ended_role_stops_reaching(tree):
    from gongzhi.core.access import reach
    from gongzhi.core.roles import Permission

    worker = account_with_role(Role.GRID_WORKER, tree["grid_a1"])
    assignment = RoleAssignment.objects.get(account=worker)
    assignment.starts_on = timezone.localdate() - timedelta(days=10)
    assignment.save()
    role_end(actor=superuser(), assignment=assignment, ends_on=timezone.localdate() - timedelta(days=1))
    worker = Account.objects.get(pk=worker.pk)
    assert reach(worker, Permission.PLACE_VIEW).is_empty


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        (make_id_card_number(birth="19900307", serial=123), True),
        ("110101199003071235", False),  # wrong check character
        ("110101199002301234", False),  # 30 February
        ("11010119900307123", False),  # too short
    ],
)
def test_id_card_validation(number, valid):
    assert id_card_is_valid(number) is valid


def test_resident_create_encrypts_and_derives(tree):
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    number = make_id_card_number(birth="19500101", serial=11)  # odd 17th digit: male
    resident = resident_create(
        actor=secretary,
        data=ResidentInput(
            name="陈老伯",
            household=tree["household_a1"],
            id_card_number=number,
            phone="13900001111",
            tags=("elderly_alone",),
        ),
    )
    assert resident.birth_date == date(1950, 1, 1) and resident.gender == "male"
    assert number not in resident.id_card_ciphertext and resident.id_card_masked.startswith("110***")
    assert [tag.code for tag in resident.tags.all()] == ["elderly_alone"]
    with pytest.raises(ValidationFailed) as error:
        resident_create(
            actor=secretary, data=ResidentInput(name="重复", household=tree["household_a1"], id_card_number=number)
        )
    assert error.value.code == "duplicate_id_card"


def test_resident_create_reports_every_bad_field_and_writes_nothing(tree):
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    with pytest.raises(ValidationFailed) as error:
        resident_create(
            actor=secretary,
            data=ResidentInput(
                name="",
                household=tree["household_a1"],
                id_card_number="123",
                phone="12",
                gender="x",
                tags=("nonsense",),
            ),
        )
    assert set(error.value.fields) == {"name", "id_card_number", "phone", "gender", "tags"}
    assert Resident.objects.count() == 0


def test_reveal_denied_for_building_head_writes_nothing(tree, resident_a1):
    head = account_with_role(Role.BUILDING_HEAD, tree["building_a1"])
    assert_refused("not_found", lambda: resident_reveal(actor=head, resident=resident_a1, purpose="上门走访核对"))
    assert not AuditEntry.objects.filter(action="resident.reveal").exists()
