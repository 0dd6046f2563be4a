from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from loadbalancers.application.payloads import BATCH_MAX
from loadbalancers.application.plans import Plan
from loadbalancers.application.read_model import LoadBalancerView
from loadbalancers.domain.members import WEIGHT_MAX, WEIGHT_MIN, AdminState
from loadbalancers.domain.model import Algorithm, ListenerProtocol, OperatingStatus
from loadbalancers.domain.monitors import LIMITS, MonitorType
from loadbalancers.domain.tags import MAX_TAGS, RULE
from portal.api.inputs import InputSerializer, StrictBooleanField, StrictCharField, StrictIntegerField, enum_field

MEMBER_SCHEMA = {
    "type": "object",
    "properties": {
        "server": {"type": "integer", "description": "A server id (OK status to be added)."},
        "weight": {"type": "integer", "minimum": WEIGHT_MIN, "maximum": WEIGHT_MAX, "default": 1},
        "admin_state": {"type": "string", "enum": [s.value for s in AdminState], "default": "enabled"},
    },
    "required": ["server"],
    "additionalProperties": False,
}
MONITOR_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "How the provider checks each member; null: no monitor (members read NO_MONITOR).",
    "properties": {
        "type": {"type": "string", "enum": [t.value for t in MonitorType]},
        **{name: {"type": "integer", "minimum": low, "maximum": high} for name, (low, high) in LIMITS.items()},
        "http_path": {"type": "string", "maxLength": 255, "description": "HTTP only; default /"},
        "expected_codes": {"type": "string", "description": "HTTP only: 200, 200,202 or 200-399; default 200"},
    },
    "additionalProperties": False,
}


@extend_schema_field({"oneOf": [{"type": "integer"}, MEMBER_SCHEMA]})
class MemberInputField(serializers.Field):
    """A server id, or a member object: the service checks what is in it."""

    default_error_messages = {"invalid": "Not a server id nor a member object."}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | dict):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(MONITOR_SCHEMA)
