from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from loadbalancers.application.payloads import Actor


def actor_of(user: AbstractBaseUser | AnonymousUser) -> Actor:
    """The signed-in user as the use cases know them."""
    return Actor(user_id=user.pk, username=user.get_username(), is_staff=bool(getattr(user, "is_staff", False)))
