"""The audit log is append-only, in Python and in the database, and records where a change came from."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from gongzhi.core.audit import audit_record, diff_fields
from gongzhi.core.context import Origin, origin
from gongzhi.core.models import AppendOnlyError, AuditEntry

pytestmark = pytest.mark.django_db


def test_record_takes_origin_from_context(tree):
    with origin(Origin(channel="api", source_ip="10.0.0.8", user_agent="test-agent")):
        entry = audit_record(actor=None, action="test.thing", target=tree["grid_a1"], place_path="/1/")
    assert (entry.channel, entry.source_ip, entry.user_agent) == ("api", "10.0.0.8", "test-agent")
    assert (entry.object_type, entry.object_id) == ("places.place", str(tree["grid_a1"].pk))


def test_python_refuses_update_and_delete():
    entry = audit_record(actor=None, action="test.thing")
    entry.action = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_database_refuses_update():
    entry = audit_record(actor=None, action="test.thing")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="rewritten")
    assert AuditEntry.objects.get(pk=entry.pk).action == "test.thing"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps DELETE for Django's test flush")
def test_postgresql_refuses_delete():
    entry = audit_record(actor=None, action="test.thing")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_diff_fields_lists_only_changes():
    assert diff_fields({"a": 1, "b": "x"}, {"a": 1, "b": "y", "c": None}) == {"b": ["x", "y"]}
