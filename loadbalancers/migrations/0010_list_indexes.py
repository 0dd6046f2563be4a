"""The lists' indexes (see LoadBalancer.Meta.indexes), and on PostgreSQL trigram indexes
for search: the list's search is a case-insensitive substring match (Django's icontains,
``UPPER(column::text) LIKE UPPER('%text%')``), which pg_trgm's GIN indexes on those same
expressions answer without reading every row.  SQLite has no such index; there the
search reads the rows, as before."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


SEARCHED = ("name", "description", "vip_address")


def add_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in SEARCHED:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "lb_search_{column}" ON "loadbalancers_loadbalancer" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in SEARCHED:
        schema_editor.execute(f'DROP INDEX IF EXISTS "lb_search_{column}"')


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_team_project_id'),
        ('loadbalancers', '0009_drift'),
        ('servers', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='loadbalancer',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True),
        ),
        migrations.AlterField(
            model_name='loadbalancer',
            name='team',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='load_balancers', to='accounts.team'),
        ),
        migrations.AddIndex(
            model_name='loadbalancer',
            index=models.Index(fields=['created_at', 'id'], name='lb_created'),
        ),
        migrations.AddIndex(
            model_name='loadbalancer',
            index=models.Index(fields=['team', 'created_at', 'id'], name='lb_team_created'),
        ),
        migrations.AddIndex(
            model_name='loadbalancer',
            index=models.Index(fields=['team', 'name', 'id'], name='lb_team_name'),
        ),
        migrations.AddIndex(
            model_name='loadbalancer',
            index=models.Index(fields=['team', 'provisioning_status', 'created_at', 'id'], name='lb_team_status_created'),
        ),
        migrations.RunPython(add_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
