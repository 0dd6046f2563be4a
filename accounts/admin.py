"""Operations manage teams, memberships, quotas and provider projects here, and oversee
every API token.
Every write goes through the same services as the pages and the API: the rules (a team
keeps an owner, quotas are whole numbers, ...) hold here too."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from accounts import bootstrap, models, selectors
from accounts.application.payloads import AddMember, CreateTeam, UpdateTeam
from accounts.domain.model import Membership, Role, Team
from portal.admin import PortalModelAdmin, ReadOnlyRecordsAdmin
from portal.kernel.errors import PortalError

QUOTAS = ("quota_load_balancers", "quota_members")


def _as_validation_error(error: PortalError) -> ValidationError:
    fields = {f: problems for f, problems in error.details.items() if isinstance(problems, list)}
    return ValidationError(fields or error.message)


class TeamAdminForm(forms.ModelForm):
    class Meta:
        model = models.Team
        fields = ("slug", "name", *QUOTAS, "project_id")
        labels = {"project_id": "Provider project"}
        help_texts = {
            "quota_load_balancers": "Live load balancers the team may have. Empty: the portal's default.",
            "quota_members": "Members (servers) one load balancer may have. Empty: the portal's default.",
            "project_id": "The team's project at providers that keep tenants apart (the OpenStack Octavia/Keystone"
            " project id): 1 to 64 letters, digits, - and _. Empty: the provider's default project. Applies to"
            " load balancers created afterwards; existing ones stay in the project they were created in.",
        }

    def clean(self) -> dict:
        """The domain's own rules, so that every problem shows next to its field."""
        data = super().clean()
        try:
            Team.new(
                slug=data.get("slug") or self.instance.slug,
                name=data.get("name", ""),
                quota_load_balancers=data.get("quota_load_balancers"),
                quota_members=data.get("quota_members"),
                project_id=data.get("project_id") or None,
            )
        except PortalError as error:
            raise _as_validation_error(error) from None
        return data


class MembershipFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        """Apply the changes to the team as the domain would (new owners first, then
        the other additions and new roles, then removals), so that a team left without
        an owner is refused here."""
        super().clean()
        if any(self.errors) or self.instance.pk is None:
            return
        team = Team(id=self.instance.pk, slug=self.instance.slug, name=self.instance.name)
        team.memberships = [
            Membership(m.user_id, m.user.get_username(), Role(m.role)) for m in self.instance.memberships.all()
        ]
        try:
            for form in self._changes():
                user, role = form.cleaned_data["user"], Role(form.cleaned_data["role"])
                if form.instance.pk is None:
                    team.add_member(user.pk, user.get_username(), role)
                else:
                    team.change_role(user.pk, user.get_username(), role)
            for form in self.deleted_forms:
                if form.instance.pk is not None:
                    team.remove_member(form.instance.user_id, form.instance.user.get_username())
        except PortalError as error:
            raise ValidationError(error.message) from None

    def _changes(self) -> list[forms.Form]:
        """The added and changed rows, new owners first (so that an owner can hand over
        to another in one save)."""
        changed = [
            form
            for form in self.forms
            if form not in self.deleted_forms and form.has_changed() and form.cleaned_data.get("user")
        ]
        return sorted(changed, key=lambda form: form.cleaned_data["role"] != Role.OWNER)


class MembershipInline(admin.TabularInline):
    model = models.Membership
    formset = MembershipFormSet
    fields = ("user", "role")
    autocomplete_fields = ("user",)
    extra = 1

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        return ()

    def get_queryset(self, request: HttpRequest) -> QuerySet[models.Membership]:
        return super().get_queryset(request).select_related("user")


