"""Disputes and their mediation in the API (disputes.py)."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Query, Router, Schema, Status

from gongzhi.core.api_support import ERRORS, Page, PageQuery, paginate
from gongzhi.core.errors import NotFound
from gongzhi.core.masking import mask_name, mask_phone
from gongzhi.core.tree import subtree_q
from gongzhi.people.models import Organisation, Resident
from gongzhi.places.models import Place

from .. import disputes as _disputes
from ..models import Dispute, DisputeState
from ..selectors import access_case
from .common import ReasonIn, active_account, active_place

router = Router()


class PartyInSchema(Schema):
    side: str = Field(..., description="applicant, respondent or other")
    resident_id: int | None = None
    organisation_id: int | None = None
    name: str = Field("", max_length=100)
    phone: str = Field("", max_length=20)


class DisputeIn(Schema):
    place_id: int
    kind: str
    description: str = Field(..., max_length=2000)
    found_on: date
    parties: list[PartyInSchema]
    mediator_id: int | None = None
    source_case_id: int | None = None


class PartyOut(Schema):
    id: int
    side: str
    kind: str
    name: str
    phone: str


class SessionOut(Schema):
    id: int
    held_at: datetime
    mediator: str
    notes: str


class DisputeOut(Schema):
    id: int
    kind: str
    kind_label: str
    place_id: int
    place_name: str
    description: str
    found_on: date
    state: str
    state_label: str
    mediator_id: int | None
    mediator: str
    agreement_text: str
    referred_to: str
    outcome_note: str
    closed_at: datetime | None


class DisputeDetailOut(DisputeOut):
    parties: list[PartyOut]
    sessions: list[SessionOut]


class DisputeListQuery(PageQuery):
    state: str | None = None
    place_id: int | None = None


class MediatorIn(Schema):
    mediator_id: int


class SessionIn(Schema):
    held_at: datetime
    notes: str = Field(..., max_length=2000)


class AgreementIn(Schema):
    agreement: str = Field(..., max_length=2000)


class DisputeReferIn(Schema):
    reason: str = Field(..., max_length=500)
    to: str = Field("", max_length=150)
    to_organisation_id: int | None = None


def dispute_out(dispute: Dispute) -> dict:
    return {
        "id": dispute.pk,
        "kind": dispute.kind,
        "kind_label": str(dispute.get_kind_display()),
        "place_id": dispute.place_id,
        "place_name": dispute.place.name,
        "description": dispute.description,
        "found_on": dispute.found_on,
        "state": dispute.state,
        "state_label": str(DisputeState(dispute.state).label),
        "mediator_id": dispute.mediator_id,
        "mediator": dispute.mediator.label if dispute.mediator_id else "",
        "agreement_text": dispute.agreement_text,
        "referred_to": dispute.referred_to,
        "outcome_note": dispute.outcome_note,
        "closed_at": dispute.closed_at,
    }


def _party_out(party) -> dict:
    if party.organisation_id:
        kind, name = "organisation", party.organisation.name
    elif party.resident_id:
        kind, name = "resident", mask_name(party.resident.name)
    else:
        kind, name = "person", mask_name(party.name)
    return {"id": party.pk, "side": party.side, "kind": kind, "name": name, "phone": mask_phone(party.phone)}


def dispute_detail_out(dispute: Dispute) -> dict:
    data = dispute_out(dispute)
    data["parties"] = [_party_out(party) for party in _disputes.dispute_parties(dispute)]
    data["sessions"] = [
        {"id": item.pk, "held_at": item.held_at, "mediator": item.mediator.label, "notes": item.notes}
        for item in _disputes.dispute_sessions(dispute)
    ]
    return data


def _dispute_reload(request, dispute: Dispute) -> dict:
    return dispute_detail_out(_disputes.access_dispute(request.user, dispute.pk))


def _organisation_or_404(organisation_id: int | None) -> Organisation | None:
    if organisation_id is None:
        return None
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise NotFound()
    return organisation


@router.get("/disputes", response={200: Page[DisputeOut], **ERRORS}, summary="Disputes in my reach")
def dispute_list(request, query: Query[DisputeListQuery]):
    queryset = _disputes.dispute_queryset(request.user).select_related("place", "mediator")
    if query.state:
        queryset = queryset.filter(state=query.state)
    if query.place_id:
        queryset = queryset.filter(subtree_q(active_place(query.place_id).path, "place__path"))
    queryset = queryset.order_by("-found_on", "-id")
    return paginate(queryset, query, render=dispute_out)


@router.post("/disputes", response={201: DisputeDetailOut, **ERRORS}, summary="Register a dispute with its parties")
def dispute_create(request, payload: DisputeIn):
    parties = []
    for party in payload.parties:
        resident = None
        if party.resident_id is not None:
            resident = Resident.objects.select_related("household").filter(pk=party.resident_id).first()
            if resident is None:
                raise NotFound()
        parties.append(
            _disputes.PartyIn(
                side=party.side,
                resident=resident,
                organisation=_organisation_or_404(party.organisation_id),
                name=party.name,
                phone=party.phone,
            )
        )
    source_case = access_case(request.user, payload.source_case_id) if payload.source_case_id else None
    dispute = _disputes.dispute_register(
        actor=request.user,
        place=Place.objects.filter(pk=payload.place_id).first(),
        kind=payload.kind,
        description=payload.description,
        found_on=payload.found_on,
        parties=parties,
        mediator=active_account(payload.mediator_id, "mediator"),
        source_case=source_case,
    )
    return Status(201, _dispute_reload(request, dispute))


@router.get(
    "/disputes/{int:dispute_id}",
    response={200: DisputeDetailOut, **ERRORS},
    summary="One dispute with parties and sessions",
)
def dispute_detail(request, dispute_id: int):
    return dispute_detail_out(_disputes.access_dispute(request.user, dispute_id))


@router.post(
    "/disputes/{int:dispute_id}/mediator", response={200: DisputeDetailOut, **ERRORS}, summary="Assign the mediator"
)
def dispute_mediator(request, dispute_id: int, payload: MediatorIn):
    dispute = _disputes.dispute_assign_mediator(
        actor=request.user,
        dispute=_disputes.access_dispute(request.user, dispute_id),
        mediator=active_account(payload.mediator_id, "mediator"),
    )
    return _dispute_reload(request, dispute)


@router.post(
    "/disputes/{int:dispute_id}/sessions",
    response={200: DisputeDetailOut, **ERRORS},
    summary="Record a mediation session",
)
def dispute_session(request, dispute_id: int, payload: SessionIn):
    dispute = _disputes.access_dispute(request.user, dispute_id)
    _disputes.dispute_session_add(actor=request.user, dispute=dispute, held_at=payload.held_at, notes=payload.notes)
    return _dispute_reload(request, dispute)


@router.post(
    "/disputes/{int:dispute_id}/resolve",
    response={200: DisputeDetailOut, **ERRORS},
    summary="The parties reached agreement",
)
def dispute_resolve(request, dispute_id: int, payload: AgreementIn):
    dispute = _disputes.dispute_resolve(
        actor=request.user, dispute=_disputes.access_dispute(request.user, dispute_id), agreement=payload.agreement
    )
    return _dispute_reload(request, dispute)


@router.post(
    "/disputes/{int:dispute_id}/refer", response={200: DisputeDetailOut, **ERRORS}, summary="Refer the dispute onward"
)
def dispute_refer(request, dispute_id: int, payload: DisputeReferIn):
    dispute = _disputes.dispute_refer(
        actor=request.user,
        dispute=_disputes.access_dispute(request.user, dispute_id),
        reason=payload.reason,
        to=payload.to,
        to_organisation=_organisation_or_404(payload.to_organisation_id),
    )
    return _dispute_reload(request, dispute)


@router.post(
    "/disputes/{int:dispute_id}/close-unresolved",
    response={200: DisputeDetailOut, **ERRORS},
    summary="End mediation unresolved",
)
def dispute_close_unresolved(request, dispute_id: int, payload: ReasonIn):
    dispute = _disputes.dispute_close_unresolved(
        actor=request.user, dispute=_disputes.access_dispute(request.user, dispute_id), reason=payload.reason
    )
    return _dispute_reload(request, dispute)
