"""GB 11643 check character on every path an ID card number comes in by: the service (pages, API, admin have no
other writer) and the roster import. A number wrong only in its check character is refused; X is accepted."""

from __future__ import annotations

import pytest

from gongzhi.core.errors import ValidationFailed
from gongzhi.core.roles import Role
from gongzhi.people.models import Resident
from gongzhi.people.roster import roster_import
from gongzhi.people.services import ResidentInput, id_card_check_character, resident_create
from gongzhi.people.tests.factories import account_with_role
from gongzhi.people.tests.roster_data import roster_file


def _number_ending_in_x() -> str:
    for serial in range(1000):
        first17 = f"11010119800101{serial:03d}"
        if id_card_check_character(first17) == "X":
            return first17 + "X"
    raise AssertionError("no serial gives X")


def _wrong_check(number: str) -> str:
    wrong = "0" if number[17] != "0" else "1"
    return number[:17] + wrong


def test_service_refuses_a_wrong_check_character_and_takes_x(tree):
    secretary = account_with_role(Role.COMMUNITY_SECRETARY, tree["community_a"])
    good = _number_ending_in_x()
    with pytest.raises(ValidationFailed) as refused:
        resident_create(
            actor=secretary,
            data=ResidentInput(name="错位", household=tree["household_a1"], id_card_number=_wrong_check(good)),
        )
    assert "id_card_number" in refused.value.fields and not Resident.objects.filter(name="错位").exists()
    lower = resident_create(
        actor=secretary, data=ResidentInput(name="小写x", household=tree["household_a1"], id_card_number=good.lower())
    )
    assert lower.id_card_masked.endswith(good[-4:])  # stored upper-case


def test_roster_import_refuses_a_wrong_check_character(tree):
    worker = account_with_role(Role.COMMUNITY_WORKER, tree["community_a"], username="id_worker")
    good = _number_ending_in_x()
    rows = [
        {
            "building": "1号楼",
            "entrance": "1单元",
            "household": "101",
            "name": "甲",
            "id_card_number": _wrong_check(good),
        }
    ]
    file_obj = roster_file(rows)
    report = roster_import(actor=worker, community=tree["community_a"], file_obj=file_obj, filename="roster.xlsx")
    assert not report.ok
    assert {(error.row, error.column) for error in report.errors} == {(2, "身份证号")}
    assert not Resident.objects.filter(name="甲").exists()
    ok = roster_import(
        actor=worker,
        community=tree["community_a"],
        file_obj=roster_file([{**rows[0], "id_card_number": good}]),
        filename="roster.xlsx",
    )
    assert ok.ok and Resident.objects.get(name="甲").id_card_masked.endswith(good[-4:])
