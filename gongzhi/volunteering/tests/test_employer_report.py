"""The employer's report card: its registered members' service and points, on the page and in Excel."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.test import Client

from gongzhi.core.figures import Period
from gongzhi.points.services import claim_approve
from gongzhi.volunteering.models import SignUp
from gongzhi.volunteering.selectors import employer_report
from gongzhi.volunteering.services import (
    activity_close,
    activity_join,
    attendance_mark,
    registration_confirm,
    registration_create,
)

from .factories import NOW, make_activity, party_member

pytestmark = pytest.mark.django_db


def test_report_card(world):
    ours = party_member(world, name="赵小明")
    theirs = party_member(world, employer=world.other_employer)
    registration = registration_create(actor=ours, membership=ours.resident.party_membership, now=NOW)
    registration_confirm(actor=world.representative, registration=registration, now=NOW)
    registration_create(actor=theirs, membership=theirs.resident.party_membership, now=NOW)
    starts = NOW.replace(day=26)  # inside March's home-service week
    activity = make_activity(world, starts_at=starts, hours=3, now=NOW)
    for member in (ours, theirs):
        signup = activity_join(actor=member, activity=activity, now=NOW)
        attendance_mark(
            actor=world.organiser,
            signup=SignUp.objects.get(pk=signup.pk),
            checked_in_at=starts,
            checked_out_at=starts + timedelta(hours=3),
            now=activity.ends_at,
        )
    activity_close(actor=world.organiser, activity=activity, now=activity.ends_at)
    claim = SignUp.objects.get(activity=activity, resident=ours.resident).claim
    claim_approve(actor=world.reviewer, claim=claim, now=activity.ends_at + timedelta(days=1))

    records = employer_report(world.representative, world.employer, Period.year(2031))
    assert len(records) == 1
    record = records[0]
    assert (record.name, record.activities, record.credit_hours, record.home_weeks) == ("赵**", 1, 3.0, 1)
    assert (record.points_claimed, record.points_approved) == (5, 5)
    # The next quarter lists the member still registered, with nothing done in it.
    second_quarter = employer_report(world.representative, world.employer, Period.quarter(2031, 2))
    assert [(r.name, r.activities, r.credit_hours, r.points_approved) for r in second_quarter] == [("赵**", 0, 0, 0)]

    client = Client()
    client.force_login(world.representative)
    page = client.get(f"/volunteering/employer/{world.employer.pk}/report/?period=2031")
    assert page.status_code == 200 and "赵**" in page.content.decode() and "赵小明" not in page.content.decode()
    sheet = client.get(f"/volunteering/employer/{world.employer.pk}/report/?period=2031-Q1&format=xlsx")
    assert sheet.status_code == 200
    from openpyxl import load_workbook

    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[2][0] == "赵**" and rows[2][4] == 3.0 and rows[2][9] == 5
    # another organisation's representative cannot read it
    client.force_login(world.other_representative)
    assert client.get(f"/volunteering/employer/{world.employer.pk}/report/?period=2031").status_code == 404
