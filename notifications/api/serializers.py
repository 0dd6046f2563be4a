from rest_framework import serializers

from portal.api.inputs import InputSerializer, StrictBooleanField, StrictCharField

_READ_ONLY = ("id", "team", "failures", "disabled_reason", "created_at", "secret_set")


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    failures = serializers.IntegerField(help_text="Failed attempts in a row (reset by a success)")
    disabled_reason = serializers.CharField(help_text="Why the portal disabled it, if it did")
    created_at = serializers.DateTimeField()


class NewWebhookOutput(WebhookOutput):
    secret = serializers.CharField(help_text="Signs every delivery; shown here and on creation only.")


class WebhookCreateInput(InputSerializer):
    read_only_names = _READ_ONLY
    url = StrictCharField(trim_whitespace=False, allow_blank=True, help_text="http:// or https://")
    event_types = serializers.ListField(
        child=StrictCharField(), required=False, default=["*"], help_text='Event types, or ["*"] for all'
    )
    secret = StrictCharField(
        required=False, trim_whitespace=False, help_text="16-200 printable characters; generated when left out"
    )
    description = StrictCharField(required=False, default="", allow_blank=True, trim_whitespace=False)
    enabled = StrictBooleanField(required=False, default=True)


class WebhookUpdateInput(InputSerializer):
    read_only_names = _READ_ONLY
    url = StrictCharField(required=False, trim_whitespace=False, allow_blank=True)
    event_types = serializers.ListField(child=StrictCharField(), required=False)
    secret = StrictCharField(required=False, trim_whitespace=False)
    description = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    enabled = StrictBooleanField(required=False)


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField()
    action = serializers.CharField()
    status = serializers.CharField(help_text="PENDING, SUCCEEDED, FAILED (given up) or SKIPPED")
    attempts = serializers.IntegerField()
    response_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)


class EmailPreferenceSerializer(InputSerializer):
    enabled = StrictBooleanField(help_text="Whether you get this team's e-mails")
