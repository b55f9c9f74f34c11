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

Roll-ups: the ledger and moral bank figures live in ``gongzhi.points.ledger_kpis`` (read through the roll-ups, with
their raw recounts beside them), the claims figures in ``gongzhi.points.claim_kpis``; this module holds the rest
and the catalogue of them all (``KPI_DOMAIN``), and gathers their ``ROLLUP_SOURCES`` and ``ROLLUP_CHECKS``.

Moral bank ("道德银行"): depositor households = households under the place with an account of their people
(resident or party member; the account's home ``place_path`` names the household) that has earned points by the
period's end; people served = services credited in the period (awarded claims: "一事一记录", each is one
person-time of service; an award later reversed is not counted). Merchants registered are the shop's figure
(``gongzhi.shop.kpis``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from gongzhi.core.figures import Figures, Period, Rate
from gongzhi.core.kpi_catalogue import Figure, FigureGroup, KpiDomain, Unit
from gongzhi.core.tree import path_ids, subtree_q
from gongzhi.places.models import Place

from . import claim_kpis, ledger_kpis
from .claim_kpis import REVIEW_WITHIN, ClaimFigures, claim_figures
from .ledger_kpis import (
    ADJUSTMENT_CATEGORY,
    HOLDER_KINDS,
    PEOPLE_KINDS,
    LedgerFigures,
    MoralBankFigures,
    issued_by_day,
    issued_for_places,
    ledger_figures,
    ledger_figures_recount,
    moral_bank_figures,
    moral_bank_figures_recount,
)
from .models import (
    AccountKind,
    Objection,
    PointItem,
    PointItemVersion,
    PointsAccount,
    Publication,
    Selection,
    SelectionCandidate,
)

# Every figure function of the domain, importable from here (the cockpit, the reports and the tests do).
__all__ = [
    "ADJUSTMENT_CATEGORY",
    "HOLDER_KINDS",
    "PEOPLE_KINDS",
    "REVIEW_WITHIN",
    "ClaimFigures",
    "LedgerFigures",
    "MoralBankFigures",
    "claim_figures",
    "issued_by_day",
    "issued_for_places",
    "ledger_figures",
    "ledger_figures_recount",
    "moral_bank_figures",
    "moral_bank_figures_recount",
]

ROLLUP_SOURCES = ledger_kpis.ROLLUP_SOURCES + claim_kpis.ROLLUP_SOURCES
ROLLUP_CHECKS = ledger_kpis.ROLLUP_CHECKS + claim_kpis.ROLLUP_CHECKS
DISTINCT_SOURCES = ledger_kpis.DISTINCT_SOURCES


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
