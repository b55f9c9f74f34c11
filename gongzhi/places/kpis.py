"""The place figures of shared/kpis.md ("Organisation"): the places under a place, by kind, in one query.

Definitions — active places in the subtree of the place (the place itself not counted):
- grids by level (seed 002: 8 / 44 / 181), areas, compounds, buildings, entrances, households;
- households per grid: households divided by the grids no other grid divides (the finest grids, where a grid
  worker's ~150 households are counted), to one decimal; ``None`` ("—") where there is no grid.
The tree is as it stands: a place that was archived is not counted, whatever the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from gongzhi.core.kpi_catalogue import Figure, FigureGroup, KpiDomain, Unit
from gongzhi.core.tree import subtree_q

from .models import MAX_GRID_LEVEL, Place, PlaceKind


@dataclass(frozen=True)
class PlaceFigures:
    grids_by_level: dict[int, int]
    areas: int
    compounds: int
    buildings: int
    entrances: int
    households: int
    finest_grids: int

    @property
    def households_per_grid(self) -> Decimal | None:
        if not self.finest_grids:
            return None
        value = Decimal(self.households) / Decimal(self.finest_grids)
        return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    def as_dict(self) -> dict:
        per_grid = self.households_per_grid
        return {
            "grids_by_level": {str(level): count for level, count in self.grids_by_level.items()},
            "areas": self.areas,
            "compounds": self.compounds,
            "buildings": self.buildings,
            "entrances": self.entrances,
            "households": self.households,
            "households_per_grid": None if per_grid is None else str(per_grid),
        }


def place_figures(place: Place) -> PlaceFigures:
    """One aggregate over the subtree (the finest grids found with a correlated EXISTS)."""
    child_grid = Place.objects.filter(parent_id=OuterRef("pk"), kind=PlaceKind.GRID, is_active=True)
    under = Place.objects.filter(subtree_q(place.path), is_active=True).exclude(pk=place.pk)
    grid = Q(kind=PlaceKind.GRID)
    row = under.annotate(divided=Exists(child_grid)).aggregate(
        **{f"grid_{level}": Count("pk", filter=grid & Q(grid_level=level)) for level in range(1, MAX_GRID_LEVEL + 1)},
        finest=Count("pk", filter=grid & Q(divided=False)),
        areas=Count("pk", filter=Q(kind=PlaceKind.AREA)),
        compounds=Count("pk", filter=Q(kind=PlaceKind.COMPOUND)),
        buildings=Count("pk", filter=Q(kind=PlaceKind.BUILDING)),
        entrances=Count("pk", filter=Q(kind=PlaceKind.ENTRANCE)),
        households=Count("pk", filter=Q(kind=PlaceKind.HOUSEHOLD)),
    )
    return PlaceFigures(
        grids_by_level={level: row[f"grid_{level}"] for level in range(1, MAX_GRID_LEVEL + 1)},
        areas=row["areas"],
        compounds=row["compounds"],
        buildings=row["buildings"],
        entrances=row["entrances"],
        households=row["households"],
        finest_grids=row["finest"],
    )


# ---------------------------------------------------------------- the KPI catalogue (gongzhi.core.kpi_catalogue)


def _grid_level(level) -> str:
    return str(_("level %(level)s") % {"level": level})


KPI_DOMAIN = KpiDomain(
    "places",
    _("Places"),
    groups=(
        FigureGroup(
            "places.tree",
            _("The place tree"),
            lambda place, period: place_figures(place),
            (
                Figure(
                    "grids_by_level",
                    _("Grids by level"),
                    _("Active grids under the place, by grid level; the tree as it stands, whatever the period."),
                    Unit.MAPPING,
                    labels=_grid_level,
                ),
                Figure("areas", _("Areas"), _("Active areas (片区) under the place.")),
                Figure("compounds", _("Compounds"), _("Active residential compounds under the place.")),
                Figure("buildings", _("Buildings"), _("Active buildings under the place.")),
                Figure("entrances", _("Entrances"), _("Active entrances (单元) under the place.")),
                Figure("households", _("Households"), _("Active households under the place.")),
                Figure(
                    "households_per_grid",
                    _("Households per grid"),
                    _(
                        "Households under the place divided by its finest grids (grids no other grid divides), "
                        "to one decimal; — where there is no grid."
                    ),
                    Unit.RATIO,
                ),
            ),
            timeless=True,
        ),
    ),
)
