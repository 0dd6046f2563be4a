"""Every existing user gets a personal team, named after their username, in which they
are the owner: their load balancers move into it (loadbalancers 0004), so nothing is
lost and nothing changes for them."""

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import migrations

SLUG_MAX = 63
NAME_MAX = 100
PERSONAL = " (personal)"


def personal_slug(username: str, taken: set[str]) -> str:
    """The username as a team slug (lowercase letters, digits, hyphens), unique."""
    base = re.sub(r"[^a-z0-9]+", "-", username.lower()).strip("-")[: SLUG_MAX - 4].strip("-") or "user"
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug


def create_personal_teams(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Team = apps.get_model("accounts", "Team")
    Membership = apps.get_model("accounts", "Membership")
    username_field = get_user_model().USERNAME_FIELD  # historical models do not carry it
    taken = set(Team.objects.values_list("slug", flat=True))
    for user in User.objects.order_by("pk").iterator():
        username = getattr(user, username_field)
        name = username[: NAME_MAX - len(PERSONAL)] + PERSONAL  # usernames may be longer than names
        team = Team.objects.create(slug=personal_slug(username, taken), name=name)
        Membership.objects.create(team=team, user=user, role="owner")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create_personal_teams, migrations.RunPython.noop)]
