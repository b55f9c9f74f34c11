"""Back-office for volunteering, scoped by the access rule and read-only: every change goes through the services
(the pages and the API), so the admin only shows teams, activities, sign-ups, hours, registrations and wishes."""

from __future__ import annotations

from django.contrib import admin

from gongzhi.core.admin_support import ReadOnlyAdmin
from gongzhi.core.roles import Permission

from .models import Activity, DualRegistration, HonourHours, Post, SignUp, Team, Wish


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    scope_permission = Permission.VOLUNTEERING_MANAGE
    scope_path_field = "community__path"
    list_display = ("name", "community", "purpose", "organisation", "is_active")
    list_filter = ("purpose", "is_active")
    search_fields = ("name",)


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    scope_permission = Permission.VOLUNTEERING_MANAGE
    scope_path_field = "community__path"
    list_display = ("title", "community", "starts_at", "capacity", "taken", "state")
    list_filter = ("state", "eligibility")
    search_fields = ("title", "location")
    exclude = ("token_secret",)


@admin.register(SignUp)
class SignUpAdmin(ReadOnlyAdmin):
    scope_permission = Permission.VOLUNTEERING_MANAGE
    scope_path_field = "activity__community__path"
    list_display = ("activity", "state", "position", "checked_in_at", "checked_out_at", "credit_minutes", "no_show")
    list_filter = ("state", "no_show", "late_cancellation")


@admin.register(HonourHours)
class HonourHoursAdmin(ReadOnlyAdmin):
    scope_permission = Permission.VOLUNTEERING_MANAGE
    scope_path_field = "community__path"
    list_display = ("community", "minutes", "served_on", "reason", "added_by")


@admin.register(DualRegistration)
class DualRegistrationAdmin(ReadOnlyAdmin):
    scope_permission = Permission.PARTY_MANAGE
    scope_path_field = "community__path"
    list_display = ("membership", "community", "employer", "registered_on", "state")
    list_filter = ("state",)


@admin.register(Post)
class PostAdmin(ReadOnlyAdmin):
    scope_permission = Permission.VOLUNTEERING_MANAGE
    scope_path_field = "community__path"
    list_display = ("title", "community", "slots", "is_active")


@admin.register(Wish)
class WishAdmin(ReadOnlyAdmin):
    scope_permission = Permission.WISH_APPROVE
    scope_path_field = "household__path"
    list_display = ("title", "community", "state", "due_on", "posted_at")
    list_filter = ("state",)
    search_fields = ("title",)
