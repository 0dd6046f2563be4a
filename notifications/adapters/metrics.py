"""The webhook deliveries' metrics (the DeliveryObservations port, into Prometheus)."""

from __future__ import annotations

from portal import metrics

ATTEMPTS = metrics.counter(
    "portal_webhook_delivery_attempts_total",
    "Attempts to send a webhook delivery, by outcome (success, failure).",
    ["outcome"],
)
FINISHED = metrics.counter(
    "portal_webhook_deliveries_total",
    "Webhook deliveries that ended, by status: succeeded, failed (given up after the last attempt), "
    "skipped (the webhook was disabled or removed first).",
    ["status"],
)


class PrometheusDeliveryObservations:
    def delivery_attempted(self, *, succeeded: bool) -> None:
        ATTEMPTS.labels(outcome="success" if succeeded else "failure").inc()

    def delivery_finished(self, *, status: str) -> None:
        FINISHED.labels(status=status).inc()
