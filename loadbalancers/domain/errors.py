"""Load balancer errors, in the portal's one hierarchy (see servers.domain.errors)."""

from __future__ import annotations

from uuid import UUID

from portal.kernel.errors import Conflict, DependencyUnavailable, NotFound, ValidationFailed


class LoadBalancerNotFound(NotFound):
    def __init__(self, lb_id: UUID | str):
        super().__init__(f"load balancer {lb_id} does not exist", details={"id": str(lb_id)})


class NameTaken(Conflict):
    def __init__(self, name: str):
        self.taken_name = name
        super().__init__(
            f"a load balancer named {name!r} already exists",
            details={"name": [f"{name!r} is taken by a live load balancer"]},
        )


class ServerNotEligible(ValidationFailed):
    """Some requested members do not exist or are not in OK status."""

    def __init__(self, problems: list[str], server_ids: list[int]):
        super().__init__("; ".join(problems), details={"servers": problems, "server_ids": server_ids})

    @property
    def name(self) -> str:
        return "ServerNotEligible"


class LoadBalancerPending(Conflict):
    def __init__(self, lb_id: UUID, status: str):
        super().__init__(
            f"load balancer {lb_id} is {status}; wait until it is ACTIVE or ERROR",
            details={"provisioning_status": status},
        )


class InvalidTransition(Conflict):
    def __init__(self, action: str, status: str, allowed: tuple[str, ...]):
        super().__init__(
            f"cannot {action} a load balancer that is {status} (only when {' or '.join(allowed)})",
            details={"provisioning_status": status},
        )


class ProviderDisabled(Conflict):
    """The load balancer lives at a provider this portal no longer has enabled, so
    nothing can be asked of it there: refused up front rather than failed later."""

    def __init__(self, lb_name: str, provider: str):
        super().__init__(
            f"load balancer {lb_name} is held by the provider {provider!r}, which this portal no longer has "
            "enabled; it can be changed, retried or deleted only once operations enable that provider again",
            details={"provider": provider},
        )


class ProviderError(DependencyUnavailable):
    """Raised by LBaaS clients.  No SDK exception crosses an adapter: each is
    translated into one of the subclasses below."""


class ProviderUnavailable(ProviderError):
    """Transient: the provider may answer if asked again later."""


class ProviderRejected(ProviderError):
    """Permanent: asking again will not help."""


class ProviderResourceNotFound(ProviderError):
    """The provider has no resource with that reference (it is gone)."""


class DeletionProtected(Conflict):
    """Deletion protection is on: nothing deletes it, on any path, until someone turns
    the protection off."""

    def __init__(self, lb_name: str):
        super().__init__(
            f"load balancer {lb_name} has deletion protection on: turn it off first (on its Delete page, or PATCH"
            ' {"deletion_protection": false}), then delete it',
            details={"deletion_protection": True},
        )
