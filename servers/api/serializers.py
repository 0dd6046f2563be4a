from rest_framework import serializers

from portal.api.inputs import InputSerializer, StrictCharField, StrictIntegerField, enum_field
from portal.api.lists import ListQuerySerializer
from servers.application.payloads import ServerQuery
from servers.domain.model import ServerStatus

_SERVER_READ_ONLY = ("id", "created_at", "updated_at")


class ServerSummaryOutput(serializers.Serializer):
    """A server as it appears inside other records (a load balancer's members)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    port = serializers.IntegerField()
    status = serializers.CharField()


class ServerOutput(ServerSummaryOutput):
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


class ServerListQuery(ListQuerySerializer):
    status = serializers.CharField(required=False, allow_blank=True, help_text="OK, DOWN or MAINTENANCE")
    default_sort = ("name", "asc")

    def to_query(self) -> ServerQuery:
        data = self.validated_data
        return ServerQuery(
            page=self.page_request(), status=data.get("status") or None, search=data.get("search") or None
        )
