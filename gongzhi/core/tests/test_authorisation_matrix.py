"""The authorisation matrix of the API, generated from its own OpenAPI document and the role list.

For every operation (method + path) of ``gongzhi.api.api``: anonymous, then every role (one account each, placed in
community A) with the in-scope object (community A) and, where the path names an object, the out-of-scope one
(community B). Allowed (the rule's permission held, or the narrower roles the rule names) answers anything but
401/403/404 and no 5xx; refused answers 403/404 in the error shape; out of scope answers 404 in the error shape (the
same as a missing object); anonymous answers 401 ``not_authenticated``. Every refused write changes no row of any
table. An operation id without a rule in ``API_RULES`` fails ``test_every_operation_has_a_rule``.
"""

from __future__ import annotations

import json
import os

import pytest
from django.db import transaction
from django.test import Client

from gongzhi.core.roles import Role
from gongzhi.core.testing import changed_tables, image_upload, snapshot
from gongzhi.core.testing_matrix import (
    PUBLIC,
    ApiRule,
    Operation,
    operations,
    request_body,
    stale,
    unregistered,
)
from gongzhi.core.tests.api_rules import API_RULES, ID_FIELDS, QUERY_VALUES
from gongzhi.core.tests.matrix_world import build_matrix_world

pytestmark = [pytest.mark.django_db, pytest.mark.matrix]

REFUSED = (403, 404)
NOT_ALLOWED_FOR_ALLOWED = (401, 403, 404)


def _schema():
    from gongzhi.api import api

    return api.get_openapi_schema()


SCHEMA = None


def schema():
    global SCHEMA
    if SCHEMA is None:
        SCHEMA = _schema()
    return SCHEMA


def _operation_ids() -> list[str]:
    return sorted(op.operation_id for op in operations(schema()))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module, inside a transaction rolled back at the end; each test runs in a savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = build_matrix_world()
        yield built
        transaction.set_rollback(True)


def test_every_operation_has_a_rule():
    missing = unregistered(API_RULES, _operation_ids())
    assert not missing, f"operations without an authorisation rule in core/tests/api_rules.py: {missing}"
    assert not stale(API_RULES, _operation_ids()), "rules for operations that no longer exist"


def test_the_checker_fails_on_a_new_endpoint():
    """A new endpoint without a rule is caught: a schema with one more operation than the registry knows."""
    grown = json.loads(json.dumps(schema()))
    grown["paths"]["/api/v1/brand-new/{thing_id}"] = {"post": {"operationId": "gongzhi_new_api_thing_zap"}}
    ids = [op.operation_id for op in operations(grown)]
    assert unregistered(API_RULES, ids) == ["gongzhi_new_api_thing_zap"]
    assert stale({**API_RULES, "gone": ApiRule(needs=PUBLIC)}, _operation_ids()) == ["gone"]


def _fill(world, operation: Operation, rule: ApiRule, *, in_scope: bool) -> tuple[str, dict, dict]:
    """(path, query, ids for body fields) with the in-scope or out-of-scope objects."""
    path = operation.path
    for name, kind in rule.params.items():
        value = kind[1:] if kind.startswith("=") else str(world.object_id(kind, in_scope=in_scope))
        path = path.replace("{" + name + "}", value)
    ids = {name: world.object_id(kind, in_scope=in_scope) for name, kind in ID_FIELDS.items()}
    query = {}
    for parameter in operation.spec.get("parameters", []):
        if parameter["in"] == "query" and parameter.get("required"):
            name = parameter["name"]
            if name in ids:
                query[name] = ids[name]
            elif name in QUERY_VALUES:
                query[name] = QUERY_VALUES[name]
            else:
                from gongzhi.core.testing_matrix import example

                query[name] = example(schema(), parameter.get("schema", {}), ids=ids)
    return path, query, ids


def _call(client: Client, world, operation: Operation, rule: ApiRule, *, role: str | None, in_scope: bool):
    path, query, ids = _fill(world, operation, rule, in_scope=in_scope)
    extra = {
        name: (
            world.object_id(value[1:], in_scope=in_scope) if isinstance(value, str) and value.startswith("@") else value
        )
        for name, value in rule.body.items()
    }
    media, body = request_body(schema(), operation, ids=ids, extra=extra)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.tokens[role]}"} if role else {}
    if query:
        from urllib.parse import urlencode

        path = f"{path}?{urlencode(query, doseq=True)}"
    method = getattr(client, operation.method)
    if media == "application/json":
        return method(path, data=json.dumps(body), content_type=media, **headers)
    if media == "multipart/form-data":
        data = {
            key: image_upload() if value == b"x" else (json.dumps(value) if isinstance(value, (dict, list)) else value)
            for key, value in (body or {}).items()
        }
        return method(path, data=data, **headers)
    return method(path, **headers)


