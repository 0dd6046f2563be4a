"""The load balancers' counted metrics: what the use cases, the LBaaS clients and the
reconciler measure (``PrometheusObservations``, the Observations port).  What /metrics
reads from the database at each scrape is in ``loadbalancers.metrics``."""

from __future__ import annotations

from collections.abc import Mapping

from portal import metrics

# Provisioning takes seconds at a simulated provider and up to many minutes at a cloud's.
PROVISIONING_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
PASS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

FINDINGS = (
    "resumed",
    "timed_out",
    "lost",
    "drifted",
    "repaired",
    "orphans_found",
    "orphans_deleted",
    "unreachable",
    "failed",
)
"""What a reconcile pass counts, as the metrics and the ReconcilePass rows name it."""

PROVISIONING_DURATION = metrics.histogram(
    "portal_provisioning_duration_seconds",
    "Seconds from a request (create, update, delete) to its outcome at the provider (active, error, deleted).",
    ["provider", "operation", "outcome"],
    buckets=PROVISIONING_BUCKETS,
)
PROVIDER_CALL_DURATION = metrics.histogram(
    "portal_provider_call_duration_seconds",
    "Seconds each call to an LBaaS provider took, failed or not, by provider and method.",
    ["provider", "method"],
    buckets=CALL_BUCKETS,
)
PROVIDER_CALL_ERRORS = metrics.counter(
    "portal_provider_call_errors_total",
    "Calls to an LBaaS provider that failed, by provider, method and kind of error "
    "(unavailable, rejected, not_found, unexpected).",
    ["provider", "method", "error"],
)
RECONCILE_PASSES = metrics.counter(
    "portal_reconcile_passes_total", "Reconcile passes run, by result (completed, failed).", ["result"]
)
RECONCILE_DURATION = metrics.histogram(
    "portal_reconcile_pass_duration_seconds", "Seconds each reconcile pass took.", [], buckets=PASS_BUCKETS
)
RECONCILE_FINDINGS = metrics.counter(
    "portal_reconcile_findings_total",
    "What reconcile passes found and did, by kind: " + ", ".join(FINDINGS) + ".",
    ["finding"],
)


class PrometheusObservations:
    """The Observations port, into prometheus_client's metrics."""

    def provisioning_finished(self, *, provider: str, operation: str, outcome: str, seconds: float) -> None:
        PROVISIONING_DURATION.labels(provider=provider, operation=operation, outcome=outcome).observe(seconds)

    def provider_called(self, *, provider: str, method: str, seconds: float, error: str | None) -> None:
        PROVIDER_CALL_DURATION.labels(provider=provider, method=method).observe(seconds)
        if error is not None:
            PROVIDER_CALL_ERRORS.labels(provider=provider, method=method, error=error).inc()

    def reconcile_passed(self, *, seconds: float, findings: Mapping[str, int], failed: bool) -> None:
        RECONCILE_PASSES.labels(result="failed" if failed else "completed").inc()
        RECONCILE_DURATION.observe(seconds)
        for finding, count in findings.items():
            if count:
                RECONCILE_FINDINGS.labels(finding=finding).inc(count)
