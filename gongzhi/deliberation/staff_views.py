"""Staff pages of deliberation: the agenda (table, filters, figures, Excel), the catalogue and rules, one topic's
work (accept or decline, the five steps, the four-step resolution and its publications, votes, tasks), and a vote's
paper ballots, result and chain. Each POST is one service call; a refusal is shown with what was typed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from io import BytesIO
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gongzhi.core.errors import DomainError, NotFound, ValidationFailed
from gongzhi.core.figures import Period
from gongzhi.core.masking import mask_name
from gongzhi.core.pagination import page_of
from gongzhi.core.views_support import domain_errors
from gongzhi.people.models import Resident
from gongzhi.people.selectors import party_organisation_choices
from gongzhi.places.models import Place, PlaceKind
from gongzhi.places.selectors import household_address_labels

from . import kpis, selectors, services
from .models import (
    CosignBasis,
    HouseholdVoters,
    Majority,
    ParticipantKind,
    ResolutionStepKind,
    Secrecy,
    SessionMethod,
    TopicState,
    VoteKind,
)
from .resolutions import party_member_ids

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _int(value: Any, field: str = "value") -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(fields={field: _("Enter a whole number.")}) from None


def _date(value: Any, field: str) -> date:
    parsed = parse_date(value or "")
    if parsed is None:
        raise ValidationFailed(fields={field: _("Enter a date.")})
    return parsed


def _moment(value: Any, field: str) -> datetime:
    parsed = parse_datetime(value or "")
    if parsed is None:
        raise ValidationFailed(fields={field: _("Enter a date and time.")})
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _require_staff(user) -> list[Place]:
    communities = selectors.managed_communities(user)
    if not communities:
        raise NotFound()
    return communities


@login_required
@domain_errors
def agenda(request):
    """All topics in reach: filter by community, state and text; the figures of this month."""
    user = request.user
    communities = _require_staff(user)
    community = selectors.access_community(user, request.GET["community"]) if request.GET.get("community") else None
    filters = selectors.AgendaFilters(
        community=community, state=request.GET.get("state", ""), search=request.GET.get("q", "")
    )
    queryset = selectors.agenda(user, filters)
    if request.GET.get("format") == "xlsx":
        return _agenda_xlsx(queryset)
    page = page_of(request, queryset)
    today = timezone.localdate()
    place = community or communities[0]
    figures = kpis.all_figures(place, Period.month(today.year, today.month))
    context = {
        "topics": page.object_list,
        "page": page,
        "communities": communities,
        "community": community,
        "filters": filters,
        "states": TopicState.choices,
        "figures": figures,
        "figures_place": place,
    }
    return render(request, "deliberation/staff_agenda.html", context)


def _agenda_xlsx(queryset) -> HttpResponse:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "议题"
    sheet.append([_("No."), _("Community"), _("Title"), _("State"), _("Co-signatures"), _("Proposed"), _("Decision")])
    for topic in queryset[:5000]:
        sheet.append(
            [
                topic.pk,
                topic.community.name,
                topic.title,
                topic.get_state_display(),
                topic.cosign_progress,
                timezone.localtime(topic.proposed_at).strftime("%Y-%m-%d"),
                topic.decision,
            ]
        )
    buffer = BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="deliberation-topics.xlsx"'
    return response


@login_required
@domain_errors
def catalogue(request, community_id: int):
    """The community's consultation catalogue, liaisons and rules, with their forms."""
    user = request.user
    community = selectors.access_community(user, community_id)
    error = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            _catalogue_action(user, community, action, request.POST)
        except DomainError as refusal:
            error = refusal
        else:
            messages.success(request, _("Saved."))
            return redirect("deliberation:catalogue", community.pk)
    context = {
        "community": community,
        "entries": list(selectors.catalogue(community)),
        "liaisons": [(item, mask_name(item.resident.name)) for item in selectors.liaisons(community)],
        "rule": services.settings_for(community),
        "bases": CosignBasis.choices,
        "branches": [o for o in party_organisation_choices(user, community) if o.kind == "branch"],
        "error": error,
        "form": request.POST if error else {},
    }
    return render(request, "deliberation/staff_catalogue.html", context, status=error.status if error else 200)


