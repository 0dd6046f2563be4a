"""HTML forms.  Like the API's serializers they only read the shape of what was sent;
the services check every rule and report every problem at once, and ``show_errors``
puts what they report next to the fields it concerns."""

from __future__ import annotations

from django import forms

from loadbalancers.domain.model import Algorithm, ListenerProtocol
from servers.domain.errors import PortalError

ALGORITHM_LABELS = {
    Algorithm.ROUND_ROBIN: "Round robin: each server in turn",
    Algorithm.LEAST_CONNECTIONS: "Least connections: the least busy server",
    Algorithm.SOURCE_IP: "Source IP: a client always reaches the same server",
}


def as_number(raw: str) -> int | str:
    """A whole number if the text is one (ASCII digits, a sane length); otherwise the
    text itself, for the service to refuse with a message that names the field."""
    text = raw.strip()
    digits = text.removeprefix("-")
    if digits.isascii() and digits.isdigit() and len(digits) <= 18:
        return int(text)
    return raw


class NumberListField(forms.Field):
    """Every value sent under one name, each a number if it is one."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: object) -> list[int | str]:
        return [as_number(str(item)) for item in (value or [])]


class LoadBalancerForm(forms.Form):
    name = forms.CharField(required=False, strip=False)
    description = forms.CharField(required=False, strip=False)
    listener_protocol = forms.CharField(required=False, initial=ListenerProtocol.HTTP)
    listener_port = forms.CharField(required=False, initial="80")
    algorithm = forms.CharField(required=False, initial=Algorithm.ROUND_ROBIN)
    servers = NumberListField(required=False, label="Backend servers")
    provider = forms.CharField(required=False)

    field_labels = {"listener_protocol": "Protocol", "listener_port": "Port"}


class LoadBalancerEditForm(forms.Form):
    servers = NumberListField(required=False, label="Backend servers")
    algorithm = forms.CharField(required=False)
    description = forms.CharField(required=False, strip=False)
    version = forms.CharField(required=False, widget=forms.HiddenInput)


def show_errors(form: forms.Form, error: PortalError) -> None:
    """Put a service's error next to the fields it names; the rest above the form."""
    shown = False
    for field, messages in error.details.items():
        if field in form.fields and isinstance(messages, list):
            for message in messages:
                form.add_error(field, message)
            shown = True
    if not shown:
        form.add_error(None, error.message)
