"""The authorisation matrix's machinery: what an operation needs, which operations have no rule, example bodies.

The API matrix (core/tests/test_authorisation_matrix.py) reads the operations from the API's own OpenAPI
document and the roles from ``core.roles``; each operation id has an ``ApiRule`` saying how to fill its path and
what it needs. ``unregistered`` is what makes a new endpoint without a rule fail the suite. The page matrix does the
same for URL names (``PageRule``, ``unregistered_names``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gongzhi.core.roles import ROLE_PERMISSIONS, Role

# What an operation or page needs, besides a permission (a Permission value):
PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed_in"  # any account; it answers about the actor's own records (or an empty list)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class ApiRule:
    """How to call one operation and who may.

    ``needs``: PUBLIC, SIGNED_IN or a permission. ``params``: path parameter → a world kind (an object in community A
    for the in-scope call, in community B for the out-of-scope one) or ``"=value"`` for a literal. ``only``: when
    the operation narrows its permission further (the resident's own records, a merchant's own counter, the place
    and level a case sits at), the roles that pass it; ``None`` means every role holding ``needs``. ``body``:
    fields to put into the generated example body (world kinds as ``"@kind"``). ``across``: roles for whom the
    other community's object is not out of scope (open activities): any answer but 401 and 5xx.
    """

    needs: str
    params: Mapping[str, str] = field(default_factory=dict)
    only: frozenset[str] | None = None
    body: Mapping[str, Any] = field(default_factory=dict)
    across: frozenset[str] = frozenset()

    def allowed_roles(self) -> frozenset[str]:
        if self.only is not None:
            return self.only
        if self.needs in (PUBLIC, SIGNED_IN):
            return frozenset(Role)
        return frozenset(role for role in Role if self.needs in ROLE_PERMISSIONS[role])

    @property
    def scoped(self) -> bool:
        """An out-of-scope call exists: a path parameter names an object (not a literal)."""
        return any(not kind.startswith("=") for kind in self.params.values())


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    spec: Mapping[str, Any]

    @property
    def writes(self) -> bool:
        return self.method != "get"


def operations(schema: Mapping[str, Any]) -> list[Operation]:
    """Every (method, path) of an OpenAPI document, by operation id."""
    found = []
    for path, item in schema.get("paths", {}).items():
        for method, spec in item.items():
            if method in HTTP_METHODS:
                found.append(Operation(spec["operationId"], method, path, spec))
    return found


def unregistered(registry: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """The names (operation ids, URL names) that have no rule: a new endpoint or page someone forgot to rule on."""
    return sorted(set(names) - set(registry))


def stale(registry: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """Rules for names that no longer exist (so the registry does not rot)."""
    return sorted(set(registry) - set(names))


def resolve(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def example(schema: Mapping[str, Any], node: Mapping[str, Any], *, ids: Mapping[str, int], depth: int = 0) -> Any:
    """A small valid instance of a JSON schema node: required properties only, ids from ``ids`` by field name."""
    node = resolve(schema, node)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in node:
            options = [resolve(schema, option) for option in node[key]]
            options = [option for option in options if option.get("type") != "null"] or options
            return example(schema, options[0], ids=ids, depth=depth)
    if "default" in node:
        return node["default"]
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        properties = node.get("properties", {})
        return {
            name: example(schema, properties[name], ids=ids, depth=depth + 1) if name not in ids else ids[name]
            for name in node.get("required", [])
            if name in properties
        }
    if kind == "array":
        count = node.get("minItems", 0)
        return [example(schema, node.get("items", {}), ids=ids, depth=depth + 1) for _ in range(count)]
    if kind == "integer":
        return max(int(node.get("minimum", 1)), int(node.get("exclusiveMinimum", 0)) + 1)
    if kind == "number":
        return max(float(node.get("minimum", 1)), 1.0)
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = node.get("format")
        if fmt == "date":
            return "2031-01-01"
        if fmt == "date-time":
            return "2031-01-01T10:00:00+08:00"
        if fmt == "binary":
            return b"x"
        return "x" * max(int(node.get("minLength", 1)), 1)
    return None


def request_body(schema: Mapping[str, Any], operation: Operation, *, ids: Mapping[str, int], extra: Mapping) -> tuple:
    """(content type, body) for an operation: an example of its declared body with ``extra`` fields over it."""
    content = operation.spec.get("requestBody", {}).get("content", {})
    for media in ("application/json", "multipart/form-data", "application/x-www-form-urlencoded"):
        if media in content:
            body = example(schema, content[media].get("schema", {}), ids=ids)
            if isinstance(body, dict):
                body.update(extra)
            return media, body
    return None, dict(extra) if extra else None
