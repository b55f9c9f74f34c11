"""Demo step: red points for the demo district, made through the services so the ledger is real.

- The district's catalogue from seed 000 ("理论宣讲、平安创建、文明实践、爱心帮扶" … x categories, x items, values
  by difficulty): five categories, items with tiered values 1 / 3 / 5 / 10, a few with evidence, caps or two
  reviewers; one item of the main community's own, and one value adjustment taking effect next month.
- Accounts for residents, party members and resident organisations (every party member and organisation of the
  main community, a sample of its residents; fewer in the other communities), and for the ``resident`` and
  ``partymember`` logins.
- Three months of claims and this month's so far, each submitted a day or two after the service and approved at
  the weekly review (the clock is set to those moments while the services run, so the ledger's dates and the
  monthly rankings look like months of real use). The last two weeks' claims wait for review (some overdue), a
  few are rejected or returned. The month before last and the one before are published and locked; last month is
  published with its objection window open.

Deterministic for a seed (``context.rng("points")``, dates counted back from today) and quick: about 1,000 claims
at full scale, each through ``claim_submit`` and ``claim_approve`` (~13 ms a claim on SQLite).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from unittest import mock

from django.utils import timezone

from gongzhi.core.errors import DomainError
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Organisation, OrganisationKind, Resident
from gongzhi.places.models import Place, PlaceKind

from .figures import DEMO_DISTRICT_CODE

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
MONTHS_BACK = 3


def _district() -> Place | None:
    return Place.objects.filter(kind=PlaceKind.DISTRICT, code=DEMO_DISTRICT_CODE, is_active=True).first()


def is_loaded() -> bool:
    from gongzhi.points.models import PointItem

    district = _district()
    return district is not None and PointItem.objects.filter(owner=district).exists()


@contextmanager
def _clock(moment: datetime) -> Iterator[None]:
    """The services read the time from ``timezone.now``; the demo sets it to the simulated moment."""
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def _review_day(submitted: date) -> date:
    """The committee meets on Fridays: the Friday of the submission's week (the next one after a Friday)."""
    return submitted + timedelta(days=(4 - submitted.weekday()) % 7 or 7)


