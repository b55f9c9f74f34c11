"""The KPI catalogue: every registered figure is defined and translated, the figures equal the hand counts of the
world (conftest.py), and the same figure is the same number on the cockpit page, the API and the workbook."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from gongzhi.core import kpi_catalogue
from gongzhi.core.figures import Rate
from gongzhi.core.kpi_catalogue import Figure, FigureGroup, KpiDomain, Unit

from .conftest import FEBRUARY, MARCH

DOMAINS = ("places", "people", "points", "shop", "cases")


def _texts(figure: Figure):
    yield figure.name
    yield figure.definition
    if figure.unit == Unit.RATE:
        yield figure.numerator
        yield figure.denominator


def test_the_five_domains_register_their_figures():
    keys = [domain.key for domain in kpi_catalogue.domains()]
    for key in DOMAINS:
        assert key in keys
    figures = kpi_catalogue.figures()
    assert len(figures) >= 70
    for key in (
        "places.tree.households",
        "people.organisation.community_workers_per_10000",
        "points.ledger.issued",
        "points.claims.reviewed_in_week",
        "shop.alliance.merchants",
        "cases.cases.on_time",
        "cases.disputes.resolution_rate",
    ):
        assert key in figures
    for key in figures:
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+\.[a-z_0-9]+", key), key


def test_every_figure_has_a_name_a_definition_and_a_chinese_translation():
    untranslated = []
    for domain in kpi_catalogue.domains():
        texts = [domain.name]
        for group in domain.groups:
            texts.append(group.name)
            for figure in group.figures:
                texts.extend(_texts(figure))
        for text in texts:
            with translation.override("en"):
                english = str(text)
            with translation.override("zh-hans"):
                chinese = str(text)
            assert english.strip(), f"empty text in {domain.key}"
            if chinese == english or not re.search(r"[\u4e00-\u9fff]", chinese):
                untranslated.append(english)
    assert untranslated == []


def test_a_rate_must_say_what_it_counts_and_a_group_belongs_to_its_domain():
    with pytest.raises(ValueError):
        Figure("on_time", "On time", "…", Unit.RATE)
    with pytest.raises(ValueError):
        Figure("x", "X", "…", "furlongs")
    group = FigureGroup("cases.cases", "Cases", lambda place, period: None, ())
    with pytest.raises(ValueError):
        KpiDomain("points", "Points", (group,))


def test_figures_equal_the_hand_counts(world):
    snapshot = kpi_catalogue.compute(world["community_a"], MARCH)
    assert snapshot["cases.cases.received"].value == 4
    assert snapshot["cases.cases.closed"].value == 3
    assert snapshot["cases.cases.open"].value == 1
    assert snapshot["cases.cases.on_time"].value == Rate(2, 3)
    assert snapshot["cases.cases.on_time"].shown == "66.7%"
    assert snapshot["cases.cases.satisfaction"].value == Rate(2, 3)
    assert snapshot["cases.cases.resolved_in_grid"].value == Rate(2, 3)
    assert snapshot["cases.cases.resolved_in_community"].value == Rate(3, 3)
    assert snapshot["points.ledger.issued"].value == 8
    assert snapshot["points.ledger.participants"].value == 1
    assert snapshot["points.claims.approved"].value == 2
    assert snapshot["points.claims.rejected"].value == 1
    assert snapshot["points.claims.reviewed_in_week"].value == Rate(3, 3)
    assert snapshot["places.tree.households"].value == 3
    assert snapshot["places.tree.households_per_grid"].value == Decimal("1.5")
    district = kpi_catalogue.compute(world["district"], MARCH)
    assert district["points.ledger.issued"].value == 8 and district["cases.cases.received"].value == 4
    february = kpi_catalogue.compute(world["community_a"], FEBRUARY)
    assert february["points.ledger.issued"].value == 8
    assert february["cases.cases.on_time"].value == Rate(1, 1)


def test_a_place_with_zero_denominators_shows_a_dash_not_zero_percent(world):
    snapshot = kpi_catalogue.compute(world["community_b"], MARCH)
    for key in ("cases.cases.on_time", "cases.cases.satisfaction", "cases.disputes.resolution_rate"):
        value = snapshot[key]
        assert value.value == Rate(0, 0) and value.number is None
        assert value.shown == "—"
        assert value.as_dict()["value"] is None and value.as_dict()["rate"]["percent"] is None
    assert snapshot["points.ledger.issued"].shown == "0"


def test_one_function_per_figure(world):
    place = world["community_a"]
    snapshot = kpi_catalogue.compute(place, MARCH)
    for key in ("points.ledger.issued", "cases.cases.on_time", "people.organisation.residents"):
        assert kpi_catalogue.figure_value(key, place, MARCH).value == snapshot[key].value


def test_figures_as_of_now_are_computed_once_for_two_periods_and_not_compared(world, django_assert_num_queries):
    place = world["community_a"]
    march = kpi_catalogue.compute(place, MARCH)
    timeless = [group.key for domain in kpi_catalogue.domains() for group in domain.groups if group.timeless]
    assert "places.tree" in timeless and "deliberation.catalogue" in timeless
    with django_assert_num_queries(0):
        again = kpi_catalogue.compute(place, FEBRUARY, only=timeless, besides=march)
    for key, value in again.values.items():
        assert value.value == march[key].value == kpi_catalogue.figure_value(key, place, FEBRUARY).value
        assert kpi_catalogue.change(march[key], value) is None
    # A figure of the period is still computed for each and compared: 5 + 3 issued in March, 8 in February.
    february = kpi_catalogue.compute(place, FEBRUARY, besides=march)
    assert (march["points.ledger.issued"].value, february["points.ledger.issued"].value) == (8, 8)
    assert kpi_catalogue.change(march["points.ledger.issued"], february["points.ledger.issued"]) == 0
    assert kpi_catalogue.change(march["cases.cases.received"], february["cases.cases.received"]) == 4 - 1


def _page_value(html: str, key: str) -> str:
    row = re.search(rf'data-kpi="{re.escape(key)}".*?data-testid="kpi-value">([^<]*)<', html, re.S)
    assert row, key
    return row.group(1)


def test_the_same_figure_on_the_cockpit_page_the_api_and_the_workbook(world, api_client_for):
    place = world["community_a"]
    keys = ("points.ledger.issued", "cases.cases.on_time", "cases.cases.received", "places.tree.households_per_grid")
    expected = kpi_catalogue.compute(place, MARCH)

    client = Client()
    client.force_login(world["district_admin"])
    html = client.get(f"/cockpit/{place.pk}/", {"period": MARCH.key}).content.decode()

    api = api_client_for(world["district_admin"]).get("/api/v1/kpis", {"place": place.pk, "period": MARCH.key})
    assert api.status_code == 200
    from_api = {
        figure["key"]: figure
        for domain in api.json()["domains"]
        for group in domain["groups"]
        for figure in group["figures"]
    }

    response = client.get(f"/cockpit/{place.pk}/workbook.xlsx", {"period": MARCH.key})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    from_workbook = {
        row[0].value: row for sheet in workbook.worksheets[1:] for row in sheet.iter_rows() if row[0].value
    }

    for key in keys:
        value = expected[key]
        assert _page_value(html, key) == value.shown
        assert from_api[key]["shown"] == value.shown
        cells = from_workbook[key]
        if isinstance(value.value, Rate):
            assert from_api[key]["rate"]["numerator"] == value.value.numerator == cells[3].value
            assert from_api[key]["rate"]["denominator"] == value.value.denominator == cells[4].value
            assert Decimal(str(cells[2].value)) == value.value.percent
        else:
            assert Decimal(str(cells[2].value)) == Decimal(str(value.value))


def test_the_cases_domains_own_figures_endpoint_agrees_with_the_cockpit(world, api_client_for):
    """The cases app's own figures (/api/v1/cases/kpis) and the cockpit's are the same function's numbers."""
    place = world["community_a"]
    client = api_client_for(world["community_worker"])
    own = client.get("/api/v1/cases/kpis", {"place_id": place.pk, "period": MARCH.key})
    assert own.status_code == 200
    cockpit = client.get("/api/v1/kpis", {"place": place.pk, "period": MARCH.key}).json()
    figures = {f["key"]: f for d in cockpit["domains"] for g in d["groups"] for f in g["figures"]}
    for name in ("received", "closed", "open"):
        assert own.json()["cases"][name] == figures[f"cases.cases.{name}"]["value"]
    for name in ("on_time", "satisfaction", "resolved_in_grid", "resolved_in_community"):
        rate = figures[f"cases.cases.{name}"]["rate"]
        assert own.json()["cases"][name] == {key: rate[key] for key in ("numerator", "denominator", "percent")}
    assert own.json()["disputes"]["resolution_rate"]["percent"] is None
    assert figures["cases.disputes.resolution_rate"]["value"] is None
