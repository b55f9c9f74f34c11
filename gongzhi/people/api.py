"""Auth, 'me', residents and party members in the API. Personal data is masked; unmasking needs a permission and
a purpose."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from gongzhi.core.api_support import ERRORS, ErrorOut, Page, PageQuery, paginate
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.ratelimit import rate_limit_request
from gongzhi.core.tree import subtree_q
from gongzhi.places.selectors import access_place

from .models import PartyMembership, PartyMembershipEndReason, PartyOrganisation, Resident
from .party import (
    MEMBERSHIP_PERMISSION,
    PartyMembershipInput,
    party_membership_add,
    party_membership_change,
    party_membership_end,
)
from .selectors import (
    MembershipStatus,
    PartyMembershipFilters,
    ResidentFilters,
    access_party_membership,
    access_resident,
    account_roles,
    employer_by_id,
    party_membership_list,
    party_organisation_by_id,
    party_organisation_queryset,
    resident_list,
)
from .services import api_token_issue, login_attempt, resident_masked_phone, resident_reveal
from .two_factor import login_second_step

auth_router = Router(tags=["auth"])
me_router = Router(tags=["me"])
residents_router = Router(tags=["residents"])
party_router = Router(tags=["party"])


class TokenIn(Schema):
    username: str = Field(..., max_length=150)
    password: str = Field(..., max_length=256)
    code: str = Field("", max_length=20, description="The authenticator app's code, for accounts with two-factor login")


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"


@auth_router.post(
    "/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 423: ErrorOut},
    summary="Exchange a username and password (and, with two-factor login, the app's code) for a bearer token",
)
def token_create(request, payload: TokenIn):
    rate_limit_request(request, "token", now=timezone.now(), who=f"username:{payload.username.strip()}")
    account = login_attempt(username=payload.username, password=payload.password, request=request)
    login_second_step(account=account, code=payload.code, now=timezone.now())
    return {"token": api_token_issue(account=account)}


class RoleOut(Schema):
    role: str
    role_label: str
    place_id: int
    place_name: str
    place_kind: str
    organisation_id: int | None
    starts_on: date
    ends_on: date | None


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    is_superuser: bool
    resident_id: int | None
    household_id: int | None
    language: str
    elder_mode: bool
    roles: list[RoleOut]


@me_router.get("", response={200: MeOut, **ERRORS}, summary="The logged-in person, their roles and places")
def me(request):
    account = request.user
    resident = account.resident
    return {
        "id": account.pk,
        "username": account.username,
        "display_name": account.label,
        "is_superuser": account.is_superuser,
        "resident_id": resident.pk if resident else None,
        "household_id": resident.household_id if resident else None,
        "language": account.preferred_language or "zh-hans",
        "elder_mode": account.elder_mode,
        "roles": [
            {
                "role": item.role,
                "role_label": str(item.get_role_display()),
                "place_id": item.place_id,
                "place_name": item.place.name,
                "place_kind": item.place.kind,
                "organisation_id": item.organisation_id,
                "starts_on": item.starts_on,
                "ends_on": item.ends_on,
            }
            for item in account_roles(account, today=timezone.localdate())
        ],
    }


class ResidentOut(Schema):
    id: int
    name: str
    gender: str
    birth_date: date | None
    phone_masked: str
    id_card_masked: str
    household_id: int | None
    household_name: str
    relation: str
    tags: list[str]
    party_member: bool
    party_organisation: str | None
    in_service: bool | None

    @staticmethod
    def resolve_phone_masked(resident: Resident) -> str:
        return resident_masked_phone(resident)

    @staticmethod
    def resolve_household_name(resident: Resident) -> str:
        return resident.household.name if resident.household_id else ""

    @staticmethod
    def resolve_tags(resident: Resident) -> list[str]:
        return [tag.code for tag in resident.tags.all()]

    @staticmethod
    def resolve_party_member(resident: Resident) -> bool:
        return _membership(resident) is not None

    @staticmethod
    def resolve_party_organisation(resident: Resident) -> str | None:
        membership = _membership(resident)
        return membership.organisation.name if membership else None

    @staticmethod
    def resolve_in_service(resident: Resident) -> bool | None:
        membership = _membership(resident)
        return membership.is_in_service if membership else None


def _membership(resident: Resident):
    try:
        membership = resident.party_membership
    except Resident.party_membership.RelatedObjectDoesNotExist:
        return None
    return membership if membership.is_active else None


class ResidentQuery(PageQuery):
    place: int | None = None
    tag: str | None = None
    party_member: bool | None = None
    in_service: bool | None = None
    search: str = Field("", max_length=50)


@residents_router.get(
    "", response={200: Page[ResidentOut], **ERRORS}, summary="Residents in reach, filtered and paginated (masked)"
)
def residents_list(request, query: Query[ResidentQuery]):
    place = access_place(request.user, query.place) if query.place is not None else None
    filters = ResidentFilters(
        place=place, tag=query.tag, party_member=query.party_member, in_service=query.in_service, search=query.search
    )
    return paginate(resident_list(request.user, filters), query)


@residents_router.get("/{resident_id}", response={200: ResidentOut, **ERRORS}, summary="One resident (masked)")
def resident_detail(request, resident_id: int):
    return access_resident(request.user, resident_id)


class RevealIn(Schema):
    purpose: str = Field(..., max_length=255)


class RevealOut(Schema):
    id: int
    id_card_number: str
    phone: str


@residents_router.post(
    "/{resident_id}/reveal",
    response={200: RevealOut, **ERRORS},
    summary="Unmasked ID card number and phone, for a stated purpose (audited)",
)
def resident_reveal_endpoint(request, resident_id: int, payload: RevealIn):
    resident = access_resident(request.user, resident_id)
    revealed = resident_reveal(actor=request.user, resident=resident, purpose=payload.purpose)
    return {"id": resident.pk, "id_card_number": revealed.id_card_number, "phone": revealed.phone}


# ---------------------------------------------------------------- personal information (personal_data.py, anonymise.py)


class PersonalDataColumnOut(Schema):
    key: str
    label: str


class PersonalDataSectionOut(Schema):
    key: str
    title: str
    columns: list[PersonalDataColumnOut]
    rows: list[dict[str, Any]]


class PersonalDataOut(Schema):
    generated_at: str
    sections: list[PersonalDataSectionOut]


@me_router.get(
    "/personal-data",
    response={200: PersonalDataOut, **ERRORS},
    summary="Everything the platform holds about the logged-in person and their household (others masked; audited)",
)
def my_personal_data(request):
    from .personal_data import personal_data_view, report_as_json

    return report_as_json(personal_data_view(actor=request.user, now=timezone.now()))


@me_router.get(
    "/personal-data/download",
    response={200: None, **ERRORS},
    summary="The same as a .zip holding personal-data.json and personal-data.xlsx (audited)",
)
def my_personal_data_download(request):
    from django.http import HttpResponse

    from .personal_data import personal_data_export

    exported = personal_data_export(actor=request.user, now=timezone.now())
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


class AnonymiseIn(Schema):
    reason: str = Field(..., max_length=255)


class AnonymisedOut(Schema):
    id: int
    anonymised_at: datetime


@residents_router.post(
    "/{resident_id}/anonymise",
    response={200: AnonymisedOut, **ERRORS},
    summary="Anonymise a person who left: identity removed, records and figures kept (resident.anonymise; audited)",
)
def resident_anonymise_endpoint(request, resident_id: int, payload: AnonymiseIn):
    from .anonymise import access_resident_to_anonymise, resident_anonymise

    resident = access_resident_to_anonymise(request.user, resident_id)
    resident = resident_anonymise(actor=request.user, resident=resident, reason=payload.reason, now=timezone.now())
    return {"id": resident.pk, "anonymised_at": resident.anonymised_at}


# ---------------------------------------------------------------- party members


class PartyOrganisationOut(Schema):
    id: int
    kind: str
    kind_label: str
    name: str
    parent_id: int | None
    place_id: int

    @staticmethod
    def resolve_kind_label(organisation: PartyOrganisation) -> str:
        return str(organisation.get_kind_display())


class PartyOrganisationQuery(PageQuery):
    place: int | None = None


@party_router.get(
    "/organisations",
    response={200: Page[PartyOrganisationOut], **ERRORS},
    summary="Party organisations serving places in reach (under a place when given), in tree order",
)
def party_organisations_list(request, query: Query[PartyOrganisationQuery]):
    queryset = party_organisation_queryset(request.user)
    if query.place is not None:
        place = access_place(request.user, query.place)
        queryset = queryset.filter(subtree_q(place.path, "place__path"))
    return paginate(queryset.order_by("path"), query)


class PartyMembershipOut(Schema):
    id: int
    resident_id: int
    resident_name: str
    household_id: int | None
    household_name: str
    phone_masked: str
    id_card_masked: str
    organisation_id: int
    organisation_name: str
    joined_on: date | None
    is_in_service: bool
    employer_id: int | None
    employer_name: str
    employer_party_organisation: str
    is_active: bool
    ended_on: date | None
    end_reason: str

    @staticmethod
    def resolve_resident_name(membership: PartyMembership) -> str:
        return membership.resident.name

    @staticmethod
    def resolve_household_id(membership: PartyMembership) -> int | None:
        return membership.resident.household_id

    @staticmethod
    def resolve_household_name(membership: PartyMembership) -> str:
        return membership.resident.household.name if membership.resident.household_id else ""

    @staticmethod
    def resolve_phone_masked(membership: PartyMembership) -> str:
        return resident_masked_phone(membership.resident)

    @staticmethod
    def resolve_id_card_masked(membership: PartyMembership) -> str:
        return membership.resident.id_card_masked

    @staticmethod
    def resolve_organisation_name(membership: PartyMembership) -> str:
        return membership.organisation.name

    @staticmethod
    def resolve_employer_name(membership: PartyMembership) -> str:
        return membership.employer_label


class PartyMembershipQuery(PageQuery):
    place: int | None = None
    search: str = Field("", max_length=50)
    in_service: bool | None = None
    status: str = Field(MembershipStatus.IN_FORCE, pattern="^(active|ended|all)$")


@party_router.get(
    "/memberships",
    response={200: Page[PartyMembershipOut], **ERRORS},
    summary="Party members in reach (in force by default), filtered and paginated (masked)",
)
def party_memberships_list(request, query: Query[PartyMembershipQuery]):
    place = access_place(request.user, query.place) if query.place is not None else None
    filters = PartyMembershipFilters(place=place, search=query.search, in_service=query.in_service, status=query.status)
    return paginate(party_membership_list(request.user, filters), query)


@party_router.get(
    "/memberships/{membership_id}", response={200: PartyMembershipOut, **ERRORS}, summary="One party membership"
)
def party_membership_detail(request, membership_id: int):
    return access_party_membership(request.user, membership_id)


class PartyMembershipIn(Schema):
    organisation_id: int
    joined_on: date | None = None
    is_in_service: bool = False
    employer_id: int | None = Field(None, description="a resident organisation; else give employer_name")
    employer_name: str = Field("", max_length=150)
    employer_party_organisation: str = Field("", max_length=150)


class PartyMembershipCreateIn(PartyMembershipIn):
    resident_id: int


def _membership_input(request, payload: PartyMembershipIn) -> PartyMembershipInput:
    """The service's input from the body; ids that name nothing in reach are field errors (the same for both)."""
    errors: dict[str, str] = {}
    organisation = party_organisation_by_id(request.user, payload.organisation_id)
    if organisation is None:
        errors["organisation_id"] = _("Choose the party organisation.")
    employer = None
    if payload.employer_id is not None:
        employer = employer_by_id(request.user, payload.employer_id)
        if employer is None:
            errors["employer_id"] = _("Choose an organisation from the list.")
    if errors:
        raise ValidationFailed(fields=errors)
    return PartyMembershipInput(
        organisation=organisation,
        joined_on=payload.joined_on,
        is_in_service=payload.is_in_service,
        employer=employer,
        employer_name=payload.employer_name,
        employer_party_organisation=payload.employer_party_organisation,
    )


