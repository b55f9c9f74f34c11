"""Every change to the place tree: create (one, or many in bulk), rename, move, archive.

Each keeps history and writes the audit log, except the bulk insert: it leaves the audit log to its caller (the
roster import audits an import as a whole) and keeps history unless told not to (the demo builder's made-up data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from django.db import transaction
from django.db.models import CharField, F, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, Substr
from django.utils.translation import gettext as _

from gongzhi.core.access import require_reach
from gongzhi.core.actors import Actor, MaybeAnonymousActor
from gongzhi.core.audit import audit_record
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.roles import Permission
from gongzhi.core.tree import child_path, subtree_q

from .errors import PlacesError
from .models import ALLOWED_PARENTS, MAX_GRID_LEVEL, Place, PlaceChange, PlaceKind


def _depth_under(parent: Place | None) -> int:
    """Depth of a place under ``parent``: 0 for a root."""
    return parent.depth + 1 if parent is not None else 0


def _path_under(parent: Place | None, place_id: int) -> str:
    """Path of the place ``place_id`` under ``parent``; ``_path_under_sql`` computes the same in the database."""
    return child_path(parent.path if parent is not None else "", place_id)


def _path_under_sql() -> Concat:
    """``_path_under`` as an UPDATE expression: the parent's path ("/" for a root) + own id + "/"."""
    parent_path = Subquery(Place.objects.filter(pk=OuterRef("parent_id")).values("path")[:1])
    return Concat(Coalesce(parent_path, Value("/")), Cast("pk", CharField()), Value("/"), output_field=CharField())


def _deepest_grid_level(place: Place | None, *, including_self: bool) -> int:
    """Grid level of the nearest grid at or above ``place`` (0 when there is none)."""
    if place is None:
        return 0
    if including_self and place.kind == PlaceKind.GRID:
        return place.grid_level or 1
    levels = Place.objects.filter(pk__in=place.ancestor_ids, kind=PlaceKind.GRID).values_list("grid_level", flat=True)
    return max((level or 1 for level in levels), default=0)


def _grid_level_under(parent: Place | None) -> int:
    """Level a new grid takes under ``parent``: one deeper than the nearest grid above it."""
    return _deepest_grid_level(parent, including_self=True) + 1


def validate_parent(kind: str, parent: Place | None) -> int | None:
    """Raise ValidationFailed unless ``kind`` may sit under ``parent``; return the grid level for grids."""
    allowed = ALLOWED_PARENTS.get(kind)
    if allowed is None:
        raise ValidationFailed(fields={"kind": _("Unknown kind of place.")})
    parent_kind = parent.kind if parent is not None else None
    if parent_kind not in allowed:
        raise PlacesError.INVALID_PARENT(
            _("A %(kind)s cannot be placed under a %(parent)s.")
            % {"kind": PlaceKind(kind).label, "parent": PlaceKind(parent_kind).label if parent_kind else "—"},
            fields={"parent": _("Choose a place of another kind.")},
        )
    entrance_in_grid = kind == PlaceKind.ENTRANCE and parent is not None and parent.kind == PlaceKind.GRID
    if (
        entrance_in_grid
        and parent is not None
        and not Place.objects.filter(pk__in=parent.ancestor_ids, kind=PlaceKind.BUILDING).exists()
    ):
        raise PlacesError.INVALID_PARENT(
            _("An entrance must belong to a building."),
            fields={"parent": _("Choose a building or a grid inside a building.")},
        )
    if kind == PlaceKind.GRID:
        level = _grid_level_under(parent)
        if level > MAX_GRID_LEVEL:
            raise PlacesError.GRID_TOO_DEEP(
                _("Grids nest at most three levels."),
                fields={"parent": _("Choose a grid of level 1 or 2, or a community.")},
            )
        return level
    return None


