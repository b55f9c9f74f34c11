"""The authorisation matrix of the pages, by URL name: every named URL of gongzhi/urls.py has a rule.

Anonymous: a public page answers (no 5xx, no redirect to the login page); any other page sends anonymous visitors
to the login page (or answers 404 / 405 where the rule says so, a page that hides itself or takes only POST).
Scoped pages (their URL names an object): the community secretary of community A gets the not-found page for the
object of community B, the same as for a missing one, and the page for community A's object (no 404, no 5xx).
A URL name without a rule in ``PAGE_RULES`` fails ``test_every_url_name_has_a_rule``; the Django admin and the API
have one rule each for their namespace (the admin's own staff login; the API has its own matrix).
"""

from __future__ import annotations

import json
import os

import pytest
from django.conf import settings
from django.db import transaction
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from gongzhi.core.roles import Role
from gongzhi.core.testing_matrix import PUBLIC, stale, unregistered
from gongzhi.core.tests.matrix_world import UNBUILT_KINDS, build_matrix_world
from gongzhi.core.tests.page_rules import NAMESPACE_RULES, PAGE_RULES, PageRule

pytestmark = [pytest.mark.django_db, pytest.mark.matrix]


def url_names() -> list[tuple[str, str]]:
    """(name, route) of every named URL pattern, namespaced as ``reverse`` spells it."""

    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace) if part) or None
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield (f"{namespace}:{pattern.name}" if namespace else pattern.name, prefix + str(pattern.pattern))

    return sorted(set(walk(get_resolver().url_patterns, "", None)))


def _ruled(names) -> list[str]:
    return [name for name in names if name.split(":")[0] not in NAMESPACE_RULES]


NAMES = _ruled(name for name, _route in url_names())


def test_every_url_name_has_a_rule():
    missing = unregistered(PAGE_RULES, NAMES)
    assert not missing, f"pages without an access rule in core/tests/page_rules.py: {missing}"
    assert not stale(PAGE_RULES, NAMES), "rules for URL names that no longer exist"


def test_the_checker_fails_on_a_new_page():
    assert unregistered(PAGE_RULES, [*NAMES, "brand_new_page"]) == ["brand_new_page"]
    assert _ruled(["admin:index", "api:whatever", "new"]) == ["new"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        built = build_matrix_world()
        yield built
        transaction.set_rollback(True)


def _url(world, rule: PageRule, name: str, *, in_scope: bool) -> str:
    from django.urls import reverse

    kwargs = {
        key: (value[1:] if value.startswith("=") else world.object_id(value, in_scope=in_scope))
        for key, value in rule.params.items()
    }
    return reverse(name, kwargs=kwargs)


def _rolled_back(call):
    with transaction.atomic():
        response = call()
        transaction.set_rollback(True)
    return response


@pytest.mark.parametrize("name", NAMES)
def test_page_anonymous_and_out_of_scope(world, name):
    rule = PAGE_RULES[name]
    client = Client()
    url = _url(world, rule, name, in_scope=True)
    response = _rolled_back(lambda: getattr(client, rule.method)(url))
    if OBSERVE:
        _observe(world, rule, name, url, response)
        return
    assert response.status_code < 500
    login = resolve_url(settings.LOGIN_URL)
    redirected_to_login = response.status_code == 302 and response["Location"].startswith(login)
    if rule.needs == PUBLIC:
        assert not redirected_to_login, f"public page {name} sent an anonymous visitor to the login page"
    elif rule.anonymous == 302:
        assert redirected_to_login, f"{name}: anonymous got {response.status_code}, expected the login page"
    else:
        assert response.status_code == rule.anonymous, f"{name}: anonymous got {response.status_code}"
    if not rule.scoped or rule.needs == PUBLIC or rule.across:
        return
    client.force_login(world.accounts[rule.role])
    outside = _url(world, rule, name, in_scope=False)
    response = _rolled_back(lambda: getattr(client, rule.method)(outside))
    assert response.status_code == 404, f"{name} out of scope: {response.status_code}"
    missing = any(kind in UNBUILT_KINDS for kind in rule.params.values())
    if rule.inside_ok and not missing:
        response = _rolled_back(lambda: getattr(client, rule.method)(url))
        assert response.status_code not in (401, 403, 404) and response.status_code < 500, (
            f"{name} in scope: {response.status_code}"
        )


OBSERVE = os.environ.get("GONGZHI_MATRIX_OBSERVE")


def _observe(world, rule, name, url, response):  # pragma: no cover - only to draft page_rules.py
    seen = {"name": name, "anon": response.status_code, "anon_location": response.get("Location", "")}
    client = Client()
    client.force_login(world.accounts[rule.role])
    if rule.scoped:
        outside = _url(world, rule, name, in_scope=False)
        seen["outside"] = _rolled_back(lambda: getattr(client, rule.method)(outside)).status_code
    seen["inside"] = _rolled_back(lambda: getattr(client, rule.method)(url)).status_code
    with open(OBSERVE, "a") as out:
        out.write(json.dumps(seen) + "\n")


def test_the_scoped_rules_use_a_role_of_the_world():
    assert {rule.role for rule in PAGE_RULES.values()} <= set(Role)
