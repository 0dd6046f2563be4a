from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import ReturnDict
from rest_framework.views import APIView

from loadbalancers import bootstrap
from loadbalancers.api.serializers import (
    BatchCreateInput,
    BatchDeleteInput,
    BatchOutput,
    LoadBalancerCreateInput,
    LoadBalancerOutput,
    LoadBalancerUpdateInput,
    PlanOutput,
    ProviderOutput,
    load_balancer_json,
    records_base,
)
from loadbalancers.application.load_balancers import LoadBalancerService
from loadbalancers.application.payloads import CreateBatch, CreateLoadBalancer, DeleteBatch, UpdateLoadBalancer
from loadbalancers.application.plans import Plan
from loadbalancers.application.read_model import LoadBalancerView
from loadbalancers.domain.errors import LoadBalancerNotFound
from loadbalancers.filters import LoadBalancerFilters
from portal.api.errors import ErrorSerializer
from portal.api.idempotency import Idempotent
from portal.api.lists import list_query, page_of_json, page_response, page_serializer, query_parameters
from portal.kernel.errors import ValidationFailed
from portal.kernel.pagination import Page

ERRORS = dict.fromkeys((400, 401, 403, 404, 409), ErrorSerializer)
# A plan reads the provider: 503 when it cannot be read.
PLAN_ERRORS = dict.fromkeys((401, 403, 404, 503), ErrorSerializer)
DRY_RUN = OpenApiParameter(
    "dry_run",
    bool,
    description="true: answer 200 with the plan of this request (as POST .../plan/ does) and change nothing.",
)
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def _load_balancers() -> LoadBalancerService:
    return bootstrap.build().load_balancers


