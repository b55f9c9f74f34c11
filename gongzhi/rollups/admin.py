from django.contrib import admin

from .models import DailyTotal, RollupState


@admin.register(RollupState)
class RollupStateAdmin(admin.ModelAdmin):
    """Read-only: the job alone writes roll-ups."""

    list_display = ("source", "built_to", "observed", "changes_to", "built_through", "built_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DailyTotal)
class DailyTotalAdmin(RollupStateAdmin):
    list_display = ("measure", "place_id", "day", "value")
    list_filter = ("measure",)