class MonitorInputField(serializers.Field):
    """An object (the service checks its fields) or null."""

    default_error_messages = {"invalid": "Not a health monitor object nor null."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({**MONITOR_SCHEMA, "required": ["type"]})
class MonitorOutputField(serializers.JSONField):
    """The monitor in force (HTTP-only fields left out of a TCP one), or null."""


SERVERS_HELP = (
    "Server ids (OK status), or member objects {server, weight 0-256 (default 1), admin_state enabled|drain}."
    " On a change, a member sent as an id alone keeps its weight and admin state."
)
TAGS_HELP = f"At most {MAX_TAGS}; {RULE}."

RECORD_READ_ONLY = (
    "id",
    "owner",
    "created_by",
    "provisioning_status",
    "operating_status",
    "vip_address",
    "error_reason",
    "version",
    "created_at",
    "updated_at",
    "notices",
    "drift",
)


class ServerSummaryOutput(serializers.Serializer):
    """A server as it appears in a load balancer: one of its members, with its settings
    and health there."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    port = serializers.IntegerField()
    status = serializers.CharField(help_text="The server's status in the inventory (OK, DOWN, MAINTENANCE).")
    weight = serializers.IntegerField(help_text=f"{WEIGHT_MIN}-{WEIGHT_MAX}")
    admin_state = serializers.ChoiceField(choices=[s.value for s in AdminState])
    operating_status = serializers.ChoiceField(
        choices=[s.value for s in OperatingStatus],
        help_text="Its health as the provider sees it (NO_MONITOR without a health monitor).",
    )
    status_reason = serializers.CharField(allow_null=True, help_text="The provider's word on its health, if any.")
    drained_by_inventory = serializers.BooleanField(
        help_text="In drain because its server is not OK in the inventory (enabled again when it is)."
    )


class DriftOutput(serializers.Serializer):
    """One field its provider runs otherwise than the record says (found by the
    reconciler; resolved once the provider runs the record again)."""

    field = serializers.CharField(help_text="algorithm, listener_port, health_monitor, member <address:port> weight")
    desired = serializers.JSONField(allow_null=True, help_text="What the record asks for.")
    actual = serializers.JSONField(allow_null=True, help_text="What the provider runs.")
    first_seen_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()


def records_base(request: Request | None = None) -> str:
    """Where the records are (each at its id and a slash): absolute for a request, the
    path alone without one."""
    path = reverse("load-balancer-list")
    return request.build_absolute_uri(path) if request is not None else path


@extend_schema_field(OpenApiTypes.URI)
class SelfLinkField(serializers.Field):
    """The record's own address in the API (absolute), to follow from a list."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: LoadBalancerView) -> str:
        return f"{records_base(self.context.get('request'))}{value.id}/"


class LoadBalancerOutput(serializers.Serializer):
    id = serializers.UUIDField()
    url = SelfLinkField(help_text="Its own address in the API.")
    name = serializers.CharField()
    description = serializers.CharField()
    team = serializers.CharField(help_text="The slug of the team it belongs to.")
    created_by = serializers.CharField(allow_null=True, help_text="Who asked for it (null: an account since deleted).")
    owner = serializers.CharField(
        source="created_by", allow_null=True, help_text="Deprecated: the same as created_by (kept for older clients)."
    )
    servers = ServerSummaryOutput(many=True)
    listener_protocol = serializers.CharField()
    listener_port = serializers.IntegerField()
    algorithm = serializers.CharField()
    health_monitor = MonitorOutputField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    deletion_protection = serializers.BooleanField()
    notices = serializers.ListField(
        child=serializers.CharField(), help_text="What to know about its members (servers not OK in the inventory)."
    )
    drift = DriftOutput(many=True, help_text="What its provider runs otherwise than this record, if anything.")
    provisioning_status = serializers.CharField()
    operating_status = serializers.CharField()
    provider = serializers.CharField()
    vip_address = serializers.CharField(allow_null=True)
    error_reason = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


_DATETIME = serializers.DateTimeField()


def load_balancer_json(view: LoadBalancerView, base: str | None = None) -> dict[str, Any]:
    """``LoadBalancerOutput(view).data``, built directly: the lists' hot path (a page of
    50 is about 1,800 field reads through DRF's fields).  The tests hold the two equal;
    LoadBalancerOutput stays the documented shape (OpenAPI, browsable API).  ``base``:
    ``records_base`` (computed once for a whole page)."""
    when = _DATETIME.to_representation
    return {
        "id": str(view.id),
        "url": f"{records_base() if base is None else base}{view.id}/",
        "name": view.name,
        "description": view.description,
        "team": view.team,
        "created_by": view.created_by,
        "owner": view.created_by,
        "servers": [
            {
                "id": m.id,
                "name": m.name,
                "address": m.address,
                "port": m.port,
                "status": m.status,
                "weight": m.weight,
                "admin_state": m.admin_state,
                "operating_status": m.operating_status,
                "status_reason": m.status_reason,
                "drained_by_inventory": m.drained_by_inventory,
            }
            for m in view.servers
        ],
        "listener_protocol": view.listener_protocol,
        "listener_port": view.listener_port,
        "algorithm": view.algorithm,
        "health_monitor": view.health_monitor,
        "tags": list(view.tags),
        "deletion_protection": view.deletion_protection,
        "notices": view.notices,
        "drift": [
            {
                "field": d.field,
                "desired": d.desired,
                "actual": d.actual,
                "first_seen_at": when(d.first_seen_at),
                "last_seen_at": when(d.last_seen_at),
            }
            for d in view.drift
        ],
        "provisioning_status": view.provisioning_status,
        "operating_status": view.operating_status,
        "provider": view.provider,
        "vip_address": view.vip_address,
        "error_reason": view.error_reason,
        "version": view.version,
        "created_at": when(view.created_at),
        "updated_at": when(view.updated_at),
    }


class LoadBalancerCreateInput(InputSerializer):
    """Only the JSON shape is checked here; the service checks every rule and
    reports all broken ones in one answer."""

    read_only_names = RECORD_READ_ONLY
    name = StrictCharField(trim_whitespace=False, allow_blank=True, help_text="1-63 of a-z, 0-9 and -")
    servers = serializers.ListField(child=MemberInputField(), help_text=SERVERS_HELP)
    listener_protocol = enum_field(ListenerProtocol, required=False, default=ListenerProtocol.HTTP)
    listener_port = StrictIntegerField(required=False, default=80, help_text="1-65535")
    algorithm = enum_field(Algorithm, required=False, default=Algorithm.ROUND_ROBIN)
    description = StrictCharField(required=False, default="", allow_blank=True, trim_whitespace=False)
    provider = StrictCharField(required=False, help_text="One of GET /api/v1/providers/; default the default.")
    team = StrictCharField(
        required=False,
        help_text="The slug of one of your teams (GET /api/v1/teams/); default: your only team where you may create.",
    )
    health_monitor = MonitorInputField(required=False, default=None)
    tags = serializers.ListField(child=StrictCharField(), required=False, default=list, help_text=TAGS_HELP)
    deletion_protection = StrictBooleanField(
        required=False, default=False, help_text="While true, every delete is refused (409 DeletionProtected)."
    )

    def get_initial(self) -> dict[str, object]:
        """What the browsable API's POST form starts from: the name and servers to fill in,
        and the other fields at their defaults (those without one, such as provider and
        team, left out: an empty one would be refused)."""
        return {
            "name": "",
            "servers": [],
            "listener_protocol": ListenerProtocol.HTTP.value,
            "listener_port": 80,
            "algorithm": Algorithm.ROUND_ROBIN.value,
            "description": "",
            "tags": [],
            "deletion_protection": False,
        }


class LoadBalancerUpdateInput(InputSerializer):
    """A partial change, only when ACTIVE (deletion_protection alone also when ERROR);
    what is left out stays as it is."""

    read_only_names = (*RECORD_READ_ONLY, "name", "listener_protocol", "listener_port", "provider", "team")
    servers = serializers.ListField(child=MemberInputField(), required=False, help_text=SERVERS_HELP)
    algorithm = enum_field(Algorithm, required=False)
    description = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    health_monitor = MonitorInputField(
        required=False, help_text="The fields to change (type required when there is none yet); null removes it."
    )
    tags = serializers.ListField(child=StrictCharField(), required=False, help_text=f"Replaces them all. {TAGS_HELP}")
    deletion_protection = StrictBooleanField(required=False)
    version = StrictIntegerField(
        required=False, help_text="The version you last read; a newer stored one gives 409 instead of a lost update."
    )

    def to_representation(self, instance: LoadBalancerView) -> dict[str, object]:
        """What the browsable API's PATCH form starts from: the current editable values."""
        return {
            "servers": [
                {"server": server.id, "weight": server.weight, "admin_state": server.admin_state}
                for server in instance.servers
            ],
            "algorithm": instance.algorithm,
            "description": instance.description,
            "health_monitor": instance.health_monitor,
            "tags": instance.tags,
            "deletion_protection": instance.deletion_protection,
            "version": instance.version,
        }


class ProviderOutput(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    is_default = serializers.BooleanField()


# -- batches ---------------------------------------------------------------------------------


class BatchCreateInput(InputSerializer):
    """Up to BATCH_MAX load balancers, created all together or not at all."""

    items = LoadBalancerCreateInput(
        many=True, help_text=f"1-{BATCH_MAX} load balancers, each as POST /load-balancers/ takes it."
    )


@extend_schema_field({"type": "string", "format": "uuid"})
class AnyValueField(serializers.Field):
    """Any JSON value, passed on as sent: the service says which are not ids, along
    with every other problem, by index."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class BatchDeleteInput(InputSerializer):
    ids = serializers.ListField(
        child=AnyValueField(), help_text=f"1-{BATCH_MAX} load balancer ids, deleted all together or not at all."
    )


class BatchOutput(serializers.Serializer):
    items = LoadBalancerOutput(many=True)


# -- plans -----------------------------------------------------------------------------------


class FieldChangeOutput(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class ProviderOperationOutput(serializers.Serializer):
    name = serializers.CharField(help_text="An API call (ELBv2), a configuration write, runtime command or reload.")
    params = serializers.DictField(help_text="Its parameters, as they would be sent.")


class ProviderPlanOutput(serializers.Serializer):
    name = serializers.CharField(help_text="The provider.")
    ref = serializers.CharField(allow_null=True, help_text="Its resource (null: not created yet).")
    changes = FieldChangeOutput(
        many=True, help_text="Field by field: what the provider runs now (before) and would run (after)."
    )
    operations = ProviderOperationOutput(many=True, help_text="What the provider would be asked, in order.")
    diff = serializers.CharField(help_text="The provider's configuration change as a unified diff (HAProxy), or ''.")


class RefusalOutput(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status the request would get.")
    error = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class PlanOutput(serializers.Serializer):
    """What a create or a change would do, found by running every check it would meet
    and reading the provider, with nothing stored and nothing written at the provider."""

    action = serializers.ChoiceField(choices=["create", "update"])
    allowed = serializers.BooleanField(help_text="Whether the request would be accepted.")
    error = RefusalOutput(allow_null=True, help_text="Why it would be refused (null: it would be accepted).")
    id = serializers.UUIDField(source="lb_id", allow_null=True, help_text="The load balancer changed (null: a create).")
    name = serializers.CharField(allow_null=True)
    changes = FieldChangeOutput(many=True, help_text="The record's changes, as the audit trail would show them.")
    provider = ProviderPlanOutput(
        allow_null=True, help_text="What the provider would be asked (null: nothing goes to the provider)."
    )

    def to_representation(self, instance: Plan) -> dict[str, Any]:
        data = super().to_representation(
            {
                "action": instance.action,
                "allowed": instance.allowed,
                "error": None,
                "lb_id": instance.lb_id,
                "name": instance.name,
                "changes": [vars(change) for change in instance.changes],
                "provider": None,
            }
        )
        if instance.error is not None:
            failed = instance.error
            data["error"] = {
                "status": failed.status_code,
                "error": failed.name,
                "message": failed.message,
                "details": failed.details,
            }
        if instance.provider is not None:
            side = instance.provider
            data["provider"] = {
                "name": side.name,
                "ref": side.ref,
                "changes": [vars(change) for change in side.changes],
                "operations": [{"name": op.name, "params": dict(op.params)} for op in side.operations],
                "diff": side.diff,
            }
        return data
