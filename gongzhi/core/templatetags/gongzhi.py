"""Template helpers for gongzhi pages: ``{% load gongzhi %}``."""

from __future__ import annotations

from django import template
from django.http import QueryDict

from gongzhi.core.masking import mask_id_card, mask_name, mask_phone

register = template.Library()


@register.filter
def masked_phone(value: str | None) -> str:
    """138****5678."""
    return mask_phone(value)


@register.filter
def masked_id_card(value: str | None) -> str:
    return mask_id_card(value)


@register.filter
def masked_name(value: str | None) -> str:
    return mask_name(value)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None or "" drops one); for pagers and filters."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else QueryDict(mutable=True)
    for name, value in changes.items():
        if value is None or value == "":
            query.pop(name, None)
        else:
            query[name] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def nav_current(context, prefix: str, exact: bool = False, exclude: str = "") -> str:
    """'page' when the request path is (under) ``prefix`` and not under ``exclude``: for aria-current."""
    request = context.get("request")
    if request is None:
        return "false"
    path = request.path
    matched = path == prefix if exact else path.startswith(prefix) and not (exclude and path.startswith(exclude))
    return "page" if matched else "false"


@register.filter
def has_staff_role(roles) -> bool:
    """True when the roles (a set of role codes) include a back-office role."""
    from gongzhi.core.roles import STAFF_ROLES

    return bool(set(roles or ()) & STAFF_ROLES)


@register.filter
def has_role(roles, role: str) -> bool:
    return role in (roles or ())
