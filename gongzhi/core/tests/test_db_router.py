"""The read-replica router: inside ``reading_from_replica()`` reads go to the replica alias (the test settings'
"replica" mirrors the test database, TEST MIRROR), writes always go to default, outside the block everything uses
default, and with no replica configured the block changes nothing. Then the cockpit's page, API, ledger and
report job read from the replica while their audit entries and progress are written to default."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gongzhi.core.db_router import ReplicaRouter, reading_from_replica, replica_configured, replica_reads
from gongzhi.core.models import AuditEntry
from gongzhi.core.roles import Role
from gongzhi.people.tests.factories import account_with_role
from gongzhi.places.models import Place
from gongzhi.places.tests.factories import make_tree

BOTH = ["default", "replica"]


@pytest.fixture
def replica(settings):
    settings.GONGZHI_READ_REPLICA = "replica"


def _selects(queries: CaptureQueriesContext) -> list[str]:
    # On PostgreSQL QuerySet.iterator() reads through a server-side cursor: DECLARE … CURSOR … FOR SELECT.
    return [query["sql"] for query in queries if query["sql"].lstrip().upper().startswith(("SELECT", "DECLARE"))]


def _writes(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries if query["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]


def test_the_router_sends_reads_in_the_block_to_the_replica_and_writes_to_default(replica):
    router = ReplicaRouter()
    assert router.db_for_read(Place) == "default"
    with reading_from_replica() as alias:
        assert alias == "replica"
        assert router.db_for_read(Place) == "replica"
        assert router.db_for_write(Place) == "default"
    assert router.db_for_read(Place) == "default"
    assert router.allow_migrate("default", "places") and not router.allow_migrate("replica", "places")


def test_without_a_replica_the_block_reads_default(settings):
    settings.GONGZHI_READ_REPLICA = ""
    assert not replica_configured()
    with reading_from_replica() as alias:
        assert alias == "default" and ReplicaRouter().db_for_read(Place) == "default"
    settings.GONGZHI_READ_REPLICA = "nowhere"  # named but not in DATABASES: default, never an error
    assert not replica_configured()


def test_the_decorator_routes_the_functions_reads(replica):
    @replica_reads
    def where() -> str | None:
        return ReplicaRouter().db_for_read(Place)

    assert where() == "replica" and ReplicaRouter().db_for_read(Place) == "default"


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_reads_hit_the_replica_connection_and_writes_the_default_one(replica):
    tree = make_tree()
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_default,
        reading_from_replica(),
    ):
        found = Place.objects.get(pk=tree["community_a"].pk)
        read_from = found._state.db
        found.name = "和平社区（新）"
        found.save(update_fields=["name"])
        count = Place.objects.count()
    assert count == len(tree) and read_from == "replica"
    assert _selects(on_replica) and not _writes(on_replica)
    assert not _selects(on_default) and len(_writes(on_default)) == 1
    assert Place.objects.get(pk=found.pk).name == "和平社区（新）"


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_the_cockpit_reads_its_figures_from_the_replica(replica, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    tree = make_tree()
    admin = account_with_role(Role.DISTRICT_ADMIN, tree["district"], username="district")
    client = Client()
    client.force_login(admin)
    cases_table = '"cases_case"'
    for path in (
        f"/cockpit/{tree['street'].pk}/?period=2031-03",
        f"/api/v1/kpis?place={tree['street'].pk}&period=2031-03",
    ):
        with (
            CaptureQueriesContext(connections["replica"]) as on_replica,
            CaptureQueriesContext(connections["default"]) as on_default,
        ):
            assert client.get(path).status_code == 200
        assert any(cases_table in sql for sql in _selects(on_replica)), path
        assert not any(cases_table in sql for sql in _selects(on_default)), path
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_default,
    ):
        response = client.get(f"/cockpit/{tree['street'].pk}/ledgers/cases.xlsx", {"period": "2031-03"})
        b"".join(response.streaming_content)
    assert any(cases_table in sql for sql in _selects(on_replica))
    assert not _writes(on_replica) and any("core_auditentry" in sql for sql in _writes(on_default))
    assert AuditEntry.objects.filter(action="cockpit.ledger_export").count() == 1


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_the_report_job_reads_the_replica_and_writes_progress_to_default(replica, settings, tmp_path):
    from gongzhi.cockpit import reporting
    from gongzhi.cockpit.models import ReportRun, ReportState
    from gongzhi.core.figures import Period

    settings.MEDIA_ROOT = tmp_path
    tree = make_tree()
    admin = account_with_role(Role.STREET_ADMIN, tree["street"], username="street")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("gongzhi.core.jobs.enqueue", lambda task, **kwargs: None)
        run = reporting.report_run_request(
            actor=admin, place=tree["street"], period=Period.month(2031, 3), format="pdf", now=timezone.now()
        )
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_default,
    ):
        reporting.report_run_execute(run_id=run.pk)
    assert ReportRun.objects.get(pk=run.pk).state == ReportState.DONE
    assert any('"cases_case"' in sql for sql in _selects(on_replica)) and not _writes(on_replica)
    assert not any('"cases_case"' in sql for sql in _selects(on_default))
    assert any("cockpit_reportrun" in sql for sql in _writes(on_default))
