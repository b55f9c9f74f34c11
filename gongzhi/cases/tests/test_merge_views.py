"""Merging a duplicate: a confirmation before, an undo after (``merge_views.py``, ``merging.case_unmerge``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from gongzhi.cases import services
from gongzhi.cases.errors import CasesError
from gongzhi.cases.merging import case_unmerge, unmerge_refusal
from gongzhi.cases.models import Case, CaseEvent, CaseEventKind, CaseState, Notification
from gongzhi.core.models import AuditEntry
from gongzhi.core.testing import assert_refused

from .factories import local

NOW = local("2026-03-02 10:00")


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


@pytest.fixture
def frozen():
    """Pages read the clock (the duplicates' window, the undo's): frozen just after the requests were raised."""
    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        yield


@pytest.fixture
def pair(world):
    first = services.case_submit(actor=world["resident"], category=world["category"], text="路灯坏了", now=NOW)
    second = services.case_submit(
        actor=world["other_resident"], category=world["category"], text="路灯又坏了", now=NOW + timedelta(minutes=5)
    )
    return first, second


def test_merging_asks_for_a_confirmation_first(world, pair, frozen):
    first, second = pair
    worker = client_for(world["grid_worker"])
    page = worker.get(f"/cases/{second.pk}/").content.decode()
    assert f'href="/cases/{second.pk}/merge/?into={first.pk}"' in page  # a link, not a one-tap form
    confirm = worker.get(f"/cases/{second.pk}/merge/", {"into": first.pk})
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert first.number in text and second.number in text and 'data-testid="merge-confirm"' in text
    second.refresh_from_db()
    assert second.state == CaseState.SUBMITTED  # looking is not merging
    # The full number works too; an unknown number or the request itself is refused, nothing merged.
    assert worker.get(f"/cases/{second.pk}/merge/", {"into": first.number}).status_code == 200
    assert_refused("validation_failed", lambda: worker.get(f"/cases/{second.pk}/merge/", {"into": "2019-000001"}))
    assert_refused("validation_failed", lambda: worker.post(f"/cases/{second.pk}/merge/", {"into": second.pk}))
    # Someone who may not merge it does not even get the page.
    elsewhere = client_for(world["grid_worker_a2"])
    assert_refused("not_found", lambda: elsewhere.get(f"/cases/{second.pk}/merge/"))
    response = worker.post(f"/cases/{second.pk}/merge/", {"into": first.pk, "note": "同一盏灯"})
    assert response.status_code == 302 and response["Location"] == f"/cases/{second.pk}/"
    second.refresh_from_db()
    assert second.state == CaseState.DUPLICATE and second.duplicate_of == first


def test_a_merge_is_undone_by_the_people_who_could_merge(world, pair):
    first, second = pair
    before = Case.objects.get(pk=second.pk)
    services.case_merge(actor=world["grid_worker"], case=second, into=first, now=NOW + timedelta(minutes=10))
    later = NOW + timedelta(minutes=20)
    assert unmerge_refusal(world["grid_worker"], Case.objects.get(pk=second.pk), later) == ""
    # Not someone elsewhere, not the resident: not found, nothing changed.
    for outsider in (world["grid_worker_a2"], world["other_resident"]):
        assert_refused("not_found", lambda outsider=outsider: case_unmerge(actor=outsider, case=second, now=later))
    case_unmerge(actor=world["grid_worker"], case=second, now=later)
    second.refresh_from_db()
    assert second.state == CaseState.SUBMITTED and second.duplicate_of is None and second.closed_at is None
    assert (second.accept_by, second.resolve_by) == (before.accept_by, before.resolve_by)
    assert CaseEvent.objects.filter(case=second, kind=CaseEventKind.UNMERGED).exists()
    assert CaseEvent.objects.filter(case=first, kind=CaseEventKind.SEPARATED).exists()
    assert AuditEntry.objects.filter(action="case.unmerge", object_id=str(second.pk)).exists()
    assert Notification.objects.filter(recipient=world["other_resident"], kind="case.unmerged").exists()
    # Undone once: a second undo is refused.
    assert_refused(CasesError.INVALID_TRANSITION, lambda: case_unmerge(actor=world["grid_worker"], case=second))


def test_duplicates_that_followed_come_back_with_the_undo(world, pair):
    first, second = pair
    third = services.case_submit(actor=world["resident"], category=world["category"], text="灯坏", now=NOW)
    services.case_merge(actor=world["grid_worker"], case=third, into=second, now=NOW + timedelta(minutes=6))
    services.case_merge(actor=world["grid_worker"], case=second, into=first, now=NOW + timedelta(minutes=7))
    assert Case.objects.get(pk=third.pk).duplicate_of_id == first.pk
    case_unmerge(actor=world["grid_worker"], case=second, now=NOW + timedelta(minutes=8))
    assert Case.objects.get(pk=third.pk).duplicate_of_id == second.pk


def test_the_undo_ends_after_a_while_or_once_the_target_changes_state(world, pair, settings):
    first, second = pair
    services.case_merge(actor=world["grid_worker"], case=second, into=first, now=NOW + timedelta(minutes=10))
    too_late = NOW + timedelta(minutes=10, hours=24, seconds=1)
    assert_refused(
        CasesError.INVALID_TRANSITION, lambda: case_unmerge(actor=world["grid_worker"], case=second, now=too_late)
    )
    settings.GONGZHI_CASE_UNMERGE_HOURS = 48
    assert unmerge_refusal(world["grid_worker"], Case.objects.get(pk=second.pk), too_late) == ""
    services.case_accept(actor=world["grid_worker"], case=first, now=NOW + timedelta(minutes=30))
    refusal = unmerge_refusal(world["grid_worker"], Case.objects.get(pk=second.pk), NOW + timedelta(minutes=31))
    assert refusal
    assert_refused(
        CasesError.INVALID_TRANSITION,
        lambda: case_unmerge(actor=world["grid_worker"], case=second, now=NOW + timedelta(minutes=31)),
    )


def test_the_undo_button_on_the_merged_requests_page(world, pair, frozen):
    first, second = pair
    worker = client_for(world["grid_worker"])
    worker.post(f"/cases/{second.pk}/merge/", {"into": first.pk})
    page = worker.get(f"/cases/{second.pk}/").content.decode()
    assert 'data-testid="unmerge"' in page
    assert (
        'data-testid="unmerge"' not in client_for(world["other_resident"]).get(f"/cases/{second.pk}/").content.decode()
    )
    elsewhere = client_for(world["grid_worker_a2"])
    assert_refused("not_found", lambda: elsewhere.post(f"/cases/{second.pk}/unmerge/"))
    response = worker.post(f"/cases/{second.pk}/unmerge/")
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.state == CaseState.SUBMITTED
    page = worker.get(f"/cases/{second.pk}/").content.decode()
    assert 'data-testid="unmerge"' not in page
    # The trail says it in words.
    assert "合并" in page or "merge" in page.lower()
    # A refused undo (already undone) tells why and changes nothing.
    response = worker.post(f"/cases/{second.pk}/unmerge/", follow=True)
    assert response.status_code == 200 and Case.objects.get(pk=second.pk).state == CaseState.SUBMITTED
