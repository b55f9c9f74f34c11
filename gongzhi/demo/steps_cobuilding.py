"""Demo step: co-building in the main community, made through the services (audit, matches, locks are real).

- Agreements (一书三单): four resident organisations of the main community (the ``orgrep`` login's school first)
  and a property company sign with the community; one older agreement was renewed.
- The three lists: needs at the compounds (typed, from a request, a visit and a deliberation decision), each
  organisation's resources (a venue with opening times, skills, people, funds), the suggested matches (some
  accepted), and micro-projects in every state: open, claimed, reported done, confirmed and rated (with the
  points claimed for the organisation, waiting in the points review queue), cancelled.
- The community service fund of this year (300,000 yuan) with paid, committed, requested and refused spending.
- A points alliance of the four organisations co-running the catalogue's co-building items.
- Monthly joint meetings of the last six months and two secretaries' forums, with matters; the older ones solved.
- Pairings with the agency and with two villages, three commitments each this year, kept by joint activities or
  marked; co-building activities over the last months.
- Five published quarters of the property management assessment for each compound (before the current quarter):
  the first compound loses a star in the oldest and earns the reward after four excellent ones.
- Last year's report-back of the school.

``top_up`` brings it current on a later day: a joint meeting this month, open projects when none is left, this
year's fund, and the quarters just ended. Deterministic for a seed and a day.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext_lazy

from gongzhi.core.errors import DomainError
from gongzhi.core.roles import Role
from gongzhi.people.models import Account, Organisation, OrganisationKind, RoleAssignment
from gongzhi.places.models import Place, PlaceKind

TITLE = gettext_lazy("Co-building: agreements, lists, micro-projects, fund, meetings, pairings, assessments")

NEEDS = (
    ("venue", "老旧小区缺少儿童活动场地", "typed", ""),
    ("skills", "独居老人智能手机使用辅导", "visit", "visit:week"),
    ("goods", "楼道照明灯具老化", "case", "case:hotline"),
    ("people", "周末垃圾分类督导人手不足", "deliberation", "deliberation:resolution"),
    ("funds", "加装楼道扶手资金缺口", "typed", ""),
    ("venue", "居民议事需要会议室", "typed", ""),
)
RESOURCES = {
    OrganisationKind.SCHOOL: (
        ("venue", "学校操场周末开放", "周六、周日 8:00–17:00"),
        ("skills", "信息技术教师志愿辅导", ""),
    ),
    OrganisationKind.AGENCY: (("venue", "机关会议室共享", "工作日 18:00–21:00"), ("people", "党员志愿者周末督导", "")),
    OrganisationKind.ENTERPRISE: (("funds", "企业公益资金", ""), ("goods", "LED 灯具捐赠", "")),
    OrganisationKind.SOCIAL_ORGANISATION: (("skills", "社工长者服务", ""),),
}
PROJECTS = (  # title, budget, final state
    ("儿童活动场地改造", "28000", "confirmed"),
    ("楼道照明更换", "12000", "confirmed"),
    ("长者智能手机课堂", "3000", "reported"),
    ("垃圾分类周末督导", "0", "claimed"),
    ("楼道扶手加装", "45000", "open"),
    ("居民议事厅布置", "8000", "open"),
    ("旧自行车棚清理", "2000", "cancelled"),
)
BUDGET = Decimal("300000")
MATTERS = ("停车难", "路灯不亮", "电梯维保", "绿化带破损", "快递乱堆放", "噪音扰民")
VILLAGES = ("红星村", "向阳村")


def is_loaded() -> bool:
    from gongzhi.cobuilding.models import Agreement

    from .figures import MAIN_COMMUNITY_NAME

    return Agreement.objects.filter(community__name=MAIN_COMMUNITY_NAME).exists()


def _quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def _previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year, quarter - 1) if quarter > 1 else (year - 1, 4)


def _representative(organisation: Organisation, context) -> Account:
    """The organisation's representative login (``orgrep`` for the school; a login without password otherwise)."""
    existing = (
        RoleAssignment.objects.filter(role=Role.ORGANISATION_REPRESENTATIVE, organisation=organisation)
        .select_related("account")
        .first()
    )
    if existing is not None:
        return existing.account
    account = Account.objects.create(username=f"orgrep-{organisation.pk}", display_name=organisation.name)
    account.set_unusable_password()
    account.save(update_fields=["password"])
    RoleAssignment.objects.create(
        account=account,
        role=Role.ORGANISATION_REPRESENTATIVE,
        place=organisation.place,
        organisation=organisation,
        starts_on=context.today - timedelta(days=800),
    )
    return account


