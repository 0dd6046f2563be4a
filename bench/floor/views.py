"""The floor's views: what the portal's API answers for a list page, a detail and a create,
written the cheapest way plain Django allows.

* A token and its user, with the user's teams (slug and role), in one query (a LEFT JOIN
  on the memberships: one row per team).
* A list page: the rows with their team's slug and creator's name (``.values_list()``,
  one more row than the page to know whether another follows), then one query each for
  the page's members (with their servers), tags and open drift, and a count capped as the
  portal caps it (none on the last page).
* A detail: the row, its members, tags and open drift.
* A create: one SELECT of the servers, the row's INSERT and the members' bulk INSERT, in
  one transaction.  Nothing else: no lock, no quota, no audit trail, no hand-over to the
  broker (the portal does all of that, which is why its target is lower there).

The JSON bodies are the portal's, field for field (``tests/unit/test_bench_floor.py``
compares them)."""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import IntegrityError, connections, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts.domain.tokens import digest_of
from accounts.models import ApiToken
from loadbalancers.models import Drift, LoadBalancer, Member, Tag
from portal.kernel.pagination import DEFAULT_LIMIT, EXACT_TOTAL_UP_TO, MAX_LIMIT, MAX_OFFSET
from portal.kernel.validators import name_errors
from servers.models import Server

JSON_OPTIONS = {"separators": (",", ":"), "ensure_ascii": False}
MAX_KEY_LENGTH = 200
CREATING_ROLES = ("member", "owner")
CREATE_FIELDS = ("name", "servers", "team")

# A load balancer row, by position (``.values_list()``: no model instance, no dict).
ROW = (
    "id",
    "name",
    "description",
    "team__slug",
    f"created_by__{get_user_model().USERNAME_FIELD}",
    "listener_protocol",
    "listener_port",
    "algorithm",
    "health_monitor",
    "deletion_protection",
    "provisioning_status",
    "operating_status",
    "provider",
    "vip_address",
    "error_reason",
    "version",
    "created_at",
    "updated_at",
    "team_id",
)
ID, CREATED_AT, TEAM_ID = 0, 16, 18
RECORDS = "/api/v1/load-balancers/"
MEMBER_ROW = (
    "load_balancer_id",
    "server_id",
    "server__name",
    "server__address",
    "server__port",
    "server__status",
    "weight",
    "admin_state",
    "operating_status",
    "status_reason",
    "drained_by_inventory",
)
DRIFT_ROW = ("load_balancer_id", "field", "desired", "actual", "first_seen_at", "last_seen_at")


class Refused(Exception):
    """Stop here and answer this (an error)."""

    def __init__(self, response: JsonResponse):
        super().__init__(response.status_code)
        self.response = response


def _error(status: int, name: str, message: str, details: dict[str, Any] | None = None) -> Refused:
    response = JsonResponse(
        {"error": name, "message": message, "details": details or {}}, status=status, json_dumps_params=JSON_OPTIONS
    )
    if status == 401:
        response["WWW-Authenticate"] = "Token"
    return Refused(response)


