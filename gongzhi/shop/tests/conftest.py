"""Fixtures of the shop tests: a community with an open shop, a merchant in its alliance with a clerk."""

from __future__ import annotations

import pytest

from .factories import clerk_of, make_merchant, make_offer, open_shop, resident_with_points


@pytest.fixture
def shop(tree):
    community = tree["community_a"]
    open_shop(community)
    merchant = make_merchant(community, "张记面馆")
    other = make_merchant(community, "李家超市")
    return {
        "community": community,
        "merchant": merchant,
        "other_merchant": other,
        "clerk": clerk_of(merchant, "clerk_a"),
        "other_clerk": clerk_of(other, "clerk_b"),
    }


@pytest.fixture
def offer(shop):
    return make_offer(shop["community"], shop["merchant"], title="牛肉面一碗", points_price=30, stock=5)


@pytest.fixture
def buyer(tree):
    return resident_with_points(tree["household_a1"], 100, name="张三")
