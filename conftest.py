"""Shared pytest fixtures: a small place tree, accounts with roles, API clients with bearer tokens."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.test import Client

from gongzhi.core.i18n import compile_catalogues
from gongzhi.core.roles import Role
from gongzhi.people.services import api_token_issue
from gongzhi.people.tests.factories import ResidentFactory, account_with_role
from gongzhi.places.tests.factories import make_tree


def pytest_configure(config):
    # `make install` compiles the catalogues; a bare `pytest` on a fresh checkout compiles them here. Django may
    # already have loaded the (then missing) catalogues while pytest-django set it up, so drop that cache.
    if compile_catalogues():
        from django.utils.translation import trans_real

        trans_real._translations = {}
        trans_real._default = None


@pytest.fixture(scope="session", autouse=True)
def clock_offset():
    """With GONGZHI_TEST_CLOCK_OFFSET_DAYS=N, the whole run sees the wall clock N days ahead (it keeps ticking).

    No test may depend on the date it runs: every service, selector and job takes ``now``, and tests pass it or
    freeze it. `.ci/run` runs the suite a second time a year ahead, so a test that reads the real clock by mistake
    fails in CI today instead of on some later date.
    """
    days = int(os.environ.get("GONGZHI_TEST_CLOCK_OFFSET_DAYS") or 0)
    if not days:
        yield None
        return
    import time_machine

    target = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    with time_machine.travel(target, tick=True) as traveller:
        yield traveller


@pytest.fixture
def inline_jobs(monkeypatch):
    """Run background tasks at once, in the caller's thread (and database transaction); returns the calls."""
    from importlib import import_module

    calls = []

    def enqueue(task, **kwargs):
        calls.append((task, kwargs))
        module_name, _, name = task.rpartition(".")
        getattr(import_module(module_name), name)(**kwargs)

    monkeypatch.setattr("gongzhi.core.jobs.enqueue", enqueue)
    return calls


@pytest.fixture
def held_jobs(monkeypatch):
    """Accept background tasks but never run them (an import stays waiting); returns the calls."""
    calls = []
    monkeypatch.setattr("gongzhi.core.jobs.enqueue", lambda task, **kwargs: calls.append((task, kwargs)))
    return calls


@pytest.fixture
def tree(db):
    return make_tree()


@pytest.fixture
def grid_worker_a1(tree):
    return account_with_role(Role.GRID_WORKER, tree["grid_a1"], username="grid_a1")


@pytest.fixture
def resident_a1(tree):
    return ResidentFactory(household=tree["household_a1"], name="张三")


@pytest.fixture
def resident_a2(tree):
    return ResidentFactory(household=tree["household_a2"], name="李四")


@pytest.fixture
def resident_b1(tree):
    return ResidentFactory(household=tree["household_b1"], name="王五")


class ApiClient:
    """The real Django test client with a bearer token in every request."""

    def __init__(self, account):
        self.account = account
        self.client = Client()
        self.token = api_token_issue(account=account)
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def get(self, path, data=None):
        return self.client.get(path, data or {}, headers=self.headers)

    def post(self, path, payload=None):
        return self.client.post(path, payload or {}, content_type="application/json", headers=self.headers)


@pytest.fixture
def api_client_for():
    return ApiClient
