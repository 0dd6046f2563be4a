from rest_framework import serializers

from portal.api.inputs import InputSerializer, StrictCharField, StrictIntegerField, enum_field
from servers.domain.model import ServerStatus

_SERVER_READ_ONLY = ("id", "created_at", "updated_at")


class ServerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    port = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ServerCreateInput(InputSerializer):
    read_only_names = _SERVER_READ_ONLY
    name = StrictCharField(trim_whitespace=False, allow_blank=True)
    address = StrictCharField(trim_whitespace=False, allow_blank=True)
    port = StrictIntegerField()
    status = enum_field(ServerStatus, required=False, default=ServerStatus.OK)


class ServerUpdateInput(InputSerializer):
    read_only_names = _SERVER_READ_ONLY
    name = StrictCharField(trim_whitespace=False, allow_blank=True, required=False)
    address = StrictCharField(trim_whitespace=False, allow_blank=True, required=False)
    port = StrictIntegerField(required=False)
    status = enum_field(ServerStatus, required=False)


class ImportOutput(serializers.Serializer):
    """What an import did: servers created, changed, and named but left as they were."""

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
