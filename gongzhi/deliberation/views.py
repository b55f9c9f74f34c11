"""Pages of deliberation for residents (propose, co-sign, vote, follow, rate) and the public record.

Thin views: parse → access_<thing> → one service call → render. A refusal from a form's service call is shown
beside the form with what was typed; anything out of reach renders the same "not found" page. Staff pages are in
``staff_views.py``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.masking import mask_name
from gongzhi.core.pagination import page_of
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.core.views_support import domain_errors
from gongzhi.places.models import Place, PlaceKind

from . import selectors, services
from .access import actor_resident, community_of, resident_community_id
from .models import TopicState, VoteState


def qr_svg(data: str, *, scale: int = 4) -> str:
    """A QR code as inline SVG, drawn on the server (no script, no outside service)."""
    import segno

    return mark_safe(segno.make_qr(data, error="m").svg_inline(scale=scale, border=2, omitsize=True))


def _community_of_actor(user) -> Place | None:
    community_id = resident_community_id(user)
    return Place.objects.filter(pk=community_id).first() if community_id else None


def _to_int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
@domain_errors
def home(request):
    """A resident's deliberation: the community's topics, what needs co-signing, open votes; staff: a link."""
    user = request.user
    community = _community_of_actor(user)
    topics = list(selectors.my_community_topics(user)[:50])
    context = {
        "community": community,
        "collecting": [t for t in topics if t.state == TopicState.PROPOSED],
        "others": [t for t in topics if t.state != TopicState.PROPOSED],
        "can_manage": bool(selectors.managed_communities(user)),
    }
    return render(request, "deliberation/home.html", context)


@login_required
@domain_errors
def home_card(request):
    """The home page's deliberation card (loaded by htmx): topics to co-sign and votes open now for a resident, the
    agenda for staff. Nothing to show: an empty answer."""
    user = request.user
    now = timezone.now()
    topics = selectors.my_community_topics(user)
    context = {
        "collecting": topics.filter(state=TopicState.PROPOSED).count(),
        "open_votes": selectors.open_votes_of_community(user, now=now),
        "can_manage": bool(selectors.managed_communities(user)),
    }
    if not (context["collecting"] or context["open_votes"] or context["can_manage"]):
        return HttpResponse("")
    return render(request, "deliberation/_home_card.html", context)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def propose(request):
    """Propose a topic; possible duplicates are shown first, and the resident confirms."""
    user = request.user
    community = _community_of_actor(user)
    if community is None:
        raise NotFound()
    form = {"title": "", "description": "", "catalogue_entry": ""}
    error = None
    similar: list = []
    if request.method == "POST":
        form = {key: request.POST.get(key, "").strip() for key in form}
        similar = selectors.similar_topics(community, form["title"])
        entry = selectors.catalogue(community).filter(pk=_to_int(form["catalogue_entry"])).first()
        if similar and not request.POST.get("confirmed"):
            pass  # show the possible duplicates and ask again
        else:
            try:
                topic = services.topic_propose(
                    actor=user,
                    community=community,
                    title=form["title"],
                    description=form["description"],
                    catalogue_entry=entry,
                )
            except DomainError as refusal:
                error = refusal
            else:
                messages.success(request, _("Your topic is proposed. Ask your neighbours to co-sign it."))
                return redirect("deliberation:topic", topic.pk)
    context = {
        "community": community,
        "form": form,
        "error": error,
        "similar": similar,
        "catalogue": list(selectors.catalogue(community)),
    }
    return render(request, "deliberation/propose.html", context, status=error.status if error else 200)


def _topic_context(request, topic, *, error=None) -> dict:
    user = request.user
    now = timezone.now()
    resident = actor_resident(user)
    votes = []
    for vote in selectors.votes_of_topic(topic):
        entry = {"vote": vote, "open": vote.state == VoteState.OPEN and vote.opens_at <= now < vote.closes_at}
        entry["mine"] = selectors.my_participation(user, vote)
        try:
            entry["result"] = selectors.vote_result(vote, now=now)
        except DomainError:
            entry["result"] = None
        votes.append(entry)
    return {
        "topic": topic,
        "resident": resident,
        "proposer": mask_name(topic.proposer_resident.name) if topic.proposer_resident else "",
        "cosigned": selectors.has_cosigned(user, topic),
        "sessions": list(topic.sessions.prefetch_related("invitations")),
        "votes": votes,
        "resolution": selectors.resolution_of(topic),
        "tasks": list(topic.tasks.all()),
        "rated": resident is not None and topic.ratings.filter(resident=resident).exists(),
        "error": error,
        "can_manage": services.can_manage(user, topic.community),
        # A poster for the notice board: neighbours scan it to open the topic and co-sign.
        "qr": qr_svg(request.build_absolute_uri(f"/deliberation/topics/{topic.pk}/"))
        if topic.state == TopicState.PROPOSED
        else "",
    }


@login_required
@domain_errors
def topic_detail(request, topic_id: int):
    topic = selectors.access_topic(request.user, topic_id)
    return render(request, "deliberation/topic.html", _topic_context(request, topic))


def _after(request, topic, call, success: str):
    try:
        call()
    except DomainError as refusal:
        return render(
            request, "deliberation/topic.html", _topic_context(request, topic, error=refusal), status=refusal.status
        )
    messages.success(request, success)
    return redirect("deliberation:topic", topic.pk)


@login_required
@domain_errors
@require_POST
def topic_cosign(request, topic_id: int):
    topic = selectors.access_topic(request.user, topic_id)
    return _after(request, topic, lambda: services.topic_cosign(actor=request.user, topic=topic), _("Co-signed."))


@login_required
@domain_errors
@require_POST
def vote_cast(request, vote_id: int):
    vote = selectors.access_vote(request.user, vote_id)
    holder: dict = {}

    def cast():
        rate_limit_request(request, "vote", now=timezone.now())
        holder["receipt"] = services.vote_cast(
            actor=request.user, vote=vote, choice=_to_int(request.POST.get("choice"))
        )

    response = _after(request, vote.topic, cast, _("Your ballot is in the box."))
    if "receipt" in holder:
        receipt = holder["receipt"]
        messages.info(
            request,
            _("Receipt: ballot %(sequence)d, %(code)s. Keep it to find your ballot in the published chain.")
            % {"sequence": receipt.ballot.sequence, "code": receipt.receipt},
        )
    return response


@login_required
@domain_errors
@require_POST
def topic_rate(request, topic_id: int):
    topic = selectors.access_topic(request.user, topic_id)
    return _after(
        request,
        topic,
        lambda: services.topic_rate(
            actor=request.user,
            topic=topic,
            score=_to_int(request.POST.get("score")),
            comment=request.POST.get("comment", ""),
        ),
        _("Thank you for your rating."),
    )


# ---------------------------------------------------------------- public record (no login)


@domain_errors
def public_index(request):
    return render(
        request, "deliberation/public_index.html", {"communities": selectors.communities_with_public_record()}
    )


@domain_errors
def public_record(request, community_id: int):
    """A community's public record: its catalogue and liaisons, topics (searchable), resolutions, vote results."""
    community = Place.objects.filter(pk=_to_int(community_id), kind=PlaceKind.COMMUNITY, is_active=True).first()
    if community is None:
        raise NotFound()
    search = request.GET.get("q", "").strip()
    page = page_of(request, selectors.search_public_record(community, search))
    context = {
        "community": community,
        "search": search,
        "topics": page.object_list,
        "page": page,
        "catalogue": list(selectors.catalogue(community)),
        "liaisons": [(mask_name(item.resident.name), item.serves) for item in selectors.liaisons(community)],
        "resolutions": list(selectors.published_resolutions(community)[:20]),
        "votes": list(selectors.published_votes(community)[:20]),
    }
    return render(request, "deliberation/public_record.html", context)


@domain_errors
def public_topic(request, topic_id: int):
    """A topic in the public record, with its published resolution and results (print style)."""
    topic = selectors.access_public_topic(topic_id)
    resolution = selectors.resolution_of(topic)
    context = {
        "topic": topic,
        "community": topic.community,
        "resolution": resolution if resolution and resolution.published_at else None,
        "votes": list(selectors.published_votes().filter(topic=topic)),
        "tasks": list(topic.tasks.all()) if topic.state in (TopicState.DECIDED, TopicState.CARRIED_OUT) else [],
    }
    return render(request, "deliberation/public_topic.html", context)


@domain_errors
def public_vote(request, vote_id: int):
    """A published result with the chain's head, and the chain recomputed now (the verify page)."""
    vote = selectors.access_public_vote(vote_id)
    report = selectors.chain_report(vote)
    context = {
        "vote": vote,
        "result": vote.result,
        "report": report,
        "community": community_of(vote.community),
        "qr": qr_svg(request.build_absolute_uri()),
    }
    return render(request, "deliberation/public_vote.html", context)
