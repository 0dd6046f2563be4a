"""HTML forms of the team and token pages.  They read the shape of what was sent; the
services check the rules and ``portal.web.show_errors`` shows what they report."""

from __future__ import annotations

from django import forms

from accounts.domain.model import Role

ROLE_CHOICES = [
    (Role.VIEWER.value, "viewer: reads the team's load balancers"),
    (Role.MEMBER.value, "member: also creates, changes and deletes them"),
    (Role.OWNER.value, "owner: also manages who is in the team"),
]


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial=Role.MEMBER.value)


class ChangeRoleForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class RemoveMemberForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.HiddenInput)


class TokenForm(forms.Form):
    description = forms.CharField(required=False, strip=False, max_length=1000)
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Optional, in UTC. Left empty, the token works until it is revoked.",
    )
    write = forms.BooleanField(required=False, initial=True, label="May change things (not only read)")
