"""Operations oversight of every load balancer.  Rows are never edited or deleted here
directly: each write is an action that calls a service, reported per load balancer,
so the admin enforces the same rules as the API and the pages."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from loadbalancers import bootstrap, models
from loadbalancers.domain.monitors import monitor_from
from portal.admin import ReadOnlyRecordsAdmin
from portal.kernel.errors import PortalError
from portal.runtime import instance_id


class MemberInline(admin.TabularInline):
    model = models.Member
    fields = (
        "server",
        "server_address",
        "server_status",
        "weight",
        "admin_state",
        "drained_by_inventory",
        "operating_status",
        "status_reason",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "member"

    def get_queryset(self, request: HttpRequest) -> QuerySet[models.Member]:
        return super().get_queryset(request).select_related("server")

    @admin.display(description="address")
    def server_address(self, member: models.Member) -> str:
        return f"{member.server.address}:{member.server.port}"

    @admin.display(description="inventory status")
    def server_status(self, member: models.Member) -> str:
        return member.server.status

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ProviderFilter(admin.SimpleListFilter):
    """The configured providers: no scan of the table to find which ones are used."""

    title = "provider"
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in settings.LBAAS_PROVIDERS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(provider=self.value()) if self.value() else queryset


class TeamFilter(admin.SimpleListFilter):
    """One team, by slug (from a team's admin page, say): no list of every team, which
    would read them all on each changelist."""

    title = "team"
    parameter_name = "team"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, value)] if value else []

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(team__slug=self.value()) if self.value() else queryset


@admin.register(models.LoadBalancer)
class LoadBalancerAdmin(ReadOnlyRecordsAdmin):
    audit_target_type = "load_balancer"
    list_display = (
        "name",
        "team",
        "created_by",
        "provider",
        "provisioning_status",
        "operating_status",
        "vip_address",
        "created_at",
        "updated_at",
    )
    list_filter = (
        "provisioning_status",
        "operating_status",
        ProviderFilter,
        TeamFilter,
        "deletion_protection",
    )
    search_fields = ("name", "vip_address", "team__slug", "created_by__username")
    list_select_related = ("team", "created_by")
    inlines = (MemberInline,)
    fieldsets = (
        (None, {"fields": ("id", "name", "description", "team", "created_by")}),
        ("Listener", {"fields": ("listener_protocol", "listener_port", "algorithm", "monitor")}),
        ("Labels and safety", {"fields": ("tag_list", "deletion_protection")}),
        (
            "Provisioning",
            {
                "fields": (
                    "provisioning_status",
                    "operating_status",
                    "error_reason",
                    "provider",
                    "provider_ref",
                    "vip_address",
                    "pending_since",
                    "submitted_at",
                    "checked_at",
                    "version",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )
    actions = ("retry_provisioning", "refresh_from_provider", "delete_through_provider", "mark_stuck_as_error")

    def get_readonly_fields(self, request: HttpRequest, obj: models.LoadBalancer | None = None) -> list[str]:
        return [field for _, options in self.fieldsets for field in options["fields"]]

    @admin.display(description="health monitor")
    def monitor(self, lb: models.LoadBalancer) -> str:
        monitor, _ = monitor_from(lb.health_monitor)
        return monitor.describe() if monitor is not None else "none (members read NO_MONITOR)"

    @admin.display(description="tags")
    def tag_list(self, lb: models.LoadBalancer) -> str:
        return ", ".join(tag.value for tag in lb.tags.all()) or "none"

    # -- actions ------------------------------------------------------------------------

    def _each(self, request: HttpRequest, queryset: QuerySet, act: Callable[..., str]) -> None:
        """Run an action on each selected load balancer and say what happened to it."""
        for lb_id, name in queryset.values_list("pk", "name"):
            try:
                outcome = act(lb_id)
            except PortalError as error:
                self.message_user(request, f"Load balancer {name}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Load balancer {name}: {outcome}", messages.SUCCESS)

    @admin.action(description="Retry provisioning (ERROR load balancers)", permissions=["change"])
    def retry_provisioning(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor, service = bootstrap.actor(request), bootstrap.build().load_balancers
        self._each(
            request, queryset, lambda lb_id: f"provisioning again: {service.retry(actor, lb_id).provisioning_status}"
        )

    @admin.action(description="Refresh status from the provider", permissions=["change"])
    def refresh_from_provider(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor, service = bootstrap.actor(request), bootstrap.build().provisioning
        self._each(request, queryset, lambda lb_id: service.refresh(lb_id, by=actor))

    @admin.action(description="Delete at the provider (ACTIVE or ERROR load balancers)", permissions=["change"])
    def delete_through_provider(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor, service = bootstrap.actor(request), bootstrap.build().load_balancers
        self._each(request, queryset, lambda lb_id: f"deleting: {service.delete_one(actor, lb_id).provisioning_status}")

    @admin.action(description="Mark as ERROR if stuck in PENDING_* too long", permissions=["change"])
    def mark_stuck_as_error(self, request: HttpRequest, queryset: QuerySet) -> None:
        threshold, actor = settings.ADMIN_STUCK_AFTER, bootstrap.actor(request)

        def mark(lb_id: object) -> str:
            service = bootstrap.build().provisioning
            if service.fail_stuck(lb_id, pending_longer_than=threshold, by=actor):  # type: ignore[arg-type]
                return "marked ERROR"
            return f"left alone: not PENDING_* for more than {threshold / 60:.0f} minutes"

        self._each(request, queryset, mark)


@admin.register(models.Orphan)
class OrphanAdmin(ReadOnlyRecordsAdmin):
    """Resources this installation made at a provider that no live load balancer owns.
    The reconciler deletes them itself after RECONCILE_ORPHAN_GRACE, a few at a time;
    when more are due than one pass may delete, it holds them all, and an operator
    decides here."""

    list_display = ("ref", "provider", "client_token", "first_seen_at", "last_seen_at", "deleted_at")
    list_filter = (ProviderFilter, ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("ref", "client_token")
    fields = (*list_display, "deletion_reason")
    readonly_fields = fields
    actions = ("delete_at_provider",)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):  # type: ignore[no-untyped-def]
        subtitle = f"Installation {instance_id()}: only resources that carry this identity are ever deleted"
        return super().changelist_view(request, {**(extra_context or {}), "subtitle": subtitle})

    @admin.action(description="Delete at the provider now (checked again first)", permissions=["change"])
    def delete_at_provider(self, request: HttpRequest, queryset: QuerySet) -> None:
        outcome = bootstrap.build().reconciliation.delete_orphans(
            list(queryset.values_list("pk", flat=True)), by=bootstrap.actor(request)
        )
        for ref, what in outcome.items():
            level = messages.SUCCESS if what in ("deleted", "already gone at the provider") else messages.ERROR
            self.message_user(request, f"{ref}: {what}", level)