def _answer(body: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(body, status=status, json_dumps_params=JSON_OPTIONS)


@dataclass(frozen=True)
class Caller:
    user_id: int
    username: str
    write: bool
    sees_all: bool
    teams: dict[int, tuple[str, str]] = field(default_factory=dict)
    """team id -> (slug, role)"""

    def sees(self, team_id: int) -> bool:
        return self.sees_all or team_id in self.teams


def _caller(request: HttpRequest) -> Caller:
    """The token's user and their teams, in one query."""
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if not parts or parts[0].lower() not in ("token", "bearer"):
        raise _error(401, "NotAuthenticated", "Authentication credentials were not provided.")
    if len(parts) != 2 or len(parts[1]) > MAX_KEY_LENGTH:
        raise _error(401, "AuthenticationFailed", "send the header as 'Authorization: Token <key>'")
    if not parts[1].isascii():
        raise _error(401, "AuthenticationFailed", "the token is not valid")
    rows = list(
        ApiToken.objects.filter(digest=digest_of(parts[1]))
        .order_by()
        .values_list(
            "write",
            "expires_at",
            "user_id",
            f"user__{get_user_model().USERNAME_FIELD}",
            "user__is_active",
            "user__is_staff",
            "user__is_superuser",
            "user__memberships__team_id",
            "user__memberships__team__slug",
            "user__memberships__role",
        )
    )
    if not rows:
        raise _error(401, "AuthenticationFailed", "the token is not valid: it was revoked, or never issued")
    write, expires_at, user_id, username, active, staff, superuser = rows[0][:7]
    if not active:
        raise _error(401, "AuthenticationFailed", "the token's user account is disabled")
    if expires_at is not None and expires_at <= timezone.now():
        raise _error(
            401, "AuthenticationFailed", f"the token expired at {expires_at:%Y-%m-%d %H:%M:%S %Z}; make a new one"
        )
    return Caller(
        user_id=user_id,
        username=username,
        write=write,
        sees_all=staff and (superuser or _may_see_all(user_id)),
        teams={row[7]: (row[8], row[9]) for row in rows if row[7] is not None},
    )


def _may_see_all(user_id: int) -> bool:
    """Whether a (non-superuser) staff account has the admin's permission to see every
    load balancer (one query, for staff only)."""
    return Permission.objects.filter(
        Q(user__pk=user_id) | Q(group__user__pk=user_id),
        content_type__app_label="loadbalancers",
        codename__in=("view_loadbalancer", "change_loadbalancer"),
    ).exists()


def _when(value: datetime) -> str:
    """A time as DRF's DateTimeField writes it (the database gives UTC)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _records_base(request: HttpRequest) -> str:
    """Where the records are, absolute (each at its id and a slash), as the portal writes ``url``."""
    return request.build_absolute_uri(RECORDS)


def _items(rows: list[tuple[Any, ...]], base: str) -> list[dict[str, Any]]:
    """The JSON of these rows, with their members, tags and open drift (three queries)."""
    if not rows:
        return []
    ids = [row[ID] for row in rows]
    servers: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    notices: dict[UUID, list[str]] = defaultdict(list)
    members = Member.objects.filter(load_balancer_id__in=ids).order_by("position").values_list(*MEMBER_ROW)
    for lb_id, server_id, name, address, port, status, weight, admin_state, operating, reason, drained in members:
        servers[lb_id].append(
            {
                "id": server_id,
                "name": name,
                "address": address,
                "port": port,
                "status": status,
                "weight": weight,
                "admin_state": admin_state,
                "operating_status": operating,
                "status_reason": reason or None,
                "drained_by_inventory": drained,
            }
        )
        if status != "OK":
            notices[lb_id].append(_notice(name, status, drained))
    tags: dict[UUID, list[str]] = defaultdict(list)
    for lb_id, value in (
        Tag.objects.filter(load_balancer_id__in=ids).order_by("value").values_list("load_balancer_id", "value")
    ):
        tags[lb_id].append(value)
    drift: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    open_drift = Drift.objects.filter(load_balancer_id__in=ids, resolved_at__isnull=True).order_by("field")
    for lb_id, name, desired, actual, first_seen_at, last_seen_at in open_drift.values_list(*DRIFT_ROW):
        drift[lb_id].append(
            {
                "field": name,
                "desired": desired,
                "actual": actual,
                "first_seen_at": _when(first_seen_at),
                "last_seen_at": _when(last_seen_at),
            }
        )
    return [_item(row, servers[row[ID]], tags[row[ID]], drift[row[ID]], notices[row[ID]], base) for row in rows]


def _notice(name: str, status: str, drained: bool) -> str:
    notice = f"member {name} is in {status} in the inventory"
    return notice + ": it is drained until operations set the server OK again" if drained else notice


def _item(
    row: tuple[Any, ...],
    servers: list[dict[str, Any]],
    tags: list[str],
    drift: list[dict[str, Any]],
    notices: list[str],
    base: str,
) -> dict[str, Any]:
    (
        lb_id,
        name,
        description,
        team,
        creator,
        listener_protocol,
        listener_port,
        algorithm,
        health_monitor,
        deletion_protection,
        provisioning_status,
        operating_status,
        provider,
        vip_address,
        error_reason,
        version,
        created_at,
        updated_at,
        _team_id,
    ) = row
    return {
        "id": str(lb_id),
        "url": f"{base}{lb_id}/",
        "name": name,
        "description": description,
        "team": team,
        "created_by": creator,
        "owner": creator,
        "servers": servers,
        "listener_protocol": listener_protocol,
        "listener_port": listener_port,
        "algorithm": algorithm,
        "health_monitor": health_monitor,
        "tags": tags,
        "deletion_protection": deletion_protection,
        "notices": notices,
        "drift": drift,
        "provisioning_status": provisioning_status,
        "operating_status": operating_status,
        "provider": provider,
        "vip_address": vip_address,
        "error_reason": error_reason,
        "version": version,
        "created_at": _when(created_at),
        "updated_at": _when(updated_at),
    }


def _whole(request: HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.GET.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        message = f"{name} must be a whole number from {low} to {high}"
        raise _error(400, "ValidationError", f"the list query is not valid: {message}", {name: [message]})
    return int(raw)


def _cursor(row: tuple[Any, ...]) -> str:
    """The page after this row, as the portal writes it (``portal.kernel.pagination.Cursor``)."""
    text = json.dumps(["created_at", "desc", row[CREATED_AT].isoformat(), str(row[ID])], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _total(rows: QuerySet[LoadBalancer], offset: int, shown: int, more: bool) -> tuple[int, bool]:
    """The list's length, counted up to EXACT_TOTAL_UP_TO rows, then PostgreSQL's estimate
    (SQLite counts all); and whether it is an estimate."""
    counted = rows.order_by()[: EXACT_TOTAL_UP_TO + 1].count()
    if counted <= EXACT_TOTAL_UP_TO:
        return counted, False
    connection = connections[rows.db]
    if connection.vendor != "postgresql":
        return rows.order_by().count(), False
    sql, params = rows.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    estimate = int((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]["Plan Rows"])
    return max(estimate, EXACT_TOTAL_UP_TO + 1, offset + shown + (1 if more else 0)), True


def _page(request: HttpRequest, caller: Caller) -> JsonResponse:
    limit = _whole(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _whole(request, "offset", 0, 0, MAX_OFFSET)
    rows = LoadBalancer.objects.exclude(provisioning_status="DELETED")
    if not caller.sees_all:
        rows = rows.filter(team_id__in=list(caller.teams))
    found = list(rows.order_by("-created_at", "-id").values_list(*ROW)[offset : offset + limit + 1])
    more = len(found) > limit
    shown = found[:limit]
    if not more and (offset == 0 or shown):
        total, estimated = offset + len(shown), False  # the last page: no count needed
    else:
        total, estimated = _total(rows, offset, len(shown), more)
    return _answer(
        {
            "items": _items(shown, _records_base(request)),
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_cursor": _cursor(shown[-1]) if more and shown else None,
            "total_is_estimate": estimated,
        }
    )


def _create(request: HttpRequest, caller: Caller) -> JsonResponse:
    if not caller.write:
        raise _error(
            403,
            "ReadOnlyToken",
            "this API token is read-only: it may read but not change anything; use a token made with write: true",
        )
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise _error(400, "ParseError", "the request body is not JSON") from None
    if not isinstance(data, dict):
        raise _error(400, "ValidationError", "the request is not valid: send a JSON object", {})
    errors: dict[str, list[str]] = {}
    if unknown := sorted(set(data) - set(CREATE_FIELDS)):
        errors["non_field_errors"] = [f"the floor takes only {', '.join(CREATE_FIELDS)} (got {', '.join(unknown)})"]
    name, server_ids = data.get("name"), data.get("servers")
    if problems := name_errors(name):
        errors["name"] = problems
    if (
        not isinstance(server_ids, list)
        or not server_ids
        or any(isinstance(s, bool) or not isinstance(s, int) for s in server_ids)
    ):
        errors["servers"] = ["servers must be a list of server ids"]
    elif len(set(server_ids)) != len(server_ids):
        errors["servers"] = ["each server may be listed once"]
    team = _team_for_create(caller, data.get("team"), errors)
    if errors:
        raise _error(400, "ValidationError", f"the request is not valid: check {', '.join(errors)}", errors)
    now = timezone.now()
    lb = LoadBalancer(
        id=uuid4(),
        name=name,
        description="",
        team_id=team[0],
        created_by_id=caller.user_id,
        listener_protocol="HTTP",
        listener_port=80,
        algorithm="ROUND_ROBIN",
        health_monitor=None,
        deletion_protection=False,
        provisioning_status="PENDING_CREATE",
        operating_status="OFFLINE",
        provider=settings.LBAAS_PROVIDER,
        pending_since=now,
        version=1,
    )
    try:
        with transaction.atomic():
            found = {
                row[0]: row
                for row in Server.objects.filter(pk__in=server_ids).values_list(
                    "id", "name", "address", "port", "status"
                )
            }
            if bad := [s for s in server_ids if s not in found or found[s][4] != "OK"]:
                message = f"servers {', '.join(map(str, bad))} do not exist or are not OK"
                raise _error(400, "ServerNotEligible", message, {"servers": [message]})
            lb.save(force_insert=True)
            Member.objects.bulk_create(
                [Member(load_balancer_id=lb.id, server_id=s, position=n) for n, s in enumerate(server_ids)]
            )
    except IntegrityError:
        raise _error(
            409,
            "NameTaken",
            f"a load balancer named {name!r} already exists",
            {"name": [f"{name!r} is taken by a live load balancer"]},
        ) from None
    servers = [
        {
            "id": s,
            "name": found[s][1],
            "address": found[s][2],
            "port": found[s][3],
            "status": found[s][4],
            "weight": 1,
            "admin_state": "enabled",
            "operating_status": "NO_MONITOR",
            "status_reason": None,
            "drained_by_inventory": False,
        }
        for s in server_ids
    ]
    row = (lb.id, lb.name, lb.description, team[1], caller.username, *(getattr(lb, column) for column in ROW[5:]))
    response = _answer(_item(row, servers, [], [], [], _records_base(request)), status=202)
    response["Location"] = request.build_absolute_uri(f"{RECORDS}{lb.id}/")
    return response


def _team_for_create(caller: Caller, slug: object, errors: dict[str, list[str]]) -> tuple[int, str]:
    """(id, slug) of the team named, or else of the caller's only team where they may create."""
    creating = {team_id: team for team_id, team in caller.teams.items() if team[1] in CREATING_ROLES}
    if slug is not None:
        chosen = [(team_id, team[0]) for team_id, team in creating.items() if team[0] == slug]
        if not chosen:
            errors["team"] = [f"you may create in no team named {slug!r}"]
    else:
        chosen = [(team_id, team[0]) for team_id, team in creating.items()]
        if len(chosen) != 1:
            errors["team"] = ["choose the team it belongs to (send team: a slug)"]
    return chosen[0] if len(chosen) == 1 else (0, "")


@csrf_exempt
def load_balancers(request: HttpRequest) -> JsonResponse:
    """GET: a page of the caller's teams' load balancers (staff: all), newest first;
    POST: create one (``{"name", "servers": [ids], "team"?}``)."""
    try:
        caller = _caller(request)
        if request.method in ("GET", "HEAD"):
            return _page(request, caller)
        if request.method == "POST":
            return _create(request, caller)
        raise _error(405, "MethodNotAllowed", f'Method "{request.method}" not allowed.')
    except Refused as refused:
        return refused.response


@csrf_exempt
def load_balancer(request: HttpRequest, lb_id: str) -> JsonResponse:
    """GET: one load balancer of the caller's teams (staff: any)."""
    try:
        caller = _caller(request)
        if request.method not in ("GET", "HEAD"):
            raise _error(405, "MethodNotAllowed", f'Method "{request.method}" not allowed.')
        try:
            pk = UUID(lb_id)
        except ValueError:
            raise _not_found(lb_id) from None
        rows = list(LoadBalancer.objects.filter(pk=pk).values_list(*ROW))
        if not rows or not caller.sees(rows[0][TEAM_ID]):
            raise _not_found(str(pk))
        return _answer(_items(rows, _records_base(request))[0])
    except Refused as refused:
        return refused.response


def _not_found(lb_id: str) -> Refused:
    return _error(404, "LoadBalancerNotFound", f"load balancer {lb_id} does not exist", {"id": lb_id})
