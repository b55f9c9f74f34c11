"""Factories for people: accounts with roles, residents with valid (encrypted) ID card numbers."""

from __future__ import annotations

import itertools
import random

import factory

from gongzhi.core.crypto import blind_index, encrypt_text
from gongzhi.core.masking import mask_id_card
from gongzhi.people.models import Account, Resident, RoleAssignment
from gongzhi.people.services import id_card_check_character

PASSWORD = "correct-horse-battery"
_serial = itertools.count(1)


def make_id_card_number(birth: str = "19800101", region: str = "110101", serial: int | None = None) -> str:
    serial = next(_serial) if serial is None else serial
    first17 = f"{region}{birth}{serial % 1000:03d}"
    return first17 + id_card_check_character(first17)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident

    name = factory.Sequence(lambda n: random.Random(n).choice("王李张刘陈杨赵黄周吴") + "某" + str(n))
    gender = "female"
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    household = None
    relation = "householder"

    id_card_ciphertext = factory.LazyAttribute(lambda resident: encrypt_text(resident.id_card_number))
    id_card_digest = factory.LazyAttribute(lambda resident: blind_index(resident.id_card_number))
    id_card_masked = factory.LazyAttribute(lambda resident: mask_id_card(resident.id_card_number))

    class Params:
        id_card_number = factory.LazyFunction(make_id_card_number)


def account_with_role(role: str, place, username: str | None = None, organisation=None, **extra) -> Account:
    account = AccountFactory(username=username, **extra) if username else AccountFactory(**extra)
    RoleAssignment.objects.create(account=account, role=role, place=place, organisation=organisation)
    return account