def _lb_id(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise LoadBalancerNotFound(raw) from None


def _dry_run(request: Request) -> bool:
    """Whether ``?dry_run=`` asks for the plan only; 400 for a value that is not a yes or a no."""
    raw = request.query_params.get("dry_run")
    if raw is None:
        return False
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    message = "dry_run must be true or false"
    raise ValidationFailed(f"dry_run: {message}", details={"dry_run": [message]})


def _without_plan(request: Request, what: str) -> None:
    """Refuse ``?dry_run=true`` where there is no plan to answer with: the write would
    otherwise happen for real, which is the opposite of what was asked."""
    if _dry_run(request):
        message = f"{what} has no plan: send it without dry_run"
        raise ValidationFailed(f"dry_run: {message}", details={"dry_run": [message]})


def _read(serializer_class: type, data: Any) -> tuple[dict[str, Any] | None, ValidationFailed | None]:
    """The request's fields if their shape is right, or the refusal it would get."""
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return serializer.validated_data, None
    fields = ", ".join(map(str, serializer.errors))
    return None, ValidationFailed(f"the request is not valid: check {fields}", details=dict(serializer.errors))


def _record(view: LoadBalancerView, request: Request) -> ReturnDict:
    """A load balancer's JSON (built directly, see load_balancer_json), still carrying its
    serializer: the browsable API starts its PATCH form from the record it holds."""
    return ReturnDict(
        load_balancer_json(view, records_base(request)),
        serializer=LoadBalancerOutput(view, context={"request": request}),
    )


def _records(views: list[LoadBalancerView], request: Request) -> list[dict[str, Any]]:
    base = records_base(request)
    return [load_balancer_json(view, base) for view in views]


def _batch(data: Any) -> CreateBatch:
    """Each item read by itself, so that every bad one is named by its index along with
    what the service then finds wrong with the others."""
    if not isinstance(data, Mapping) or set(data) != {"items"}:
        BatchCreateInput(data=data).is_valid(raise_exception=True)  # says what is wrong with the envelope
        raise exceptions.ValidationError({"items": ['send {"items": [...]}']})
    items = data["items"]
    if not isinstance(items, list):
        raise exceptions.ValidationError({"items": ["items must be a list of load balancers"]})
    read, rejected = {}, {}
    for index, item in enumerate(items):
        fields, refused = _read(LoadBalancerCreateInput, item)
        if refused is not None:
            rejected[index] = refused.details
        else:
            read[index] = CreateLoadBalancer(**fields)  # type: ignore[arg-type]
    return CreateBatch(items=read, rejected=rejected)


@extend_schema_view(
    list=extend_schema(
        parameters=query_parameters(LoadBalancerFilters),
        responses={200: page_serializer(LoadBalancerOutput), **ERRORS},
        summary="List your teams' load balancers (staff: all)",
    ),
    retrieve=extend_schema(responses={200: LoadBalancerOutput, **ERRORS}, summary="Get a load balancer"),
    create=extend_schema(
        request=LoadBalancerCreateInput,
        parameters=[DRY_RUN],
        responses={202: LoadBalancerOutput, 200: PlanOutput, **ERRORS, 503: ErrorSerializer},
        summary="Create a load balancer (provisioned in the background)",
    ),
    partial_update=extend_schema(
        request=LoadBalancerUpdateInput,
        parameters=[DRY_RUN],
        responses={202: LoadBalancerOutput, 200: PlanOutput, **ERRORS, 503: ErrorSerializer},
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
    repair=extend_schema(
        request=None,
        responses={202: LoadBalancerOutput, **ERRORS},
        summary="Apply the record again at the provider (after drift), through a normal update",
    ),
    batch=extend_schema(
        request=BatchCreateInput,
        responses={202: BatchOutput, **ERRORS},
        summary="Create up to 100 load balancers, all or none (errors by item index in details.items)",
    ),
    batch_delete=extend_schema(
        request=BatchDeleteInput,
        responses={202: BatchOutput, **ERRORS},
        summary="Delete up to 100 load balancers, all or none (errors by index in details.ids)",
    ),
    plan_create=extend_schema(
        operation_id="load_balancers_plan_create",
        request=LoadBalancerCreateInput,
        responses={200: PlanOutput, **PLAN_ERRORS},
        summary="Plan a create: every check it would meet, and what the provider would be asked; changes nothing",
    ),
    plan_update=extend_schema(
        operation_id="load_balancers_plan_update",
        request=LoadBalancerUpdateInput,
        responses={200: PlanOutput, **PLAN_ERRORS},
        summary="Plan a change: every check it would meet, and what the provider would be asked; changes nothing",
    ),
)
class LoadBalancerViewSet(Idempotent, viewsets.GenericViewSet):
    """Your teams' load balancers.  Writes (members and owners of the team) answer 202 at
    once; the portal then provisions at the provider in the background until the record
    is ACTIVE, ERROR or DELETED."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = "[^/]+"
    serializer_class = LoadBalancerOutput

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return {
            "create": LoadBalancerCreateInput,
            "partial_update": LoadBalancerUpdateInput,
            "batch": BatchCreateInput,
            "batch_delete": BatchDeleteInput,
            "plan_create": LoadBalancerCreateInput,
            "plan_update": LoadBalancerUpdateInput,
        }.get(self.action, LoadBalancerOutput)

    def list(self, request: Request) -> Response:
        page = _load_balancers().get_plist(bootstrap.actor(request), list_query(LoadBalancerFilters, request))
        return page_of_json(page, _records(page.items, request))

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(_record(_load_balancers().get_one(bootstrap.actor(request), _lb_id(pk)), request))

    def create(self, request: Request) -> Response:
        if _dry_run(request):
            return self.plan_create(request)
        data = LoadBalancerCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        view = _load_balancers().create_one(bootstrap.actor(request), CreateLoadBalancer(**data.validated_data))
        location = request.build_absolute_uri(reverse("load-balancer-detail", args=[view.id]))
        return Response(_record(view, request), status=status.HTTP_202_ACCEPTED, headers={"Location": location})

    def partial_update(self, request: Request, pk: str) -> Response:
        if _dry_run(request):
            return self.plan_update(request, pk)
        data = LoadBalancerUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        view = _load_balancers().update_one(
            bootstrap.actor(request), _lb_id(pk), UpdateLoadBalancer(**data.validated_data)
        )
        return Response(_record(view, request), status=status.HTTP_202_ACCEPTED)

    def destroy(self, request: Request, pk: str) -> Response:
        _without_plan(request, "a delete")
        view = _load_balancers().delete_one(bootstrap.actor(request), _lb_id(pk))
        return Response(_record(view, request), status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        _without_plan(request, "a retry")
        view = _load_balancers().retry(bootstrap.actor(request), _lb_id(pk))
        return Response(_record(view, request), status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def repair(self, request: Request, pk: str) -> Response:
        _without_plan(request, "a repair")
        view = _load_balancers().repair(bootstrap.actor(request), _lb_id(pk))
        return Response(_record(view, request), status=status.HTTP_202_ACCEPTED)

    @action(detail=False, methods=["post"])
    def batch(self, request: Request) -> Response:
        _without_plan(request, "a batch")
        views = _load_balancers().create_batch(bootstrap.actor(request), _batch(request.data))
        return Response({"items": _records(views, request)}, status=status.HTTP_202_ACCEPTED)

    @action(detail=False, methods=["post"], url_path="batch-delete")
    def batch_delete(self, request: Request) -> Response:
        _without_plan(request, "a batch delete")
        data = BatchDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        views = _load_balancers().delete_batch(
            bootstrap.actor(request), DeleteBatch(ids=tuple(data.validated_data["ids"]))
        )
        return Response({"items": _records(views, request)}, status=status.HTTP_202_ACCEPTED)

    @action(detail=False, methods=["post"], url_path="plan")
    def plan_create(self, request: Request) -> Response:
        fields, refused = _read(LoadBalancerCreateInput, request.data)
        if refused is not None:
            plan = Plan(action="create", name=None, lb_id=None, error=refused)
        else:
            plan = _load_balancers().plan_create(bootstrap.actor(request), CreateLoadBalancer(**fields))  # type: ignore[arg-type]
        return Response(PlanOutput(plan).data)

    @action(detail=True, methods=["post"], url_path="plan")
    def plan_update(self, request: Request, pk: str) -> Response:
        lb_id = _lb_id(pk)
        fields, refused = _read(LoadBalancerUpdateInput, request.data)
        actor = bootstrap.actor(request)
        if refused is not None:
            _load_balancers().get_one(actor, lb_id)  # someone else's stays a 404
            plan = Plan(action="update", name=None, lb_id=lb_id, error=refused)
        else:
            plan = _load_balancers().plan_update(actor, lb_id, UpdateLoadBalancer(**fields))  # type: ignore[arg-type]
        return Response(PlanOutput(plan).data)


class ProviderListView(APIView):
    """The LBaaS providers enabled in this portal; the default one is used when a
    create request names none."""

    @extend_schema(
        responses={200: page_serializer(ProviderOutput), 401: ErrorSerializer}, summary="List LBaaS providers"
    )
    def get(self, request: Request) -> Response:
        items = list(bootstrap.providers())
        return page_response(Page(items=items, total=len(items), limit=len(items), offset=0), ProviderOutput)
