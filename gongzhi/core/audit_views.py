"""The audit log's pages: search with filters and pagination, and the .xlsx export (audited). Only parse, check,
call, render: the reads and the export live in core/audit_search.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .audit_search import (
    XLSX_CONTENT_TYPE,
    audit_actions,
    audit_export,
    audit_search,
    masked_changes_text,
    parse_filters,
)
from .errors import ValidationFailed
from .pagination import page_of
from .views_support import domain_errors


@require_GET
@login_required
@domain_errors
def audit_list(request: HttpRequest) -> HttpResponse:
    errors: dict = {}
    try:
        filters = parse_filters(request.GET)
    except ValidationFailed as error:
        errors = dict(error.fields or {})
        filters = parse_filters({})
    page = page_of(request, audit_search(request.user, filters))
    rows = [(entry, masked_changes_text(entry.changes)) for entry in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "filters": filters,
        "errors": errors,
        "actions": audit_actions(request.user),
        "query": request.GET.urlencode(),
    }
    template = "core/audit/_results.html" if request.headers.get("HX-Request") else "core/audit/list.html"
    return render(request, template, context)


@require_GET
@login_required
@domain_errors
def audit_export_xlsx(request: HttpRequest) -> HttpResponse:
    filters = parse_filters(request.GET)
    now = timezone.now()
    content, _rows = audit_export(actor=request.user, filters=filters, now=now)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localtime(now):%Y%m%d-%H%M}.xlsx"'
    return response