def _organisations(context) -> list[Organisation]:
    community = context.main_community
    school = RoleAssignment.objects.get(account__username="orgrep", role=Role.ORGANISATION_REPRESENTATIVE).organisation
    picked = [school]
    for kind in (OrganisationKind.AGENCY, OrganisationKind.ENTERPRISE, OrganisationKind.SOCIAL_ORGANISATION):
        found = (
            Organisation.objects.filter(place=community, kind=kind, is_active=True)
            .exclude(name__contains="物业")
            .order_by("pk")
            .first()
        )
        if found is not None:
            picked.append(found)
    return picked


def _property_company(context) -> Organisation:
    company = (
        Organisation.objects.filter(kind=OrganisationKind.ENTERPRISE, name__contains="物业", is_active=True)
        .order_by("pk")
        .first()
    )
    if company is None:
        company = Organisation.objects.create(
            kind=OrganisationKind.ENTERPRISE,
            name="卓越物业服务有限公司",
            place=context.main_community,
            supervising_department="区住房和城乡建设局",
        )
    return company


def _at(context, days_ago: float) -> datetime:
    return context.now - timedelta(days=days_ago)


def load(context) -> dict[str, int]:
    from gongzhi.cobuilding import services

    community = context.main_community
    secretary = context.account("secretary")
    today = context.today
    counts: dict[str, int] = {}
    organisations = _organisations(context)
    reps = {organisation.pk: _representative(organisation, context) for organisation in organisations}
    company = _property_company(context)

    # Agreements: the school's first agreement (last year) was renewed; the others run two years.
    for index, organisation in enumerate([*organisations, company]):
        agreement = services.agreement_sign(
            actor=secretary,
            organisation=organisation,
            community=community,
            scope="共驻共建：资源共享、结对帮扶、微实事认领",
            starts_on=date(today.year - 1, 1, 1),
            ends_on=date(today.year - 1 if index == 0 else today.year + 1, 12, 31),
            now=_at(context, 400),
        )
        if index == 0:
            services.agreement_renew(
                actor=secretary,
                agreement=agreement,
                ends_on=date(today.year + 1, 12, 31),
                now=_at(context, 400),
            )
    counts["agreements"] = len(organisations) + 2

    compounds = list(Place.objects.filter(parent=community, kind=PlaceKind.COMPOUND, is_active=True).order_by("pk"))
    compounds = compounds or [community]
    needs = []
    for index, (kind, title, source, reference) in enumerate(NEEDS):
        needs.append(
            services.need_create(
                actor=secretary,
                place=compounds[index % len(compounds)],
                kind=kind,
                title=title,
                source_kind=source,
                source_reference=reference,
                now=_at(context, 90 - index),
            )
        )
    resources = []
    for organisation in organisations:
        for kind, title, opening in RESOURCES.get(organisation.kind, ()):
            resources.append(
                services.resource_publish(
                    actor=reps[organisation.pk],
                    organisation=organisation,
                    community=community,
                    kind=kind,
                    title=title,
                    opening_times=opening,
                    now=_at(context, 80),
                )
            )
    counts["needs"], counts["resources"] = len(needs), len(resources)

    from gongzhi.cobuilding.models import Match

    accepted = 0
    for match in Match.objects.filter(need__in=needs).order_by("-score", "pk")[:4]:
        services.match_answer(actor=secretary, match=match, accept=True, now=_at(context, 75))
        accepted += 1
    counts["matches_accepted"] = accepted

    item = _point_item(context)
    fund = services.fund_set_budget(
        actor=secretary,
        community=community,
        year=today.year,
        budget=BUDGET,
        now=_at(context, min(60, today.timetuple().tm_yday - 1)),
    )
    residents = [context.account("resident"), context.account("partymember")]
    for index, (title, budget, final) in enumerate(PROJECTS):
        need = needs[index] if index < len(needs) else None
        project = services.project_create(
            actor=secretary,
            place=need.place if need else community,
            title=title,
            need=need,
            resources=[r for r in resources if need and r.kind == need.kind][:1],
            budget=budget,
            point_item=item,
            now=_at(context, 70 - index),
        )
        _drive(context, services, project, final, organisations[index % len(organisations)], reps, residents, fund)
    counts["projects"] = len(PROJECTS)
    refused = services.spending_request(
        actor=secretary, fund=fund, purpose="社区文艺演出服装", amount="6000", now=_at(context, 20)
    )
    services.spending_refuse(actor=secretary, spending=refused, now=_at(context, 19))
    services.spending_request(actor=secretary, fund=fund, purpose="议事厅桌椅购置", amount="8000", now=_at(context, 2))

    alliance = services.alliance_create(
        actor=secretary,
        place=community,
        name=f"{community.name}红色积分联盟",
        founded_on=today - timedelta(days=300),
        point_items=[i for i in [item] if i is not None],
        now=_at(context, 300),
    )
    for organisation in organisations:
        services.alliance_join(
            actor=secretary,
            alliance=alliance,
            organisation=organisation,
            joined_on=today - timedelta(days=300),
            now=_at(context, 300),
        )

    counts.update(_pairings(context, services, organisations))
    counts["meetings"] = _meetings(context, services, organisations, months=6)
    counts["quarters"] = _assessments(context, services, compounds, company, quarters=5)
    try:
        services.report_back_send(actor=secretary, organisation=organisations[0], year=today.year - 1, now=context.now)
        counts["reported_back"] = 1
    except DomainError:
        counts["reported_back"] = 0
    return counts


