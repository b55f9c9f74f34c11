"""Back-office for red points. The ledger, claims and adjustments change only through the services, so the admin
shows them read-only and scoped by the access rule; the review actions call the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from gongzhi.core.admin_support import ReadOnlyAdmin
from gongzhi.core.errors import DomainError
from gongzhi.core.roles import Permission

from .adjustments import adjustment_approve, adjustment_refuse
from .ledger import Figures, account_figures
from .models import (
    AccountKind,
    Adjustment,
    Claim,
    ClaimDecision,
    Entry,
    PointCategory,
    PointItem,
    PointItemVersion,
    PointsAccount,
    Transfer,
)
from .review import claims_review_batch


class EntryInline(admin.TabularInline):
    model = Entry
    extra = 0
    can_delete = False
    fields = ("account", "bucket", "amount", "counts_as_earned")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PointsAccount)
class PointsAccountAdmin(ReadOnlyAdmin):
    scope_permission = Permission.POINTS_VIEW
    scope_path_field = "place_path"
    list_display = ("display_name", "kind", "community", "current_balance", "current_held", "current_earned_total")
    list_filter = ("kind",)
    search_fields = ("display_name",)

    def _figures(self, account: PointsAccount) -> Figures:
        # A system account stores no figures (the ledger sums its entries); a holder's are on its row.
        if account.kind == AccountKind.SYSTEM:
            return account_figures(account)
        return Figures(account.balance, account.held, account.earned_total)

    @admin.display(description=_("balance"))
    def current_balance(self, account: PointsAccount) -> int:
        return self._figures(account).balance

    @admin.display(description=_("held"))
    def current_held(self, account: PointsAccount) -> int:
        return self._figures(account).held

    @admin.display(description=_("earned in all"))
    def current_earned_total(self, account: PointsAccount) -> int:
        return self._figures(account).earned_total


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    scope_permission = Permission.POINTS_VIEW
    scope_path_field = "entries__account__place_path"
    list_display = ("id", "kind", "idempotency_key", "source_type", "source_id", "effective_date", "created_at")
    list_filter = ("kind",)
    search_fields = ("idempotency_key", "source_id")
    inlines = [EntryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()


class DecisionInline(admin.TabularInline):
    model = ClaimDecision
    extra = 0
    can_delete = False
    fields = ("decision", "actor", "reason", "decided_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    scope_permission = Permission.CLAIM_REVIEW
    scope_path_field = "community__path"
    list_display = ("id", "account", "item", "value", "service_date", "state", "review_week", "submitted_at")
    list_filter = ("state", "review_week")
    search_fields = ("account__display_name", "item__name")
    inlines = [DecisionInline]
    actions = ["approve_selected", "reject_selected"]

    def _batch(self, request, queryset, decision: str, reason: str = ""):
        try:
            result = claims_review_batch(
                actor=request.user,
                claim_ids=list(queryset.values_list("pk", flat=True)),
                decision=decision,
                reason=reason,
            )
        except DomainError as error:
            self.message_user(request, str(error.message), messages.ERROR)
            return
        self.message_user(request, _("%(count)d claims done.") % {"count": len(result["succeeded"])})
        for claim_id, failure in result["failed"].items():
            self.message_user(request, f"#{claim_id}: {failure['message']}", messages.WARNING)

    @admin.action(description=_("Approve the selected claims"))
    def approve_selected(self, request, queryset):
        self._batch(request, queryset, "approve")

    @admin.action(description=_("Reject the selected claims (not as described)"))
    def reject_selected(self, request, queryset):
        self._batch(request, queryset, "reject", reason=str(_("Rejected in the back office.")))


@admin.register(Adjustment)
class AdjustmentAdmin(ReadOnlyAdmin):
    scope_permission = Permission.POINTS_ADJUST
    scope_path_field = "account__place_path"
    list_display = ("id", "account", "amount", "reason", "state", "proposed_by", "decided_by")
    list_filter = ("state",)
    actions = ["approve_selected", "refuse_selected"]

    def _each(self, request, queryset, service):
        for adjustment in queryset:
            try:
                service(actor=request.user, adjustment=adjustment)
            except DomainError as error:
                self.message_user(request, f"#{adjustment.pk}: {error.message}", messages.WARNING)

    @admin.action(description=_("Approve and post the selected adjustments"))
    def approve_selected(self, request, queryset):
        self._each(request, queryset, adjustment_approve)

    @admin.action(description=_("Refuse the selected adjustments"))
    def refuse_selected(self, request, queryset):
        self._each(request, queryset, adjustment_refuse)


class VersionInline(admin.TabularInline):
    model = PointItemVersion
    extra = 0
    can_delete = False
    fields = ("value", "effective_from", "reason", "changed_by", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PointItem)
class PointItemAdmin(ReadOnlyAdmin):
    scope_permission = Permission.CATALOGUE_MANAGE
    scope_path_field = "owner__path"
    list_display = ("code", "name", "category", "owner", "evidence_required", "two_reviewers", "is_active")
    list_filter = ("category", "evidence_required", "two_reviewers")
    search_fields = ("code", "name")
    inlines = [VersionInline]


@admin.register(PointCategory)
class PointCategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "sort_order", "is_active")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