def _catalogue_action(user, community: Place, action: str, data) -> None:
    if action == "entry_add":
        services.catalogue_entry_add(
            actor=user,
            community=community,
            name=data.get("name", ""),
            description=data.get("description", ""),
            is_major=bool(data.get("is_major")),
        )
    elif action == "entry_retire":
        entry = selectors.catalogue(community).filter(pk=_int(data.get("entry"))).first()
        if entry is None:
            raise NotFound()
        services.catalogue_entry_retire(actor=user, entry=entry)
    elif action == "liaison_appoint":
        resident = Resident.objects.filter(pk=_int(data.get("resident"), "resident"), is_active=True).first()
        if resident is None:
            raise ValidationFailed(fields={"resident": _("No such resident.")})
        services.liaison_appoint(actor=user, community=community, resident=resident, starts_on=timezone.localdate())
    elif action == "liaison_end":
        liaison = selectors.liaisons(community).filter(pk=_int(data.get("liaison"))).first()
        if liaison is None:
            raise NotFound()
        services.liaison_end(actor=user, liaison=liaison, ends_on=timezone.localdate())
    elif action == "propose":
        source = data.get("source", "staff")
        branch = None
        if source == "party_branch":
            branch = next(
                (o for o in party_organisation_choices(user, community) if str(o.pk) == data.get("party_organisation")),
                None,
            )
        entry = selectors.catalogue(community).filter(pk=_int(data.get("catalogue_entry") or 0)).first()
        services.topic_propose(
            actor=user,
            community=community,
            title=data.get("title", ""),
            description=data.get("description", ""),
            catalogue_entry=entry,
            source=source,
            party_organisation=branch,
        )
    elif action == "settings":
        services.settings_update(
            actor=user,
            community=community,
            cosign_threshold=_int(data.get("cosign_threshold"), "cosign_threshold"),
            cosign_basis=data.get("cosign_basis", ""),
            meeting_quorum_numerator=_int(data.get("meeting_quorum_numerator"), "meeting_quorum_numerator"),
            meeting_quorum_denominator=_int(data.get("meeting_quorum_denominator"), "meeting_quorum_denominator"),
        )
    else:
        raise NotFound()


def _staff_topic_context(request, topic, *, error=None, form=None) -> dict:
    resolution = selectors.resolution_of(topic)
    now = timezone.now()
    return {
        "topic": topic,
        "error": error,
        "form": form or {},
        "similar": selectors.similar_topics(topic.community, topic.title, exclude_id=topic.pk),
        "sessions": list(topic.sessions.prefetch_related("invitations")),
        "resolution": resolution,
        "steps": list(resolution.steps.all()) if resolution else [],
        "next_step": (resolution.steps_done + 1 if resolution else 1) if topic.is_major else None,
        "next_action": f"step_{resolution.steps_done + 1 if resolution else 1}",
        "step_kinds": ResolutionStepKind.choices,
        "votes": list(selectors.votes_of_topic(topic)),
        "tasks": list(topic.tasks.all()),
        "methods": SessionMethod.choices,
        "participant_kinds": ParticipantKind.choices,
        "vote_kinds": VoteKind.choices,
        "secrecies": Secrecy.choices,
        "majorities": Majority.choices,
        "household_voters": HouseholdVoters.choices,
        "buildings": list(
            Place.objects.filter(path__startswith=topic.community.path, kind=PlaceKind.BUILDING).order_by("path")[:200]
        ),
        "party_members": _party_members(request.user, topic) if topic.is_major else [],
        "now": now,
        "today": timezone.localdate(now),
        "default_close": timezone.localtime(now + timedelta(days=7)),
    }


def _party_members(user, topic) -> list[tuple[int, str]]:
    ids = party_member_ids(user, topic)
    return [(r.pk, mask_name(r.name)) for r in Resident.objects.filter(pk__in=ids).order_by("pk")]


