from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from portal.kernel.actors import Actor


def actor_of(user: AbstractBaseUser | AnonymousUser) -> Actor:
    """The signed-in user as the use cases know them.  Staff status alone gives no
    power over other people's load balancers: the model permissions the admin asks for
    do, so an account can do the same through the API, the pages and the admin."""
    operations = bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))
    changes_all = operations and user.has_perm("loadbalancers.change_loadbalancer")
    return Actor(
        user_id=user.pk,
        username=user.get_username(),
        # As in the admin, the permission to change includes the one to see.
        sees_all=changes_all or (operations and user.has_perm("loadbalancers.view_loadbalancer")),
        changes_all=changes_all,
    )
