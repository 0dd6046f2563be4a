from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from audit import bootstrap
from audit.api.serializers import AuditEntryOutput
from audit.domain.errors import AuditEntryNotFound
from audit.filters import AuditFilters
from portal.api.errors import ErrorSerializer
from portal.api.lists import list_query, page_response, page_serializer, query_parameters

ERRORS = dict.fromkeys((400, 401, 404), ErrorSerializer)


def _entry_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise AuditEntryNotFound(raw) from None
    if not 0 < value < 2**63:
        raise AuditEntryNotFound(raw)
    return value


@extend_schema_view(
    list=extend_schema(
        parameters=query_parameters(AuditFilters),
        responses={200: page_serializer(AuditEntryOutput), **ERRORS},
        summary="List the audit trail (newest first)",
    ),
    retrieve=extend_schema(responses={200: AuditEntryOutput, **ERRORS}, summary="Get an audit entry"),
)
class AuditViewSet(viewsets.GenericViewSet):
    """Who changed what, when, through which door: the entries of your teams' records
    and of your own actions (operations with the permission to view the trail: all)."""

    http_method_names = ["get", "head", "options"]
    lookup_value_regex = "[^/]+"
    serializer_class = AuditEntryOutput

    def list(self, request: Request) -> Response:
        page = bootstrap.build().get_plist(bootstrap.actor(request), list_query(AuditFilters, request))
        return page_response(page, AuditEntryOutput)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(AuditEntryOutput(bootstrap.build().get_one(bootstrap.actor(request), _entry_id(pk))).data)
