"""The KPI catalogue: one definition per figure of shared/kpis.md, registered by the domain that counts it.

Each domain's ``<app>/kpis.py`` ends with one ``KPI_DOMAIN = KpiDomain(...)``: its groups of figures, each group the
one function that computes it for a place subtree and a ``Period`` (``compute(place, period)``), and each figure of
the group its key, name, definition (both ``gettext_lazy``, English source, Chinese in the catalogues), unit, and
for a rate what its numerator and denominator count. ``domains()`` collects them from the installed apps in
INSTALLED_APPS order (core imports no domain app: it imports ``<app>.kpis`` by name), so registering a new
domain is a few lines of that domain's own kpis.py.

``compute(place, period)`` runs every group once and returns the values with their definitions; the cockpit
pages, the API, the ledger workbook and the work report all read it, so a figure is the same number everywhere.
A figure's full key is ``<group key>.<figure key>``, e.g. ``points.ledger.issued``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from django.apps import apps
from django.utils.functional import Promise

from .figures import Period, Rate


class Unit:
    """What a figure's value is, and so how it is shown."""

    COUNT = "count"  # a whole number of things (people, cases, places)
    POINTS = "points"  # red points
    AMOUNT = "amount"  # yuan, two decimals
    RATE = "rate"  # a Rate: numerator / denominator, percent half-up to one decimal; "—" when nothing to rate
    PER_10000 = "per_10000"  # per 10,000 residents, one decimal; "—" without residents
    RATIO = "ratio"  # one count divided by another, one decimal; "—" when divided by zero
    MAPPING = "mapping"  # counts by kind (role, level, category)
    VALUES = "values"  # a list of distinct values (the point values in use)
    ALL = (COUNT, POINTS, AMOUNT, RATE, PER_10000, RATIO, MAPPING, VALUES)
    NUMBERS = (COUNT, POINTS, AMOUNT, PER_10000, RATIO)


NO_VALUE = "—"


@dataclass(frozen=True)
class Figure:
    """One figure of a group: ``attribute`` of the group's result (default: ``key``)."""

    key: str
    name: Promise | str
    definition: Promise | str
    unit: str = Unit.COUNT
    attribute: str = ""
    numerator: Promise | str | None = None
    denominator: Promise | str | None = None
    labels: Callable[[str], str] | None = None  # a mapping's keys as people read them

    def __post_init__(self) -> None:
        if self.unit not in Unit.ALL:
            raise ValueError(f"Unknown unit {self.unit!r} for figure {self.key!r}")
        if self.unit == Unit.RATE and (self.numerator is None or self.denominator is None):
            raise ValueError(f"The rate {self.key!r} needs what its numerator and denominator count")

    def read(self, result: Any) -> Any:
        return getattr(result, self.attribute or self.key)


@dataclass(frozen=True)
class FigureGroup:
    """Figures computed together by ``compute(place, period)`` (one aggregate query or a few)."""

    key: str
    name: Promise | str
    compute: Callable[[Any, Period], Any]
    figures: tuple[Figure, ...]
    # The figures stand as of now whatever the period (the place tree): a page computes them once for the period
    # and the one before, and shows no change between the two.
    timeless: bool = False

    def figure_key(self, figure: Figure) -> str:
        return f"{self.key}.{figure.key}"


@dataclass(frozen=True)
class KpiDomain:
    key: str
    name: Promise | str
    groups: tuple[FigureGroup, ...]

    def __post_init__(self) -> None:
        for group in self.groups:
            if not group.key.startswith(f"{self.key}."):
                raise ValueError(f"Group {group.key!r} does not belong to domain {self.key!r}")


# ---------------------------------------------------------------- collecting the domains


def declared_by_apps(attribute: str) -> list[Any]:
    """``<attribute>`` of every installed gongzhi app's ``kpis`` module that declares it, in INSTALLED_APPS order
    (the KPI domains here; the roll-up sources in gongzhi.rollups)."""
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("gongzhi.") or config.name == "gongzhi.core":
            continue
        module_name = f"{config.name}.kpis"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as missing:
            if missing.name != module_name:
                raise
            continue
        if hasattr(module, attribute):
            found.append(getattr(module, attribute))
    return found


@cache
def domains() -> tuple[KpiDomain, ...]:
    """Every installed gongzhi app's ``kpis.KPI_DOMAIN``, in INSTALLED_APPS order."""
    found = [domain for domain in declared_by_apps("KPI_DOMAIN") if isinstance(domain, KpiDomain)]
    keys = [group.figure_key(figure) for domain in found for group in domain.groups for figure in group.figures]
    duplicates = {key for key in keys if keys.count(key) > 1}
    if duplicates:
        raise ValueError(f"Figures registered twice: {sorted(duplicates)}")
    return tuple(found)


def figures() -> dict[str, tuple[FigureGroup, Figure]]:
    """Every registered figure by its full key."""
    return {
        group.figure_key(figure): (group, figure)
        for domain in domains()
        for group in domain.groups
        for figure in group.figures
    }


