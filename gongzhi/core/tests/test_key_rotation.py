"""Rotating the field key: old values still read, `gongzhi rotate_field_key` re-encrypts them in batches (digests
follow), it is resumable and idempotent, and a value under a key no longer configured is refused, not misread."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import call_command

from gongzhi.core import crypto
from gongzhi.core.crypto import blind_index, decrypt_text, encrypt_text, needs_rotation, rotate_encrypted_fields
from gongzhi.core.models import AuditEntry
from gongzhi.people.models import Resident
from gongzhi.people.tests.factories import ResidentFactory, make_id_card_number

OLD, NEW = "the-old-field-key", "the-new-field-key"


def _legacy_token(plain: str, master: str) -> str:
    """A value as stored before keys had ids (``v1:``)."""
    key = crypto._derived_keys(master)[0]
    nonce = os.urandom(12)
    return "v1:" + base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plain.encode(), b"v1")).decode()


def test_values_name_their_key_and_retired_keys_still_read(settings):
    settings.GONGZHI_FIELD_KEY = OLD
    old_token = encrypt_text("110101199003071234")
    legacy = _legacy_token("110101199003071234", OLD)
    settings.GONGZHI_FIELD_KEY, settings.GONGZHI_FIELD_KEYS_RETIRED = NEW, [OLD]
    assert decrypt_text(old_token) == decrypt_text(legacy) == "110101199003071234"
    assert needs_rotation(old_token) and needs_rotation(legacy)
    assert not needs_rotation(encrypt_text("x"))
    settings.GONGZHI_FIELD_KEYS_RETIRED = []
    with pytest.raises(ValueError, match="neither"):
        decrypt_text(old_token)
    with pytest.raises(ValueError, match="neither"):
        decrypt_text(legacy)


@pytest.mark.django_db
def test_rotation_re_encrypts_in_batches_and_can_run_again(settings, tree):
    settings.GONGZHI_FIELD_KEY = OLD
    numbers = [make_id_card_number(serial=serial) for serial in range(7)]
    residents = [ResidentFactory(household=tree["household_a1"], id_card_number=number) for number in numbers]
    before = {resident.pk: resident.id_card_digest for resident in residents}
    settings.GONGZHI_FIELD_KEY, settings.GONGZHI_FIELD_KEYS_RETIRED = NEW, [OLD]

    changed = rotate_encrypted_fields(batch_size=3)
    assert changed["people.Resident.id_card_ciphertext"] == 7
    for resident, number in zip(Resident.objects.order_by("pk"), numbers, strict=True):
        assert not needs_rotation(resident.id_card_ciphertext)
        assert decrypt_text(resident.id_card_ciphertext) == number
        # The index key was not pinned, so the digests follow the new key and lookups keep working.
        assert resident.id_card_digest == blind_index(number) != before[resident.pk]
    assert rotate_encrypted_fields(batch_size=3)["people.Resident.id_card_ciphertext"] == 0
    settings.GONGZHI_FIELD_KEYS_RETIRED = []
    assert {decrypt_text(r.id_card_ciphertext) for r in Resident.objects.all()} == set(numbers)


@pytest.mark.django_db
def test_a_pinned_index_key_keeps_the_digests(settings, tree):
    settings.GONGZHI_FIELD_KEY = OLD
    resident = ResidentFactory(household=tree["household_a1"])
    digest = resident.id_card_digest
    settings.GONGZHI_FIELD_KEY, settings.GONGZHI_FIELD_KEYS_RETIRED, settings.GONGZHI_INDEX_KEY = NEW, [OLD], OLD
    call_command("rotate_field_key", "--batch-size", "1", verbosity=0)
    resident.refresh_from_db()
    assert resident.id_card_digest == digest
    assert not needs_rotation(resident.id_card_ciphertext)
    entry = AuditEntry.objects.get(action="crypto.key_rotation")
    assert entry.changes["re_encrypted"]["people.Resident.id_card_ciphertext"] == 1
