"""Sessions end when idle; a login makes a new session key; the last-seen time is written at most once a minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client, override_settings

from gongzhi.core.roles import Role
from gongzhi.people.sessions import LAST_SEEN_KEY
from gongzhi.people.tests.factories import PASSWORD, account_with_role

MOMENT = datetime(2031, 8, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def worker(tree):
    return account_with_role(Role.COMMUNITY_WORKER, tree["community_a"], username="idle_worker")


@override_settings(GONGZHI_SESSION_IDLE_MINUTES=30)
def test_a_session_idle_past_the_limit_ends(worker):
    client = Client()
    with time_machine.travel(MOMENT, tick=False):
        client.post("/login/", {"username": "idle_worker", "password": PASSWORD})
        assert client.get("/me/").status_code == 200
    with time_machine.travel(MOMENT + timedelta(minutes=29), tick=False):
        assert client.get("/me/").status_code == 200  # in use: the clock starts again
    with time_machine.travel(MOMENT + timedelta(minutes=58), tick=False):
        assert client.get("/me/").status_code == 200
    with time_machine.travel(MOMENT + timedelta(minutes=89), tick=False):
        page = client.get("/me/")
        assert page.status_code == 302 and page["Location"].startswith("/login/?next=/me/")
        assert "_auth_user_id" not in client.session
        api = client.get("/api/v1/me")
        assert api.status_code == 401


@override_settings(GONGZHI_SESSION_IDLE_MINUTES=30)
def test_the_last_seen_time_is_written_at_most_once_a_minute(worker):
    client = Client()
    with time_machine.travel(MOMENT, tick=False):
        client.force_login(worker)
        stamped = client.session[LAST_SEEN_KEY]
        client.get("/me/")
    with time_machine.travel(MOMENT + timedelta(seconds=30), tick=False):
        client.get("/me/")
        assert client.session[LAST_SEEN_KEY] == stamped
    with time_machine.travel(MOMENT + timedelta(seconds=90), tick=False):
        client.get("/me/")
        assert client.session[LAST_SEEN_KEY] == stamped + 90


def test_a_login_makes_a_new_session_key(worker):
    client = Client()
    client.get("/login/")
    client.cookies["sessionid"] = "planted-by-someone-else"
    client.post("/login/", {"username": "idle_worker", "password": PASSWORD})
    assert client.cookies["sessionid"].value != "planted-by-someone-else"
    assert client.session["_auth_user_id"] == str(worker.pk)
