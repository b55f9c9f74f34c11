"""A person's right to see and take away everything the platform holds about them (PIPL art. 44–45).

Each domain app answers for its own records with a read-only ``personal_data_of(resident, account)`` in its
``selectors.py``, returning sections as plain dicts::

    {"key": "points.claims", "title": "积分申报", "columns": [("item", "项目"), ...], "rows": [{"item": ...}, ...]}

``providers()`` finds them by itself (installed apps, INSTALLED_APPS order), the way the KPI catalogue finds figures,
so people imports no domain app. An app whose models reference a resident or an account must either provide one or
be listed in ``HOLDS_NO_PERSONAL_DATA`` with the reason (a test checks every model), so a new app cannot be
forgotten silently.

What the person sees of themselves is unmasked (their own ID card number and phone); other members of their
household are masked. Viewing and downloading are audited (the entry names the person, never the data).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from importlib import import_module
from typing import Any

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_record
from gongzhi.core.crypto import decrypt_text
from gongzhi.core.errors import NotFound
from gongzhi.core.masking import mask_name, mask_phone
from gongzhi.core.roles import Role

from .models import Account, PartyMembership, Resident, RoleAssignment

Section = dict[str, Any]
Provider = Callable[[Any, Any], list[Section]]

# Apps that hold records naming a resident or an account but owe no part of their own, and why.
HOLDS_NO_PERSONAL_DATA: dict[str, str] = {
    "core": "audit entries and job runs: the people part lists the entries about the person and their logins; "
    "progress rows are transient task state",
    "places": "places name no person",
    "cockpit": "figures only, never a person",
    "demo": "builds demo records through the other apps' services",
}

# Audit actions that are a login history rather than an action on data.
LOGIN_ACTIONS = ("auth.",)
PAGE_ROWS = 200


def providers() -> list[tuple[str, Provider]]:
    """(app label, provider) for people itself and every installed app whose selectors have ``personal_data_of``."""
    found: list[tuple[str, Provider]] = [("people", people_personal_data)]
    for config in apps.get_app_configs():
        if not config.name.startswith("gongzhi.") or config.label == "people":
            continue
        try:
            module = import_module(f"{config.name}.selectors")
        except ModuleNotFoundError:
            continue
        provider = getattr(module, "personal_data_of", None)
        if provider is not None:
            found.append((config.label, provider))
    return found


# ---------------------------------------------------------------- the people app's own part


def _account_of(resident: Resident | None) -> Account | None:
    if resident is None:
        return None
    return Account.objects.filter(resident=resident).first()


def people_personal_data(resident: Resident | None, account: Account | None) -> list[Section]:
    """Profile (unmasked for the person), household members (masked), party membership, account, roles, the login
    history and the audit entries about the person."""
    sections: list[Section] = []
    if resident is not None:
        number = decrypt_text(resident.id_card_ciphertext) if resident.id_card_ciphertext else ""
        household = resident.household
        sections.append(
            {
                "key": "people.profile",
                "title": _("Your registration"),
                "columns": [
                    ("name", _("name")),
                    ("gender", _("gender")),
                    ("birth_date", _("birth date")),
                    ("phone", _("phone")),
                    ("id_card_number", _("ID card number")),
                    ("household", _("household")),
                    ("relation", _("relation to householder")),
                    ("tags", _("tags")),
                    ("registered", _("registered")),
                ],
                "rows": [
                    {
                        "name": resident.name,
                        "gender": resident.get_gender_display(),
                        "birth_date": resident.birth_date,
                        "phone": resident.phone,
                        "id_card_number": number,
                        "household": _household_label(household),
                        "relation": resident.get_relation_display(),
                        "tags": "、".join(str(tag.get_code_display()) for tag in resident.tags.order_by("code")),
                        "registered": resident.is_active,
                    }
                ],
            }
        )
        members = (
            Resident.objects.filter(household_id=resident.household_id, is_active=True).exclude(pk=resident.pk)
            if resident.household_id
            else Resident.objects.none()
        )
        sections.append(
            {
                "key": "people.household",
                "title": _("Other members of your household (masked)"),
                "columns": [
                    ("name", _("name")),
                    ("relation", _("relation to householder")),
                    ("phone", _("phone")),
                    ("id_card_number", _("ID card number")),
                ],
                "rows": [
                    {
                        "name": mask_name(member.name),
                        "relation": member.get_relation_display(),
                        "phone": mask_phone(member.phone),
                        "id_card_number": member.id_card_masked,
                    }
                    for member in members.order_by("pk")
                ],
            }
        )
        membership = PartyMembership.objects.filter(resident=resident).select_related("organisation").first()
        sections.append(
            {
                "key": "people.party",
                "title": _("Party membership"),
                "columns": [
                    ("organisation", _("party organisation")),
                    ("joined_on", _("joined the party on")),
                    ("in_service", _("in-service party member")),
                    ("employer", _("employer")),
                    ("active", _("active")),
                ],
                "rows": []
                if membership is None
                else [
                    {
                        "organisation": membership.organisation.name,
                        "joined_on": membership.joined_on,
                        "in_service": membership.is_in_service,
                        "employer": membership.employer_label,
                        "active": membership.is_active,
                    }
                ],
            }
        )
    if account is not None:
        sections.append(
            {
                "key": "people.account",
                "title": _("Your login"),
                "columns": [
                    ("username", _("username")),
                    ("display_name", _("display name")),
                    ("date_joined", _("created at")),
                    ("last_login", _("last login")),
                    ("language", _("language")),
                    ("elder_mode", _("elder-friendly mode")),
                ],
                "rows": [
                    {
                        "username": account.username,
                        "display_name": account.display_name,
                        "date_joined": account.date_joined,
                        "last_login": account.last_login,
                        "language": account.preferred_language,
                        "elder_mode": account.elder_mode,
                    }
                ],
            }
        )
        roles = RoleAssignment.objects.filter(account=account).select_related("place").order_by("starts_on", "pk")
        sections.append(
            {
                "key": "people.roles",
                "title": _("Roles"),
                "columns": [
                    ("role", _("role")),
                    ("place", _("place")),
                    ("starts_on", _("from")),
                    ("ends_on", _("until")),
                ],
                "rows": [
                    {
                        "role": Role(item.role).label if item.role in Role.values else item.role,
                        "place": item.place.name,
                        "starts_on": item.starts_on,
                        "ends_on": item.ends_on,
                    }
                    for item in roles
                ],
            }
        )
    logins, entries = _audit_rows(resident, account)
    sections.append(
        {
            "key": "people.logins",
            "title": _("Login history"),
            "columns": [
                ("occurred_at", _("when")),
                ("action", _("what")),
                ("channel", _("channel")),
                ("source_ip", _("source address")),
            ],
            "rows": logins,
        }
    )
    sections.append(
        {
            "key": "people.audit",
            "title": _("Audit log entries about you"),
            "columns": [
                ("occurred_at", _("when")),
                ("action", _("what")),
                ("actor", _("who")),
                ("purpose", _("stated purpose")),
            ],
            "rows": entries,
        }
    )
    return sections


def _household_label(household: Any) -> str:
    """The household's address as its chain of place names below the district: "…街道 …社区 1号楼 1单元 101"."""
    if household is None:
        return ""
    ids = household.ancestor_ids
    names = dict(household.__class__.objects.filter(pk__in=ids).values_list("pk", "name"))
    return " ".join([*(names[item] for item in ids[1:] if item in names), household.name])


