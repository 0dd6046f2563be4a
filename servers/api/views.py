from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from portal.api.errors import ErrorSerializer
from portal.api.idempotency import Idempotent
from portal.api.lists import list_query, page_response, page_serializer, query_parameters
from portal.kernel.actors import Actor
from portal.kernel.errors import ValidationFailed
from portal.requests import staff_actor
from servers import bootstrap
from servers.api.files import CSVBodyParser, CSVRenderer, JSONBodyParser
from servers.api.serializers import ImportOutput, ServerCreateInput, ServerOutput, ServerUpdateInput
from servers.application.files import csv_export, read_import
from servers.application.payloads import CreateServer, UpdateServer
from servers.domain.errors import ImportTooLarge, ServerNotFound
from servers.filters import ServerFilters

ERRORS = dict.fromkeys((400, 401, 403, 404, 409), ErrorSerializer)
# Room for a multipart body's boundaries and headers beside the file itself.
_MULTIPART_SLACK = 64 * 1024


class InventoryPermission(permissions.BasePermission):
    """Every user reads the inventory; a change needs what the admin asks for the same
    change: staff status and the model permission (add, change or delete server)."""

    NEEDED = {"POST": ("add",), "PUT": ("change",), "PATCH": ("change",), "DELETE": ("delete",)}
    # An import adds servers and changes others.
    NEEDED_BY_ACTION = {"import_file": ("add", "change")}

    def has_permission(self, request: Request, view: object) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        needed = self.NEEDED_BY_ACTION.get(getattr(view, "action", None) or "") or self.NEEDED.get(
            request.method or "", ("change",)
        )
        user = request.user
        if user and user.is_staff and all(user.has_perm(f"servers.{what}_server") for what in needed):
            return True
        what = " and ".join(needed)
        self.message = (
            f"changing the server inventory needs staff status and the permission to {what} servers"
            f" ({', '.join(f'Servers | server | Can {w} server' for w in needed)}), as in the admin"
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
        responses={
            (200, "application/json"): page_serializer(ServerOutput),
            (200, "text/csv"): OpenApiResponse(
                str, description="Every matching server (no paging), streamed: the header, then one line each."
            ),
            **ERRORS,
        },
        summary="List servers (CSV export: ?format=csv or Accept: text/csv)",
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

    def get_renderers(self):  # type: ignore[no-untyped-def]
        renderers = super().get_renderers()
        return [*renderers, CSVRenderer()] if self.action == "list" else renderers

    def get_parsers(self):  # type: ignore[no-untyped-def]
        if getattr(self, "action_map", {}).get("post") == "import_file":
            return [MultiPartParser(), CSVBodyParser(), JSONBodyParser()]
        return super().get_parsers()

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and isinstance(getattr(request, "accepted_renderer", None), CSVRenderer):
            # Only the export streams CSV; any other answer then (an error) is JSON.
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    def list(self, request: Request) -> Response | StreamingHttpResponse:
        query = list_query(ServerFilters, request)
        if isinstance(request.accepted_renderer, CSVRenderer):
            rows = csv_export(bootstrap.build().get_iter(query))
            answer = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
            answer["Content-Disposition"] = 'attachment; filename="servers.csv"'
            return answer
        return page_response(bootstrap.build().get_plist(query), ServerOutput)

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

    @extend_schema(
        request={
            "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}},
            "text/csv": {"type": "string"},
            "application/json": {"type": "array", "items": {"type": "object"}},
        },
        responses={200: ImportOutput, 413: ErrorSerializer, **ERRORS},
        summary="Import servers (CSV or JSON): all rows stored, or none",
    )
    @action(detail=False, methods=["post"], url_path="import", url_name="import")
    def import_file(self, request: Request) -> Response:
        """Create the servers whose name is new and change those whose name exists, in
        one transaction; when any row is bad, 400 names each by line and field
        (``details.rows``) and nothing is stored."""
        data, file_format = _import_body(request)
        result = bootstrap.build().import_batch(
            _actor(request), read_import(data, file_format, bootstrap.import_limits())
        )
        return Response(ImportOutput(result).data)


def _import_body(request: Request) -> tuple[bytes, str]:
    """The import file of the request and its format: one uploaded file (multipart, its
    format from its name or type, CSV by default) or the body itself (text/csv,
    application/json)."""
    limit = bootstrap.import_limits().max_bytes
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        length = request.META.get("CONTENT_LENGTH") or ""
        if length.isdigit() and int(length) > limit + _MULTIPART_SLACK:
            raise ImportTooLarge(limit)
        files = [upload for name in request.FILES for upload in request.FILES.getlist(name)]
        if len(files) != 1:
            raise ValidationFailed(
                f"send one file to import (got {len(files)})", details={"file": ["send exactly one file"]}
            )
        upload = files[0]
        if upload.size > limit:
            raise ImportTooLarge(limit)
        json_file = (upload.name or "").lower().endswith(".json") or upload.content_type == "application/json"
        return upload.read(), "json" if json_file else "csv"
    if media_type not in ("text/csv", "application/json"):
        raise ValidationFailed(
            "send the import as multipart/form-data (a file), text/csv or application/json",
            details={"file": [f"unsupported content type {media_type or '(none)'!r}"]},
        )
    data = request.data
    return (data if isinstance(data, bytes) else b""), "json" if media_type == "application/json" else "csv"
