"""The audit trail in the admin: read only, for operations with the permission to view
it (``audit.view_auditentry``)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from audit import bootstrap, models
from portal.admin import ReadOnlyRecordsAdmin


class TeamFilter(admin.SimpleListFilter):
    """By team slug (entries keep the team's id)."""

    title = "team"
    parameter_name = "team"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(slug, slug) for slug in bootstrap.team_slugs(limit=200)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() is None:
            return queryset
        team_id = bootstrap.team_id(self.value())
        return queryset.filter(team_id=team_id) if team_id is not None else queryset.none()


@admin.register(models.AuditEntry)
class AuditEntryAdmin(ReadOnlyRecordsAdmin):
    list_display = ("at", "actor", "source", "action", "target_type", "target_name", "team_id", "message")
    list_filter = (("at", admin.DateFieldListFilter), TeamFilter, "source", "target_type", "action")
    search_fields = ("message", "actor", "target_name", "target_id", "request_id")
    fields = (
        "at",
        "actor",
        "actor_id",
        "source",
        "request_id",
        "team_id",
        "action",
        "target_type",
        "target_id",
        "target_name",
        "message",
        "changes",
    )
    readonly_fields = fields
    actions = ()

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # append-only: no change form, no actions
