"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2/) at /open311/v2/, so hotline and city systems can
file and follow resident requests with any conforming client, unchanged.

- ``services.{xml|json}``: the request categories (service_code = the category's code, ``type`` realtime,
  ``metadata`` true when the category asks questions); ``services/{code}.{fmt}``: its service definition, the
  category's questions as the spec's ``attributes`` (``attributes.py``; staff define them per category).
- ``requests.{fmt}`` GET: requests with the spec's filters (``service_request_id`` list overriding the rest,
  ``service_code`` list, ``start_date``/``end_date`` in w3 format spanning at most 90 days, default the last 90
  days, ``status`` open/closed), newest first, at most 1000; ``requests/{id}.{fmt}``: one request.
- ``requests.{fmt}`` POST (form-encoded): create a request with an ``api_key`` issued to an outside system
  (``Open311Key``, stored as a SHA-256 digest). The request id comes back at once (``type`` realtime), so there
  are no tokens: ``tokens/{token}.{fmt}`` always answers 404. Answers come as ``attribute[code]`` (a
  multivaluelist as ``attribute[code][]`` repeated); they are all checked (required, datatype, choices) before
  anything is written, and stored on the case. ``lat``/``long`` are stored with it.
- ``jurisdiction_id`` is optional (one jurisdiction per deployment); when given it must be this deployment's
  (``GONGZHI_OPEN311_JURISDICTION_ID``, default "gongzhi"), else 404 as the spec says.

Mapping: service_request_id = the case id; status ``open`` while submitted / accepted / in progress, ``closed``
once resolved (the spec's "it has been resolved"), closed, rejected, merged or withdrawn; status_notes say which.
requested_datetime = when it was reported, updated_datetime = last change (the closing time once closed),
expected_datetime = the deadline to resolve it at its current level.

Privacy: reads need no key, so they never carry personal data: no names or phones, the address at building level
at most (a household's request shows its building), no description, no photos. With a valid ``api_key`` the
requests under the key's place also show their description, the handler's notes and the location text. ``lat``
and ``long`` are rounded to three decimals (about 100 m) without a key, given in full with it.

Errors follow the spec, not the /api/v1/ shape: an array of ``{code, description}`` (XML root ``errors``), with
404 for what does not exist, 403 for a missing or wrong api_key, 400 for anything else.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from gongzhi.core.errors import DomainError, NotAuthenticated, NotFound, PermissionDenied
from gongzhi.core.tree import subtree_q
from gongzhi.places.models import Place, PlaceKind

from . import services
from .attributes import category_attributes
from .hotline import _PlaceMatcher
from .models import OPEN_STATES, Case, CaseCategory, CaseChannel, CaseState, CategoryAttribute, Open311Key
from .open311_keys import key_digest
from .transitions import TEXT_MAX

CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
MAX_REQUESTS = 1000
WINDOW = timedelta(days=90)
DESCRIPTION_MAX = TEXT_MAX
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)
_ADDRESS_KINDS = (PlaceKind.BUILDING, PlaceKind.COMPOUND, PlaceKind.COMMUNITY, PlaceKind.STREET, PlaceKind.DISTRICT)
_W3 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


class Open311Error(Exception):
    """A refusal in the spec's shape: one ``{code, description}`` per problem (``more`` adds further ones)."""

    def __init__(self, status: int, description: str, more: tuple[str, ...] = ()):
        super().__init__(description)
        self.status = status
        self.description = description
        self.descriptions = (description, *more)


def jurisdiction_id() -> str:
    """This deployment's jurisdiction (one per deployment)."""
    return str(getattr(settings, "GONGZHI_OPEN311_JURISDICTION_ID", "") or "gongzhi")


def _check_jurisdiction(request) -> None:
    given = (request.POST.get("jurisdiction_id") if request.method == "POST" else None) or request.GET.get(
        "jurisdiction_id"
    )
    given = (given or "").strip()
    if given and given != jurisdiction_id():
        raise Open311Error(404, f"jurisdiction_id {given} was not found: this server serves {jurisdiction_id()}.")


# ---------------------------------------------------------------- keys


def _key(raw: str | None) -> Open311Key | None:
    if not raw:
        return None
    return (
        Open311Key.objects.select_related("place", "account")
        .filter(digest=key_digest(raw), is_active=True, place__is_active=True)
        .first()
    )


# ---------------------------------------------------------------- rendering


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml(root: str, item: str | None, rows: Any) -> bytes:
    element = ElementTree.Element(root)

    def fill(parent: ElementTree.Element, data: dict) -> None:
        for name, value in data.items():
            child = ElementTree.SubElement(parent, name)
            if isinstance(value, list):
                singular = {"attributes": "attribute", "values": "value"}.get(name, name)
                for entry in value:
                    fill(ElementTree.SubElement(child, singular), entry)
            else:
                child.text = _text(value)

    if item is None:
        fill(element, rows)
    else:
        for row in rows:
            fill(ElementTree.SubElement(element, item), row)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(
        element, encoding="utf-8", xml_declaration=False
    )


def _respond(fmt: str, root: str, item: str | None, rows: Any, status: int = 200) -> HttpResponse:
    body = json.dumps(rows, ensure_ascii=False).encode("utf-8") if fmt == "json" else _xml(root, item, rows)
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    response["Cache-Control"] = "no-store"
    return response


def _error(fmt: str, status: int, *descriptions: str) -> HttpResponse:
    rows = [{"code": status, "description": description} for description in descriptions]
    return _respond(fmt, "errors", "error", rows, status=status)


def open311_view(*methods: str):
    """Wrap an endpoint: check the format and method, turn Open311Error into the spec's error array."""

    def decorate(view):
        @csrf_exempt
        def wrapper(request, *args, fmt: str, **kwargs):
            fmt = (fmt or "").lower()
            if fmt not in CONTENT_TYPES:
                return _error("xml", 400, "Unknown format: use .xml or .json.")
            if request.method not in methods:
                response = _error(fmt, 405, f"Use {' or '.join(methods)} here.")
                response["Allow"] = ", ".join(methods)
                return response
            try:
                _check_jurisdiction(request)
                return view(request, *args, fmt=fmt, **kwargs)
            except Open311Error as error:
                return _error(fmt, error.status, *error.descriptions)

        wrapper.__name__ = view.__name__
        wrapper.__doc__ = view.__doc__
        return wrapper

    return decorate


def _w3(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def _parse_w3(name: str, value: str) -> datetime:
    value = value.strip()
    if not _W3.match(value):
        raise Open311Error(400, f"{name} must be a w3 datetime with a time zone, e.g. 2010-01-01T00:00:00Z.")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} is not a valid date and time.") from None


def _list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


# ---------------------------------------------------------------- services


def _service(category: CaseCategory) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": bool(getattr(category, "asks_questions", False)),
        "type": "realtime",
        "keywords": ", ".join(_list(category.hotline_names.replace("，", ","))),
        "group": category.get_target_level_display(),
    }


