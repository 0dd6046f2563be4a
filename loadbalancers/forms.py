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


MONITOR_NUMBERS = ("interval", "timeout", "retries_up", "retries_down")
MONITOR_TEXTS = ("http_path", "expected_codes")


class SettingsFields(forms.Form):
    """What creating and changing share: the health monitor (``health_monitor`` is its
    type, empty for none; the service's errors about it show there), tags and deletion
    protection."""

    health_monitor = forms.CharField(required=False, label="Health monitor")
    monitor_interval = forms.CharField(required=False, initial="5")
    monitor_timeout = forms.CharField(required=False, initial="3")
    monitor_retries_up = forms.CharField(required=False, initial="2")
    monitor_retries_down = forms.CharField(required=False, initial="3")
    monitor_http_path = forms.CharField(required=False, initial="/", strip=False)
    monitor_expected_codes = forms.CharField(required=False, initial="200")
    tags = forms.CharField(required=False, label="Tags")
    deletion_protection = forms.BooleanField(required=False, label="Deletion protection")

    def monitor(self) -> dict[str, object] | None:
        """The monitor asked for (the fields filled in), or None for none."""
        data = self.cleaned_data
        if not data["health_monitor"]:
            return None
        asked: dict[str, object] = {"type": data["health_monitor"]}
        for name in MONITOR_NUMBERS:
            if data[f"monitor_{name}"].strip():
                asked[name] = as_number(data[f"monitor_{name}"])
        if data["health_monitor"] == "HTTP":
            for name in MONITOR_TEXTS:
                if data[f"monitor_{name}"]:
                    asked[name] = data[f"monitor_{name}"]
        return asked

    def tag_list(self) -> list[str]:
        """The tags typed, separated by commas or spaces."""
        return [tag for tag in self.cleaned_data["tags"].replace(",", " ").split() if tag]

    @staticmethod
    def initial_settings(monitor: dict[str, object] | None, tags: list[str], protected: bool) -> dict[str, object]:
        initial: dict[str, object] = {"tags": " ".join(tags), "deletion_protection": protected}
        if monitor:
            initial["health_monitor"] = monitor["type"]
            initial.update(
                {f"monitor_{name}": monitor[name] for name in (*MONITOR_NUMBERS, *MONITOR_TEXTS) if name in monitor}
            )
        return initial


def members_sent(data: forms.Form, servers: list[int | str]) -> list[object]:
    """The members as the service takes them: each picked server, with the weight and
    drain the page's member table sent for it (a current member), or as an id alone (a
    new one: the defaults)."""
    sent: list[object] = []
    raw = data.data
    for server in servers:
        if isinstance(server, int) and f"weight_{server}" in raw:
            sent.append(
                {
                    "server": server,
                    "weight": as_number(raw.get(f"weight_{server}", "")),
                    "admin_state": "drain" if raw.get(f"drain_{server}") else "enabled",
                }
            )
        else:
            sent.append(server)
    return sent


class LoadBalancerForm(SettingsFields):
    name = forms.CharField(required=False, strip=False)
    description = forms.CharField(required=False, strip=False)
    listener_protocol = forms.CharField(required=False, initial=ListenerProtocol.HTTP)
    listener_port = forms.CharField(required=False, initial="80")
    algorithm = forms.CharField(required=False, initial=Algorithm.ROUND_ROBIN)
    servers = NumberListField(required=False, label="Backend servers")
    provider = forms.CharField(required=False)
    team = forms.CharField(required=False)

    field_labels = {"listener_protocol": "Protocol", "listener_port": "Port"}


class LoadBalancerEditForm(SettingsFields):
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
