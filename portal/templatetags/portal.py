"""Small helpers for the portal's templates: links that keep the current filters, and
the tone of a status badge."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()

_TONES = {
    "ACTIVE": "ok",
    "ONLINE": "ok",
    "OK": "ok",
    "DEGRADED": "warn",
    "DRAINING": "warn",
    "MAINTENANCE": "warn",
    "NO_MONITOR": "muted",
    "ERROR": "bad",
    "DOWN": "bad",
    "OFFLINE": "muted",
    "DELETED": "muted",
}


@register.filter
def tone(status: str) -> str:
    """The colour family of a status: ok, warn, bad, pending or muted."""
    return "pending" if str(status).startswith("PENDING_") else _TONES.get(str(status), "muted")


@register.simple_tag
def badge(status: str) -> str:
    label = str(status).replace("_", " ").lower()
    return format_html('<span class="badge badge-{}">{}</span>', tone(status), label)


@register.simple_tag(takes_context=True)
def query(context: template.Context, **changes: object) -> str:
    """The current query string with some parameters changed (None drops one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_header(context: template.Context, field: str, label: str, default: str = "") -> str:
    """A column header that sorts by ``field``, and says how the table is sorted now."""
    params = context["request"].GET
    current = params.get("sort_by", default)
    direction = params.get("sort_direction", "desc" if current == default == "created_at" else "asc")
    active = current == field
    next_direction = "desc" if active and direction == "asc" else "asc"
    href = query(context, sort_by=field, sort_direction=next_direction, offset=None)
    aria = ("ascending" if direction == "asc" else "descending") if active else "none"
    arrow = ("▲" if direction == "asc" else "▼") if active else ""
    return format_html(
        '<th scope="col" aria-sort="{}"><a href="{}">{}<span aria-hidden="true"> {}</span></a></th>',
        aria,
        href,
        label,
        arrow,
    )


@register.filter
def error_total(form) -> int:  # type: ignore[no-untyped-def]
    """How many problems a form has (not how many fields)."""
    return sum(len(errors) for errors in form.errors.values())


@register.simple_tag
def hostport(address: str, port: int) -> str:
    """address:port, with IPv6 addresses in brackets so the port cannot be misread."""
    return f"[{address}]:{port}" if ":" in str(address) else f"{address}:{port}"
