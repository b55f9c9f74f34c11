"""The place tree: district → street → community → area / grids → (compound) → building → entrance → household.

Each node keeps a materialised ``path`` of its ancestors' ids ("/1/5/23/"), so "everything under X" is one
indexed range query on SQLite and PostgreSQL alike (see ``gongzhi.core.tree``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.tree import path_ids


class PlaceKind(models.TextChoices):
    DISTRICT = "district", _("district")
    STREET = "street", _("street")
    COMMUNITY = "community", _("community")
    AREA = "area", _("area")
    GRID = "grid", _("grid")
    COMPOUND = "compound", _("compound")
    BUILDING = "building", _("building")
    ENTRANCE = "entrance", _("entrance")
    HOUSEHOLD = "household", _("household")


# Which kinds may sit directly under which. Grids nest up to three levels and may divide a building
# (seed 002: 8 / 44 / 181 grids in a community of 44 buildings).
ALLOWED_PARENTS: dict[str, set[str | None]] = {
    PlaceKind.DISTRICT: {None},
    PlaceKind.STREET: {PlaceKind.DISTRICT},
    PlaceKind.COMMUNITY: {PlaceKind.STREET},
    PlaceKind.AREA: {PlaceKind.COMMUNITY},
    PlaceKind.GRID: {PlaceKind.COMMUNITY, PlaceKind.AREA, PlaceKind.GRID, PlaceKind.COMPOUND, PlaceKind.BUILDING},
    PlaceKind.COMPOUND: {PlaceKind.COMMUNITY, PlaceKind.AREA, PlaceKind.GRID},
    PlaceKind.BUILDING: {PlaceKind.COMMUNITY, PlaceKind.AREA, PlaceKind.GRID, PlaceKind.COMPOUND},
    PlaceKind.ENTRANCE: {PlaceKind.BUILDING, PlaceKind.GRID},
    PlaceKind.HOUSEHOLD: {PlaceKind.ENTRANCE},
}
MAX_GRID_LEVEL = 3


class Place(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=PlaceKind.choices, db_index=True)
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=64, blank=True, help_text=_("Administrative or local code."))
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(_("path"), max_length=255, editable=False, default="")
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    grid_level = models.PositiveSmallIntegerField(_("grid level"), null=True, blank=True, editable=False)
    address = models.CharField(_("address"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["path"]
        indexes = [
            # Range scans on SQLite; prefix (LIKE 'x%') scans on PostgreSQL use the pattern-ops index below.
            models.Index(fields=["path"], name="place_path_idx"),
            models.Index(fields=["path"], name="place_path_pattern_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["parent", "kind"], name="place_parent_kind_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], condition=Q(is_active=True), name="place_unique_active_name_in_parent"
            ),
            models.CheckConstraint(
                condition=Q(grid_level__isnull=True) | Q(grid_level__gte=1, grid_level__lte=MAX_GRID_LEVEL),
                name="place_grid_level_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to the parent (not including this place)."""
        return path_ids(self.path)[:-1]


class PlaceChange(models.Model):
    """History of renames, moves and archiving: a place keeps where it was and what it was called."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        RENAME = "rename", _("renamed")
        MOVE = "move", _("moved")
        ARCHIVE = "archive", _("archived")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    old_name = models.CharField(_("old name"), max_length=100, blank=True)
    new_name = models.CharField(_("new name"), max_length=100, blank=True)
    old_parent = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("old parent")
    )
    new_parent = models.ForeignKey(
        Place, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("new parent")
    )
    old_path = models.CharField(_("old path"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("place change")
        verbose_name_plural = _("place history")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.place_id} {self.action}"
