"""One pager for pages: a Django ``Page`` of a queryset, shown with ``includes/pager.html``.

``page_of(request, queryset)`` reads ``?page=`` (a missing, garbled or too-large number gives the nearest real
page, never an error) and the template keeps every other query parameter (search, filters) on the links::

    {% include "includes/pager.html" with page=page %}
    {% include "includes/pager.html" with page=page target="queue" %}   {# htmx swap of #queue #}
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PER_PAGE = 25


def page_of(request: HttpRequest, items: Any, *, per_page: int = PER_PAGE, parameter: str = "page") -> Page:
    """The requested page of ``items`` (a queryset or a list), ``per_page`` to a page."""
    return Paginator(items, per_page).get_page(request.GET.get(parameter))
