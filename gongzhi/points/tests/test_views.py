"""The points pages: the resident's phone pages, the review queue, staff pages and the public lists, through the real
client. Denied paths change nothing; list pages have their query counts pinned (the same for more rows)."""

from __future__ import annotations

import io
from datetime import timedelta
from functools import partial

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import ResidentFactory, account_with_role
from gongzhi.points.ledger import ledger_check
from gongzhi.points.models import (
    Adjustment,
    Claim,
    ClaimDecision,
    CommunityItemSetting,
    Objection,
    PointItem,
    PointItemVersion,
    PointsAccount,
    Publication,
    Selection,
)
from gongzhi.points.publication import publication_publish
from gongzhi.points.services import claim_approve, claim_return, claim_submit
from gongzhi.points.tests.factories import make_category, make_item, reviewer, secretary, yesterday
from gongzhi.points.tests.publication_factories import last_month

pytestmark = pytest.mark.django_db

# A 1×1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6338a1a1f11f0004ec0218d2b6a8a20000000049454e44ae426082"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def snapshot():
    """What a refused request must leave alone."""
    return (
        list(Claim.objects.order_by("pk").values_list("pk", "state", "decided_at", "transfer_id")),
        ClaimDecision.objects.count(),
        list(PointsAccount.objects.order_by("pk").values_list("pk", "balance", "earned_total")),
    )


# ---------------------------------------------------------------- the resident on a phone


