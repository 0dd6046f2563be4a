"""HTML forms.  Like the API's serializers they only read the shape of what was sent;
the services check every rule and report every problem at once, and ``portal.web.show_errors``
puts what they report next to the fields it concerns."""

from __future__ import annotations

from django import forms

from loadbalancers.domain.model import Algorithm, ListenerProtocol
from portal.kernel.pagination import PageRequest
from servers.application.payloads import ServerQuery
from servers.domain.model import ServerStatus

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
    team = forms.CharField(required=False)

    field_labels = {"listener_protocol": "Protocol", "listener_port": "Port"}


class LoadBalancerEditForm(forms.Form):
    servers = NumberListField(required=False, label="Backend servers")
    algorithm = forms.CharField(required=False)
    description = forms.CharField(required=False, strip=False)
    version = forms.CharField(required=False, widget=forms.HiddenInput)


class ServerSearchForm(forms.Form):
    """What the server picker looks for in the whole inventory: part of a name or an
    address, and a status.  It travels by GET (its own little form, so that a page
    without script can search too) or from the picker's script, never with the load
    balancer's form."""

    server_search = forms.CharField(required=False, max_length=200, label="Find servers")
    server_status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[
            ("", "Any status"),
            *((s.value, "OK: can be used" if s is ServerStatus.OK else s.value) for s in ServerStatus),
        ],
    )

    def query(self, limit: int) -> ServerQuery:
        """The first ``limit`` matching servers by name; a part that is not valid is left out
        (and its error shown next to it), the rest still applies."""
        self.is_valid()
        return ServerQuery(
            page=PageRequest(limit=limit, sort_by="name"),
            search=self.cleaned_data.get("server_search") or None,
            status=self.cleaned_data.get("server_status") or None,
        )

    def describe(self) -> str:
        """The search in words, to end a sentence about the servers it finds."""
        self.is_valid()
        status, search = self.cleaned_data.get("server_status"), self.cleaned_data.get("server_search")
        return (f" in {status} status" if status else "") + (f" matching \u201c{search}\u201d" if search else "")
