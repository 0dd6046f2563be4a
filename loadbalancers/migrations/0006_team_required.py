"""Every load balancer has its team now (0005): the column is required from here on.
(A migration of its own: PostgreSQL does not alter a table with updates pending in
the same transaction.)"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("loadbalancers", "0005_into_personal_teams")]

    operations = [
        migrations.AlterField(
            model_name="loadbalancer",
            name="team",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="load_balancers", to="accounts.team"
            ),
        ),
    ]
