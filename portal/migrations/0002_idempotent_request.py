"""The answers kept for write requests sent with an Idempotency-Key header."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="IdempotentRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.CharField(max_length=255)),
                ("fingerprint", models.CharField(max_length=64)),
                ("method", models.CharField(max_length=16)),
                ("path", models.TextField()),
                ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("body", models.TextField(blank=True)),
                ("headers", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("expires_at", models.DateTimeField()),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["expires_at"], name="portal_idempotent_expires")],
                "constraints": [models.UniqueConstraint(fields=("user", "key"), name="portal_idempotent_user_key")],
            },
        ),
    ]
