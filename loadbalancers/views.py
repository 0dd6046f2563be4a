"""Self-service pages.  Each view parses its input, calls one service and renders the
result or the error; the rules live in the services, as for the API."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods, require_safe

from accounts.domain import access
from accounts.domain.model import Role
from loadbalancers import bootstrap
from loadbalancers.application.load_balancers import LoadBalancerService
from loadbalancers.application.payloads import BATCH_MAX, CreateLoadBalancer, DeleteBatch, UpdateLoadBalancer
from loadbalancers.application.plans import Plan
from loadbalancers.application.read_model import LoadBalancerView
from loadbalancers.domain.errors import LoadBalancerNotFound
from loadbalancers.domain.model import ListenerProtocol, OperatingStatus, ProvisioningStatus
from loadbalancers.domain.monitors import MonitorType
from loadbalancers.filters import LoadBalancerFilters
from loadbalancers.forms import (
    ALGORITHM_LABELS,
    LoadBalancerEditForm,
    LoadBalancerForm,
    ServerSearchForm,
    as_number,
    members_sent,
)
from portal.kernel.actors import Actor
from portal.kernel.errors import Conflict, DependencyUnavailable, PortalError, StaleVersion, ValidationFailed
from portal.kernel.pagination import Page
from portal.web import list_page, show_errors
from servers.domain.model import Server

PAGE_SIZE = 25
# The server picker shows this many matching servers at a time; typing narrows them.
PICKER_PAGE_SIZE = 50


def _actor(request: HttpRequest) -> Actor:
    """The signed-in user as the use cases know them, read once per request (these pages
    change load balancers, never who is in which team)."""
    if not hasattr(request, "portal_actor"):
        request.portal_actor = bootstrap.actor(request)  # type: ignore[attr-defined]
    return request.portal_actor  # type: ignore[attr-defined]


def _load_balancer(request: HttpRequest, lb_id: UUID) -> LoadBalancerView:
    try:
        return bootstrap.build().load_balancers.get_one(_actor(request), lb_id)
    except LoadBalancerNotFound:
        raise Http404("no such load balancer") from None


def _matching_servers(search: ServerSearchForm) -> Page[Server]:
    return bootstrap.build().servers.get_plist(search.query(PICKER_PAGE_SIZE))


def _count(page: Page[Server], search: ServerSearchForm) -> str:
    """What the picker shows of what matches, in so many words."""
    what = search.describe()
    if not page.total:
        return f"No servers{what}." if what else "The inventory has no servers yet; ask operations to add some."
    if len(page.items) < page.total:
        return f"Showing {len(page.items):,} of {page.total:,} servers{what}; search to narrow them down."
    return f"Showing the only server{what}." if page.total == 1 else f"Showing all {page.total:,} servers{what}."


def _summary(chosen: list[Server]) -> str:
    """What is picked, in a sentence (the picker's script words it the same way)."""
    return f"Selected ({len(chosen)}): {', '.join(s.name for s in chosen)}." if chosen else "None selected yet."


def _picker(request: HttpRequest, selected: set[int], keep: Collection[int]) -> dict[str, object]:
    """The server picker: the first matching servers (the search comes by GET), and
    above them every picked server and current member, wherever they sort and whatever
    the search, so that nothing picked is ever out of sight."""
    search = ServerSearchForm(request.GET)
    page = _matching_servers(search)
    picked = sorted(bootstrap.build().servers.get_list(sorted(selected | set(keep))), key=lambda s: s.name)
    listed = {s.id for s in picked}
    usable = [s for s in picked if s.id in selected and (s.is_eligible or s.id in keep)]
    return {
        "search": search,
        "picked": picked,
        "found": [s for s in page.items if s.id not in listed],
        "total": page.total,
        "count": _count(page, search),
        "summary": _summary(usable),
        "selected": selected,
        "keep": set(keep),
    }


def _ticked(form: forms.Form) -> set[int]:
    """The servers the form shows as picked: what the user sent, or the initial ones."""
    if form.is_bound:
        return {n for n in (as_number(v) for v in form.data.getlist("servers")) if isinstance(n, int)}
    return set(form.initial.get("servers", []))


@login_required
@require_safe
def load_balancer_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    page, params = list_page(
        request, LoadBalancerFilters, PAGE_SIZE, lambda query: bootstrap.build().load_balancers.get_plist(actor, query)
    )
    return render(
        request,
        "loadbalancers/list.html",
        {
            "page": page,
            "params": params,
            "deletable": {lb.id for lb in page.items if _may_delete(request, lb)} if page else set(),
            "sees_all": actor.sees_all,
            "teams": bootstrap.build().teams.get_slugs_mine(actor),
            "providers": list(bootstrap.providers().names),
            "tag_filter": " ".join(request.GET.getlist("tag")),
            "provisioning_statuses": list(ProvisioningStatus),
            "operating_statuses": [s for s in OperatingStatus if s is not OperatingStatus.DRAINING],
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def load_balancer_batch_delete(request: HttpRequest) -> HttpResponse:
    """Delete the load balancers ticked on the list, all of them or none: first a page
    that names them (their ids come by GET from the list, or by POST), then, confirmed,
    one call to ``delete_batch``.  A refusal shows the page again with each refused one's
    reason next to its name, and nothing deleted."""
    sent = request.POST if request.method == "POST" else request.GET
    ids = sent.getlist("ids")
    if not ids:
        messages.error(request, "Tick the load balancers to delete first.")
        return redirect("load-balancer-list-page")
    if len(ids) > BATCH_MAX:
        # Named one by one below: a request for more than a batch may hold is not looked up.
        messages.error(request, f"Delete at most {BATCH_MAX} load balancers at once ({len(ids)} were ticked).")
        return redirect("load-balancer-list-page")
    actor, service = _actor(request), bootstrap.build().load_balancers
    refusals: dict[str, object] = {}
    if request.method == "POST" and "confirm" in request.POST:
        try:
            deleting = service.delete_batch(actor, DeleteBatch(ids=tuple(ids)))
        except ValidationFailed as refused:
            by_index = refused.details.get("ids")
            if isinstance(by_index, dict):
                refusals = by_index
            messages.error(request, refused.message[:1].upper() + refused.message[1:] + ".")
        else:
            names = ", ".join(lb.name for lb in deleting)
            count = len(deleting)
            messages.success(
                request, f"{count} load balancer{'s are' if count != 1 else ' is'} being deleted: {names}."
            )
            return redirect("load-balancer-list-page")
    chosen = [
        {"id": raw, "lb": _visible(service, actor, raw), "refusals": refusals.get(str(index), [])}
        for index, raw in enumerate(ids)
    ]
    remaining = [item["id"] for item in chosen if not item["refusals"]] if refusals else []
    context = {"chosen": chosen, "count": len(ids), "remaining": remaining}
    return render(request, "loadbalancers/batch_delete.html", context)


def _visible(service: LoadBalancerService, actor: Actor, raw: str) -> LoadBalancerView | None:
    """The load balancer an id names, if this user may see it (None: no such id, or not
    theirs; the page then shows the id as sent, which names nothing)."""
    try:
        return service.get_one(actor, UUID(raw))
    except (ValueError, LoadBalancerNotFound):
        return None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def load_balancer_create(request: HttpRequest) -> HttpResponse:
    enabled = bootstrap.providers()
    actor = _actor(request)
    teams = bootstrap.build().teams.get_list_for(actor, Role.MEMBER)
    initial_team = teams[0].slug if len(teams) == 1 else ""
    form = LoadBalancerForm(request.POST or None, initial={"provider": enabled.default, "team": initial_team})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            view = bootstrap.build().load_balancers.create_one(
                actor,
                CreateLoadBalancer(
                    name=data["name"],
                    servers=data["servers"],
                    listener_protocol=data["listener_protocol"],
                    listener_port=as_number(data["listener_port"]),
                    algorithm=data["algorithm"],
                    description=data["description"],
                    provider=data["provider"] or None,
                    team=data["team"] or None,
                    health_monitor=form.monitor(),
                    tags=form.tag_list(),
                    deletion_protection=data["deletion_protection"],
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
            **_picker(request, selected, keep=()),
            "providers": enabled,
            "teams": teams,
            "protocols": list(ListenerProtocol),
            "algorithms": ALGORITHM_LABELS,
            "monitor_types": list(MonitorType),
        },
    )


@require_safe
def server_choices(request: HttpRequest) -> JsonResponse:
    """What the picker's script asks for as the user types: the count and the rows of
    the first matching servers, rendered by the same template as the page's."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "NotAuthenticated", "message": "sign in first", "details": {}}, status=401)
    search = ServerSearchForm(request.GET)
    if not search.is_valid():
        details = {field: list(errors) for field, errors in search.errors.items()}
        message = " ".join(error for errors in details.values() for error in errors)
        return JsonResponse({"error": "ValidationError", "message": message, "details": details}, status=400)
    page = _matching_servers(search)
    count = _count(page, search)
    rows = render_to_string(
        "loadbalancers/picker_rows.html",
        {"servers": page.items, "total": page.total, "count": count, "selected": (), "keep": ()},
        request=request,
    )
    return JsonResponse({"count": count, "total": page.total, "rows": rows})


def _provider_enabled(lb: LoadBalancerView) -> bool:
    """Whether the provider that holds it is still enabled: nothing can be asked of one
    that is not, so the pages do not offer to."""
    return lb.provider in bootstrap.providers().names


def _may_change(request: HttpRequest, lb: LoadBalancerView) -> bool:
    return access.may(_actor(request), lb.team_id, Role.MEMBER)


def _may_delete(request: HttpRequest, lb: LoadBalancerView) -> bool:
    """Whether the list offers to delete it: this user may change it, its provider is
    enabled, and it is in a state a delete starts from (its deletion protection, if on,
    is the service's to explain)."""
    deletable = lb.provisioning_status in (ProvisioningStatus.ACTIVE, ProvisioningStatus.ERROR)
    return deletable and _may_change(request, lb) and _provider_enabled(lb)


def _not_allowed(request: HttpRequest, lb: LoadBalancerView, action: str) -> HttpResponse:
    """Why this user may see the load balancer but not change it, and whom to ask."""
    actor = _actor(request)
    team = bootstrap.build().teams.get_one(actor, lb.team)
    context = {
        "lb": lb,
        "team": team,
        "action": action,
        "role": team.role_of(actor.username),
        "owners": [member.username for member in team.members if member.role == Role.OWNER],
    }
    return render(request, "loadbalancers/not_allowed.html", context, status=403)


def _refused(request: HttpRequest, lb: LoadBalancerView, action: str) -> HttpResponse | None:
    """The page saying why this user cannot ``action`` it (their role, or a provider no
    longer enabled); None when they can ask."""
    if not _may_change(request, lb):
        return _not_allowed(request, lb, action)
    if not _provider_enabled(lb):
        return _cannot_change(request, lb)
    return None


def _cannot_change(request: HttpRequest, lb: LoadBalancerView) -> HttpResponse:
    # Frozen: still live, but held by a provider the portal can no longer ask for anything.
    frozen = not _provider_enabled(lb) and lb.provisioning_status != ProvisioningStatus.DELETED
    return render(request, "loadbalancers/not_editable.html", {"lb": lb, "frozen": frozen}, status=409)


@login_required
@require_safe
def load_balancer_detail(request: HttpRequest, lb_id: UUID) -> HttpResponse:
    lb = _load_balancer(request, lb_id)
    context = {"lb": lb, "provider_enabled": _provider_enabled(lb), "may_change": _may_change(request, lb)}
    return render(request, "loadbalancers/detail.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def load_balancer_edit(request: HttpRequest, lb_id: UUID) -> HttpResponse:
    """The edit form, then a review of what the change would do (to the record and at
    the provider) before it is applied.  The form's button asks for the review
    (``step=review``); the review's buttons apply the change (``step=apply``) or bring
    the form back with what was typed (``step=edit``).  A POST without a step applies at
    once, as the API's PATCH does and as the page did before it had a review."""
    lb = _load_balancer(request, lb_id)
    if not _may_change(request, lb):
        return _not_allowed(request, lb, "change")
    if lb.provisioning_status != ProvisioningStatus.ACTIVE or not _provider_enabled(lb):
        return _cannot_change(request, lb)
    form = LoadBalancerEditForm(
        request.POST or None,
        initial={
            "servers": [s.id for s in lb.servers],
            "algorithm": lb.algorithm,
            "description": lb.description,
            "version": lb.version,
            **LoadBalancerEditForm.initial_settings(lb.health_monitor, lb.tags, lb.deletion_protection),
        },
    )
    step = request.POST.get("step", "apply")
    if request.method == "POST" and step != "edit" and form.is_valid():
        actor, service = _actor(request), bootstrap.build().load_balancers
        payload = _changes_asked(form)
        try:
            if step == "review":
                plan = service.plan_update(actor, lb.id, payload)
                if plan.error is not None:
                    raise plan.error
                return _review(request, lb, form, plan)
            service.update_one(actor, lb.id, payload)
        except ValidationFailed as invalid:
            show_errors(form, _named(invalid, lb))
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
                "its current state and review them again to apply them.",
            )
        except Conflict as conflict:
            messages.error(request, conflict.message)
            return redirect("load-balancer-page", lb_id=lb.id)
        except DependencyUnavailable as unavailable:
            form.add_error(None, f"The change cannot be checked now: {unavailable.message}. Try again in a moment.")
        except PortalError as refused:  # no longer allowed, or over a quota of its team
            show_errors(form, refused)
        else:
            messages.success(request, f"Load balancer {lb.name} is being updated.")
            return redirect("load-balancer-page", lb_id=lb.id)
    return render(
        request,
        "loadbalancers/form.html",
        {
            "form": form,
            "lb": lb,
            **_picker(request, _ticked(form), keep=[s.id for s in lb.servers]),
            "algorithms": ALGORITHM_LABELS,
            "monitor_types": list(MonitorType),
            "member_rows": _member_rows(form, lb),
        },
    )


def _changes_asked(form: LoadBalancerEditForm) -> UpdateLoadBalancer:
    data = form.cleaned_data
    return UpdateLoadBalancer(
        servers=members_sent(form, data["servers"]),
        algorithm=data["algorithm"],
        description=data["description"],
        health_monitor=form.monitor(),
        tags=form.tag_list(),
        deletion_protection=data["deletion_protection"],
        version=as_number(data["version"]) if data["version"] else None,
    )


def _review(request: HttpRequest, lb: LoadBalancerView, form: LoadBalancerEditForm, plan: Plan) -> HttpResponse:
    """What the change would do, with the form's values carried along unchanged: to
    apply them, or to edit them further."""
    member_fields = [name for name in form.data if name.startswith(("weight_", "drain_"))]
    carried = [(name, value) for name in [*form.fields, *member_fields] for value in form.data.getlist(name)]
    return render(request, "loadbalancers/review.html", {"lb": lb, "plan": plan, "carried": carried})


def _named(invalid: ValidationFailed, lb: LoadBalancerView) -> ValidationFailed:
    """The error with each current member named as the page shows it ("web-1 (server 3):"
    rather than "server 3:"), since the page's member table shows no ids."""
    names = {f"server {m.id}:": f"{m.name} (server {m.id}):" for m in lb.servers}
    problems = invalid.details.get("servers")
    if not isinstance(problems, list):
        return invalid
    named = []
    for problem in problems:
        prefix = str(problem).split(" ", 2)[:2]
        key = " ".join(prefix)
        named.append(names[key] + str(problem)[len(key) :] if key in names else problem)
    return ValidationFailed(invalid.message, details={**invalid.details, "servers": named})


def _member_rows(form: forms.Form, lb: LoadBalancerView) -> list[dict[str, object]]:
    """The current members with the weight and drain the form shows for each: what the
    user sent, or what is stored."""
    rows = []
    for member in lb.servers:
        if form.is_bound:
            weight = form.data.get(f"weight_{member.id}", str(member.weight))
            drain = bool(form.data.get(f"drain_{member.id}"))
        else:
            weight, drain = str(member.weight), member.admin_state == "drain"
        rows.append({"member": member, "weight": weight, "drain": drain})
    return rows


@login_required
@require_http_methods(["POST"])
def load_balancer_unprotect(request: HttpRequest, lb_id: UUID) -> HttpResponse:
    """Turn deletion protection off (from the delete page; also when in ERROR), then
    back to the delete page."""
    lb = _load_balancer(request, lb_id)
    if refused := _refused(request, lb, "change"):
        return refused
    try:
        bootstrap.build().load_balancers.update_one(
            _actor(request), lb.id, UpdateLoadBalancer(deletion_protection=False)
        )
    except Conflict as conflict:
        messages.error(request, conflict.message)
        return redirect("load-balancer-page", lb_id=lb.id)
    messages.success(request, f"Deletion protection of {lb.name} is off: it can be deleted now.")
    return redirect("load-balancer-delete-page", lb_id=lb.id)


@login_required
@require_http_methods(["POST"])
def load_balancer_retry(request: HttpRequest, lb_id: UUID) -> HttpResponse:
    """Provision an ERROR load balancer again, as the admin's action and the API do."""
    lb = _load_balancer(request, lb_id)
    if refused := _refused(request, lb, "retry"):
        return refused
    try:
        view = bootstrap.build().load_balancers.retry(_actor(request), lb.id)
    except Conflict as conflict:
        messages.error(request, conflict.message)
    else:
        messages.success(request, f"Load balancer {lb.name} is being provisioned again ({view.provisioning_status}).")
    return redirect("load-balancer-page", lb_id=lb.id)


@login_required
@require_http_methods(["POST"])
def load_balancer_repair(request: HttpRequest, lb_id: UUID) -> HttpResponse:
    """Apply the record again at the provider, which runs something else (drift), as the
    admin's action does."""
    lb = _load_balancer(request, lb_id)
    if refused := _refused(request, lb, "re-apply"):
        return refused
    try:
        view = bootstrap.build().load_balancers.repair(_actor(request), lb.id)
    except Conflict as conflict:
        messages.error(request, conflict.message)
    else:
        messages.success(
            request,
            f"Load balancer {lb.name} is being applied again at the provider ({view.provisioning_status}); its drift"
            " is marked resolved once the reconciler finds the provider running it as recorded.",
        )
    return redirect("load-balancer-page", lb_id=lb.id)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def load_balancer_delete(request: HttpRequest, lb_id: UUID) -> HttpResponse:
    lb = _load_balancer(request, lb_id)
    if refused := _refused(request, lb, "delete"):
        return refused
    if request.method == "POST":
        try:
            bootstrap.build().load_balancers.delete_one(_actor(request), lb.id)
        except Conflict as conflict:
            messages.error(request, conflict.message)
        else:
            messages.success(request, f"Load balancer {lb.name} is being deleted.")
        return redirect("load-balancer-page", lb_id=lb.id)
    return render(request, "loadbalancers/delete.html", {"lb": lb})
