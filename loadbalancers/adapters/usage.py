from loadbalancers import models
from loadbalancers.domain.model import ProvisioningStatus
from servers.application.ports import ServerUsage


class LoadBalancerServerUsage(ServerUsage):
    """Tells the servers app which live load balancers use a server."""

    def users_of(self, server_id: int) -> list[str]:
        return list(
            models.LoadBalancer.objects.filter(members__server_id=server_id)
            .exclude(provisioning_status=ProvisioningStatus.DELETED)
            .order_by("name")
            .values_list("name", flat=True)
        )