def _reloaded(request, membership: PartyMembership) -> PartyMembership:
    return access_party_membership(request.user, membership.pk)


@party_router.post(
    "/memberships",
    response={201: PartyMembershipOut, **ERRORS},
    summary="Register a resident as a party member (audited)",
)
def party_membership_create(request, payload: PartyMembershipCreateIn):
    resident = access_resident(request.user, payload.resident_id, MEMBERSHIP_PERMISSION)
    data = _membership_input(request, payload)
    membership = party_membership_add(actor=request.user, resident=resident, data=data, now=timezone.now())
    return Status(201, _reloaded(request, membership))


@party_router.put(
    "/memberships/{membership_id}",
    response={200: PartyMembershipOut, **ERRORS},
    summary="Change a party membership in force: organisation, dates, in service or retired, employer (audited)",
)
def party_membership_update(request, membership_id: int, payload: PartyMembershipIn):
    membership = access_party_membership(request.user, membership_id, MEMBERSHIP_PERMISSION)
    data = _membership_input(request, payload)
    party_membership_change(actor=request.user, membership=membership, data=data, now=timezone.now())
    return _reloaded(request, membership)


class PartyMembershipEndIn(Schema):
    reason: PartyMembershipEndReason
    ended_on: date | None = None


@party_router.post(
    "/memberships/{membership_id}/end",
    response={200: PartyMembershipOut, **ERRORS},
    summary="End a party membership (kept for history; audited)",
)
def party_membership_end_endpoint(request, membership_id: int, payload: PartyMembershipEndIn):
    membership = access_party_membership(request.user, membership_id, MEMBERSHIP_PERMISSION)
    party_membership_end(
        actor=request.user, membership=membership, reason=payload.reason, ended_on=payload.ended_on, now=timezone.now()
    )
    return _reloaded(request, membership)