def _audit_rows(resident: Resident | None, account: Account | None) -> tuple[list[dict], list[dict]]:
    """(login history, other entries about the person): entries on their account or resident record, or by them."""
    from django.db.models import Q

    from gongzhi.core.models import AuditEntry

    about = Q(pk__in=[])
    if resident is not None:
        about |= Q(object_type=Resident._meta.label_lower, object_id=str(resident.pk))
    if account is not None:
        about |= Q(object_type=Account._meta.label_lower, object_id=str(account.pk)) | Q(actor=account)
    logins: list[dict] = []
    entries: list[dict] = []
    for entry in AuditEntry.objects.filter(about).order_by("occurred_at", "pk"):
        if entry.action.startswith(LOGIN_ACTIONS):
            logins.append(
                {
                    "occurred_at": entry.occurred_at,
                    "action": entry.action,
                    "channel": entry.channel,
                    "source_ip": entry.source_ip or "",
                }
            )
        else:
            entries.append(
                {
                    "occurred_at": entry.occurred_at,
                    "action": entry.action,
                    "actor": entry.actor_label,
                    "purpose": entry.purpose,
                }
            )
    return logins, entries


# ---------------------------------------------------------------- the report and the download


@dataclass(frozen=True)
class PersonalDataReport:
    resident: Resident | None
    generated_at: datetime
    sections: list[Section]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def personal_data_of(actor: Actor, *, now: datetime) -> PersonalDataReport:
    """Everything the platform holds about the signed-in person (their resident record, their household's other
    members masked, and their login), section by section in INSTALLED_APPS order. Values are plain JSON values.
    Staff cannot read someone else's through this: it only ever answers for ``actor`` themselves."""
    if not getattr(actor, "is_authenticated", False):
        raise NotFound()
    account = Account.objects.get(pk=actor.pk)
    resident = (
        Resident.objects.select_related("household").filter(pk=account.resident_id).first()
        if account.resident_id
        else None
    )
    sections: list[Section] = []
    for _label, provider in providers():
        for section in provider(resident, account):
            sections.append(
                {
                    "key": section["key"],
                    "title": str(section["title"]),
                    "columns": [(key, str(label)) for key, label in section["columns"]],
                    "rows": [{key: _plain(value) for key, value in row.items()} for row in section["rows"]],
                }
            )
    return PersonalDataReport(resident=resident, generated_at=now, sections=sections)


