"""Anonymising a person who left: their identity goes, the record of what happened stays.

``resident_anonymise`` is the one service (the staff page, the admin action and the retention job call it). It blanks
the resident's name, phone, ID card number (ciphertext, digest and mask), birth date, gender, relation and tags,
records when they left, ends their login (inactive, renamed, no usable password, tokens revoked, two-factor removed,
roles ended) and asks each domain app to scrub what it holds in free text (``personal_data_anonymise(*, resident,
account, now)`` in the app's ``services.py``: the points accounts' names, the contact fields of their requests …).

Nothing countable changes: ledger entries, balances, claims, cases, votes, sign-ups and hours keep their rows and
their links to the (now nameless) resident, so every figure of the KPI catalogue and the points check are the same
before and after. The audit entry says who, when and why, and which kinds of data were removed, never the values.

What stays by design: append-only records written earlier (audit entries and case trails carry the login name
as it was then, ``actor_label``), and photos attached to requests and claims (evidence of the matter).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from importlib import import_module
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import forget_grants, reach, require_authenticated, require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.roles import Permission

from .errors import PeopleError
from .models import Account, ApiToken, RecoveryCode, Resident, ResidentTag, RoleAssignment, TwoFactorDevice

ANONYMISED_NAME = "已匿名"
REASON_MIN_LENGTH = 4
RESIDENT_FIELDS_CLEARED = ("name", "phone", "id_card_number", "birth_date", "gender", "relation", "tags")

Anonymiser = Callable[..., dict[str, int]]


def anonymisers() -> list[tuple[str, Anonymiser]]:
    """(app label, hook) of every installed app whose services define ``personal_data_anonymise``."""
    found: list[tuple[str, Anonymiser]] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("gongzhi.") or config.label == "people":
            continue
        try:
            module = import_module(f"{config.name}.services")
        except ModuleNotFoundError:
            continue
        hook = getattr(module, "personal_data_anonymise", None)
        if hook is not None:
            found.append((config.label, hook))
    return found


def access_resident_to_anonymise(actor: Actor, resident_id: Any) -> Resident:
    """A resident (registered or not, anonymised or not) whose household the actor reaches with
    ``resident.anonymise``; NotFound whether missing or out of reach."""
    require_authenticated(actor)
    try:
        resident_id = int(resident_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    resident = (
        Resident.objects.filter(reach(actor, Permission.RESIDENT_ANONYMISE).q("household__path"))
        .select_related("household")
        .filter(pk=resident_id)
        .first()
    )
    if resident is None:
        raise NotFound()
    return resident


def _end_login(account: Account, *, today: date, now: datetime) -> dict[str, int]:
    """The account can no longer log in and holds no role after yesterday (past roles keep their history)."""
    yesterday = today - timedelta(days=1)
    open_roles = RoleAssignment.objects.filter(account=account).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gt=yesterday)
    )
    started = open_roles.filter(starts_on__lte=yesterday).update(ends_on=yesterday)
    # A role starting today or later ends on its own first day (the database wants ends_on >= starts_on); the
    # account is inactive, so it is not in force either way.
    future = list(open_roles.filter(starts_on__gt=yesterday))
    for assignment in future:
        RoleAssignment.objects.filter(pk=assignment.pk).update(ends_on=assignment.starts_on)
    tokens = ApiToken.objects.filter(account=account, revoked_at__isnull=True).update(revoked_at=now)
    TwoFactorDevice.objects.filter(account=account).delete()
    RecoveryCode.objects.filter(account=account).delete()
    account.username = f"anonymised-{account.pk}"
    account.display_name = ""
    account.first_name = ""
    account.last_name = ""
    account.email = ""
    account.is_active = False
    account.set_unusable_password()
    account.save(
        update_fields=["username", "display_name", "first_name", "last_name", "email", "is_active", "password"]
    )
    forget_grants(account)
    return {"roles_ended": started + len(future), "tokens_revoked": tokens}


def resident_anonymise(*, actor: Actor | None, resident: Resident, reason: str, now: datetime) -> Resident:
    """Remove the identity of a person who left; keep every record and figure (module docstring).

    ``actor`` needs ``resident.anonymise`` over the resident's household; ``None`` is the system (the retention
    job). Refused with ``already_anonymised`` the second time, ``reason_required`` without a reason; a refusal
    writes nothing. The whole change, the apps' scrubbing and the audit entry are one transaction.
    """
    reason = (reason or "").strip()
    household = resident.household
    household_path = household.path if household is not None else ""
    if actor is not None:
        require_reach(actor, Permission.RESIDENT_ANONYMISE, household_path or "\x00")
    if len(reason) < REASON_MIN_LENGTH:
        raise PeopleError.REASON_REQUIRED(fields={"reason": _("Write at least four characters.")})
    today = timezone.localdate(now)
    with transaction.atomic():
        # The conditional update is the guard against doing it twice, even from two staff at once.
        cleared = Resident.objects.filter(pk=resident.pk, anonymised_at__isnull=True).update(
            name=ANONYMISED_NAME,
            phone="",
            id_card_ciphertext="",
            id_card_digest=None,
            id_card_masked="",
            birth_date=None,
            gender="",
            relation="",
            is_active=False,
            left_on=resident.left_on or today,
            anonymised_at=now,
        )
        if not cleared:
            raise PeopleError.ALREADY_ANONYMISED()
        removed: dict[str, int] = {"tags": ResidentTag.objects.filter(resident=resident).delete()[0]}
        account = Account.objects.filter(resident=resident).first()
        if account is not None:
            removed.update(_end_login(account, today=today, now=now))
        for label, hook in anonymisers():
            for key, count in hook(resident=resident, account=account, now=now).items():
                removed[f"{label}.{key}"] = count
        audit_record(
            actor=actor,
            actor_label="" if actor is not None else "system",
            action="resident.anonymise",
            target=resident,
            place_path=household_path,
            purpose=reason,
            changes={"cleared": list(RESIDENT_FIELDS_CLEARED), "counts": removed},
            occurred_at=now,
        )
    resident.refresh_from_db()
    return resident


def resident_record_leaving(*, actor: Actor, resident: Resident, left_on: date, now: datetime) -> Resident:
    """Record that a registered resident left their household on ``left_on`` (deregistered; the retention job
    anonymises them later). Needs ``roster.import`` over the household, like registering them; audited."""
    household = resident.household
    household_path = household.path if household is not None else ""
    require_reach(actor, Permission.ROSTER_IMPORT, household_path or "\x00")
    if left_on > timezone.localdate(now):
        raise ValidationFailed(fields={"left_on": _("The date is in the future.")})
    with transaction.atomic():
        Resident.objects.filter(pk=resident.pk).update(is_active=False, left_on=left_on)
        audit_record(
            actor=actor,
            action="resident.left",
            target=resident,
            place_path=household_path,
            changes={"left_on": [None, left_on.isoformat()], "is_active": [resident.is_active, False]},
            occurred_at=now,
        )
    resident.refresh_from_db()
    return resident
