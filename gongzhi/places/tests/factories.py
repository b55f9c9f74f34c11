"""Factories for places. ``PlaceFactory`` builds through the real service so paths and levels are right."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.services import place_create

_counter = {"n": 0}


def superuser():
    """A real superuser account that builds fixtures through the services (created on first use)."""
    from gongzhi.people.models import Account

    account, _created = Account.objects.get_or_create(
        username="fixture-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    return account


def make_place(kind: str, parent: Place | None = None, name: str | None = None, **extra) -> Place:
    _counter["n"] += 1
    return place_create(
        actor=superuser(),
        kind=kind,
        name=name or f"{PlaceKind(kind).label}-{_counter['n']}",
        parent=parent,
        audit=False,
        **extra,
    )


def make_tree() -> dict[str, Place]:
    """A small district: one street, two communities; community A has grids A1 (with building A1-1) and A2."""
    district = make_place(PlaceKind.DISTRICT, name="示范区")
    street = make_place(PlaceKind.STREET, district, name="东街道")
    community_a = make_place(PlaceKind.COMMUNITY, street, name="和平社区")
    community_b = make_place(PlaceKind.COMMUNITY, street, name="幸福社区")
    grid_a1 = make_place(PlaceKind.GRID, community_a, name="第一网格")
    grid_a2 = make_place(PlaceKind.GRID, community_a, name="第二网格")
    building_a1 = make_place(PlaceKind.BUILDING, grid_a1, name="1号楼")
    entrance_a1 = make_place(PlaceKind.ENTRANCE, building_a1, name="1单元")
    household_a1 = make_place(PlaceKind.HOUSEHOLD, entrance_a1, name="101")
    household_a1b = make_place(PlaceKind.HOUSEHOLD, entrance_a1, name="102")
    building_a2 = make_place(PlaceKind.BUILDING, grid_a2, name="2号楼")
    entrance_a2 = make_place(PlaceKind.ENTRANCE, building_a2, name="1单元")
    household_a2 = make_place(PlaceKind.HOUSEHOLD, entrance_a2, name="201")
    grid_b1 = make_place(PlaceKind.GRID, community_b, name="第一网格")
    building_b1 = make_place(PlaceKind.BUILDING, grid_b1, name="1号楼")
    entrance_b1 = make_place(PlaceKind.ENTRANCE, building_b1, name="1单元")
    household_b1 = make_place(PlaceKind.HOUSEHOLD, entrance_b1, name="101")
    return {
        "district": district,
        "street": street,
        "community_a": community_a,
        "community_b": community_b,
        "grid_a1": grid_a1,
        "grid_a2": grid_a2,
        "building_a1": building_a1,
        "entrance_a1": entrance_a1,
        "household_a1": household_a1,
        "household_a1b": household_a1b,
        "building_a2": building_a2,
        "entrance_a2": entrance_a2,
        "household_a2": household_a2,
        "grid_b1": grid_b1,
        "building_b1": building_b1,
        "entrance_b1": entrance_b1,
        "household_b1": household_b1,
    }


def make_world() -> dict:
    """The place tree (``make_tree``'s keys) with who works in it: ``admin`` (a superuser), ``secretary`` of
    community A (staff, with the admin's model permissions), ``grid_worker`` of grid A1."""
    from django.contrib.auth.models import Permission

    from gongzhi.core.roles import Role
    from gongzhi.people.tests.factories import account_with_role

    tree = make_tree()
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"], username="secretary_a", is_staff=True)
    secretary.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["places", "people"]))
    return {
        **tree,
        "admin": superuser(),
        "secretary": secretary,
        "grid_worker": account_with_role(Role.GRID_WORKER, tree["grid_a1"], username="grid_a1"),
    }


__all__ = ["AnonymousUser", "make_place", "make_tree", "make_world", "superuser"]
