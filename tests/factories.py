import factory
from django.contrib.auth import get_user_model

from loadbalancers import models as lb_models
from servers import models as server_models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("secret-password")


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
    owner = factory.SubFactory(UserFactory)
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

    wanted = [f"{action}_{model}" for action in codenames for model in ("loadbalancer", "server", "orphan")]
    user.user_permissions.add(*Permission.objects.filter(codename__in=wanted))
    return user
