"""Demo step: resident requests (民呼我应) for the demo district, made through the services so trails, deadlines,
notifications and the audit log are real.

- Request categories with their first level and deadline policies (working hours at the grid, working days above),
  and the working calendar with this year's public holidays and make-up working days (调休上班).
- A few hundred requests over the last ten weeks across the ladder: raised by the ``resident`` login, recorded by
  the ``buildinghead`` and ``gridworker`` on visits, entered from the hotline by the ``street`` and ``district``
  logins. Each one lives its life on a simulated clock (accepted, started, passed up, resolved, rated, reopened,
  rejected, withdrawn, merged), and the deadline job runs every two working hours in between, so requests that
  waited too long are marked overdue and passed up exactly as in production.
- Household visits by the building head (weekly) and the grid worker, some opinions becoming requests; a few
  disputes with mediation sessions.

Deterministic for a seed (``context.rng("cases")``, dates counted back from today) and quick.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from gongzhi.core.errors import DomainError
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Organisation, OrganisationKind, Resident
from gongzhi.places.models import Place, PlaceKind

# (code, name, first level, hotline names, description)
CATEGORIES = (
    ("streetlight", "路灯照明", "grid", "路灯,照明,路灯损坏", "路灯不亮、闪烁、灯杆损坏"),
    ("sanitation", "环境卫生", "grid", "垃圾,卫生,环境", "垃圾清运、楼道杂物、卫生死角"),
    ("neighbour", "邻里关系", "grid", "邻里,纠纷", "邻里之间的矛盾和小事"),
    ("noise", "噪音扰民", "community", "噪音,扰民", "施工、广场舞、商铺噪音"),
    ("property", "物业服务", "community", "物业,电梯,门禁", "电梯、门禁、物业收费和服务"),
    ("parking", "停车管理", "community", "停车,车位", "乱停车、车位、充电桩"),
    ("illegal-building", "违章搭建", "street", "违建,搭建", "私搭乱建、占用公共空间"),
    ("roads", "道路设施", "district_department", "道路,井盖,路面", "路面破损、井盖缺失"),
    ("utilities", "供水供暖", "district_department", "供水,供暖,停水", "停水、水压低、暖气不热"),
)
# (level, unit, accept within, resolve within): the level's defaults.
POLICIES = (
    ("grid", "working_hours", 4, 24),
    ("community", "working_days", 1, 3),
    ("street", "working_days", 1, 5),
    ("district_department", "working_days", 1, 7),
    ("city", "working_days", 2, 10),
)
# Category-specific policies: (category, level, unit, accept, resolve).
CATEGORY_POLICIES = (("streetlight", "grid", "working_hours", 2, 16), ("noise", "community", "working_hours", 2, 8))

# The State Council's holiday schedule (节假日安排): (holidays as (first, last, name)), make-up working days.
HOLIDAYS: dict[int, tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]]] = {
    2025: (
        (
            ("2025-01-01", "2025-01-01", "元旦"),
            ("2025-01-28", "2025-02-04", "春节"),
            ("2025-04-04", "2025-04-06", "清明节"),
            ("2025-05-01", "2025-05-05", "劳动节"),
            ("2025-05-31", "2025-06-02", "端午节"),
            ("2025-10-01", "2025-10-08", "国庆节、中秋节"),
        ),
        ("2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"),
    ),
    2026: (
        (
            ("2026-01-01", "2026-01-03", "元旦"),
            ("2026-02-15", "2026-02-23", "春节"),
            ("2026-04-04", "2026-04-06", "清明节"),
            ("2026-05-01", "2026-05-05", "劳动节"),
            ("2026-06-19", "2026-06-21", "端午节"),
            ("2026-09-25", "2026-09-27", "中秋节"),
            ("2026-10-01", "2026-10-07", "国庆节"),
        ),
        ("2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"),
    ),
}

TEXTS = {
    "streetlight": ("路灯晚上不亮，走路看不清", "路灯一直闪，影响休息", "小区东门路灯坏了好几天"),
    "sanitation": ("垃圾桶满了没人清运", "楼道里堆放杂物，有安全隐患", "绿化带里有建筑垃圾"),
    "neighbour": ("楼上漏水到我家，协商不成", "邻居在楼道养狗，气味很大", "楼上晚上经常拖动家具"),
    "noise": ("晚上广场舞音响太大", "附近工地夜间施工", "楼下商铺音响声音太大"),
    "property": ("电梯经常停运", "单元门禁坏了", "物业维修不及时"),
    "parking": ("消防通道被车堵住", "充电桩不够用", "外来车辆长期占用车位"),
    "illegal-building": ("一楼住户私自扩建院子", "楼顶有人搭建彩钢房", "公共绿地被圈占"),
    "roads": ("小区门口路面塌陷", "井盖缺失有危险", "人行道砖松动"),
    "utilities": ("水压太低，高层用不上水", "暖气不热", "停水没有提前通知"),
}
SPOTS = ("3号楼与5号楼之间", "东门口", "南侧停车场", "中心花园", "西门岗亭旁", "北侧围墙边")
RESOLUTIONS = ("已联系维修人员处理完毕", "已现场协调，问题解决", "已督促物业整改到位", "已安排清运并加强巡查")
ESCALATE_REASONS = ("超出网格处置权限", "需要社区协调多方", "涉及执法，需街道处理", "需要职能部门处置")
REJECT_REASONS = ("属于民事纠纷，已告知通过法律途径解决", "不属于本社区管辖范围")
TICK = timedelta(hours=2)


def _fixed_date_holidays(year: int) -> tuple[tuple[str, str, str], ...]:
    """The statutory holidays that fall on the same solar dates every year (元旦, 劳动节, 国庆节)."""
    return (
        (f"{year}-01-01", f"{year}-01-01", "元旦"),
        (f"{year}-05-01", f"{year}-05-05", "劳动节"),
        (f"{year}-10-01", f"{year}-10-07", "国庆节"),
    )
WEEKS = 10


def is_loaded() -> bool:
    from gongzhi.cases.models import Case, CaseCategory

    return CaseCategory.objects.filter(code="streetlight").exists() and Case.objects.exists()


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


class _Builder:
    def __init__(self, context):
        from gongzhi.cases.worktime import WorkCalendar

        self.context = context
        self.rng = context.rng("cases")
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.logins = {
            name: context.account(name)
            for name in (
                "admin",
                "district",
                "street",
                "secretary",
                "gridworker",
                "buildinghead",
                "resident",
                "partymember",
            )
        }
        self.main = context.main_community
        self.counts: dict[str, int] = {}
        self.queue: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self.serial = itertools.count()
        self.calendar = WorkCalendar

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def at(self, moment: datetime, action: Callable[[datetime], None]) -> None:
        if moment < self.now - timedelta(minutes=1):
            heapq.heappush(self.queue, (moment, next(self.serial), action))

    # ------------------------------------------------------------ configuration

    def configure(self) -> dict:
        from gongzhi.cases.models import CalendarDay, CaseCategory, DeadlinePolicy

        categories = {}
        for order, (code, name, level, hotline_names, description) in enumerate(CATEGORIES, start=1):
            categories[code], _created = CaseCategory.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "target_level": level,
                    "hotline_names": hotline_names,
                    "description": description,
                    "sort_order": order,
                },
            )
        for level, unit, accept, resolve in POLICIES:
            DeadlinePolicy.objects.get_or_create(
                category=None, level=level, defaults={"unit": unit, "accept_within": accept, "resolve_within": resolve}
            )
        for code, level, unit, accept, resolve in CATEGORY_POLICIES:
            DeadlinePolicy.objects.get_or_create(
                category=categories[code],
                level=level,
                defaults={"unit": unit, "accept_within": accept, "resolve_within": resolve},
            )
        days = []
        for year in (self.today.year - 1, self.today.year, self.today.year + 1):
            if year in HOLIDAYS:
                holidays, workdays = HOLIDAYS[year]
            else:
                # The State Council publishes each year's schedule late in the year before; until staff enter it,
                # the holidays on fixed solar dates stand in (the lunar ones and make-up days need the schedule).
                self.context.log(f"cases: no holiday schedule for {year}; the fixed-date holidays stand in")
                holidays, workdays = _fixed_date_holidays(year), ()
            for first, last, name in holidays:
                day, end = date.fromisoformat(first), date.fromisoformat(last)
                while day <= end:
                    days.append(CalendarDay(date=day, kind="holiday", name=name))
                    day += timedelta(days=1)
            days += [CalendarDay(date=date.fromisoformat(day), kind="workday", name="调休上班") for day in workdays]
        CalendarDay.objects.bulk_create(days, ignore_conflicts=True)
        self.count("calendar_day", len(days))
        self.count("category", len(categories))
        return categories

    # ------------------------------------------------------------ who acts

    def handler_for(self, case):
        """The demo login who handles the case where it sits now (the superuser where no login does)."""
        from gongzhi.cases.selectors import can_handle

        for name in ("gridworker", "secretary", "street", "district"):
            if can_handle(self.logins[name], case):
                return self.logins[name]
        return self.logins["admin"]

    def run(self, moment: datetime, step: Callable[[], object]) -> bool:
        try:
            step()
        except DomainError:  # the request moved on meanwhile (passed up by the deadline job, merged …)
            self.count("skipped_step")
            return False
        return True

    # ------------------------------------------------------------ one request's life

    def working_moment(self, day: date) -> datetime:
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        return _at(day, self.rng.choice((9, 10, 11, 14, 15, 16, 17)), self.rng.randrange(0, 60))

    def plan(self, case_id_box: list, start: datetime, *, reporter_account=None, stage: str = "") -> None:
        """Schedule what happens to the request after it is raised (looked up by id when the time comes)."""
        from gongzhi.cases import services
        from gongzhi.cases.models import Case

        rng = self.rng
        roll = rng.random()
        hours = lambda low, high: timedelta(hours=rng.uniform(low, high))  # noqa: E731

        def case():
            return Case.objects.select_related("category", "place", "handling_place").get(pk=case_id_box[0])

        def do(name: str, **kwargs):
            def step(moment: datetime):
                current = case()
                actor = kwargs.pop("actor", None) or self.handler_for(current)
                function = getattr(services, name)
                if self.run(moment, lambda: function(actor=actor, case=current, now=moment, **kwargs)):
                    self.count(name)

            return step

        age = self.now - start
        if not stage and age < timedelta(days=2):  # the newest are still in hand
            stage = rng.choice(("submitted", "accepted", "in_progress"))
        if stage:  # the resident login's requests: one in each stage
            roll = 0.9
            if stage == "submitted":
                return
        t = start + hours(0.3, 3)
        if not stage and rng.random() < 0.25:  # passed up before anyone accepts it
            self.at(t, do("case_escalate", reason=rng.choice(ESCALATE_REASONS)))
            t += hours(1, 20)
            if rng.random() < 0.3:
                self.at(t, do("case_escalate", reason=rng.choice(ESCALATE_REASONS)))
                t += hours(2, 30)
        if roll < 0.06:
            self.at(t, do("case_reject", reason=rng.choice(REJECT_REASONS)))
            return
        if roll < 0.10 and reporter_account is not None:
            self.at(t, do("case_withdraw", actor=reporter_account, reason="问题已自行解决"))
            return
        if not stage and rng.random() < 0.12:  # some wait too long: the deadline job passes them up meanwhile
            t += hours(5, 26)
        self.at(t, do("case_accept"))
        if stage == "accepted":
            return
        t += hours(0.5, 6)
        self.at(t, do("case_start"))
        if (roll < 0.22 and age < timedelta(days=6)) or stage == "in_progress":
            return  # still being worked on
        t += hours(2, 60)
        self.at(t, do("case_resolve", resolution=rng.choice(RESOLUTIONS)))
        t += hours(3, 40)
        if reporter_account is None:  # no account to rate with: the handler calls back, then closes it
            self.at(t + hours(2, 60), do("case_close", note="电话回访，居民认可处理结果"))
            return
        if stage == "resolved":
            return  # waits for the resident's rating
        rating = rng.choices(("satisfied", "basically_satisfied", "unsatisfied"), (70, 20, 10))[0]
        self.at(t, do("case_rate", actor=reporter_account, rating=rating))
        if rating == "unsatisfied":
            t += hours(4, 30)
            self.at(t, do("case_resolve", resolution="已再次上门处理"))
            t += hours(3, 30)
            self.at(t, do("case_rate", actor=reporter_account, rating=rng.choice(("satisfied", "basically_satisfied"))))

    def raise_later(self, moment: datetime, submit: Callable[[datetime], object], **plan_kwargs) -> None:
        box: list = []

        def step(when: datetime):
            try:
                case = submit(when)
            except DomainError:
                self.count("skipped_submit")
                return
            box.append(case.pk)
            self.count("case")
            self.plan(box, when, **plan_kwargs)

        self.at(moment, step)

    # ------------------------------------------------------------ the requests

    def requests(self, categories: dict) -> None:
        from gongzhi.cases import services
        from gongzhi.cases.models import CaseChannel

        rng = self.rng
        grid = Place.objects.filter(pk__in=self.logins["gridworker"].role_assignments.values("place")).first()
        building = Place.objects.filter(pk__in=self.logins["buildinghead"].role_assignments.values("place")).first()
        street = Place.objects.filter(pk__in=self.logins["street"].role_assignments.values("place")).first()
        main_households = list(
            Place.objects.filter(subtree_q(self.main.path), kind=PlaceKind.HOUSEHOLD).order_by("path")
        )
        building_households = [place for place in main_households if place.path.startswith(building.path)]
        other_households = list(
            Place.objects.filter(kind=PlaceKind.HOUSEHOLD)
            .exclude(subtree_q(self.main.path))
            .order_by("path")[: max(200, len(main_households) // 4)]
        )
        residents = {}
        for resident in Resident.objects.filter(household__in=building_households + main_households[::7]).order_by(
            "id"
        ):
            residents.setdefault(resident.household_id, resident)
        codes = list(categories)
        total = max(60, int(300 * self.context.scale))
        days = WEEKS * 7

        def text_of(code: str) -> str:
            return rng.choice(TEXTS[code])

        # The resident login's own requests: one in each stage, the newest still waiting.
        resident = self.logins["resident"]
        own = (
            (40, "property", "building", "rated"),
            (20, "streetlight", "community", "rated"),
            (4, "sanitation", "building", "resolved"),
            (2, "noise", "community", "in_progress"),
            (0, "streetlight", "household", "submitted"),
        )
        for days_ago, code, where, stage in own:
            moment = self.working_moment(self.today - timedelta(days=days_ago))
            if days_ago == 0:
                moment = min(moment, self.now - timedelta(minutes=30))
            places = {"household": resident.resident.household}
            places["building"] = Place.objects.filter(
                pk__in=places["household"].ancestor_ids, kind=PlaceKind.BUILDING
            ).first()
            places["community"] = self.main
            category = categories[code]
            place = places[where]
            location = rng.choice(SPOTS) if where == "community" else ""

            def submit(when, category=category, place=place, location=location):
                return services.case_submit(
                    actor=resident,
                    category=category,
                    text=text_of(category.code),
                    place=place,
                    location_text=location,
                    channel=CaseChannel.RESIDENT_APP,
                    now=when,
                )

            self.raise_later(moment, submit, reporter_account=resident, stage=stage)

        for number in range(total):
            days_ago = min(int(rng.expovariate(1 / 18)), days - 1)
            moment = self.working_moment(self.today - timedelta(days=days_ago))
            if moment >= self.now:
                moment = self.now - timedelta(minutes=rng.randint(5, 300))
            code = rng.choice(codes)
            category = categories[code]
            kind = rng.random()
            if kind < 0.1:  # residents with the app: the two resident logins
                login = self.logins["resident" if kind < 0.05 else "partymember"]
                household = login.resident.household
                actor, channel, reporter = login, CaseChannel.RESIDENT_APP, None
                place, location = (household, "") if rng.random() < 0.5 else (self.main, rng.choice(SPOTS))
                if not place.path.startswith(self.main.path):
                    place = household
                account = login
            elif kind < 0.35:  # the grid's public places, recorded by the grid worker
                actor, channel, place, location, reporter = (
                    self.logins["gridworker"],
                    CaseChannel.STAFF,
                    grid,
                    rng.choice(SPOTS),
                    None,
                )
            elif kind < 0.5 and building_households:  # the building head on a visit
                household = rng.choice(building_households)
                actor, channel, place, location = self.logins["buildinghead"], CaseChannel.VISIT, household, ""
                reporter = residents.get(household.pk)
            elif kind < 0.85:  # the hotline, entered by the street
                household = rng.choice(main_households)
                actor, channel, place, location = self.logins["street"], CaseChannel.HOTLINE, household, ""
                reporter = None
            else:  # elsewhere in the district
                household = rng.choice(other_households) if other_households else rng.choice(main_households)
                within_street = household.path.startswith(street.path)
                actor = self.logins["street" if within_street else "district"]
                channel, place, location, reporter = CaseChannel.HOTLINE, household, "", None

            def submit(
                when,
                actor=actor,
                channel=channel,
                place=place,
                location=location,
                reporter=reporter,
                category=category,
                number=number,
            ):
                return services.case_submit(
                    actor=actor,
                    category=category,
                    text=text_of(category.code),
                    place=place,
                    location_text=location,
                    channel=channel,
                    reporter_resident=reporter,
                    contact_name=""
                    if channel != CaseChannel.HOTLINE
                    else rng.choice(("王先生", "李女士", "张先生", "刘女士")),
                    contact_phone="" if channel != CaseChannel.HOTLINE else f"139{rng.randrange(10**8):08d}",
                    external_ref=f"12345-{self.today:%y}{number:05d}" if channel == CaseChannel.HOTLINE else "",
                    now=when,
                )

            if channel != CaseChannel.RESIDENT_APP:
                account = getattr(reporter, "account", None) if reporter is not None else None
            self.raise_later(moment, submit, reporter_account=account)

        # Duplicates: a second report of the same matter, merged by the handler.
        for _index in range(max(3, total // 40)):
            moment = self.working_moment(self.today - timedelta(days=rng.randint(3, 30)))
            category = categories["streetlight"]
            box: list = []

            def first(when, box=box, category=category):
                case = services.case_submit(
                    actor=self.logins["gridworker"],
                    category=category,
                    text="路灯不亮",
                    place=grid,
                    location_text="东门口",
                    channel=CaseChannel.STAFF,
                    now=when,
                )
                box.append(case)
                self.count("case")

            def second(when, box=box, category=category):
                if not box:
                    return
                case = services.case_submit(
                    actor=self.logins["gridworker"],
                    category=category,
                    text="东门口路灯又坏了",
                    place=grid,
                    location_text="东门口",
                    channel=CaseChannel.STAFF,
                    now=when,
                )
                self.count("case")
                if self.run(
                    when,
                    lambda: services.case_merge(
                        actor=self.logins["gridworker"], case=case, into=box[0], now=when + timedelta(minutes=20)
                    ),
                ):
                    self.count("case_merge")

            self.at(moment, first)
            self.at(moment + timedelta(hours=1), second)

    # ------------------------------------------------------------ visits and disputes

    def visits(self, categories: dict) -> None:
        from gongzhi.cases import services

        rng = self.rng
        head = self.logins["buildinghead"]
        building = Place.objects.filter(pk__in=head.role_assignments.values("place")).first()
        households = list(Place.objects.filter(subtree_q(building.path), kind=PlaceKind.HOUSEHOLD).order_by("path"))
        opinions = ("希望楼道加装扶手", "单元门禁经常坏", "楼下垃圾桶太少", "想了解养老补贴政策")
        serial = itertools.count()
        for week in range(1, WEEKS):
            monday = self.today - timedelta(days=self.today.weekday() + 7 * week)
            for household in rng.sample(households, min(len(households), max(3, int(8 * self.context.scale) + 2))):
                day = monday + timedelta(days=rng.randint(0, 4))
                moment = _at(day, 19, rng.randrange(0, 50))
                number = next(serial)
                has_opinion = number % 3 == 0  # about a third raise something; one in six becomes a request
                becomes_case = number % 6 == 0

                def log(when, household=household, day=day, has_opinion=has_opinion, becomes_case=becomes_case):
                    services.visit_log(
                        actor=head,
                        household=household,
                        visited_on=day,
                        findings="入户走访，了解家庭近况",
                        opinion=rng.choice(opinions) if has_opinion else "",
                        handled_on_spot=has_opinion and not becomes_case and rng.random() < 0.6,
                        create_case=becomes_case,
                        category=categories["property"] if becomes_case else None,
                        now=when,
                    )
                    self.count("visit")

                self.at(moment, log)

    def disputes(self) -> None:
        from gongzhi.cases.disputes import PartyIn, dispute_register, dispute_resolve, dispute_session_add

        rng = self.rng
        secretary = self.logins["secretary"]
        households = list(
            Place.objects.filter(subtree_q(self.main.path), kind=PlaceKind.HOUSEHOLD).order_by("path")[:400]
        )
        property_company = (
            Organisation.objects.filter(kind=OrganisationKind.ENTERPRISE, name__contains="物业").order_by("id").first()
        )
        kinds = ("neighbour", "family", "property_management", "neighbour", "other")
        for index, kind in enumerate(kinds * max(1, int(2 * self.context.scale) + 1)):
            household = rng.choice(households)
            applicant = Resident.objects.filter(household=household).order_by("id").first()
            found = self.today - timedelta(days=rng.randint(5, 60))
            parties = [
                PartyIn(side="applicant", resident=applicant) if applicant else PartyIn(side="applicant", name="王某")
            ]
            if kind == "property_management" and property_company is not None:
                parties.append(PartyIn(side="respondent", organisation=property_company))
            else:
                parties.append(PartyIn(side="respondent", name=rng.choice(("楼上住户", "邻居刘某", "家属张某"))))
            try:
                dispute = dispute_register(
                    actor=secretary,
                    place=household,
                    kind=kind,
                    description=rng.choice(("楼上漏水引发纠纷", "赡养老人问题", "物业费争议", "占用楼道引发矛盾")),
                    found_on=found,
                    parties=parties,
                    now=_at(found, 10),
                )
                dispute_session_add(
                    actor=secretary,
                    dispute=dispute,
                    held_at=_at(found + timedelta(days=1), 15),
                    notes="双方到场，初步沟通",
                    now=_at(found + timedelta(days=1), 17),
                )
                if index % 3 != 2:
                    dispute_resolve(
                        actor=secretary,
                        dispute=dispute,
                        agreement="双方达成一致，签订调解协议",
                        now=_at(found + timedelta(days=3), 16),
                    )
            except DomainError as error:
                self.context.log(f"cases: dispute skipped: {error}")
                continue
            self.count("dispute")

    # ------------------------------------------------------------ the clock

    def simulate(self) -> None:
        """Run every scheduled step in time order, with the deadline job every two working hours in between."""
        from gongzhi.cases.services import escalate_overdue_cases

        if not self.queue:
            return
        tick = self.queue[0][0]
        while self.queue:
            moment, _serial, step = heapq.heappop(self.queue)
            while tick <= moment:
                self.job(tick, escalate_overdue_cases)
                tick += TICK
            step(moment)
        while tick <= self.now:
            self.job(tick, escalate_overdue_cases)
            tick += TICK

    def job(self, moment: datetime, job) -> None:
        local = timezone.localtime(moment)
        if local.weekday() < 5 and 9 <= local.hour < 19:
            result = job(now=moment)
            self.count("auto_escalated", result["escalated"])


def load(context) -> dict[str, int]:
    builder = _Builder(context)
    categories = builder.configure()
    builder.requests(categories)
    builder.visits(categories)
    builder.simulate()
    builder.disputes()
    return builder.counts