def group(key: str) -> FigureGroup:
    for domain in domains():
        for candidate in domain.groups:
            if candidate.key == key:
                return candidate
    raise KeyError(key)


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class FigureValue:
    key: str
    group: FigureGroup
    figure: Figure
    value: Any

    @property
    def unit(self) -> str:
        return self.figure.unit

    @property
    def is_rate(self) -> bool:
        return self.figure.unit == Unit.RATE

    @property
    def number(self) -> int | Decimal | None:
        """The value as a number (a rate's percent), or None when there is nothing to count by."""
        if isinstance(self.value, Rate):
            return self.value.percent
        if isinstance(self.value, bool):
            return None
        if isinstance(self.value, int | Decimal):
            return self.value
        return None

    @property
    def shown(self) -> str:
        return show(self.value, self.figure)

    def entries(self) -> list[tuple[str, Any]]:
        """A mapping's (label, count) pairs, in the order counted."""
        if not isinstance(self.value, dict):
            return []
        label = self.figure.labels or str
        return [(str(label(key)), count) for key, count in self.value.items()]

    def as_dict(self) -> dict:
        value = self.value
        body: dict[str, Any] = {
            "key": self.key,
            "name": str(self.figure.name),
            "definition": str(self.figure.definition),
            "unit": self.figure.unit,
            "shown": self.shown,
        }
        if isinstance(value, Rate):
            body["value"] = None if value.percent is None else float(value.percent)
            body["rate"] = {
                **value.as_dict(),
                "numerator_counts": str(self.figure.numerator),
                "denominator_counts": str(self.figure.denominator),
            }
        elif isinstance(value, Decimal):
            body["value"] = str(value)
        elif isinstance(value, dict):
            body["value"] = {str(key): count for key, count in value.items()}
        elif isinstance(value, list | tuple):
            body["value"] = list(value)
        else:
            body["value"] = value
        return body


def show(value: Any, figure: Figure) -> str:
    """A value as the cockpit, the workbook and the report print it: "—" for nothing to rate, never 0 %."""
    if value is None:
        return NO_VALUE
    if isinstance(value, Rate):
        percent = value.percent
        return NO_VALUE if percent is None else f"{percent}%"
    if isinstance(value, dict):
        label = figure.labels or str
        return "、".join(f"{label(key)} {count}" for key, count in value.items()) or NO_VALUE
    if isinstance(value, list | tuple):
        return "、".join(str(item) for item in value) or NO_VALUE
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def change(current: FigureValue, previous: FigureValue) -> int | Decimal | None:
    """current − previous for a number (a rate: in percentage points); None when either has no number, or for a
    figure that stands as of now (``FigureGroup.timeless``)."""
    if current.group.timeless:
        return None
    now, before = current.number, previous.number
    if now is None or before is None:
        return None
    return now - before


@dataclass(frozen=True)
class GroupValues:
    group: FigureGroup
    values: tuple[FigureValue, ...]


@dataclass(frozen=True)
class DomainValues:
    domain: KpiDomain
    groups: tuple[GroupValues, ...]


@dataclass(frozen=True)
class Snapshot:
    """Every figure of a place and period, grouped by domain; ``values`` by full key."""

    period: Period
    domains: tuple[DomainValues, ...]
    values: dict[str, FigureValue] = field(default_factory=dict)

    def __getitem__(self, key: str) -> FigureValue:
        return self.values[key]


def compute_group(group: FigureGroup, place: Any, period: Period) -> GroupValues:
    result = group.compute(place, period)
    return GroupValues(
        group=group,
        values=tuple(
            FigureValue(group.figure_key(figure), group, figure, figure.read(result)) for figure in group.figures
        ),
    )


def compute(
    place: Any, period: Period, only: Iterable[str] | None = None, *, besides: Snapshot | None = None
) -> Snapshot:
    """Every registered figure (or the groups whose keys are in ``only``) for the place's subtree and the period.

    ``besides``: a snapshot of the same place for another period, whose timeless groups are taken as they are
    (they do not depend on the period). Pure reads; the caller has checked that the actor may see the place."""
    wanted = None if only is None else set(only)
    reusable = {}
    if besides is not None:
        reusable = {
            group_values.group.key: group_values
            for domain_values in besides.domains
            for group_values in domain_values.groups
            if group_values.group.timeless
        }
    computed = []
    values: dict[str, FigureValue] = {}
    for domain in domains():
        groups = []
        for candidate in domain.groups:
            if wanted is not None and candidate.key not in wanted:
                continue
            group_values = reusable.get(candidate.key) or compute_group(candidate, place, period)
            groups.append(group_values)
            values.update({value.key: value for value in group_values.values})
        if groups:
            computed.append(DomainValues(domain, tuple(groups)))
    return Snapshot(period=period, domains=tuple(computed), values=values)


def figure_value(key: str, place: Any, period: Period) -> FigureValue:
    """One figure, computed by its group's function (the same number as in ``compute``)."""
    found_group, _figure = figures()[key]
    return next(value for value in compute_group(found_group, place, period).values if value.key == key)


def snapshot_of(period: Period, stored: dict[str, Any]) -> Snapshot | None:
    """The snapshot whose values are ``stored`` ({full key: value}, as ``values_of`` gave them), or None when a
    registered group is missing from them (the catalogue changed since)."""
    computed = []
    values: dict[str, FigureValue] = {}
    for domain in domains():
        groups = []
        for candidate in domain.groups:
            keys = [candidate.figure_key(figure) for figure in candidate.figures]
            if not all(key in stored for key in keys):
                return None
            group_values = GroupValues(
                candidate,
                tuple(
                    FigureValue(key, candidate, figure, stored[key])
                    for key, figure in zip(keys, candidate.figures, strict=True)
                ),
            )
            groups.append(group_values)
            values.update({value.key: value for value in group_values.values})
        if groups:
            computed.append(DomainValues(domain, tuple(groups)))
    return Snapshot(period=period, domains=tuple(computed), values=values)


def values_of(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot's values by full key (plain data: numbers, rates, mappings), to keep for ``snapshot_of``."""
    return {key: value.value for key, value in snapshot.values.items()}