def _point_item(context):
    from gongzhi.points.models import PointItem

    return PointItem.objects.filter(code="micro-project", is_active=True).order_by("pk").first()


def _drive(context, services, project, final, organisation, reps, residents, fund) -> None:
    """Take a fresh project to ``final``: claimed, reported with a photo, confirmed, rated, points; its spending."""
    from gongzhi.core.testing import image_upload

    secretary = context.account("secretary")
    if final == "cancelled":
        services.project_cancel(actor=secretary, project=project, now=_at(context, 50))
        return
    if final == "open":
        return
    rep = reps[organisation.pk]
    services.project_claim(actor=rep, project=project, organisation=organisation, now=_at(context, 45))
    if project.budget:
        spending = services.spending_request(
            actor=secretary,
            fund=fund,
            purpose=project.title,
            amount=project.budget,
            project=project,
            now=_at(context, 44),
        )
        services.spending_approve(actor=secretary, spending=spending, now=_at(context, 43))
        if final == "confirmed":
            services.spending_pay(actor=secretary, spending=spending, now=_at(context, 5))
    services.project_progress(
        actor=rep,
        project=project,
        note="已完成前期准备，材料到位。",
        photos=[image_upload("progress.jpg")],
        now=_at(context, 30),
    )
    if final == "claimed":
        return
    services.project_progress(
        actor=rep,
        project=project,
        note="已完工，请社区验收。",
        photos=[image_upload("done.jpg")],
        completed=True,
        now=_at(context, 8),
    )
    if final == "reported":
        return
    project = services.project_confirm(actor=secretary, project=project, now=context.now - timedelta(hours=3))
    for stars, resident in zip((5, 4), residents, strict=False):
        with suppress(DomainError):  # a login outside the community does not rate
            services.project_rate(
                actor=resident, project=project, stars=stars, comment="办得实在", now=context.now - timedelta(hours=2)
            )
    if project.point_item is not None:
        with suppress(DomainError):  # e.g. the month is published already: the claim can be made next month
            services.project_points_request(actor=rep, project=project, now=context.now - timedelta(hours=1))


