import pytest

from loadbalancers.adapters.lbaas.sandbox import SandboxLBaaS
from loadbalancers.application.lbaas import MemberSpec
from tests.integration.lbaas.elbv2_fixtures import elbv2_lbaas  # noqa: F401
from tests.integration.lbaas.haproxy_fixtures import haproxy_client, haproxy_lbaas  # noqa: F401
from tests.integration.lbaas.harness import INSTALLATION, Harness


@pytest.fixture
def sandbox_lbaas(tmp_path) -> Harness:
    now = [1_000.0]

    def settle() -> None:
        now[0] += 10

    client = SandboxLBaaS(
        path=str(tmp_path / "sandbox.sqlite3"), delay=5, clock=lambda: now[0], installation=INSTALLATION
    )
    return Harness(client=client, members=[MemberSpec(f"10.0.0.{i}", 8080) for i in range(1, 4)], settle=settle)
