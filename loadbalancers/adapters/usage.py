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


def teams_using_many(server_ids: Iterable[int]) -> dict[int, dict[int, list[str]]]:
    """``teams_using`` of each of these servers (those no live load balancer uses are
    left out), in one query per 500 servers."""
    ids = list(server_ids)
    found: dict[int, dict[int, list[str]]] = {}
    for start in range(0, len(ids), 500):
        rows = (
            models.LoadBalancer.objects.filter(members__server_id__in=ids[start : start + 500])
            .exclude(provisioning_status=ProvisioningStatus.DELETED)
            .order_by("name")
            .values_list("members__server_id", "team_id", "name")
        )
        for server_id, team_id, name in rows:
            found.setdefault(server_id, {}).setdefault(team_id, []).append(name)
    return found


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