def _active_categories():
    return CaseCategory.objects.filter(is_active=True).order_by("sort_order", "name")


@open311_view("GET")
def services_list(request, *, fmt: str):
    """GET Service List: ``metadata`` says whether the service has attributes (one query for all)."""
    asks = CategoryAttribute.objects.filter(category=OuterRef("pk"), is_active=True)
    categories = _active_categories().annotate(asks_questions=Exists(asks))
    return _respond(fmt, "services", "service", [_service(category) for category in categories])


def _attribute(attribute: CategoryAttribute) -> dict:
    """One attribute of a service definition, in the spec's fields and order."""
    return {
        "variable": attribute.variable,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": attribute.datatype_description or None,
        "order": attribute.order,
        "description": attribute.description,
        "values": [{"key": value["key"], "name": value["name"]} for value in attribute.values],
    }


@open311_view("GET")
def service_definition(request, service_code: str, *, fmt: str):
    """GET Service Definition: the category's questions as the spec's attributes."""
    category = _active_categories().filter(code=service_code).first()
    if category is None:
        raise Open311Error(404, f"service_code {service_code} was not found.")
    attributes = [_attribute(attribute) for attribute in category_attributes(category)]
    return _respond(fmt, "service_definition", None, {"service_code": category.code, "attributes": attributes})


# ---------------------------------------------------------------- requests: reading


def _address_parts(cases: list[Case]) -> dict[int, tuple[str, str]]:
    """{case id: (address, address_id)} at building level at most, in one query for all the places above."""
    wanted: set[int] = set()
    for case in cases:
        wanted.update(case.place.ancestor_ids)
    places = {place.pk: place for place in Place.objects.filter(pk__in=wanted).only("id", "name", "kind", "path")}
    parts = {}
    for case in cases:
        chain = [places[pk] for pk in case.place.ancestor_ids if pk in places] + [case.place]
        anchor_index = len(chain) - 1
        if case.place.kind in (PlaceKind.HOUSEHOLD, PlaceKind.ENTRANCE):
            candidates = [i for i, place in enumerate(chain) if place.kind in (PlaceKind.BUILDING, PlaceKind.COMPOUND)]
            anchor_index = candidates[-1] if candidates else max(len(chain) - 3, 0)
        kept = [
            place
            for index, place in enumerate(chain[: anchor_index + 1])
            if index == anchor_index or place.kind in _ADDRESS_KINDS
        ]
        parts[case.pk] = (", ".join(place.name for place in reversed(kept)), str(chain[anchor_index].pk))
    return parts


