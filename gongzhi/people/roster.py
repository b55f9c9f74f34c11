"""Roster import from Excel: buildings, entrances, households, residents and party members of one community.

The service reads the whole file (``roster_format``), checks every row first (``roster_checking``, collecting every
bad row with its row number, column and reason) and writes only when no row is bad, in one transaction. Places,
residents and memberships are matched, so importing the same file twice changes nothing. Reads are done in bulk (a
few queries for the whole file, not one per row) and writes use ``bulk_create``, so a 10,000-row file takes a
bounded number of queries. The template to fill in is ``roster_template``; the party columns ``roster_party``.

Callers: the roster pages (``roster_import_start`` runs it in the background through ``core.imports``), tests,
and any command or job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.access import require_reach
from gongzhi.core.actors import Actor
from gongzhi.core.audit import audit_bulk, audit_entry, audit_record, diff_fields
from gongzhi.core.errors import CoreError, NotFound
from gongzhi.core.imports import start_import
from gongzhi.core.masking import mask_phone
from gongzhi.core.models import AuditEntry, Progress
from gongzhi.core.roles import Permission
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.services import place_bulk_insert

from .models import Resident, ResidentTag
from .roster_checking import IN_CHUNK, Checker, Planner, ResidentPlan, pk_of, place_of
from .roster_format import RosterFile, RowError, cell_text, cell_value, column_order, roster_read
from .roster_party import write_party_memberships
from .services import id_card_is_valid

PROGRESS_KIND = "roster_import"
UPLOAD_FOLDER = "roster"
PROGRESS_EVERY = 200
MAX_STORED_ERRORS = 10_000

ProgressCallback = Callable[[str, int, int], None]


# ---------------------------------------------------------------- the report


@dataclass
class RosterReport:
    created: dict[str, int] = field(
        default_factory=lambda: {"compound": 0, "building": 0, "entrance": 0, "household": 0, "resident": 0}
    )
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    party: dict[str, int] = field(default_factory=lambda: {"added": 0, "changed": 0})

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def created_total(self) -> int:
        return sum(self.created.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": dict(self.created),
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rows": self.rows,
            "party": dict(self.party),
            "error_count": len(self.errors),
            "errors": [list(error) for error in self.errors[:MAX_STORED_ERRORS]],
        }


# ---------------------------------------------------------------- the service


def roster_import(
    *,
    actor: Actor,
    community: Place,
    file_obj: Any,
    filename: str,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
) -> RosterReport:
    """Import a roster file into ``community`` (``now``: when it is imported, the present unless given).

    Raises NotFound when the actor may not import rosters there, RosterFileRefused when the file as a whole is
    unusable. Bad rows come back in ``report.errors`` and nothing is written; otherwise everything is written in
    one transaction and audited.
    """
    now = now or timezone.now()
    require_reach(actor, Permission.ROSTER_IMPORT, community.path)
    if community.kind != PlaceKind.COMMUNITY or not community.is_active:
        raise NotFound()
    notify = progress or (lambda phase, done, total: None)
    roster = roster_read(file_obj=file_obj, filename=filename)
    total = len(roster.rows)
    notify("checking", 0, total)

    planner = Planner(community)
    checker = Checker(planner, roster.positions, today=timezone.localdate(now))
    # The outside-community check needs the file's digests first: a cheap pass computing only the blind index.
    planner.load_outside_digests(_file_digests(roster))
    for index, (row, values) in enumerate(roster.rows, start=1):
        checker.check(row, values)
        if index % PROGRESS_EVERY == 0:
            notify("checking", index, total)

    report = RosterReport(rows=total)
    if checker.errors:
        report.errors = sorted(checker.errors, key=lambda error: (error.row, column_order(error.column)))
        return report

    notify("writing", total, total)
    with transaction.atomic():
        _write(actor=actor, community=community, planner=planner, plans=checker.plans, report=report, now=now)
        if report.created_total or report.updated:
            audit_record(
                actor=actor,
                action="roster.import",
                target=community,
                place_path=community.path,
                changes={
                    "created": dict(report.created),
                    "updated": report.updated,
                    "party": dict(report.party),
                    "file": filename[:200],
                },
            )
    return report


def _file_digests(roster: RosterFile) -> set[str]:
    from gongzhi.core.crypto import blind_index

    index = roster.positions.get("id_card_number")
    if index is None:
        return set()
    digests = set()
    for _row, values in roster.rows:
        value = cell_value(values, index)
        if isinstance(value, float):
            continue
        number = cell_text(value).replace(" ", "").upper()
        if number and id_card_is_valid(number):
            digests.add(blind_index(number))
    return digests


def _write(
    *,
    actor: Actor,
    community: Place,
    planner: Planner,
    plans: list[ResidentPlan],
    report: RosterReport,
    now: datetime,
) -> None:

    # Places, one level per kind (a new place's parent is an existing place or a new place of an earlier kind), each
    # with its PlaceChange row; the import's one audit entry covers them all.
    new_places = list(planner.new_places.values())
    levels: list[list[Place]] = []
    for kind in (PlaceKind.COMPOUND, PlaceKind.BUILDING, PlaceKind.ENTRANCE, PlaceKind.HOUSEHOLD):
        level = [node for node in new_places if node.kind == kind]
        if not level:
            continue
        objects = [Place(kind=kind, name=node.name, parent=place_of(node.parent), created_at=now) for node in level]
        for node, obj in zip(level, objects, strict=True):
            node.obj = obj
        levels.append(objects)
        report.created[kind] = len(objects)
    place_bulk_insert(levels=levels, actor=actor)

    # New residents and their tags.
    new_plans = [plan for plan in plans if plan.existing is None]
    residents = [
        Resident(
            **{name: value for name, value in plan.cleaned.items() if name != "household"},
            household_id=pk_of(plan.household),
            created_at=now,
        )
        for plan in new_plans
    ]
    Resident.objects.bulk_create(residents)
    ResidentTag.objects.bulk_create(
        ResidentTag(resident_id=resident.pk, code=code)
        for plan, resident in zip(new_plans, residents, strict=True)
        for code in plan.tags or ()
    )
    report.created["resident"] = len(residents)

    # Matched residents: write only what changed, audit each change with its fields.
    changed: list[Resident] = []
    changed_fields: set[str] = set()
    audits: list[AuditEntry] = []
    retagged: dict[int, list[str]] = {}
    for plan in plans:
        resident = plan.existing
        if resident is None:
            continue
        # A row counts as an update when the resident, their tags or their party membership change.
        party_changes = plan.party is not None and plan.party.action is not None
        if not plan.changes and plan.tags_change is None:
            report.updated += party_changes
            report.unchanged += not party_changes
            continue
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for name, value in plan.changes.items():
            if name == "household":
                new_id = pk_of(value)
                if new_id == resident.household_id:
                    continue
                before["household"], after["household"] = resident.household_id, new_id
                resident.household_id = new_id
                changed_fields.add("household")
                continue
            before[name], after[name] = getattr(resident, name), value
            setattr(resident, name, value)
            changed_fields.add(name)
        if plan.tags_change is not None:
            before["tags"], after["tags"] = plan.tags_change
            retagged[resident.pk] = plan.tags_change[1]
        if not after:
            report.updated += party_changes
            report.unchanged += not party_changes
            continue
        if before.keys() - {"tags"}:
            resident.updated_at = now
            changed.append(resident)
        report.updated += 1
        audits.append(
            audit_entry(
                actor=actor,
                action="resident.update",
                target=resident,
                place_path=community.path,
                purpose="roster.import",
                changes=_audit_diff(before, after),
                occurred_at=now,
            )
        )
    if changed:
        Resident.objects.bulk_update(changed, sorted(changed_fields | {"updated_at"}))
    if retagged:
        ids = sorted(retagged)
        for start in range(0, len(ids), IN_CHUNK):
            ResidentTag.objects.filter(resident_id__in=ids[start : start + IN_CHUNK]).delete()
        ResidentTag.objects.bulk_create(
            ResidentTag(resident_id=resident_id, code=code) for resident_id, codes in retagged.items() for code in codes
        )

    # Party memberships of the rows that name a party organisation.
    party_plans = [
        (resident.pk, plan.party) for plan, resident in zip(new_plans, residents, strict=True) if plan.party
    ] + [(plan.existing.pk, plan.party) for plan in plans if plan.existing is not None and plan.party]
    report.party, party_audits = write_party_memberships(actor=actor, community=community, plans=party_plans, now=now)
    audits.extend(party_audits)
    audit_bulk(audits)


_SECRET_FIELDS = {"id_card_ciphertext", "id_card_digest"}


def _audit_diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The changed fields, with personal data masked: the audit log must not become a copy of the roster."""
    diff = diff_fields(
        {k: v for k, v in before.items() if k not in _SECRET_FIELDS},
        {k: v for k, v in after.items() if k not in _SECRET_FIELDS},
    )
    if "phone" in diff:
        diff["phone"] = [mask_phone(value) for value in diff["phone"]]
    return diff


# ---------------------------------------------------------------- in the background, with progress


def roster_import_start(*, actor: Actor, community: Place, upload: Any, estimate: int) -> Progress:
    """Save a checked upload and import it into ``community`` in the background; returns its progress."""
    return start_import(
        actor=actor,
        upload=upload,
        folder=UPLOAD_FOLDER,
        runner="gongzhi.people.roster.roster_import_runner",
        progress_kind=PROGRESS_KIND,
        estimate=estimate,
        params={"community_id": community.pk},
        result={"community_id": community.pk, "community": community.name},
    )


def roster_import_runner(
    *, actor: Actor, file_obj: Any, filename: str, progress: ProgressCallback, community_id: int
) -> RosterReport:
    """The import job's work (``core.imports.run_import`` calls it with the saved upload open)."""
    community = Place.objects.filter(pk=community_id).first()
    try:
        if community is None:
            raise NotFound()
        return roster_import(
            actor=actor,
            community=community,
            file_obj=file_obj,
            filename=filename,
            progress=progress,
            now=timezone.now(),
        )
    except NotFound:
        raise CoreError.NOT_FOUND(_("You cannot import a roster into this community.")) from None
