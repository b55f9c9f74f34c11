"""Demo step: red points for the demo district, made through the services so the ledger is real.

- The district's catalogue from seed 000 ("理论宣讲、平安创建、文明实践、爱心帮扶" … x categories, x items, values
  by difficulty): five categories, items with tiered values 1 / 3 / 5 / 10, a few with evidence, caps or two
  reviewers; one item of the main community's own, and one value adjustment taking effect next month.
- Accounts for residents, party members and resident organisations (every party member and organisation of the
  main community, a sample of its residents; fewer in the other communities), and for the ``resident`` and
  ``partymember`` logins.
- Three months of claims and this month's so far, each submitted a day or two after the service and approved at
  the weekly review (the clock is set to those moments while the services run, so the ledger's dates and the
  monthly rankings look like months of real use). Claims of the last two weeks in months not yet published wait
  for review (some overdue), and a few regulars' claims of today always do; a few are rejected or returned.
- A handful of regulars of the main community (the two resident logins among them) serve every Saturday and are
  always approved, so on any day several accounts have the points for the shop's offers.
- Months are published on the 3rd of the month after and locked a week later; last month is published a day ago
  (from the 3rd on), with its objection window open and an objection by the ``resident`` login.

``top_up`` brings a database loaded on an earlier day current: the claims since the newest one (at most three
months), the old queue reviewed, the months since published and locked, a fresh objection.

Deterministic for a seed and a day (``context.rng``, dates counted back from ``context.now``) and quick: about
1,000 claims at full scale, each through ``claim_submit`` and ``claim_approve`` (~13 ms a claim on SQLite).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy

from gongzhi.core.errors import DomainError
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Organisation, OrganisationKind, Resident
from gongzhi.places.models import Place, PlaceKind

from .figures import DEMO_DISTRICT_CODE

TITLE = gettext_lazy("Red points: catalogue, claims, reviews and monthly lists")

# (code, name)
CATEGORIES = (
    ("theory", "理论宣讲"),
    ("safety", "平安创建"),
    ("civility", "文明实践"),
    ("caring", "爱心帮扶"),
    ("cobuilding", "共驻共建"),
)
PEOPLE = ["resident", "party_member"]
EVERYONE = ["resident", "party_member", "organisation", "volunteer_team"]
# (category, code, name, value, who, options)
ITEMS = (
    ("theory", "policy-talk", "政策宣讲进楼栋", 3, PEOPLE, {}),
    ("theory", "party-lecture", "主讲微党课", 5, ["party_member"], {"cap_per_month": 2}),
    ("theory", "study-session", "参加理论学习", 1, PEOPLE, {"cap_per_day": 1}),
    ("safety", "night-patrol", "平安巡逻", 3, PEOPLE, {"cap_per_day": 1}),
    ("safety", "hazard-report", "排查上报安全隐患", 5, PEOPLE, {"evidence_required": True}),
    ("safety", "dispute-help", "协助调解邻里纠纷", 10, PEOPLE, {"two_reviewers": True}),
    ("civility", "clean-up", "楼道环境整治", 3, PEOPLE, {}),
    ("civility", "garbage-sorting", "垃圾分类督导", 1, PEOPLE, {"cap_per_day": 1}),
    ("civility", "civility-guide", "文明劝导", 3, PEOPLE, {}),
    ("caring", "elder-visit", "探访独居老人", 3, PEOPLE, {}),
    ("caring", "wish-fulfil", "认领微心愿", 5, EVERYONE, {}),
    ("caring", "blood-donation", "无偿献血", 10, PEOPLE, {"two_reviewers": True, "cap_per_month": 1}),
    ("cobuilding", "home-service", "积分周回家日报到服务", 5, ["party_member"], {}),
    ("cobuilding", "resource-share", "开放场地资源共享", 5, ["organisation"], {}),
    ("cobuilding", "micro-project", "领办民生微实事", 10, ["organisation", "volunteer_team"], {"two_reviewers": True}),
    ("cobuilding", "joint-meeting", "参加联席会议", 3, ["organisation"], {}),
)
# How likely each item is picked for a claim (the everyday ones more often).
WEIGHTS = {"policy-talk": 5, "clean-up": 8, "garbage-sorting": 8, "night-patrol": 6, "elder-visit": 6}
RETURN_REASONS = ("请补充服务照片", "请写明服务时间和地点", "请补充服务对象")
REJECT_REASONS = ("同一服务已申报", "不属于积分项目范围", "经核实未参加该活动")
LATE_REASON = "当月积分已公示，请在本月重新申报"
DISMISS_REASON = "经核实，两次巡逻分属不同时段，积分无误。"
OBJECTION_TEXT = "第一名的积分是否包含了同一天重复的巡逻？请核实。"
MONTHS_BACK = 3
# The regulars: people of the main community who serve every Saturday on items without caps, always approved, so
# that several accounts can always afford the shop's offers (about 50 points after three months). Their claims of
# today wait.
REGULARS = 6
REGULAR_DAY = 5
REGULAR_ITEMS = ("wish-fulfil", "elder-visit")
TODAY_ITEM = "civility-guide"
TODAY_CLAIMS = 3
WAITING_DAYS = 13  # claims submitted since then wait for the weekly review (last week's are overdue)
LOCK_AFTER = timedelta(days=7)


def _district() -> Place | None:
    return Place.objects.filter(kind=PlaceKind.DISTRICT, code=DEMO_DISTRICT_CODE, is_active=True).first()


def is_loaded() -> bool:
    from gongzhi.points.models import PointItem

    district = _district()
    return district is not None and PointItem.objects.filter(owner=district).exists()


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _month_last(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _review_day(submitted: date) -> date:
    """The committee meets on Fridays: the Friday of the submission's week (the next one after a Friday)."""
    return submitted + timedelta(days=(4 - submitted.weekday()) % 7 or 7)


