from rest_framework import serializers


class ChangeOutput(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField()
    after = serializers.JSONField()


class TargetOutput(serializers.Serializer):
    type = serializers.CharField(source="target_type")
    id = serializers.CharField(source="target_id")
    name = serializers.CharField(source="target_name")


class AuditEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(help_text="The username, or system for the workers and the reconciler")
    actor_id = serializers.IntegerField(allow_null=True)
    source = serializers.CharField(help_text="api, page, admin, cli, worker or reconciler")
    request_id = serializers.CharField(allow_null=True)
    team = serializers.CharField(allow_null=True, help_text="The team's slug (null: no team, or a team deleted)")
    team_id = serializers.IntegerField(allow_null=True)
    action = serializers.CharField()
    target = TargetOutput(source="*")
    message = serializers.CharField()
    changes = ChangeOutput(many=True)
