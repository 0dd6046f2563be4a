"""Persistence only: the rules live in loadbalancers.domain."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from loadbalancers.domain.members import REASON_MAX_LENGTH, AdminState
from loadbalancers.domain.model import (
    DESCRIPTION_MAX_LENGTH,
    Algorithm,
    ListenerProtocol,
    OperatingStatus,
    ProvisioningStatus,
)
from portal.kernel.validators import NAME_MAX_LENGTH


def _choices(enum) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(member.value, member.value) for member in enum]


class LoadBalancer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="")
    # Indexed by the lists' indexes, which start with it (Meta.indexes).
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="load_balancers", db_index=False)
    # Who asked for it; the record outlives the account (people come and go, services stay).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="load_balancers"
    )
    servers = models.ManyToManyField("servers.Server", through="Member", related_name="load_balancers")
    listener_protocol = models.CharField(max_length=8, choices=_choices(ListenerProtocol))
    listener_port = models.PositiveIntegerField()
    algorithm = models.CharField(max_length=32, choices=_choices(Algorithm))
    # The monitor's fields (loadbalancers.domain.monitors.HealthMonitor.as_dict); NULL: none.
    health_monitor = models.JSONField(null=True, blank=True)
    deletion_protection = models.BooleanField(default=False)
    provisioning_status = models.CharField(max_length=16, choices=_choices(ProvisioningStatus), db_index=True)
    operating_status = models.CharField(max_length=16, choices=_choices(OperatingStatus), db_index=True)
    provider = models.CharField(max_length=32)
    # NULL means "not assigned yet" (shown as null by the API), unlike an empty string.
    provider_ref = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    vip_address = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    error_reason = models.TextField(null=True, blank=True)  # noqa: DJ001
    pending_since = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        # The lists' orders within their scope (a team, or all for staff), the id last as
        # the lists order by it too: a page (and a cursor's next page) starts at its place
        # in the index instead of sorting the team's rows.  Search has trigram indexes on
        # PostgreSQL (migration 0010).
        indexes = [
            models.Index(fields=["created_at", "id"], name="lb_created"),
            models.Index(fields=["team", "created_at", "id"], name="lb_team_created"),
            models.Index(fields=["team", "name", "id"], name="lb_team_name"),
            models.Index(fields=["team", "provisioning_status", "created_at", "id"], name="lb_team_status_created"),
            # The ops dashboard: the longest pending, and the latest to go to ERROR.
            models.Index(fields=["provisioning_status", "pending_since"], name="lb_status_pending"),
            models.Index(fields=["provisioning_status", "-updated_at"], name="lb_status_updated"),
        ]
        constraints = [
            # Names are unique among live load balancers; a deleted one frees its name.
            models.UniqueConstraint(
                fields=["name"],
                condition=~Q(provisioning_status=ProvisioningStatus.DELETED),
                name="loadbalancer_unique_live_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TeamUsage(models.Model):
    """How many live (not DELETED) load balancers each team has, for its quota: one row
    read instead of counting a team's rows on every create.  Only the database writes it,
    by triggers on the load balancer table (migration 0011), so every way a row is
    inserted, changed or deleted keeps it exact."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, primary_key=True, related_name="+")
    live_load_balancers = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = "team usage"

    def __str__(self) -> str:
        return f"team {self.team_id}: {self.live_load_balancers}"


class Member(models.Model):
    load_balancer = models.ForeignKey(LoadBalancer, on_delete=models.CASCADE, related_name="members")
    # PROTECT: the database itself refuses to delete a server still in use.
    server = models.ForeignKey("servers.Server", on_delete=models.PROTECT, related_name="memberships")
    position = models.PositiveSmallIntegerField(default=0)
    weight = models.PositiveSmallIntegerField(default=1)
    admin_state = models.CharField(max_length=8, choices=_choices(AdminState), default=AdminState.ENABLED)
    operating_status = models.CharField(
        max_length=16, choices=_choices(OperatingStatus), default=OperatingStatus.NO_MONITOR
    )
    status_reason = models.CharField(max_length=REASON_MAX_LENGTH, blank=True, default="")
    drained_by_inventory = models.BooleanField(default=False)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["load_balancer", "server"], name="member_unique_server_per_lb"),
        ]

    def __str__(self) -> str:
        return f"{self.load_balancer_id} -> server {self.server_id}"


