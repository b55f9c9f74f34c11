"""What a person trying each role hit in the points pages (issue #15, item 10), through the real client: no link or
habit ends on a 404, a reviewer decides on a claim's own page and goes back to the queue, the queue finds people by
name, weeks read as dates, the second person is told an adjustment waits, and organisations are named in public."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from gongzhi.core.roles import Role
from gongzhi.people.models import Organisation
from gongzhi.people.tests.factories import account_with_role
from gongzhi.points.ledger import account_for_organisation
from gongzhi.points.models import Adjustment, Claim, ClaimDecision, PointsAccount
from gongzhi.points.publication import publication_publish
from gongzhi.points.services import adjustment_propose, claim_approve, claim_submit
from gongzhi.points.templatetags.points import week_label
from gongzhi.points.tests.factories import make_category, make_item, reviewer, secretary, yesterday
from gongzhi.points.tests.publication_factories import PointsWorld, last_month

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="(/[^"#]*)"')


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def world(tree):
    return PointsWorld(tree)


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def snapshot():
    return (
        list(Claim.objects.order_by("pk").values_list("pk", "state", "decided_at", "first_approver_id")),
        ClaimDecision.objects.count(),
        list(PointsAccount.objects.order_by("pk").values_list("pk", "balance", "earned_total")),
        list(Adjustment.objects.order_by("pk").values_list("pk", "state")),
    )


def _claims(world, count: int, *, item=None, name: str | None = None) -> list[Claim]:
    claims = []
    for number in range(count):
        login, account = world.resident("household_a1" if number % 2 else "household_a2", name=name)
        claims.append(claim_submit(actor=login, account=account, item=item or world.items[3], service_date=yesterday()))
    return claims


def _links(html: str, prefix: str) -> set[str]:
    return {link.replace("&amp;", "&") for link in HREF.findall(html) if link.startswith(prefix)}


# ---------------------------------------------------------------- no link or habit ends on a 404


def test_the_reviewers_home_links_only_to_pages_they_can_open(world, tree):
    home = client_for(world.reviewer).get("/").content.decode()
    assert f"/places/{world.community.pk}/residents/" not in home  # a reviewer sees places, not residents
    links = _links(home, "/places/")
    assert f"/places/{world.community.pk}/" in links
    for link in links:
        assert client_for(world.reviewer).get(link).status_code == 200, link
    # A grid worker keeps the residents button, and it opens.
    grid_worker = account_with_role(Role.GRID_WORKER, tree["grid_a1"])
    home = client_for(grid_worker).get("/").content.decode()
    assert f'href="/places/{tree["grid_a1"].pk}/residents/"' in home
    assert client_for(grid_worker).get(f"/places/{tree['grid_a1'].pk}/residents/").status_code == 200


def test_every_points_link_a_staff_member_is_shown_opens(world, tree):
    _claims(world, 1)
    people = {
        "reviewer": world.reviewer,
        "worker": world.worker,
        "secretary": secretary(world.community),
        "street": account_with_role(Role.STREET_ADMIN, tree["street"]),
    }
    for who, account in people.items():
        client = client_for(account)
        seen = set()
        for page in ("/points/", "/points/review/"):
            response = client.get(page)
            if response.status_code == 200:
                seen |= _links(response.content.decode(), "/points/")
        seen = {link for link in seen if not link.startswith("/points/photos/")}
        assert seen, who
        for link in seen:
            assert client.get(link).status_code == 200, (who, link)
    reviewer_home = client_for(world.reviewer).get("/points/").content.decode()
    assert "/points/record/" not in reviewer_home and "/points/manage/adjustments/" not in reviewer_home
    worker_home = client_for(world.worker).get("/points/").content.decode()
    assert "/points/record/" in worker_home and "/points/manage/adjustments/" not in worker_home


def test_record_and_adjustments_addresses_lead_somewhere_for_everyone(world):
    _login, account = world.resident()
    resident_login, _account = world.resident()
    before = snapshot()
    reviewer_client = client_for(world.reviewer)
    response = reviewer_client.get("/points/record/", follow=True)
    assert response.redirect_chain == [("/points/review/", 302)] and response.status_code == 200
    assert "代居民申报积分由社区工作者和社区书记办理" in response.content.decode()
    response = reviewer_client.get("/points/manage/adjustments/", follow=True)
    assert response.redirect_chain == [("/points/", 302)] and response.status_code == 200
    assert "积分调整由社区书记和街道、区管理员办理" in response.content.decode()
    posted = reviewer_client.post("/points/manage/adjustments/", {"account": account.pk, "amount": "5", "reason": "x"})
    assert posted.status_code == 302  # nothing proposed by someone who may not
    worker_client = client_for(world.worker)
    assert worker_client.get("/points/record/").status_code == 200
    assert worker_client.get("/points/manage/adjustments/")["Location"] == "/points/"
    assert client_for(resident_login).get("/points/record/")["Location"] == "/points/"
    assert snapshot() == before


# ---------------------------------------------------------------- a claim's page for the reviewer


def test_reviewer_decides_on_the_claims_page_and_goes_back_to_the_same_queue(world):
    claims = _claims(world, 3)
    client = client_for(world.reviewer)
    queue = client.get("/points/review/", {"community": world.community.pk, "item": world.items[3].pk})
    links = sorted(link for link in _links(queue.content.decode(), "/points/claims/"))
    assert len(links) == 3
    link = next(link for link in links if link.startswith(f"/points/claims/{claims[0].pk}/"))
    page = client.get(link).content.decode()
    assert 'data-testid="decide-form"' in page
    for decision in ("approve", "return", "reject"):
        assert f'data-testid="{decision}"' in page
    back = re.search(r'href="([^"]*)" data-testid="back-link">([^<]*)<', page)
    back_url = back[1].replace("&amp;", "&")
    assert back_url.startswith("/points/review/?") and back[2] == "返回审核列表"
    assert f"item={world.items[3].pk}" in back_url and f"community={world.community.pk}" in back_url
    assert client.get(back_url).status_code == 200
    # Reject without a reason: refused on the same page, the state unchanged.
    before = snapshot()
    back_value = re.search(r'name="back" value="([^"]*)"', page)[1].replace("&amp;", "&")
    refused = client.post(
        f"/points/claims/{claims[0].pk}/decide/", {"decision": "reject", "reason": " ", "back": back_value}
    )
    assert refused.status_code == 422 and 'data-testid="claim-error"' in refused.content.decode()
    assert snapshot() == before
    # Approve: the same service as the queue; back to the queue with its filters.
    approved = client.post(f"/points/claims/{claims[0].pk}/decide/", {"decision": "approve", "back": back_value})
    assert approved.status_code == 302 and approved["Location"] == back_url
    claims[0].refresh_from_db()
    assert claims[0].state == "approved"
    assert ClaimDecision.objects.get(claim=claims[0], decision="approve").actor == world.reviewer
    # Return with a reason.
    client.post(f"/points/claims/{claims[1].pk}/decide/", {"decision": "return", "reason": "请补充照片"})
    claims[1].refresh_from_db()
    assert claims[1].state == "returned"
    # A decided claim has no buttons any more; the back link still leads to the queue.
    page = client.get(f"/points/claims/{claims[0].pk}/").content.decode()
    assert 'data-testid="decide-form"' not in page and "返回审核列表" in page
    # Deciding twice is refused and changes nothing.
    before = snapshot()
    again = client.post(f"/points/claims/{claims[0].pk}/decide/", {"decision": "approve"})
    assert again.status_code == 409 and snapshot() == before


def test_the_claimant_and_outsiders_get_no_decision_on_the_claims_page(world, tree):
    [claim] = _claims(world, 1)
    claimant = claim.account.resident.account
    page = client_for(claimant).get(f"/points/claims/{claim.pk}/").content.decode()
    assert 'data-testid="decide-form"' not in page
    assert re.search(r'href="/points/claims/" data-testid="back-link">返回我的申报<', page)
    before = snapshot()
    assert client_for(claimant).post(f"/points/claims/{claim.pk}/decide/", {"decision": "approve"}).status_code == 404
    outsider = reviewer(tree["community_b"])
    assert client_for(outsider).get(f"/points/claims/{claim.pk}/").status_code == 404
    assert client_for(outsider).post(f"/points/claims/{claim.pk}/decide/", {"decision": "approve"}).status_code == 404
    # A grid worker may read the claim (points.view) but not decide it: back to the account's history.
    assert claim.account.place_path.startswith(tree["grid_a2"].path)  # the first claim comes from household A2
    grid_client = client_for(account_with_role(Role.GRID_WORKER, tree["grid_a2"]))
    response = grid_client.get(f"/points/claims/{claim.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="decide-form"' not in page
    assert re.search(rf'href="/points/history/\?account={claim.account_id}" data-testid="back-link"', page)
    assert grid_client.get(f"/points/history/?account={claim.account_id}").status_code == 200
    assert grid_client.post(f"/points/claims/{claim.pk}/decide/", {"decision": "approve"}).status_code == 404
    assert snapshot() == before


def test_a_two_reviewer_claim_shows_the_first_reviewer_no_second_approval(world, tree):
    item = make_item(tree["district"], value=10, two_reviewers=True)
    [claim] = _claims(world, 1, item=item)
    claim_approve(actor=world.reviewer, claim=claim)
    page = client_for(world.reviewer).get(f"/points/claims/{claim.pk}/").content.decode()
    assert 'data-testid="second-reviewer"' in page and 'data-testid="approve"' not in page
    second = reviewer(world.community)
    client_for(second).post(f"/points/claims/{claim.pk}/decide/", {"decision": "approve"})
    claim.refresh_from_db()
    assert claim.state == "approved"


# ---------------------------------------------------------------- the queue finds people by name


def test_queue_search_by_name_and_item_with_filters_and_pages(world, tree, monkeypatch):
    monkeypatch.setattr("gongzhi.points.views.review.PER_PAGE", 2)
    _claims(world, 3, name="欧阳修")
    _claims(world, 2, name="李清照")
    other = make_item(tree["district"], value=4, name="平安巡逻", category=make_category("safety", "平安创建"))
    _claims(world, 1, item=other, name="欧阳询")
    client = client_for(world.reviewer)

    def rows(**query):
        page = client.get("/points/review/", query).content.decode()
        return page, page.count('data-testid="queue-row"')

    page, count = rows(q="欧阳")
    assert count == 2 and "欧阳修" in page and "李清照" not in page  # 4 match, 2 a page
    assert 'href="?q=%E6%AC%A7%E9%98%B3&amp;page=2"' in page  # the pager keeps the search
    page, count = rows(q="欧阳", page=2)
    assert count == 2 and "李清照" not in page
    assert rows(q="欧阳", page=3)[1] == 2  # past the end: the last page
    assert rows(q="李清照")[1] == 2
    assert rows(q="平安巡逻")[1] == 1  # by item
    assert rows(q="欧阳", category=other.category_id)[1] == 1  # combined with a filter
    assert rows(q="欧阳", item=world.items[3].pk)[1] == 2
    page, count = rows(q="诸葛亮")
    assert count == 0 and 'data-testid="empty-queue"' in page and "诸葛亮" in page
    # htmx swaps the list with the same search.
    swapped = client.get("/points/review/", {"q": "李清照"}, headers={"HX-Request": "true"}).content.decode()
    assert swapped.count('data-testid="queue-row"') == 2 and "<html" not in swapped
    # A decision from a searched queue comes back to the same search.
    claim = Claim.objects.filter(account__display_name="李清照").first()
    response = client.post("/points/review/decide/?q=李清照", {"claim": [claim.pk], "decision": "approve"})
    assert response.status_code == 302 and "q=" in response["Location"]


def test_queue_search_query_count_is_pinned(world):
    client = client_for(world.reviewer)
    _claims(world, 2, name="欧阳修")
    client.get("/points/review/", {"q": "欧阳"})
    with CaptureQueriesContext(connection) as few:
        assert client.get("/points/review/", {"q": "欧阳"}).status_code == 200
    _claims(world, 6, name="欧阳修")
    with CaptureQueriesContext(connection) as many:
        page = client.get("/points/review/", {"q": "欧阳"}).content.decode()
    assert page.count('data-testid="queue-row"') == 8
    assert len(many) == len(few) <= 20


# ---------------------------------------------------------------- weeks as people read them


def test_week_codes_read_as_dates_in_both_languages():
    with translation.override("zh-hans"):
        assert week_label("2026-W47") == "2026年第47周（11月16日–11月22日）"
        assert week_label("2026-W49") == "2026年第49周（11月30日–12月6日）"
        assert week_label("2026-W01") == "2026年第1周（2025年12月29日–2026年1月4日）"
    with translation.override("en"):
        assert week_label("2026-W47") == "Week 47, 16–22 Nov 2026"
        assert week_label("2026-W49") == "Week 49, 30 Nov – 6 Dec 2026"
        assert week_label("2026-W01") == "Week 1, 29 Dec 2025 – 4 Jan 2026"
    assert week_label("2026-W60") == "2026-W60" and week_label("") == "" and week_label(None) == ""


def test_the_queue_shows_weeks_as_dates_not_codes(world):
    [claim] = _claims(world, 1)
    code = claim.review_week
    client = client_for(world.reviewer)
    page = client.get("/points/review/").content.decode()
    with translation.override("zh-hans"):
        label = week_label(code)
    assert label in page and f">{code}<" not in page and f">{code} " not in page
    assert f'<option value="{code}"' in page  # the filter's value stays the code
    client.post("/me/language/", {"language": "en"})
    page = client.get("/points/review/").content.decode()
    with translation.override("en"):
        assert week_label(code) in page


# ---------------------------------------------------------------- the second person is told an adjustment waits


def test_the_street_approver_is_told_an_adjustment_waits_and_decides_it(world, tree):
    proposer = secretary(world.community)
    street = account_with_role(Role.STREET_ADMIN, tree["street"])
    _login, account = world.resident(name="王五")
    card = client_for(street).get("/points/card/").content.decode()
    assert 'data-testid="home-adjustments"' not in card
    adjustment = adjustment_propose(actor=proposer, account=account, amount=4, reason="线下活动补录")
    # The street admin's home page (its points card) and points page say it waits for them.
    assert "/points/card/" in client_for(street).get("/").content.decode()
    card = client_for(street).get("/points/card/").content.decode()
    assert 'data-testid="home-adjustments"' in card and "有 1 条积分调整等待您审批" in card
    assert "/points/manage/adjustments/" in card
    points_home = client_for(street).get("/points/").content.decode()
    assert 'data-testid="adjustments-waiting"' in points_home
    # The proposer is not told to decide their own.
    assert 'data-testid="home-adjustments"' not in client_for(proposer).get("/points/card/").content.decode()
    mine = client_for(proposer).get("/points/manage/adjustments/").content.decode()
    assert 'data-testid="waiting-row"' not in mine and 'data-testid="proposed"' in mine and "王五" in mine
    # The page where the street admin approves lists it, with its community.
    page = client_for(street).get("/points/manage/adjustments/").content.decode()
    assert page.count('data-testid="waiting-row"') == 1 and "王五" in page and world.community.name in page
    client_for(street).post(f"/points/manage/adjustments/{adjustment.pk}/", {"decision": "approve"})
    adjustment.refresh_from_db()
    account.refresh_from_db()
    assert adjustment.state == "approved" and account.balance == 4
    assert 'data-testid="home-adjustments"' not in client_for(street).get("/points/card/").content.decode()
    # Out of reach (another street's admin): not told, not listed.
    other = account_with_role(Role.STREET_ADMIN, tree["community_b"])
    adjustment_propose(actor=proposer, account=account, amount=2, reason="补录")
    assert 'data-testid="home-adjustments"' not in client_for(other).get("/points/card/").content.decode()


def test_adjustments_page_query_count_does_not_grow_with_waiting_rows(world, tree):
    proposer = secretary(world.community)
    street = account_with_role(Role.STREET_ADMIN, tree["street"])
    client = client_for(street)
    _login, account = world.resident()
    adjustment_propose(actor=proposer, account=account, amount=1, reason="一")
    client.get("/points/manage/adjustments/")
    with CaptureQueriesContext(connection) as few:
        client.get("/points/manage/adjustments/")
    for number in range(4):
        adjustment_propose(actor=proposer, account=account, amount=number + 2, reason="补录")
    with CaptureQueriesContext(connection) as many:
        page = client.get("/points/manage/adjustments/").content.decode()
    assert page.count('data-testid="waiting-row"') == 5
    assert len(many) == len(few)


# ---------------------------------------------------------------- people masked, organisations named


def test_public_lists_mask_people_and_name_organisations(world, tree):
    _login, person = world.resident(name="张三丰")
    school = Organisation.objects.create(kind="school", name="中心小学", place=tree["grid_a1"])
    organisation = account_for_organisation(school)
    day = last_month() + timedelta(days=2)
    world.award(person, 8, day)
    world.award(organisation, 5, day)
    client = Client()
    page = client.get(f"/points/public/rankings/{world.community.pk}/").content.decode()
    assert "中心小学" in page and "中***" not in page
    assert "张**" in page and "张三丰" not in page
    publication = publication_publish(actor=world.reviewer, community=world.community, month=last_month())
    month = publication.month
    page = client.get(f"/points/public/{world.community.pk}/{month.year}/{month.month}/").content.decode()
    assert "中心小学" in page and "张**" in page and "张三丰" not in page
