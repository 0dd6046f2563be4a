"""Demo accounts for the embedded default: an admin (operations) with an API token, and
a team "demo" in which the admin is owner, "dev" a member and "viewer" a viewer.
Idempotent: a second run changes nothing (and cannot show the token again: only its
hash is kept)."""

import contextlib

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import bootstrap
from accounts.application.payloads import AddMember, CreateTeam, CreateToken
from accounts.domain.errors import AlreadyMember, TeamSlugTaken
from config import env

DEMO_TEAM = "demo"
DEMO_TOKEN = "demo token (make run)"


class Command(BaseCommand):
    help = "Create the demo admin (with an API token), two demo users and their team, once."

    def handle(self, *args: object, **options: object) -> None:
        username = env.text("DEMO_ADMIN_USERNAME", "admin")
        password = env.text("DEMO_ADMIN_PASSWORD", "admin")
        if not username or not password:
            raise CommandError("DEMO_ADMIN_USERNAME and DEMO_ADMIN_PASSWORD must not be empty")
        users = get_user_model()
        admin = users.objects.filter(username=username).first()
        if admin is None:
            admin = users.objects.create_superuser(username=username, email="", password=password)
            self.stdout.write(f"created the demo admin {username!r}")
        people = {username: "owner"}
        for name, role in (("dev", "member"), ("viewer", "viewer")):
            if not users.objects.filter(username=name).exists():
                users.objects.create_user(username=name, password=password)
                self.stdout.write(f"created the demo user {name!r} (password: the admin's)")
            people[name] = role

        services = bootstrap.build()
        ops = bootstrap.actor_of(admin, "accounts.team")
        try:
            services.teams.create_one(ops, CreateTeam(slug=DEMO_TEAM, name="Demo team"))
            self.stdout.write(f"created the team {DEMO_TEAM!r}")
        except TeamSlugTaken:
            pass
        for name, role in people.items():
            with contextlib.suppress(AlreadyMember):  # already in it: seeding is idempotent
                services.teams.add_member(ops, DEMO_TEAM, AddMember(username=name, role=role))

        tokens = services.tokens
        mine = bootstrap.actor_of(admin, "accounts.apitoken")
        if any(token.description == DEMO_TOKEN for token in tokens.get_list(mine)):
            token_line = "made on the first run (only its hash is kept): make another at /account/tokens/"
        else:
            token_line = tokens.create_one(mine, CreateToken(description=DEMO_TOKEN))[1]
        self.stdout.write(
            self.style.SUCCESS(
                f"\nDemo accounts: {username} / {password} (operations; the admin is at /admin/),\n"
                f"               dev and viewer (same password): a member and a viewer of the team {DEMO_TEAM!r}\n"
                f"API token:    {token_line}\n"
            )
        )
