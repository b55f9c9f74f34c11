"""Rate limits (429 in the error shape, Retry-After, nothing written) and the client address behind trusted proxies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client, RequestFactory, override_settings

from gongzhi.core.middleware import client_ip
from gongzhi.core.ratelimit import rate_limit
from gongzhi.core.testing import assert_refused
from gongzhi.people.models import Account
from gongzhi.people.tests.factories import PASSWORD, AccountFactory

MOMENT = datetime(2031, 7, 1, 4, 0, 5, tzinfo=UTC)
TIGHT = {
    "login": {"account": 3, "address": 5, "seconds": 60},
    "token": {"account": 3, "address": 5, "seconds": 60},
    "claim": {"account": 2, "address": 100, "seconds": 60},
}


@pytest.fixture
def limited():
    cache.clear()
    with (
        override_settings(GONGZHI_RATE_LIMITING=True, GONGZHI_RATE_LIMITS=TIGHT),
        time_machine.travel(MOMENT, tick=False),
    ):
        yield
    cache.clear()


def test_the_fourth_token_request_in_a_minute_is_refused(db, limited):
    AccountFactory(username="clerk")
    client = Client()
    body = {"username": "clerk", "password": "wrong"}
    for _attempt in range(3):
        assert client.post("/api/v1/auth/token", body, content_type="application/json").status_code == 401
    refused = client.post("/api/v1/auth/token", body, content_type="application/json")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited" and refused.json()["message"]
    assert refused["Retry-After"] == "55"
    # Refused before the password was even checked: the lockout's count did not move.
    assert Account.objects.get(username="clerk").failed_login_count == 3


def test_the_limit_opens_again_in_the_next_window(db, limited):
    for _attempt in range(3):
        rate_limit("login", who="username:a", address=None, now=MOMENT)
    with pytest.raises(Exception) as refused:
        rate_limit("login", who="username:a", address=None, now=MOMENT)
    assert refused.value.status == 429
    rate_limit("login", who="username:a", address=None, now=datetime(2031, 7, 1, 4, 1, 0, tzinfo=UTC))


def test_the_address_limit_holds_across_usernames(db, limited):
    client = Client()
    for number in range(5):
        client.post("/login/", {"username": f"nobody{number}", "password": "x"})
    page = client.post("/login/", {"username": "someone-else", "password": PASSWORD})
    assert page.status_code == 429
    assert 'data-testid="login-error"' in page.content.decode()


def test_a_claim_past_the_limit_writes_nothing(limited, tree):
    from gongzhi.points.tests.publication_factories import PointsWorld

    world = PointsWorld(tree)
    login, account = world.resident("household_a1")
    client = Client()
    client.force_login(login)

    def claim(value: int):
        item = world.items[value]
        body = {
            "account_id": account.pk,
            "item_id": item.pk,
            "service_date": "2031-06-30",
            "idempotency_key": f"k{value}",
        }
        return client.post("/api/v1/points/claims", body, content_type="application/json")

    assert claim(3).status_code == 201
    assert claim(5).status_code == 201
    assert_refused("rate_limited", lambda: claim(8), status=429)


def test_off_means_off(db):
    cache.clear()
    with override_settings(GONGZHI_RATE_LIMITING=False, GONGZHI_RATE_LIMITS=TIGHT):
        for _attempt in range(20):
            rate_limit("login", who="username:b", address="10.0.0.1", now=MOMENT)


# ---------------------------------------------------------------- the client address


def _request(remote: str, forwarded: str = ""):
    meta = {"REMOTE_ADDR": remote}
    if forwarded:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@override_settings(GONGZHI_TRUSTED_PROXIES=[])
def test_without_trusted_proxies_the_header_is_ignored():
    assert client_ip(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"


@override_settings(GONGZHI_TRUSTED_PROXIES=["10.0.0.0/24"])
def test_behind_a_trusted_proxy_the_nearest_untrusted_address_is_the_client():
    # The client wrote "1.2.3.4" itself; the balancer (10.0.0.2) appended the address it saw.
    assert client_ip(_request("10.0.0.2", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    # Two proxies in a row: both skipped.
    assert client_ip(_request("10.0.0.2", "198.51.100.7, 10.0.0.3")) == "198.51.100.7"
    # A request straight from the internet cannot pick its address by sending the header.
    assert client_ip(_request("203.0.113.9", "1.2.3.4")) == "203.0.113.9"
    # Garbage in the header: the proxy's own address, never the garbage.
    assert client_ip(_request("10.0.0.2", "not-an-address")) == "10.0.0.2"


def test_votes_are_limited_per_address_too(db):
    from datetime import timedelta

    from gongzhi.deliberation.tests.factories import NOW, make_world, open_vote

    world = make_world()
    vote = open_vote(world, closes_at=NOW + timedelta(hours=1))
    cache.clear()
    limits = {"vote": {"account": 10, "address": 1, "seconds": 60}}
    with (
        override_settings(GONGZHI_RATE_LIMITING=True, GONGZHI_RATE_LIMITS=limits),
        time_machine.travel(NOW, tick=False),
    ):
        client = Client()
        client.force_login(world["zhang"])
        url = f"/api/v1/deliberation/votes/{vote.pk}/ballots"
        assert client.post(url, {"choice": 1}, content_type="application/json").status_code == 201
        client.force_login(world["wang"])  # another household, from the same address within the minute
        assert_refused(
            "rate_limited", lambda: client.post(url, {"choice": 1}, content_type="application/json"), status=429
        )
    cache.clear()
