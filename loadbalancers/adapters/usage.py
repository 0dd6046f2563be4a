from collections.abc import Iterable

from django.db.models import Count

from accounts.application.ports import TeamUsage
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


def teams_using(server_id: int) -> dict[int, list[str]]:
    """The live load balancers that use a server, by team id (whom to tell about it)."""
    teams: dict[int, list[str]] = {}
    rows = (
        models.LoadBalancer.objects.filter(members__server_id=server_id)
        .exclude(provisioning_status=ProvisioningStatus.DELETED)
        .order_by("name")
        .values_list("team_id", "name")
    )
    for team_id, name in rows:
        teams.setdefault(team_id, []).append(name)
    return teams


class LoadBalancerTeamUsage(TeamUsage):
    """Tells the accounts app what each team holds: its live load balancers, and the
    most members any one of them has (what its quotas bound)."""

    def usage_of(self, team_ids: Iterable[int]) -> dict[int, tuple[int, int]]:
        live = models.LoadBalancer.objects.filter(team_id__in=list(team_ids)).exclude(
            provisioning_status=ProvisioningStatus.DELETED
        )
        usage: dict[int, tuple[int, int]] = {}
        for team_id, members in live.annotate(n=Count("members")).values_list("team_id", "n"):
            count, most = usage.get(team_id, (0, 0))
            usage[team_id] = (count + 1, max(most, members))
        return usage
