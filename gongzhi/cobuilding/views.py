"""Pages of co-building: representatives and residents on phones, community staff in tables.

Thin views: parse → access_<thing> → one service call → render. A DomainError from a form's service call is shown
beside the form (what was typed is kept); anything out of reach renders the same "not found" page.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core.access import reach
from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.figures import Period
from gongzhi.core.pagination import page_of
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors, private_file_response
from gongzhi.points.selectors import active_item

from . import selectors, services
from .exports import XLSX_CONTENT_TYPE, report_back_workbook
from .kpis import cobuilding_kpis
from .models import AssessmentParty, Meeting, Need, Pairing, ProgressPhoto, Project, ResourceKind, Spending


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat((value or "").strip()) if value else None
    except ValueError:
        return None


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------- home


@login_required
@domain_errors
def home(request):
    """One page for everyone: the representative's organisations and projects, the resident's community, the
    staff's figures and what waits for them."""
    user = request.user
    now = timezone.now()
    today = timezone.localdate(now)
    organisations = selectors.represented_organisations(user)
    context: dict[str, Any] = {
        "organisations": organisations,
        "is_cobuilding_staff": selectors.is_staff(user),
        "year": today.year,
    }
    if organisations:
        projects = selectors.projects_visible(user)
        context.update(
            open_projects=list(projects.filter(state=Project.State.OPEN).order_by("-created_at")[:20]),
            my_projects=list(
                projects.filter(claimer__in=organisations)
                .exclude(state=Project.State.CANCELLED)
                .order_by("-claimed_at")[:20]
            ),
            my_resources=list(selectors.resources_visible(user).filter(organisation__in=organisations)[:20]),
            my_matches=list(
                selectors.matches_visible(user).filter(resource__organisation__in=organisations, state="suggested")[:10]
            ),
            agreements=list(selectors.agreements_visible(user).filter(organisation__in=organisations)),
        )
    community = selectors.home_community(user, today=today)
    if community is not None:
        context.update(
            community=community,
            done_projects=list(selectors.public_projects(community)[:20]),
        )
    if context["is_cobuilding_staff"]:
        communities = selectors.staff_communities(user)
        place = selectors.figures_place(user)
        context.update(
            communities=communities,
            waiting=list(selectors.project_list(user, state=Project.State.REPORTED)[:20]),
            suggested=selectors.matches_visible(user).filter(state="suggested").count(),
            requested=Spending.objects.filter(
                fund__in=selectors.funds_visible(user), state=Spending.State.REQUESTED
            ).count(),
        )
        if place is not None:
            context["kpis"] = cobuilding_kpis(actor=user, place=place, period=Period.year(today.year))
            context["kpi_place"] = place
    return render(request, "cobuilding/home.html", context)


@login_required
@domain_errors
def home_card(request):
    """Co-building's card on the home page (loaded by htmx): what waits for a representative (projects to claim,
    suggestions), for staff (projects to confirm), or a resident's way to the community's projects. Nothing to show:
    an empty answer."""
    user = request.user
    organisations = selectors.represented_organisations(user)
    context: dict[str, Any] = {"organisations": organisations}
    if organisations:
        projects = selectors.projects_visible(user)
        context["open_count"] = projects.filter(state=Project.State.OPEN).count()
        context["ours_count"] = projects.filter(claimer__in=organisations, state=Project.State.CLAIMED).count()
        context["match_count"] = (
            selectors.matches_visible(user).filter(resource__organisation__in=organisations, state="suggested").count()
        )
    if selectors.is_staff(user):
        context["confirm_count"] = selectors.project_list(user, state=Project.State.REPORTED).count()
        context["staff"] = True
    elif not organisations:
        community = selectors.home_community(user, today=timezone.localdate())
        if community is None:
            return HttpResponse("")
        context["community"] = community
    return render(request, "cobuilding/_home_card.html", context)


