"""The roster's party columns: a row that names a party organisation registers (or updates) the resident's party
membership, by the same rules as the party members' page (``party.party_membership_clean``).

A membership in force is updated with what the row fills in; an empty cell keeps the stored value, and an empty
party organisation leaves the membership as it is (ending one is done on the party members' page). A membership
that had ended is reopened. Lookups are made once per file, and only when some row fills a party column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext as _

from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_entry, diff_fields
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.models import AuditEntry
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place

from .models import Organisation, PartyMembership, PartyOrganisation
from .party import PartyMembershipInput, membership_audit_values, membership_values, party_membership_clean
from .roster_format import IN_SERVICE_BY_LABEL, PARTY_KEYS, CellError, parse_date

# The membership fields each party column sets (an empty cell leaves them as they are).
FIELDS_OF_COLUMN = {
    "party_organisation": ("organisation",),
    "joined_party_on": ("joined_on",),
    "in_service": ("is_in_service",),
    "employer": ("employer", "employer_name"),
    "employer_party_organisation": ("employer_party_organisation",),
}
COLUMN_OF_FIELD = {name: key for key, names in FIELDS_OF_COLUMN.items() for name in names}


@dataclass(eq=False)
class PartyPlan:
    """What one row does to a resident's party membership."""

    row: int
    values: dict[str, Any]  # the membership's values as the row gives them (empty cells at their defaults)
    given: frozenset[str]  # the membership fields the row fills in
    existing: PartyMembership | None = None
    action: str | None = None  # "add", "reopen", "change", or None when nothing changes
    changes: dict[str, Any] = field(default_factory=dict)  # the fields to write, with their new values
    audit_changes: dict[str, Any] = field(default_factory=dict)


class PartyDirectory:
    """The community's party organisations, employers and residents' memberships, each loaded on first use."""

    def __init__(self, community: Place):
        self.community = community
        self._organisations: dict[int, PartyOrganisation] | None = None
        self._by_name: dict[str, list[PartyOrganisation]] = {}
        self._employers: dict[str, list[Organisation]] | None = None
        self._memberships: dict[int, PartyMembership] | None = None

    def organisation(self, text: str) -> PartyOrganisation:
        """The party organisation a cell names: by name, or by the names from the committee down ("a/b")."""
        if self._organisations is None:
            organisations = PartyOrganisation.objects.filter(is_active=True).filter(
                subtree_q(self.community.path, "place__path")
            )
            self._organisations = {organisation.pk: organisation for organisation in organisations}
            for organisation in self._organisations.values():
                self._by_name.setdefault(organisation.name, []).append(organisation)
        parts = [part.strip() for part in re.split(r"[/／]", text) if part.strip()]
        candidates = self._by_name.get(parts[-1], []) if parts else []
        if len(parts) > 1:
            candidates = [item for item in candidates if self._names_down_to(item)[-len(parts) :] == parts]
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise CellError(
                _(
                    "Several party organisations are called %(name)s; write the names from the committee down, "
                    "separated by “/”."
                )
                % {"name": parts[-1]}
            )
        raise CellError(
            _(
                "There is no party organisation called %(name)s in this community. "
                "Party organisations are set up by staff."
            )
            % {"name": text}
        )

    def _names_down_to(self, organisation: PartyOrganisation) -> list[str]:
        assert self._organisations is not None
        ids = [int(part) for part in organisation.path.strip("/").split("/") if part]
        return [self._organisations[item].name for item in ids if item in self._organisations]

    def employer(self, name: str) -> Organisation | None:
        """The community's resident organisation of that name, if exactly one is called so."""
        if self._employers is None:
            self._employers = {}
            organisations = Organisation.objects.filter(is_active=True).filter(
                subtree_q(self.community.path, "place__path")
            )
            for organisation in organisations.only("id", "name", "is_active"):
                self._employers.setdefault(organisation.name, []).append(organisation)
        found = self._employers.get(name, [])
        return found[0] if len(found) == 1 else None

    def membership_of(self, resident_id: int) -> PartyMembership | None:
        if self._memberships is None:
            memberships = PartyMembership.objects.filter(
                subtree_q(self.community.path, "resident__household__path")
            ).order_by("pk")
            self._memberships = {membership.resident_id: membership for membership in memberships}
        return self._memberships.get(resident_id)


def party_cells_given(text: dict[str, str]) -> bool:
    return any(text[key] for key in PARTY_KEYS)


