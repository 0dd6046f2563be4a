"""The signed-in user as the use cases know them (``portal.kernel.actors.Actor``)."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from portal.kernel.actors import Actor


def actor_of(user: AbstractBaseUser | AnonymousUser, records: str) -> Actor:
    """``records`` names the model whose rows the use cases guard ("app_label.model").
    Staff status alone gives no power over other people's records: the model
    permissions the admin asks for do, so an account can do the same through the API,
    the pages and the admin."""
    app_label, model = records.split(".")
    operations = bool(getattr(user, "is_active", False) and getattr(user, "is_staff", False))
    changes_all = operations and user.has_perm(f"{app_label}.change_{model}")
    return Actor(
        user_id=user.pk,
        username=user.get_username(),
        # As in the admin, the permission to change includes the one to see.
        sees_all=changes_all or (operations and user.has_perm(f"{app_label}.view_{model}")),
        changes_all=changes_all,
    )
