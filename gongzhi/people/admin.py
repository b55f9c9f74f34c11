"""Back-office for people: accounts, residents (masked, read-only), organisations, the party tree and roles."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from gongzhi.core.admin_support import AuditedAdmin, ReadOnlyAdmin, ScopedAdmin, ServiceCheckedForm
from gongzhi.core.masking import mask_phone
from gongzhi.core.roles import Permission

from .models import Account, Organisation, PartyMembership, PartyOrganisation, Resident, ResidentTag, RoleAssignment
from .services import role_assign, role_assign_check, role_end


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    fk_name = "account"
    extra = 0
    can_delete = False
    fields = ("role", "place", "organisation", "starts_on", "ends_on", "granted_by")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(UserAdmin):
    list_display = ("username", "display_name", "is_active", "is_staff", "locked_until", "last_login")
    search_fields = ("username", "display_name")
    readonly_fields = ("failed_login_count", "first_failed_login_at", "last_login", "date_joined")
    raw_id_fields = ("resident",)
    fieldsets = (
        *UserAdmin.fieldsets,
        (
            _("Platform"),
            {
                "fields": (
                    "display_name",
                    "resident",
                    "preferred_language",
                    "elder_mode",
                    "failed_login_count",
                    "first_failed_login_at",
                    "locked_until",
                )
            },
        ),
    )
    inlines = [RoleAssignmentInline]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        from gongzhi.core.access import reach

        scope = reach(request.user, Permission.ROLE_ASSIGN)
        return queryset.filter(scope.q("role_assignments__place__path")).distinct()

    def save_model(self, request, obj, form, change):
        from gongzhi.core.audit import audit_record

        super().save_model(request, obj, form, change)
        safe = [name for name in form.changed_data if name != "password"]
        audit_record(
            actor=request.user,
            action="account.change" if change else "account.create",
            target=obj,
            changes={name: [None, str(form.cleaned_data.get(name))] for name in safe}
            | ({"password": ["***", "***"]} if "password" in form.changed_data else {}),
        )


class ResidentTagInline(admin.TabularInline):
    model = ResidentTag
    extra = 0
    can_delete = False
    readonly_fields = ("code",)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Resident)
class ResidentAdmin(ReadOnlyAdmin):
    """Residents are looked at here, masked; they change through the roster import and the pages."""

    scope_permission = Permission.RESIDENT_VIEW
    scope_path_field = "household__path"
    list_display = ("name", "gender", "birth_date", "masked_phone", "id_card_masked", "household", "relation")
    list_filter = ("gender", "relation", "is_active", "tags__code")
    search_fields = ("name",)
    list_select_related = ("household",)
    fields = (
        "name",
        "gender",
        "birth_date",
        "masked_phone",
        "id_card_masked",
        "household",
        "relation",
        "is_active",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = [ResidentTagInline]

    @admin.display(description=_("phone"))
    def masked_phone(self, resident):
        return mask_phone(resident.phone)


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    scope_permission = Permission.PLACE_VIEW
    scope_path_field = "place__path"
    list_display = ("name", "kind", "place", "contact_name", "supervising_department", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "credit_code")
    raw_id_fields = ("place",)


@admin.register(PartyOrganisation)
class PartyOrganisationAdmin(ReadOnlyAdmin):
    scope_permission = Permission.PLACE_VIEW
    scope_path_field = "place__path"
    list_display = ("name", "kind", "place", "leader", "is_active")
    list_filter = ("kind",)
    search_fields = ("name",)
    list_select_related = ("place", "leader")


@admin.register(PartyMembership)
class PartyMembershipAdmin(ReadOnlyAdmin):
    scope_permission = Permission.RESIDENT_VIEW
    scope_path_field = "resident__household__path"
    list_display = ("resident", "organisation", "is_in_service", "employer_name", "registered_at_home_on")
    list_filter = ("is_in_service",)
    list_select_related = ("resident", "organisation")


class RoleAssignmentForm(ServiceCheckedForm):
    class Meta:
        model = RoleAssignment
        fields = ("account", "role", "place", "organisation", "starts_on", "ends_on")

    def check(self, cleaned: dict) -> None:
        if self.instance.pk or not all(cleaned.get(name) for name in ("account", "role", "place")):
            return
        role_assign_check(
            actor=self.actor,
            account=cleaned["account"],
            role=cleaned["role"],
            place=cleaned["place"],
            organisation=cleaned.get("organisation"),
        )


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedAdmin):
    """Granting and ending roles goes through role_assign / role_end (rank rules, audit)."""

    form = RoleAssignmentForm

    scope_permission = Permission.ROLE_ASSIGN
    scope_path_field = "place__path"
    list_display = ("account", "role", "place", "organisation", "starts_on", "ends_on", "granted_by")
    list_filter = ("role",)
    search_fields = ("account__username", "account__display_name", "place__name")
    raw_id_fields = ("account", "place", "organisation")
    list_select_related = ("account", "place", "organisation", "granted_by")

    def get_fields(self, request, obj=None):
        return ("ends_on",) if obj else ("account", "role", "place", "organisation", "starts_on")

    def has_delete_permission(self, request, obj=None):
        return False  # roles are ended, never deleted, so history stays

    def save_model(self, request, obj, form, change):
        if change:
            role_end(actor=request.user, assignment=RoleAssignment.objects.get(pk=obj.pk), ends_on=obj.ends_on)
        else:
            created = role_assign(
                actor=request.user,
                account=obj.account,
                role=obj.role,
                place=obj.place,
                organisation=obj.organisation,
                starts_on=obj.starts_on,
            )
            obj.pk = created.pk
