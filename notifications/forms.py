"""HTML forms of a team's notifications page.  They read the shape of what was sent;
the services check the rules and ``portal.web.show_errors`` shows what they report."""

from __future__ import annotations

from django import forms

from notifications.domain.model import ALL_EVENTS, DESCRIPTION_MAX_LENGTH, SECRET_MAX_LENGTH, URL_MAX_LENGTH


class WebhookForm(forms.Form):
    url = forms.CharField(label="URL", max_length=URL_MAX_LENGTH, strip=False, help_text="http:// or https://")
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )
    description = forms.CharField(required=False, strip=False, max_length=DESCRIPTION_MAX_LENGTH)
    secret = forms.CharField(
        required=False,
        strip=False,
        max_length=SECRET_MAX_LENGTH,
        help_text="Optional: 16 to 200 printable characters. Left empty, the portal makes one and shows it once.",
    )

    def __init__(self, *args, known: list[str], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["event_types"].choices = [(action, action) for action in known]

    def chosen_events(self) -> list[str]:
        return list(self.cleaned_data["event_types"]) or [ALL_EVENTS]


class EnableForm(forms.Form):
    enabled = forms.TypedChoiceField(choices=[("true", "on"), ("false", "off")], coerce=lambda v: v == "true")


class EmailForm(forms.Form):
    enabled = forms.TypedChoiceField(choices=[("true", "on"), ("false", "off")], coerce=lambda v: v == "true")
