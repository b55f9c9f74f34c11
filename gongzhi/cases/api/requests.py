"""Residents' requests (cases) in the API: reading, intake, the hotline import and every step of the ladder.

Thin endpoints: parse → fetch with an access check → one service call → the case as JSON. Errors come back in
the project's one shape (``gongzhi/api.py``): a handler acting on a case not at their place gets 404, a move the
state machine forbids 409 ``invalid_transition``, a rating by anyone but the resident 403 ``not_reporter``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from gongzhi.core.api_support import ERRORS, Page, PageQuery, paginate
from gongzhi.core.errors import NotFound, ValidationFailed
from gongzhi.core.masking import mask_name, mask_phone
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.people.models import Organisation
from gongzhi.places.models import Place
from gongzhi.places.selectors import access_place

from .. import services, summonses
from ..hotline import hotline_import
from ..models import Case, CaseChannel, CaseLevel, CaseState, Satisfaction
from ..selectors import (
    QueueFilters,
    access_case,
    access_category,
    access_summons,
    can_handle,
    case_queryset,
    case_summonses,
    case_trail,
    category_list,
    handler_queue,
    intake_place,
    my_cases,
    possible_duplicates,
)
from ..trail import trail_lines
from ..transitions import allowed_actions
from .common import NoteIn, ReasonIn, reporter_resident

router = Router(tags=["cases"])


# ---------------------------------------------------------------- schemas


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    description: str


class CaseOut(Schema):
    id: int
    number: str
    category_id: int
    category_name: str
    text: str
    place_id: int
    place_name: str
    location_text: str
    channel: str
    state: str
    state_label: str
    level: str
    level_label: str
    handling_place_id: int
    handling_place_name: str
    handling_department_name: str | None
    reporter: str
    is_anonymous: bool
    contact_phone: str
    accept_by: datetime | None
    resolve_by: datetime | None
    is_overdue: bool
    reopen_count: int
    escalation_count: int
    satisfaction: str
    resolution: str
    reject_reason: str
    duplicate_of_id: int | None
    submitted_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None


class TrailLine(Schema):
    occurred_at: datetime
    kind: str
    level: str
    text: str
    actor: str | None = None


class SummonsOut(Schema):
    id: int
    department_id: int
    department_name: str
    note: str
    respond_by: datetime
    state: str
    is_overdue: bool
    response: str
    responded_at: datetime | None


class CaseDetailOut(CaseOut):
    trail: list[TrailLine]
    summonses: list[SummonsOut]
    actions: list[str]


class SubmitOut(Schema):
    case: CaseDetailOut
    possible_duplicates: list[CaseOut]


class CaseIn(Schema):
    category_id: int
    text: str = Field(..., max_length=2000)
    place_id: int | None = None
    location_text: str = Field("", max_length=255)
    anonymous: bool = False
    channel: str | None = Field(None, description="resident_app (default for residents), visit, hotline or staff")
    reporter_resident_id: int | None = None
    contact_name: str = Field("", max_length=50)
    contact_phone: str = Field("", max_length=20)


class ResolveIn(Schema):
    resolution: str = Field(..., max_length=2000)


class OptionalReasonIn(Schema):
    reason: str = Field("", max_length=500)


class ReferIn(Schema):
    reason: str = Field(..., max_length=500)
    to_place_id: int | None = None
    to_department_id: int | None = None


class SummonIn(Schema):
    department_id: int
    note: str = Field(..., max_length=2000)
    respond_within_hours: int = Field(summonses.SUMMONS_DEFAULT_HOURS, ge=1, le=400)


class SummonsRespondIn(Schema):
    response: str = Field(..., max_length=2000)


class RateIn(Schema):
    rating: str = Field(..., description="satisfied, basically_satisfied or unsatisfied")
    comment: str = Field("", max_length=500)


class MergeIn(Schema):
    into_id: int
    note: str = Field("", max_length=500)


class QueueQuery(PageQuery):
    state: list[str] = Field(default_factory=list)
    level: str | None = None
    category: int | None = None
    overdue: bool | None = None
    place: int | None = None
    search: str = Field("", max_length=50)


class ImportErrorOut(Schema):
    row: int
    column: str
    message: str


class ImportOut(Schema):
    ok: bool
    rows: int
    created: int
    unchanged: int
    errors: list[ImportErrorOut]
    case_ids: list[int]


# ---------------------------------------------------------------- output


def _reporter_label(case: Case, viewer: Any) -> str:
    if case.reporter_account_id and case.reporter_account_id == getattr(viewer, "pk", None):
        return _("you")
    if case.is_anonymous:
        return _("anonymous")
    if case.reporter_resident_id:
        return mask_name(case.reporter_resident.name)
    if case.contact_name:
        return mask_name(case.contact_name)
    return ""


def case_out(case: Case, viewer: Any) -> dict:
    hidden = case.is_anonymous and case.reporter_account_id != getattr(viewer, "pk", None)
    return {
        "id": case.pk,
        "number": case.number,
        "category_id": case.category_id,
        "category_name": case.category.name,
        "text": case.text,
        "place_id": case.place_id,
        "place_name": case.place.name,
        "location_text": case.location_text,
        "channel": case.channel,
        "state": case.state,
        "state_label": str(CaseState(case.state).label),
        "level": case.level,
        "level_label": str(CaseLevel(case.level).label),
        "handling_place_id": case.handling_place_id,
        "handling_place_name": case.handling_place.name,
        "handling_department_name": case.handling_department.name if case.handling_department_id else None,
        "reporter": _reporter_label(case, viewer),
        "is_anonymous": case.is_anonymous,
        "contact_phone": "" if hidden else mask_phone(case.contact_phone) if case.contact_phone else "",
        "accept_by": case.accept_by,
        "resolve_by": case.resolve_by,
        "is_overdue": case.is_overdue,
        "reopen_count": case.reopen_count,
        "escalation_count": case.escalation_count,
        "satisfaction": case.satisfaction,
        "resolution": case.resolution,
        "reject_reason": case.reject_reason,
        "duplicate_of_id": case.duplicate_of_id,
        "submitted_at": case.submitted_at,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
    }


def case_detail_out(case: Case, viewer: Any) -> dict:
    staff = can_handle(viewer, case) or case.reporter_account_id != getattr(viewer, "pk", None)
    data = case_out(case, viewer)
    data["trail"] = trail_lines(
        case_trail(case),
        with_actor=staff,
        hidden_actor_id=case.reporter_account_id if case.is_anonymous else None,
    )
    data["summonses"] = [
        {
            "id": summons.pk,
            "department_id": summons.department_id,
            "department_name": summons.department.name,
            "note": summons.note,
            "respond_by": summons.respond_by,
            "state": summons.state,
            "is_overdue": summons.is_overdue,
            "response": summons.response,
            "responded_at": summons.responded_at,
        }
        for summons in case_summonses(case)
    ]
    data["actions"] = allowed_actions(viewer, case)
    return data


def _reload(request, case: Case) -> dict:
    return case_detail_out(access_case(request.user, case.pk), request.user)


# ---------------------------------------------------------------- reading


@router.get(
    "/categories", response={200: list[CategoryOut], **ERRORS}, summary="Request categories a case can be filed under"
)
def categories(request):
    return list(category_list())


@router.get("/mine", response={200: Page[CaseOut], **ERRORS}, summary="The requests I raised (resident)")
def mine(request, query: Query[PageQuery]):
    return paginate(my_cases(request.user), query, render=lambda case: case_out(case, request.user))


@router.get(
    "/queue", response={200: Page[CaseOut], **ERRORS}, summary="Requests waiting at my places and departments (handler)"
)
def queue(request, query: Query[QueueQuery]):
    for state in query.state:
        if state not in CaseState.values:
            raise ValidationFailed(fields={"state": _("Unknown state.")})
    if query.level and query.level not in CaseLevel.values:
        raise ValidationFailed(fields={"level": _("Unknown level.")})
    place = access_place(request.user, query.place) if query.place is not None else None
    filters = QueueFilters(
        states=tuple(query.state) or QueueFilters().states,
        level=query.level,
        category_id=query.category,
        overdue=query.overdue,
        place=place,
        search=query.search,
    )
    return paginate(handler_queue(request.user, filters), query, render=lambda case: case_out(case, request.user))


@router.get(
    "/{int:case_id}", response={200: CaseDetailOut, **ERRORS}, summary="One request with its trail in plain words"
)
def case_detail(request, case_id: int):
    return case_detail_out(access_case(request.user, case_id), request.user)


@router.get(
    "/{int:case_id}/duplicates",
    response={200: list[CaseOut], **ERRORS},
    summary="Recent requests that may be the same matter",
)
def case_duplicates(request, case_id: int):
    case = access_case(request.user, case_id)
    found = possible_duplicates(request.user, category=case.category, place=case.place, exclude=case)
    return [case_out(item, request.user) for item in found]


# ---------------------------------------------------------------- intake


@router.post("", response={201: SubmitOut, **ERRORS}, summary="Raise a request (resident) or record one (staff)")
def case_submit(request, payload: CaseIn):
    category = access_category(payload.category_id)
    place = intake_place(request.user, payload.place_id) if payload.place_id is not None else None
    channel = payload.channel or CaseChannel.RESIDENT_APP
    if channel not in CaseChannel.values:
        raise ValidationFailed(fields={"channel": _("Unknown channel.")})
    rate_limit_request(request, "case", now=timezone.now())
    case = services.case_submit(
        actor=request.user,
        category=category,
        text=payload.text,
        place=place,
        location_text=payload.location_text,
        channel=channel,
        anonymous=payload.anonymous,
        reporter_resident=reporter_resident(request, payload.reporter_resident_id),
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
    )
    duplicates = possible_duplicates(request.user, category=case.category, place=case.place, exclude=case)
    return Status(
        201,
        {
            "case": _reload(request, case),
            "possible_duplicates": [case_out(item, request.user) for item in duplicates],
        },
    )


@router.post("/import", response={200: ImportOut, **ERRORS}, summary="Import the 12345 hotline's work orders (.xlsx)")
def hotline_import_endpoint(request, place_id: Form[int], file: File[UploadedFile]):
    place = access_place(request.user, place_id)
    report = hotline_import(actor=request.user, place=place, file_obj=file, filename=file.name)
    return {
        "ok": report.ok,
        "rows": report.rows,
        "created": report.created,
        "unchanged": report.unchanged,
        "errors": [{"row": error.row, "column": error.column, "message": error.message} for error in report.errors],
        "case_ids": report.case_ids,
    }


# ---------------------------------------------------------------- transitions


@router.post("/{int:case_id}/accept", response={200: CaseDetailOut, **ERRORS}, summary="Accept the request (handler)")
def accept(request, case_id: int, payload: NoteIn):
    case = services.case_accept(actor=request.user, case=access_case(request.user, case_id), note=payload.note)
    return _reload(request, case)


@router.post(
    "/{int:case_id}/start", response={200: CaseDetailOut, **ERRORS}, summary="Start work on the request (handler)"
)
def start(request, case_id: int, payload: NoteIn):
    case = services.case_start(actor=request.user, case=access_case(request.user, case_id), note=payload.note)
    return _reload(request, case)


@router.post(
    "/{int:case_id}/resolve", response={200: CaseDetailOut, **ERRORS}, summary="Record what was done (handler)"
)
def resolve(request, case_id: int, payload: ResolveIn):
    case = services.case_resolve(
        actor=request.user, case=access_case(request.user, case_id), resolution=payload.resolution
    )
    return _reload(request, case)


def _organisation(organisation_id: int | None) -> Organisation | None:
    if organisation_id is None:
        return None
    organisation = Organisation.objects.filter(pk=organisation_id, is_active=True).first()
    if organisation is None:
        raise NotFound()
    return organisation


@router.post(
    "/{int:case_id}/refer",
    response={200: CaseDetailOut, **ERRORS},
    summary="Refer across to another place or a department",
)
def refer(request, case_id: int, payload: ReferIn):
    case = access_case(request.user, case_id)
    to_place = None
    if payload.to_place_id is not None:
        # Referring across may go outside the handler's own reach (a neighbouring community): any active place.
        to_place = Place.objects.filter(pk=payload.to_place_id, is_active=True).first()
        if to_place is None:
            raise NotFound()
    case = services.case_refer(
        actor=request.user,
        case=case,
        reason=payload.reason,
        to_place=to_place,
        to_department=_organisation(payload.to_department_id),
    )
    return _reload(request, case)


@router.post(
    "/{int:case_id}/escalate",
    response={200: CaseDetailOut, **ERRORS},
    summary="Pass the request up one level, with a reason",
)
def escalate(request, case_id: int, payload: ReasonIn):
    case = services.case_escalate(actor=request.user, case=access_case(request.user, case_id), reason=payload.reason)
    return _reload(request, case)


@router.post("/{int:case_id}/summon", response={200: CaseDetailOut, **ERRORS}, summary="Summon a department (吹哨报到)")
def summon(request, case_id: int, payload: SummonIn):
    case = access_case(request.user, case_id)
    department = _organisation(payload.department_id)
    summonses.case_summon(
        actor=request.user,
        case=case,
        department=department,
        note=payload.note,
        respond_within_hours=payload.respond_within_hours,
    )
    return _reload(request, case)


@router.post(
    "/summons/{int:summons_id}/respond",
    response={200: CaseDetailOut, **ERRORS},
    summary="Answer a summons (department)",
)
def summons_respond(request, summons_id: int, payload: SummonsRespondIn):
    summons = summonses.summons_respond(
        actor=request.user, summons=access_summons(request.user, summons_id), response=payload.response
    )
    return case_detail_out(access_case(request.user, summons.case_id), request.user)


@router.post(
    "/{int:case_id}/rate",
    response={200: CaseDetailOut, **ERRORS},
    summary="Rate the result (the resident who raised it)",
)
def rate(request, case_id: int, payload: RateIn):
    if payload.rating not in Satisfaction.values:
        raise ValidationFailed(fields={"rating": _("Choose satisfied, basically satisfied or unsatisfied.")})
    case = services.case_rate(
        actor=request.user, case=access_case(request.user, case_id), rating=payload.rating, comment=payload.comment
    )
    return _reload(request, case)


@router.post(
    "/{int:case_id}/close",
    response={200: CaseDetailOut, **ERRORS},
    summary="Close a resolved request that was not rated",
)
def close(request, case_id: int, payload: NoteIn):
    case = services.case_close(actor=request.user, case=access_case(request.user, case_id), note=payload.note)
    return _reload(request, case)


@router.post(
    "/{int:case_id}/reject", response={200: CaseDetailOut, **ERRORS}, summary="Reject the request, with a reason"
)
def reject(request, case_id: int, payload: ReasonIn):
    case = services.case_reject(actor=request.user, case=access_case(request.user, case_id), reason=payload.reason)
    return _reload(request, case)


@router.post(
    "/{int:case_id}/withdraw", response={200: CaseDetailOut, **ERRORS}, summary="Withdraw my request (the resident)"
)
def withdraw(request, case_id: int, payload: OptionalReasonIn):
    case = services.case_withdraw(actor=request.user, case=access_case(request.user, case_id), reason=payload.reason)
    return _reload(request, case)


@router.post(
    "/{int:case_id}/merge",
    response={200: CaseDetailOut, **ERRORS},
    summary="Merge this request into another about the same matter",
)
def merge(request, case_id: int, payload: MergeIn):
    case = access_case(request.user, case_id)
    into = case_queryset(request.user).filter(pk=payload.into_id).first()
    if into is None:
        raise NotFound()
    case = services.case_merge(actor=request.user, case=case, into=into, note=payload.note)
    return _reload(request, case)
