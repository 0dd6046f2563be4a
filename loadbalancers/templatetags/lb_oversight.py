"""The load balancers' part of the ops dashboard (the admin's index): counts by provider
and status from the latest snapshot, with links into the filtered changelist; those
pending too long; the latest ERRORs; each provider's health; the last reconcile pass.
A fixed number of queries, whatever the number of load balancers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from loadbalancers import selectors
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus

register = template.Library()

SHOWN_PROVISIONING = [status.value for status in ProvisioningStatus]
SHOWN_OPERATING = [status.value for status in OperatingStatus]
ACTIVE = ProvisioningStatus.ACTIVE.value  # operating statuses are shown for the active ones


@dataclass(frozen=True)
class Cell:
    count: int
    url: str


@dataclass(frozen=True)
class ProviderRow:
    provider: str
    provisioning: list[Cell]
    operating: list[Cell]
    total: Cell


@dataclass(frozen=True)
class Health:
    provider: str
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str
    recent_calls: int
    recent_failures: int

    @property
    def error_rate(self) -> float | None:
        return self.recent_failures / self.recent_calls if self.recent_calls else None


def _changelist(**filters: str) -> str:
    url = reverse("admin:loadbalancers_loadbalancer_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def _provider_rows(counts: dict[tuple[str, str, str], int]) -> list[ProviderRow]:
    providers = list(dict.fromkeys([*settings.LBAAS_PROVIDERS, *sorted({key[0] for key in counts})]))
    rows = []
    for provider in providers:
        mine = {key: found for key, found in counts.items() if key[0] == provider}
        rows.append(
            ProviderRow(
                provider=provider,
                provisioning=[
                    Cell(
                        sum(found for key, found in mine.items() if key[1] == status),
                        _changelist(provider=provider, provisioning_status__exact=status),
                    )
                    for status in SHOWN_PROVISIONING
                ],
                operating=[
                    Cell(
                        mine.get((provider, ACTIVE, status), 0),
                        _changelist(
                            provider=provider, provisioning_status__exact=ACTIVE, operating_status__exact=status
                        ),
                    )
                    for status in SHOWN_OPERATING
                ],
                total=Cell(sum(mine.values()), _changelist(provider=provider)),
            )
        )
    return rows


def recent(row: dict[str, Any], now: datetime) -> tuple[int, int]:
    """The calls and failures of the current minute and the one before, from the row's
    two minute buckets (nothing when its minute is older than that)."""
    minute = now.replace(second=0, microsecond=0)
    if row["minute"] is None or row["minute"] < minute - timedelta(minutes=1):
        return 0, 0
    if row["minute"] == minute:
        return row["calls"] + row["previous_calls"], row["failures"] + row["previous_failures"]
    return row["calls"], row["failures"]


def _health(row: dict[str, Any], now: datetime) -> Health:
    calls, failures = recent(row, now)
    return Health(
        provider=row["provider"],
        last_success_at=row["last_success_at"],
        last_failure_at=row["last_failure_at"],
        last_error=row["last_error"],
        recent_calls=calls,
        recent_failures=failures,
    )


@register.inclusion_tag("admin/loadbalancers/oversight.html", takes_context=True)
def load_balancer_oversight(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    if not request.user.has_perm("loadbalancers.view_loadbalancer"):
        return {"shown": False}
    now = timezone.now()
    snapshot = selectors.status_counts()
    return {
        "shown": True,
        "now": now,
        "counted_at": snapshot.counted_at,
        "count_interval": settings.STATUS_COUNT_INTERVAL,
        "provisioning_statuses": SHOWN_PROVISIONING,
        "operating_statuses": SHOWN_OPERATING,
        "providers": _provider_rows(snapshot.counts),
        "stuck_after": settings.LBAAS_STUCK_AFTER,
        "stuck": selectors.stuck(now, settings.LBAAS_STUCK_AFTER),
        "errors": selectors.recent_errors(),
        "health": [_health(row, now) for row in selectors.provider_health()],
        "reconcile": selectors.last_reconcile_pass(),
        "reconcile_interval": settings.RECONCILE_INTERVAL,
    }


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