def _status(case: Case) -> str:
    return "open" if case.state in OPEN_STATES else "closed"


def _status_notes(case: Case, full: bool) -> str:
    label = str(CaseState(case.state).label)
    if not full:
        return label
    if case.state in (CaseState.RESOLVED, CaseState.CLOSED) and case.resolution:
        return f"{label}: {case.resolution}"
    if case.state == CaseState.REJECTED and case.reject_reason:
        return f"{label}: {case.reject_reason}"
    if case.state == CaseState.DUPLICATE and case.duplicate_of_id:
        return f"{label}: {case.duplicate_of_id}"
    return label


def _notice(case: Case) -> str:
    where = case.handling_department.name if case.handling_department_id else case.handling_place.name
    return _("Handled by %(where)s (%(level)s level).") % {"where": where, "level": case.get_level_display()}


def _coordinate(value: Decimal | None, full: bool) -> float | None:
    """A stored coordinate as a number: in full with a key, else rounded to about 100 m (building level at most)."""
    if value is None:
        return None
    return float(value if full else value.quantize(Decimal("0.001")))


def _request_row(case: Case, address: tuple[str, str], full: bool) -> dict:
    closed = case.state not in OPEN_STATES
    text = address[0]
    if full and case.location_text:
        text = f"{case.location_text}, {text}"
    return {
        "service_request_id": str(case.pk),
        "status": _status(case),
        "status_notes": _status_notes(case, full),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.text if full else None,
        "agency_responsible": case.handling_department.name
        if case.handling_department_id
        else case.handling_place.name,
        "service_notice": _notice(case),
        "requested_datetime": _w3(case.reported_at),
        "updated_datetime": _w3((case.closed_at or case.resolved_at or case.updated_at) if closed else case.updated_at),
        "expected_datetime": _w3(case.resolve_by) if not closed else None,
        "address": text,
        "address_id": address[1],
        "zipcode": None,
        "lat": _coordinate(case.latitude, full),
        "long": _coordinate(case.longitude, full),
        "media_url": None,
    }


def _rows(cases: list[Case], key: Open311Key | None) -> list[dict]:
    addresses = _address_parts(cases)
    rows = []
    for case in cases:
        full = key is not None and case.place.path.startswith(key.place.path)
        rows.append(_request_row(case, addresses[case.pk], full))
    return rows


def _cases():
    return Case.objects.select_related("category", "place", "handling_place", "handling_department")


def _list_requests(request, fmt: str):
    params = request.GET
    key = _key(params.get("api_key"))
    queryset = _cases()
    ids = _list(params.get("service_request_id"))
    if ids:
        numbers = [int(value) for value in ids if value.isdigit()]
        queryset = queryset.filter(pk__in=numbers)
    else:
        codes = _list(params.get("service_code"))
        if codes:
            queryset = queryset.filter(category__code__in=codes)
        start = _parse_w3("start_date", params["start_date"]) if params.get("start_date", "").strip() else None
        end = _parse_w3("end_date", params["end_date"]) if params.get("end_date", "").strip() else None
        if start and end and end - start > WINDOW:
            raise Open311Error(400, "start_date and end_date may not span more than 90 days.")
        if start and end and end < start:
            raise Open311Error(400, "end_date is before start_date.")
        if start is None and end is None:
            end = timezone.now()
        if start is None:
            start = end - WINDOW
        if end is None:
            end = start + WINDOW
        queryset = queryset.filter(reported_at__gte=start, reported_at__lte=end)
        statuses = set(_list(params.get("status")))
        if statuses - {"open", "closed"}:
            raise Open311Error(400, "status must be open or closed (comma separated).")
        if statuses == {"open"}:
            queryset = queryset.filter(state__in=OPEN_STATES)
        elif statuses == {"closed"}:
            queryset = queryset.exclude(state__in=OPEN_STATES)
    cases = list(queryset.order_by("-reported_at", "-id")[:MAX_REQUESTS])
    return _respond(fmt, "service_requests", "request", _rows(cases, key))


@open311_view("GET")
def request_detail(request, service_request_id: str, *, fmt: str):
    """GET Service Request: one request, in a list of one as the spec shows."""
    case = _cases().filter(pk=int(service_request_id)).first() if service_request_id.isdigit() else None
    if case is None:
        raise Open311Error(404, f"service_request_id {service_request_id} was not found.")
    return _respond(fmt, "service_requests", "request", _rows([case], _key(request.GET.get("api_key"))))


