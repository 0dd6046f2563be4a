"""Load balancers belong to a team (0005 moves each existing one into the personal team
of its owner); the owner is kept as the one who created it.  Schema and data changes are
separate migrations: PostgreSQL does not alter a table with updates pending in the
same transaction."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models



class Migration(migrations.Migration):
    dependencies = [
        ("loadbalancers", "0003_orphans"),
        ("accounts", "0002_personal_teams"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField("loadbalancer", "owner", "created_by"),
        migrations.AlterField(
            model_name="loadbalancer",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="load_balancers",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="loadbalancer",
            name="team",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="load_balancers",
                to="accounts.team",
            ),
        ),
    ]
