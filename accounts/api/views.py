from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import bootstrap
from accounts.api.serializers import (
    MemberCreateInput,
    MemberOutput,
    MemberUpdateInput,
    NewTokenOutput,
    SignInTokenInput,
    TeamCreateInput,
    TeamOutput,
    TeamUpdateInput,
    TokenCreateInput,
    TokenOutput,
)
from accounts.application.payloads import AddMember, CreateTeam, CreateToken, UpdateTeam
from accounts.domain.errors import TokenNotFound
from accounts.domain.tokens import ApiToken
from accounts.filters import TeamFilters
from accounts.signin import authenticate_or_refuse
from portal.api.errors import ErrorSerializer
from portal.api.idempotency import Idempotent
from portal.api.inputs import BoundedJSONParser
from portal.api.lists import list_query, page_response, page_serializer, query_parameters
from portal.api.throttling import ScopedRateThrottle
from portal.kernel.actors import Actor
from portal.kernel.pagination import Page
from portal.requests import request_id_of, source_of

ERRORS = dict.fromkeys((400, 401, 403, 404, 409), ErrorSerializer)
QUOTAS = ("quota_load_balancers", "quota_members")


def _team_actor(request: Request) -> Actor:
    return bootstrap.actor(request, "accounts.team")


def _team_output(request: Request, team: object) -> dict:
    return TeamOutput(team, context={"username": request.user.get_username()}).data


