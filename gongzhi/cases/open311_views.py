"""Staff pages for Open311 (GeoReport v2, ``open311.py``), linked from the queue for those who configure requests:

- ``/cases/manage/open311/``: the keys issued to outside systems for places in the person's ``case.configure``
  reach, masked (their first characters); issue a key — shown once, on the page that answers the form, never
  again — and revoke one;
- ``/cases/manage/categories/``: the district's request categories and their questions (the services' attributes),
  for those who configure the district (``case.configure`` on a district); add, change and archive questions.

Views are thin: parse the form → access helper → one service (``open311_keys.py``, ``attributes.py``) → render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gongzhi.core.access import reach
from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors

from .attributes import (
    access_attribute,
    attribute_add,
    attribute_archive,
    attribute_change,
    category_attributes,
    values_text,
)
from .models import AttributeDatatype, CaseCategory
from .open311 import jurisdiction_id
from .open311_keys import access_key, key_places, key_queryset, masked, open311_key_issue, open311_key_revoke
from .selectors import configures_categories

KEYS_SHOWN = 200
PLACES_SHOWN = 500


def _errors(error: DomainError) -> dict[str, list[str]]:
    return error.as_dict().get("fields") or {}


# ---------------------------------------------------------------- Open311 keys


def _require_key_manager(user) -> None:
    if reach(user, Permission.CASE_CONFIGURE).is_empty:
        raise NotFound()


def _keys_context(user) -> dict[str, Any]:
    keys = list(key_queryset(user).order_by("-is_active", "name", "id")[:KEYS_SHOWN])
    for key in keys:
        key.masked = masked(key)  # type: ignore[attr-defined]
    return {
        "keys": keys,
        "places": list(key_places(user)[:PLACES_SHOWN]),
        "form": {},
        "errors": {},
        "error": None,
        "issued": None,
        "jurisdiction_id": jurisdiction_id(),
    }


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def open311_keys_page(request):
    """The keys of outside systems; the form issues one and this page shows it once."""
    user = request.user
    _require_key_manager(user)
    context = _keys_context(user)
    if request.method == "GET":
        return render(request, "cases/open311_keys.html", context)
    form = {name: request.POST.get(name, "").strip()[:150] for name in ("name", "place", "account")}
    context["form"] = form
    place = key_places(user).filter(pk=int(form["place"])).first() if form["place"].isdigit() else None
    account = get_user_model().objects.filter(username=form["account"]).first() if form["account"] else None
    try:
        key, raw = open311_key_issue(actor=user, name=form["name"], place=place, account=account)
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        context.update(error=error, errors=_errors(error))
        return render(request, "cases/open311_keys.html", context, status=error.status)
    context = _keys_context(user)
    context["issued"] = {"key": key, "raw": raw}
    response = render(request, "cases/open311_keys.html", context)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@domain_errors
@require_POST
def open311_key_revoke_page(request, key_id: int):
    key = access_key(request.user, key_id)
    open311_key_revoke(actor=request.user, key=key)
    messages.success(request, _("The key of %(name)s is revoked.") % {"name": key.name})
    return redirect("cases:open311_keys")


# ---------------------------------------------------------------- the categories' questions


def _require_configurer(user) -> None:
    if not configures_categories(user):
        raise NotFound()


def _category(category_id: Any) -> CaseCategory:
    category = CaseCategory.objects.filter(pk=category_id).first()
    if category is None:
        raise NotFound()
    return category


def _attribute_form(request) -> dict[str, Any]:
    choices = request.POST.get("values", "")[:6000]
    return {
        "code": request.POST.get("code", "").strip()[:40],
        "description": request.POST.get("description", "").strip()[:255],
        "datatype": request.POST.get("datatype", ""),
        "datatype_description": request.POST.get("datatype_description", "").strip()[:255],
        "required": request.POST.get("required") == "1",
        "variable": request.POST.get("variable") == "1",
        "order": request.POST.get("order", "").strip()[:6],
        "values": choices,
        "choices_text": choices,  # for the template: a dict's "values" would be its method
    }


@login_required
@domain_errors
@require_GET
def categories_page(request):
    _require_configurer(request.user)
    categories = CaseCategory.objects.annotate(
        question_count=Count("attributes", filter=Q(attributes__is_active=True))
    ).order_by("-is_active", "sort_order", "name")
    return render(request, "cases/categories.html", {"categories": categories})


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def category_attributes_page(request, category_id: int):
    """A category's questions, and the form that adds one."""
    _require_configurer(request.user)
    category = _category(category_id)
    context: dict[str, Any] = {
        "category": category,
        "attributes": category_attributes(category),
        "datatypes": AttributeDatatype.choices,
        "form": {"variable": True, "order": len(category_attributes(category)) + 1, "datatype": "string"},
        "errors": {},
        "error": None,
    }
    if request.method == "GET":
        return render(request, "cases/category_attributes.html", context)
    form = _attribute_form(request)
    context["form"] = form
    try:
        attribute_add(actor=request.user, category=category, data=form)
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        context.update(error=error, errors=_errors(error))
        return render(request, "cases/category_attributes.html", context, status=error.status)
    messages.success(request, _("The question was added."))
    return redirect("cases:category_attributes", category.pk)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def attribute_edit(request, attribute_id: int):
    attribute = access_attribute(request.user, attribute_id)
    context: dict[str, Any] = {
        "attribute": attribute,
        "category": attribute.category,
        "datatypes": AttributeDatatype.choices,
        "form": {
            "code": attribute.code,
            "description": attribute.description,
            "datatype": attribute.datatype,
            "datatype_description": attribute.datatype_description,
            "required": attribute.required,
            "variable": attribute.variable,
            "order": attribute.order,
            "choices_text": values_text(attribute.values),
        },
        "errors": {},
        "error": None,
    }
    if request.method == "GET":
        return render(request, "cases/attribute_edit.html", context)
    form = _attribute_form(request)
    context["form"] = form
    try:
        attribute_change(actor=request.user, attribute=attribute, data=form)
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        context.update(error=error, errors=_errors(error))
        return render(request, "cases/attribute_edit.html", context, status=error.status)
    messages.success(request, _("The question was saved."))
    return redirect("cases:category_attributes", attribute.category_id)


@login_required
@domain_errors
@require_POST
def attribute_archive_page(request, attribute_id: int):
    attribute = access_attribute(request.user, attribute_id)
    attribute_archive(actor=request.user, attribute=attribute)
    messages.success(request, _("The question is no longer asked."))
    return redirect("cases:category_attributes", attribute.category_id)
