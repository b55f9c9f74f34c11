"""The JSON API under /api/v1/: one NinjaAPI, a router per domain, one error shape everywhere.

Errors: HTTP status + {"code": "...", "message": "...", "fields": {...}}, message in the user's language.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from gongzhi.core.errors import CoreError, DomainError, RateLimited
from gongzhi.people.services import api_token_authenticate

logger = logging.getLogger(__name__)


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request, token):
        account = api_token_authenticate(token)
        if account is not None:
            request.user = account
        return account


class ActiveSessionAuth(SessionAuth):
    """Session login for pages that call the API (CSRF checked, as Django's session auth does)."""


api = NinjaAPI(
    title="gongzhi API",
    version="1",
    description="Community governance platform (共治). Authenticate with POST /api/v1/auth/token, then send "
    "`Authorization: Bearer <token>`. Every refusal answers `{code, message, fields}` with its HTTP status; the codes "
    "are listed in docs/errors.md.",
    urls_namespace="api",
    auth=[BearerTokenAuth(), ActiveSessionAuth()],
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def error_response(request, error: CoreError, message: Any = None, fields: dict | None = None, status: int = 0):
    """The error shape for one of the catalogue's codes (status from its kind unless given)."""
    text = str(message if message is not None else error.message)
    body = {"code": error.code, "message": text, "fields": fields or {}}
    return api.create_response(request, body, status=status or error.status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc: NinjaValidationError):
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "payload")]
        name = ".".join(location) or "request"
        fields.setdefault(name, []).append(_validation_message(error))
    return error_response(request, CoreError.VALIDATION_FAILED, _("Some fields are not valid."), fields)


def _validation_message(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return _("This field is required.")
    if kind in {"int_parsing", "int_type"}:
        return _("Enter a whole number.")
    if kind.startswith("date"):
        return _("Enter a date as YYYY-MM-DD.")
    if kind in {"bool_parsing", "bool_type"}:
        return _("Enter true or false.")
    if kind == "string_too_long":
        return _("This is too long.")
    if kind == "string_type":
        return _("Enter text.")
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        return _("This number is out of range.")
    if kind in {"json_invalid", "model_attributes_type", "dict_type"}:
        return _("The request body is not valid JSON.")
    return _("This value is not valid.")


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return error_response(request, CoreError.NOT_AUTHENTICATED)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error_response(request, CoreError.NOT_FOUND)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if exc.status_code == 400:
        # ninja raises this for a body it cannot parse (broken JSON, a form post to a JSON endpoint).
        return error_response(request, CoreError.MALFORMED_REQUEST)
    return error_response(request, CoreError.HTTP_ERROR, str(exc), status=exc.status_code)


@api.exception_handler(Exception)
def on_unexpected(request, exc: Exception):
    logger.exception("Unexpected API error", exc_info=exc)
    return error_response(request, CoreError.SERVER_ERROR)


def _register_routers() -> None:
    from gongzhi.cases.api import router as cases_router
    from gongzhi.cobuilding.api import router as cobuilding_router
    from gongzhi.cockpit.api import router as kpis_router
    from gongzhi.deliberation.api import router as deliberation_router
    from gongzhi.people.api import auth_router, me_router, party_router, residents_router
    from gongzhi.places.api import router as places_router
    from gongzhi.points.api import router as points_router
    from gongzhi.shop.api import router as shop_router
    from gongzhi.volunteering.api import router as volunteering_router

    api.add_router("/auth", auth_router)
    api.add_router("/me", me_router)
    api.add_router("/places", places_router)
    api.add_router("/residents", residents_router)
    api.add_router("/party", party_router)
    api.add_router("/points", points_router)
    api.add_router("/shop", shop_router)
    api.add_router("/cases", cases_router)
    api.add_router("/volunteering", volunteering_router)
    api.add_router("/deliberation", deliberation_router)
    api.add_router("/cobuilding", cobuilding_router)
    api.add_router("/kpis", kpis_router)

    from gongzhi.core.error_catalogue import api_description_section

    api.description = f"{api.description}\n\n{api_description_section()}"


_register_routers()
