"""AWS ELBv2 for the contract suite and the adapter's own tests: moto's server on
127.0.0.1, one per test session, with a VPC and two subnets in two availability zones.

Nothing changes the developer's AWS configuration or environment, and nothing relies on
it: every client is given dummy credentials, the region, the endpoint and "no proxy"
explicitly, so no request can leave 127.0.0.1.
Each test gets its own name prefix (``get_list`` only sees its own load balancers) and
whatever it left is deleted afterwards.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import uuid4

import boto3
import pytest
from botocore.config import Config

from loadbalancers.adapters.lbaas.elbv2 import Elbv2LBaaS
from loadbalancers.application.lbaas import MemberSpec
from tests.integration.lbaas.harness import INSTALLATION, Harness

REGION = "eu-west-1"
CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}
VPC_CIDR = "10.20.0.0/16"
SETTLE_WITHIN = 5.0  # seconds

_AWS = pytest.StashKey["MotoAWS"]()

# One session for every client the tests make themselves (a new one costs a tenth of a
# second); the adapters make their own, from the settings they are given.
SESSION = boto3.session.Session(
    aws_access_key_id=CREDENTIALS["access_key_id"],
    aws_secret_access_key=CREDENTIALS["secret_access_key"],
    region_name=REGION,
)


@dataclass
class MotoAWS:
    endpoint_url: str
    vpc_id: str
    subnet_ids: list[str]
    server: Any

    def client(self, service: str) -> Any:
        """A boto3 client for the moto server, independent of any AWS configuration."""
        return SESSION.client(service, endpoint_url=self.endpoint_url, config=Config(proxies={}))

    def adapter(self, **options: Any) -> Elbv2LBaaS:
        """An adapter on the moto server with a name prefix of its own."""
        settings: dict[str, Any] = {
            "region": REGION,
            "vpc_id": self.vpc_id,
            "subnet_ids": self.subnet_ids,
            "endpoint_url": self.endpoint_url,
            "name_prefix": f"t{uuid4().hex[:8]}",
            "proxies": {},
            "max_attempts": 1,
            **CREDENTIALS,
        }
        return Elbv2LBaaS(**{**settings, **options})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def moto_aws(config: pytest.Config) -> MotoAWS:
    """The session's moto server, started on first use and stopped when the session
    ends (a plain function, so the one fixture conftest imports is all it takes)."""
    aws = config.stash.get(_AWS, None)
    if aws is None:
        werkzeug = logging.getLogger("werkzeug")  # moto's server logs every request otherwise
        config.add_cleanup(partial(werkzeug.setLevel, werkzeug.level))
        werkzeug.setLevel(logging.WARNING)
        aws = _start()
        config.stash[_AWS] = aws
        config.add_cleanup(aws.server.stop)
    return aws


def _start() -> MotoAWS:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        aws = MotoAWS(endpoint_url=f"http://127.0.0.1:{port}", vpc_id="", subnet_ids=[], server=server)
        ec2 = aws.client("ec2")
        aws.vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
        aws.subnet_ids = [
            ec2.create_subnet(VpcId=aws.vpc_id, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
            for cidr, zone in (("10.20.1.0/24", f"{REGION}a"), ("10.20.2.0/24", f"{REGION}b"))
        ]
    except BaseException:
        server.stop()
        raise
    return aws


@pytest.fixture(scope="session")
def elbv2_aws(pytestconfig) -> MotoAWS:
    return moto_aws(pytestconfig)


def settle(client: Elbv2LBaaS) -> None:
    """Poll until nothing the adapter owns is PENDING_* (moto activates a load balancer
    the first time it is described, so this returns at once)."""
    deadline = time.monotonic() + SETTLE_WITHIN
    while any(lb.provisioning_status.is_pending for lb in client.get_list()):
        if time.monotonic() > deadline:
            raise AssertionError(f"elbv2: still pending after {SETTLE_WITHIN} s")
        time.sleep(0.05)


def tamper(aws: MotoAWS, ref: str) -> set[str]:
    """Change the load balancer ``ref`` (an HTTP one: an application load balancer) as
    someone in the AWS console would: the other algorithm on its target group, another
    health check interval, and the first registered target deregistered.  Returns the fields ``spec_changes`` then finds
    between what was applied and what runs."""
    raw = aws.client("elbv2")
    [listener] = raw.describe_listeners(LoadBalancerArn=ref)["Listeners"]
    group_arn = listener["DefaultActions"][0]["TargetGroupArn"]
    attributes = {
        a["Key"]: a["Value"] for a in raw.describe_target_group_attributes(TargetGroupArn=group_arn)["Attributes"]
    }
    other = (
        "round_robin" if attributes["load_balancing.algorithm.type"] != "round_robin" else "least_outstanding_requests"
    )
    raw.modify_target_group_attributes(
        TargetGroupArn=group_arn, Attributes=[{"Key": "load_balancing.algorithm.type", "Value": other}]
    )
    [group] = raw.describe_target_groups(TargetGroupArns=[group_arn])["TargetGroups"]
    interval = group["HealthCheckIntervalSeconds"]
    raw.modify_target_group(
        TargetGroupArn=group_arn, HealthCheckIntervalSeconds=interval + 5 if interval <= 295 else interval - 5
    )
    health = raw.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    target = min((d["Target"] for d in health), key=lambda t: (t["Id"], t["Port"]))
    raw.deregister_targets(TargetGroupArn=group_arn, Targets=[{"Id": target["Id"], "Port": target["Port"]}])
    return {"algorithm", "health_monitor", f"member {target['Id']}:{target['Port']}"}


def clean_up(client: Elbv2LBaaS) -> None:
    for lb in client.get_list():
        client.delete(lb.ref)


@pytest.fixture
def elbv2_lbaas(pytestconfig) -> Iterator[Harness]:
    aws = moto_aws(pytestconfig)
    client = aws.adapter(installation=INSTALLATION)
    yield Harness(
        client=client,
        members=[MemberSpec(f"10.20.{1 + i % 2}.{10 + i}", 8080 + i) for i in range(3)],
        settle=lambda: settle(client),
        tamper=partial(tamper, aws),
    )
    clean_up(client)
