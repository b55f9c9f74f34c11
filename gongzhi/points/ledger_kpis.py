"""The red points ledger figures and the moral bank (shared/kpis.md "Red points", "Moral bank"), read through the
roll-ups (``gongzhi.rollups``) with their raw recounts beside them (the definitions are in ``gongzhi.points.kpis``).

issued, redeemed, outstanding, issued by category and by kind of account, and people served are read from daily
totals kept per place and day plus the entries posted since the last roll-up (``ROLLUP_SOURCES``); participants and
depositor households are distinct counts, read from first-seen roll-ups (``DISTINCT_SOURCES``). ``*_recount`` count
everything from the raw entries; ``gongzhi kpi_check`` compares the two (``ROLLUP_CHECKS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Case, Count, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from gongzhi.core.figures import Figures, Period
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place
from gongzhi.rollups.distinct import DistinctSource, distinct_in_period, distinct_through
from gongzhi.rollups.selectors import place_totals, split_of, totals
from gongzhi.rollups.sources import Measure, Source

from .models import AccountKind, Entry, TransferKind

ADJUSTMENT_CATEGORY = "adjustment"
HOLDER_KINDS = [kind for kind in AccountKind.values if kind != AccountKind.SYSTEM]
PEOPLE_KINDS = (AccountKind.RESIDENT, AccountKind.PARTY_MEMBER)


def _under(place: Place, field: str = "place_path") -> Q:
    return subtree_q(place.path, field)


@dataclass(frozen=True)
class LedgerFigures(Figures):
    issued: int
    redeemed: int
    outstanding: int
    participants: int
    issued_by_category: dict[str, int]
    issued_by_account_kind: dict[str, int]


@dataclass(frozen=True)
class MoralBankFigures(Figures):
    depositor_households: int
    people_served: int


def _holder_entries(place: Place):
    return Entry.objects.filter(_under(place, "account__place_path"), account__kind__in=HOLDER_KINDS)


def ledger_figures_recount(place: Place, period: Period) -> LedgerFigures:
    """The ledger figures counted from the raw entries alone (the reference ``gongzhi kpi_check`` compares with)."""
    in_period = Q(transfer__effective_date__gte=period.first, transfer__effective_date__lte=period.last)
    earned = in_period & Q(counts_as_earned=True)
    captured = in_period & Q(transfer__kind=TransferKind.CAPTURE)
    awarded_to_people = earned & Q(transfer__kind=TransferKind.AWARD, amount__gt=0, account__kind__in=PEOPLE_KINDS)
    totals = _holder_entries(place).aggregate(
        issued=Sum("amount", filter=earned, default=0),
        # A capture moves the order's points out of the holder's held bucket: a negative entry.
        redeemed=Sum("amount", filter=captured, default=0),
        outstanding=Sum("amount", filter=Q(transfer__effective_date__lte=period.last), default=0),
        participants=Count("account__resident_id", filter=awarded_to_people, distinct=True),
    )
    by_category: dict[str, int] = {}
    category = Coalesce(
        F("transfer__claim__item__category__code"), F("transfer__reverses__claim__item__category__code")
    )
    rows = (
        _holder_entries(place)
        .filter(earned)
        .annotate(category_code=category)
        .values("category_code")
        .annotate(points=Sum("amount"))
        .order_by("category_code")
    )
    for row in rows:
        key = row["category_code"] or ADJUSTMENT_CATEGORY
        by_category[key] = by_category.get(key, 0) + int(row["points"])
    by_kind = {kind: 0 for kind in HOLDER_KINDS}
    kind_rows = _holder_entries(place).filter(earned).values("account__kind").annotate(points=Sum("amount")).order_by()
    for row in kind_rows:
        by_kind[row["account__kind"]] = int(row["points"])
    return LedgerFigures(
        issued=int(totals["issued"]),
        redeemed=-int(totals["redeemed"]),
        outstanding=int(totals["outstanding"]),
        participants=totals["participants"],
        issued_by_category=by_category,
        issued_by_account_kind=by_kind,
    )


# ---------------------------------------------------------------- the ledger through the roll-ups

LEDGER = "points.ledger"
SERVED = "points.served"
_EARNED = Q(counts_as_earned=True)
_CATEGORY = Coalesce(
    F("transfer__claim__item__category__code"),
    F("transfer__reverses__claim__item__category__code"),
    Value(ADJUSTMENT_CATEGORY),
)
_ROLLED_LEDGER = (
    "points.ledger.issued",
    "points.ledger.redeemed",
    "points.ledger.by_category",
    "points.ledger.by_kind",
)


def _ledger_days(first: date, last: date) -> Q:
    return Q(transfer__effective_date__gte=first, transfer__effective_date__lte=last)


def _served_days(first: date, last: date) -> Q:
    # An award counts on its own effective day; the reversal of an award takes it back on the award's day.
    award = Q(
        transfer__kind=TransferKind.AWARD, transfer__effective_date__gte=first, transfer__effective_date__lte=last
    )
    taken_back = Q(
        transfer__kind=TransferKind.REVERSAL,
        transfer__reverses__kind=TransferKind.AWARD,
        transfer__reverses__effective_date__gte=first,
        transfer__reverses__effective_date__lte=last,
    )
    return award | taken_back


def _holder_rows():
    return Entry.objects.filter(account__kind__in=HOLDER_KINDS)


ROLLUP_SOURCES = (
    Source(
        LEDGER,
        _holder_rows,
        "account__place_path",
        F("transfer__effective_date"),
        _ledger_days,
        (
            Measure("points.ledger.issued", Sum("amount", filter=_EARNED)),
            # A capture moves the order's points out of the holder's held bucket: a negative entry.
            Measure("points.ledger.redeemed", Sum("amount", filter=Q(transfer__kind=TransferKind.CAPTURE))),
            Measure("points.ledger.net", Sum("amount")),
            Measure("points.ledger.by_category", Sum("amount", filter=_EARNED), split=_CATEGORY),
            Measure("points.ledger.by_kind", Sum("amount", filter=_EARNED), split=F("account__kind")),
        ),
    ),
    Source(
        SERVED,
        _holder_rows,
        "account__place_path",
        Coalesce(F("transfer__reverses__effective_date"), F("transfer__effective_date")),
        _served_days,
        (
            Measure(
                "points.moral_bank.people_served",
                Sum(
                    Case(
                        When(Q(transfer__kind=TransferKind.AWARD, amount__gt=0), then=Value(1)),
                        When(
                            Q(
                                transfer__kind=TransferKind.REVERSAL,
                                transfer__reverses__kind=TransferKind.AWARD,
                                amount__lt=0,
                            ),
                            then=Value(-1),
                        ),
                    )
                ),
            ),
        ),
    ),
)


PARTICIPANTS = "points.participants"
DEPOSITORS = "points.depositor_households"


def _awards_to_people():
    # The entries that make a person a participant: points awarded to a resident's or party member's account.
    return Entry.objects.filter(
        counts_as_earned=True, transfer__kind=TransferKind.AWARD, amount__gt=0, account__kind__in=PEOPLE_KINDS
    )


def _earnings_of_households():
    # A household is a depositor once an account of its people (resident or party member, whose home is the
    # household: ``PointsAccount.place_path``) has earned points.
    return Entry.objects.filter(counts_as_earned=True, amount__gt=0, account__kind__in=PEOPLE_KINDS)


DISTINCT_SOURCES = (
    DistinctSource(
        PARTICIPANTS, _awards_to_people, "account__resident_id", "account__place_path", "transfer__effective_date"
    ),
    DistinctSource(
        DEPOSITORS,
        _earnings_of_households,
        "account__place_path",
        "account__place_path",
        "transfer__effective_date",
        cumulative=True,
    ),
)


def _participants(place: Place, period: Period) -> int:
    return distinct_in_period(PARTICIPANTS, place, period)


def _by_category(values: dict[str, int]) -> dict[str, int]:
    found = split_of(values, "points.ledger.by_category")
    return dict(sorted(found.items(), key=lambda item: (item[0] == ADJUSTMENT_CATEGORY, item[0])))


def _by_kind(values: dict[str, int]) -> dict[str, int]:
    by_kind = {kind: 0 for kind in HOLDER_KINDS}
    by_kind.update(split_of(values, "points.ledger.by_kind"))
    return by_kind


def ledger_figures(place: Place, period: Period) -> LedgerFigures:
    """The ledger figures (the module's definitions): roll-ups plus the entries posted since, participants through
    the first-seen roll-ups. Equal to ``ledger_figures_recount`` at every moment."""
    values = place_totals(LEDGER, place, period.first, period.last, _ROLLED_LEDGER)
    held = place_totals(LEDGER, place, None, period.last, ["points.ledger.net"])
    return LedgerFigures(
        issued=values["points.ledger.issued"],
        redeemed=-values["points.ledger.redeemed"],
        outstanding=held["points.ledger.net"],
        participants=_participants(place, period),
        issued_by_category=_by_category(values),
        issued_by_account_kind=_by_kind(values),
    )


def issued_for_places(places: list[Place], period: Period) -> dict[int, int]:
    """``ledger_figures(place, period).issued`` of each place, in two queries for them all (rankings)."""
    found = totals(LEDGER, places, period.first, period.last, ["points.ledger.issued"])
    return {place.pk: found.get((place.pk, None), {}).get("points.ledger.issued", 0) for place in places}


def issued_by_day(place: Place, first: date, last: date) -> dict[date, int]:
    """Points issued under the place per effective day (trends): the same totals as ``ledger_figures``."""
    found = totals(LEDGER, [place], first, last, ["points.ledger.issued"], by_day=True)
    return {day: value.get("points.ledger.issued", 0) for (_pk, day), value in found.items() if day is not None}


# A household is named by the home of its people's accounts (accounts of people without a household have none).
_HOUSEHOLD_ACCOUNTS = Q(account__kind__in=PEOPLE_KINDS) & ~Q(account__place_path="")


def moral_bank_figures_recount(place: Place, period: Period) -> MoralBankFigures:
    """The moral bank figures counted from the raw entries alone (the reference of ``gongzhi kpi_check``)."""
    earned_by_end = Q(counts_as_earned=True, amount__gt=0, transfer__effective_date__lte=period.last)
    served = Q(
        transfer__kind=TransferKind.AWARD,
        transfer__reversed_by__isnull=True,
        amount__gt=0,
        transfer__effective_date__gte=period.first,
        transfer__effective_date__lte=period.last,
    )
    row = _holder_entries(place).aggregate(
        households=Count("account__place_path", filter=earned_by_end & _HOUSEHOLD_ACCOUNTS, distinct=True),
        served=Count("pk", filter=served),
    )
    return MoralBankFigures(depositor_households=row["households"], people_served=row["served"])


def moral_bank_figures(place: Place, period: Period) -> MoralBankFigures:
    """Depositor households (first-seen roll-ups) and people served (roll-ups), each plus the entries posted since.
    Equal to ``moral_bank_figures_recount`` at every moment."""
    households = distinct_through(DEPOSITORS, place, period.last)
    served = place_totals(SERVED, place, period.first, period.last, ["points.moral_bank.people_served"])
    return MoralBankFigures(depositor_households=households, people_served=served["points.moral_bank.people_served"])


ROLLUP_CHECKS = (
    ("points.ledger", ledger_figures, ledger_figures_recount),
    ("points.moral_bank", moral_bank_figures, moral_bank_figures_recount),
)
