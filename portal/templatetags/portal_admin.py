from django import template
from django.conf import settings
from django.utils import timezone

from portal.runtime import COMPONENTS, heartbeat_problems, heartbeats, instance_id

register = template.Library()


@register.simple_tag
def installation_id() -> str:
    return instance_id()


@register.inclusion_tag("admin/portal/heartbeats.html")
def background_heartbeats() -> dict[str, object]:
    """The worker's and the scheduler's last heartbeats, and what is wrong with them."""
    seen = heartbeats()
    problems = heartbeat_problems(settings.HEARTBEAT_MAX_AGE, seen)
    return {
        "now": timezone.now(),
        "max_age": settings.HEARTBEAT_MAX_AGE,
        "components": [
            {"name": component, "seen_at": seen.get(component), "problem": problems.get(component)}
            for component in COMPONENTS
        ],
    }
