from uuid import UUID

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loadbalancers import bootstrap
from loadbalancers.api.serializers import (
    LoadBalancerCreateInput,
    LoadBalancerOutput,
    LoadBalancerUpdateInput,
    ProviderOutput,
)
from loadbalancers.application.load_balancers import LoadBalancerService
from loadbalancers.application.payloads import CreateLoadBalancer, UpdateLoadBalancer
from loadbalancers.domain.errors import LoadBalancerNotFound
from loadbalancers.filters import LoadBalancerFilters
from portal.api.errors import ErrorSerializer
from portal.api.lists import list_query, page_response, page_serializer, query_parameters
from portal.kernel.pagination import Page

ERRORS = dict.fromkeys((400, 401, 403, 404, 409), ErrorSerializer)


def _load_balancers() -> LoadBalancerService:
    return bootstrap.build().load_balancers


def _lb_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise LoadBalancerNotFound(raw) from None


@extend_schema_view(
    list=extend_schema(
        parameters=query_parameters(LoadBalancerFilters),
        responses={200: page_serializer(LoadBalancerOutput), **ERRORS},
        summary="List your teams' load balancers (staff: all)",
    ),
    retrieve=extend_schema(responses={200: LoadBalancerOutput, **ERRORS}, summary="Get a load balancer"),
    create=extend_schema(
        request=LoadBalancerCreateInput,
        responses={202: LoadBalancerOutput, **ERRORS},
        summary="Create a load balancer (provisioned in the background)",
    ),
    partial_update=extend_schema(
        request=LoadBalancerUpdateInput,
        responses={202: LoadBalancerOutput, **ERRORS},
        summary="Change members (weight, drain), algorithm, description, health monitor, tags or deletion protection",
    ),
    destroy=extend_schema(
        responses={202: LoadBalancerOutput, **ERRORS}, summary="Delete a load balancer (when ACTIVE or ERROR)"
    ),
    retry=extend_schema(
        request=None,
        responses={202: LoadBalancerOutput, **ERRORS},
        summary="Provision an ERROR load balancer again",
    ),
)
class LoadBalancerViewSet(viewsets.GenericViewSet):
    """Your teams' load balancers.  Writes (members and owners of the team) answer 202 at
    once; the portal then provisions at the provider in the background until the record
    is ACTIVE, ERROR or DELETED."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = "[^/]+"
    serializer_class = LoadBalancerOutput

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return {"create": LoadBalancerCreateInput, "partial_update": LoadBalancerUpdateInput}.get(
            self.action, LoadBalancerOutput
        )

    def list(self, request: Request) -> Response:
        page = _load_balancers().get_plist(bootstrap.actor(request), list_query(LoadBalancerFilters, request))
        return page_response(page, LoadBalancerOutput)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(LoadBalancerOutput(_load_balancers().get_one(bootstrap.actor(request), _lb_id(pk))).data)

    def create(self, request: Request) -> Response:
        data = LoadBalancerCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        view = _load_balancers().create_one(bootstrap.actor(request), CreateLoadBalancer(**data.validated_data))
        location = request.build_absolute_uri(reverse("load-balancer-detail", args=[view.id]))
        return Response(LoadBalancerOutput(view).data, status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    def partial_update(self, request: Request, pk: str) -> Response:
        data = LoadBalancerUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        view = _load_balancers().update_one(
            bootstrap.actor(request), _lb_id(pk), UpdateLoadBalancer(**data.validated_data)
        )
        return Response(LoadBalancerOutput(view).data, status=status.HTTP_202_ACCEPTED)

    def destroy(self, request: Request, pk: str) -> Response:
        view = _load_balancers().delete_one(bootstrap.actor(request), _lb_id(pk))
        return Response(LoadBalancerOutput(view).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        view = _load_balancers().retry(bootstrap.actor(request), _lb_id(pk))
        return Response(LoadBalancerOutput(view).data, status=status.HTTP_202_ACCEPTED)


class ProviderListView(APIView):
    """The LBaaS providers enabled in this portal; the default one is used when a
    create request names none."""

    @extend_schema(
        responses={200: page_serializer(ProviderOutput), 401: ErrorSerializer}, summary="List LBaaS providers"
    )
    def get(self, request: Request) -> Response:
        items = list(bootstrap.providers())
        return page_response(Page(items=items, total=len(items), limit=len(items), offset=0), ProviderOutput)
