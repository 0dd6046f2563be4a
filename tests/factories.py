import factory
from django.contrib.auth import get_user_model

from accounts import models as account_models
from loadbalancers import models as lb_models
from servers import models as server_models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True  # the personal team is a row of its own

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("secret-password")

    @factory.post_generation
    def personal_team(user, create: bool, extracted: bool | None, **kwargs: object) -> None:  # type: ignore[no-untyped-def]
        """A team named after the user, which they own (as the migration gives every
        existing user); ``personal_team=False`` leaves the user in no team."""
        if create and extracted is not False and not user.memberships.exists():
            team = TeamFactory(slug=user.username.lower(), name=f"{user.username} (personal)")
            account_models.Membership.objects.create(team=team, user=user, role="owner")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = account_models.Team
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda team: team.slug.title())


def personal_team(user) -> account_models.Team:  # type: ignore[no-untyped-def]
    return account_models.Team.objects.get(slug=user.username.lower())


def add_member(team, user, role: str = "member"):  # type: ignore[no-untyped-def]
    account_models.Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
    return user


class ServerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = server_models.Server

    name = factory.Sequence(lambda n: f"web-{n}")
    address = factory.Sequence(lambda n: f"10.{n // 62500 % 250}.{n // 250 % 250}.{n % 250 + 1}")
    port = 8080
    status = "OK"


class LoadBalancerRowFactory(factory.django.DjangoModelFactory):
    """A load balancer row written straight to the database, for tests and benchmarks
    of the persistence and read side (the services are the way in everywhere else)."""

    class Meta:
        model = lb_models.LoadBalancer

    name = factory.Sequence(lambda n: f"lb-{n}")
    created_by = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda lb: personal_team(lb.created_by))
    listener_protocol = "HTTP"
    listener_port = 80
    algorithm = "ROUND_ROBIN"
    provisioning_status = "ACTIVE"
    operating_status = "ONLINE"
    provider = "sandbox"


def grant_operations(user, *, codenames: tuple[str, ...] = ("view", "add", "change", "delete")):  # type: ignore[no-untyped-def]
    """Give a staff account the model permissions operations staff have on load
    balancers and servers (the admin and the API both ask for them)."""
    from django.contrib.auth.models import Permission

    models = ("loadbalancer", "server", "orphan", "drift", "team", "apitoken")
    wanted = [f"{action}_{model}" for action in codenames for model in models]
    user.user_permissions.add(*Permission.objects.filter(codename__in=wanted))
    return user