@transaction.atomic
def place_create(
    *,
    actor: Actor,
    kind: str,
    name: str,
    parent: Place | None,
    code: str = "",
    address: str = "",
    audit: bool = True,
) -> Place:
    """Create a place under ``parent``. The actor must manage the parent's subtree (or be a superuser)."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(fields={"name": _("Enter a name.")})
    if parent is not None:
        require_reach(actor, Permission.PLACE_MANAGE, parent.path)
    elif not getattr(actor, "is_superuser", False):
        raise NotFound()
    grid_level = validate_parent(kind, parent)
    if Place.objects.filter(parent=parent, name=name, is_active=True).exists():
        raise PlacesError.DUPLICATE_NAME(
            _("There is already a place called %(name)s here.") % {"name": name},
            fields={"name": _("Choose another name.")},
        )
    place = Place.objects.create(
        kind=kind,
        name=name,
        code=code,
        parent=parent,
        address=address,
        grid_level=grid_level,
        depth=_depth_under(parent),
    )
    place.path = _path_under(parent, place.pk)
    Place.objects.filter(pk=place.pk).update(path=place.path)
    if audit:
        PlaceChange.objects.create(
            place=place, action=PlaceChange.Action.CREATE, actor=_actor_or_none(actor), new_name=name, new_parent=parent
        )
        audit_record(
            actor=actor,
            action="place.create",
            target=place,
            place_path=place.path,
            changes={"name": [None, name], "kind": [None, kind]},
        )
    return place


def place_bulk_insert(
    *,
    levels: Sequence[Sequence[Place]],
    actor: MaybeAnonymousActor | None = None,
    history: bool = True,
    batch_size: int | None = None,
) -> list[Place]:
    """Insert new places level by level and return them in that order, with their ids, paths and depths set.

    ``levels`` lists unsaved places, parents before children: each place's ``parent`` is given as an object, either
    a saved place (with its path and depth loaded) or a place of an earlier level; ``None`` makes a root. Anything
    else, or a kind that may not sit under its parent's (``ALLOWED_PARENTS``), raises ValueError before anything is
    written.

    Guarantees: ``depth`` and ``path`` are those ``place_create`` gives, in the database and on the objects
    (any depth passed in is replaced); ids are allocated in the order given; with ``history`` every place gets a
    ``PlaceChange`` CREATE row by ``actor`` at its ``created_at``. Each level costs one INSERT (more only when
    ``batch_size`` or the database's parameter limit splits it), one UPDATE and, with ``history``, one INSERT, however
    many places it holds. All of it or nothing is written.

    It checks no reach and writes no audit entry: it is the write step of callers that have checked both and audit
    the batch as a whole. Names unique under their parent are theirs to keep too (the database refuses duplicates),
    as are grid levels (``grid_level`` is stored as given).
    """
    to_insert = [list(level) for level in levels if level]
    # Checked before the transaction, so a refused batch leaves the caller's transaction usable.
    _check_levels(to_insert)
    actor_id = getattr(_actor_or_none(actor), "pk", None)
    inserted: list[Place] = []
    # No savepoint inside the caller's transaction (two more queries per batch): the callers roll back as a whole
    # when a write fails, as they did when these statements were their own.
    with transaction.atomic(savepoint=False):
        for level in to_insert:
            _insert_level(level, actor_id=actor_id, history=history, batch_size=batch_size)
            inserted.extend(level)
    return inserted


def _insert_level(level: list[Place], *, actor_id: int | None, history: bool, batch_size: int | None) -> None:
    """One level of ``place_bulk_insert``; the parents are saved already."""
    for place in level:
        place.depth = _depth_under(place.parent)
    Place.objects.bulk_create(level, batch_size=batch_size)
    ids = [place.pk for place in level]
    # The paths need the new ids: one UPDATE for the whole level. Only this level's rows are still without one
    # (the parents got theirs a level earlier), so the id range finds them without listing every id.
    Place.objects.filter(pk__gte=min(ids), pk__lte=max(ids), path="").update(path=_path_under_sql())
    for place in level:
        place.path = _path_under(place.parent, place.pk)
    if history:
        PlaceChange.objects.bulk_create(
            (
                PlaceChange(
                    place_id=place.pk,
                    action=PlaceChange.Action.CREATE,
                    actor_id=actor_id,
                    new_name=place.name,
                    new_parent_id=place.parent_id,
                    changed_at=place.created_at,
                )
                for place in level
            ),
            batch_size=batch_size,
        )


def _check_levels(levels: list[list[Place]]) -> None:
    """Raise ValueError unless every place is new, fits under its parent, and the parent is saved or comes earlier."""
    earlier: set[int] = set()  # id() of the places of the levels checked so far
    for number, level in enumerate(levels):
        for place in level:
            if place.pk is not None:
                raise ValueError(f"{place.name} (level {number}) is saved already.")
            # A parent known only by its id would cost a query per place to learn its path and depth.
            if place.parent_id is not None and not Place.parent.is_cached(place):
                raise ValueError(f"{place.name} (level {number}): give the parent as an object, not only its id.")
            parent = place.parent
            if parent is not None and parent.pk is None and id(parent) not in earlier:
                raise ValueError(f"{place.name} (level {number}): its parent must be saved or in an earlier level.")
            if (parent.kind if parent is not None else None) not in ALLOWED_PARENTS.get(place.kind, ()):
                raise ValueError(f"{place.name} (level {number}): a {place.kind} cannot sit under {parent}.")
        earlier.update(id(place) for place in level)


@transaction.atomic
def place_rename(*, actor: Actor, place: Place, name: str) -> Place:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(fields={"name": _("Enter a name.")})
    require_reach(actor, Permission.PLACE_MANAGE, place.path)
    if name == place.name:
        return place
    if Place.objects.filter(parent_id=place.parent_id, name=name, is_active=True).exclude(pk=place.pk).exists():
        raise PlacesError.DUPLICATE_NAME(
            _("There is already a place called %(name)s here.") % {"name": name},
            fields={"name": _("Choose another name.")},
        )
    old_name = place.name
    Place.objects.filter(pk=place.pk).update(name=name)
    PlaceChange.objects.create(
        place=place, action=PlaceChange.Action.RENAME, actor=_actor_or_none(actor), old_name=old_name, new_name=name
    )
    audit_record(
        actor=actor, action="place.rename", target=place, place_path=place.path, changes={"name": [old_name, name]}
    )
    place.name = name
    return place


@transaction.atomic
def place_move(*, actor: Actor, place: Place, new_parent: Place) -> Place:
    """Move ``place`` and its whole subtree under ``new_parent`` with two UPDATE statements.

    The actor must manage both the old and the new location. Moving a place under itself is refused.
    """
    require_reach(actor, Permission.PLACE_MANAGE, place.path)
    require_reach(actor, Permission.PLACE_MANAGE, new_parent.path)
    if new_parent.path.startswith(place.path):
        raise PlacesError.INVALID_PARENT(
            _("A place cannot be moved under itself."),
            fields={"parent": _("Choose a place outside this one.")},
        )
    validate_parent(place.kind, new_parent)
    # Grids inside the moved subtree keep their nesting but shift with the grid level of their new surroundings.
    level_change = _deepest_grid_level(new_parent, including_self=True) - _deepest_grid_level(
        place.parent, including_self=True
    )
    if level_change:
        levels_inside = Place.objects.filter(subtree_q(place.path), kind=PlaceKind.GRID).values_list(
            "grid_level", flat=True
        )
        deepest_inside = max((level or 0 for level in levels_inside), default=0)
        if deepest_inside and deepest_inside + level_change > MAX_GRID_LEVEL:
            raise PlacesError.GRID_TOO_DEEP(
                _("Grids nest at most three levels."),
                fields={"parent": _("Choose a place with fewer grid levels above it.")},
            )
    if Place.objects.filter(parent=new_parent, name=place.name, is_active=True).exists():
        raise PlacesError.DUPLICATE_NAME(
            _("There is already a place called %(name)s here.") % {"name": place.name},
            fields={"parent": _("Rename one of the two places first.")},
        )
    old_path, old_parent_id = place.path, place.parent_id
    new_path = child_path(new_parent.path, place.pk)
    depth_change = (new_parent.depth + 1) - place.depth
    # Rewrite the prefix of every path in the subtree in one statement; depth shifts by the same amount.
    Place.objects.filter(subtree_q(old_path)).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + depth_change,
    )
    if level_change:
        Place.objects.filter(subtree_q(new_path), kind=PlaceKind.GRID).update(grid_level=F("grid_level") + level_change)
    # Party organisation paths are a tree of party-node ids, not of places, so a move leaves them valid.
    Place.objects.filter(pk=place.pk).update(parent=new_parent)
    PlaceChange.objects.create(
        place=place,
        action=PlaceChange.Action.MOVE,
        actor=_actor_or_none(actor),
        old_parent_id=old_parent_id,
        new_parent=new_parent,
        old_path=old_path,
    )
    audit_record(
        actor=actor,
        action="place.move",
        target=place,
        place_path=new_path,
        changes={"parent": [old_parent_id, new_parent.pk], "path": [old_path, new_path]},
    )
    place.refresh_from_db()
    return place


@transaction.atomic
def place_archive(*, actor: Actor, place: Place) -> Place:
    """Archive a place with nothing active under it. Archived places keep their history and records."""
    require_reach(actor, Permission.PLACE_MANAGE, place.path)
    if Place.objects.filter(parent=place, is_active=True).exists() or place.residents.filter(is_active=True).exists():
        raise PlacesError.NOT_EMPTY()
    Place.objects.filter(pk=place.pk).update(is_active=False)
    PlaceChange.objects.create(
        place=place, action=PlaceChange.Action.ARCHIVE, actor=_actor_or_none(actor), old_name=place.name
    )
    audit_record(actor=actor, action="place.archive", target=place, place_path=place.path)
    place.is_active = False
    return place


def _actor_or_none(actor: MaybeAnonymousActor | None) -> Actor | None:
    return cast("Actor", actor) if getattr(actor, "is_authenticated", False) else None