def test_resident_claims_in_three_taps_and_sees_it_waiting(world):
    login, account = world.resident()
    client = client_for(login)

    home = client.get("/points/")
    assert home.status_code == 200
    assert 'data-testid="balance">0<' in home.content.decode()

    form = client.get("/points/claim/")
    page = form.content.decode()
    assert form.status_code == 200 and form["Cache-Control"] == "no-store"
    assert 'accept="image/*" capture="environment"' in page
    assert f'value="{timezone.localdate():%Y-%m-%d}"' in page  # the date defaults to today
    assert world.items[5].name in page

    response = client.post(
        "/points/claim/",
        {
            "account": account.pk,
            "item": world.items[5].pk,
            "service_date": timezone.localdate().isoformat(),
            "idempotency_key": "page-1",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/points/claims/"
    claim = Claim.objects.get()
    assert (claim.account, claim.item, claim.state, claim.value) == (account, world.items[5], "submitted", 5)

    # A double tap (the same form again) makes no second claim.
    client.post(
        "/points/claim/",
        {"account": account.pk, "item": world.items[5].pk, "service_date": timezone.localdate().isoformat(),
         "idempotency_key": "page-1"},
    )  # fmt: skip
    assert Claim.objects.count() == 1

    mine = client.get("/points/claims/").content.decode()
    assert world.items[5].name in mine and "state-submitted" in mine
    from django.utils import translation
    from django.utils.translation import ngettext

    with translation.override("zh-hans"):
        waiting = ngettext(
            "%(counter)s claim is waiting for the review committee.",
            "%(counter)s claims are waiting for the review committee.",
            1,
        ) % {"counter": 1}
    assert waiting in client.get("/points/").content.decode()


def test_first_claim_creates_the_account_and_a_party_member_earns_as_one(world, tree):
    from gongzhi.people.models import PartyMembership, PartyOrganisation

    resident = ResidentFactory(household=tree["household_a2"], name="党员甲")
    committee = PartyOrganisation.objects.create(kind="committee", name="党委", place=world.community)
    PartyMembership.objects.create(resident=resident, organisation=committee)
    login = account_with_role(Role.RESIDENT, tree["household_a2"], username="dangyuan", resident=resident)
    assert not PointsAccount.objects.filter(resident=resident).exists()
    client = client_for(login)
    assert client.get("/points/").status_code == 200
    assert not PointsAccount.objects.filter(resident=resident).exists()  # a GET writes nothing
    client.post(
        "/points/claim/", {"item": world.items[3].pk, "service_date": yesterday().isoformat(), "idempotency_key": "x1"}
    )
    account = PointsAccount.objects.get(resident=resident)
    assert account.kind == "party_member" and account.claims.count() == 1


def test_a_refused_claim_keeps_what_was_typed_and_changes_nothing(world):
    login, _account = world.resident()
    client = client_for(login)
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    typed = {"item": world.items[3].pk, "service_date": future, "description": "扶老人过马路", "idempotency_key": "k"}
    response = assert_refused("service_date_future", lambda: client.post("/points/claim/", typed), status=422)
    page = response.content.decode()
    assert "扶老人过马路" in page and f'value="{future}"' in page
    assert 'data-testid="claim-error"' in page
    not_a_date = {"service_date": "not-a-date", "idempotency_key": "k2"}
    assert_refused("validation_failed", lambda: client.post("/points/claim/", not_a_date), status=422)
    not_a_photo = {
        "item": world.items[3].pk,
        "service_date": yesterday().isoformat(),
        "photos": SimpleUploadedFile("a.txt", b"x"),
    }
    assert_refused("upload_refused", lambda: client.post("/points/claim/", not_a_photo), status=422)


def test_photo_from_the_camera_reaches_the_reviewer_and_nobody_else(world, tree):
    login, _account = world.resident()
    other, _other_account = world.resident("household_a2")
    client = client_for(login)
    client.post(
        "/points/claim/",
        {
            "item": world.items[8].pk,
            "service_date": yesterday().isoformat(),
            "photos": SimpleUploadedFile("p.png", PNG, content_type="image/png"),
            "idempotency_key": "ph",
        },
    )
    claim = Claim.objects.get()
    photo = claim.photos.get()
    url = f"/points/photos/{photo.pk}/"
    assert client.get(url).status_code == 200
    reviewing = client_for(world.reviewer)
    queue = reviewing.get("/points/review/").content.decode()
    assert url in queue  # thumbnail, opening large
    assert reviewing.get(url).status_code == 200
    assert client_for(other).get(url).status_code == 404
    outsider = reviewer(tree["community_b"])
    assert client_for(outsider).get(url).status_code == 404


def test_resident_resubmits_a_returned_claim(world):
    login, account = world.resident()
    claim = claim_submit(actor=login, account=account, item=world.items[3], service_date=yesterday())
    claim_return(actor=world.reviewer, claim=claim, reason="请补充照片")
    client = client_for(login)
    assert "returned-note" in client.get("/points/").content.decode()
    detail = client.get(f"/points/claims/{claim.pk}/").content.decode()
    assert "请补充照片" in detail and "resubmit-form" in detail
    response = client.post(f"/points/claims/{claim.pk}/resubmit/", {"description": "补充：下午三点"})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.state == "submitted" and claim.description == "补充：下午三点"


def test_history_in_plain_words(world):
    login, account = world.resident()
    world.award(account, 5, yesterday())
    page = client_for(login).get("/points/history/").content.decode()
    assert f"Approved: {world.items[5].name}" in page or f"已认定：{world.items[5].name}" in page or "+5" in page
    assert "+5" in page


# ---------------------------------------------------------------- the review committee


def _claims(world, count: int, *, value: int = 3):
    claims = []
    for number in range(count):
        login, account = world.resident("household_a1" if number % 2 else "household_a2")
        claims.append(claim_submit(actor=login, account=account, item=world.items[value], service_date=yesterday()))
    return claims


def test_reviewer_approves_many_at_once_and_each_decision_is_recorded(world):
    claims = _claims(world, 3)
    client = client_for(world.reviewer)
    page = client.get("/points/review/").content.decode()
    assert page.count('data-testid="queue-row"') == 3
    response = client.post(
        "/points/review/decide/", {"claim": [claim.pk for claim in claims[:2]], "decision": "approve"}
    )
    assert response.status_code == 302
    assert Claim.objects.filter(state="approved").count() == 2
    assert ClaimDecision.objects.filter(decision="approve", actor=world.reviewer).count() == 2
    assert ledger_check() == []
    # htmx: the queue swaps in place with the result.
    response = client.post(
        "/points/review/decide/",
        {"claim": [claims[2].pk], "decision": "reject", "reason": "重复申报"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and 'data-testid="review-result"' in response.content.decode()
    assert Claim.objects.get(pk=claims[2].pk).state == "rejected"


def test_reject_or_return_without_a_reason_changes_nothing(world):
    claims = _claims(world, 2)
    client = client_for(world.reviewer)
    htmx = {"HX-Request": "true"}
    for decision in ("reject", "return"):
        without_reason = {"claim": [claim.pk for claim in claims], "decision": decision, "reason": " "}
        response = assert_refused(
            "validation_failed",
            partial(client.post, "/points/review/decide/", without_reason, headers=htmx),
            status=422,
        )
        assert 'data-testid="review-error"' in response.content.decode()
    assert_refused(
        "validation_failed",
        lambda: client.post("/points/review/decide/", {"decision": "approve"}, headers=htmx),
        status=422,
    )


def test_return_many_sends_them_back(world):
    claims = _claims(world, 2)
    client_for(world.reviewer).post(
        "/points/review/decide/", {"claim": [claim.pk for claim in claims], "decision": "return", "reason": "补充"}
    )
    assert set(Claim.objects.values_list("state", flat=True)) == {"returned"}


def test_residents_and_outside_reviewers_cannot_decide(world, tree):
    claims = _claims(world, 1)
    login, _account = world.resident()
    outsider = reviewer(tree["community_b"])
    before = snapshot()
    assert client_for(login).get("/points/review/").status_code == 404
    client_for(login).post("/points/review/decide/", {"claim": [claims[0].pk], "decision": "approve"})
    client_for(outsider).post("/points/review/decide/", {"claim": [claims[0].pk], "decision": "approve"})
    assert client_for(outsider).get("/points/review/").content.decode().count('data-testid="queue-row"') == 0
    assert snapshot() == before


def test_two_reviewer_items_wait_for_a_second_reviewer(world, tree):
    item = make_item(tree["district"], value=10, two_reviewers=True)
    login, account = world.resident()
    claim = claim_submit(actor=login, account=account, item=item, service_date=yesterday())
    claim_approve(actor=world.reviewer, claim=claim)
    page = client_for(world.reviewer).get("/points/review/").content.decode()
    assert 'data-testid="second-reviewer"' in page
    second = reviewer(world.community)
    client_for(second).post("/points/review/decide/", {"claim": [claim.pk], "decision": "approve"})
    claim.refresh_from_db()
    assert claim.state == "approved"


def test_queue_filters(world, tree):
    claims = _claims(world, 4)
    other = make_item(tree["district"], value=4, category=make_category("safety", "平安创建"))
    login, account = world.resident("household_a2")
    claim_submit(actor=login, account=account, item=other, service_date=yesterday())
    client = client_for(world.reviewer)
    by_item = client.get("/points/review/", {"item": other.pk}).content.decode()
    assert by_item.count('data-testid="queue-row"') == 1
    by_category = client.get("/points/review/", {"category": other.category_id}).content.decode()
    assert by_category.count('data-testid="queue-row"') == 1
    by_grid = client.get("/points/review/", {"grid": tree["grid_a1"].pk}).content.decode()
    in_a1 = sum(1 for claim in claims if claim.account.place_path.startswith(tree["grid_a1"].path))
    assert by_grid.count('data-testid="queue-row"') == in_a1
    by_week = client.get("/points/review/", {"week": "1999-W01"}).content.decode()
    assert 'data-testid="empty-queue"' in by_week


def test_review_queue_query_count_does_not_grow_with_rows(world):
    client = client_for(world.reviewer)
    _claims(world, 2)
    client.get("/points/review/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/points/review/").status_code == 200
    _claims(world, 6)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/points/review/").content.decode()
    assert page.count('data-testid="queue-row"') == 8
    assert len(many) == len(few) <= 20


def test_staff_record_a_claim_for_a_resident_in_reach_only(world, tree):
    resident = ResidentFactory(household=tree["household_a1"], name="孤寡老人甲")
    stranger = ResidentFactory(household=tree["household_b1"], name="孤寡老人乙")
    client = client_for(world.worker)
    found = client.get("/points/record/", {"q": "孤寡老人"}).content.decode()
    assert "孤寡老人甲" in found and "孤寡老人乙" not in found
    assert client.get(f"/points/record/{stranger.pk}/").status_code == 404
    response = client.post(
        f"/points/record/{resident.pk}/",
        {"item": world.items[3].pk, "service_date": yesterday().isoformat(), "idempotency_key": "rec-1"},
    )
    assert response.status_code == 302
    claim = Claim.objects.get()
    assert claim.on_behalf and claim.account.resident == resident and claim.submitted_by == world.worker
    # Reviewers do not record: the address (a habit, an old link) takes them to their queue, with no search.
    response = client_for(world.reviewer).get("/points/record/", {"q": "孤寡老人"}, follow=True)
    assert response.redirect_chain == [("/points/review/", 302)]
    page = response.content.decode()
    assert 'data-testid="record-results"' not in page and f"/points/record/{resident.pk}/" not in page
    assert client_for(world.reviewer).get(f"/points/record/{resident.pk}/").status_code == 404


# ---------------------------------------------------------------- public pages


def _published_month(world):
    login, account = world.resident(name="张三丰")
    world.award(account, 8, last_month() + timedelta(days=3))
    world.award(account, 5, last_month() + timedelta(days=4))
    return publication_publish(actor=world.reviewer, community=world.community, month=last_month()), login


def test_public_publication_without_login_masked_with_print_and_excel(world):
    publication, _login = _published_month(world)
    month = publication.month
    base = f"/points/public/{world.community.pk}/"
    client = Client()
    assert f"{month:%Y-%m}" in client.get(base).content.decode()
    page = client.get(f"{base}{month.year}/{month.month}/").content.decode()
    assert "张**" in page and "张三丰" not in page
    assert "data-print" in page and "13" in page
    assert "Log in to raise an objection" in page or "登录" in page
    export = client.get(f"{base}{month.year}/{month.month}.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "张**" in values and "张三丰" not in values and 13 in values
    assert client.get(f"{base}{month.year}/13/").status_code == 404
    open_month = timezone.localdate().replace(day=1)
    assert client.get(f"{base}{open_month.year}/{open_month.month}/").status_code == 404


def test_resident_objects_while_the_window_is_open(world, tree):
    publication, login = _published_month(world)
    month = publication.month
    url = f"/points/public/{world.community.pk}/{month.year}/{month.month}/"
    client = client_for(login)
    line = publication.lines.get()
    assert 'id="objection"' in client.get(url).content.decode()
    response = client.post(url + "objection/", {"text": "次数不对", "line": line.pk})
    assert response.status_code == 302 and "objection=sent" in response["Location"]
    assert Objection.objects.get().line == line
    # Empty text: refused, kept, nothing written.
    response = client.post(url + "objection/", {"text": "  ", "line": line.pk})
    assert response.status_code == 422 and Objection.objects.count() == 1
    # Someone from another community cannot.
    stranger, _account = world.resident("household_b1")
    response = client_for(stranger).post(url + "objection/", {"text": "x"})
    assert response.status_code == 403 and Objection.objects.count() == 1
    # Anonymous: sent to log in.
    assert Client().post(url + "objection/", {"text": "x"}).status_code == 302


def test_public_publication_query_count_is_pinned(world):
    publication, _login = _published_month(world)
    url = f"/points/public/{world.community.pk}/{publication.month.year}/{publication.month.month}/"
    with CaptureQueriesContext(connection) as queries:
        assert Client().get(url).status_code == 200
    assert len(queries) <= 4


def test_public_rankings_by_level_kind_and_period(world, tree):
    _login, account = world.resident(name="李四光")
    world.award(account, 8, yesterday())
    client = Client()
    for place in ("community_a", "street", "district", "grid_a1"):
        page = client.get(f"/points/public/rankings/{tree[place].pk}/").content.decode()
        assert "李**" in page and "李四光" not in page, place
    page = client.get(f"/points/public/rankings/{tree['community_a'].pk}/", {"period": "1999", "kind": "x"})
    assert page.status_code == 200
    assert client.get(f"/points/public/rankings/{tree['household_a1'].pk}/").status_code == 404
    with CaptureQueriesContext(connection) as queries:
        client.get(f"/points/public/rankings/{tree['community_a'].pk}/", {"period": timezone.localdate().year})
    assert len(queries) <= 6


# ---------------------------------------------------------------- staff pages


def test_catalogue_empty_state_then_add_toggle_and_change_value(tree):
    district_admin = account_with_role(Role.DISTRICT_ADMIN, tree["district"])
    client = client_for(district_admin)
    page = client.get("/points/manage/catalogue/").content.decode()
    assert 'data-testid="empty-catalogue"' in page
    client.post("/points/manage/catalogue/", {"code": "theory", "name": "理论宣讲"})
    category = make_category("theory")
    response = client.post(
        "/points/manage/catalogue/new/",
        {
            "owner": tree["district"].pk,
            "category": category.pk,
            "code": "lecture",
            "name": "政策宣讲",
            "value": "5",
            "effective_from": "2020-01-01",
            "account_kinds": ["resident", "party_member"],
        },
    )
    assert response.status_code == 302
    item = PointItem.objects.get(code="lecture")
    # Bad input: kept and refused, nothing made.
    response = client.post(
        "/points/manage/catalogue/new/",
        {"owner": tree["district"].pk, "category": category.pk, "code": "bad code", "name": "x", "value": "-1"},
    )
    assert response.status_code == 422 and PointItem.objects.count() == 1
    secretary_a = secretary(tree["community_a"])
    sec = client_for(secretary_a)
    page = sec.get("/points/manage/catalogue/").content.decode()
    assert "政策宣讲" in page
    sec.post(f"/points/manage/catalogue/{item.pk}/toggle/", {"community": tree["community_a"].pk, "enabled": "0"})
    assert CommunityItemSetting.objects.get(item=item, community=tree["community_a"]).enabled is False
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(
        f"/points/manage/catalogue/{item.pk}/", {"value": "8", "effective_from": tomorrow, "reason": "月度调整"}
    )
    assert response.status_code == 302 and PointItemVersion.objects.filter(item=item).count() == 2
    response = client.post(f"/points/manage/catalogue/{item.pk}/", {"value": "9", "effective_from": tomorrow})
    assert response.status_code == 422 and PointItemVersion.objects.filter(item=item).count() == 2
    # A resident sees none of it.
    login = account_with_role(Role.RESIDENT, tree["household_a1"])
    assert client_for(login).get("/points/manage/catalogue/").status_code == 404


def test_catalogue_query_count_is_pinned(world, tree):
    client = client_for(secretary(tree["community_a"]))
    client.get("/points/manage/catalogue/")
    with CaptureQueriesContext(connection) as few:
        client.get("/points/manage/catalogue/", {"community": tree["community_a"].pk})
    for value in (1, 2, 4, 6):
        make_item(tree["district"], value=value)
    with CaptureQueriesContext(connection) as many:
        client.get("/points/manage/catalogue/", {"community": tree["community_a"].pk})
    assert len(many) == len(few)


def test_adjustment_needs_a_second_person(world, tree):
    _login, account = world.resident(name="王五")
    first = secretary(tree["community_a"])
    second = secretary(tree["community_a"])
    client = client_for(first)
    assert "王五" in client.get("/points/manage/adjustments/", {"q": "王五"}).content.decode()
    response = client.post("/points/manage/adjustments/", {"account": account.pk, "amount": "0", "reason": "x"})
    assert response.status_code == 422 and not Adjustment.objects.exists()
    client.post("/points/manage/adjustments/", {"account": account.pk, "amount": "4", "reason": "线下活动补录"})
    adjustment = Adjustment.objects.get()
    client.post(f"/points/manage/adjustments/{adjustment.pk}/", {"decision": "approve"})
    adjustment.refresh_from_db()
    assert adjustment.state == "proposed"  # the proposer cannot approve their own
    client_for(second).post(f"/points/manage/adjustments/{adjustment.pk}/", {"decision": "approve"})
    account.refresh_from_db()
    assert account.balance == 4 and ledger_check() == []


def test_publish_decide_objection_and_selection_pages(world, tree):
    login, account = world.resident(name="赵六")
    claim = world.award(account, 8, last_month() + timedelta(days=2))
    client = client_for(world.reviewer)
    page = client.get("/points/manage/publications/").content.decode()
    assert 'data-testid="empty-publications"' in page
    response = client.post("/points/manage/publications/", {"month": f"{last_month():%Y-%m}"})
    assert response.status_code == 302
    publication = Publication.objects.get()
    assert publication.state == "published"
    response = client.post("/points/manage/publications/", {"month": f"{last_month():%Y-%m}"})
    assert response.status_code == 409 and Publication.objects.count() == 1  # already published
    this_month = timezone.localdate().replace(day=1)
    response = client.post("/points/manage/publications/", {"month": f"{this_month:%Y-%m}"})
    assert response.status_code == 409
    from gongzhi.points.publication import objection_raise

    objection = objection_raise(actor=login, publication=publication, text="不对", line=publication.lines.get())
    manage = f"/points/manage/publications/{publication.pk}/"
    assert "赵*" in client.get(manage).content.decode()
    response = client.post(manage, {"action": "uphold", "objection": objection.pk, "claim": claim.pk, "reason": ""})
    assert response.status_code == 422
    client.post(manage, {"action": "uphold", "objection": objection.pk, "claim": claim.pk, "reason": "核实无此服务"})
    objection.refresh_from_db()
    account.refresh_from_db()
    assert objection.state == "upheld" and account.earned_total == 0 and ledger_check() == []
    response = client.post(manage, {"action": "lock"})
    assert response.status_code == 409  # the window is still open

    year = timezone.localdate().year
    world.award(world.resident(name="钱七")[1], 5, yesterday())
    selections = "/points/manage/selection/"
    assert client.get(selections, {"year": year}).status_code == 200
    client.post(selections, {"action": "propose", "year": year, "kind": "points_star", "places_available": 1})
    selection = Selection.objects.get()
    candidate = selection.candidates.first()
    client.post(
        selections, {"action": "confirm", "year": year, "selection": selection.pk, "selected": [candidate.account_id]}
    )
    client.post(selections, {"action": "publish", "year": year, "selection": selection.pk})
    selection.refresh_from_db()
    assert selection.state == "published"
    page = Client().get(f"/points/public/{world.community.pk}/selection/{year}/").content.decode()
    assert "钱*" in page


def test_evaluation_export(world, tree):
    client = client_for(secretary(tree["community_a"]))
    assert client.get("/points/manage/evaluation/").status_code == 200
    response = client.get(
        "/points/manage/evaluation/",
        {"place": tree["community_a"].pk, "year": timezone.localdate().year, "subject": "party_members"},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    response = client.get("/points/manage/evaluation/", {"place": tree["community_b"].pk, "year": 2024})
    assert response.status_code == 404
    assert client_for(world.reviewer).get("/points/manage/evaluation/").status_code == 404


def test_home_card_shows_balance_for_residents_and_queue_for_reviewers(world):
    login, account = world.resident()
    world.award(account, 5, yesterday())
    home = client_for(login).get("/").content.decode()
    assert "/points/card/" in home
    card = client_for(login).get("/points/card/").content.decode()
    assert 'data-testid="home-balance">5<' in card and 'data-testid="home-rank">1<' in card
    _claims(world, 2)
    card = client_for(world.reviewer).get("/points/card/").content.decode()
    assert 'data-testid="home-review"' in card and "2" in card


def test_my_claims_query_count_is_pinned(world):
    login, account = world.resident()
    client = client_for(login)
    claim_submit(actor=login, account=account, item=world.items[3], service_date=yesterday())
    with CaptureQueriesContext(connection) as few:
        client.get("/points/claims/")
    for days in (2, 3, 4, 5):
        claim_submit(
            actor=login, account=account, item=world.items[3], service_date=timezone.localdate() - timedelta(days=days)
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get("/points/claims/").content.decode()
    assert page.count('class="row"') == 5
    assert len(many) == len(few)


def test_bottom_bar_keeps_at_most_five_destinations(world, tree):
    from gongzhi.people.models import RoleAssignment

    login, _account = world.resident()
    staff_resident, _other = world.resident("household_a2")
    RoleAssignment.objects.create(account=staff_resident, role=Role.COMMUNITY_SECRETARY, place=tree["community_a"])
    for account in (login, world.reviewer, staff_resident):
        page = client_for(account).get("/points/").content.decode()
        bar = page.split('class="bottombar"')[1].split("</nav>")[0]
        assert bar.count("<a ") <= 5 and "/points/" in bar


# ---------------------------------------------------------------- the demo data


def test_demo_points_step_makes_a_real_ledger_and_pages_to_show(monkeypatch):
    import gongzhi.demo as demo
    from gongzhi.demo.district import DEMO_PASSWORD

    monkeypatch.setattr(demo, "STEPS", ["gongzhi.demo.steps_district", "gongzhi.demo.steps_points"])
    ran = demo.load_demo(scale=0.05)
    counts = ran["gongzhi.demo.steps_points"]
    assert counts["claim_approved"] > 20 and counts["claim_waiting"] > 0 and counts["publication"] >= 5
    assert ledger_check() == []
    assert demo.load_demo(scale=0.05) == {}  # loaded once
    for username in ("resident", "partymember"):
        account = PointsAccount.objects.get(resident__account__username=username)
        assert account.earned_total > 0, username
        client = Client()
        assert client.login(username=username, password=DEMO_PASSWORD)
        assert client.get("/points/").status_code == 200
    reviewer_client = Client()
    assert reviewer_client.login(username="reviewer", password=DEMO_PASSWORD)
    assert 'data-testid="queue-row"' in reviewer_client.get("/points/review/").content.decode()
    published = Publication.objects.exclude(state="open").order_by("-month").first()
    url = f"/points/public/{published.community_id}/{published.month.year}/{published.month.month}/"
    assert Client().get(url).status_code == 200


def test_a_reviewer_without_an_account_of_their_own_gets_the_points_home_from_the_claim_page(world, tree):
    """Regression (found by core/tests/test_page_matrix.py): /points/claim/ rendered the home page without the
    review queue's count for staff who hold no points account, and the template failed with a 500."""
    secretary_a = secretary(tree["community_a"])
    response = client_for(secretary_a).get("/points/claim/")
    assert response.status_code == 200
    assert b'data-testid="review-card"' in response.content
