"""Back-office for people: accounts, residents (masked, read-only), organisations, the party tree and roles."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gongzhi.core.access import reach
from gongzhi.core.admin_support import AuditedAdmin, ReadOnlyAdmin, ScopedAdmin, ServiceCheckedForm
from gongzhi.core.masking import mask_phone
from gongzhi.core.roles import Permission

from .models import (
    Account,
    Organisation,
    PartyMembership,
    PartyMembershipEndReason,
    PartyOrganisation,
    Resident,
    ResidentTag,
    RoleAssignment,
)
from .party import (
    MEMBERSHIP_FIELDS,
    MEMBERSHIP_PERMISSION,
    PartyMembershipInput,
    party_membership_add,
    party_membership_add_check,
    party_membership_change,
    party_membership_change_check,
    party_membership_end,
    party_membership_end_check,
    party_organisation_check,
    party_organisation_create,
)
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
    actions = ["anonymise_selected"]

    @admin.display(description=_("phone"))
    def masked_phone(self, resident):
        return mask_phone(resident.phone)

    @admin.action(description=_("Anonymise the selected person who left (asks for the reason)"))
    def anonymise_selected(self, request, queryset):
        """One person at a time, on the confirmation page that asks for the reason and calls resident_anonymise."""
        from django.shortcuts import redirect

        chosen = list(queryset.values_list("pk", flat=True)[:2])
        if len(chosen) != 1:
            self.message_user(request, _("Choose exactly one person to anonymise."), messages.WARNING)
            return None
        return redirect("resident_anonymise", resident_id=chosen[0])

    def get_actions(self, request):
        # Read-only otherwise: the one action leads to the page that goes through the service.
        return {"anonymise_selected": self.get_action("anonymise_selected")}


@admin.register(Organisation)
class OrganisationAdmin(AuditedAdmin):
    scope_permission = Permission.PLACE_VIEW
    scope_path_field = "place__path"
    list_display = ("name", "kind", "place", "contact_name", "supervising_department", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "credit_code")
    raw_id_fields = ("place",)


class AccessRuleAdmin(ScopedAdmin):
    """Staff may use these pages by the access rule as well as by Django's model permissions: holding
    ``scope_permission`` somewhere lets them look, ``manage_permission`` somewhere lets them add and change (the
    service checks the place itself). Nothing is deleted here."""

    manage_permission: str = ""

    def _holds(self, request, permission: str) -> bool:
        user = request.user
        return user.is_active and user.is_staff and (user.is_superuser or not reach(user, permission).is_empty)

    def has_module_permission(self, request):
        return super().has_module_permission(request) or self._holds(request, self.scope_permission)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or self._holds(request, self.scope_permission)

    def has_add_permission(self, request):
        return self._holds(request, self.manage_permission)

    def has_change_permission(self, request, obj=None):
        return self._holds(request, self.manage_permission)

    def has_delete_permission(self, request, obj=None):
        return False


class PartyOrganisationForm(ServiceCheckedForm):
    class Meta:
        model = PartyOrganisation
        fields = ("kind", "name", "place", "parent", "leader")

    def check(self, cleaned: dict) -> None:
        if not all(cleaned.get(name) for name in ("kind", "name", "place")):
            return
        party_organisation_check(
            actor=self.actor,
            kind=cleaned["kind"],
            name=cleaned["name"],
            place=cleaned["place"],
            parent=cleaned.get("parent"),
            leader=cleaned.get("leader"),
        )


@admin.register(PartyOrganisation)
class PartyOrganisationAdmin(AccessRuleAdmin):
    """Nodes are added through party_organisation_create (kinds, places inside the parent's, audit); kept after."""

    form = PartyOrganisationForm
    scope_permission = Permission.PLACE_VIEW
    scope_path_field = "place__path"
    manage_permission = Permission.PLACE_MANAGE
    list_display = ("name", "kind", "place", "leader", "is_active")
    list_filter = ("kind",)
    search_fields = ("name",)
    list_select_related = ("place", "leader")
    raw_id_fields = ("place", "parent", "leader")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)  # the list, not a node: no service edits

    def save_model(self, request, obj, form, change):
        created = party_organisation_create(
            actor=request.user,
            kind=obj.kind,
            name=obj.name,
            place=obj.place,
            parent=obj.parent,
            leader=obj.leader,
        )
        obj.pk, obj.path = created.pk, created.path