@dataclass(frozen=True)
class _Planned:
    submitted: datetime
    day: date
    account: Any
    login: Any
    item: Any
    community_id: int
    sure: bool = False  # a regular's: always approved


class _Builder:
    def __init__(self, context, stream: str):
        self.context = context
        self.rng = context.rng(stream)
        self.now: datetime = context.now
        self.today: date = context.today
        self.admin = context.account("admin")
        self.reviewer = context.account("reviewer")
        self.secretary = context.account("secretary")
        self.main = context.main_community
        self.not_before: datetime | None = None  # an earlier load's newest claim: nothing is dated before it
        self.counts: dict[str, int] = {}

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def communities(self) -> list[Place]:
        return list(
            Place.objects.filter(
                subtree_q(self.context.district.path), kind=PlaceKind.COMMUNITY, is_active=True
            ).order_by("path")
        )

    def logins(self) -> dict[int, Any]:
        return {
            login.resident_id: login
            for login in (self.context.account("resident"), self.context.account("partymember"))
        }

    # ------------------------------------------------------------ catalogue

    def catalogue(self, district: Place) -> dict[str, Any]:
        from gongzhi.points.models import PointCategory
        from gongzhi.points.services import category_create, item_create, item_value_change

        categories = {}
        for order, (code, name) in enumerate(CATEGORIES, start=1):
            existing = PointCategory.objects.filter(code=code).first()
            categories[code] = existing or category_create(actor=self.admin, code=code, name=name, sort_order=order)
        since = date(self.today.year - 1, 1, 1)
        items = {}
        for category, code, name, value, who, options in ITEMS:
            items[code] = item_create(
                actor=self.admin,
                owner=district,
                category=categories[category],
                code=code,
                name=name,
                value=value,
                effective_from=since,
                account_kinds=who,
                **options,
            )
        own = item_create(
            actor=self.secretary,
            owner=self.main,
            category=categories["civility"],
            code="courtyard-garden",
            name="卓越小区共享菜园值守",
            value=1,
            effective_from=since,
            account_kinds=PEOPLE,
            cap_per_day=1,
        )
        items[own.code] = own
        item_value_change(
            actor=self.admin,
            item=items["elder-visit"],
            value=5,
            effective_from=_month_start(self.today, -1),
            reason="月度调整：独居老人探访纳入重点任务",
            now=self.now,
        )
        self.count("point_item", len(items))
        return items

    def existing_items(self, district: Place) -> dict[str, Any]:
        from gongzhi.points.models import PointItem

        return {item.code: item for item in PointItem.objects.filter(owner__in=[district, self.main]).order_by("pk")}

    # ------------------------------------------------------------ accounts

    def accounts(self) -> dict[int, list]:
        """{community id: [(account, login or None)]}, made now."""
        from gongzhi.points.ledger import account_for_organisation, account_for_resident

        scale = self.context.scale
        result: dict[int, list] = {}
        logins = self.logins()
        for community in self.communities():
            main = community.pk == self.main.pk
            residents = list(
                Resident.objects.filter(subtree_q(community.path, "household__path"), is_active=True)
                .select_related("household", "party_membership")
                .order_by("pk")
            )
            members = [r for r in residents if getattr(r, "party_membership", None) and r.party_membership.is_active]
            others = [r for r in residents if r not in members]
            member_share = 1.0 if main else 0.4
            resident_count = max(6, round((200 if main else 30) * scale))
            chosen_members = [r for r in members if r.pk in logins or self.rng.random() < member_share]
            chosen_members = chosen_members[: max(6, round((120 if main else 20) * scale))]
            chosen_others = self.rng.sample(others, min(len(others), resident_count))
            chosen_others += [r for r in others if r.pk in logins and r not in chosen_others]
            entries = []
            for resident in chosen_members:
                entries.append((account_for_resident(resident, kind="party_member"), logins.get(resident.pk)))
            for resident in chosen_others:
                entries.append((account_for_resident(resident, kind="resident"), logins.get(resident.pk)))
            organisations = Organisation.objects.filter(subtree_q(community.path, "place__path"), is_active=True)
            for organisation in organisations.exclude(kind=OrganisationKind.MERCHANT).select_related("place"):
                entries.append((account_for_organisation(organisation), None))
            result[community.pk] = entries
            self.count("points_account", len(entries))
        return result

    def existing_accounts(self) -> dict[int, list]:
        """{community id: [(account, login or None)]}: the accounts the demo made before."""
        from gongzhi.points.models import PointsAccount

        logins = self.logins()
        result: dict[int, list] = {}
        for community in self.communities():
            accounts = PointsAccount.objects.filter(community=community, is_active=True).exclude(kind="system")
            result[community.pk] = [(account, logins.get(account.resident_id)) for account in accounts.order_by("pk")]
        return result

    def regulars(self, accounts: dict[int, list]) -> list[tuple[Any, Any]]:
        """The logins' accounts first, then the main community's first people by account number."""
        people = [(account, login) for account, login in accounts.get(self.main.pk, []) if account.kind in PEOPLE]
        people.sort(key=lambda entry: (entry[1] is None, entry[0].pk))
        return people[:REGULARS]

    # ------------------------------------------------------------ planning claims

    def plan(self, accounts: dict[int, list], items: dict[str, Any], *, first_day: date) -> list[_Planned]:
        """Claims with service days from ``first_day`` to today, submitted before now, oldest first."""
        scale_claims = 1.0 if self.context.scale >= 1 else max(0.3, self.context.scale * 4)
        by_kind: dict[str, list] = {}
        for item in items.values():
            for kind in item.account_kinds:
                by_kind.setdefault(kind, []).append(item)
        latest = self.now - timedelta(minutes=5)
        planned: list[_Planned] = []
        for community_id, entries in accounts.items():
            community_items = {
                kind: [item for item in pool if item.owner_id != self.main.pk or community_id == self.main.pk]
                for kind, pool in by_kind.items()
            }
            for account, login in entries:
                pool = community_items.get(account.kind, [])
                if not pool:
                    continue
                activity = self.rng.choice((0.1, 0.3, 0.6, 1.1)) * scale_claims  # some people do much more
                if login is not None:
                    activity = max(activity, 2.0)
                for back in range(MONTHS_BACK, -1, -1):
                    month = _month_start(self.today, back)
                    first = max(month, first_day)
                    last = self.today if back == 0 else _month_last(month)
                    if last < first:
                        continue
                    share = ((last - first).days + 1) / ((_month_last(month) - month).days + 1)
                    for _claim in range(int(activity * share + self.rng.random())):
                        day = first + timedelta(days=self.rng.randrange((last - first).days + 1))
                        item = self.rng.choices(pool, weights=[WEIGHTS.get(i.code, 2) for i in pool])[0]
                        if community_id != self.main.pk and item.two_reviewers:
                            continue  # only the main community has two committee members in the demo
                        submitted = _at(day + timedelta(days=self.rng.choice((0, 0, 1, 2))), self.rng.randrange(8, 21))
                        submitted = max(min(submitted, latest), _at(day, 0))
                        planned.append(_Planned(submitted, day, account, login, item, community_id))
        planned += self.plan_regulars(accounts, items, first_day=first_day)
        planned.sort(key=lambda row: (row.submitted, row.account.pk, row.item.pk))
        return planned

    def plan_regulars(self, accounts: dict[int, list], items: dict[str, Any], *, first_day: date) -> list[_Planned]:
        latest = self.now - timedelta(minutes=5)
        regulars = self.regulars(accounts)
        planned = []
        first_day = max(first_day, _month_start(self.today, MONTHS_BACK))
        for number, (account, login) in enumerate(regulars):
            day = first_day
            while day <= self.today:
                if day.weekday() == REGULAR_DAY:
                    code = REGULAR_ITEMS[(day.toordinal() // 7 + number) % len(REGULAR_ITEMS)]
                    submitted = _at(day, 20, self.rng.randrange(60))  # the same evening
                    submitted = max(min(submitted, latest), _at(day, 0))
                    planned.append(_Planned(submitted, day, account, login, items[code], self.main.pk, sure=True))
                day += timedelta(days=1)
        # Today's claims: the queue always has something new.
        midnight = _at(self.today, 0)
        for number, (account, login) in enumerate(regulars[:TODAY_CLAIMS]):
            submitted = max(midnight, self.now - timedelta(minutes=7 * (number + 1)))
            planned.append(_Planned(submitted, self.today, account, login, items[TODAY_ITEM], self.main.pk, sure=True))
        return planned

    # ------------------------------------------------------------ publications

    def publication_times(self, first_day: date) -> dict[date, datetime]:
        """When each month from ``first_day``'s (or the one before) to last month is published, if by now: on the
        3rd of the month after, and last month a day ago (from the 3rd on), so its objection window is open."""
        times = {}
        month = max(_month_start(first_day, 1), _month_start(self.today, MONTHS_BACK))
        last = _month_start(self.today, 1)
        while month <= last:
            following = _month_start(month, -1)
            when = _at(following + timedelta(days=2), 9)
            if month == last:
                when = max(when, self.now - timedelta(days=1))
            if when <= self.now:
                times[month] = when
            month = following
        return times

    def publish_due(self, moment: datetime, times: dict[date, datetime], done: set[date]) -> None:
        from gongzhi.points.publication import publication_publish

        for month, when in sorted(times.items()):
            if month in done or when > moment:
                continue
            done.add(month)
            for community in self.communities():
                with self.context.clock(when):
                    try:
                        publication_publish(actor=self.admin, community=community, month=month, now=when)
                    except DomainError:  # published before (an earlier load, or the monthly job)
                        continue
                self.count("publication")

    def settle_publications(self) -> None:
        """Published months whose objection window is over: open objections answered, then locked a week after."""
        from gongzhi.points.models import Objection, Publication
        from gongzhi.points.publication import objection_dismiss, publication_lock

        published = Publication.objects.filter(
            community__path__startswith=self.context.district.path,
            state=Publication.State.PUBLISHED,
            objections_until__lte=self.now,
        ).order_by("month", "pk")
        for publication in published:
            for objection in publication.objections.filter(state=Objection.State.OPEN).order_by("pk"):
                when = min(publication.objections_until + timedelta(hours=1), self.now)
                with self.context.clock(when):
                    objection_dismiss(actor=self.admin, objection=objection, reason=DISMISS_REASON, now=when)
                self.count("objection_dismissed")
            lock_at = max(publication.published_at + LOCK_AFTER, publication.objections_until)
            if lock_at <= self.now:
                with self.context.clock(lock_at):
                    publication_lock(actor=self.admin, publication=publication, now=lock_at)
                self.count("publication_locked")

    # ------------------------------------------------------------ submitting and reviewing

    def history(
        self, accounts: dict[int, list], items: dict[str, Any], *, first_day: date, waiting: list | None = None
    ) -> None:
        """Submit the planned claims in time order with the months published between them; review each at its
        Friday meeting unless it still waits. ``waiting``: claims left in the queue by an earlier load."""
        from gongzhi.points.services import claim_submit

        planned = self.plan(accounts, items, first_day=first_day)
        times = self.publication_times(first_day)
        done: set[date] = set()
        for claim in waiting or ():
            self.review_old(claim, times)
        seen: set[tuple] = set()
        for row in planned:
            self.publish_due(row.submitted, times, done)
            key = (row.account.pk, row.item.pk, row.day)
            if key in seen:
                continue
            seen.add(key)
            main = row.community_id == self.main.pk
            actor = row.login or (self.secretary if main else self.admin)
            try:
                claim = claim_submit(
                    actor=actor,
                    account=row.account,
                    item=row.item,
                    service_date=row.day,
                    description=self.rng.choice(("", "", "组织居民参与", "和楼栋长一起", "上午两小时")),
                    idempotency_key=f"demo:{row.account.pk}:{row.item.pk}:{row.day:%Y%m%d}",
                    now=row.submitted,
                )
            except DomainError:  # a cap reached: people claim what the rules let them
                self.count("claim_refused")
                continue
            self.count("claim")
            if self.waits(row.submitted, row.day, times):
                self.count("claim_waiting")
                continue
            self.review(claim, times, sure=row.sure, main=main)
        self.publish_due(self.now, times, done)

    def waits(self, submitted: datetime, day: date, times: dict[date, datetime]) -> bool:
        """Claims of the last two weeks wait, unless their month is published by now (reviewed before that)."""
        return submitted >= self.now - timedelta(days=WAITING_DAYS) and _month_start(day) not in times

    def review_moment(self, submitted: datetime, day: date, times: dict[date, datetime]) -> datetime:
        """The Friday meeting after the submission; a month's claims are all reviewed before it is published."""
        reviewed = _at(_review_day(timezone.localdate(submitted)), 15, self.rng.randrange(60))
        month_closes = _at(_month_start(day, -1) + timedelta(days=1), 17)
        reviewed = max(min(reviewed, month_closes), submitted + timedelta(hours=1))
        if self.not_before is not None:
            reviewed = max(reviewed, self.not_before + timedelta(minutes=1))
        reviewed = min(reviewed, self.now)
        published = times.get(_month_start(day))
        return min(reviewed, published - timedelta(minutes=1)) if published else reviewed

    def review(self, claim, times: dict[date, datetime], *, sure: bool, main: bool) -> None:
        from gongzhi.points.models import ClaimState
        from gongzhi.points.services import claim_approve, claim_reject, claim_return

        if claim.state != ClaimState.SUBMITTED:  # made by an earlier load with the same key
            return
        reviewed = self.review_moment(claim.submitted_at, claim.service_date, times)
        first_reviewer = self.reviewer if main else self.admin
        roll = 1.0 if sure else self.rng.random()
        if roll < 0.03:
            claim_reject(actor=first_reviewer, claim=claim, reason=self.rng.choice(REJECT_REASONS), now=reviewed)
            self.count("claim_rejected")
            return
        if roll < 0.10 and claim.service_date >= _month_start(self.today):
            claim_return(actor=first_reviewer, claim=claim, reason=self.rng.choice(RETURN_REASONS), now=reviewed)
            self.count("claim_returned")
            return
        claim_approve(actor=first_reviewer, claim=claim, now=reviewed)
        if claim.state == ClaimState.SUBMITTED:  # a two-reviewer item: the secretary is the second
            claim_approve(actor=self.secretary, claim=claim, now=reviewed)
        self.count("claim_approved")

    def review_old(self, claim, times: dict[date, datetime]) -> None:
        """A claim an earlier load left waiting: reviewed at its meeting now that it is due (or refused, if its
        month was published meanwhile)."""
        from gongzhi.points.services import claim_reject

        if self.waits(claim.submitted_at, claim.service_date, times):
            return
        main = claim.community_id == self.main.pk
        try:
            self.review(claim, times, sure=False, main=main)
        except DomainError:  # its month is published: the committee asks for it again in an open month
            try:
                claim_reject(actor=self.reviewer if main else self.admin, claim=claim, reason=LATE_REASON, now=self.now)
            except DomainError:
                return
            self.count("claim_rejected")

    # ------------------------------------------------------------ objections

    def objection(self) -> None:
        """One open objection on last month's list, raised by the ``resident`` login while its window is open."""
        from gongzhi.points.models import Publication
        from gongzhi.points.publication import objection_raise

        resident = self.context.account("resident")
        publication = Publication.objects.filter(
            community=self.main, month=_month_start(self.today, 1), state=Publication.State.PUBLISHED
        ).first()
        if publication is None or self.now >= publication.objections_until:
            return
        if publication.objections.filter(raised_by=resident).exists():
            return
        line = publication.lines.order_by("-points").first()
        objection_raise(actor=resident, publication=publication, text=OBJECTION_TEXT, line=line, now=self.now)
        self.count("objection")

    def refresh_rankings(self) -> None:
        from gongzhi.points.rankings import rank_buckets_refresh

        district = self.context.district
        scopes = list(Place.objects.filter(subtree_q(district.path), kind__in=["district", "street"]))
        rank_buckets_refresh(scopes=scopes, now=self.now)


def load(context) -> dict[str, int]:
    from gongzhi.points.models import Claim

    builder = _Builder(context, "points")
    district = context.district
    items = builder.catalogue(district)
    accounts = builder.accounts()
    builder.history(accounts, items, first_day=_month_start(context.today, MONTHS_BACK))
    builder.settle_publications()
    builder.objection()
    builder.refresh_rankings()
    builder.count("claim_in_database", Claim.objects.filter(community__path__startswith=district.path).count())
    return builder.counts


def top_up(context, now: datetime) -> dict[str, int]:
    """Bring a points demo loaded on an earlier day current at ``now``: the claims since the newest (at most
    ``MONTHS_BACK`` months), the old queue reviewed, months published and locked; nothing if it has today's."""
    from gongzhi.points.models import Claim, ClaimState

    district = context.district
    claims = Claim.objects.filter(community__path__startswith=district.path)
    newest = claims.aggregate(newest=Max("submitted_at"))["newest"]
    if newest is not None and timezone.localdate(newest) >= context.today:
        return {}
    builder = _Builder(context, f"points:{context.today:%Y-%m-%d}")
    builder.not_before = newest
    first_day = _month_start(context.today, MONTHS_BACK)
    if newest is not None:
        first_day = max(first_day, timezone.localdate(newest) + timedelta(days=1))
    waiting = list(
        claims.filter(state=ClaimState.SUBMITTED).select_related("item", "community").order_by("submitted_at", "pk")
    )
    builder.history(builder.existing_accounts(), builder.existing_items(district), first_day=first_day, waiting=waiting)
    builder.settle_publications()
    builder.objection()
    builder.refresh_rankings()
    return builder.counts
