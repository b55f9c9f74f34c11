"""Auth, 'me' and residents in the API. Residents are masked; unmasking needs a permission and a purpose."""

from __future__ import annotations

from datetime import date

from ninja import Field, Query, Router, Schema

from gongzhi.places.selectors import access_place

from .models import Resident
from .selectors import ResidentFilters, access_resident, account_roles, resident_list
from .services import api_token_issue, login_attempt, resident_masked_phone, resident_reveal

auth_router = Router(tags=["auth"])
me_router = Router(tags=["me"])
residents_router = Router(tags=["residents"])


class TokenIn(Schema):
    username: str = Field(..., max_length=150)
    password: str = Field(..., max_length=256)


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


@auth_router.post(
    "/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, 423: ErrorOut, 422: ErrorOut},
    summary="Exchange a username and password for a bearer token",
)
def token_create(request, payload: TokenIn):
    account = login_attempt(username=payload.username, password=payload.password, request=request)
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


@me_router.get("", response=MeOut, summary="The logged-in person, their roles and places")
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
            for item in account_roles(account)
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


class ResidentPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[ResidentOut]


class ResidentQuery(Schema):
    place: int | None = None
    tag: str | None = None
    party_member: bool | None = None
    in_service: bool | None = None
    search: str = Field("", max_length=50)
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


@residents_router.get("", response=ResidentPage, summary="Residents in reach, filtered and paginated (masked)")
def residents_list(request, query: Query[ResidentQuery]):
    place = access_place(request.user, query.place) if query.place is not None else None
    filters = ResidentFilters(
        place=place, tag=query.tag, party_member=query.party_member, in_service=query.in_service, search=query.search
    )
    queryset = resident_list(request.user, filters)
    start = (query.page - 1) * query.page_size
    return {
        "count": queryset.count(),
        "page": query.page,
        "page_size": query.page_size,
        "results": list(queryset[start : start + query.page_size]),
    }


@residents_router.get("/{resident_id}", response=ResidentOut, summary="One resident (masked)")
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
    response={200: RevealOut},
    summary="Unmasked ID card number and phone, for a stated purpose (audited)",
)
def resident_reveal_endpoint(request, resident_id: int, payload: RevealIn):
    resident = access_resident(request.user, resident_id)
    revealed = resident_reveal(actor=request.user, resident=resident, purpose=payload.purpose)
    return {"id": resident.pk, "id_card_number": revealed.id_card_number, "phone": revealed.phone}