class PartyMembershipForm(ServiceCheckedForm):
    """Adding registers the resident (party_membership_add); changing goes through party_membership_change; a
    reason for ending ends the membership (party_membership_end)."""

    not_found_field = "resident"
    end_reason = forms.ChoiceField(
        label=_("end the membership"),
        choices=[("", "—"), *PartyMembershipEndReason.choices],
        required=False,
    )
    end_on = forms.DateField(label=_("ended on"), required=False, help_text=_("Today when left empty."))

    class Meta:
        model = PartyMembership
        fields = ("resident", *MEMBERSHIP_FIELDS)

    def validate_unique(self):
        """The service answers for duplicates (a membership that ended is reopened, not duplicated)."""

    def membership_input(self, cleaned: dict) -> PartyMembershipInput:
        return PartyMembershipInput(**{name: cleaned.get(name) for name in MEMBERSHIP_FIELDS})

    def check(self, cleaned: dict) -> None:
        now = timezone.now()
        if self.instance.pk:
            membership = PartyMembership.objects.select_related("resident__household").get(pk=self.instance.pk)
            data = self.membership_input(cleaned)
            party_membership_change_check(actor=self.actor, membership=membership, data=data, now=now)
            if cleaned.get("end_reason"):
                party_membership_end_check(
                    actor=self.actor,
                    membership=membership,
                    reason=cleaned["end_reason"],
                    ended_on=cleaned.get("end_on"),
                    now=now,
                )
        elif cleaned.get("resident"):
            party_membership_add_check(
                actor=self.actor, resident=cleaned["resident"], data=self.membership_input(cleaned), now=now
            )


@admin.register(PartyMembership)
class PartyMembershipAdmin(AccessRuleAdmin):
    form = PartyMembershipForm
    scope_permission = Permission.RESIDENT_VIEW
    scope_path_field = "resident__household__path"
    manage_permission = MEMBERSHIP_PERMISSION
    list_display = ("resident", "organisation", "joined_on", "is_in_service", "employer_name", "is_active", "ended_on")
    list_filter = ("is_in_service", "is_active", "end_reason")
    search_fields = ("resident__name", "organisation__name", "employer_name")
    list_select_related = ("resident", "organisation")
    raw_id_fields = ("resident", "organisation", "employer")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("resident", *MEMBERSHIP_FIELDS)
        if not obj.is_active:
            return ("resident", *MEMBERSHIP_FIELDS, "ended_on", "end_reason")
        return (*MEMBERSHIP_FIELDS, "end_reason", "end_on")

    def get_readonly_fields(self, request, obj=None):
        return ("resident",) if obj is not None and obj.is_active else ()

    def has_change_permission(self, request, obj=None):
        # An ended membership is history: it is looked at here, and reopened by registering the resident again.
        return (obj is None or obj.is_active) and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        data = form.membership_input(form.cleaned_data)
        if not change:
            created = party_membership_add(actor=request.user, resident=obj.resident, data=data, now=now)
            obj.pk = created.pk
            return
        membership = PartyMembership.objects.select_related("resident__household").get(pk=obj.pk)
        membership = party_membership_change(actor=request.user, membership=membership, data=data, now=now)
        if form.cleaned_data.get("end_reason"):
            party_membership_end(
                actor=request.user,
                membership=membership,
                reason=form.cleaned_data["end_reason"],
                ended_on=form.cleaned_data.get("end_on"),
                now=now,
            )


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
