"""Two-factor login: the RFC 6238 codes, setting it up through the pages, the login's second step on pages and in
the API, replays, recovery codes, turning it off, and the mandatory set-up for administrators."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client, override_settings

from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.people.models import Account, RecoveryCode, TwoFactorDevice
from gongzhi.people.tests.factories import PASSWORD, account_with_role
from gongzhi.people.two_factor import totp_code

MOMENT = datetime(2031, 5, 6, 2, 0, 15, tzinfo=UTC)


def _code(secret: str, moment: datetime) -> str:
    import base64

    return totp_code(base64.b32decode(secret), int(moment.timestamp()) // 30)


def test_codes_follow_rfc_6238():
    secret = b"12345678901234567890"  # the RFC's SHA-1 test key
    assert totp_code(secret, 59 // 30) == "287082"  # 94287082, six digits
    assert totp_code(secret, 1111111109 // 30) == "081804"  # 07081804
    assert totp_code(secret, 20000000000 // 30) == "353130"  # 65353130


def _login(client: Client, username: str, follow: bool = False):
    return client.post("/login/", {"username": username, "password": PASSWORD}, follow=follow)


def _turn_on(client: Client, account: Account) -> tuple[str, list[str]]:
    """Set up two-factor login through the pages; returns the secret and the recovery codes shown."""
    client.force_login(account)
    page = client.post("/me/two-factor/start/")
    assert page.status_code == 200
    secret = re.search(r'data-testid="two-factor-secret">([A-Z2-7]+)<', page.content.decode())[1]
    assert "<svg" in page.content.decode()  # the QR code, drawn by the app itself
    shown = client.post("/me/two-factor/on/", {"code": _code(secret, MOMENT)})
    assert shown.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{8}-[0-9a-f]{8})</code>", shown.content.decode())
    client.logout()
    return secret, codes


@pytest.fixture
def worker(tree):
    return account_with_role(Role.COMMUNITY_WORKER, tree["community_a"], username="worker_2fa")


@pytest.fixture
def frozen():
    with time_machine.travel(MOMENT, tick=False):
        yield


def test_setting_up_then_logging_in_with_the_code(worker, frozen):
    client = Client()
    secret, codes = _turn_on(client, worker)
    assert len(codes) == 10 and RecoveryCode.objects.filter(account=worker).count() == 10
    assert TwoFactorDevice.objects.get(account=worker).confirmed_at == MOMENT
    assert "secret" not in TwoFactorDevice.objects.get(account=worker).secret_ciphertext.lower()

    response = _login(client, "worker_2fa")
    assert response.status_code == 302 and response["Location"].startswith("/login/code/")
    assert "_auth_user_id" not in client.session  # the password alone does not log in
    wrong = client.post("/login/code/", {"code": "000000"})
    assert wrong.status_code == 401
    assert Account.objects.get(pk=worker.pk).failed_login_count == 1

    with time_machine.travel(MOMENT + timedelta(seconds=30), tick=False):
        session_before = client.session.session_key
        right = client.post("/login/code/", {"code": _code(secret, MOMENT + timedelta(seconds=30))})
        assert right.status_code == 302
        assert client.session["_auth_user_id"] == str(worker.pk)
        assert client.session.session_key != session_before  # a new session at login
    assert AuditEntry.objects.filter(action="auth.two_factor_passed", object_id=str(worker.pk)).count() == 1


def test_a_code_works_once_and_a_recovery_code_once(worker, frozen):
    client = Client()
    secret, codes = _turn_on(client, worker)
    later = MOMENT + timedelta(seconds=60)
    with time_machine.travel(later, tick=False):
        code = _code(secret, later)
        _login(client, "worker_2fa")
        assert client.post("/login/code/", {"code": code}).status_code == 302
        other = Client()
        _login(other, "worker_2fa")
        replay = other.post("/login/code/", {"code": code})
        assert replay.status_code == 401  # the same code again: refused
        assert other.post("/login/code/", {"code": codes[0].upper()}).status_code == 302
        third = Client()
        _login(third, "worker_2fa")
        assert third.post("/login/code/", {"code": codes[0]}).status_code == 401
    assert AuditEntry.objects.filter(action="auth.recovery_code_used").count() == 1


def test_the_api_token_asks_for_the_code(worker, frozen):
    client = Client()
    secret, _codes = _turn_on(client, worker)
    later = MOMENT + timedelta(seconds=90)
    with time_machine.travel(later, tick=False):
        url = "/api/v1/auth/token"
        missing = client.post(url, {"username": "worker_2fa", "password": PASSWORD}, content_type="application/json")
        assert missing.status_code == 401 and missing.json()["code"] == "two_factor_required"
        assert "code" in missing.json()["fields"]
        good = client.post(
            url,
            {"username": "worker_2fa", "password": PASSWORD, "code": _code(secret, later)},
            content_type="application/json",
        )
        assert good.status_code == 200 and good.json()["token"]


def test_turning_off_needs_the_password(worker, frozen):
    client = Client()
    _turn_on(client, worker)
    client.force_login(worker)
    refused = client.post("/me/two-factor/off/", {"password": "not-it"})
    assert refused.status_code == 401
    assert TwoFactorDevice.objects.filter(account=worker).exists()
    assert client.post("/me/two-factor/off/", {"password": PASSWORD}).status_code == 302
    assert not TwoFactorDevice.objects.filter(account=worker).exists()
    assert not RecoveryCode.objects.filter(account=worker).exists()
    assert AuditEntry.objects.filter(action="auth.two_factor_off", object_id=str(worker.pk)).exists()


@override_settings(GONGZHI_TWO_FACTOR_MANDATORY=True)
def test_administrators_must_set_it_up_and_cannot_turn_it_off(tree, frozen):
    admin = account_with_role(Role.DISTRICT_ADMIN, tree["district"], username="district_2fa")
    client = Client()
    client.force_login(admin)
    page = client.get("/places/")
    assert page.status_code == 302 and page["Location"] == "/me/two-factor/"
    assert 'role="status"' in client.get("/me/two-factor/").content.decode()  # "administrators must use it"
    token = client.post(
        "/api/v1/auth/token", {"username": "district_2fa", "password": PASSWORD}, content_type="application/json"
    )
    assert token.status_code == 403 and token.json()["code"] == "two_factor_setup_required"

    _secret, _codes = _turn_on(client, admin)
    client.force_login(admin)
    assert client.get("/places/").status_code == 200
    refused = client.post("/me/two-factor/off/", {"password": PASSWORD})
    assert refused.status_code == 409
    assert TwoFactorDevice.objects.filter(account=admin, confirmed_at__isnull=False).exists()


def test_a_resident_cannot_set_it_up(tree, frozen):
    resident = account_with_role(Role.RESIDENT, tree["household_a1"], username="resident_2fa")
    client = Client()
    client.force_login(resident)
    assert client.post("/me/two-factor/start/").status_code == 403
    assert not TwoFactorDevice.objects.exists()
