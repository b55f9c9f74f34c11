"""Choosing the household on the visit form by search (building, entrance, room or name), with and without
JavaScript, instead of one dropdown of hundreds (``visit_views.py``, ``selectors.visit_households``)."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone

from gongzhi.cases.models import HouseholdVisit
from gongzhi.cases.selectors import visit_households
from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import ResidentFactory, account_with_role
from gongzhi.places.models import PlaceKind
from gongzhi.places.tests.factories import make_place


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def _many_households(world, count: int = 40):
    """A second entrance of building 1 with ``count`` households, one of them where 杨明 lives."""
    entrance = make_place(PlaceKind.ENTRANCE, world["building_a1"], name="2单元")
    households = [make_place(PlaceKind.HOUSEHOLD, entrance, name=f"{500 + number}") for number in range(count)]
    ResidentFactory(household=households[2], name="杨明")
    return entrance, households


def test_households_are_found_by_building_entrance_room_or_name(world):
    _entrance, households = _many_households(world)
    worker = world["grid_worker"]
    found, total = visit_households(worker, "502")
    assert [household.pk for household in found] == [households[2].pk] and total == 1
    assert found[0].label == "1号楼 · 2单元 · 502"
    found, total = visit_households(worker, "杨")
    assert [household.pk for household in found] == [households[2].pk]
    found, total = visit_households(worker, "1号楼 2单元 50")
    assert total == 10 and all(household.label.startswith("1号楼 · 2单元 · 50") for household in found)
    found, total = visit_households(worker, "1单元")
    assert {household.name for household in found} == {"101", "102"}
    found, total = visit_households(worker, "")
    assert total == 42 and len(found) == 30  # the first thirty, and how many there are
    # Only the households in the visitor's reach: nothing from community B, whatever is typed.
    assert visit_households(worker, "幸福")[1] == 0
    outsider = account_with_role(Role.GRID_WORKER, world["grid_b1"], username="grid_b1")
    assert {household.pk for household in visit_households(outsider, "101")[0]} == {world["household_b1"].pk}


def test_the_search_box_asks_a_small_endpoint_and_works_without_javascript(world):
    _entrance, households = _many_households(world)
    worker = client_for(world["grid_worker"])
    page = worker.get("/cases/visit/").content.decode()
    assert 'hx-get="/cases/visit/households/"' in page and 'name="find"' in page
    assert "<select" not in page.split('data-testid="visit-households"')[1].split("</div>")[0]
    assert 'data-testid="household-more"' in page  # 30 of 42 shown, search for the others
    fragment = worker.get("/cases/visit/households/", {"household_q": "502"})
    assert fragment.status_code == 200 and "<html" not in fragment.content.decode()
    assert (
        f'value="{households[2].pk}"' in fragment.content.decode()
        and "1号楼 · 2单元 · 502" in fragment.content.decode()
    )
    nothing = worker.get("/cases/visit/households/", {"household_q": "999"}).content.decode()
    assert 'data-testid="household-none"' in nothing and "999" in nothing
    # Without JavaScript: the Find button sends the form back with the matches and what was typed, logging nothing.
    today = timezone.localdate().isoformat()
    response = worker.post(
        "/cases/visit/", {"household_q": "杨", "find": "1", "visited_on": today, "findings": "家中有老人"}
    )
    assert response.status_code == 200 and not HouseholdVisit.objects.exists()
    text = response.content.decode()
    assert f'value="{households[2].pk}"' in text and "家中有老人" in text and f'value="{households[0].pk}"' not in text
    # The household chosen stays offered when the search changes.
    fragment = worker.get("/cases/visit/households/", {"household_q": "101", "household": households[2].pk})
    assert f'value="{households[2].pk}" checked' in fragment.content.decode()
    response = worker.post(
        "/cases/visit/", {"household_q": "杨", "household": households[2].pk, "visited_on": today, "outcome": "none"}
    )
    assert response.status_code == 302 and HouseholdVisit.objects.get().household == households[2]


def test_the_endpoint_is_for_visitors_only(world):
    resident = client_for(world["resident"])
    assert_refused("not_found", lambda: resident.get("/cases/visit/households/", {"household_q": "101"}))
    head = client_for(world["building_head"])
    fragment = head.get("/cases/visit/households/", {"household_q": "1"}).content.decode()
    assert f'value="{world["household_a1"].pk}"' in fragment and f'value="{world["household_a2"].pk}"' not in fragment