def _pairings(context, services, organisations) -> dict[str, int]:
    community, secretary, today = context.main_community, context.account("secretary"), context.today
    agency = next((o for o in organisations if o.kind == OrganisationKind.AGENCY), organisations[0])
    pairings = [
        services.pairing_create(
            actor=secretary,
            community=community,
            kind="organisation",
            partner_organisation=agency,
            started_on=date(today.year - 1, 3, 1),
            now=_at(context, 400),
        )
    ]
    for village in VILLAGES:
        pairings.append(
            services.pairing_create(
                actor=secretary,
                community=community,
                kind="village",
                partner_name=village,
                started_on=date(today.year - 1, 3, 1),
                now=_at(context, 400),
            )
        )
    activities = 0
    first_day = date(today.year, 1, 1)
    span = max((today - first_day).days, 1)
    for index, pairing in enumerate(pairings):
        commitments = [
            services.commitment_add(actor=secretary, pairing=pairing, year=today.year, title=title, now=context.now)
            for title in ("共建一处党群活动阵地", "联合开展一次志愿服务", "结对帮扶困难家庭")
        ]
        held_on = first_day + timedelta(days=span * (index + 1) // 4)
        services.activity_record(
            actor=secretary,
            community=community,
            title=f"{pairing.partner_label}结对共建活动",
            held_on=held_on,
            organisations=[agency],
            pairing=pairing,
            commitment=commitments[0],
            participants=30 + 10 * index,
            now=context.now,
        )
        activities += 1
        if index == 0:
            services.commitment_mark(
                actor=secretary, commitment=commitments[1], kept=True, decided_on=today, now=context.now
            )
    for index, title in enumerate(("共建单位周末义诊", "校园开放日", "联合清洁家园")):
        services.activity_record(
            actor=secretary,
            community=community,
            title=title,
            held_on=today - timedelta(days=15 + 20 * index),
            organisations=organisations[: 2 + index % 2],
            participants=60 + 15 * index,
            now=context.now,
        )
        activities += 1
    return {"pairings": len(pairings), "activities": activities}


def _month_start(day: date, back: int) -> date:
    month = day.month - back
    year = day.year
    while month < 1:
        month += 12
        year -= 1
    return date(year, month, 1)


def _meetings(context, services, organisations, *, months: int, rng_offset: int = 0) -> int:
    from gongzhi.cobuilding.models import Meeting

    community, secretary, today = context.main_community, context.account("secretary"), context.today
    rng = context.rng("cobuilding")
    made = 0
    for back in range(months - 1, -1, -1):
        first = _month_start(today, back)
        if Meeting.objects.filter(
            community=community, kind="joint_meeting", held_on__gte=first, held_on__lte=first + timedelta(days=30)
        ).exists():
            continue
        held_on = min(first + timedelta(days=9), today)
        matters = rng.sample(MATTERS, 2)
        meeting = services.meeting_record(
            actor=secretary,
            community=community,
            kind="joint_meeting",
            title=f"{held_on:%Y年%m月}联席会议",
            held_on=held_on,
            attendees=organisations,
            attendance=12 + back,
            matters=matters,
            now=context.now,
        )
        made += 1
        if back >= 1:  # last months' matters are solved; this month's stay open
            for index, matter in enumerate(meeting.matters.order_by("pk")):
                services.matter_follow_up(
                    actor=secretary,
                    matter=matter,
                    note="已协调解决",
                    taken_by=organisations[index % len(organisations)],
                    solved=True,
                    now=context.now - timedelta(days=1),
                )
        if back in (1, 4):
            services.meeting_record(
                actor=secretary,
                community=community,
                kind="forum",
                title=f"{held_on:%Y年%m月}书记论坛",
                held_on=held_on,
                attendance=20,
                matters=["老旧小区改造"],
                now=context.now,
            )
            made += 1
    return made


def _assessments(context, services, compounds, company, *, quarters: int) -> int:
    from gongzhi.cobuilding.models import AssessmentResult, AssessmentScore

    secretary = context.account("secretary")
    rng = context.rng("cobuilding-assessment")
    targets = []
    year, quarter = _quarter_of(context.today)
    for _i in range(quarters):
        year, quarter = _previous_quarter(year, quarter)
        targets.append((year, quarter))
    published = 0
    for index, compound in enumerate([c for c in compounds if c.kind == PlaceKind.COMPOUND]):
        for position, (year, quarter) in enumerate(reversed(targets)):
            if AssessmentResult.objects.filter(compound=compound, year=year, quarter=quarter).exists():
                continue
            later = AssessmentResult.objects.filter(compound=compound).filter(
                Q(year__gt=year) | Q(year=year, quarter__gt=quarter)
            )
            if later.exists():
                continue
            low, high = _score_range(index, position, first_load=quarters > 1)
            for party in ("party_organisation", "owners_committee", "housing_department"):
                scored = AssessmentScore.objects.filter(compound=compound, year=year, quarter=quarter, party=party)
                if not scored.exists():
                    services.score_enter(
                        actor=secretary,
                        compound=compound,
                        company=company,
                        year=year,
                        quarter=quarter,
                        party=party,
                        score=str(rng.randint(low, high)),
                        now=context.now,
                    )
            services.quarter_publish(actor=secretary, compound=compound, year=year, quarter=quarter, now=context.now)
            published += 1
    return published


def _score_range(compound_index: int, position: int, *, first_load: bool) -> tuple[int, int]:
    """Scores that show the star rule on the first compound: its oldest quarter of the first load is poor (a star
    lost), the four after it excellent (the reward, and the star back); the other compounds in between."""
    if compound_index == 0:
        return (45, 58) if first_load and position == 0 else (90, 98)
    return 60, 89


def top_up(context, now) -> dict[str, int]:
    """What a demo loaded on an earlier day needs today (nothing when it is current)."""
    from gongzhi.cobuilding import services
    from gongzhi.cobuilding.models import Fund, Project

    community, secretary = context.main_community, context.account("secretary")
    counts = {"meetings": 0, "projects": 0, "fund": 0, "quarters": 0}
    organisations = _organisations(context)
    counts["meetings"] = _meetings(context, services, organisations, months=1)
    if not Fund.objects.filter(community=community, year=context.today.year).exists():
        services.fund_set_budget(actor=secretary, community=community, year=context.today.year, budget=BUDGET, now=now)
        counts["fund"] = 1
    if not Project.objects.filter(community=community, state=Project.State.OPEN).exists():
        for title in ("楼道扶手加装（续）", "小区休闲座椅更新"):
            services.project_create(
                actor=secretary, place=community, title=title, budget="5000", point_item=_point_item(context), now=now
            )
            counts["projects"] += 1
    compounds = list(Place.objects.filter(parent=community, kind=PlaceKind.COMPOUND, is_active=True).order_by("pk"))
    counts["quarters"] = _assessments(context, services, compounds, _property_company(context), quarters=1)
    return counts
