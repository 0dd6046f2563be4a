"""The team and API token pages.  Each view parses its input, calls one service and
renders the result or the error; the rules live in the services, as for the API."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import bootstrap
from accounts.application.payloads import AddMember, CreateToken
from accounts.application.read_model import TeamView
from accounts.domain.errors import TeamNotFound, TokenNotFound
from accounts.domain.model import Role
from accounts.filters import TeamFilters
from accounts.forms import ROLE_CHOICES, AddMemberForm, ChangeRoleForm, RemoveMemberForm, TokenForm
from portal.kernel.actors import Actor
from portal.kernel.errors import PortalError
from portal.web import list_page, show_errors

PAGE_SIZE = 50


def _actor(request: HttpRequest) -> Actor:
    return bootstrap.actor(request, "accounts.team")


def _team(request: HttpRequest, slug: str) -> TeamView:
    try:
        return bootstrap.build().teams.get_one(_actor(request), slug)
    except TeamNotFound:
        raise Http404("no such team") from None


@login_required
@require_safe
def team_list(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    page, params = list_page(
        request, TeamFilters, PAGE_SIZE, lambda query: bootstrap.build().teams.get_plist(actor, query)
    )
    return render(request, "accounts/teams.html", {"page": page, "params": params, "sees_all": actor.sees_all})


def _team_page(request: HttpRequest, team: TeamView, add: forms.Form | None = None, status: int = 200) -> HttpResponse:
    actor = _actor(request)
    role = team.role_of(actor.username)
    manages = actor.changes_all or role == Role.OWNER
    return render(
        request,
        "accounts/team.html",
        {
            "team": team,
            "role": role,
            "manages": manages,
            "add_form": add or AddMemberForm(),
            "roles": ROLE_CHOICES,
        },
        status=status,
    )


@login_required
@require_safe
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _team_page(request, _team(request, slug))


@login_required
@require_POST
def team_add_member(request: HttpRequest, slug: str) -> HttpResponse:
    team = _team(request, slug)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            bootstrap.build().teams.add_member(_actor(request), slug, AddMember(data["username"], data["role"]))
        except PortalError as error:
            show_errors(form, error)
            if form.non_field_errors():  # not about a field: say it where the team page shows it
                messages.error(request, f"Nothing was changed: {error.message}")
        else:
            messages.success(request, f"{data['username']} is now {_as_role(data['role'])} of {team.name}.")
            return redirect("team-page", slug=slug)
    return _team_page(request, team, add=form, status=400)


@login_required
@require_POST
def team_change_role(request: HttpRequest, slug: str) -> HttpResponse:
    return _member_change(
        request,
        slug,
        ChangeRoleForm(request.POST),
        lambda actor, data: bootstrap.build().teams.change_role(actor, slug, data["username"], data["role"]),
        lambda data: f"{data['username']} is now {_as_role(data['role'])}.",
    )


@login_required
@require_POST
def team_remove_member(request: HttpRequest, slug: str) -> HttpResponse:
    leaving = request.POST.get("username") == request.user.get_username()
    response = _member_change(
        request,
        slug,
        RemoveMemberForm(request.POST),
        lambda actor, data: bootstrap.build().teams.remove_member(actor, slug, data["username"]),
        lambda data: "You left the team." if leaving else f"{data['username']} is no longer in the team.",
    )
    if leaving:
        try:
            _team(request, slug)
        except Http404:  # gone from the team, and so from its page
            return redirect("team-list-page")
    return response


def _member_change(request, slug, form, change, said) -> HttpResponse:  # type: ignore[no-untyped-def]
    """Apply one membership change and go back to the team page, saying what happened."""
    team = _team(request, slug)
    if not form.is_valid():
        messages.error(
            request, "Nothing was changed: " + "; ".join(e for errors in form.errors.values() for e in errors)
        )
        return redirect("team-page", slug=team.slug)
    try:
        change(_actor(request), form.cleaned_data)
    except PortalError as error:
        messages.error(request, f"Nothing was changed: {error.message}")
    else:
        messages.success(request, said(form.cleaned_data))
    return redirect("team-page", slug=team.slug)


def _as_role(role: str) -> str:
    return f"an {role}" if role == Role.OWNER else f"a {role}"


def _token_actor(request: HttpRequest) -> Actor:
    return bootstrap.actor(request, "accounts.apitoken")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """The user's API tokens, and a form to make one: its key is shown once, on the page
    that answers the form, and never again."""
    actor, tokens = _token_actor(request), bootstrap.build().tokens
    form = TokenForm(request.POST or None)
    new_key = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                _, new_key = tokens.create_one(
                    actor,
                    CreateToken(description=data["description"], expires_at=data["expires_at"], write=data["write"]),
                )
            except PortalError as error:
                show_errors(form, error)
                status = 400
            else:
                form = TokenForm()
        else:
            status = 400
    now = timezone.now()
    rows = [{"token": token, "expired": token.is_expired(now)} for token in tokens.get_list(actor)]
    response = render(request, "accounts/tokens.html", {"rows": rows, "form": form, "new_key": new_key}, status=status)
    response["Cache-Control"] = "no-store"  # the page with a new key is never kept by a cache
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        bootstrap.build().tokens.delete_one(_token_actor(request), token_id)
    except TokenNotFound:
        raise Http404("no such token") from None
    messages.success(request, "The token is revoked: it no longer works.")
    return redirect("token-list-page")