def personal_data_view(*, actor: Actor, now: datetime) -> PersonalDataReport:
    """The report for the page or the API, with an audit entry saying the person looked (not what they saw)."""
    report = personal_data_of(actor, now=now)
    with transaction.atomic():
        audit_record(actor=actor, action="personal_data.view", target=report.resident, occurred_at=now)
    return report


def report_as_json(report: PersonalDataReport) -> dict[str, Any]:
    return {
        "generated_at": _plain(report.generated_at),
        "sections": [
            {
                "key": section["key"],
                "title": section["title"],
                "columns": [{"key": key, "label": label} for key, label in section["columns"]],
                "rows": section["rows"],
            }
            for section in report.sections
        ],
    }


def _workbook(report: PersonalDataReport) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    used: set[str] = set()
    for section in report.sections:
        title = section["title"].replace("/", "-").replace("\\", "-").replace("?", "").replace("*", "")
        title = title.replace("[", "(").replace("]", ")").replace(":", "-")[:28] or section["key"][:28]
        base, number = title, 2
        while title in used:
            title, number = f"{base[:25]}{number}", number + 1
        used.add(title)
        sheet = workbook.create_sheet(title=title)
        sheet.append([label for _key, label in section["columns"]])
        for row in section["rows"]:
            sheet.append([row.get(key) for key, _label in section["columns"]])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class PersonalDataFile:
    filename: str
    content: bytes
    content_type: str = "application/zip"


def personal_data_export(*, actor: Actor, now: datetime) -> PersonalDataFile:
    """The download: a .zip holding ``personal-data.json`` and ``personal-data.xlsx`` (a sheet per section), built
    from the same report as the page; audited (the entry names the person and the sections, never the data)."""
    report = personal_data_of(actor, now=now)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "personal-data.json", json.dumps(report_as_json(report), ensure_ascii=False, indent=2).encode("utf-8")
        )
        archive.writestr("personal-data.xlsx", _workbook(report))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="personal_data.export",
            target=report.resident,
            occurred_at=now,
        )
    stamp = timezone.localtime(now).strftime("%Y%m%d")
    return PersonalDataFile(filename=f"personal-data-{stamp}.zip", content=buffer.getvalue())