# ---------------------------------------------------------------- resources, needs, matches


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def resource_new(request):
    user = request.user
    organisations = selectors.represented_organisations(user)
    if not organisations:
        raise NotFound()
    agreements = list(selectors.agreements_visible(user).filter(organisation__in=organisations, state="active"))
    error = None
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            organisation = next(o for o in organisations if o.pk == _int(data.get("organisation")))
        except StopIteration:
            organisation = organisations[0]
        try:
            community = selectors.access_agreement_community(user, data.get("community"))
            services.resource_publish(
                actor=user,
                organisation=organisation,
                community=community,
                kind=data.get("kind", ""),
                title=data.get("title", ""),
                description=data.get("description", ""),
                opening_times=data.get("opening_times", ""),
                available_from=_day(data.get("available_from")),
                available_until=_day(data.get("available_until")),
                now=timezone.now(),
            )
        except DomainError as refusal:
            error = refusal
        else:
            messages.success(request, _("Resource published. Matching needs of the community are suggested now."))
            return redirect("cobuilding:home")
    return render(
        request,
        "cobuilding/resource_form.html",
        {
            "organisations": organisations,
            "agreements": agreements,
            "kinds": ResourceKind.choices,
            "error": error,
            "data": data,
        },
        status=error.status if error else 200,
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def needs(request):
    user = request.user
    if not selectors.is_staff(user):
        raise NotFound()
    error = None
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            place = selectors.access_place_for(user, data.get("place"), Permission.COBUILDING_MANAGE)
            services.need_create(
                actor=user,
                place=place,
                kind=data.get("kind", ""),
                title=data.get("title", ""),
                description=data.get("description", ""),
                needed_from=_day(data.get("needed_from")),
                needed_until=_day(data.get("needed_until")),
                source_kind=data.get("source_kind", "typed"),
                source_reference=data.get("source_reference", ""),
                now=timezone.now(),
            )
        except DomainError as refusal:
            error = refusal
        else:
            messages.success(request, _("Need published."))
            return redirect("cobuilding:needs")
    rows = selectors.needs_visible(user).order_by("-created_at")
    state = request.GET.get("state", "")
    if state:
        rows = rows.filter(state=state)
    return render(
        request,
        "cobuilding/needs.html",
        {
            "page": page_of(request, rows),
            "matches": list(selectors.matches_visible(user).filter(state="suggested")[:50]),
            "communities": selectors.staff_communities(user),
            "kinds": ResourceKind.choices,
            "sources": Need.Source.choices,
            "states": Need.State.choices,
            "state": state,
            "error": error,
            "data": data,
        },
        status=error.status if error else 200,
    )


@login_required
@domain_errors
@require_POST
def match_answer(request, match_id: int):
    match = selectors.access_match(request.user, match_id)
    services.match_answer(actor=request.user, match=match, accept=request.POST.get("accept") == "1", now=timezone.now())
    return redirect("cobuilding:needs")


# ---------------------------------------------------------------- projects


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def projects(request):
    """Staff: the project list (search, filter by state, pager) and a new project, from a need or not."""
    user = request.user
    if not selectors.is_staff(user):
        raise NotFound()
    error = None
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            place = selectors.access_place_for(user, data.get("place"), Permission.COBUILDING_MANAGE)
            need = selectors.access_need(user, data.get("need")) if data.get("need") else None
            resources = [selectors.access_resource(user, pk) for pk in request.POST.getlist("resources") if pk]
            item = active_item(data.get("point_item")) if data.get("point_item") else None
            project = services.project_create(
                actor=user,
                place=place,
                title=data.get("title", ""),
                description=data.get("description", ""),
                need=need,
                resources=resources,
                budget=data.get("budget") or "0",
                point_item=item,
                now=timezone.now(),
            )
        except DomainError as refusal:
            error = refusal
        else:
            messages.success(request, _("Project put on the list: organisations can claim it now."))
            return redirect("cobuilding:project", project.pk)
    state = request.GET.get("state", "")
    text = request.GET.get("q", "")
    rows = selectors.project_list(user, state=state, text=text)
    return render(
        request,
        "cobuilding/projects.html",
        {
            "page": page_of(request, rows),
            "states": Project.State.choices,
            "state": state,
            "q": text,
            "communities": selectors.staff_communities(user),
            "open_needs": list(selectors.needs_visible(user).filter(state="open")[:100]),
            "error": error,
            "data": data,
        },
        status=error.status if error else 200,
    )


def _project_context(request, project: Project) -> dict:
    user = request.user
    now = timezone.now()
    organisations = selectors.represented_organisations(user)
    return {
        "project": project,
        "progress": list(project.progress.prefetch_related("photos").order_by("reported_at", "id")),
        "resources": list(project.resources.select_related("organisation")),
        "organisations": organisations,
        "is_claimer": project.claimer_id in {o.pk for o in organisations},
        "is_staff_here": reach(user, Permission.COBUILDING_MANAGE).covers(project.place.path),
        "may_rate": project.state == Project.State.CONFIRMED
        and selectors.home_community(user, today=timezone.localdate(now)) == project.community
        and not project.ratings.filter(rated_by=user).exists(),
    }


@login_required
@domain_errors
def project_detail(request, project_id: int):
    now = timezone.now()
    project = selectors.access_public_project(request.user, project_id, today=timezone.localdate(now))
    return render(request, "cobuilding/project.html", _project_context(request, project))


@login_required
@domain_errors
@require_POST
def project_action(request, project_id: int, action: str):
    """Claim, release, report progress / completion (with photos), confirm or send back, rate, ask for points."""
    user = request.user
    now = timezone.now()
    project = selectors.access_public_project(user, project_id, today=timezone.localdate(now))
    try:
        if action == "claim":
            organisation = selectors.active_organisation(request.POST.get("organisation"))
            services.project_claim(actor=user, project=project, organisation=organisation, now=now)
            messages.success(request, _("Claimed. Report progress with photos as the work goes on."))
        elif action == "release":
            services.project_release(actor=user, project=project, now=now)
        elif action == "progress":
            completed = request.POST.get("completed") == "1"
            services.project_progress(
                actor=user,
                project=project,
                note=request.POST.get("note", ""),
                photos=request.FILES.getlist("photos"),
                completed=completed,
                now=now,
            )
            messages.success(
                request, _("Reported done: the community will confirm it.") if completed else _("Progress saved.")
            )
        elif action in ("confirm", "send-back"):
            services.project_confirm(actor=user, project=project, accept=action == "confirm", now=now)
            messages.success(request, _("Confirmed.") if action == "confirm" else _("Sent back to the organisation."))
        elif action == "rate":
            services.project_rate(
                actor=user,
                project=project,
                stars=_int(request.POST.get("stars")),
                comment=request.POST.get("comment", ""),
                now=now,
            )
            messages.success(request, _("Thank you for your rating."))
        elif action == "points":
            services.project_points_request(actor=user, project=project, now=now)
            messages.success(request, _("Points claimed: the review committee will review the claim."))
        else:
            raise NotFound()
    except NotFound:
        raise
    except DomainError as refusal:
        project.refresh_from_db()
        context = _project_context(request, project)
        context.update(error=refusal, action=action, data=request.POST)
        return render(request, "cobuilding/project.html", context, status=refusal.status)
    return redirect("cobuilding:project", project.pk)


@login_required
@domain_errors
def progress_photo(request, photo_id: int):
    photo = ProgressPhoto.objects.select_related("progress").filter(pk=_int(photo_id)).first()
    if photo is None:
        raise NotFound()
    selectors.access_public_project(request.user, photo.progress.project_id, today=timezone.localdate())
    return private_file_response(photo.image)


# ---------------------------------------------------------------- fund


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def fund(request, community_id: int, year: int):
    """Staff: the fund of a community and year, requests, approvals, payments. Everyone of the community: the
    public list of spending (print style)."""
    user = request.user
    now = timezone.now()
    home = selectors.home_community(user, today=timezone.localdate(now))
    staff = False
    try:
        community = selectors.access_place_for(user, community_id, Permission.COBUILDING_MANAGE)
        staff = True
    except NotFound:
        if home is None or home.pk != _int(community_id):
            raise
        community = home
    fund_row, spending = selectors.public_spending(community, year)
    error = None
    if request.method == "POST":
        if not staff:
            raise NotFound()
        try:
            if request.POST.get("budget") is not None:
                services.fund_set_budget(
                    actor=user, community=community, year=year, budget=request.POST.get("budget"), now=now
                )
            else:
                if fund_row is None:
                    raise NotFound()
                project = (
                    selectors.access_project(user, request.POST.get("project")) if request.POST.get("project") else None
                )
                services.spending_request(
                    actor=user,
                    fund=fund_row,
                    purpose=request.POST.get("purpose", ""),
                    amount=request.POST.get("amount", ""),
                    project=project,
                    now=now,
                )
        except DomainError as refusal:
            error = refusal
        else:
            return redirect("cobuilding:fund", community.pk, year)
    context = {
        "community": community,
        "year": year,
        "fund": fund_row,
        "spending": spending,
        "staff": staff,
        "error": error,
        "data": request.POST,
        "may_approve": reach(user, Permission.FUND_APPROVE).covers(community.path),
    }
    if staff and fund_row is not None:
        context["all_spending"] = list(fund_row.spendings.select_related("project").order_by("-requested_at"))
        context["projects"] = list(selectors.project_list(user, community_id=community.pk)[:100])
    return render(request, "cobuilding/fund.html", context, status=error.status if error else 200)


@login_required
@domain_errors
@require_POST
def spending_action(request, spending_id: int, action: str):
    spending = selectors.access_spending(request.user, spending_id)
    service = {
        "approve": services.spending_approve,
        "refuse": services.spending_refuse,
        "pay": services.spending_pay,
        "cancel": services.spending_cancel,
    }.get(action)
    if service is None:
        raise NotFound()
    try:
        service(actor=request.user, spending=spending, now=timezone.now())
    except NotFound:
        raise
    except DomainError as refusal:
        messages.error(request, str(refusal.message))
    fund_row = spending.fund
    return redirect("cobuilding:fund", fund_row.community_id, fund_row.year)


# ---------------------------------------------------------------- agreements, network, assessment


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def agreements(request):
    user = request.user
    if not selectors.is_staff(user):
        raise NotFound()
    error = None
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            community = selectors.access_place_for(user, data.get("community"), Permission.COBUILDING_MANAGE)
            services.agreement_sign(
                actor=user,
                organisation=selectors.access_organisation(user, data.get("organisation")),
                community=community,
                scope=data.get("scope", ""),
                starts_on=_day(data.get("starts_on")),  # type: ignore[arg-type]
                ends_on=_day(data.get("ends_on")),  # type: ignore[arg-type]
                signed_file=request.FILES.get("signed_file"),
                now=timezone.now(),
            )
        except DomainError as refusal:
            error = refusal
        else:
            messages.success(request, _("Agreement recorded."))
            return redirect("cobuilding:agreements")
    rows = selectors.agreements_visible(user).order_by("-starts_on", "-id")
    q = request.GET.get("q", "").strip()
    if q:
        rows = rows.filter(organisation__name__icontains=q[:50])
    return render(
        request,
        "cobuilding/agreements.html",
        {
            "page": page_of(request, rows),
            "q": q,
            "communities": selectors.staff_communities(user),
            "organisations": list(selectors.organisations_for_report(user).order_by("name")[:300]),
            "error": error,
            "data": data,
        },
        status=error.status if error else 200,
    )


@login_required
@domain_errors
def agreement_file(request, agreement_id: int):
    agreement = selectors.access_agreement(request.user, agreement_id)
    return private_file_response(agreement.signed_file)


def _organisations_from(user, values: list[str]) -> list:
    return [selectors.access_organisation(user, value) for value in values if value]


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def network(request):
    """Staff: alliances with their ranking, pairings with commitments, meetings with matters, activities; and the
    forms that record each (``form`` names which one was sent)."""
    user = request.user
    if not selectors.is_staff(user):
        raise NotFound()
    error, sent = None, ""
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        sent = data.get("form", "")
        now = timezone.now()
        try:
            _network_form(request, sent, now)
        except NotFound:
            raise
        except DomainError as refusal:
            error = refusal
        else:
            messages.success(request, _("Saved."))
            return redirect("cobuilding:network")
    alliances = list(selectors.alliances_visible(user).order_by("name")[:50])
    pairings = list(selectors.pairings_visible(user).prefetch_related("commitments")[:100])
    return render(
        request,
        "cobuilding/network.html",
        {
            "alliances": [(alliance, selectors.alliance_ranking(user, alliance)) for alliance in alliances],
            "pairings": pairings,
            "commitments": [c for pairing in pairings for c in pairing.commitments.all() if c.state == "promised"],
            "meetings": page_of(request, selectors.meetings_visible(user).prefetch_related("matters")),
            "activities": list(selectors.activities_visible(user)[:20]),
            "pairing_kinds": Pairing.Kind.choices,
            "meeting_kinds": Meeting.Kind.choices,
            "communities": selectors.staff_communities(user),
            "organisations": list(selectors.organisations_for_report(user).order_by("name")[:300]),
            "error": error,
            "sent": sent,
            "data": data,
            "year": timezone.localdate().year,
        },
        status=error.status if error else 200,
    )


def _network_form(request, sent: str, now) -> None:
    user, data = request.user, request.POST
    if sent == "meeting":
        community = selectors.access_place_for(user, data.get("community"), Permission.COBUILDING_MANAGE)
        services.meeting_record(
            actor=user,
            community=community,
            kind=data.get("kind", ""),
            title=data.get("title", ""),
            held_on=_day(data.get("held_on")),  # type: ignore[arg-type]
            attendees=_organisations_from(user, data.getlist("attendees")),
            attendance=_int(data.get("attendance")),
            matters=(data.get("matters") or "").splitlines(),
            now=now,
        )
    elif sent == "pairing":
        community = selectors.access_place_for(user, data.get("community"), Permission.COBUILDING_MANAGE)
        partner = (
            selectors.access_organisation(user, data.get("partner_organisation"))
            if data.get("partner_organisation")
            else None
        )
        services.pairing_create(
            actor=user,
            community=community,
            kind=data.get("kind", ""),
            started_on=_day(data.get("started_on")),  # type: ignore[arg-type]
            partner_organisation=partner,
            partner_name=data.get("partner_name", ""),
            now=now,
        )
    elif sent == "commitment":
        pairing = selectors.access_pairing(user, data.get("pairing"))
        services.commitment_add(
            actor=user, pairing=pairing, year=_int(data.get("year")), title=data.get("title", ""), now=now
        )
    elif sent == "activity":
        community = selectors.access_place_for(user, data.get("community"), Permission.COBUILDING_MANAGE)
        commitment = selectors.access_commitment(user, data.get("commitment")) if data.get("commitment") else None
        services.activity_record(
            actor=user,
            community=community,
            title=data.get("title", ""),
            held_on=_day(data.get("held_on")),  # type: ignore[arg-type]
            organisations=_organisations_from(user, data.getlist("organisations")),
            participants=_int(data.get("participants")),
            pairing=commitment.pairing if commitment else None,
            commitment=commitment,
            now=now,
        )
    elif sent == "alliance":
        place = selectors.access_place_for(user, data.get("place"), Permission.COBUILDING_MANAGE)
        alliance = services.alliance_create(
            actor=user,
            place=place,
            name=data.get("name", ""),
            founded_on=_day(data.get("founded_on")),  # type: ignore[arg-type]
            now=now,
        )
        for organisation in _organisations_from(user, data.getlist("members")):
            services.alliance_join(
                actor=user, alliance=alliance, organisation=organisation, joined_on=alliance.founded_on, now=now
            )
    elif sent == "member":
        alliance = selectors.access_alliance(user, data.get("alliance"))
        services.alliance_join(
            actor=user,
            alliance=alliance,
            organisation=selectors.access_organisation(user, data.get("organisation")),
            joined_on=timezone.localdate(now),
            now=now,
        )
    else:
        raise NotFound()


@login_required
@domain_errors
@require_POST
def matter_solve(request, matter_id: int):
    matter = selectors.access_matter(request.user, matter_id)
    try:
        services.matter_follow_up(
            actor=request.user,
            matter=matter,
            note=request.POST.get("note", "") or _("Solved."),
            solved=True,
            now=timezone.now(),
        )
    except NotFound:
        raise
    except DomainError as refusal:
        messages.error(request, str(refusal.message))
    return redirect("cobuilding:network")


@login_required
@domain_errors
@require_POST
def commitment_mark(request, commitment_id: int):
    commitment = selectors.access_commitment(request.user, commitment_id)
    now = timezone.now()
    try:
        services.commitment_mark(
            actor=request.user,
            commitment=commitment,
            kept=request.POST.get("kept") == "1",
            decided_on=timezone.localdate(now),
            now=now,
        )
    except NotFound:
        raise
    except DomainError as refusal:
        messages.error(request, str(refusal.message))
    return redirect("cobuilding:network")


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def assessments(request):
    """Published quarters per compound (residents: the compounds of their community, print style); scorers enter
    one party's score, publish a quarter and set the weights."""
    user = request.user
    now = timezone.now()
    home = selectors.home_community(user, today=timezone.localdate(now))
    scorer = not reach(user, Permission.ASSESSMENT_SCORE).is_empty
    error = None
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        if not scorer:
            raise NotFound()
        try:
            sent = data.get("form")
            if sent == "weights":
                place = selectors.access_place_for(user, data.get("place"), Permission.ASSESSMENT_SCORE)
                services.weights_set(
                    actor=user,
                    place=place,
                    party_organisation=data.get("party_organisation"),
                    owners_committee=data.get("owners_committee"),
                    housing_department=data.get("housing_department"),
                    now=now,
                )
            else:
                compound = selectors.access_place_for(user, data.get("compound"), Permission.ASSESSMENT_SCORE)
                year, quarter = _int(data.get("year")), _int(data.get("quarter"))
                if sent == "publish":
                    services.quarter_publish(actor=user, compound=compound, year=year, quarter=quarter, now=now)
                else:
                    services.score_enter(
                        actor=user,
                        compound=compound,
                        company=selectors.active_organisation(data.get("company")),
                        year=year,
                        quarter=quarter,
                        party=data.get("party", ""),
                        score=data.get("score", ""),
                        now=now,
                    )
        except NotFound:
            raise
        except DomainError as refusal:
            error = refusal
        else:
            messages.success(request, _("Saved."))
            return redirect("cobuilding:assessments")
    rows = selectors.assessment_results(user)
    if not scorer and home is not None:
        rows = selectors.public_assessments(home)
    context = {
        "page": page_of(request, rows.order_by("compound__name", "-year", "-quarter")),
        "community": home,
        "scorer": scorer,
        "error": error,
        "data": data,
        "year": timezone.localdate(now).year,
    }
    if scorer:
        context.update(
            compounds=selectors.scored_compounds(user),
            companies=list(selectors.organisations_for_report(user).order_by("name")[:300]),
            parties=AssessmentParty.choices,
            places=selectors.staff_communities(user),
        )
    return render(request, "cobuilding/assessments.html", context, status=error.status if error else 200)


# ---------------------------------------------------------------- report-back


@login_required
@domain_errors
def report_back_index(request, year: int):
    """Staff: this year's organisations with agreements, reported back or not, each with its printable page."""
    if not selectors.is_staff(request.user):
        raise NotFound()
    rows = selectors.report_back_index(request.user, year)
    return render(
        request,
        "cobuilding/report_back_index.html",
        {"rows": rows, "year": year, "reported": sum(1 for row in rows if row["reported_at"])},
    )


def _report(request, organisation_id: int, year: int) -> tuple[Any, dict]:
    organisation = selectors.access_organisation(request.user, organisation_id)
    return organisation, selectors.report_back_figures(request.user, organisation, year)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def report_back(request, organisation_id: int, year: int):
    organisation, figures = _report(request, organisation_id, year)
    error = None
    if request.method == "POST":
        try:
            services.report_back_send(actor=request.user, organisation=organisation, year=year, now=timezone.now())
        except NotFound:
            raise
        except DomainError as refusal:
            error = refusal
        else:
            messages.success(request, _("Recorded as reported back."))
            return redirect("cobuilding:report_back", organisation.pk, year)
    return render(
        request,
        "cobuilding/report_back.html",
        {
            "organisation": organisation,
            "figures": figures,
            "year": year,
            "error": error,
            "may_send": reach(request.user, Permission.COBUILDING_MANAGE).covers(organisation.place.path),
        },
        status=error.status if error else 200,
    )


@login_required
@domain_errors
def report_back_xlsx(request, organisation_id: int, year: int):
    organisation, figures = _report(request, organisation_id, year)
    response = HttpResponse(report_back_workbook(organisation, figures), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="report-back-{organisation.pk}-{year}.xlsx"'
    return response
