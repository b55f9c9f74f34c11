"""Admin pieces shared by every app: querysets scoped by the access rule, read-only registers."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .access import reach
from .errors import DomainError, NotFound


class ServiceCheckedForm(forms.ModelForm):
    """An admin form that asks the service what it would refuse, so the reason shows on the form.

    Subclasses implement ``check(cleaned)`` by calling the service's check; ``actor`` is set by ScopedAdmin.
    """

    actor = None
    not_found_field = "place"

    def check(self, cleaned: dict) -> None:
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        try:
            self.check(cleaned)
        except NotFound:
            raise forms.ValidationError({self.not_found_field: _("Not found.")}) from None
        except DomainError as error:
            raise forms.ValidationError(
                {name: str(message) for name, message in error.fields.items()} or str(error.message)
            ) from None
        return cleaned


class ScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin that shows a staff member only rows inside their reach.

    ``scope_permission`` is the permission checked; ``scope_path_field`` the lookup to the row's place path.
    Superusers see everything; staff without the permission see nothing (the same as not found).
    """

    scope_permission: str = ""
    scope_path_field: str = "path"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(reach(request.user, self.scope_permission).q(self.scope_path_field))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user  # service checks in the form need to know who acts
        return form


class ReadOnlyAdmin(ScopedAdmin):
    """For records that change only through services (or never): the admin can look, not touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdmin(ScopedAdmin):
    """For configuration records without a richer service: every save lands in the audit log with its diff."""

    def save_model(self, request, obj, form, change):
        from django.db import transaction

        from .audit import audit_record

        with transaction.atomic():
            changes = {
                name: [str(form.initial.get(name, "")), str(form.cleaned_data.get(name, ""))]
                for name in form.changed_data
            }
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action=f"{obj._meta.model_name}.{'change' if change else 'create'}",
                target=obj,
                changes=changes,
            )

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
