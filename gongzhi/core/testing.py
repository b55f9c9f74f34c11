"""Test helpers every app uses: ``assert_refused`` and the whole-database snapshot behind it.

    from gongzhi.core.testing import assert_refused

    assert_refused("not_found", lambda: claim_approve(actor=outsider, claim=claim, now=NOW))
    assert_refused("permission_denied", lambda: client.post(url, data))       # a page or API response
    assert_refused("insufficient_points", call, ignore=[AuditEntry])         # a refusal that is itself audited

A refusal must change nothing: the helper snapshots every row of every table of the platform's apps before the
call and compares after it, so a half write (a row created before the check failed) fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.apps import apps
from django.db import models

from gongzhi.core.errors import DomainError, ErrorCode

Snapshot = dict[str, list[tuple]]


def platform_models() -> list[type[models.Model]]:
    """Every concrete model of the ``gongzhi.*`` apps (the people app holds the accounts)."""
    return [
        model
        for config in apps.get_app_configs()
        if config.name.startswith("gongzhi.")
        for model in config.get_models()
        if not model._meta.proxy and model._meta.managed
    ]


# Bookkeeping that any request may touch without changing anything a person owns: when a token was last used,
# when someone last logged in. A refusal may move these; everything else must stay as it was.
BOOKKEEPING_FIELDS: dict[str, set[str]] = {
    "people.apitoken": {"last_used_at"},
    "people.account": {"last_login"},
}


def snapshot(*, ignore: Iterable[type[models.Model]] = ()) -> Snapshot:
    """Every row of every platform table (bookkeeping columns left out), by table, ordered by primary key."""
    skipped = {model._meta.db_table for model in ignore}
    if "core_auditentry" in skipped:  # an audited refusal moves its audit chain's head with the entry
        skipped.add("core_auditchainhead")
    tables: Snapshot = {}
    for model in platform_models():
        if model._meta.db_table in skipped:
            continue
        volatile = BOOKKEEPING_FIELDS.get(model._meta.label_lower, set())
        columns = [field.attname for field in model._meta.concrete_fields if field.name not in volatile]
        tables[model._meta.db_table] = list(model._base_manager.order_by("pk").values_list(*columns))
    return tables


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(table for table in before if before[table] != after.get(table))


def assert_refused(
    code: str | ErrorCode,
    call: Callable[[], Any],
    *,
    status: int | None = None,
    ignore: Iterable[type[models.Model]] = (),
) -> Any:
    """Assert that ``call()`` is refused with ``code`` and that no row anywhere changed.

    ``call`` either raises a ``DomainError`` (a service, a selector) or returns a response from Django's test
    client: a JSON error body (the API) or a page whose status is the error's (``status``, by default the code's
    own when ``code`` is a catalogue member, else any 4xx). Returns the error or the response for more checks.
    """
    expected = code.code if isinstance(code, ErrorCode) else code
    if status is None and isinstance(code, ErrorCode):
        status = code.status
    ignore = list(ignore)
    before = snapshot(ignore=ignore)
    outcome: Any
    try:
        outcome = call()
    except DomainError as error:
        assert error.code == expected, f"refused with {error.code!r} ({error.message}), expected {expected!r}"
        if status is not None:
            assert error.status == status, f"status {error.status}, expected {status}"
        outcome = error
    else:
        response_status = getattr(outcome, "status_code", None)
        assert response_status is not None, f"expected a refusal with {expected!r}, the call returned {outcome!r}"
        if status is not None:
            assert response_status == status, f"status {response_status}, expected {status}"
        else:
            assert 400 <= response_status < 500, f"status {response_status}, expected a refusal"
        if "json" in outcome.get("Content-Type", ""):
            body = json.loads(outcome.content)
            assert body.get("code") == expected, f"refused with {body.get('code')!r}, expected {expected!r}"
    after = snapshot(ignore=ignore)
    changed = changed_tables(before, after)
    assert not changed, f"a refused call changed {', '.join(changed)}"
    return outcome


def image_upload(name: str = "photo.jpg", *, image_format: str = "JPEG", size: tuple[int, int] = (8, 6)) -> Any:
    """A real (tiny) picture as an upload, for tests of anything that takes photos (they are decoded now)."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format=image_format)
    content_type = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}.get(image_format, "image/jpeg")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


def race(calls: list, *, workers: int = 16) -> list:
    """Run the calls on a pool of ``workers`` threads, all released at once (a real race on PostgreSQL, each
    thread on its own connection); returns each call's result, or the code of the DomainError it raised."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from .errors import DomainError

    go = threading.Event()

    def run(call):
        try:
            go.wait(timeout=10)
            return call()
        except DomainError as error:
            return error.code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, call) for call in calls]
        go.set()
        return [future.result() for future in futures]
