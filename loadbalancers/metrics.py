"""What /metrics reads from the database at each scrape (named by the setting
METRICS_COLLECTORS): the snapshot of load balancers by provider and statuses (the
scheduler's count, models.StatusCount: never a count of the table per scrape), its age,
and the last reconcile pass."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.utils import timezone

from loadbalancers import selectors
from loadbalancers.adapters.metrics import FINDINGS
from portal.metrics import Metric

logger = logging.getLogger(__name__)


class ScrapeTimeCollector:
    """Read at each scrape, in two queries of a few rows: the load balancers by provider
    and statuses as the scheduler last counted them, how old that count is, and the last
    reconcile pass.  A database that fails leaves these out and says so
    (portal_metrics_database_up 0) instead of failing the scrape."""

    def collect(self) -> Iterator[Metric]:
        up = Metric("portal_metrics_database_up", "1 when /metrics could read the database at this scrape.", "gauge")
        try:
            found = list(self._from_database())
        except DatabaseError:
            logger.warning("/metrics could not read the database", exc_info=True)
            up.add_sample("portal_metrics_database_up", {}, 0)
            yield up
            return
        up.add_sample("portal_metrics_database_up", {}, 1)
        yield up
        yield from found

    @staticmethod
    def _from_database() -> Iterator[Metric]:
        snapshot = selectors.status_counts()
        counts = Metric(
            "portal_load_balancers",
            "Load balancers by provider, provisioning status and operating status, as last counted "
            "(every STATUS_COUNT_INTERVAL seconds).",
            "gauge",
        )
        for (provider, provisioning, operating), count in sorted(snapshot.counts.items()):
            counts.add_sample(
                "portal_load_balancers",
                {"provider": provider, "provisioning_status": provisioning, "operating_status": operating},
                count,
            )
        yield counts
        if snapshot.counted_at is not None:
            age = Metric(
                "portal_load_balancer_counts_age_seconds",
                "Seconds since the load balancers were last counted (portal_load_balancers).",
                "gauge",
            )
            age.add_sample(
                "portal_load_balancer_counts_age_seconds",
                {},
                max((timezone.now() - snapshot.counted_at).total_seconds(), 0.0),
            )
            yield age
        last = selectors.last_reconcile_pass()
        if last is not None:
            finished = Metric(
                "portal_reconcile_last_pass_finished_timestamp_seconds",
                "When the last reconcile pass finished (Unix time).",
                "gauge",
            )
            finished.add_sample(
                "portal_reconcile_last_pass_finished_timestamp_seconds", {}, last.finished_at.timestamp()
            )
            yield finished
            findings = Metric(
                "portal_reconcile_last_pass_findings",
                "What the last reconcile pass found and did, by kind.",
                "gauge",
            )
            for finding in FINDINGS:
                value = getattr(last, finding)
                findings.add_sample(
                    "portal_reconcile_last_pass_findings",
                    {"finding": finding},
                    len(value) if isinstance(value, list) else value,
                )
            yield findings
