"""DRF's plain tokens (rest_framework.authtoken, no longer installed) become hashed API
tokens: every client keeps working with the key it has, and the table that held the
keys as sent is dropped, so a database dump reveals no usable token."""

import datetime
import hashlib

from django.db import migrations

DRF_TOKENS = "authtoken_token"


def hash_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if DRF_TOKENS not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {DRF_TOKENS}")  # noqa: S608
        rows = cursor.fetchall()
    ApiToken.objects.bulk_create(
        ApiToken(
            user_id=user_id,
            digest=hashlib.sha256(key.encode()).hexdigest(),
            prefix=key[:12],
            description="migrated from the portal's earlier API token",
            write=True,
            # SQLite gives the stored UTC time without its offset.
            created_at=created.replace(tzinfo=datetime.UTC) if created.tzinfo is None else created,
        )
        for key, user_id, created in rows
    )
    schema_editor.execute(f"DROP TABLE {DRF_TOKENS}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_personal_teams")]

    operations = [migrations.RunPython(hash_drf_tokens, migrations.RunPython.noop)]