@login_required
@domain_errors
def staff_topic(request, topic_id: int):
    topic = selectors.access_topic(request.user, topic_id)
    if not services.can_manage(request.user, topic.community):
        raise NotFound()
    return render(request, "deliberation/staff_topic.html", _staff_topic_context(request, topic))


def _topic_actions(user, topic, data, files) -> dict[str, Callable[[], Any]]:
    """Each action of the staff topic page: one service call with the form's values."""

    def session_of():
        session = selectors.access_session(user, data.get("session"))
        if session.topic_id != topic.pk:
            raise NotFound()
        return session

    def step_common() -> dict:
        return {
            "actor": user,
            "topic": topic,
            "held_on": _date(data.get("held_on"), "held_on"),
            "minutes": data.get("minutes", ""),
        }

    def counts() -> dict:
        return {
            "present_count": _int(data.get("present_count"), "present_count"),
            "in_favour": _int(data.get("in_favour"), "in_favour"),
            "against": _int(data.get("against") or 0, "against"),
            "abstaining": _int(data.get("abstaining") or 0, "abstaining"),
        }

    return {
        "accept": lambda: services.topic_accept(actor=user, topic=topic),
        "decline": lambda: services.topic_decline(actor=user, topic=topic, reason=data.get("reason", "")),
        "session_schedule": lambda: services.session_schedule(
            actor=user,
            topic=topic,
            venue=data.get("venue", ""),
            starts_at=_moment(data.get("starts_at"), "starts_at"),
            matter=data.get("matter", ""),
            method=data.get("method", ""),
        ),
        "session_invite": lambda: services.session_invite(
            actor=user, session=session_of(), kind=data.get("kind", ""), name=data.get("name", "")
        ),
        "session_record": lambda: services.session_record(
            actor=user,
            session=session_of(),
            attended=[_int(v) for v in data.getlist("attended")],
            summary=data.get("summary", ""),
        ),
        "decide": lambda: services.topic_decide(
            actor=user, topic=topic, decision=data.get("decision", ""), carried_out_by=data.get("carried_out_by", "")
        ),
        "step_1": lambda: services.resolution_propose(**step_common(), attendees=data.get("attendees", "")),
        "step_2": lambda: services.resolution_discuss(
            **step_common(),
            **counts(),
            attendees=data.get("attendees", ""),
            entitled_count=_int(data.get("entitled_count"), "entitled_count"),
        ),
        "step_3": lambda: services.resolution_review(
            **step_common(),
            present_member_ids=[_int(v) for v in data.getlist("present")],
            in_favour=_int(data.get("in_favour"), "in_favour"),
            against=_int(data.get("against") or 0, "against"),
            abstaining=_int(data.get("abstaining") or 0, "abstaining"),
        ),
        "step_4": lambda: services.resolution_decide(
            **step_common(),
            **counts(),
            entitled_count=_int(data.get("entitled_count"), "entitled_count"),
            text=data.get("text", ""),
            attendees=data.get("attendees", ""),
            carried_out_by=data.get("carried_out_by", ""),
        ),
        "resolution_edit": lambda: services.resolution_edit(actor=user, topic=topic, text=data.get("text", "")),
        "resolution_publish": lambda: services.resolution_publish(actor=user, topic=topic),
        "result_publish": lambda: services.resolution_result_publish(
            actor=user, topic=topic, result_text=data.get("result_text", "")
        ),
        "vote_create": lambda: services.vote_create(
            actor=user,
            topic=topic,
            title=data.get("title", ""),
            kind=data.get("kind", ""),
            choices=data.get("choices", "").splitlines(),
            opens_at=_moment(data.get("opens_at"), "opens_at"),
            closes_at=_moment(data.get("closes_at"), "closes_at"),
            secrecy=data.get("secrecy", Secrecy.OPEN),
            majority=data.get("majority", Majority.SIMPLE),
            household_voters=data.get("household_voters", HouseholdVoters.ADULTS),
            buildings=list(
                Place.objects.filter(pk__in=[_int(v) for v in data.getlist("buildings")], kind=PlaceKind.BUILDING)
            ),
        ),
        "task_add": lambda: services.task_add(
            actor=user,
            topic=topic,
            title=data.get("title", ""),
            owner=data.get("owner", ""),
            due_on=_date(data.get("due_on"), "due_on"),
        ),
        "task_progress": lambda: services.task_progress(
            actor=user,
            task=_task_of(user, topic, data.get("task")),
            progress=_int(data.get("progress"), "progress"),
            note=data.get("note", ""),
        ),
        "complete": lambda: services.topic_complete(
            actor=user, topic=topic, result_summary=data.get("result_summary", "")
        ),
    }