class Tag(models.Model):
    """One tag of a load balancer (``web``, ``env=prod``)."""

    load_balancer = models.ForeignKey(LoadBalancer, on_delete=models.CASCADE, related_name="tags")
    value = models.CharField(max_length=191)

    class Meta:
        ordering = ["value"]
        constraints = [models.UniqueConstraint(fields=["load_balancer", "value"], name="tag_unique_per_lb")]
        # Finding the load balancers that carry a tag starts from the tag.
        indexes = [models.Index(fields=["value", "load_balancer"], name="tag_value_lb")]

    def __str__(self) -> str:
        return self.value


class Drift(models.Model):
    """One field of a load balancer that its provider runs otherwise than the record
    says, from when it was first seen until it is resolved."""

    load_balancer = models.ForeignKey(LoadBalancer, on_delete=models.CASCADE, related_name="drift")
    field = models.CharField(max_length=255)
    desired = models.JSONField(null=True, blank=True)
    actual = models.JSONField(null=True, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    repaired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_seen_at", "field", "pk"]
        verbose_name_plural = "drift"
        constraints = [
            models.UniqueConstraint(
                fields=["load_balancer", "field"],
                condition=Q(resolved_at__isnull=True),
                name="drift_one_open_per_field",
            ),
        ]
        indexes = [models.Index(fields=["load_balancer", "resolved_at"], name="drift_lb_resolved")]

    def __str__(self) -> str:
        return f"{self.load_balancer_id}: {self.field}"


class Orphan(models.Model):
    """A resource this installation made at a provider that no live load balancer owns."""

    provider = models.CharField(max_length=32)
    ref = models.CharField(max_length=255)
    client_token = models.CharField(max_length=255, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)
    deletion_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["first_seen_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["provider", "ref"], name="orphan_unique_ref_per_provider")]

    def __str__(self) -> str:
        return f"{self.provider}: {self.ref}"


class StatusCount(models.Model):
    """How many load balancers each provider has in each pair of statuses, as counted at
    ``counted_at``: a snapshot the scheduler takes every STATUS_COUNT_INTERVAL seconds, so
    the ops dashboard and /metrics read a few rows instead of counting a million."""

    provider = models.CharField(max_length=32)
    provisioning_status = models.CharField(max_length=16, choices=_choices(ProvisioningStatus))
    operating_status = models.CharField(max_length=16, choices=_choices(OperatingStatus))
    count = models.PositiveIntegerField()
    counted_at = models.DateTimeField()

    class Meta:
        ordering = ["provider", "provisioning_status", "operating_status"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provisioning_status", "operating_status"], name="status_count_unique_statuses"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.provisioning_status}/{self.operating_status}: {self.count}"


class ProviderHealth(models.Model):
    """Each provider's calls as the portal's processes see them: the last success, the
    last failure and its error, and the calls and failures of the current minute and of
    the minute before (the recent error rate)."""

    provider = models.CharField(max_length=32, primary_key=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    minute = models.DateTimeField(null=True, blank=True)  # the current minute's start
    calls = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)
    previous_calls = models.PositiveIntegerField(default=0)
    previous_failures = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "provider health"

    def __str__(self) -> str:
        return self.provider


class ReconcilePass(models.Model):
    """One pass of the reconciler: when, how long, and what it found."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    resumed = models.PositiveIntegerField(default=0)
    timed_out = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    drifted = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    orphans_found = models.PositiveIntegerField(default=0)
    orphans_deleted = models.PositiveIntegerField(default=0)
    unreachable = models.JSONField(default=list, blank=True)  # the providers it could not list
    failed = models.JSONField(default=list, blank=True)  # what went wrong, a line each

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at"], name="reconcile_pass_newest")]

    def __str__(self) -> str:
        return f"pass at {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()
