"""Pages of the cockpit's generated documents: asking for a work report (.docx or PDF) written in the background,
its progress (polled by htmx: no script of our own), the download, and the per-domain ledgers (.xlsx). Thin:
parse → access → one service → render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from gongzhi.core.db_router import replica_reads
from gongzhi.core.errors import DomainError, NotFound
from gongzhi.core.roles import Permission
from gongzhi.core.views_support import domain_errors, render_error

from . import selectors
from .exports import XLSX_CONTENT_TYPE
from .ledgers import LEDGERS, ledger_workbook
from .periods import period_from
from .reporting import access_report_run, report_run_download, report_run_request
from .views import _period


@login_required
@domain_errors
@require_POST
def report_request(request, place_id: int):
    """Ask for the report of the place and the period the page shows; then its progress page."""
    place = selectors.cockpit_place(request.user, place_id, Permission.REPORT_GENERATE)
    period = period_from(today=timezone.localdate(), key=request.POST.get("period") or None)
    run = report_run_request(
        actor=request.user, place=place, period=period, format=request.POST.get("format", ""), now=timezone.now()
    )
    return redirect(reverse("cockpit:report_run", args=[run.pk]))


@login_required
@domain_errors
@require_GET
def report_run(request, run_id: int):
    """The run's page: what is being written, its progress bar (polled), then the download link."""
    run = access_report_run(request.user, run_id)
    template = "cockpit/_report_status.html" if request.GET.get("fragment") == "1" else "cockpit/report_run.html"
    return render(request, template, {"run": run})


@login_required
@domain_errors
@require_GET
def report_file(request, run_id: int):
    run = access_report_run(request.user, run_id)
    handle, filename = report_run_download(actor=request.user, run=run, now=timezone.now())
    response = FileResponse(handle, as_attachment=True, filename=filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@domain_errors
@replica_reads
def ledger(request, place_id: int, domain: str):
    """A domain's ledger (.xlsx) for the place and period: masked; GET shows the reveal form to those who may,
    POST with ``reveal`` and ``purpose`` gives names and phones in full (audited)."""
    place = selectors.cockpit_place(request.user, place_id, Permission.REPORT_GENERATE)
    if domain not in LEDGERS:
        raise NotFound()
    period, _errors = _period(request)
    reveal = request.method == "POST" and request.POST.get("reveal") == "1"
    if request.GET.get("ask") == "reveal" and request.method == "GET":
        context = {"place": place, "period": period, "domain": domain, "title": LEDGERS[domain][0], "errors": {}}
        return render(request, "cockpit/ledger_reveal.html", context)
    try:
        spooled = ledger_workbook(
            actor=request.user,
            domain=domain,
            place=place,
            period=period,
            reveal=reveal,
            purpose=request.POST.get("purpose", ""),
            now=timezone.now(),
        )
    except DomainError as error:
        if reveal and error.fields:
            context = {
                "place": place,
                "period": period,
                "domain": domain,
                "title": LEDGERS[domain][0],
                "errors": error.fields,
                "purpose": request.POST.get("purpose", ""),
            }
            return render(request, "cockpit/ledger_reveal.html", context, status=400)
        return render_error(request, error)
    suffix = "-full" if reveal else ""
    response = FileResponse(
        spooled,
        as_attachment=True,
        filename=f"ledger-{domain}-{place.pk}-{period.key}{suffix}.xlsx",
        content_type=XLSX_CONTENT_TYPE,
    )
    response["Cache-Control"] = "private, no-store"
    return response
