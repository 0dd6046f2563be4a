"""Load balancer facts in words, for the pages."""

from __future__ import annotations

from django import template

from loadbalancers.domain.monitors import monitor_from

register = template.Library()


@register.simple_tag
def monitor_summary(monitor: dict[str, object] | None) -> str:
    """A health monitor as the API returns it, in words ("HTTP GET /health expecting 200, every 5 s, ...")."""
    found, _ = monitor_from(monitor)
    return found.describe() if found is not None else "none"
