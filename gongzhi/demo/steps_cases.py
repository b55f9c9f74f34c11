"""Demo step: resident requests (民呼我应) for the demo district, made through the services so trails, deadlines,
notifications and the audit log are real.

- Request categories with their first level and deadline policies (working hours at the grid, working days above),
  and the working calendar with this year's public holidays and make-up working days (调休上班).
- A few hundred requests over the last ten weeks across the ladder: raised by the ``resident`` login, recorded by
  the ``buildinghead`` and ``gridworker`` on visits, entered from the hotline by the ``street`` and ``district``
  logins. Each one lives its life on a simulated clock (accepted, started, passed up, resolved, rated, reopened,
  rejected, withdrawn, merged), and the deadline job runs every two working hours in between, so requests that
  waited too long are marked overdue and passed up exactly as in production.
- Whatever the day: the ``resident`` login's newest request was raised half an hour ago (inside its deadline), and
  two requests left alone for weeks have been passed up the ladder as overdue.
- Household visits by the building head (weekly, this week's included), some opinions becoming requests; a few
  disputes with mediation sessions.

``top_up`` brings a database loaded on an earlier day current: the requests and visits since the newest (at most
ten weeks), the deadline job run over the days between (old requests passed up as they would have been).

Deterministic for a seed and a day (``context.rng``, dates counted back from ``context.now``) and quick.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gongzhi.cases.models import OPEN_STATES
from gongzhi.core.errors import DomainError
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Organisation, OrganisationKind, Resident
from gongzhi.places.models import Place, PlaceKind

from .cases_catalogue import (
    CATEGORIES,
    CATEGORY_POLICIES,
    ESCALATE_REASONS,
    HOLIDAYS,
    POLICIES,
    REJECT_REASONS,
    RESOLUTIONS,
    SPOTS,
    TEXTS,
    fixed_date_holidays,
)

TITLE = gettext_lazy("Residents' requests: cases, deadlines, visits and disputes")

TICK = timedelta(hours=2)  # how often the deadline job runs in the simulation
WEEKS = 10
# Requests nobody takes up, so the ladder always shows overdue ones: (category, days ago, stage).
LEFT_ALONE = (("illegal-building", 25, "submitted"), ("property", 20, "in_progress"))


def is_loaded() -> bool:
    from gongzhi.cases.models import Case, CaseCategory

    return CaseCategory.objects.filter(code="streetlight").exists() and Case.objects.exists()


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


class _Builder:
    def __init__(self, context, stream: str = "cases"):
        from gongzhi.cases.worktime import WorkCalendar

        self.context = context
        self.rng = context.rng(stream)
        self.now: datetime = context.now
        self.today: date = context.today
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
        self.visit_moments: list[datetime] = []
        self.closed_on: date | None = None  # the day the unrated cases were last closed

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def at(self, moment: datetime, action: Callable[[datetime], None]) -> None:
        if moment < self.now - timedelta(minutes=1):
            heapq.heappush(self.queue, (moment, next(self.serial), action))

    # ------------------------------------------------------------ configuration

    def configure(self) -> dict:
        from gongzhi.cases.models import CalendarDay, CaseCategory, DeadlinePolicy

        categories, created = {}, 0
        for order, (code, name, level, hotline_names, description) in enumerate(CATEGORIES, start=1):
            categories[code], made = CaseCategory.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "target_level": level,
                    "hotline_names": hotline_names,
                    "description": description,
                    "sort_order": order,
                },
            )
            created += made
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
                self.context.detail(
                    _("No holiday schedule for %(year)d yet: the holidays on fixed dates stand in.") % {"year": year}
                )
                holidays, workdays = fixed_date_holidays(year), ()
            for first, last, name in holidays:
                day, end = date.fromisoformat(first), date.fromisoformat(last)
                while day <= end:
                    days.append(CalendarDay(date=day, kind="holiday", name=name))
                    day += timedelta(days=1)
            days += [CalendarDay(date=date.fromisoformat(day), kind="workday", name="调休上班") for day in workdays]
        known = set(CalendarDay.objects.filter(date__in=[day.date for day in days]).values_list("date", flat=True))
        days = [day for day in days if day.date not in known]
        CalendarDay.objects.bulk_create(days, ignore_conflicts=True)
        self.count("calendar_day", len(days))
        self.count("category", created)
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

    def requests(self, categories: dict, *, days: int = WEEKS * 7, left_alone: bool = True) -> None:
        """Requests raised over the last ``days`` days (and the ones nobody takes up, with ``left_alone``)."""
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
            Place.objects.filter(subtree_q(self.context.district.path), kind=PlaceKind.HOUSEHOLD)
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
        total = max(5, round(total * days / (WEEKS * 7)))

        def text_of(code: str) -> str:
            return rng.choice(TEXTS[code])

        # The resident login's own requests: one in each stage, the newest raised half an hour ago.
        resident = self.logins["resident"]
        own = (
            (40, "property", "building", "rated"),
            (20, "streetlight", "community", "rated"),
            (4, "sanitation", "building", "resolved"),
            (2, "noise", "community", "in_progress"),
            (0, "streetlight", "household", "submitted"),
        )
        for days_ago, code, where, stage in own:
            if days_ago >= days:
                continue
            moment = self.working_moment(self.today - timedelta(days=days_ago))
            if days_ago == 0:
                moment = max(_at(self.today, 0), self.now - timedelta(minutes=30))
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

        # Requests nobody takes up: the deadline job passes them up the ladder, overdue.
        for code, days_ago, stage in LEFT_ALONE if left_alone else ():
            category = categories[code]

            def submit_alone(when, category=category):
                return services.case_submit(
                    actor=self.logins["gridworker"],
                    category=category,
                    text=text_of(category.code),
                    place=grid,
                    location_text=rng.choice(SPOTS),
                    channel=CaseChannel.STAFF,
                    now=when,
                )

            self.raise_later(self.working_moment(self.today - timedelta(days=days_ago)), submit_alone, stage=stage)

        for number in range(total):
            days_ago = int(rng.expovariate(1 / 18)) % days
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
                    external_ref=f"12345-{self.today:%y%m%d}{number:04d}" if channel == CaseChannel.HOTLINE else "",
                    now=when,
                )

            if channel != CaseChannel.RESIDENT_APP:
                account = getattr(reporter, "account", None) if reporter is not None else None
            self.raise_later(moment, submit, reporter_account=account)

        # Duplicates: a second report of the same matter, merged by the handler.
        for _index in range(max(3, total // 40) if days > 3 else 0):
            moment = self.working_moment(self.today - timedelta(days=rng.randint(3, min(30, days - 1))))
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

    def visits(self, categories: dict, *, first_day: date | None = None) -> None:
        """The building head's weekly visits from ``first_day`` (default: ten weeks back), this week's included."""
        from gongzhi.cases.visits import visit_log

        rng = self.rng
        head = self.logins["buildinghead"]
        building = Place.objects.filter(pk__in=head.role_assignments.values("place")).first()
        households = list(Place.objects.filter(subtree_q(building.path), kind=PlaceKind.HOUSEHOLD).order_by("path"))
        opinions = ("希望楼道加装扶手", "单元门禁经常坏", "楼下垃圾桶太少", "想了解养老补贴政策")
        serial = itertools.count()
        this_monday = self.today - timedelta(days=self.today.weekday())
        first_day = first_day or this_monday - timedelta(days=7 * (WEEKS - 1))
        latest = self.now - timedelta(minutes=1)

        def plan_visit(household: Place, moment: datetime) -> None:
            number = next(serial)
            has_opinion = number % 3 == 0  # about a third raise something; one in six becomes a request
            becomes_case = number % 6 == 0
            day = timezone.localdate(moment)

            def log(when, household=household, day=day, has_opinion=has_opinion, becomes_case=becomes_case):
                visit_log(
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

            self.visit_moments.append(moment)
            self.at(moment, log)

        for week in range(WEEKS):
            monday = this_monday - timedelta(days=7 * week)
            if monday + timedelta(days=6) < first_day:
                break
            for household in rng.sample(households, min(len(households), max(3, int(8 * self.context.scale) + 2))):
                day = monday + timedelta(days=rng.randint(0, 4))
                moment = _at(day, 19, rng.randrange(0, 50))
                if first_day <= day and moment < latest:
                    plan_visit(household, moment)
        if households and not any(moment >= _at(this_monday, 0) for moment in self.visit_moments):
            # Nobody visited this week yet: the building head has just been round.
            plan_visit(households[0], max(_at(this_monday, 0), self.now - timedelta(minutes=20)))

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

    def simulate(self, since: datetime | None = None) -> None:
        """Run every scheduled step in time order on the simulated clock, with the deadline job every two working
        hours in between (from ``since``, when an earlier load left off) and the unrated cases closed daily."""
        from gongzhi.cases.jobs import escalate_overdue_cases

        if not self.queue:
            return
        tick = min(self.queue[0][0], since) if since is not None else self.queue[0][0]
        while self.queue:
            moment, _serial, step = heapq.heappop(self.queue)
            while tick <= moment:
                self.job(tick, escalate_overdue_cases)
                tick += TICK
            with self.context.clock(moment):
                step(moment)
        while tick <= self.now:
            self.job(tick, escalate_overdue_cases)
            tick += TICK

    def job(self, moment: datetime, job) -> None:
        from gongzhi.cases.jobs import close_unrated_cases

        local = timezone.localtime(moment)
        if local.weekday() < 5 and 9 <= local.hour < 19:
            with self.context.clock(moment):
                if local.date() != self.closed_on:
                    self.closed_on = local.date()
                    self.count("closed_unrated", close_unrated_cases(now=moment)["closed"])
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


def top_up(context, now: datetime) -> dict[str, int]:
    """Bring the requests of a demo loaded on an earlier day current at ``now``: those since the newest (at most
    ten weeks), this week's visits, the deadline job over the days between; nothing if it has today's."""
    from gongzhi.cases.models import Case, HouseholdVisit

    district = context.district
    newest = Case.objects.filter(place__path__startswith=district.path).aggregate(newest=Max("submitted_at"))["newest"]
    if newest is not None and timezone.localdate(newest) >= context.today:
        return {}
    builder = _Builder(context, f"cases:{context.today:%Y-%m-%d}")
    categories = builder.configure()
    days = WEEKS * 7 if newest is None else min(WEEKS * 7, (context.today - timezone.localdate(newest)).days)
    overdue = Case.objects.filter(
        place__path__startswith=context.main_community.path, state__in=OPEN_STATES, is_overdue=True
    )
    builder.requests(categories, days=days, left_alone=not overdue.exists())
    visited = HouseholdVisit.objects.filter(visitor=builder.logins["buildinghead"]).aggregate(last=Max("visited_on"))
    first_day = context.today - timedelta(days=days)
    if visited["last"] is not None:
        first_day = max(first_day, visited["last"] + timedelta(days=1))
    builder.visits(categories, first_day=first_day)
    builder.simulate(since=None if newest is None else max(newest, now - timedelta(days=days)))
    return builder.counts
