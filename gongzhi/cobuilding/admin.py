"""Back-office for co-building, scoped by the access rule and read-only: every record changes only through the
services (the pages and the API call them); the admin is for looking things up. One action calls a service:
approving requested spending (``spending_approve``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from gongzhi.core.admin_support import ReadOnlyAdmin
from gongzhi.core.errors import DomainError
from gongzhi.core.roles import Permission

from .models import Agreement, AssessmentResult, Fund, Meeting, Need, Pairing, Project, Resource, Spending
from .services import spending_approve


class _Staff(ReadOnlyAdmin):
    scope_permission = Permission.COBUILDING_MANAGE
    scope_path_field = "community__path"


@admin.register(Agreement)
class AgreementAdmin(_Staff):
    list_display = ("organisation", "community", "starts_on", "ends_on", "state")
    list_filter = ("state",)
    search_fields = ("organisation__name",)


@admin.register(Resource)
class ResourceAdmin(_Staff):
    list_display = ("title", "organisation", "community", "kind", "state")
    list_filter = ("kind", "state")
    search_fields = ("title", "organisation__name")


@admin.register(Need)
class NeedAdmin(_Staff):
    list_display = ("title", "community", "kind", "source_kind", "state")
    list_filter = ("kind", "source_kind", "state")
    search_fields = ("title",)


@admin.register(Project)
class ProjectAdmin(_Staff):
    list_display = ("title", "community", "state", "claimer", "budget", "rating_count")
    list_filter = ("state",)
    search_fields = ("title", "claimer__name")


@admin.register(Fund)
class FundAdmin(_Staff):
    list_display = ("community", "year", "budget", "committed", "spent")


@admin.register(Spending)
class SpendingAdmin(ReadOnlyAdmin):
    scope_permission = Permission.FUND_APPROVE
    scope_path_field = "fund__community__path"
    list_display = ("purpose", "fund", "amount", "state", "requested_at")
    list_filter = ("state",)
    actions = ["approve_selected"]

    @admin.action(description=_("Approve the selected spending"))
    def approve_selected(self, request, queryset):
        approved = 0
        for spending in queryset.order_by("pk"):
            try:
                spending_approve(actor=request.user, spending=spending)
                approved += 1
            except DomainError as error:
                self.message_user(request, f"{spending.purpose}: {error.message}", messages.ERROR)
        if approved:
            self.message_user(request, _("%(count)d approved.") % {"count": approved}, messages.SUCCESS)

    def get_actions(self, request):
        # Read-only otherwise: the one action goes through the service, which checks access itself.
        return {"approve_selected": self.get_action("approve_selected")}


@admin.register(Pairing)
class PairingAdmin(_Staff):
    list_display = ("community", "kind", "partner_name", "partner_organisation", "started_on")
    list_filter = ("kind",)


@admin.register(Meeting)
class MeetingAdmin(_Staff):
    list_display = ("title", "community", "kind", "held_on", "attendance")
    list_filter = ("kind",)


@admin.register(AssessmentResult)
class AssessmentResultAdmin(ReadOnlyAdmin):
    scope_permission = Permission.ASSESSMENT_SCORE
    scope_path_field = "compound__path"
    list_display = ("compound", "company", "year", "quarter", "weighted_score", "grade", "stars", "reward")
    list_filter = ("grade", "reward", "year")
