"""Back-office for deliberation, scoped by the access rule and read-only: every change goes through the services
(the staff pages at /deliberation/manage/ call them); the ballot box is append-only besides."""

from __future__ import annotations

from django.contrib import admin

from gongzhi.core.admin_support import ReadOnlyAdmin
from gongzhi.core.roles import Permission

from .models import Ballot, CatalogueEntry, Participation, Resolution, Topic, Vote


class _DeliberationAdmin(ReadOnlyAdmin):
    scope_permission = Permission.DELIBERATION_MANAGE
    scope_path_field = "community__path"


@admin.register(CatalogueEntry)
class CatalogueEntryAdmin(_DeliberationAdmin):
    list_display = ("name", "community", "is_major", "is_active")
    list_filter = ("is_major", "is_active")
    search_fields = ("name",)


@admin.register(Topic)
class TopicAdmin(_DeliberationAdmin):
    list_display = ("title", "community", "state", "source", "is_major", "cosigner_count", "proposed_at")
    list_filter = ("state", "source", "is_major")
    search_fields = ("title",)


@admin.register(Resolution)
class ResolutionAdmin(_DeliberationAdmin):
    scope_path_field = "topic__community__path"
    list_display = ("topic", "steps_done", "published_at", "result_published_at")


@admin.register(Vote)
class VoteAdmin(_DeliberationAdmin):
    list_display = ("title", "community", "kind", "secrecy", "state", "ballot_count", "eligible_count", "closes_at")
    list_filter = ("state", "kind", "secrecy")


@admin.register(Participation)
class ParticipationAdmin(_DeliberationAdmin):
    scope_path_field = "vote__community__path"
    list_display = ("vote", "household", "resident", "channel", "recorded_on")
    list_filter = ("channel",)


@admin.register(Ballot)
class BallotAdmin(_DeliberationAdmin):
    scope_path_field = "vote__community__path"
    list_display = ("vote", "sequence", "choice", "channel", "hash")
