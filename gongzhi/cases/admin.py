"""Back office for what staff configure in the cases domain: categories, routing rules, deadline policies and the
working calendar; cases themselves are read-only here (they change only through the services).

Categories, deadline policies and the calendar hold for the whole district: only people holding
``case.configure`` on a district (or superusers) change them. Routing rules are scoped to the place they apply
within, so a street or community configures its own.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gongzhi.core.access import reach, require_reach
from gongzhi.core.admin_support import AuditedAdmin, ReadOnlyAdmin, ServiceCheckedForm
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.roles import Permission

from .models import CalendarDay, Case, CaseCategory, CaseEvent, DeadlinePolicy, RoutingRule


def configures_district(user) -> bool:
    """Superusers, and people holding ``case.configure`` on a whole district (a root of the place tree)."""
    if user.is_superuser:
        return True
    return any(path.count("/") == 2 for path in reach(user, Permission.CASE_CONFIGURE).paths)


class DistrictConfigAdmin(AuditedAdmin):
    """District-wide configuration rows: visible and editable to district configurers only; saves are audited."""

    scope_permission = Permission.CASE_CONFIGURE

    def get_queryset(self, request):
        queryset = self.model._default_manager.get_queryset()
        return queryset if configures_district(request.user) else queryset.none()

    def has_module_permission(self, request):
        return configures_district(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return configures_district(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return configures_district(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return configures_district(request.user) and super().has_change_permission(request, obj)


@admin.register(CaseCategory)
class CaseCategoryAdmin(DistrictConfigAdmin):
    list_display = ("name", "code", "target_level", "target_department", "is_active", "sort_order")
    list_filter = ("target_level", "is_active")
    search_fields = ("name", "code", "hotline_names")
    raw_id_fields = ("target_department",)


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(DistrictConfigAdmin):
    list_display = ("category", "level", "unit", "accept_within", "resolve_within")
    list_filter = ("level", "unit")


@admin.register(CalendarDay)
class CalendarDayAdmin(DistrictConfigAdmin):
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"


class RoutingRuleForm(ServiceCheckedForm):
    not_found_field = "scope_place"

    class Meta:
        model = RoutingRule
        fields = ("category", "scope_place", "from_level", "target_level", "target_department", "priority", "is_active")

    def check(self, cleaned: dict) -> None:
        place = cleaned.get("scope_place")
        if place is None:
            raise ValidationFailed(fields={"scope_place": _("Choose the place the rule applies within.")})
        require_reach(self.actor, Permission.CASE_CONFIGURE, place.path)


@admin.register(RoutingRule)
class RoutingRuleAdmin(AuditedAdmin):
    form = RoutingRuleForm
    scope_permission = Permission.CASE_CONFIGURE
    scope_path_field = "scope_place__path"
    list_display = (
        "category",
        "scope_place",
        "from_level",
        "target_level",
        "target_department",
        "priority",
        "is_active",
    )
    list_filter = ("target_level", "is_active")
    raw_id_fields = ("scope_place", "target_department")
    list_select_related = ("category", "scope_place", "target_department")


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("occurred_at", "kind", "actor_label", "level", "from_state", "to_state", "to_place", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    scope_permission = Permission.CASE_VIEW
    scope_path_field = "place__path"
    list_display = ("id", "category", "place", "level", "handling_place", "state", "is_overdue", "submitted_at")
    list_filter = ("state", "level", "channel", "is_overdue", "category")
    search_fields = ("text", "external_ref")
    list_select_related = ("category", "place", "handling_place")
    exclude = ("contact_phone",)
    inlines = [CaseEventInline]


# ---------------------------------------------------------------- Open311 API keys (gongzhi/cases/open311.py)


class Open311KeyAdmin(DistrictConfigAdmin):
    """Keys issued to outside systems. The key is generated on save and shown once; only its digest is kept."""

    list_display = ("name", "prefix", "place", "account", "is_active", "created_at", "last_used_at")
    list_filter = ("is_active",)
    search_fields = ("name", "prefix")
    raw_id_fields = ("place", "account")
    readonly_fields = ("prefix", "created_at", "last_used_at")

    def save_model(self, request, obj, form, change):
        import secrets

        from django.contrib import messages

        from .open311 import key_digest

        raw = None
        if not change:
            raw = secrets.token_urlsafe(32)
            obj.digest, obj.prefix = key_digest(raw), raw[:8]
        intake = reach(obj.account, Permission.CASE_INTAKE)
        if not intake.covers(obj.place.path):
            messages.warning(
                request,
                _("%(account)s holds no role with case.intake on %(place)s: requests from this key will be refused.")
                % {"account": obj.account, "place": obj.place},
            )
        super().save_model(request, obj, form, change)
        if raw is not None:
            messages.success(
                request,
                _("The API key for %(name)s is %(key)s — copy it now, it is not shown again.")
                % {"name": obj.name, "key": raw},
            )


def _register_open311_key_admin() -> None:
    from .models import Open311Key

    admin.site.register(Open311Key, Open311KeyAdmin)


_register_open311_key_admin()
