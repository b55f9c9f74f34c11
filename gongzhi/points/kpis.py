"""The red points figures of shared/kpis.md ("Red points"), for any place (its subtree) and any period
(``gongzhi.core.figures.Period``). Each group is one aggregate query (the catalogue two), whatever the amount of
data; the cockpit, the API and the reports read these functions, so a figure is the same number everywhere.

Definitions. "Under the place" means holder accounts (people and organisations, not system accounts) whose home
place (``PointsAccount.place_path``: the household, or the organisation's location) lies in the place's subtree.
Ledger figures count transfers by their effective date, so a back-dated correction lands in the period it corrects.

Catalogue — the items in force for the place on the period's last day: items of the catalogues of the place and
the places above it (district, street, community) and of the communities below it; categories used by them
("x类x项"); the distinct point values of their versions in force ("x分、x分、x分"); catalogue adjustments in the
period's year (items that changed value, changes made: "调整优化积分项目x项x条").

Accounts — holder accounts under the place opened by the period's end, by kind (party cadres, resident
organisations, residents, volunteer teams).

Ledger:
- issued: points earned in the period, net of reversals (the entries that count as earned: awards and positive
  adjustments, minus reversals of them);
- redeemed: points spent at the shop and merchants in the period (completed redemptions);
- outstanding: points held by the accounts at the end of the period (spendable + held for open orders);
- participants: distinct people (residents and party members) who earned points in the period ("x多人参与");
- issued by category (of the claim's point item; manual adjustments under "adjustment") and by kind of account.

Claims — of accounts under the place: submitted in the period; approved / rejected in the period (the decision's
time; a claim approved and later reversed still counts as approved then); reviewed inside their week: approvals and
rejections made within 7 days of the claim's submission ("一周一审核"), over all approvals and rejections in the
period.

Publications — monthly lists of communities under the place for months ending in the period: published, published
on time (by the ``GONGZHI_PUBLICATION_DUE_DAY``-th, default the 5th, of the following month: "一月一公示"),
objections raised in the period, upheld in the period.

Selections — published annual selections of communities under the place for years that end in the period: points
stars and good neighbours selected ("积分之星""社区好邻居"x人).

Roll-ups (``gongzhi.rollups``): issued, redeemed, outstanding, issued by category and by kind, and people served
are read from daily totals kept per place and day plus the entries posted since the last roll-up, so they cost the
same on ten million postings as on a thousand (``ROLLUP_SOURCES`` below). Participants and depositor households are
distinct counts, which daily totals cannot add up: they are counted from the entries each time.
``ledger_figures_recount`` and ``moral_bank_figures_recount`` count everything from the raw entries; ``gongzhi
kpi_check`` compares the two (``ROLLUP_CHECKS``).

Moral bank ("道德银行"): depositor households = households under the place with an account that has earned
points by the period's end; people served = services credited in the period (awarded claims: "一事一记录", each
is one person-time of service; an award later reversed is not counted). Merchants registered are the shop's
figure (``gongzhi.shop.kpis``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from gongzhi.core.figures import Figures, Period, Rate
from gongzhi.core.kpi_catalogue import Figure, FigureGroup, KpiDomain, Unit
from gongzhi.core.tree import path_ids, subtree_q
from gongzhi.places.models import Place
from gongzhi.rollups.selectors import place_totals, split_of, totals
from gongzhi.rollups.sources import Measure, Source

from .models import (
    AccountKind,
    Claim,
    ClaimDecision,
    Entry,
    Objection,
    PointItem,
    PointItemVersion,
    PointsAccount,
    Publication,
    Selection,
    SelectionCandidate,
    TransferKind,
)

REVIEW_WITHIN = timedelta(days=7)
ADJUSTMENT_CATEGORY = "adjustment"
HOLDER_KINDS = [kind for kind in AccountKind.values if kind != AccountKind.SYSTEM]
PEOPLE_KINDS = (AccountKind.RESIDENT, AccountKind.PARTY_MEMBER)


@dataclass(frozen=True)
class CatalogueFigures(Figures):
    categories: int
    items: int
    values_in_use: list[int]
    items_adjusted: int
    adjustments: int


@dataclass(frozen=True)
class AccountFigures(Figures):
    total: int
    by_kind: dict[str, int]


@dataclass(frozen=True)
class LedgerFigures(Figures):
    issued: int
    redeemed: int
    outstanding: int
    participants: int
    issued_by_category: dict[str, int]
    issued_by_account_kind: dict[str, int]


@dataclass(frozen=True)
class ClaimFigures(Figures):
    submitted: int
    approved: int
    rejected: int
    reviewed_in_week: Rate


@dataclass(frozen=True)
class PublicationFigures(Figures):
    months: int
    published: int
    on_time: Rate
    objections_raised: int
    objections_upheld: int


@dataclass(frozen=True)
class SelectionFigures(Figures):
    points_stars: int
    good_neighbours: int


@dataclass(frozen=True)
class MoralBankFigures(Figures):
    depositor_households: int
    people_served: int


def _under(place: Place, field: str = "place_path") -> Q:
    return subtree_q(place.path, field)


def _ancestor_ids(place: Place) -> list[int]:
    return path_ids(place.path)


# ---------------------------------------------------------------- the catalogue


def catalogue_items(place: Place, day: date):
    """The active items in force for the place on ``day``: catalogues of the place, the places above it and the
    communities below it (a district's view counts each community's own items once)."""
    owners = Q(owner_id__in=_ancestor_ids(place)) | _under(place, "owner__path")
    return PointItem.objects.filter(owners, is_active=True, versions__effective_from__lte=day).distinct()


def catalogue_figures(place: Place, period: Period) -> CatalogueFigures:
    items = catalogue_items(place, period.last)
    item_ids = list(items.values_list("pk", flat=True))
    summary = PointItem.objects.filter(pk__in=item_ids).aggregate(
        items=Count("pk"), categories=Count("category_id", distinct=True)
    )
    # The value in force of each item is its latest version by the day; the distinct values across items.
    in_force: dict[int, int] = {}
    versions = PointItemVersion.objects.filter(item_id__in=item_ids, effective_from__lte=period.last)
    for item_id, value in versions.order_by("item_id", "effective_from", "pk").values_list("item_id", "value"):
        in_force[item_id] = value
    year = period.last.year
    # An adjustment is a version taking effect in the year that is not the item's first.
    first_version: dict[int, int] = {}
    all_versions = PointItemVersion.objects.filter(item_id__in=item_ids).order_by("item_id", "effective_from", "pk")
    for item_id, version_id in all_versions.values_list("item_id", "pk"):
        first_version.setdefault(item_id, version_id)
    changes = PointItemVersion.objects.filter(
        item_id__in=item_ids, effective_from__gte=date(year, 1, 1), effective_from__lte=date(year, 12, 31)
    ).exclude(pk__in=list(first_version.values()))
    adjusted = changes.aggregate(items=Count("item_id", distinct=True), changes=Count("pk"))
    return CatalogueFigures(
        categories=summary["categories"],
        items=summary["items"],
        values_in_use=sorted(set(in_force.values())),
        items_adjusted=adjusted["items"],
        adjustments=adjusted["changes"],
    )


# ---------------------------------------------------------------- accounts and the ledger


def account_figures(place: Place, period: Period) -> AccountFigures:
    rows = (
        PointsAccount.objects.filter(_under(place), kind__in=HOLDER_KINDS, created_at__lt=period.end)
        .values("kind")
        .annotate(accounts=Count("pk"))
        .order_by("kind")
    )
    by_kind = {kind: 0 for kind in HOLDER_KINDS}
    for row in rows:
        by_kind[row["kind"]] = row["accounts"]
    return AccountFigures(total=sum(by_kind.values()), by_kind=by_kind)


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


def _participants(place: Place, period: Period) -> int:
    awarded_to_people = Q(
        counts_as_earned=True,
        transfer__kind=TransferKind.AWARD,
        amount__gt=0,
        account__kind__in=PEOPLE_KINDS,
        transfer__effective_date__gte=period.first,
        transfer__effective_date__lte=period.last,
    )
    return (
        _holder_entries(place)
        .filter(awarded_to_people)
        .aggregate(people=Count("account__resident_id", distinct=True))["people"]
    )


def _by_category(values: dict[str, int]) -> dict[str, int]:
    found = split_of(values, "points.ledger.by_category")
    return dict(sorted(found.items(), key=lambda item: (item[0] == ADJUSTMENT_CATEGORY, item[0])))


def _by_kind(values: dict[str, int]) -> dict[str, int]:
    by_kind = {kind: 0 for kind in HOLDER_KINDS}
    by_kind.update(split_of(values, "points.ledger.by_kind"))
    return by_kind


def ledger_figures(place: Place, period: Period) -> LedgerFigures:
    """The ledger figures (the module's definitions): roll-ups plus the entries posted since, participants counted
    from the entries. Equal to ``ledger_figures_recount`` at every moment."""
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


# ---------------------------------------------------------------- claims


def claim_figures(place: Place, period: Period) -> ClaimFigures:
    """Two queries: the claims submitted, and the decisions made in the period (a reversal later does not undo
    the approval's place in its own period)."""
    submitted = Claim.objects.filter(
        _under(place, "account__place_path"), submitted_at__gte=period.start, submitted_at__lt=period.end
    ).count()
    approve, reject = ClaimDecision.Decision.APPROVE, ClaimDecision.Decision.REJECT
    waited = ExpressionWrapper(F("decided_at") - F("claim__submitted_at"), output_field=DurationField())
    row = (
        ClaimDecision.objects.filter(
            _under(place, "claim__account__place_path"),
            decision__in=(approve, reject),
            decided_at__gte=period.start,
            decided_at__lt=period.end,
        )
        .annotate(waited=waited)
        .aggregate(
            approved=Count("pk", filter=Q(decision=approve)),
            rejected=Count("pk", filter=Q(decision=reject)),
            in_week=Count("pk", filter=Q(waited__lte=REVIEW_WITHIN)),
        )
    )
    return ClaimFigures(
        submitted=submitted,
        approved=row["approved"],
        rejected=row["rejected"],
        reviewed_in_week=Rate(row["in_week"], row["approved"] + row["rejected"]),
    )


# ---------------------------------------------------------------- publications, objections, selections


def month_end(month: date) -> date:
    """The last day of the month holding ``month``."""
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def publication_due(month: date) -> date:
    """The last day a month's list is on time: the due day of the following month."""
    following = month_end(month) + timedelta(days=1)
    return following.replace(day=int(getattr(settings, "GONGZHI_PUBLICATION_DUE_DAY", 5)))


def publication_figures(place: Place, period: Period) -> PublicationFigures:
    # The months that end inside the period (a month starting before the period may end in it).
    publications = Publication.objects.filter(
        _under(place, "community__path"),
        month__gte=(period.first.replace(day=1) - timedelta(days=1)).replace(day=1),
        month__lte=period.last,
    )
    months = published = on_time = 0
    for month, published_at in publications.values_list("month", "published_at"):
        if not period.first <= month_end(month) <= period.last:
            continue
        months += 1
        if published_at is None:
            continue
        published += 1
        if _local_date(published_at) <= publication_due(month):
            on_time += 1
    objections = Objection.objects.filter(_under(place, "publication__community__path")).aggregate(
        raised=Count("pk", filter=Q(raised_at__gte=period.start, raised_at__lt=period.end)),
        upheld=Count(
            "pk",
            filter=Q(state=Objection.State.UPHELD, decided_at__gte=period.start, decided_at__lt=period.end),
        ),
    )
    return PublicationFigures(
        months=months,
        published=published,
        on_time=Rate(on_time, published),
        objections_raised=objections["raised"],
        objections_upheld=objections["upheld"],
    )


def _local_date(moment) -> date:
    from django.utils import timezone

    return timezone.localtime(moment).date()


def selection_figures(place: Place, period: Period) -> SelectionFigures:
    years = [year for year in range(period.first.year, period.last.year + 1) if date(year, 12, 31) <= period.last]
    row = SelectionCandidate.objects.filter(
        _under(place, "selection__community__path"),
        selected=True,
        selection__state=Selection.State.PUBLISHED,
        selection__year__in=years,
    ).aggregate(
        stars=Count("pk", filter=Q(selection__kind=Selection.Kind.POINTS_STAR)),
        neighbours=Count("pk", filter=Q(selection__kind=Selection.Kind.GOOD_NEIGHBOUR)),
    )
    return SelectionFigures(points_stars=row["stars"], good_neighbours=row["neighbours"])


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
        households=Count("account__resident__household_id", filter=earned_by_end, distinct=True),
        served=Count("pk", filter=served),
    )
    return MoralBankFigures(depositor_households=row["households"], people_served=row["served"])


def moral_bank_figures(place: Place, period: Period) -> MoralBankFigures:
    """Depositor households (a distinct count, from the entries) and people served (roll-ups plus the entries
    posted since). Equal to ``moral_bank_figures_recount`` at every moment."""
    earned_by_end = Q(counts_as_earned=True, amount__gt=0, transfer__effective_date__lte=period.last)
    households = (
        _holder_entries(place)
        .filter(earned_by_end)
        .aggregate(households=Count("account__resident__household_id", distinct=True))["households"]
    )
    served = place_totals(SERVED, place, period.first, period.last, ["points.moral_bank.people_served"])
    return MoralBankFigures(depositor_households=households, people_served=served["points.moral_bank.people_served"])


ROLLUP_CHECKS = (
    ("points.ledger", ledger_figures, ledger_figures_recount),
    ("points.moral_bank", moral_bank_figures, moral_bank_figures_recount),
)


# ---------------------------------------------------------------- all together


@dataclass(frozen=True)
class PointsKpis:
    place: Place
    period: Period
    catalogue: CatalogueFigures
    accounts: AccountFigures
    ledger: LedgerFigures
    claims: ClaimFigures
    publications: PublicationFigures
    selections: SelectionFigures
    moral_bank: MoralBankFigures

    def as_dict(self) -> dict:
        return {
            "place": {"id": self.place.pk, "name": self.place.name, "kind": self.place.kind},
            "period": self.period.as_dict(),
            **{
                name: getattr(self, name).as_dict()
                for name in ("catalogue", "accounts", "ledger", "claims", "publications", "selections", "moral_bank")
            },
        }


def points_kpis(place: Place, period: Period) -> PointsKpis:
    """Every red points figure for the place and period. The caller checks the actor may see the place."""
    return PointsKpis(
        place=place,
        period=period,
        catalogue=catalogue_figures(place, period),
        accounts=account_figures(place, period),
        ledger=ledger_figures(place, period),
        claims=claim_figures(place, period),
        publications=publication_figures(place, period),
        selections=selection_figures(place, period),
        moral_bank=moral_bank_figures(place, period),
    )


# ---------------------------------------------------------------- the KPI catalogue (gongzhi.core.kpi_catalogue)


def _account_kind_label(kind: str) -> str:
    return str(AccountKind(kind).label)


def _category_label(code: str) -> str:
    return str(_("manual adjustments")) if code == ADJUSTMENT_CATEGORY else code


KPI_DOMAIN = KpiDomain(
    "points",
    _("Red points"),
    groups=(
        FigureGroup(
            "points.catalogue",
            _("Points catalogue"),
            catalogue_figures,
            (
                Figure(
                    "categories",
                    _("Categories in use"),
                    _("Categories of the point items in force for the place on the period's last day."),
                ),
                Figure(
                    "items",
                    _("Point items in force"),
                    _(
                        "Active items of the catalogues of the place, the places above it and the communities below "
                        "it, in force on the period's last day."
                    ),
                ),
                Figure(
                    "values_in_use",
                    _("Point values in use"),
                    _("The distinct point values of those items on the period's last day."),
                    Unit.VALUES,
                ),
                Figure(
                    "items_adjusted",
                    _("Items adjusted this year"),
                    _("Items whose value changed in the year of the period's last day."),
                ),
                Figure(
                    "adjustments",
                    _("Catalogue adjustments this year"),
                    _("Value changes taking effect in the year of the period's last day."),
                ),
            ),
        ),
        FigureGroup(
            "points.accounts",
            _("Points accounts"),
            account_figures,
            (
                Figure("total", _("Points accounts"), _("Holder accounts under the place opened by the period's end.")),
                Figure(
                    "by_kind",
                    _("Points accounts by kind"),
                    _(
                        "Those accounts by kind: residents, party members and cadres, resident organisations, "
                        "volunteer teams."
                    ),
                    Unit.MAPPING,
                    labels=_account_kind_label,
                ),
            ),
        ),
        FigureGroup(
            "points.ledger",
            _("Points ledger"),
            ledger_figures,
            (
                Figure(
                    "issued",
                    _("Points issued"),
                    _("Points earned in the period by accounts under the place, net of reversals, by effective date."),
                    Unit.POINTS,
                ),
                Figure(
                    "redeemed",
                    _("Points redeemed"),
                    _("Points spent at the shop and merchants in the period (completed redemptions)."),
                    Unit.POINTS,
                ),
                Figure(
                    "outstanding",
                    _("Points outstanding"),
                    _(
                        "Points held by the accounts under the place at the end of the period (spendable and held "
                        "for open orders)."
                    ),
                    Unit.POINTS,
                ),
                Figure(
                    "participants",
                    _("People who earned points"),
                    _("Distinct residents and party members under the place who were awarded points in the period."),
                ),
                Figure(
                    "issued_by_category",
                    _("Points issued by category"),
                    _("Points issued in the period by the category of the claim's item; manual adjustments apart."),
                    Unit.MAPPING,
                    labels=_category_label,
                ),
                Figure(
                    "issued_by_account_kind",
                    _("Points issued by kind of account"),
                    _("Points issued in the period by the kind of the account that earned them."),
                    Unit.MAPPING,
                    labels=_account_kind_label,
                ),
            ),
        ),
        FigureGroup(
            "points.claims",
            _("Points claims"),
            claim_figures,
            (
                Figure(
                    "submitted", _("Claims submitted"), _("Claims of accounts under the place submitted in the period.")
                ),
                Figure("approved", _("Claims approved"), _("Claims approved in the period (by the decision's time).")),
                Figure("rejected", _("Claims rejected"), _("Claims rejected in the period (by the decision's time).")),
                Figure(
                    "reviewed_in_week",
                    _("Claims reviewed within a week"),
                    _(
                        "Approvals and rejections made within 7 days of the claim's submission, over all approvals and "
                        "rejections in the period (一周一审核)."
                    ),
                    Unit.RATE,
                    numerator=_("decisions within 7 days of submission"),
                    denominator=_("approvals and rejections in the period"),
                ),
            ),
        ),
        FigureGroup(
            "points.publications",
            _("Monthly publication"),
            publication_figures,
            (
                Figure(
                    "months",
                    _("Community months due"),
                    _("Monthly lists of communities under the place for months ending in the period."),
                ),
                Figure("published", _("Monthly lists published"), _("Of those, the lists published.")),
                Figure(
                    "on_time",
                    _("Lists published on time"),
                    _("Lists published by the due day of the following month, over the lists published (一月一公示)."),
                    Unit.RATE,
                    numerator=_("lists published on time"),
                    denominator=_("lists published"),
                ),
                Figure("objections_raised", _("Objections raised"), _("Objections to the lists raised in the period.")),
                Figure("objections_upheld", _("Objections upheld"), _("Objections upheld in the period.")),
            ),
        ),
        FigureGroup(
            "points.selections",
            _("Annual selections"),
            selection_figures,
            (
                Figure(
                    "points_stars",
                    _("Points stars selected"),
                    _("People selected as points stars in published annual selections of years ending in the period."),
                ),
                Figure(
                    "good_neighbours",
                    _("Good neighbours selected"),
                    _(
                        "People selected as good neighbours in "
                        "published annual selections of years "
                        "ending in the period."
                    ),
                ),
            ),
        ),
        FigureGroup(
            "points.moral_bank",
            _("Moral bank"),
            moral_bank_figures,
            (
                Figure(
                    "depositor_households",
                    _("Depositor households"),
                    _("Households under the place with an account that has earned points by the period's end."),
                ),
                Figure(
                    "people_served",
                    _("Person-times served"),
                    _("Services credited in the period (awarded claims not reversed; one record each)."),
                ),
            ),
        ),
    ),
)
