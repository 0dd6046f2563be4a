"""Each existing load balancer moves into the personal team of the one who created it
(accounts 0002 made a personal team for every user, which they own)."""

from django.db import migrations


def into_personal_teams(apps, schema_editor):
    LoadBalancer = apps.get_model("loadbalancers", "LoadBalancer")
    Membership = apps.get_model("accounts", "Membership")
    personal = {}
    for user_id, team_id in Membership.objects.filter(role="owner").order_by("-team_id").values_list(
        "user_id", "team_id"
    ):
        personal[user_id] = team_id  # the oldest team each user owns: the personal one
    for user_id in LoadBalancer.objects.order_by().values_list("created_by_id", flat=True).distinct():
        LoadBalancer.objects.filter(created_by_id=user_id).update(team_id=personal[user_id])


class Migration(migrations.Migration):
    dependencies = [("loadbalancers", "0004_teams"), ("accounts", "0002_personal_teams")]

    operations = [migrations.RunPython(into_personal_teams, migrations.RunPython.noop)]