def _task_of(user, topic, task_id):
    task = selectors.access_task(user, task_id)
    if task.topic_id != topic.pk:
        raise NotFound()
    return task


@login_required
@domain_errors
@require_POST
def staff_topic_action(request, topic_id: int, action: str):
    user = request.user
    topic = selectors.access_topic(user, topic_id)
    if not services.can_manage(user, topic.community):
        raise NotFound()
    call = _topic_actions(user, topic, request.POST, request.FILES).get(action)
    if call is None:
        raise NotFound()
    try:
        call()
    except DomainError as refusal:
        topic.refresh_from_db()
        context = _staff_topic_context(request, topic, error=refusal, form={"action": action, **request.POST.dict()})
        return render(request, "deliberation/staff_topic.html", context, status=refusal.status)
    messages.success(request, _("Saved."))
    return redirect("deliberation:staff_topic", topic.pk)


@login_required
@domain_errors
def staff_vote(request, vote_id: int):
    """A vote's page for staff: participation so far, paper ballots (with the tally sheet), publishing the result
    after the close, and the chain recomputed."""
    user = request.user
    vote = selectors.access_vote(user, vote_id)
    if not services.can_manage(user, vote.community):
        raise NotFound()
    error = None
    if request.method == "POST":
        try:
            _vote_action(request, vote)
        except DomainError as refusal:
            error = refusal
        else:
            messages.success(request, _("Saved."))
            return redirect("deliberation:staff_vote", vote.pk)
        vote.refresh_from_db()
    candidates = selectors.paper_candidates(vote)
    labels = (
        household_address_labels(candidates)
        if vote.kind == VoteKind.HOUSEHOLD
        else household_address_labels([c.household for c in candidates])
    )
    rows = [
        (c.pk, labels.get(c.pk, c.name))
        if vote.kind == VoteKind.HOUSEHOLD
        else (c.pk, f"{labels.get(c.household_id, '')} {mask_name(c.name)}")
        for c in candidates
    ]
    now = timezone.now()
    try:
        result = selectors.vote_result(vote, now=now)
    except DomainError:
        result = None
    context = {
        "vote": vote,
        "topic": vote.topic,
        "choices": list(vote.choices.all()),
        "candidates": rows,
        "result": result,
        "report": selectors.chain_report(vote),
        "error": error,
        "closed": now >= vote.closes_at,
    }
    return render(request, "deliberation/staff_vote.html", context, status=error.status if error else 200)


def _vote_action(request, vote) -> None:
    user = request.user
    action = request.POST.get("action")
    if action == "publish":
        services.vote_result_publish(actor=user, vote=vote)
        return
    if action != "paper":
        raise NotFound()
    entries = []
    for key, value in request.POST.items():
        if not key.startswith("ballot_") or not value:
            continue
        target = _int(key.removeprefix("ballot_"))
        if vote.kind == VoteKind.HOUSEHOLD:
            household = Place.objects.filter(pk=target, kind=PlaceKind.HOUSEHOLD).first()
            entries.append(services.PaperEntry(choice=_int(value, "choice"), household=household))
        else:
            resident = Resident.objects.select_related("household").filter(pk=target).first()
            entries.append(services.PaperEntry(choice=_int(value, "choice"), resident=resident))
    services.paper_ballots_enter(
        actor=user, vote=vote, photo=request.FILES.get("photo"), entries=entries, note=request.POST.get("note", "")
    )
