"""Load balancer facts in words, for the pages."""

from __future__ import annotations

import json

from django import template

from loadbalancers.domain.monitors import monitor_from

register = template.Library()


@register.simple_tag
def monitor_summary(monitor: dict[str, object] | None) -> str:
    """A health monitor as the API returns it, in words ("HTTP GET /health expecting 200, every 5 s, ...")."""
    found, _ = monitor_from(monitor)
    return found.describe() if found is not None else "none"


@register.filter
def plain(value: object) -> str:
    """A value of a plan or a drift as people read it: text as it is, nothing as a dash,
    anything else (numbers, flags, members, monitors) as compact JSON, as the API shows it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str, separators=(", ", ": "))
