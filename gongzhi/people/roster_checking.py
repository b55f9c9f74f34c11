"""Checking a roster's rows against what the community already holds, before anything is written.

``Planner`` loads the community's places and residents once and resolves each row's address in memory (existing
places, or places to create); ``Checker`` maps each row's words to codes, checks them by the same rules as the
forms (``resident_clean``, ``party_membership_clean``), matches the resident (by ID card number, else household
and name) and plans what changes. Every bad cell is collected with its row and column; nothing is written here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from gongzhi.core.errors import ValidationFailed
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place, PlaceKind

from .models import Relation, Resident, ResidentTag, ResidentTagCode
from .roster_format import (
    COLUMN_BY_KEY,
    GENDER_BY_LABEL,
    PARTY_KEYS,
    RELATION_BY_LABEL,
    TAG_BY_LABEL,
    TAG_SPLIT,
    CellError,
    RowError,
    cell_text,
    cell_value,
    parse_date,
)
from .roster_party import PartyDirectory, PartyPlan, check_party_cells, plan_party_change
from .services import ResidentInput, resident_clean

_PLACE_NAME_MAX: int = Place._meta.get_field("name").max_length or 100
# Keep each IN (...) list under SQLite's default limit of 999 parameters.
IN_CHUNK = 900


@dataclass(eq=False)
class NewPlace:
    kind: str
    name: str
    parent: Place | NewPlace
    row: int
    obj: Place | None = None


PlaceRef = Place | NewPlace


def place_token(ref: PlaceRef) -> tuple[str, int]:
    return ("p", ref.pk) if isinstance(ref, Place) else ("n", id(ref))


def place_of(ref: PlaceRef) -> Place:
    if isinstance(ref, Place):
        return ref
    assert ref.obj is not None
    return ref.obj


def pk_of(ref: PlaceRef) -> int:
    return place_of(ref).pk


@dataclass(eq=False)
class ResidentPlan:
    row: int
    household: PlaceRef
    cleaned: dict[str, Any]
    tags: tuple[str, ...] | None  # None: the tags column was empty or absent (leave tags as they are)
    existing: Resident | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    tags_change: tuple[list[str], list[str]] | None = None
    party: PartyPlan | None = None  # None: the row fills no party column (the membership stays as it is)


class Planner:
    """Resolves every row against the places and residents already in the community, in memory."""

    def __init__(self, community: Place):
        self.community = community
        places = list(
            Place.objects.filter(subtree_q(community.path), is_active=True).only(
                "id", "kind", "name", "parent_id", "path", "depth", "grid_level"
            )
        )
        self.children: dict[tuple[int, str], Place] = {(p.parent_id, p.name): p for p in places if p.parent_id}
        self.grids_by_name: dict[str, list[Place]] = {}
        for place in places:
            if place.kind in (PlaceKind.GRID, PlaceKind.AREA):
                self.grids_by_name.setdefault(place.name, []).append(place)
        self.new_places: dict[tuple[tuple[str, int], str], NewPlace] = {}

        residents = list(Resident.objects.filter(subtree_q(community.path, "household__path")).order_by("pk"))
        self.residents_by_digest = {r.id_card_digest: r for r in residents if r.id_card_digest}
        self.residents_by_name: dict[tuple[int | None, str], list[Resident]] = {}
        for resident in residents:
            self.residents_by_name.setdefault((resident.household_id, resident.name), []).append(resident)
        self.tags: dict[int, set[str]] = {}
        tag_rows = ResidentTag.objects.filter(subtree_q(community.path, "resident__household__path")).values_list(
            "resident_id", "code"
        )
        for resident_id, code in tag_rows:
            self.tags.setdefault(resident_id, set()).add(code)
        self.outside_digests: set[str] = set()

    def load_outside_digests(self, digests: set[str]) -> None:
        """Digests in the file that belong to residents registered in a household outside this community."""
        unknown = sorted(digest for digest in digests if digest not in self.residents_by_digest)
        for start in range(0, len(unknown), IN_CHUNK):
            found = Resident.objects.filter(id_card_digest__in=unknown[start : start + IN_CHUNK]).values_list(
                "id_card_digest", "household_id"
            )
            # A resident registered in no household may be taken in; anyone else lives elsewhere.
            self.outside_digests.update(digest for digest, household_id in found if digest and household_id is not None)

    def grid(self, text: str) -> Place:
        parts = [part.strip() for part in re.split(r"[/／]", text) if part.strip()]
        node: Place = self.community
        for part in parts:
            child = self.children.get((node.pk, part))
            if child is None or child.kind not in (PlaceKind.GRID, PlaceKind.AREA):
                break
            node = child
        else:
            return node
        if len(parts) == 1:
            candidates = self.grids_by_name.get(parts[0], [])
            if len(candidates) == 1:
                return candidates[0]
            if len(candidates) > 1:
                raise CellError(
                    _("Several grids are called %(name)s; write the path from the community, separated by “/”.")
                    % {"name": parts[0]}
                )
        raise CellError(
            _("There is no grid called %(name)s in this community. Grids are set up by staff.") % {"name": text}
        )

    def place(self, kind: str, name: str, parent: PlaceRef, row: int) -> PlaceRef:
        if len(name) > _PLACE_NAME_MAX:
            raise CellError(_("At most %(max)d characters.") % {"max": _PLACE_NAME_MAX})
        if isinstance(parent, Place):
            existing = self.children.get((parent.pk, name))
            if existing is not None:
                if existing.kind != kind:
                    raise CellError(
                        _("%(name)s already exists here as a %(kind)s.")
                        % {"name": name, "kind": PlaceKind(existing.kind).label}
                    )
                return existing
        key = (place_token(parent), name)
        planned = self.new_places.get(key)
        if planned is None:
            planned = self.new_places[key] = NewPlace(kind=kind, name=name, parent=parent, row=row)
        elif planned.kind != kind:
            raise CellError(
                _("%(name)s already exists here as a %(kind)s.") % {"name": name, "kind": PlaceKind(planned.kind).label}
            )
        return planned


# ---------------------------------------------------------------- checking one row


def _id_text(value: Any) -> str:
    if isinstance(value, float):
        raise CellError(
            _("The ID card number was stored as a number and lost digits. Format the column as text and type it again.")
        )
    return cell_text(value).replace(" ", "").upper()


_FIELD_COLUMN = {
    "name": "name",
    "gender": "gender",
    "birth_date": "birth_date",
    "phone": "phone",
    "id_card_number": "id_card_number",
    "relation": "relation",
    "tags": "tags",
    "household": "household",
}


class Checker:
    def __init__(self, planner: Planner, positions: dict[str, int], *, today: date):
        self.planner = planner
        self.positions = positions
        self.today = today
        self.party = PartyDirectory(planner.community)
        self.errors: list[RowError] = []
        self.plans: list[ResidentPlan] = []
        self.id_rows: dict[str, int] = {}
        self.name_rows: dict[tuple[tuple[str, int], str], tuple[int, bool]] = {}
        self.claimed: dict[int, int] = {}  # existing resident pk -> row that matched it

    def error(self, row: int, key: str, message: str) -> None:
        self.errors.append(RowError(row, COLUMN_BY_KEY[key].header if key in COLUMN_BY_KEY else "", message))

    def value(self, values: tuple[Any, ...], key: str) -> Any:
        index = self.positions.get(key)
        return None if index is None else cell_value(values, index)

    def check(self, row: int, values: tuple[Any, ...]) -> None:
        cells = {key: self.value(values, key) for key in COLUMN_BY_KEY}
        text = {key: cell_text(value) for key, value in cells.items()}
        before = len(self.errors)

        household = self._household(row, text)

        # Resident fields: mapped from the file's words to codes, then checked by the same rules as the forms.
        resident_keys = ("gender", "birth_date", "phone", "id_card_number", "relation", "tags", *PARTY_KEYS)
        if not text["name"]:
            if any(text[key] for key in resident_keys):
                self.error(row, "name", _("Enter the name, or leave the resident's columns empty."))
            return
        gender = ""
        if text["gender"]:
            gender = GENDER_BY_LABEL.get(text["gender"], "")
            if not gender:
                self.error(row, "gender", _("Write 男 or 女."))
        relation = ""
        if text["relation"]:
            relation = RELATION_BY_LABEL.get(text["relation"], "")
            if not relation and text["relation"] in Relation.values:
                relation = text["relation"]
            if not relation:
                self.error(row, "relation", _("Unknown relation to the householder; choose one from the list."))
        tags: tuple[str, ...] | None = None
        if text["tags"]:
            words = [word for word in TAG_SPLIT.split(text["tags"]) if word]
            unknown = [word for word in words if word not in TAG_BY_LABEL and word not in ResidentTagCode.values]
            if unknown:
                self.error(row, "tags", _("Unknown tags: %(tags)s.") % {"tags": "、".join(unknown)})
            tags = tuple(sorted({TAG_BY_LABEL.get(word, word) for word in words if word not in unknown}))
        birth_date = None
        if text["birth_date"]:
            try:
                birth_date = parse_date(cells["birth_date"])
            except ValueError:
                self.error(row, "birth_date", _("Write the date as YYYY-MM-DD."))
        number = ""
        if text["id_card_number"]:
            try:
                number = _id_text(cells["id_card_number"])
            except CellError as exc:
                self.error(row, "id_card_number", exc.message)
        try:
            cleaned = resident_clean(
                ResidentInput(
                    name=text["name"],
                    gender=gender,
                    birth_date=birth_date,
                    phone=text["phone"],
                    id_card_number=number,
                    relation=relation,
                    tags=tags or (),
                )
            )
        except ValidationFailed as exc:
            for name, message in exc.fields.items():
                self.error(row, _FIELD_COLUMN.get(name, ""), str(message))
            self._party(row, text, cells, birth_date)  # its bad cells are reported in the same round
            return
        party = self._party(row, text, cells, cleaned["birth_date"])
        if len(self.errors) > before or household is None:
            return

        digest = cleaned.get("id_card_digest")
        if digest:
            first = self.id_rows.setdefault(digest, row)
            if first != row:
                self.error(row, "id_card_number", _("The same ID card number is on row %(row)d.") % {"row": first})
                return
            if digest in self.planner.outside_digests:
                self.error(row, "id_card_number", _("This ID card number is already registered in another community."))
                return
        name_key = (place_token(household), cleaned["name"])
        seen = self.name_rows.get(name_key)
        if seen is not None and (not digest or not seen[1]):
            self.error(row, "name", _("The same person is on row %(row)d.") % {"row": seen[0]})
            return
        if seen is None:
            self.name_rows[name_key] = (row, bool(digest))

        existing = self._match(household, cleaned)
        if existing is not None:
            other_row = self.claimed.setdefault(existing.pk, row)
            if other_row != row:
                self.error(row, "name", _("The same person is on row %(row)d.") % {"row": other_row})
                return
        plan = ResidentPlan(row=row, household=household, cleaned=cleaned, tags=tags, existing=existing, party=party)
        if existing is not None:
            self._changes(plan, text)
        if party is not None:
            plan_party_change(party, self.party.membership_of(existing.pk) if existing is not None else None)
        self.plans.append(plan)

    def _party(
        self, row: int, text: dict[str, str], cells: dict[str, Any], birth_date: date | None
    ) -> PartyPlan | None:
        return check_party_cells(
            self.party, row, text, cells, birth_date=birth_date, today=self.today, error=self.error
        )

    def _household(self, row: int, text: dict[str, str]) -> PlaceRef | None:
        missing = [key for key in ("building", "entrance", "household") if not text[key]]
        for key in missing:
            self.error(row, key, _("This column is required."))
        if missing:
            return None
        planner = self.planner
        parent: PlaceRef = planner.community
        try:
            step = "grid"
            if text["grid"]:
                parent = planner.grid(text["grid"])
            step = "compound"
            if text["compound"]:
                parent = planner.place(PlaceKind.COMPOUND, text["compound"], parent, row)
            step = "building"
            parent = planner.place(PlaceKind.BUILDING, text["building"], parent, row)
            step = "entrance"
            parent = planner.place(PlaceKind.ENTRANCE, text["entrance"], parent, row)
            step = "household"
            return planner.place(PlaceKind.HOUSEHOLD, text["household"], parent, row)
        except CellError as exc:
            self.error(row, step, exc.message)
            return None

    def _match(self, household: PlaceRef, cleaned: dict[str, Any]) -> Resident | None:
        planner = self.planner
        digest = cleaned.get("id_card_digest")
        if digest and digest in planner.residents_by_digest:
            return planner.residents_by_digest[digest]
        if not isinstance(household, Place):
            return None
        same_name = planner.residents_by_name.get((household.pk, cleaned["name"]), [])
        if digest:  # someone registered here without an ID number, now given one
            same_name = [resident for resident in same_name if not resident.id_card_digest]
        if not same_name:
            return None
        active = [resident for resident in same_name if resident.is_active]
        return (active or same_name)[0]

    def _changes(self, plan: ResidentPlan, text: dict[str, str]) -> None:
        """What differs from the stored resident. An empty cell leaves the stored value as it is."""
        resident = plan.existing
        assert resident is not None
        cleaned = plan.cleaned
        after: dict[str, Any] = {"name": cleaned["name"]}
        for key in ("gender", "birth_date", "phone", "relation"):
            if text[key]:
                after[key] = cleaned[key]
            elif key in ("gender", "birth_date") and cleaned[key] and not getattr(resident, key):
                after[key] = cleaned[key]  # derived from the ID number, filling a gap
        if cleaned.get("id_card_digest") and resident.id_card_digest != cleaned["id_card_digest"]:
            after.update(
                id_card_ciphertext=cleaned["id_card_ciphertext"],
                id_card_digest=cleaned["id_card_digest"],
                id_card_masked=cleaned["id_card_masked"],
            )
        if not resident.is_active:
            after["is_active"] = True
        if not isinstance(plan.household, Place) or plan.household.pk != resident.household_id:
            after["household"] = plan.household
        plan.changes = {
            name: value for name, value in after.items() if name == "household" or getattr(resident, name) != value
        }
        if plan.tags is not None:
            current = sorted(self.planner.tags.get(resident.pk, set()))
            if list(plan.tags) != current:
                plan.tags_change = (current, list(plan.tags))
