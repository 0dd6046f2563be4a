"""Persistence only: the rules live in accounts.domain."""

from django.conf import settings
from django.db import models

from accounts.domain.model import PROJECT_ID_MAX_LENGTH, TEAM_NAME_MAX_LENGTH, Role
from accounts.domain.tokens import DESCRIPTION_MAX_LENGTH
from portal.kernel.validators import NAME_MAX_LENGTH


class Team(models.Model):
    slug = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=TEAM_NAME_MAX_LENGTH)
    # NULL: the portal's default (TEAM_QUOTA_LOAD_BALANCERS / TEAM_QUOTA_MEMBERS).
    quota_load_balancers = models.PositiveIntegerField(null=True, blank=True)
    quota_members = models.PositiveIntegerField(null=True, blank=True)
    # The team's project at providers that keep tenants apart (OpenStack Octavia);
    # empty: the provider's default project (None in the domain).
    # db_default: rows written by code that predates the column (a rolling upgrade) get "" too.
    project_id = models.CharField(max_length=PROJECT_ID_MAX_LENGTH, blank=True, default="", db_default="")
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="teams")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=[(role.value, role.value) for role in Role])

    class Meta:
        ordering = ["team", "user"]
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="membership_unique_user_per_team")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class ApiToken(models.Model):
    """Only the SHA-256 digest of a key is stored: a dump of this table gives no token."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    description = models.CharField(max_length=DESCRIPTION_MAX_LENGTH, blank=True, default="")
    write = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
