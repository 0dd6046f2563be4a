"""The load balancer list's query, shared by the API and the load balancers page."""

from __future__ import annotations

from django import forms

from loadbalancers.application.payloads import LoadBalancerQuery
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus
from loadbalancers.domain.tags import tag_errors
from portal.filters import ListFilters


class TagListField(forms.Field):
    """Every ``tag`` sent (repeated, or several in one separated by spaces or commas: all
    must match); each must be a tag."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: object) -> list[str]:
        # Each value may hold several, separated by spaces or commas (the list page's box).
        tags = [tag for item in (value or []) for tag in str(item).replace(",", " ").split()]
        if problems := tag_errors(tags):
            raise forms.ValidationError(problems)
        return tags


class LoadBalancerFilters(ListFilters):
    provisioning_status = forms.CharField(required=False, help_text=", ".join(ProvisioningStatus))
    operating_status = forms.CharField(required=False, help_text=", ".join(OperatingStatus))
    team = forms.CharField(required=False, max_length=63, help_text="A team's slug: only its load balancers.")
    provider = forms.CharField(
        required=False, max_length=63, help_text="An LBaaS provider (GET /api/v1/providers/): only the ones it holds."
    )
    tag = TagListField(
        required=False,
        help_text="A tag (label or key=value): only the load balancers with it; repeat for more (all must match).",
    )

    default_sort = ("created_at", "desc")

    def to_query(self) -> LoadBalancerQuery:
        data = self.cleaned_data
        return LoadBalancerQuery(
            page=self.page_request(),
            provisioning_status=data["provisioning_status"] or None,
            operating_status=data["operating_status"] or None,
            search=data["search"] or None,
            team=data["team"] or None,
            provider=data["provider"] or None,
            tags=tuple(data["tag"]),
        )
