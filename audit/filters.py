"""The audit trail's list query, shared by the API and the History pages."""

from __future__ import annotations

from django import forms

from audit.application.payloads import AuditQuery
from portal.filters import ListFilters
from portal.kernel.actors import Source


class AuditFilters(ListFilters):
    actor = forms.CharField(required=False, max_length=150, help_text="A username, or system")
    team = forms.CharField(required=False, max_length=100, help_text="A team's slug")
    target_type = forms.CharField(
        required=False, max_length=40, help_text="load_balancer, server, team, api_token, webhook, provider_resource"
    )
    target_id = forms.CharField(required=False, max_length=200, help_text="The record's id (with target_type)")
    action = forms.CharField(required=False, max_length=80, help_text="e.g. load_balancer.update_requested")
    source = forms.CharField(required=False, max_length=20, help_text=", ".join(s.value for s in Source))
    since = forms.DateTimeField(required=False, help_text="From this time (ISO 8601, e.g. 2026-11-01T00:00:00Z)")
    until = forms.DateTimeField(required=False, help_text="Before this time (ISO 8601)")

    default_sort = ("id", "desc")

    def to_query(self) -> AuditQuery:
        data = self.cleaned_data
        text = {name: data[name] or None for name in ("actor", "team", "target_type", "target_id", "action", "source")}
        return AuditQuery(
            page=self.page_request(),
            since=data["since"],
            until=data["until"],
            search=data["search"] or None,
            **text,
        )
