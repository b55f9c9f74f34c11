"""Demo step: deliberation (协商议事), made through the services (co-signatures, steps, chains are real).

- The main community's consultation catalogue (two major matters), three liaisons, its rule (3 co-signatures).
- A dozen neighbours of the ``resident`` login's building get accounts (no password) so they can co-sign and vote.
- Topics in every state, relative to today: two collecting co-signatures (one by the ``resident`` login, which the
  ``partymember`` login co-signed), one declined with its published reason, one on the agenda with a session in
  two days and a household vote open now, one decided and being carried out (tasks at 60 %), one carried out and
  rated, a major matter (加装电梯) through the four steps with both publications and, before its fourth step, a
  household vote of its building closed with its published result and chain head (online and paper ballots, the
  tally sheet's photo), and a second major matter half way through the four steps.

``top_up`` on a later day opens a new household vote when none is open now, and proposes a new topic when none is
collecting co-signatures. Deterministic for a seed and a day.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django.utils.translation import gettext_lazy

from gongzhi.core.roles import Role
from gongzhi.core.tree import path_ids, subtree_q

TITLE = gettext_lazy("Deliberation: catalogue, topics in every state, the four-step resolution and votes")

CATALOGUE = (
    ("老旧小区改造与加装电梯", True),
    ("社区公共收益使用", True),
    ("停车秩序与交通", False),
    ("楼道与环境卫生", False),
    ("公共设施维护", False),
)
NEIGHBOURS = 12
DAY = timedelta(days=1)


def _district_path() -> str:
    from gongzhi.places.models import Place, PlaceKind

    from .figures import DEMO_DISTRICT_CODE

    district = Place.objects.filter(kind=PlaceKind.DISTRICT, code=DEMO_DISTRICT_CODE, is_active=True).first()
    return district.path if district else "/nonexistent/"


def is_loaded() -> bool:
    from gongzhi.deliberation.models import CatalogueEntry

    return CatalogueEntry.objects.filter(subtree_q(_district_path(), "community__path")).exists()


def _photo(seed: int) -> SimpleUploadedFile:
    """A tally sheet's photo (a small picture made here: the demo calls no outside service)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    for row in range(8):
        draw.line((10, 20 + row * 22, 310, 20 + row * 22), fill=(120, 120, 120))
        draw.text((14, 4 + row * 22), f"{seed}-{row}", fill=(30, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG")
    return SimpleUploadedFile("tally.jpg", buffer.getvalue(), content_type="image/jpeg")


def _neighbours(context) -> list:
    """Accounts for householders of the ``resident`` login's building (created once, no usable password)."""
    from gongzhi.people.models import Account, Relation, Resident, RoleAssignment

    resident = context.account("resident").resident
    building = next(p for p in _ancestors(resident.household) if p.kind == "building")
    existing = list(Account.objects.filter(username__startswith="neighbour").order_by("username"))
    if existing:
        return existing
    candidates = (
        Resident.objects.filter(
            subtree_q(building.path, "household__path"), relation=Relation.HOUSEHOLDER, is_active=True
        )
        .filter(account__isnull=True)
        .exclude(household=resident.household)
        .select_related("household")
        .order_by("pk")[:NEIGHBOURS]
    )
    accounts = []
    for index, neighbour in enumerate(candidates, start=1):
        account = Account(username=f"neighbour{index:02d}", display_name=neighbour.name, resident=neighbour)
        account.set_unusable_password()
        account.save()
        RoleAssignment.objects.create(
            account=account, role=Role.RESIDENT, place=neighbour.household, starts_on=context.today - 400 * DAY
        )
        accounts.append(account)
    return accounts


def _ancestors(place) -> list:
    from gongzhi.places.models import Place

    ids = path_ids(place.path)
    return list(Place.objects.filter(pk__in=ids))


def _building_of(context):
    resident = context.account("resident").resident
    return next(p for p in _ancestors(resident.household) if p.kind == "building")


def load(context) -> dict[str, int]:
    from gongzhi.deliberation import services
    from gongzhi.deliberation.models import CosignBasis

    community = context.main_community
    secretary = context.account("secretary")
    now = context.now
    counts = {"catalogue": 0, "liaison": 0, "topic": 0, "vote": 0, "ballot": 0}
    services.settings_update(
        actor=secretary, community=community, cosign_threshold=3, cosign_basis=CosignBasis.PERSONS, now=now
    )
    entries = {}
    for name, major in CATALOGUE:
        entries[name] = services.catalogue_entry_add(actor=secretary, community=community, name=name, is_major=major)
        counts["catalogue"] += 1
    neighbours = _neighbours(context)
    for account in neighbours[:3]:
        services.liaison_appoint(
            actor=secretary, community=community, resident=account.resident, starts_on=context.today - 90 * DAY
        )
        counts["liaison"] += 1
    builder = _Builder(context, services, community, secretary, neighbours, entries)
    builder.all_states()
    counts["topic"] = builder.topics
    counts["vote"] = builder.votes
    counts["ballot"] = builder.ballots
    return counts


class _Builder:
    def __init__(self, context, services, community, secretary, neighbours, entries):
        self.context, self.services, self.community = context, services, community
        self.secretary, self.neighbours, self.entries = secretary, neighbours, entries
        self.resident = context.account("resident")
        self.partymember = context.account("partymember")
        self.topics = self.votes = self.ballots = 0

    def ago(self, days: float, hour: int = 0) -> datetime:
        return self.context.now - days * DAY + timedelta(hours=hour)

    def propose(self, actor, title: str, description: str, entry: str | None, days: float, *, source="resident"):
        from gongzhi.people.models import PartyOrganisation, PartyOrganisationKind

        extra = {}
        if source == "party_branch":
            extra["party_organisation"] = (
                PartyOrganisation.objects.filter(
                    subtree_q(self.community.path, "place__path"), kind=PartyOrganisationKind.BRANCH, is_active=True
                )
                .order_by("pk")
                .first()
            )
        topic = self.services.topic_propose(
            actor=actor,
            community=self.community,
            title=title,
            description=description,
            catalogue_entry=self.entries.get(entry) if entry else None,
            source=source,
            now=self.ago(days),
            **extra,
        )
        self.topics += 1
        return topic

    def signed_and_accepted(self, title, description, entry, days: float, signers: int = 2):
        topic = self.propose(self.neighbours[0], title, description, entry, days)
        for index, account in enumerate(self.neighbours[1 : 1 + signers]):
            self.services.topic_cosign(actor=account, topic=topic, now=self.ago(days - 0.1 * (index + 1)))
        return self.services.topic_accept(actor=self.secretary, topic=topic, now=self.ago(days - 1))

    def held_session(self, topic, days: float, matter: str):
        session = self.services.session_schedule(
            actor=self.secretary,
            topic=topic,
            venue="社区党群服务中心议事厅",
            starts_at=self.ago(days),
            matter=matter,
            method="meeting",
            now=self.ago(days + 2),
        )
        invited = [
            self.services.session_invite(
                actor=self.secretary, session=session, kind="resident", resident=account.resident
            )
            for account in self.neighbours[:5]
        ]
        self.services.session_invite(actor=self.secretary, session=session, kind="expert", name="物业公司项目经理")
        self.services.session_record(
            actor=self.secretary,
            session=session,
            attended=[item.pk for item in invited[:4]],
            summary="与会居民充分讨论，形成一致意见",
            now=self.ago(days - 0.1),
        )
        return session

    def household_vote(self, topic, title, opens: datetime, closes: datetime, *, buildings=None, created: datetime):
        vote = self.services.vote_create(
            actor=self.secretary,
            topic=topic,
            title=title,
            kind="household",
            choices=["同意", "不同意", "弃权"],
            opens_at=opens,
            closes_at=closes,
            buildings=buildings or [],
            now=created,
        )
        self.votes += 1
        return vote

    def online(self, vote, accounts, moment: datetime, choices=(1, 1, 1, 2)):
        from gongzhi.core.errors import DomainError

        for index, account in enumerate(accounts):
            try:
                self.services.vote_cast(
                    actor=account,
                    vote=vote,
                    choice=choices[index % len(choices)],
                    now=moment + index * timedelta(minutes=7),
                )
            except DomainError:  # the household voted already (two logins of one household)
                continue
            self.ballots += 1

    def all_states(self) -> None:
        s, secretary = self.services, self.secretary
        # collecting co-signatures
        charging = self.propose(
            self.resident,
            "小区增设电动自行车充电桩",
            "电动车在楼道充电有火灾隐患，希望在小区内集中设置充电桩。",
            "公共设施维护",
            2,
        )
        s.topic_cosign(actor=self.partymember, topic=charging, now=self.ago(1.5))
        self.propose(
            self.neighbours[3], "楼道灯更换为声控感应灯", "3号楼楼道灯常亮费电，部分损坏。", "楼道与环境卫生", 1
        )
        # declined, with the reason published
        wall = self.propose(self.neighbours[4], "拆除小区南侧围墙", "希望拆除围墙方便出行。", None, 25)
        s.topic_decline(
            actor=secretary,
            topic=wall,
            reason="围墙属于相邻单位产权，不在社区协商范围内；已转街道协调。",
            now=self.ago(24),
        )
        # on the agenda: a session in two days, a household vote open now
        parking = self.propose(
            secretary,
            "规范小区停车秩序",
            "党支部提出：夜间乱停车堵塞消防通道。",
            "停车秩序与交通",
            6,
            source="party_branch",
        )
        s.topic_accept(actor=secretary, topic=parking, now=self.ago(5))
        session = s.session_schedule(
            actor=secretary,
            topic=parking,
            venue="社区党群服务中心议事厅",
            starts_at=self.ago(-2, hour=1),
            matter="消防通道如何划线、车位如何分配",
            method="meeting",
            now=self.ago(4),
        )
        for account in self.neighbours[:4]:
            s.session_invite(actor=secretary, session=session, kind="representative", resident=account.resident)
        s.session_invite(actor=secretary, session=session, kind="organisation", name="小区物业服务中心")
        vote = self.household_vote(
            parking, "是否同意在消防通道两侧划禁停线", self.ago(1), self.ago(-5), created=self.ago(1.1)
        )
        self.online(vote, self.neighbours[:6], self.ago(0.5))
        # decided and being carried out
        clutter = self.signed_and_accepted("清理楼道堆物", "楼道堆放杂物，存在安全隐患。", "楼道与环境卫生", 16)
        self.held_session(clutter, 12, "楼道杂物清理时间和方式")
        s.topic_decide(
            actor=secretary,
            topic=clutter,
            decision="每月最后一个周六集中清理，楼栋长牵头。",
            carried_out_by="楼栋长、环境卫生队",
            now=self.ago(11),
        )
        task = s.task_add(
            actor=secretary,
            topic=clutter,
            title="1—4号楼集中清理",
            owner="楼栋长",
            due_on=self.context.today + 10 * DAY,
        )
        s.task_progress(
            actor=secretary, task=task, progress=60, note="已完成1、2号楼", today=self.context.today - 2 * DAY
        )
        # carried out and rated
        fitness = self.signed_and_accepted("维修小区健身器材", "健身器材锈蚀损坏。", "公共设施维护", 40)
        self.held_session(fitness, 36, "维修还是更换，经费从哪里来")
        s.topic_decide(
            actor=secretary,
            topic=fitness,
            decision="使用社区微实事经费更换三件器材。",
            carried_out_by="居委会",
            now=self.ago(35),
        )
        task = s.task_add(
            actor=secretary, topic=fitness, title="采购并安装器材", owner="居委会", due_on=self.context.today - 10 * DAY
        )
        s.task_progress(actor=secretary, task=task, progress=100, today=self.context.today - 12 * DAY)
        s.topic_complete(actor=secretary, topic=fitness, result_summary="三件新器材已安装使用。", now=self.ago(10))
        for index, account in enumerate(self.neighbours[:6]):
            s.topic_rate(actor=account, topic=fitness, score=(5, 5, 4, 4, 3, 5)[index], now=self.ago(9 - index))
        self.major_with_both_publications()
        self.major_half_way()

    def _party_meeting(self, topic, held_on, days: float):
        from gongzhi.deliberation.resolutions import party_member_ids

        members = sorted(party_member_ids(self.secretary, topic))
        present = members[: max(1, -(-len(members) * 3 // 4))]  # three quarters present
        self.services.resolution_review(
            actor=self.secretary,
            topic=topic,
            held_on=held_on,
            present_member_ids=present,
            in_favour=max(1, len(present) - 1),
            against=1 if len(present) > 2 else 0,
            minutes="党员大会审议通过两委商议的方案。",
            now=self.ago(days),
        )

    def major_with_both_publications(self) -> None:
        s, secretary, today = self.services, self.secretary, self.context.today
        building = _building_of(self.context)
        lift = self.signed_and_accepted(
            f"{building.name}加装电梯", "楼内多为老年住户，上下楼困难，希望加装电梯。", "老旧小区改造与加装电梯", 62
        )
        s.resolution_propose(
            actor=secretary,
            topic=lift,
            held_on=today - 58 * DAY,
            attendees="社区党委",
            minutes="社区党委提议启动加装电梯。",
            now=self.ago(58),
        )
        s.resolution_discuss(
            actor=secretary,
            topic=lift,
            held_on=today - 54 * DAY,
            attendees="社区两委成员",
            entitled_count=9,
            present_count=9,
            in_favour=8,
            abstaining=1,
            minutes="两委商议费用分摊方案。",
            now=self.ago(54),
        )
        self._party_meeting(lift, today - 50 * DAY, 50)
        # the building's households vote before the residents' meeting: online and on paper, then published
        vote = self.household_vote(
            lift,
            f"{building.name}是否同意加装电梯",
            self.ago(48),
            self.ago(45),
            buildings=[building],
            created=self.ago(48.5),
        )
        self.online(vote, [self.resident, *self.neighbours], self.ago(47.5), choices=(1, 1, 1, 1, 2))
        from gongzhi.deliberation.selectors import paper_candidates

        remaining = paper_candidates(vote)
        paper = [
            s.PaperEntry(choice=1 if index % 5 else 2, household=household)
            for index, household in enumerate(remaining[: max(1, len(remaining) * 2 // 3)])
        ]
        s.paper_ballots_enter(
            actor=secretary,
            vote=vote,
            photo=_photo(vote.pk),
            entries=paper,
            note="入户收集的纸质选票",
            now=self.ago(45.5),
        )
        self.ballots += len(paper)
        s.vote_result_publish(actor=secretary, vote=vote, now=self.ago(44.9))
        s.resolution_decide(
            actor=secretary,
            topic=lift,
            held_on=today - 42 * DAY,
            entitled_count=45,
            present_count=38,
            in_favour=35,
            against=2,
            abstaining=1,
            minutes="居民代表会议表决通过。",
            text=f"同意{building.name}加装电梯，费用按楼层系数分摊，政府补贴部分由社区申报。",
            carried_out_by="居委会、电梯公司",
            now=self.ago(42),
        )
        s.resolution_publish(actor=secretary, topic=lift, now=self.ago(41))
        task = s.task_add(actor=secretary, topic=lift, title="电梯施工与验收", owner="电梯公司", due_on=today - 8 * DAY)
        s.task_progress(actor=secretary, task=task, progress=100, note="已通过特种设备验收", today=today - 8 * DAY)
        s.topic_complete(actor=secretary, topic=lift, result_summary="电梯已验收并投入使用。", now=self.ago(6))
        s.resolution_result_publish(
            actor=secretary, topic=lift, result_text="电梯已于本月验收并投入使用，费用决算已公示。", now=self.ago(5)
        )

    def major_half_way(self) -> None:
        s, secretary, today = self.services, self.secretary, self.context.today
        income = self.propose(
            secretary, "社区公共收益使用方案", "广告位和停车收益如何使用。", "社区公共收益使用", 16, source="staff"
        )
        s.topic_accept(actor=secretary, topic=income, now=self.ago(15))
        s.resolution_propose(
            actor=secretary,
            topic=income,
            held_on=today - 12 * DAY,
            attendees="社区党委",
            minutes="党委提议",
            now=self.ago(12),
        )
        s.resolution_discuss(
            actor=secretary,
            topic=income,
            held_on=today - 8 * DAY,
            attendees="两委成员",
            entitled_count=9,
            present_count=8,
            in_favour=7,
            against=1,
            minutes="两委商议",
            now=self.ago(8),
        )


def top_up(context, now: datetime) -> dict[str, int]:
    """A vote open now and a topic collecting co-signatures, if the demo has none (on a later day)."""
    from gongzhi.deliberation import services
    from gongzhi.deliberation.models import Topic, TopicState, Vote, VoteState

    community = context.main_community
    counts = {"topic": 0, "vote": 0, "ballot": 0}
    if not Topic.objects.filter(community=community, state=TopicState.PROPOSED).exists():
        services.topic_propose(
            actor=context.account("resident"),
            community=community,
            title=f"{timezone.localdate(now):%m月}社区议题：增设休息座椅",
            description="小区步道缺少休息座椅。",
            now=now,
        )
        counts["topic"] += 1
    open_now = Vote.objects.filter(community=community, state=VoteState.OPEN, opens_at__lte=now, closes_at__gt=now)
    if not open_now.exists():
        secretary = context.account("secretary")
        builder = _Builder(context, services, community, secretary, _neighbours(context), {})
        topic = builder.propose(
            secretary,
            f"{timezone.localdate(now):%m月}小区议事：垃圾分类投放点",
            "投放点位置调整。",
            None,
            0.2,
            source="staff",
        )
        services.topic_accept(actor=secretary, topic=topic, now=now - timedelta(hours=4))
        vote = builder.household_vote(
            topic, "是否同意调整垃圾投放点", now - timedelta(hours=2), now + 5 * DAY, created=now - timedelta(hours=3)
        )
        builder.online(vote, builder.neighbours[:4], now - timedelta(hours=1))
        counts["topic"] += 1
        counts["vote"] = builder.votes
        counts["ballot"] = builder.ballots
    return counts
