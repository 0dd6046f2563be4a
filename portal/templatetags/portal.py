"""Small helpers for the portal's templates: links that keep the current filters, the
tone and words of a status badge, times in words and the pager's page numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html

from portal.kernel.pagination import EXACT_TOTAL_UP_TO, Page

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


@register.filter
def words(status: object) -> str:
    """A status as people read it (PENDING_CREATE: pending create), as badges and filters show it."""
    return str(status).replace("_", " ").lower()


@register.simple_tag
def badge(status: str) -> str:
    return format_html('<span class="badge badge-{}">{}</span>', tone(status), words(status))


# Past this age a time reads as a date rather than as so long ago.
RELATIVE_FOR = timedelta(days=7)


def ago(moment: datetime, now: datetime) -> str:
    """How long ago ``moment`` was, in words ("3 min ago"); a date past RELATIVE_FOR."""
    seconds = int((now - moment).total_seconds())
    if seconds < -60 or seconds >= RELATIVE_FOR.total_seconds():
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 and unit != 'min' else ''} ago"
    return "just now"  # unreachable: seconds >= 60 is counted in minutes at least


@register.simple_tag
def when(moment: datetime | None) -> str:
    """A time in words (relative, or a UTC date when old), the exact UTC time on hover and
    for machines; a dash for none."""
    if moment is None:
        return "—"
    exact = moment.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        exact.isoformat(),
        exact.strftime("%Y-%m-%d %H:%M:%S UTC"),
        ago(moment, timezone.now()),
    )


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


# The pager numbers this many pages on each side of the current one.
PAGER_AROUND = 2


@register.simple_tag
def page_links(page: Page[object]) -> list[dict[str, object]]:
    """The pager's links: first, previous, the numbered pages around the current one, next
    and last.  Only pages known to exist are numbered: with an estimated total (a long
    list, see ``portal.kernel.pagination``) the last page is not known, so there is no
    "Last" and no number past what the count made sure of."""
    size = page.limit
    current = page.offset // size + 1
    # Items sure to exist: all of them with an exact total; else those counted, and this page's.
    sure = EXACT_TOTAL_UP_TO if page.total_is_estimate else page.total
    last = max(1, current, -(-max(sure, page.offset + len(page.items)) // size))
    links: list[dict[str, object]] = []
    if page.previous_offset is not None:
        links.append({"label": "First", "offset": 0})
        links.append({"label": "Previous", "offset": page.previous_offset, "rel": "prev"})
    for number in range(max(1, current - PAGER_AROUND), min(last, current + PAGER_AROUND) + 1):
        links.append(
            {
                "label": str(number),
                "offset": (number - 1) * size,
                "current": (number - 1) * size == page.offset,
                "number": True,
            }
        )
    if page.next_offset is not None:
        links.append({"label": "Next", "offset": page.next_offset, "rel": "next"})
        if not page.total_is_estimate and last > current:
            links.append({"label": "Last", "offset": (last - 1) * size})
    return links
