"""Volunteering in a real browser: a volunteer signs up on a phone, checks in by opening the organiser's rotating QR
link (what the phone's camera does), checks out two hours later by typing the six digits from the screen; the
organiser closes the activity at a desktop; the reviewer approves the claim in the weekly queue; the volunteer's
points show it. The clock is moved with time-machine (the live server runs in this process)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from gongzhi.volunteering.models import SignUp
from gongzhi.volunteering.tests.factories import make_activity, make_world, volunteer

from .conftest import DESKTOP, PHONE
from .test_journeys import log_in

pytestmark = pytest.mark.browser


def test_volunteer_joins_checks_in_organiser_closes_points_after_review(new_page, db, screenshot_dir):
    start = timezone.now().replace(second=0, microsecond=0)
    with time_machine.travel(start, tick=True) as clock:
        world = make_world()
        activity = make_activity(
            world, title="社区环境大扫除", starts_at=start + timedelta(minutes=10), hours=2, now=start
        )
        person = volunteer(world, name="刘志愿")
        person.username = "liu_volunteer"
        person.save(update_fields=["username"])

        # The volunteer, on a phone: the activity near them, sign up.
        phone = new_page(viewport=PHONE)
        log_in(phone, "liu_volunteer")
        phone.goto("/volunteering/")
        phone.get_by_test_id("activities").get_by_text("社区环境大扫除").click()
        phone.get_by_test_id("join").click()
        expect(phone.get_by_test_id("my-signup")).to_have_attribute("data-state", "confirmed")

        # At the start, the organiser shows the code on a screen; the phone's camera opens the link in it.
        clock.move_to(start + timedelta(minutes=12))
        desk = new_page(viewport=DESKTOP)
        log_in(desk, "organiser_a")
        desk.goto(f"/volunteering/manage/{activity.pk}/")
        desk.get_by_test_id("screen-link").click()
        expect(desk.locator(".qr svg")).to_be_visible()
        link = desk.get_by_test_id("check-link").get_attribute("data-link")
        phone.goto(link)
        phone.get_by_test_id("check-in").click()
        expect(phone.get_by_test_id("checked-in")).to_be_visible()
        if screenshot_dir is not None:
            screenshot_dir.mkdir(parents=True, exist_ok=True)
            desk.screenshot(path=str(screenshot_dir / "volunteering-screen.png"), full_page=True)

        # A photograph of that link is useless later.
        clock.move_to(start + timedelta(hours=2, minutes=5))
        phone.goto(link)
        phone.get_by_test_id("check-out").click()
        expect(phone.get_by_test_id("error")).to_have_attribute("data-code", "token_stale")

        # At the end: the phone without camera types the six digits shown now.
        desk.reload()
        code = desk.get_by_test_id("typed-code").inner_text().strip()
        phone.goto(f"/volunteering/activities/{activity.pk}/check-in/")
        # This browser has no QR detector: the shared scanner (gongzhi/qr_scan.js) hides the camera button and says
        # to type the code.
        expect(phone.locator("#scan-note")).to_be_visible()
        expect(phone.locator("#scan-start")).to_be_hidden()
        phone.fill("#id_code", code)
        phone.get_by_test_id("check-out").click()
        expect(phone.get_by_test_id("checked-in")).to_contain_text("签退")

        # After the end the organiser closes: the claim goes to the review queue.
        clock.move_to(start + timedelta(hours=2, minutes=20))
        desk.goto(f"/volunteering/manage/{activity.pk}/")
        desk.fill("#id_pt", "30")
        desk.get_by_test_id("close").click()
        expect(desk.get_by_test_id("activity-state")).to_have_text("已结束")
        signup = SignUp.objects.get(activity=activity)
        assert 100 <= signup.credit_minutes <= 118 and signup.claim is not None  # from check-in to the end

        # The reviewer approves it in the weekly queue.
        review = new_page(viewport=DESKTOP)
        log_in(review, "reviewer_a")
        review.goto("/points/review/")
        row = review.get_by_test_id("queue-row").filter(has_text="刘")
        row.locator("input[name=claim]").check()
        review.get_by_test_id("approve").click()
        expect(review.get_by_test_id("review-result")).to_be_visible()

        # The volunteer's points show the award; their hours show the credit hours.
        phone.goto("/points/")
        expect(phone.get_by_test_id("balance")).to_have_text("5")
        phone.goto("/volunteering/me/hours/")
        expect(phone.get_by_test_id("credit-hours")).to_have_text(str(round(signup.credit_minutes / 60, 1)))