def check_party_cells(
    directory: PartyDirectory,
    row: int,
    text: dict[str, str],
    cells: dict[str, Any],
    *,
    birth_date: date | None,
    today: date,
    error: Any,
) -> PartyPlan | None:
    """The row's party membership, or None when it fills no party column or a party cell is bad (``error(row,
    column key, message)`` is told each bad cell)."""
    if not party_cells_given(text):
        return None
    if not text["party_organisation"]:
        error(row, "party_organisation", _("Write the party organisation, or leave the party columns empty."))
        return None
    bad = False
    organisation = None
    try:
        organisation = directory.organisation(text["party_organisation"])
    except CellError as exc:
        error(row, "party_organisation", exc.message)
        bad = True
    joined_on = None
    if text["joined_party_on"]:
        try:
            joined_on = parse_date(cells["joined_party_on"])
        except ValueError:
            error(row, "joined_party_on", _("Write the date as YYYY-MM-DD."))
            bad = True
    in_service = False
    if text["in_service"]:
        if text["in_service"] not in IN_SERVICE_BY_LABEL:
            error(row, "in_service", _("Write 在职 or 退休."))
            bad = True
        in_service = IN_SERVICE_BY_LABEL.get(text["in_service"], False)
    employer = directory.employer(text["employer"]) if text["employer"] else None
    data = PartyMembershipInput(
        organisation=organisation,
        joined_on=joined_on,
        is_in_service=in_service,
        employer=employer,
        employer_name=text["employer"],
        employer_party_organisation=text["employer_party_organisation"],
    )
    try:
        values = party_membership_clean(
            data=data, today=today, birth_date=birth_date, household=None, check_community=False
        )
    except ValidationFailed as exc:
        for name, message in exc.fields.items():
            if name != "organisation" or organisation is not None:
                error(row, COLUMN_OF_FIELD.get(name, "party_organisation"), str(message))
        return None
    if bad:
        return None
    given = frozenset(name for key in PARTY_KEYS if text[key] for name in FIELDS_OF_COLUMN[key])
    return PartyPlan(row=row, values=values, given=given)


def plan_party_change(plan: PartyPlan, existing: PartyMembership | None) -> None:
    """Decide what the row does to the membership ``existing`` (None for a resident who never had one), and what
    the audit entry will say."""
    plan.existing = existing
    given = membership_audit_values(plan.values)
    if existing is None:
        plan.action = "add"
        plan.audit_changes = diff_fields({}, given)
        return
    stored = membership_values(existing)
    if not existing.is_active:
        plan.action = "reopen"
        plan.changes = {**plan.values, "is_active": True, "ended_on": None, "end_reason": ""}
        plan.audit_changes = diff_fields(stored, given) | {"reopened": [False, True]}
        return
    plan.changes = {name: plan.values[name] for name in sorted(plan.given) if given[name] != stored[name]}
    plan.action = "change" if plan.changes else None
    plan.audit_changes = diff_fields(stored, {name: given[name] for name in plan.changes})


def write_party_memberships(
    *, actor: Actor, community: Place, plans: list[tuple[int, PartyPlan]], now: datetime
) -> tuple[dict[str, int], list[AuditEntry]]:
    """Write the planned memberships of ``(resident id, plan)`` pairs in a few statements; returns how many were
    added and changed, and their audit entries (for the caller to write with its own)."""
    created: list[tuple[PartyMembership, PartyPlan]] = []
    updated: list[tuple[PartyMembership, PartyPlan]] = []
    changed_fields: set[str] = set()
    for resident_id, plan in plans:
        if plan.action == "add":
            created.append((PartyMembership(resident_id=resident_id, **plan.values), plan))
        elif plan.action in ("reopen", "change"):
            membership = plan.existing
            assert membership is not None
            for name, value in plan.changes.items():
                setattr(membership, name, value)
            changed_fields.update(plan.changes)
            updated.append((membership, plan))
    PartyMembership.objects.bulk_create([membership for membership, _plan in created])
    if updated:
        PartyMembership.objects.bulk_update([membership for membership, _plan in updated], sorted(changed_fields))
    audits = [
        audit_entry(
            actor=actor,
            action="party.membership_change" if plan.action == "change" else "party.membership_add",
            target=membership,
            place_path=community.path,
            purpose="roster.import",
            changes=plan.audit_changes,
            occurred_at=now,
        )
        for membership, plan in [*created, *updated]
    ]
    counts = {
        "added": sum(1 for _membership, plan in [*created, *updated] if plan.action != "change"),
        "changed": sum(1 for _membership, plan in updated if plan.action == "change"),
    }
    return counts, audits
