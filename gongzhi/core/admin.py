from django.contrib import admin

from gongzhi.core.roles import Permission

from .admin_support import ReadOnlyAdmin
from .models import AuditEntry, JobRun, Progress


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    scope_permission = Permission.AUDIT_VIEW
    scope_path_field = "place_path"
    list_display = ("occurred_at", "actor_label", "action", "object_type", "object_id", "channel", "source_ip")
    list_filter = ("action", "channel")
    search_fields = ("actor_label", "action", "object_id", "purpose")
    date_hierarchy = "occurred_at"


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ("job_name", "run_key", "status", "attempts", "started_at", "finished_at", "worker")
    list_filter = ("status", "job_name")

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        return queryset if request.user.is_superuser else queryset.none()


@admin.register(Progress)
class ProgressAdmin(ReadOnlyAdmin):
    list_display = ("kind", "owner", "status", "done", "total", "created_at")
    list_filter = ("kind", "status")

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        return queryset if request.user.is_superuser else queryset.filter(owner=request.user)
