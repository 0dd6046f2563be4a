"""Operations oversight of every load balancer.  Rows are never edited or deleted here
directly: each write is an action that calls a service, reported per load balancer,
so the admin enforces the same rules as the API and the pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from loadbalancers import bootstrap, models
from loadbalancers.application.lbaas import COMPARED
from loadbalancers.application.payloads import BATCH_MAX, DeleteBatch
from loadbalancers.domain.monitors import monitor_from
from portal.admin import ReadOnlyRecordsAdmin
from portal.kernel.errors import PortalError, ValidationFailed
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
    lookup = "provider"
    """The field that holds the provider's name, from the rows listed."""

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in settings.LBAAS_PROVIDERS]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.lookup: self.value()}) if self.value() else queryset


class LoadBalancerProviderFilter(ProviderFilter):
    """The provider of the load balancer a row is about."""

    lookup = "load_balancer__provider"


def _report_each(
    model_admin: admin.ModelAdmin, request: HttpRequest, targets: Iterable[tuple[UUID, str]], act: Callable[..., str]
) -> None:
    """Run an action on each load balancer (id, name) and say what happened to it."""
    for lb_id, name in targets:
        try:
            outcome = act(lb_id)
        except PortalError as error:
            model_admin.message_user(request, f"Load balancer {name}: {error.message}", messages.ERROR)
        else:
            model_admin.message_user(request, f"Load balancer {name}: {outcome}", messages.SUCCESS)


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
    actions = (
        "retry_provisioning",
        "refresh_from_provider",
        "delete_through_provider",
        "delete_selected_load_balancers",
        "mark_stuck_as_error",
    )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):  # type: ignore[no-untyped-def]
        # Its rows are read here, never changed (the change permission only lets the actions run).
        title = f"Select {self.model._meta.verbose_name} to view"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

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
        _report_each(self, request, queryset.values_list("pk", "name"), act)

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

    @admin.action(description="Delete selected load balancers", permissions=["change"])
    def delete_selected_load_balancers(self, request: HttpRequest, queryset: QuerySet) -> TemplateResponse | None:
        """Delete the selected load balancers all together or none, through the service's
        ``delete_batch``, after a page that names them (Django's own bulk delete is not
        offered: it would delete the rows around the services).  A refusal names each
        load balancer refused and why."""
        chosen = list(queryset.values_list("pk", "name"))
        if len(chosen) > BATCH_MAX:
            self.message_user(
                request,
                f"Nothing was deleted: select at most {BATCH_MAX} load balancers at once"
                f" ({len(chosen)} were selected).",
                messages.ERROR,
            )
            return None
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": f"Delete {len(chosen)} load balancer{'s' if len(chosen) != 1 else ''}?",
                "chosen": chosen,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/loadbalancers/delete_batch_confirmation.html", context)
        actor, service = bootstrap.actor(request), bootstrap.build().load_balancers
        try:
            deleting = service.delete_batch(actor, DeleteBatch(ids=tuple(pk for pk, _ in chosen)))
        except ValidationFailed as refused:
            self.message_user(request, refused.message[:1].upper() + refused.message[1:] + ".", messages.ERROR)
            by_index = refused.details.get("ids")
            for index, reasons in by_index.items() if isinstance(by_index, dict) else ():
                for reason in reasons:
                    self.message_user(request, f"Load balancer {chosen[int(index)][1]}: {reason}", messages.ERROR)
        else:
            names = ", ".join(lb.name for lb in deleting)
            self.message_user(request, f"Deleting {len(deleting)} load balancers: {names}.", messages.SUCCESS)
        return None

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


class DriftStateFilter(admin.SimpleListFilter):
    """Open drift (the provider still runs otherwise, as far as the reconciler last saw)
    or resolved."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("open", "open"), ("resolved", "resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("open", "resolved"):
            return queryset.filter(resolved_at__isnull=self.value() == "open")
        return queryset


MEMBERS = "members"


class DriftFieldFilter(admin.SimpleListFilter):
    """The setting that drifted: each one the reconciler compares, and the members as one
    (their fields name each member: ``member 10.0.0.3:8080 weight``).  No scan of the table
    to find which ones occur."""

    title = "field"
    parameter_name = "field"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [*((name, name) for name in COMPARED), (MEMBERS, "members (any member)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == MEMBERS:
            return queryset.filter(field__startswith="member ")
        if self.value() in COMPARED:
            return queryset.filter(field=self.value())
        return queryset


@admin.register(models.Drift)
class DriftAdmin(ReadOnlyRecordsAdmin):
    """What providers run otherwise than the records say, as the reconciler found it:
    read here, and repaired only through the service (an action), never edited."""

    list_display = (
        "load_balancer_link",
        "field",
        "desired",
        "actual",
        "first_seen_at",
        "last_seen_at",
        "resolved_at",
    )
    list_filter = (DriftStateFilter, LoadBalancerProviderFilter, DriftFieldFilter)
    search_fields = ("load_balancer__name",)
    list_select_related = ("load_balancer",)
    fields = (*list_display, "repaired_at")
    readonly_fields = fields
    actions = ("repair_at_provider",)

    @admin.display(description="load balancer", ordering="load_balancer__name")
    def load_balancer_link(self, drift: models.Drift) -> str:
        url = reverse("admin:loadbalancers_loadbalancer_change", args=[drift.load_balancer_id])
        return format_html('<a href="{}">{}</a>', url, drift.load_balancer.name)

    @admin.action(description="Re-apply at the provider", permissions=["change"])
    def repair_at_provider(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Apply each drifted load balancer's record again, through the service (once per
        load balancer, however many of its fields are selected)."""
        actor, service = bootstrap.actor(request), bootstrap.build().load_balancers
        targets = (
            queryset.order_by("load_balancer__name").values_list("load_balancer_id", "load_balancer__name").distinct()
        )
        _report_each(
            self, request, targets, lambda lb_id: f"applying again: {service.repair(actor, lb_id).provisioning_status}"
        )