def _shape(response) -> dict:
    assert "json" in response.get("Content-Type", ""), f"{response.status_code} not JSON"
    body = json.loads(response.content)
    assert set(body) >= {"code", "message", "fields"}, f"not the error shape: {body}"
    return body


def _rolled_back(call):
    with transaction.atomic():
        response = call()
        transaction.set_rollback(True)
    return response


OBSERVE = os.environ.get("GONGZHI_MATRIX_OBSERVE")


@pytest.mark.parametrize("operation_id", _operation_ids())
def test_operation_matrix(world, operation_id):
    operation = next(op for op in operations(schema()) if op.operation_id == operation_id)
    rule = API_RULES[operation_id]
    client = Client()
    allowed = rule.allowed_roles()
    unbuilt = any(kind in _unbuilt() for kind in rule.params.values())
    problems: list[str] = []
    seen: dict[str, int] = {}

    # Refused calls run without a rollback so that a half write shows in the snapshot afterwards.
    before = snapshot() if operation.writes else None
    refused_calls = []
    if rule.needs != PUBLIC:
        refused_calls.append((None, True))
    for role in Role:
        if role not in allowed or unbuilt:
            refused_calls.append((role, True))
        if rule.scoped and role not in rule.across and rule.needs != PUBLIC:
            refused_calls.append((role, False))
    for role, in_scope in refused_calls:
        response = _call(client, world, operation, rule, role=role, in_scope=in_scope)
        seen[f"{role or 'anonymous'}:{'in' if in_scope else 'out'}"] = response.status_code
        label = f"{role or 'anonymous'} {'in scope' if in_scope else 'out of scope'}"
        if role is None:
            expected = (401,)
        elif unbuilt:
            # No such object: not found, or the body refused first (the same for any id, so nothing leaks).
            expected = (404, 422)
        elif not in_scope and role in allowed:
            expected = (404,)
        else:
            expected = REFUSED
        if response.status_code not in expected:
            problems.append(f"{label}: {response.status_code}, expected {expected} {response.content[:160]!r}")
            continue
        body = _shape(response)
        if role is None and body["code"] != "not_authenticated":
            problems.append(f"{label}: code {body['code']}")
    if before is not None:
        changed = changed_tables(before, snapshot())
        if changed:
            problems.append(f"refused writes changed {changed}")

    # Allowed calls (each rolled back, so the world stays as built for the next).
    callers = [] if unbuilt else [(role, True) for role in Role if role in allowed]
    if rule.needs == PUBLIC:
        callers.append((None, True))
    callers += [(role, False) for role in Role if role in rule.across]
    for role, in_scope in callers:
        response = _rolled_back(
            lambda role=role, in_scope=in_scope: _call(client, world, operation, rule, role=role, in_scope=in_scope)
        )
        seen[f"{role or 'anonymous'}:{'in' if in_scope else 'out'}"] = response.status_code
        # A public read answers anyone; a public object that does not exist (yet) is a plain 404.
        refusals = (401, 403) if rule.needs == PUBLIC else NOT_ALLOWED_FOR_ALLOWED if in_scope else (401,)
        if response.status_code >= 500 or response.status_code in refusals:
            problems.append(f"{role or 'anonymous'} allowed: {response.status_code} {response.content[:160]!r}")
    if OBSERVE:
        with open(OBSERVE, "a") as out:
            out.write(json.dumps({"op": operation_id, "seen": seen, "problems": problems}) + "\n")
        return
    assert not problems, "\n".join(problems)


def _unbuilt():
    from gongzhi.core.tests.matrix_world import UNBUILT_KINDS

    return UNBUILT_KINDS


def test_allowed_calls_are_really_exercised(world):
    """The matrix would pass vacuously if the in-scope objects were missing: most operations that name an object
    get a real one in each community (the kinds in UNBUILT_KINDS only check the not-found answer)."""
    from gongzhi.core.tests.matrix_world import UNBUILT_KINDS

    naming = [rule for rule in API_RULES.values() if rule.scoped]
    built = [rule for rule in naming if not any(kind in UNBUILT_KINDS for kind in rule.params.values())]
    assert len(built) >= 0.6 * len(naming), f"only {len(built)} of {len(naming)} operations get real objects"
    for rule in built:
        for kind in rule.params.values():
            if not kind.startswith("="):
                assert world.object_id(kind, in_scope=True) != world.object_id(kind, in_scope=False)