class _Builder:
    def __init__(self, context):
        self.context = context
        self.rng = context.rng("points")
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.admin = context.account("admin")
        self.reviewer = context.account("reviewer")
        self.secretary = context.account("secretary")
        self.main = context.main_community
        self.counts: dict[str, int] = {}

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    # ------------------------------------------------------------ catalogue

    def catalogue(self, district: Place) -> dict[str, object]:
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
        )
        self.count("point_item", len(items))
        return items

    # ------------------------------------------------------------ accounts

    def accounts(self) -> dict[int, list]:
        """{community id: [(account, login or None)]}"""
        from gongzhi.points.ledger import account_for_organisation, account_for_resident

        scale = self.context.scale
        communities = list(
            Place.objects.filter(
                subtree_q(self.context.district.path), kind=PlaceKind.COMMUNITY, is_active=True
            ).order_by("path")
        )
        result: dict[int, list] = {}
        logins = {
            login.resident_id: login
            for login in (self.context.account("resident"), self.context.account("partymember"))
        }
        for community in communities:
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

    # ------------------------------------------------------------ claims

    def claims(self, accounts: dict[int, list], items: dict[str, object]) -> None:
        from gongzhi.points.models import Claim, ClaimState
        from gongzhi.points.publication import publication_lock, publication_publish
        from gongzhi.points.services import claim_approve, claim_reject, claim_return, claim_submit

        scale_claims = 1.0 if self.context.scale >= 1 else max(0.3, self.context.scale * 4)
        by_kind: dict[str, list] = {}
        for item in items.values():
            for kind in item.account_kinds:
                by_kind.setdefault(kind, []).append(item)
        planned = []  # (submitted moment, service day, account, login, item, community)
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
                    first = _month_start(self.today, back)
                    last = (
                        self.today if back == 0 else first.replace(day=calendar.monthrange(first.year, first.month)[1])
                    )
                    number = int(activity + self.rng.random())
                    for _claim in range(number):
                        day = first + timedelta(days=self.rng.randrange((last - first).days + 1))
                        item = self.rng.choices(pool, weights=[WEIGHTS.get(i.code, 2) for i in pool])[0]
                        if community_id != self.main.pk and item.two_reviewers:
                            continue  # only the main community has two committee members in the demo
                        submitted = min(
                            _at(day + timedelta(days=self.rng.choice((0, 0, 1, 2))), self.rng.randrange(8, 21)),
                            self.now - timedelta(minutes=5),
                        )
                        planned.append((submitted, day, account, login, item, community_id))
        planned.sort(key=lambda row: (row[0], row[2].pk))

        # Months are published on the 3rd of the month after and locked when their objection window is over.
        publish_at = {
            _month_start(self.today, back): _at(_month_start(self.today, back - 1) + timedelta(days=2), 9)
            for back in range(MONTHS_BACK, 0, -1)
        }
        # Last month goes up a day ago, so the demo shows its objection window open.
        last = _month_start(self.today, 1)
        publish_at[last] = max(publish_at[last], self.now - timedelta(days=1))
        published: set[date] = set()
        seen: set[tuple] = set()
        waiting_from = self.today - timedelta(days=13)
        for submitted, day, account, login, item, community_id in planned:
            self._publish_due(submitted, publish_at, published, publication_publish, publication_lock)
            key = (account.pk, item.pk, day)
            if key in seen:
                continue
            seen.add(key)
            main = community_id == self.main.pk
            actor = login or (self.secretary if main else self.admin)
            with _clock(submitted):
                try:
                    claim = claim_submit(
                        actor=actor,
                        account=account,
                        item=item,
                        service_date=day,
                        description=self.rng.choice(("", "", "组织居民参与", "和楼栋长一起", "上午两小时")),
                        idempotency_key=f"demo:{account.pk}:{item.pk}:{day:%Y%m%d}",
                    )
                except DomainError:  # a cap reached: people claim what the rules let them
                    self.count("claim_refused")
                    continue
            self.count("claim")
            if submitted.date() >= waiting_from:
                self.count("claim_waiting")
                continue  # this week's (and last week's overdue) queue
            # Reviewed at the weekly meeting; a month's claims are all reviewed before it is published.
            month_closes = _at(_month_start(day, -1) + timedelta(days=1), 17)
            reviewed = min(_at(_review_day(submitted.date()), 15, self.rng.randrange(60)), month_closes)
            reviewed = min(max(reviewed, submitted + timedelta(hours=1)), self.now)
            first_reviewer = self.reviewer if main else self.admin
            with _clock(reviewed):
                roll = self.rng.random()
                if roll < 0.03:
                    claim_reject(actor=first_reviewer, claim=claim, reason=self.rng.choice(REJECT_REASONS))
                    self.count("claim_rejected")
                    continue
                if roll < 0.10 and claim.service_date >= _month_start(self.today):
                    claim_return(actor=first_reviewer, claim=claim, reason=self.rng.choice(RETURN_REASONS))
                    self.count("claim_returned")
                    continue
                claim_approve(actor=first_reviewer, claim=claim)
                if claim.state == ClaimState.SUBMITTED:  # a two-reviewer item: the secretary is the second
                    claim_approve(actor=self.secretary, claim=claim)
            self.count("claim_approved")
        self._publish_due(self.now, publish_at, published, publication_publish, publication_lock)
        self.count(
            "claim_in_database", Claim.objects.filter(community__path__startswith=self.context.district.path).count()
        )

    def _publish_due(self, moment, publish_at, published, publish, lock) -> None:
        for month, when in sorted(publish_at.items()):
            if month in published or when > moment:
                continue
            published.add(month)
            with _clock(when):
                for community in Place.objects.filter(
                    subtree_q(self.context.district.path), kind=PlaceKind.COMMUNITY, is_active=True
                ):
                    publication = publish(actor=self.admin, community=community, month=month, now=when)
                    self.count("publication")
                    lock_at = when + timedelta(days=7)
                    if lock_at < self.now:
                        lock(actor=self.admin, publication=publication, now=lock_at)

    def objection(self) -> None:
        """One open objection on last month's list, raised by the ``resident`` login."""
        from gongzhi.points.models import Publication
        from gongzhi.points.publication import objection_raise

        publication = Publication.objects.filter(
            community=self.main, month=_month_start(self.today, 1), state=Publication.State.PUBLISHED
        ).first()
        if publication is None or timezone.now() >= publication.objections_until:
            return
        line = publication.lines.order_by("-points").first()
        objection_raise(
            actor=self.context.account("resident"),
            publication=publication,
            text="第一名的积分是否包含了同一天重复的巡逻？请核实。",
            line=line,
        )
        self.count("objection")


def load(context) -> dict[str, int]:
    from gongzhi.points.rankings import rank_buckets_refresh

    builder = _Builder(context)
    district = context.district
    items = builder.catalogue(district)
    accounts = builder.accounts()
    builder.claims(accounts, items)
    builder.objection()
    rank_buckets_refresh(scopes=list(Place.objects.filter(subtree_q(district.path), kind__in=["district", "street"])))
    return builder.counts
