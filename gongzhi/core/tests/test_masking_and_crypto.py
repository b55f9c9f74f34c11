"""Personal data: masks for display, encryption at rest, and the keyed digest for lookups."""

from __future__ import annotations

import pytest

from gongzhi.core.crypto import blind_index, decrypt_text, encrypt_text
from gongzhi.core.masking import mask_id_card, mask_name, mask_phone


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("110101199003071234", "110***********1234"),
        ("11010119900307123X", "110***********123X"),
        ("", ""),
        ("12345", "*****"),
    ],
)
def test_mask_id_card(value, expected):
    assert mask_id_card(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("13812345678", "138****5678"), ("0394-1234567", "039*****4567"), ("", ""), ("12345", "1****")],
)
def test_mask_phone(value, expected):
    assert mask_phone(value) == expected


@pytest.mark.parametrize(("value", "expected"), [("张三", "张*"), ("欧阳娜娜", "欧***"), ("王", "王"), ("", "")])
def test_mask_name(value, expected):
    assert mask_name(value) == expected


def test_encryption_round_trip_and_randomised():
    first, second = encrypt_text("110101199003071234"), encrypt_text("110101199003071234")
    assert first != second  # a fresh nonce each time: equal numbers do not look equal at rest
    assert "1990" not in first
    assert decrypt_text(first) == decrypt_text(second) == "110101199003071234"


def test_tampered_ciphertext_is_rejected():
    token = encrypt_text("110101199003071234")
    version, key_id, payload = token.split(":")
    tampered = f"{version}:{key_id}:{payload[:-4]}AAAA"
    with pytest.raises(Exception):  # noqa: B017 - any authentication failure will do
        decrypt_text(tampered)


def test_blind_index_is_stable_keyed_and_normalised(settings):
    digest = blind_index("11010119900307123x")
    assert digest == blind_index(" 11010119900307123X ")
    settings.GONGZHI_FIELD_KEY = "another key"
    assert blind_index("11010119900307123X") != digest
