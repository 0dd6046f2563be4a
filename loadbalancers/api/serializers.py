from rest_framework import serializers

from loadbalancers.application.read_model import LoadBalancerView
from loadbalancers.domain.model import Algorithm, ListenerProtocol
from portal.api.inputs import InputSerializer, StrictCharField, StrictIntegerField, enum_field

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
)


class ServerSummaryOutput(serializers.Serializer):
    """A server as it appears in a load balancer: one of its members."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    port = serializers.IntegerField()
    status = serializers.CharField()


class LoadBalancerOutput(serializers.Serializer):
    id = serializers.UUIDField()
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
    provisioning_status = serializers.CharField()
    operating_status = serializers.CharField()
    provider = serializers.CharField()
    vip_address = serializers.CharField(allow_null=True)
    error_reason = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class LoadBalancerCreateInput(InputSerializer):
    """Only the JSON shape is checked here; the service checks every rule and
    reports all broken ones in one answer."""

    read_only_names = RECORD_READ_ONLY
    name = StrictCharField(trim_whitespace=False, allow_blank=True, help_text="1-63 of a-z, 0-9 and -")
    servers = serializers.ListField(child=StrictIntegerField(), help_text="Ids of servers in OK status.")
    listener_protocol = enum_field(ListenerProtocol, required=False, default=ListenerProtocol.HTTP)
    listener_port = StrictIntegerField(required=False, default=80, help_text="1-65535")
    algorithm = enum_field(Algorithm, required=False, default=Algorithm.ROUND_ROBIN)
    description = StrictCharField(required=False, default="", allow_blank=True, trim_whitespace=False)
    provider = StrictCharField(required=False, help_text="One of GET /api/v1/providers/; default the default.")
    team = StrictCharField(
        required=False,
        help_text="The slug of one of your teams (GET /api/v1/teams/); default: your only team where you may create.",
    )


class LoadBalancerUpdateInput(InputSerializer):
    read_only_names = (*RECORD_READ_ONLY, "name", "listener_protocol", "listener_port", "provider", "team")
    servers = serializers.ListField(child=StrictIntegerField(), required=False)
    algorithm = enum_field(Algorithm, required=False)
    description = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    version = StrictIntegerField(
        required=False, help_text="The version you last read; a newer stored one gives 409 instead of a lost update."
    )

    def to_representation(self, instance: LoadBalancerView) -> dict[str, object]:
        """What the browsable API's PATCH form starts from: the current editable values."""
        return {
            "servers": [server.id for server in instance.servers],
            "algorithm": instance.algorithm,
            "description": instance.description,
            "version": instance.version,
        }


class ProviderOutput(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    is_default = serializers.BooleanField()
