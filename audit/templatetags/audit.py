"""The History of one record, for any page that shows a record (the load balancer's
detail page, the admin's History): apps show it through this tag, so none imports the
audit trail."""

from __future__ import annotations

from django import template

from audit import bootstrap
from audit.application.payloads import AuditQuery
from audit.domain.model import AuditEntry
from portal.kernel.pagination import Page, PageRequest

register = template.Library()

HISTORY_LENGTH = 100


@register.simple_tag(takes_context=True)
def audit_entries(
    context: template.Context, target_type: str, target_id: object, records: str = "audit.auditentry"
) -> Page[AuditEntry]:
    """The newest entries about one record that the signed-in user may read.  Who sees
    all of them: operations with the permission to view ``records`` ("app.model": the
    trail, or the record's own model where the admin has already checked it)."""
    request = context["request"]
    query = AuditQuery(
        page=PageRequest(limit=HISTORY_LENGTH, sort_by="id", sort_direction="desc"),
        target_type=target_type,
        target_id=str(target_id),
    )
    return bootstrap.build().get_plist(bootstrap.actor(request, records), query)


@register.filter
def shown_value(value: object) -> str:
    """A value of a change as people read it: a list as its items, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value) or "none"
    return str(value)


DASHBOARD_ENTRIES = 10


@register.inclusion_tag("admin/audit/latest.html", takes_context=True)
def latest_audit_entries(context: template.Context) -> dict[str, object]:
    """The newest entries of the whole trail, for the ops dashboard (staff who may view
    the trail)."""
    request = context["request"]
    if not request.user.has_perm("audit.view_auditentry"):
        return {"shown": False}
    query = AuditQuery(page=PageRequest(limit=DASHBOARD_ENTRIES, sort_by="id", sort_direction="desc"))
    page = bootstrap.build().get_plist(bootstrap.actor(request, "audit.auditentry"), query)
    return {"shown": True, "entries": page.items}
