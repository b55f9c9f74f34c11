"""The catalogue: categories, items with versioned values, community switches, the year's adjustments."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

import pytest
from django.utils import timezone

from gongzhi.core.roles import Role
from gongzhi.core.testing import assert_refused
from gongzhi.people.tests.factories import account_with_role
from gongzhi.points.models import AccountKind, PointItemVersion
from gongzhi.points.selectors import catalogue_adjustments
from gongzhi.points.services import (
    category_create,
    item_create,
    item_set_enabled,
    item_value_change,
    item_value_on,
    items_available,
)
from gongzhi.points.tests.factories import make_category, make_item, secretary

pytestmark = pytest.mark.django_db


@pytest.fixture
def district_admin(tree):
    return account_with_role(Role.DISTRICT_ADMIN, tree["district"], username="district-admin")


def item_arguments(tree, **overrides):
    arguments = {
        "owner": tree["district"],
        "category": make_category(),
        "code": "patrol",
        "name": "平安巡逻",
        "value": 3,
        "effective_from": date(2026, 1, 1),
        "account_kinds": [AccountKind.RESIDENT, AccountKind.PARTY_MEMBER],
    }
    arguments.update(overrides)
    return arguments


def test_categories_belong_to_the_district(tree, district_admin):
    category = category_create(actor=district_admin, code="safety", name="平安创建")
    assert category.code == "safety"
    assert_refused("duplicate_code", lambda: category_create(actor=district_admin, code="safety", name="again"))
    assert_refused("validation_failed", lambda: category_create(actor=district_admin, code="bad code!", name="x"))
    assert_refused(
        "permission_denied", partial(category_create, actor=secretary(tree["community_a"]), code="mine", name="mine")
    )


def test_item_create_validates_every_field(tree, district_admin):
    item = item_create(actor=district_admin, **item_arguments(tree))
    assert item.versions.get().value == 3
    for overrides in (
        {"value": 0},
        {"value": -2},
        {"value": 2.5},
        {"account_kinds": []},
        {"account_kinds": ["system"]},
        {"cap_per_day": 0},
        {"cap_per_day": 2},  # a second claim for the same item and day is a duplicate: a daily cap of 2 never applies
        {"code": "has space"},
        {"name": ""},
        {"owner": tree["grid_a1"]},
    ):
        error = assert_refused(
            "validation_failed", partial(item_create, actor=district_admin, **item_arguments(tree, **overrides))
        )
        assert error.fields, overrides
    assert_refused("duplicate_code", partial(item_create, actor=district_admin, **item_arguments(tree)))


def test_communities_add_their_own_items_but_not_the_districts(tree):
    community_secretary = secretary(tree["community_a"])
    own = item_create(actor=community_secretary, **item_arguments(tree, owner=tree["community_a"], code="own"))
    assert own.owner == tree["community_a"]
    assert_refused(
        "not_found", partial(item_create, actor=community_secretary, **item_arguments(tree, code="district-item"))
    )
    assert_refused(
        "not_found",
        partial(
            item_create, actor=community_secretary, **item_arguments(tree, owner=tree["community_b"], code="theirs")
        ),
    )


def test_value_changes_make_versions_and_never_rewrite_the_past(tree, district_admin):
    item = make_item(tree["district"], value=5, effective_from=date(2025, 1, 1))
    today = timezone.localdate()
    item_value_change(actor=district_admin, item=item, value=8, effective_from=today, reason="月度调整")
    item_value_change(
        actor=district_admin, item=item, value=10, effective_from=today + timedelta(days=30), reason="下月调整"
    )
    assert item_value_on(item, today - timedelta(days=1)).value == 5
    assert item_value_on(item, today).value == 8
    assert item_value_on(item, today + timedelta(days=30)).value == 10
    assert_refused("item_not_in_force", lambda: item_value_on(item=item, day=date(2024, 12, 31)))
    assert item_value_on(item, date(2024, 12, 31), required=False) is None
    assert_refused(
        "validation_failed",
        lambda: item_value_change(
            actor=district_admin, item=item, value=9, effective_from=today - timedelta(days=1), reason="backdated"
        ),
    )
    assert_refused(
        "validation_failed",
        lambda: item_value_change(actor=district_admin, item=item, value=0, effective_from=today, reason="x"),
    )
    assert_refused(
        "validation_failed",
        lambda: item_value_change(actor=district_admin, item=item, value=4, effective_from=today, reason=""),
    )
    assert_refused(
        "version_exists",
        lambda: item_value_change(actor=district_admin, item=item, value=4, effective_from=today, reason="x"),
    )
    assert_refused(
        "not_found",
        partial(
            item_value_change,
            actor=secretary(tree["community_a"]),
            item=item,
            value=4,
            effective_from=today + timedelta(days=1),
            reason="x",
        ),
    )
    assert item.versions.count() == 3


def test_items_available_in_a_community(tree):
    day = timezone.localdate()
    shared = make_item(tree["district"], code="shared")
    switched_off = make_item(tree["district"], code="switched-off")
    own = make_item(tree["community_a"], code="own-a")
    make_item(tree["community_b"], code="own-b")
    organisations = make_item(tree["district"], code="orgs", account_kinds=[AccountKind.ORGANISATION])
    make_item(tree["district"], code="later", effective_from=day + timedelta(days=5))
    item_set_enabled(
        actor=secretary(tree["community_a"]), community=tree["community_a"], item=switched_off, enabled=False
    )
    codes = {item.code for item in items_available(tree["community_a"], AccountKind.RESIDENT, day)}
    assert codes == {shared.code, own.code}
    assert {item.code for item in items_available(tree["community_b"], AccountKind.RESIDENT, day)} == {
        "shared",
        "switched-off",
        "own-b",
    }
    assert organisations.code in {
        item.code for item in items_available(tree["community_a"], AccountKind.ORGANISATION, day)
    }
    available = items_available(tree["community_a"], AccountKind.RESIDENT, day)
    assert all(item.version.value == 5 for item in available)
    item_set_enabled(
        actor=secretary(tree["community_a"]), community=tree["community_a"], item=switched_off, enabled=True
    )
    assert "switched-off" in {item.code for item in items_available(tree["community_a"], AccountKind.RESIDENT, day)}
    assert_refused(
        "not_found",
        partial(
            item_set_enabled,
            actor=secretary(tree["community_b"]),
            community=tree["community_a"],
            item=shared,
            enabled=False,
        ),
    )


def test_the_years_adjustments_are_counted(tree, district_admin):
    today = timezone.localdate()
    first = make_item(tree["district"], effective_from=date(today.year - 1, 3, 1))
    second = make_item(tree["district"], effective_from=date(today.year - 1, 3, 1))
    make_item(tree["district"], effective_from=date(today.year, 1, 1))  # new this year: not an adjustment
    item_value_change(actor=district_admin, item=first, value=6, effective_from=today, reason="调整")
    item_value_change(
        actor=district_admin, item=first, value=7, effective_from=today + timedelta(days=1), reason="调整"
    )
    item_value_change(actor=district_admin, item=second, value=2, effective_from=today, reason="调整")
    expected_changes = PointItemVersion.objects.filter(effective_from__year=today.year).count() - 1
    counted = catalogue_adjustments(today.year)
    assert counted["items_changed"] == 2
    assert counted["changes"] == expected_changes
