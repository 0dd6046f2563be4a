"""Self-service pages.  Each view parses its input, calls one service and renders the
result or the error; the rules live in the services, as for the API."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from loadbalancers.actors import actor_of
from loadbalancers.api.serializers import LoadBalancerListQuery
from loadbalancers.application.payloads import CreateLoadBalancer, UpdateLoadBalancer
from loadbalancers.application.ports import LoadBalancerView
from loadbalancers.bootstrap import load_balancer_service, providers
from loadbalancers.domain.errors import LoadBalancerNotFound
from loadbalancers.domain.model import ListenerProtocol, OperatingStatus, ProvisioningStatus
from loadbalancers.forms import ALGORITHM_LABELS, LoadBalancerEditForm, LoadBalancerForm, as_number, show_errors
from servers.application.pagination import MAX_LIMIT, PageRequest
from servers.application.payloads import ServerQuery
from servers.bootstrap import server_service
from servers.domain.errors import Conflict, PortalError, StaleVersion, ValidationFailed
from servers.domain.model import Server
from servers.pages import list_page

PAGE_SIZE = 25


def _load_balancer(request: HttpRequest, lb_id: UUID) -> LoadBalancerView:
    try:
        return load_balancer_service().get_one(actor_of(request.user), lb_id)
    except LoadBalancerNotFound:
        raise Http404("no such load balancer") from None


def _inventory(*also: int) -> list[Server]:
    """The servers the picker shows: the inventory (the first MAX_LIMIT by name) and,
    wherever they sort, the ones given (current members, what the user ticked)."""
    shown = server_service().get_plist(ServerQuery(page=PageRequest(limit=MAX_LIMIT, sort_by="name"))).items
    missing = set(also) - {s.id for s in shown}
    if missing:
        shown = sorted([*shown, *server_service().get_list(sorted(missing))], key=lambda s: s.name)
    return shown


def _ticked(form: forms.Form) -> set[int]:
    """The servers the form shows as picked: what the user sent, or the initial ones."""
    if form.is_bound:
        return {n for n in (as_number(v) for v in form.data.getlist("servers")) if isinstance(n, int)}
    return set(form.initial.get("servers", []))


@login_required
@require_safe
def load_balancer_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request.user)
    page, params = list_page(
        request, LoadBalancerListQuery, PAGE_SIZE, lambda query: load_balancer_service().get_plist(actor, query)
    )
    return render(
        request,
        "loadbalancers/list.html",
        {
            "page": page,
            "params": params,
            "provisioning_statuses": list(ProvisioningStatus),
            "operating_statuses": list(OperatingStatus),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def load_balancer_create(request: HttpRequest) -> HttpResponse:
    enabled = providers()
    form = LoadBalancerForm(request.POST or None, initial={"provider": enabled.default})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            view = load_balancer_service().create_one(
                actor_of(request.user),
                CreateLoadBalancer(
                    name=data["name"],
                    servers=data["servers"],
                    listener_protocol=data["listener_protocol"],
                    listener_port=as_number(data["listener_port"]),
                    algorithm=data["algorithm"],
                    description=data["description"],
                    provider=data["provider"] or None,
                ),
            )
        except PortalError as error:
            show_errors(form, error)
        else:
            messages.success(request, f"Load balancer {view.name} is being created.")
            return redirect("load-balancer-page", lb_id=view.id)
    selected = _ticked(form)
    return render(
        request,
        "loadbalancers/form.html",
        {
            "form": form,
            "inventory": _inventory(*selected),
            "selected": selected,
            "keep": (),
            "providers": enabled,
            "protocols": list(ListenerProtocol),
            "algorithms": ALGORITHM_LABELS,
        },
    )


def _provider_enabled(lb: LoadBalancerView) -> bool:
    """Whether the provider that holds it is still enabled: nothing can be asked of one
    that is not, so the pages do not offer to."""
    return lb.provider in providers().names


def _cannot_change(request: HttpRequest, lb: LoadBalancerView) -> HttpResponse:
    # Frozen: still live, but held by a provider the portal can no longer ask for anything.
    frozen = not _provider_enabled(lb) and lb.provisioning_status != ProvisioningStatus.DELETED
    return render(request, "loadbalancers/not_editable.html", {"lb": lb, "frozen": frozen}, status=409)


@login_required
@require_safe
def load_balancer_detail(request: HttpRequest, lb_id: UUID) -> HttpResponse:
    lb = _load_balancer(request, lb_id)
    return render(request, "loadbalancers/detail.html", {"lb": lb, "provider_enabled": _provider_enabled(lb)})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def load_balancer_edit(request: HttpRequest, lb_id: UUID) -> HttpResponse:
    lb = _load_balancer(request, lb_id)
    if lb.provisioning_status != ProvisioningStatus.ACTIVE or not _provider_enabled(lb):
        return _cannot_change(request, lb)
    form = LoadBalancerEditForm(
        request.POST or None,
        initial={
            "servers": [s.id for s in lb.servers],
            "algorithm": lb.algorithm,
            "description": lb.description,
            "version": lb.version,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            load_balancer_service().update_one(
                actor_of(request.user),
                lb.id,
                UpdateLoadBalancer(
                    servers=data["servers"],
                    algorithm=data["algorithm"],
                    description=data["description"],
                    version=as_number(data["version"]) if data["version"] else None,
                ),
            )
        except ValidationFailed as invalid:
            show_errors(form, invalid)
        except StaleVersion:
            # Someone changed it meanwhile: keep what this user typed, on top of the new version.
            lb = _load_balancer(request, lb_id)
            if lb.provisioning_status != ProvisioningStatus.ACTIVE:
                messages.error(request, f"{lb.name} was changed meanwhile and is {lb.provisioning_status} now.")
                return redirect("load-balancer-page", lb_id=lb.id)
            resubmit = request.POST.copy()
            resubmit["version"] = str(lb.version)
            form = LoadBalancerEditForm(resubmit)
            form.is_valid()
            messages.error(
                request,
                f"{lb.name} was changed by someone else meanwhile. Your changes are below: check them against "
                "its current state and save again to apply them.",
            )
        except Conflict as conflict:
            messages.error(request, conflict.message)
            return redirect("load-balancer-page", lb_id=lb.id)
        else:
            messages.success(request, f"Load balancer {lb.name} is being updated.")
            return redirect("load-balancer-page", lb_id=lb.id)
    keep = [s.id for s in lb.servers]
    selected = _ticked(form)
    return render(
        request,
        "loadbalancers/form.html",
        {
            "form": form,
            "lb": lb,
            "inventory": _inventory(*keep, *selected),
            "selected": selected,
            "keep": keep,
            "algorithms": ALGORITHM_LABELS,
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def load_balancer_delete(request: HttpRequest, lb_id: UUID) -> HttpResponse:
    lb = _load_balancer(request, lb_id)
    if not _provider_enabled(lb):
        return _cannot_change(request, lb)
    if request.method == "POST":
        try:
            load_balancer_service().delete_one(actor_of(request.user), lb.id)
        except Conflict as conflict:
            messages.error(request, conflict.message)
        else:
            messages.success(request, f"Load balancer {lb.name} is being deleted.")
        return redirect("load-balancer-page", lb_id=lb.id)
    return render(request, "loadbalancers/delete.html", {"lb": lb})