@extend_schema_view(
    list=extend_schema(
        parameters=query_parameters(TeamFilters),
        responses={200: page_serializer(TeamOutput), **ERRORS},
        summary="List your teams (staff: all), with members, roles, quotas and usage",
    ),
    retrieve=extend_schema(responses={200: TeamOutput, **ERRORS}, summary="Get a team"),
    create=extend_schema(
        request=TeamCreateInput, responses={201: TeamOutput, **ERRORS}, summary="Create a team (operations)"
    ),
    partial_update=extend_schema(
        request=TeamUpdateInput,
        responses={200: TeamOutput, **ERRORS},
        summary="Rename a team (owners) or change its quotas (operations)",
    ),
)
class TeamViewSet(Idempotent, viewsets.GenericViewSet):
    """Teams: load balancers belong to one.  Viewers read, members also create, change
    and delete load balancers, owners also manage who is in the team."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_field = "slug"
    lookup_value_regex = "[^/]+"
    serializer_class = TeamOutput

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return {
            "create": TeamCreateInput,
            "partial_update": TeamUpdateInput,
            "members": MemberCreateInput,
            "member": MemberUpdateInput,
        }.get(self.action, TeamOutput)

    def list(self, request: Request) -> Response:
        page = bootstrap.build().teams.get_plist(_team_actor(request), list_query(TeamFilters, request))
        return page_response(page, TeamOutput, {"username": request.user.get_username()})

    def retrieve(self, request: Request, slug: str) -> Response:
        return Response(_team_output(request, bootstrap.build().teams.get_one(_team_actor(request), slug)))

    def create(self, request: Request) -> Response:
        data = TeamCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        team = bootstrap.build().teams.create_one(_team_actor(request), CreateTeam(**data.validated_data))
        return Response(_team_output(request, team), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, slug: str) -> Response:
        data = TeamUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        payload = UpdateTeam(
            name=given.get("name"),
            quota_load_balancers=given.get("quota_load_balancers"),
            quota_members=given.get("quota_members"),
            clear_quotas=tuple(name for name in QUOTAS if name in given and given[name] is None),
        )
        team = bootstrap.build().teams.update_one(_team_actor(request), slug, payload)
        return Response(_team_output(request, team))

    @extend_schema(
        methods=["GET"], request=None, responses={200: page_serializer(MemberOutput), **ERRORS}, summary="List members"
    )
    @extend_schema(
        methods=["POST"],
        request=MemberCreateInput,
        responses={201: MemberOutput, **ERRORS},
        summary="Add a member (owners)",
    )
    @action(detail=True, methods=["get", "post"])
    def members(self, request: Request, slug: str) -> Response:
        teams, actor = bootstrap.build().teams, _team_actor(request)
        if request.method == "GET":
            members = teams.get_one(actor, slug).members
            return page_response(Page(items=members, total=len(members), limit=len(members), offset=0), MemberOutput)
        data = MemberCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        team = teams.add_member(actor, slug, AddMember(**data.validated_data))
        member = next(m for m in team.members if m.username == data.validated_data["username"])
        return Response(MemberOutput(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"], request=MemberUpdateInput, responses={200: MemberOutput, **ERRORS}, summary="Change a role"
    )
    @extend_schema(
        methods=["DELETE"],
        request=None,
        responses={204: None, **ERRORS},
        summary="Remove a member (owners; anyone may leave)",
    )
    @action(detail=True, methods=["patch", "delete"], url_path="members/(?P<username>[^/]+)")
    def member(self, request: Request, slug: str, username: str) -> Response:
        teams, actor = bootstrap.build().teams, _team_actor(request)
        if request.method == "DELETE":
            teams.remove_member(actor, slug, username)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = MemberUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        team = teams.change_role(actor, slug, username, data.validated_data["role"])
        return Response(MemberOutput(next(m for m in team.members if m.username == username)).data)


def _token_actor(request: Request) -> Actor:
    return bootstrap.actor(request, "accounts.apitoken")


def _token_id(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise TokenNotFound(raw) from None


def _new_token_output(token: ApiToken, key: str) -> dict:
    return {**TokenOutput(token).data, "token": key}


@extend_schema_view(
    list=extend_schema(responses={200: page_serializer(TokenOutput), **ERRORS}, summary="List your API tokens"),
    retrieve=extend_schema(responses={200: TokenOutput, **ERRORS}, summary="Get one of your API tokens"),
    create=extend_schema(
        request=TokenCreateInput,
        responses={201: NewTokenOutput, **ERRORS},
        summary="Make an API token (its key is shown this once)",
    ),
    destroy=extend_schema(responses={204: None, **ERRORS}, summary="Revoke an API token"),
)
class TokenViewSet(Idempotent, viewsets.GenericViewSet):
    """Your API tokens.  A key is shown once, when it is made; the portal keeps only its
    hash.  A token may expire, and may be read-only (``write: false``)."""

    secret_once_handlers = ("create",)  # the new key: an Idempotency-Key is refused there

    http_method_names = ["get", "post", "delete", "head", "options"]
    lookup_value_regex = "[^/]+"
    serializer_class = TokenOutput

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        return TokenCreateInput if self.action == "create" else TokenOutput

    def list(self, request: Request) -> Response:
        tokens = bootstrap.build().tokens.get_list(_token_actor(request))
        return page_response(Page(items=tokens, total=len(tokens), limit=len(tokens), offset=0), TokenOutput)

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(TokenOutput(bootstrap.build().tokens.get_one(_token_actor(request), _token_id(pk))).data)

    def create(self, request: Request) -> Response:
        data = TokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, key = bootstrap.build().tokens.create_one(_token_actor(request), CreateToken(**data.validated_data))
        return Response(_new_token_output(token, key), status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        bootstrap.build().tokens.delete_one(_token_actor(request), _token_id(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignInThrottled(exceptions.Throttled):
    """Too many failed sign-ins for one username from one address: the right password
    is refused too, so the answer says so, and for how long, instead of blaming it."""

    def __init__(self, detail: str, wait: float) -> None:
        super().__init__(detail=detail)
        self.wait = wait  # sent as the Retry-After header


class TokenView(Idempotent):
    """A new API token for a username and password (JSON only, like the rest of the
    API, and throttled per client address so that passwords cannot be guessed at speed).
    Each call makes a new token; revoke the ones you no longer use (``/api/v1/tokens/``)."""

    parser_classes = [BoundedJSONParser]
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth-token"
    secret_once_handlers = ("post",)  # the new key: an Idempotency-Key is refused

    @extend_schema(
        summary="Get a new API token for a username and password",
        request=SignInTokenInput,
        responses={200: NewTokenOutput, 400: ErrorSerializer, 429: ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        data = SignInTokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        given = dict(data.validated_data)
        user = authenticate_or_refuse(request, given.pop("username"), given.pop("password"), SignInThrottled)
        token, key = bootstrap.build().tokens.create_one(
            bootstrap.actor_of(user, "accounts.apitoken", source=source_of(request), request_id=request_id_of(request)),
            CreateToken(**given),
        )
        return Response(_new_token_output(token, key))
