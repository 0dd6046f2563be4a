from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from portal.api.errors import ErrorSerializer
from portal.api.idempotency import Idempotent
from portal.api.lists import list_query, page_response, page_serializer, query_parameters
from portal.kernel.actors import Actor
from portal.requests import staff_actor
from servers import bootstrap
from servers.api.serializers import ServerCreateInput, ServerOutput, ServerUpdateInput
from servers.application.payloads import CreateServer, UpdateServer
from servers.domain.errors import ServerNotFound
from servers.filters import ServerFilters

ERRORS = dict.fromkeys((400, 401, 403, 404, 409), ErrorSerializer)


class InventoryPermission(permissions.BasePermission):
    """Every user reads the inventory; a change needs what the admin asks for the same
    change: staff status and the model permission (add, change or delete server)."""

    NEEDED = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}

    def has_permission(self, request: Request, view: object) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        action = self.NEEDED.get(request.method or "", "change")
        user = request.user
        if user and user.is_staff and user.has_perm(f"servers.{action}_server"):
            return True
        self.message = (
            f"changing the server inventory needs staff status and the permission to {action} servers"
            f" (Servers | server | Can {action} server), as in the admin"
        )
        return False


def _server_id(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ServerNotFound(raw) from None


def _actor(request: Request) -> Actor:
    return staff_actor(request, "servers.server")


@extend_schema_view(
    list=extend_schema(
        parameters=query_parameters(ServerFilters),
        responses={200: page_serializer(ServerOutput), **ERRORS},
        summary="List servers",
    ),
    retrieve=extend_schema(responses={200: ServerOutput, **ERRORS}, summary="Get a server"),
    create=extend_schema(request=ServerCreateInput, responses={201: ServerOutput, **ERRORS}, summary="Add a server"),
    partial_update=extend_schema(
        request=ServerUpdateInput, responses={200: ServerOutput, **ERRORS}, summary="Change a server"
    ),
    destroy=extend_schema(responses={204: None, **ERRORS}, summary="Remove a server (409 while in use)"),
)
class ServerViewSet(Idempotent, viewsets.GenericViewSet):
    """The server inventory: every user reads it, staff change it."""

    # The defaults too (signed in; a read-only token reads only), then the inventory's own rule.
    permission_classes = [*api_settings.DEFAULT_PERMISSION_CLASSES, InventoryPermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = "[^/]+"
    serializer_class = ServerOutput

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return {"create": ServerCreateInput, "partial_update": ServerUpdateInput}.get(self.action, ServerOutput)

    def list(self, request: Request) -> Response:
        page = bootstrap.build().get_plist(list_query(ServerFilters, request))
        return page_response(page, ServerOutput)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ServerOutput(bootstrap.build().get_one(_server_id(pk))).data)

    def create(self, request: Request) -> Response:
        data = ServerCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        server = bootstrap.build().create_one(_actor(request), CreateServer(**data.validated_data))
        return Response(ServerOutput(server).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        data = ServerUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        server = bootstrap.build().update_one(_actor(request), _server_id(pk), UpdateServer(**data.validated_data))
        return Response(ServerOutput(server).data)

    def destroy(self, request: Request, pk: str) -> Response:
        bootstrap.build().delete_one(_actor(request), _server_id(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
