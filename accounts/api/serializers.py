from rest_framework import serializers

from accounts.application.read_model import TeamView
from accounts.domain.model import Role
from portal.api.inputs import InputSerializer, StrictBooleanField, StrictCharField, StrictIntegerField, enum_field


class MemberOutput(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()


class QuotasOutput(serializers.Serializer):
    load_balancers = serializers.IntegerField(help_text="Live load balancers the team may have.")
    members = serializers.IntegerField(help_text="Members (backend servers) one load balancer may have.")


class UsageOutput(serializers.Serializer):
    load_balancers = serializers.IntegerField(help_text="Live load balancers the team has.")
    members = serializers.IntegerField(help_text="The most members any one of them has.")


class TeamOutput(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    your_role = serializers.SerializerMethodField(help_text="Your role in the team (null: none; staff see all).")
    members = MemberOutput(many=True)
    quotas = QuotasOutput()
    default_quotas = serializers.ListField(
        child=serializers.CharField(), help_text="The quotas that are the portal's default, not the team's own."
    )
    usage = UsageOutput()
    created_at = serializers.DateTimeField()

    def get_your_role(self, team: TeamView) -> str | None:
        return team.role_of(self.context.get("username", ""))


class TeamCreateInput(InputSerializer):
    read_only_names = ("members", "usage", "your_role", "created_at", "default_quotas")
    slug = StrictCharField(trim_whitespace=False, allow_blank=True, help_text="1-63 of a-z, 0-9 and -")
    name = StrictCharField(trim_whitespace=False, allow_blank=True)
    quota_load_balancers = StrictIntegerField(required=False, allow_null=True, help_text="null: the default")
    quota_members = StrictIntegerField(required=False, allow_null=True, help_text="null: the default")


class TeamUpdateInput(InputSerializer):
    read_only_names = (*TeamCreateInput.read_only_names, "slug")
    name = StrictCharField(required=False, trim_whitespace=False, allow_blank=True)
    quota_load_balancers = StrictIntegerField(
        required=False, allow_null=True, help_text="Operations only; null: back to the default."
    )
    quota_members = StrictIntegerField(
        required=False, allow_null=True, help_text="Operations only; null: back to the default."
    )


class MemberCreateInput(InputSerializer):
    username = StrictCharField(allow_blank=True)
    role = enum_field(Role, required=False, default=Role.MEMBER)


class MemberUpdateInput(InputSerializer):
    read_only_names = ("username",)
    role = enum_field(Role)


class TokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    description = serializers.CharField()
    prefix = serializers.CharField(help_text="The first characters of the key, to tell tokens apart.")
    write = serializers.BooleanField(help_text="false: the token may only read.")
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True, help_text="Updated at most once a minute.")
    created_at = serializers.DateTimeField()


class NewTokenOutput(TokenOutput):
    token = serializers.CharField(help_text="The key: shown this once, never again. Send it as 'Token <key>'.")


class TokenCreateInput(InputSerializer):
    read_only_names = ("id", "prefix", "last_used_at", "created_at", "token")
    description = StrictCharField(required=False, default="", allow_blank=True, trim_whitespace=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    write = StrictBooleanField(required=False, default=True)


class SignInTokenInput(TokenCreateInput):
    """A username and password, and optionally the new token's description, expiry and write flag."""

    read_only_names = TokenCreateInput.read_only_names
    username = StrictCharField()
    password = StrictCharField(trim_whitespace=False, style={"input_type": "password"})