@admin.register(models.Team)
class TeamAdmin(PortalModelAdmin):
    form = TeamAdminForm
    inlines = (MembershipInline,)
    list_display = ("slug", "name", "members", "load_balancer_quota", "member_quota", "project", "created_at")
    search_fields = ("slug", "name", "project_id", "memberships__user__username")
    readonly_fields = ("usage",)

    def get_readonly_fields(self, request: HttpRequest, obj: models.Team | None = None) -> tuple[str, ...]:
        return ("slug", "usage") if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: models.Team | None = None) -> list[str]:
        return ["slug", "name", *QUOTAS, "project_id", *(["usage"] if obj is not None else [])]

    def get_queryset(self, request: HttpRequest) -> QuerySet[models.Team]:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a team's load balancers (live and deleted) keep pointing at it

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="members", ordering="member_count")
    def members(self, team: models.Team) -> int:
        return team.member_count  # type: ignore[attr-defined]

    @admin.display(description="load balancer quota")
    def load_balancer_quota(self, team: models.Team) -> str:
        return _quota(team.quota_load_balancers, bootstrap.quota_defaults().load_balancers)

    @admin.display(description="members per load balancer")
    def member_quota(self, team: models.Team) -> str:
        return _quota(team.quota_members, bootstrap.quota_defaults().members)

    @admin.display(description="provider project", ordering="project_id")
    def project(self, team: models.Team) -> str:
        return team.project_id or "(provider default)"

    @admin.display(description="usage")
    def usage(self, team: models.Team) -> str:
        view = selectors.DjangoTeamReadModel(bootstrap.quota_defaults(), bootstrap.usage_of).get_one(team.slug)
        assert view is not None
        url = reverse("admin:loadbalancers_loadbalancer_changelist") + f"?team={team.slug}"
        return format_html(
            '{} of {} live load balancers (<a href="{}">see them</a>); the largest has {} of {} members',
            view.usage.load_balancers,
            view.quotas.load_balancers,
            url,
            view.usage.members,
            view.quotas.members,
        )

    def save_model(self, request: HttpRequest, obj: models.Team, form: forms.ModelForm, change: bool) -> None:
        actor, teams = bootstrap.actor(request, "accounts.team"), bootstrap.build().teams
        data = form.cleaned_data
        if change:
            teams.update_one(
                actor,
                obj.slug,
                UpdateTeam(
                    name=data["name"],
                    quota_load_balancers=data["quota_load_balancers"],
                    quota_members=data["quota_members"],
                    clear_quotas=tuple(name for name in QUOTAS if data[name] is None),
                    project_id=data["project_id"] or None,
                    clear_project=not data["project_id"],
                ),
            )
        else:
            view = teams.create_one(
                actor,
                CreateTeam(
                    **{name: data[name] for name in ("slug", "name", *QUOTAS)}, project_id=data["project_id"] or None
                ),
            )
            obj.pk = view.id
        obj.refresh_from_db()

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: forms.BaseFormSet, change: bool
    ) -> None:
        """Memberships change through the team service, in the order its rules need."""
        actor, teams, slug = bootstrap.actor(request, "accounts.team"), bootstrap.build().teams, form.instance.slug
        steps: list[Callable[[], object]] = []
        for member_form in formset._changes():  # type: ignore[attr-defined]
            username, role = member_form.cleaned_data["user"].get_username(), member_form.cleaned_data["role"]
            if member_form.instance.pk is None:
                steps.append(lambda u=username, r=role: teams.add_member(actor, slug, AddMember(u, r)))
            else:
                steps.append(lambda u=username, r=role: teams.change_role(actor, slug, u, r))
        for member_form in formset.deleted_forms:
            if member_form.instance.pk is not None:
                username = member_form.instance.user.get_username()
                steps.append(lambda u=username: teams.remove_member(actor, slug, u))
        for step in steps:
            try:
                step()
            except PortalError as error:
                self.message_user(request, f"Team {slug}: {error.message}", messages.ERROR)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


def _quota(own: int | None, default: int) -> str:
    return f"{default} (default)" if own is None else str(own)


@admin.register(models.ApiToken)
class ApiTokenAdmin(ReadOnlyRecordsAdmin):
    """Every API token, by its prefix (the key itself is not stored). Revoking one here
    stops it at once."""

    audit_target_type = "api_token"

    list_display = ("prefix", "user", "description", "write", "expires_at", "last_used_at", "created_at")
    list_filter = ("write",)
    search_fields = ("prefix", "description", "user__username")
    list_select_related = ("user",)
    fields = list_display
    readonly_fields = fields
    actions = ("revoke",)

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor, tokens = bootstrap.actor(request, "accounts.apitoken"), bootstrap.build().tokens
        for token_id, prefix in queryset.values_list("pk", "prefix"):
            try:
                tokens.delete_one(actor, token_id)
            except PortalError as error:
                self.message_user(request, f"Token {prefix}…: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Token {prefix}… revoked.", messages.SUCCESS)
