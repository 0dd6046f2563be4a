from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import bootstrap
from notifications.api.serializers import (
    DeliveryOutput,
    EmailPreferenceSerializer,
    NewWebhookOutput,
    WebhookCreateInput,
    WebhookOutput,
    WebhookUpdateInput,
)
from notifications.application.payloads import CreateWebhook, UpdateWebhook
from notifications.domain.errors import WebhookNotFound
from portal.api.errors import ErrorSerializer
from portal.api.idempotency import Idempotent
from portal.api.inputs import BoundedJSONParser
from portal.api.lists import page_response, page_serializer
from portal.kernel.pagination import Page

ERRORS = dict.fromkeys((400, 401, 403, 404), ErrorSerializer)


def _webhook_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise WebhookNotFound(raw) from None
    if not 0 < value < 2**31:
        raise WebhookNotFound(raw)
    return value


@extend_schema_view(
    list=extend_schema(responses={200: page_serializer(WebhookOutput), **ERRORS}, summary="List a team's webhooks"),
    retrieve=extend_schema(responses={200: WebhookOutput, **ERRORS}, summary="Get a webhook"),
    create=extend_schema(
        request=WebhookCreateInput, responses={201: NewWebhookOutput, **ERRORS}, summary="Add a webhook (owners)"
    ),
    partial_update=extend_schema(
        request=WebhookUpdateInput, responses={200: WebhookOutput, **ERRORS}, summary="Change a webhook (owners)"
    ),
    destroy=extend_schema(responses={204: None, **ERRORS}, summary="Remove a webhook (owners)"),
)
class WebhookViewSet(Idempotent, viewsets.GenericViewSet):
    """A team's webhooks: each committed event of the team's records, signed and sent
    to the URLs its owners register (see the README for the payload and signature)."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = "[^/]+"
    parser_classes = [BoundedJSONParser]
    serializer_class = WebhookOutput

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return {"create": WebhookCreateInput, "partial_update": WebhookUpdateInput}.get(self.action, WebhookOutput)

    def list(self, request: Request, slug: str) -> Response:
        hooks = bootstrap.build().webhooks.get_list(bootstrap.actor(request), slug)
        return page_response(Page(items=hooks, total=len(hooks), limit=max(len(hooks), 1), offset=0), WebhookOutput)

    def retrieve(self, request: Request, slug: str, pk: str) -> Response:
        hook = bootstrap.build().webhooks.get_one(bootstrap.actor(request), slug, _webhook_id(pk))
        return Response(WebhookOutput(hook).data)

    def create(self, request: Request, slug: str) -> Response:
        data = WebhookCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        hook = bootstrap.build().webhooks.create_one(
            bootstrap.actor(request), slug, CreateWebhook(**data.validated_data)
        )
        return Response(NewWebhookOutput(hook).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, slug: str, pk: str) -> Response:
        data = WebhookUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        hook = bootstrap.build().webhooks.update_one(
            bootstrap.actor(request), slug, _webhook_id(pk), UpdateWebhook(**data.validated_data)
        )
        return Response(WebhookOutput(hook).data)

    def destroy(self, request: Request, slug: str, pk: str) -> Response:
        bootstrap.build().webhooks.delete_one(bootstrap.actor(request), slug, _webhook_id(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={200: page_serializer(DeliveryOutput), **ERRORS}, summary="A webhook's newest deliveries (owners)"
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, slug: str, pk: str) -> Response:
        found = bootstrap.build().webhooks.get_deliveries(bootstrap.actor(request), slug, _webhook_id(pk))
        return page_response(Page(items=found, total=len(found), limit=max(len(found), 1), offset=0), DeliveryOutput)


class EmailPreferenceView(Idempotent):
    """Whether you get e-mails about this team's problems (owners: yes unless they say
    no; everyone else: once they say yes)."""

    parser_classes = [BoundedJSONParser]
    serializer_class = EmailPreferenceSerializer

    @extend_schema(responses={200: EmailPreferenceSerializer, **ERRORS}, summary="Your e-mail choice for a team")
    def get(self, request: Request, slug: str) -> Response:
        enabled = bootstrap.build().webhooks.get_email_preference(bootstrap.actor(request), slug)
        return Response({"enabled": enabled})

    @extend_schema(
        request=EmailPreferenceSerializer,
        responses={200: EmailPreferenceSerializer, **ERRORS},
        summary="Choose whether you get a team's e-mails",
    )
    def put(self, request: Request, slug: str) -> Response:
        data = EmailPreferenceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        enabled = bootstrap.build().webhooks.update_email_preference(
            bootstrap.actor(request), slug, data.validated_data["enabled"]
        )
        return Response({"enabled": enabled})