@open311_view("GET")
def token_detail(request, token: str, *, fmt: str):
    """GET service_request_id from a token: requests are created in real time, so no token ever exists."""
    raise Open311Error(404, f"token {token} was not found: this server returns the service_request_id at once.")


# ---------------------------------------------------------------- requests: creating


def _coordinates(data) -> tuple[float, float] | None:
    """(lat, long) when given (both, as numbers in range), None when neither is; 400 otherwise."""
    lat, long = (data.get("lat") or "").strip(), (data.get("long") or "").strip()
    if not lat and not long:
        return None
    try:
        latitude, longitude = float(lat), float(long)
    except ValueError:
        raise Open311Error(400, "lat and long must both be given as numbers (WGS84).") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise Open311Error(400, "lat or long is out of range.")
    return latitude, longitude


_ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")


def _answers(data) -> dict[str, list[str]]:
    """{code: [values]} from ``attribute[code]`` (and ``attribute[code][]`` for several values)."""
    answers: dict[str, list[str]] = {}
    for name in data:
        match = _ATTRIBUTE.match(name)
        if match:
            answers.setdefault(match.group(1), []).extend(data.getlist(name))
    return answers


def _location(data, key: Open311Key) -> tuple[Place, str]:
    """(place, location text) from address_id, address_string, or lat & long; 400 when none is given."""
    address_id = (data.get("address_id") or "").strip()
    address_string = (data.get("address_string") or "").strip()
    coordinates = _coordinates(data)
    if address_id:
        place = (
            Place.objects.filter(pk=int(address_id), is_active=True).filter(subtree_q(key.place.path)).first()
            if address_id.isdigit()
            else None
        )
        if place is None:
            raise Open311Error(400, f"address_id {address_id} is not an address this api_key may file requests at.")
        return place, address_string[:255]
    if address_string:
        place = Place.objects.get(pk=_PlaceMatcher(key.place).match(address_string))
        return place, address_string[:255]
    if coordinates is not None:
        return key.place, f"{coordinates[0]:.6f},{coordinates[1]:.6f}"
    raise Open311Error(400, "A location is required: lat and long, address_string or address_id.")


def _create_request(request, fmt: str):
    data = request.POST
    key = _key(data.get("api_key"))
    if key is None:
        raise Open311Error(403, "Missing or invalid api_key.")
    code = (data.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code was not provided.")
    category = _active_categories().filter(code=code).first()
    if category is None:
        raise Open311Error(404, f"service_code {code} was not found.")
    place, location_text = _location(data, key)
    coordinates = _coordinates(data) or (None, None)
    description = (data.get("description") or "").strip() or category.name
    notices = []
    if len(description) > DESCRIPTION_MAX:
        description = description[: DESCRIPTION_MAX - 1] + "…"
        notices.append(f"The description was shortened to {DESCRIPTION_MAX} characters.")
    media_url = (data.get("media_url") or "").strip()
    if media_url:
        if not re.match(r"^https?://\S+$", media_url) or len(media_url) > 500:
            raise Open311Error(400, "media_url must be an http or https URL.")
        if len(description) + len(media_url) + 1 <= DESCRIPTION_MAX:
            description = f"{description}\n{media_url}"
    name = f"{(data.get('last_name') or '').strip()}{(data.get('first_name') or '').strip()}"[:50]
    phone = (data.get("phone") or "").strip()
    if len(phone) > 20:
        raise Open311Error(400, "phone is longer than 20 characters.")
    try:
        case = services.case_submit(
            actor=key.account,
            category=category,
            text=description,
            place=place,
            location_text=location_text,
            channel=CaseChannel.HOTLINE,
            contact_name=name,
            contact_phone=phone,
            latitude=coordinates[0],
            longitude=coordinates[1],
            answers=_answers(data),
        )
    except (NotFound, PermissionDenied, NotAuthenticated):
        raise Open311Error(403, "This api_key may not file requests at this place.") from None
    except DomainError as error:
        fields = error.as_dict().get("fields") or {}
        details = [f"{name}: {' '.join(map(str, messages))}" for name, messages in fields.items()]
        details = details or [str(error.message)]
        raise Open311Error(400, details[0], tuple(details[1:])) from None
    Open311Key.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    notice = " ".join([_notice(case), *notices])
    return _respond(
        fmt,
        "service_requests",
        "request",
        [{"service_request_id": str(case.pk), "service_notice": notice, "account_id": None}],
    )


@open311_view("GET", "POST")
def requests_collection(request, *, fmt: str):
    """GET Service Requests (list with filters) and POST Service Request (create, with api_key)."""
    if request.method == "POST":
        return _create_request(request, fmt)
    return _list_requests(request, fmt)
