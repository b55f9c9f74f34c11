"""Back-office for the place tree. Saving goes through the place services (history, audit, access)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gongzhi.core.access import require_reach
from gongzhi.core.admin_support import ScopedAdmin, ServiceCheckedForm
from gongzhi.core.errors import ValidationFailed
from gongzhi.core.roles import Permission

from .models import Place, PlaceChange
from .services import place_create, place_move, place_rename, validate_parent


class PlaceChangeInline(admin.TabularInline):
    model = PlaceChange
    fk_name = "place"
    extra = 0
    can_delete = False
    fields = ("changed_at", "action", "actor", "old_name", "new_name", "old_parent", "new_parent")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class PlaceAdminForm(ServiceCheckedForm):
    not_found_field = "parent"

    class Meta:
        model = Place
        fields = ("kind", "name", "code", "parent", "address")

    def check(self, cleaned: dict) -> None:
        kind = cleaned.get("kind") or self.instance.kind
        parent = cleaned.get("parent")
        if parent is not None:
            require_reach(self.actor, Permission.PLACE_MANAGE, parent.path)
        elif not getattr(self.actor, "is_superuser", False):
            raise ValidationFailed(fields={"parent": _("Choose the place this one belongs to.")})
        if self.instance.pk and parent is not None and parent.path.startswith(self.instance.path):
            raise ValidationFailed(_("A place cannot be moved under itself."))
        validate_parent(kind, parent)
        name = (cleaned.get("name") or "").strip()
        siblings = Place.objects.filter(parent=parent, name=name, is_active=True).exclude(pk=self.instance.pk)
        if name and siblings.exists():
            raise ValidationFailed(fields={"name": _("There is already a place with this name here.")})


@admin.register(Place)
class PlaceAdmin(ScopedAdmin):
    form = PlaceAdminForm
    scope_permission = Permission.PLACE_VIEW
    list_display = ("name", "kind", "grid_level", "parent", "code", "is_active")
    list_filter = ("kind", "grid_level", "is_active")
    search_fields = ("name", "code")
    raw_id_fields = ("parent",)
    readonly_fields = ("path", "depth", "grid_level", "created_at", "updated_at")
    fields = ("kind", "name", "code", "parent", "address", *readonly_fields)
    inlines = [PlaceChangeInline]
    list_select_related = ("parent",)

    def has_change_permission(self, request, obj=None):
        if obj is None or request.user.is_superuser:
            return super().has_change_permission(request, obj)
        from gongzhi.core.access import reach

        return reach(request.user, Permission.PLACE_MANAGE).covers(obj.path)

    def has_delete_permission(self, request, obj=None):
        return False  # places are archived, never deleted: records and history point at them

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "kind") if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        # The form has already checked kind, parent, name and reach; the services write, keep history and audit.
        if not change:
            created = place_create(
                actor=request.user,
                kind=obj.kind,
                name=obj.name,
                parent=obj.parent,
                code=obj.code,
                address=obj.address,
            )
            obj.pk, obj.path = created.pk, created.path
            return
        original = Place.objects.get(pk=obj.pk)
        if obj.parent_id != original.parent_id and obj.parent is not None:
            place_move(actor=request.user, place=original, new_parent=obj.parent)
        if obj.name != original.name:
            place_rename(actor=request.user, place=Place.objects.get(pk=obj.pk), name=obj.name)
        if (obj.code, obj.address) != (original.code, original.address):
            Place.objects.filter(pk=obj.pk).update(code=obj.code, address=obj.address)
