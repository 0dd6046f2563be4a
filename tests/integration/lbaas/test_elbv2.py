"""What the ELBv2 adapter promises beyond the contract: the mapping onto ELBv2
resources (checked by asking moto directly), tags, idempotent and repairing creates,
exact target changes, complete deletes, status and health mapping, health monitors as
target group health checks, weights refused, drain as deregistration, the user's tags,
and error translation (no botocore exception leaves the adapter).

moto does not do everything AWS does: it forgets a deregistered target at once (AWS
lists it ``draining`` for the deregistration delay) and reports every registered ``ip``
target ``healthy`` with no reason.  ``AwsLike`` adds both over moto, where a test needs
them."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

from loadbalancers.adapters.lbaas.elbv2 import (
    LB_ARN_PLACEHOLDER,
    MANAGED_TAG,
    MONITOR_TAG,
    NAME_PLACEHOLDER,
    TG_ARN_PLACEHOLDER,
    TOKEN_PLACEHOLDER,
    TOKEN_TAG,
    USER_KEYS_TAG_PREFIX,
    Elbv2LBaaS,
)
from loadbalancers.application.lbaas import LoadBalancerSpec, MemberSpec, ProviderPlan, spec_changes
from loadbalancers.domain.errors import (
    ProviderError,
    ProviderRejected,
    ProviderResourceNotFound,
    ProviderUnavailable,
)
from loadbalancers.domain.members import AdminState
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus
from loadbalancers.domain.monitors import HealthMonitor, MonitorType
from tests.integration.lbaas.elbv2_fixtures import (  # noqa: F401
    REGION,
    SESSION,
    MotoAWS,
    clean_up,
    elbv2_aws,
    free_port,
    tamper,
)

MEMBERS = [MemberSpec("10.20.1.10", 8080), MemberSpec("10.20.2.11", 8081), MemberSpec("10.20.1.12", 9000)]
NAME = "lbp-0123456789abcdef0123456789"
ARN = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/app/{NAME}/0123456789abcdef"
TG_ARN = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:targetgroup/{NAME}/fedcba9876543210"


def spec(
    *members: MemberSpec,
    protocol: str = "HTTP",
    port: int = 80,
    algorithm: str = "ROUND_ROBIN",
    monitor: HealthMonitor | None = None,
    tags: tuple[str, ...] = (),
):
    return LoadBalancerSpec("shop", protocol, port, algorithm, tuple(members), monitor, tags)


def drained(member: MemberSpec) -> MemberSpec:
    return replace(member, admin_state=AdminState.DRAIN)


class Recording:
    """A boto3 client that notes every call before making it."""

    def __init__(self, client: Any):
        self._client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**params: Any) -> Any:
            self.calls.append((name, params))
            return method(**params)

        return call

    def named(self, *operations: str) -> list[tuple[str, dict[str, Any]]]:
        return [(name, params) for name, params in self.calls if name in operations]


class Failing:
    """A client whose every call raises the given exception."""

    def __init__(self, exc: Exception):
        self.exc = exc

    def __getattr__(self, name: str) -> Any:
        def call(**params: Any) -> Any:
            raise self.exc

        return call


@pytest.fixture
def aws(elbv2_aws) -> MotoAWS:  # noqa: F811
    return elbv2_aws


@pytest.fixture
def elbv2(aws) -> Iterator[Elbv2LBaaS]:
    adapter = aws.adapter(client=Recording(aws.client("elbv2")))
    yield adapter
    clean_up(adapter)


@pytest.fixture
def raw(aws) -> Any:
    """ELBv2 as the adapter left it, asked directly."""
    return aws.client("elbv2")


def targets_of(raw: Any, target_group_arn: str) -> set[tuple[str, int]]:
    health = raw.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    return {(d["Target"]["Id"], d["Target"]["Port"]) for d in health}


def attributes_of(raw: Any, target_group_arn: str) -> dict[str, str]:
    answer = raw.describe_target_group_attributes(TargetGroupArn=target_group_arn)
    return {a["Key"]: a["Value"] for a in answer["Attributes"]}


def tags_of(raw: Any, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in raw.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]}


def error_code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


# -- the mapping --------------------------------------------------------------------------


def test_http_makes_an_application_load_balancer_with_an_http_listener_and_an_ip_target_group(aws, elbv2, raw):
    token = str(uuid4())
    created = elbv2.create(spec(*MEMBERS[:2], port=8000, algorithm="LEAST_CONNECTIONS"), client_token=token)

    lb = raw.describe_load_balancers(LoadBalancerArns=[created.ref])["LoadBalancers"][0]
    assert (lb["Type"], lb["Scheme"], lb["LoadBalancerName"]) == ("application", "internal", elbv2.resource_name(token))
    assert {zone["SubnetId"] for zone in lb["AvailabilityZones"]} == set(aws.subnet_ids)
    assert created.vip_address == lb["DNSName"]
    assert created.client_token == token
    [listener] = raw.describe_listeners(LoadBalancerArn=created.ref)["Listeners"]
    assert (listener["Protocol"], listener["Port"]) == ("HTTP", 8000)
    [action] = listener["DefaultActions"]
    assert action["Type"] == "forward"
    [group] = raw.describe_target_groups(TargetGroupArns=[action["TargetGroupArn"]])["TargetGroups"]
    assert (group["TargetType"], group["Protocol"], group["VpcId"]) == ("ip", "HTTP", aws.vpc_id)
    assert group["TargetGroupName"] == lb["LoadBalancerName"]
    assert (group["HealthCheckPath"], group["Matcher"]["HttpCode"]) == ("/", "200-399")
    assert targets_of(raw, group["TargetGroupArn"]) == {("10.20.1.10", 8080), ("10.20.2.11", 8081)}
    attributes = attributes_of(raw, group["TargetGroupArn"])
    assert attributes["load_balancing.algorithm.type"] == "least_outstanding_requests"
    assert attributes["stickiness.enabled"] == "false"


def test_tcp_makes_a_network_load_balancer_with_a_tcp_listener(elbv2, raw):
    created = elbv2.create(spec(MEMBERS[0], protocol="TCP", port=5432), client_token=str(uuid4()))

    lb = raw.describe_load_balancers(LoadBalancerArns=[created.ref])["LoadBalancers"][0]
    assert lb["Type"] == "network"
    [listener] = raw.describe_listeners(LoadBalancerArn=created.ref)["Listeners"]
    assert (listener["Protocol"], listener["Port"]) == ("TCP", 5432)
    [group] = raw.describe_target_groups(TargetGroupArns=[listener["DefaultActions"][0]["TargetGroupArn"]])[
        "TargetGroups"
    ]
    assert (group["TargetType"], group["Protocol"]) == ("ip", "TCP")
    assert targets_of(raw, group["TargetGroupArn"]) == {("10.20.1.10", 8080)}
    assert attributes_of(raw, group["TargetGroupArn"])["stickiness.enabled"] == "false"  # plain flow hash


def test_source_ip_is_source_ip_stickiness_on_a_network_load_balancer(elbv2, raw):
    created = elbv2.create(spec(*MEMBERS[:2], protocol="TCP", algorithm="SOURCE_IP"), client_token=str(uuid4()))

    [group] = raw.describe_target_groups(Names=[created.ref.split("/")[2]])["TargetGroups"]
    attributes = attributes_of(raw, group["TargetGroupArn"])
    assert (attributes["stickiness.enabled"], attributes["stickiness.type"]) == ("true", "source_ip")

    elbv2.update(created.ref, spec(*MEMBERS[:2], protocol="TCP", algorithm="ROUND_ROBIN"))
    assert attributes_of(raw, group["TargetGroupArn"])["stickiness.enabled"] == "false"


@pytest.mark.parametrize(
    ("protocol", "algorithm", "fragment"),
    [("HTTP", "SOURCE_IP", "only sticks clients to targets by cookie"), ("TCP", "LEAST_CONNECTIONS", "flow hash")],
)
def test_what_elbv2_cannot_honour_is_refused_before_anything_is_made(elbv2, raw, protocol, algorithm, fragment):
    token = str(uuid4())
    with pytest.raises(ProviderRejected, match=fragment):
        elbv2.create(spec(MEMBERS[0], protocol=protocol, algorithm=algorithm), client_token=token)

    assert elbv2.client.calls == []
    assert error_code(lambda: raw.describe_load_balancers(Names=[elbv2.resource_name(token)])) == (
        "LoadBalancerNotFound"
    )
    ref = elbv2.create(spec(MEMBERS[0], protocol=protocol), client_token=token).ref
    with pytest.raises(ProviderRejected, match=fragment):
        elbv2.update(ref, spec(MEMBERS[0], protocol=protocol, algorithm=algorithm))


def test_everything_it_makes_is_tagged_with_the_client_token(elbv2, raw):
    token = str(uuid4())
    ref = elbv2.create(spec(MEMBERS[0]), client_token=token).ref
    [listener] = raw.describe_listeners(LoadBalancerArn=ref)["Listeners"]

    for arn in (ref, listener["ListenerArn"], listener["DefaultActions"][0]["TargetGroupArn"]):
        tags = tags_of(raw, arn)
        assert tags[TOKEN_TAG] == token
        assert tags[MANAGED_TAG] == elbv2.resource_name(token).split("-")[0]
    assert [(lb.ref, lb.client_token) for lb in elbv2.get_list()] == [(ref, token)]


def test_names_are_valid_elbv2_names_derived_from_the_token(aws):
    adapter = aws.adapter(name_prefix="portal-prod-eu1")  # the longest prefix allowed
    token = str(uuid4())

    name = adapter.resource_name(token)
    assert re.fullmatch(r"portal-prod-eu1-[0-9a-f]{16}", name)
    assert len(name) == 32
    assert adapter.resource_name(token) == name
    assert aws.adapter(name_prefix="portal-prod-eu1").resource_name(token) == name
    assert adapter.resource_name(str(uuid4())) != name


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"name_prefix": ""}, "name_prefix"),
        ({"name_prefix": "-lb"}, "name_prefix"),
        ({"name_prefix": "lb-"}, "name_prefix"),
        ({"name_prefix": "lb--x"}, "name_prefix"),
        ({"name_prefix": "LBP"}, "name_prefix"),
        ({"name_prefix": "internal-lb"}, "name_prefix"),
        ({"name_prefix": "a" * 16}, "name_prefix"),
        ({"subnet_ids": []}, "subnet_ids"),
        ({"subnet_ids": "subnet-1"}, "subnet_ids"),
        ({"vpc_id": ""}, "vpc_id"),
        ({"region": ""}, "region"),
        ({"scheme": "public"}, "scheme"),
        ({"secret_access_key": None}, "go together"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"read_timeout": 0}, "positive"),
        ({"endpoint_url": "not a url"}, "could not be configured"),
    ],
)
def test_bad_settings_are_refused(aws, options, fragment):
    with pytest.raises(ValueError, match=fragment):
        aws.adapter(**options)


def test_the_client_has_timeouts_and_limited_retries():
    adapter = Elbv2LBaaS(
        region=REGION, vpc_id="vpc-1", subnet_ids=["subnet-1"], access_key_id="testing", secret_access_key="testing"
    )

    config = adapter.client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (5.0, 15.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert adapter.client.meta.region_name == REGION


# -- idempotency and repair -------------------------------------------------------------------


def test_a_retried_create_completes_what_a_create_that_stopped_half_way_left(elbv2, raw):
    token = str(uuid4())
    first = elbv2.create(spec(*MEMBERS[:2]), client_token=token)
    [listener] = raw.describe_listeners(LoadBalancerArn=first.ref)["Listeners"]
    raw.delete_listener(ListenerArn=listener["ListenerArn"])
    raw.delete_target_group(TargetGroupArn=listener["DefaultActions"][0]["TargetGroupArn"])

    broken = elbv2.get(first.ref)
    assert broken.provisioning_status is ProvisioningStatus.ERROR
    assert "incomplete" in broken.error

    again = elbv2.create(spec(*MEMBERS[:2]), client_token=token)

    assert again.ref == first.ref
    named = [
        lb for lb in raw.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == again.ref.split("/")[2]
    ]
    assert len(named) == 1
    repaired = elbv2.get(again.ref)
    assert repaired.provisioning_status is ProvisioningStatus.ACTIVE
    assert {(m.address, m.port) for m in repaired.members} == {("10.20.1.10", 8080), ("10.20.2.11", 8081)}


def test_a_create_adopts_the_load_balancer_a_lost_create_made_for_its_token(aws, elbv2, raw):
    token = str(uuid4())
    name = elbv2.resource_name(token)
    prefix = name.split("-")[0]
    made = raw.create_load_balancer(
        Name=name,
        Subnets=aws.subnet_ids,
        Type="application",
        Scheme="internal",
        Tags=[{"Key": TOKEN_TAG, "Value": token}, {"Key": MANAGED_TAG, "Value": prefix}],
    )["LoadBalancers"][0]

    created = elbv2.create(spec(MEMBERS[0]), client_token=token)

    assert created.ref == made["LoadBalancerArn"]
    assert not elbv2.client.named("create_load_balancer")
    assert len(raw.describe_listeners(LoadBalancerArn=created.ref)["Listeners"]) == 1


def test_a_load_balancer_the_portal_did_not_make_is_left_alone(aws, elbv2, raw):
    token = str(uuid4())
    squatter = raw.create_load_balancer(Name=elbv2.resource_name(token), Subnets=aws.subnet_ids)["LoadBalancers"][0]
    foreign = raw.create_load_balancer(Name=f"foreign-{uuid4().hex[:8]}", Subnets=aws.subnet_ids)["LoadBalancers"][0]
    try:
        with pytest.raises(ProviderRejected, match="was not made for client token"):
            elbv2.create(spec(MEMBERS[0]), client_token=token)
        for lb in (squatter, foreign):
            with pytest.raises(ProviderRejected, match="not managed by this portal"):
                elbv2.get(lb["LoadBalancerArn"])
            with pytest.raises(ProviderRejected, match="not managed by this portal"):
                elbv2.delete(lb["LoadBalancerArn"])
            with pytest.raises(ProviderRejected, match="not managed by this portal"):
                elbv2.update(lb["LoadBalancerArn"], spec(MEMBERS[0]))
        assert elbv2.get_list() == []
        assert not elbv2.client.named("delete_load_balancer", "delete_listener", "register_targets")
        arns = [squatter["LoadBalancerArn"], foreign["LoadBalancerArn"]]
        assert len(raw.describe_load_balancers(LoadBalancerArns=arns)["LoadBalancers"]) == 2
    finally:
        for lb in (squatter, foreign):
            raw.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])


# -- update and delete -------------------------------------------------------------------------


def test_update_registers_and_deregisters_exactly_the_difference(elbv2, raw):
    ref = elbv2.create(spec(MEMBERS[0], MEMBERS[1]), client_token=str(uuid4())).ref
    elbv2.client.calls.clear()

    state = elbv2.update(ref, spec(MEMBERS[1], MEMBERS[2], algorithm="LEAST_CONNECTIONS"))

    changes = elbv2.client.named("register_targets", "deregister_targets")
    assert [(name, params["Targets"]) for name, params in changes] == [
        ("register_targets", [{"Id": "10.20.1.12", "Port": 9000}]),
        ("deregister_targets", [{"Id": "10.20.1.10", "Port": 8080}]),
    ]
    assert not elbv2.client.named("create_load_balancer", "create_target_group", "create_listener")
    assert state.provisioning_status is ProvisioningStatus.ACTIVE
    assert {(m.address, m.port) for m in state.members} == {("10.20.2.11", 8081), ("10.20.1.12", 9000)}
    group_arn = changes[0][1]["TargetGroupArn"]
    assert targets_of(raw, group_arn) == {("10.20.2.11", 8081), ("10.20.1.12", 9000)}
    assert attributes_of(raw, group_arn)["load_balancing.algorithm.type"] == "least_outstanding_requests"

    elbv2.client.calls.clear()
    elbv2.update(ref, spec(MEMBERS[1], MEMBERS[2], algorithm="ROUND_ROBIN"))
    assert not elbv2.client.named("register_targets", "deregister_targets")
    assert attributes_of(raw, group_arn)["load_balancing.algorithm.type"] == "round_robin"


def test_update_cannot_change_the_protocol(elbv2):
    ref = elbv2.create(spec(MEMBERS[0]), client_token=str(uuid4())).ref

    with pytest.raises(ProviderRejected, match="the protocol cannot change"):
        elbv2.update(ref, spec(MEMBERS[0], protocol="TCP"))


def test_delete_removes_the_listener_the_target_group_and_the_load_balancer(elbv2, raw):
    token = str(uuid4())
    ref = elbv2.create(spec(*MEMBERS), client_token=token).ref
    [listener] = raw.describe_listeners(LoadBalancerArn=ref)["Listeners"]
    group_arn = listener["DefaultActions"][0]["TargetGroupArn"]
    elbv2.client.calls.clear()

    elbv2.delete(ref)

    deletes = elbv2.client.named("delete_listener", "delete_target_group", "delete_load_balancer")
    assert deletes == [
        ("delete_listener", {"ListenerArn": listener["ListenerArn"]}),
        ("delete_target_group", {"TargetGroupArn": group_arn}),
        ("delete_load_balancer", {"LoadBalancerArn": ref}),
    ]
    assert error_code(lambda: raw.describe_load_balancers(LoadBalancerArns=[ref])) == "LoadBalancerNotFound"
    assert error_code(lambda: raw.describe_listeners(ListenerArns=[listener["ListenerArn"]])) == "ListenerNotFound"
    name = elbv2.resource_name(token)
    assert error_code(lambda: raw.describe_target_groups(Names=[name])) == "TargetGroupNotFound"

    elbv2.client.calls.clear()
    elbv2.delete(ref)
    assert not elbv2.client.named("delete_listener", "delete_target_group", "delete_load_balancer")


def test_a_delete_that_stopped_half_way_is_finished_by_the_next_one(elbv2, raw):
    token = str(uuid4())
    ref = elbv2.create(spec(MEMBERS[0]), client_token=token).ref
    raw.delete_load_balancer(LoadBalancerArn=ref)  # the target group is left behind

    elbv2.delete(ref)

    assert error_code(lambda: raw.describe_target_groups(Names=[elbv2.resource_name(token)])) == "TargetGroupNotFound"


def test_the_list_holds_only_its_own_load_balancers_oldest_first(aws, elbv2):
    refs = [elbv2.create(spec(MEMBERS[i]), client_token=str(uuid4())).ref for i in range(3)]

    assert [lb.ref for lb in elbv2.get_list()] == refs
    assert aws.adapter().get_list() == []


# -- status and health ---------------------------------------------------------------------------


def stub_client() -> Any:
    """A client for botocore's Stubber; should a call ever get past it, it goes nowhere."""
    return SESSION.client("elbv2", endpoint_url="http://127.0.0.1:9")


def stubbed(
    state: dict[str, str],
    health: list[tuple[str | dict[str, str], str | None]],
    *,
    listeners: bool = True,
    tags: dict[str, str] | None = None,
    target_group: dict[str, Any] | None = None,
    attributes: dict[str, str] | None = None,
) -> Elbv2LBaaS:
    """An adapter whose get() is answered by botocore's Stubber: the targets are
    10.20.1.<i>:80 in the order of ``health`` (each its state, or its whole
    TargetHealth); ``tags`` are the load balancer's besides
    the portal's marks, ``target_group`` more of the target group's fields and
    ``attributes`` its attributes (those of ROUND_ROBIN by default)."""
    attributes = attributes or {"load_balancing.algorithm.type": "round_robin", "stickiness.enabled": "false"}
    client = stub_client()
    stub = Stubber(client)
    stub.add_response(
        "describe_load_balancers",
        {
            "LoadBalancers": [
                {
                    "LoadBalancerArn": ARN,
                    "LoadBalancerName": NAME,
                    "DNSName": "lb.example",
                    "Type": "application",
                    "CreatedTime": datetime(2025, 1, 1, tzinfo=UTC),
                    "State": state,
                }
            ]
        },
    )
    stub.add_response(
        "describe_tags",
        {
            "TagDescriptions": [
                {
                    "ResourceArn": ARN,
                    "Tags": [
                        {"Key": TOKEN_TAG, "Value": "t"},
                        {"Key": MANAGED_TAG, "Value": "lbp"},
                        *({"Key": key, "Value": value} for key, value in (tags or {}).items()),
                    ],
                }
            ]
        },
    )
    stub.add_response(
        "describe_target_groups",
        {
            "TargetGroups": [
                {"TargetGroupArn": TG_ARN, "TargetGroupName": NAME, "Protocol": "HTTP", **(target_group or {})}
            ]
        },
    )
    stub.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {
                    "Target": {"Id": f"10.20.1.{i}", "Port": 80},
                    "TargetHealth": target_state if isinstance(target_state, dict) else {"State": target_state},
                }
                for i, (target_state, _) in enumerate(health)
            ]
        },
    )
    if state["Code"] in ("active", "active_impaired"):
        listener = {
            "ListenerArn": ARN.replace(":loadbalancer/", ":listener/") + "/1",
            "Port": 80,
            "Protocol": "HTTP",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": TG_ARN}],
        }
        stub.add_response("describe_listeners", {"Listeners": [listener] if listeners else []})
        if listeners:  # complete: what it runs is read back
            stub.add_response(
                "describe_target_group_attributes",
                {"Attributes": [{"Key": key, "Value": value} for key, value in attributes.items()]},
            )
    stub.activate()
    return Elbv2LBaaS(region=REGION, vpc_id="vpc-1", subnet_ids=["subnet-1"], client=client)


@pytest.mark.parametrize(
    ("code", "health", "status", "operating"),
    [
        ("provisioning", [("initial", "NO_MONITOR")], "PENDING_CREATE", "OFFLINE"),
        ("active", [("healthy", "ONLINE"), ("healthy", "ONLINE")], "ACTIVE", "ONLINE"),
        ("active", [("healthy", "ONLINE"), ("unhealthy", "ERROR")], "ACTIVE", "DEGRADED"),
        ("active", [("healthy", "ONLINE"), ("initial", "NO_MONITOR")], "ACTIVE", "DEGRADED"),
        ("active", [("unhealthy", "ERROR"), ("unused", "OFFLINE")], "ACTIVE", "OFFLINE"),
        ("active", [("initial", "NO_MONITOR"), ("unavailable", "NO_MONITOR")], "ACTIVE", "NO_MONITOR"),
        ("active", [("healthy", "ONLINE"), ("draining", None), ("unhealthy.draining", None)], "ACTIVE", "ONLINE"),
        ("active", [], "ACTIVE", "OFFLINE"),
        ("active_impaired", [("healthy", "ONLINE")], "ACTIVE", "DEGRADED"),
        ("active_impaired", [("unhealthy", "ERROR")], "ACTIVE", "OFFLINE"),
        ("failed", [("unused", "OFFLINE")], "ERROR", "ERROR"),
    ],
)
def test_state_and_target_health_map_onto_portal_statuses(code, health, status, operating):
    state = {"Code": code, "Reason": "no capacity in eu-west-1a"} if code == "failed" else {"Code": code}

    found = stubbed(state, health).get(ARN)

    assert found.provisioning_status is ProvisioningStatus(status)
    assert found.operating_status is OperatingStatus(operating)
    assert [m.operating_status for m in found.members] == [OperatingStatus(s) for _, s in health if s]
    assert found.vip_address == "lb.example"
    assert found.client_token == "t"
    if code == "failed":
        assert "no capacity in eu-west-1a" in found.error
    else:
        assert found.error is None


def test_an_active_load_balancer_without_its_listener_is_reported_incomplete():
    found = stubbed({"Code": "active"}, [("healthy", "ONLINE")], listeners=False).get(ARN)

    assert found.provisioning_status is ProvisioningStatus.ERROR
    assert "no listener" in found.error


def test_only_the_targets_of_members_in_drain_are_draining_members():
    """AWS lists a deregistered target ``draining`` whether it was put in drain or
    removed from the spec: the load balancer's drain record tells them apart."""
    health = [("healthy", "ONLINE"), ("draining", "DRAINING"), ("unhealthy.draining", "DRAINING"), ("draining", None)]

    found = stubbed(
        {"Code": "active"},
        health,
        tags={"portal:drain:1": "10.20.1.1:80 10.20.1.9:80", "portal:drain:2": "10.20.1.2:80"},
    ).get(ARN)

    assert [(m.address, m.operating_status) for m in found.members] == [
        ("10.20.1.0", OperatingStatus.ONLINE),
        ("10.20.1.1", OperatingStatus.DRAINING),
        ("10.20.1.2", OperatingStatus.DRAINING),
    ]
    assert found.operating_status is OperatingStatus.ONLINE  # members in drain are left out


def test_the_monitor_is_read_back_from_the_target_group_only_when_one_was_asked_for():
    check = {
        "HealthCheckProtocol": "HTTPS",
        "HealthCheckPort": "traffic-port",
        "HealthCheckIntervalSeconds": 15,
        "HealthCheckTimeoutSeconds": 4,
        "HealthyThresholdCount": 3,
        "UnhealthyThresholdCount": 6,
        "HealthCheckPath": "/up",
        "Matcher": {"HttpCode": "200,204"},
    }

    asked = stubbed({"Code": "active"}, [], tags={MONITOR_TAG: "asked"}, target_group=check).get(ARN)
    not_asked = stubbed({"Code": "active"}, [], target_group=check).get(ARN)

    assert asked.health_monitor == HealthMonitor(MonitorType.HTTP, 15, 4, 3, 6, "/up", "200,204")
    assert not_asked.health_monitor is None


# -- health monitors: the target group's health check ------------------------------------------------

MONITOR = HealthMonitor(
    MonitorType.HTTP,
    interval=10,
    timeout=5,
    retries_up=3,
    retries_down=4,
    http_path="/healthz",
    expected_codes="200,202",
)
CHANGED = HealthMonitor(
    MonitorType.HTTP, interval=20, timeout=8, retries_up=2, retries_down=5, http_path="/ping", expected_codes="200-299"
)


def group_of(raw: Any, ref: str) -> dict[str, Any]:
    """The load balancer's target group, as ELBv2 describes it."""
    [listener] = raw.describe_listeners(LoadBalancerArn=ref)["Listeners"]
    arn = listener["DefaultActions"][0]["TargetGroupArn"]
    return raw.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]


def check_of(group: dict[str, Any]) -> dict[str, Any]:
    fields = (
        "HealthCheckProtocol",
        "HealthCheckPort",
        "HealthCheckIntervalSeconds",
        "HealthCheckTimeoutSeconds",
        "HealthyThresholdCount",
        "UnhealthyThresholdCount",
    )
    found = {field: group.get(field) for field in fields}
    if group.get("HealthCheckProtocol") == "HTTP":
        found |= {"HealthCheckPath": group.get("HealthCheckPath"), "HttpCode": group.get("Matcher", {}).get("HttpCode")}
    return found


def expected_check(protocol: str, interval: int, timeout: int, up: int, down: int, *http: str) -> dict[str, Any]:
    found = {
        "HealthCheckProtocol": protocol,
        "HealthCheckPort": "traffic-port",
        "HealthCheckIntervalSeconds": interval,
        "HealthCheckTimeoutSeconds": timeout,
        "HealthyThresholdCount": up,
        "UnhealthyThresholdCount": down,
    }
    if http:
        found |= {"HealthCheckPath": http[0], "HttpCode": http[1]}
    return found


WRITES = (
    "create_target_group",
    "modify_target_group",
    "register_targets",
    "deregister_targets",
    "add_tags",
    "remove_tags",
    "create_listener",
    "modify_listener",
    "modify_target_group_attributes",
)


def test_a_monitor_becomes_the_health_check_and_follows_updates(aws, raw):
    elbv2 = aws.adapter(client=Recording(aws.client("elbv2")), health_check_path="/up")
    try:
        created = elbv2.create(spec(*MEMBERS[:2], monitor=MONITOR), client_token=str(uuid4()))

        assert check_of(group_of(raw, created.ref)) == expected_check("HTTP", 10, 5, 3, 4, "/healthz", "200,202")
        assert created.health_monitor == MONITOR
        assert tags_of(raw, created.ref)[MONITOR_TAG] == "asked"
        assert not elbv2.client.named("modify_target_group")  # made right the first time

        elbv2.client.calls.clear()
        changed = elbv2.update(created.ref, spec(*MEMBERS[:2], monitor=CHANGED))

        assert check_of(group_of(raw, created.ref)) == expected_check("HTTP", 20, 8, 2, 5, "/ping", "200-299")
        assert len(elbv2.client.named("modify_target_group")) == 1
        assert changed.health_monitor == CHANGED
        assert elbv2.get(created.ref).health_monitor == CHANGED
        assert [lb.health_monitor for lb in elbv2.get_list()] == [CHANGED]

        elbv2.client.calls.clear()
        elbv2.update(created.ref, spec(*MEMBERS[:2], monitor=CHANGED))
        assert not elbv2.client.named(*WRITES), "an unchanged spec changes nothing"

        removed = elbv2.update(created.ref, spec(*MEMBERS[:2]))

        assert check_of(group_of(raw, created.ref)) == expected_check("HTTP", 30, 5, 5, 2, "/up", "200-399")
        assert removed.health_monitor is None
        assert elbv2.get(created.ref).health_monitor is None
        assert MONITOR_TAG not in tags_of(raw, created.ref)
    finally:
        clean_up(elbv2)


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [
        ("HTTP", expected_check("HTTP", 30, 5, 5, 2, "/", "200-399")),
        ("TCP", expected_check("TCP", 30, 10, 5, 2)),
    ],
)
def test_without_a_monitor_the_target_group_runs_the_default_check(elbv2, raw, protocol, expected):
    created = elbv2.create(spec(MEMBERS[0], protocol=protocol), client_token=str(uuid4()))

    assert check_of(group_of(raw, created.ref)) == expected
    assert created.health_monitor is None
    assert MONITOR_TAG not in tags_of(raw, created.ref)
    # AWS checks the targets anyway: they report its health, not NO_MONITOR.
    assert [m.operating_status for m in elbv2.get(created.ref).members] == [OperatingStatus.ONLINE]


@pytest.mark.parametrize(
    ("monitor", "expected"),
    [
        (HealthMonitor(MonitorType.TCP, interval=5, timeout=2, retries_up=2, retries_down=10), ("TCP", 5, 2, 2, 10)),
        (
            HealthMonitor(MonitorType.HTTP, 300, 120, 10, 2, http_path="/s?x=1", expected_codes="200,500-599"),
            ("HTTP", 300, 120, 10, 2, "/s?x=1", "200,500-599"),
        ),
    ],
    ids=["tcp", "http"],
)
def test_a_network_load_balancer_takes_tcp_and_http_monitors_up_to_elbv2s_limits(elbv2, raw, monitor, expected):
    created = elbv2.create(spec(MEMBERS[0], protocol="TCP", monitor=monitor), client_token=str(uuid4()))

    assert check_of(group_of(raw, created.ref)) == expected_check(*expected)
    assert elbv2.get(created.ref).health_monitor == monitor


@pytest.mark.parametrize(
    ("protocol", "monitor", "fragments"),
    [
        ("HTTP", HealthMonitor(MonitorType.HTTP, interval=4, timeout=2), ["interval 4 s is outside ELBv2's 5-300 s"]),
        ("HTTP", HealthMonitor(MonitorType.HTTP, interval=400, timeout=100), ["interval 400 s", "5-300 s"]),
        ("TCP", HealthMonitor(MonitorType.TCP, interval=10, timeout=1), ["timeout 1 s is outside ELBv2's 2-120 s"]),
        ("TCP", HealthMonitor(MonitorType.TCP, interval=300, timeout=121), ["timeout 121 s", "2-120 s"]),
        ("HTTP", HealthMonitor(MonitorType.HTTP, retries_up=1), ["retries_up 1 is outside ELBv2's 2-10"]),
        ("TCP", HealthMonitor(MonitorType.TCP, retries_down=1), ["retries_down 1 is outside ELBv2's 2-10"]),
        (
            "HTTP",
            HealthMonitor(MonitorType.HTTP, interval=4, retries_up=1),
            ["interval 4 s", "retries_up 1", "HealthyThresholdCount"],
        ),
        ("HTTP", HealthMonitor(MonitorType.TCP), ["TCP monitor cannot check the members of an HTTP listener"]),
        (
            "HTTP",
            HealthMonitor(MonitorType.HTTP, expected_codes="200,500-502"),
            ["outside 200-499 (500, 501, 502)", "application load balancer"],
        ),
        ("HTTP", HealthMonitor(MonitorType.HTTP, expected_codes="101,200"), ["outside 200-499 (101)"]),
        (
            "TCP",
            HealthMonitor(MonitorType.HTTP, expected_codes="100-299"),
            ["outside 200-599 (100, 101, 102, 103, 104, ...)", "network load balancer"],
        ),
    ],
)
def test_what_elbv2_cannot_check_is_refused_before_anything_is_made_or_changed(
    elbv2, raw, protocol, monitor, fragments
):
    token = str(uuid4())
    with pytest.raises(ProviderRejected) as refused:
        elbv2.create(spec(MEMBERS[0], protocol=protocol, monitor=monitor), client_token=token)

    for fragment in fragments:
        assert fragment in refused.value.message
    assert elbv2.client.calls == []
    assert not [
        lb
        for lb in raw.describe_load_balancers()["LoadBalancers"]
        if lb["LoadBalancerName"] == elbv2.resource_name(token)
    ]

    ref = elbv2.create(spec(MEMBERS[0], protocol=protocol), client_token=token).ref
    before = group_of(raw, ref)
    elbv2.client.calls.clear()
    with pytest.raises(ProviderRejected, match="cannot run this health monitor"):
        elbv2.update(ref, spec(MEMBERS[0], protocol=protocol, monitor=monitor))
    assert elbv2.client.calls == []
    assert group_of(raw, ref) == before


# -- weights and drain ---------------------------------------------------------------------------


@pytest.mark.parametrize("weight", [0, 2, 256])
def test_a_weight_other_than_1_is_refused_before_anything_is_made_or_changed(elbv2, raw, weight):
    weighted = replace(MEMBERS[1], weight=weight)
    token = str(uuid4())

    with pytest.raises(ProviderRejected, match="no per-target weight") as refused:
        elbv2.create(spec(MEMBERS[0], weighted), client_token=token)
    assert f"10.20.2.11:8081 (weight {weight})" in refused.value.message
    assert "between target groups" in refused.value.message
    assert elbv2.client.calls == []
    assert error_code(lambda: raw.describe_load_balancers(Names=[elbv2.resource_name(token)])) == (
        "LoadBalancerNotFound"
    )

    ref = elbv2.create(spec(MEMBERS[0], MEMBERS[1]), client_token=token).ref
    elbv2.client.calls.clear()
    with pytest.raises(ProviderRejected, match="no per-target weight"):
        elbv2.update(ref, spec(MEMBERS[0], weighted, MEMBERS[2]))
    assert elbv2.client.calls == []
    assert targets_of(raw, group_of(raw, ref)["TargetGroupArn"]) == {("10.20.1.10", 8080), ("10.20.2.11", 8081)}


def test_a_member_in_drain_is_deregistered_and_never_registered_again(elbv2, raw):
    ref = elbv2.create(spec(*MEMBERS), client_token=str(uuid4())).ref
    group_arn = group_of(raw, ref)["TargetGroupArn"]
    elbv2.client.calls.clear()

    answer = elbv2.update(ref, spec(MEMBERS[0], drained(replace(MEMBERS[1], weight=7)), MEMBERS[2]))

    assert [
        (name, params["Targets"]) for name, params in elbv2.client.named("register_targets", "deregister_targets")
    ] == [("deregister_targets", [{"Id": "10.20.2.11", "Port": 8081}])]
    assert targets_of(raw, group_arn) == {("10.20.1.10", 8080), ("10.20.1.12", 9000)}
    assert tags_of(raw, ref)["portal:drain:1"] == "10.20.2.11:8081"
    # moto forgets a deregistered target at once: the member is left out (never ONLINE).
    assert ("10.20.2.11", 8081) not in {(m.address, m.port) for m in answer.members}

    elbv2.client.calls.clear()
    elbv2.update(ref, spec(MEMBERS[0], drained(MEMBERS[1]), MEMBERS[2]))
    assert not elbv2.client.named(*WRITES)

    elbv2.update(ref, spec(*MEMBERS))
    assert targets_of(raw, group_arn) == {("10.20.1.10", 8080), ("10.20.2.11", 8081), ("10.20.1.12", 9000)}
    assert not [key for key in tags_of(raw, ref) if key.startswith("portal:drain:")]


def test_a_member_in_drain_at_create_is_never_registered(elbv2, raw):
    ref = elbv2.create(spec(MEMBERS[0], drained(MEMBERS[1])), client_token=str(uuid4())).ref

    assert targets_of(raw, group_of(raw, ref)["TargetGroupArn"]) == {("10.20.1.10", 8080)}
    assert not elbv2.client.named("deregister_targets")
    assert tags_of(raw, ref)["portal:drain:1"] == "10.20.2.11:8081"


class AwsLike(Recording):
    """moto with what AWS does and moto does not: a deregistered target is listed
    ``draining`` until ``drained()`` (the deregistration delay is over), and a target in
    ``failing`` fails its health checks with the given reason and description."""

    DEREGISTERING = {
        "State": "draining",
        "Reason": "Target.DeregistrationInProgress",
        "Description": "Target deregistration is in progress",
    }

    def __init__(self, client: Any):
        super().__init__(client)
        self.deregistering: dict[str, set[tuple[str, int]]] = {}
        self.failing: dict[tuple[str, int], tuple[str, str]] = {}

    def register_targets(self, **params: Any) -> Any:
        self.calls.append(("register_targets", params))
        answer = self._client.register_targets(**params)
        targets = {(t["Id"], t["Port"]) for t in params["Targets"]}
        self.deregistering.get(params["TargetGroupArn"], set()).difference_update(targets)
        return answer

    def deregister_targets(self, **params: Any) -> Any:
        self.calls.append(("deregister_targets", params))
        answer = self._client.deregister_targets(**params)
        targets = {(t["Id"], t["Port"]) for t in params["Targets"]}
        self.deregistering.setdefault(params["TargetGroupArn"], set()).update(targets)
        return answer

    def describe_target_health(self, **params: Any) -> Any:
        self.calls.append(("describe_target_health", params))
        answer = self._client.describe_target_health(**params)
        for description in answer["TargetHealthDescriptions"]:
            failing = self.failing.get((description["Target"]["Id"], description["Target"]["Port"]))
            if failing:
                description["TargetHealth"] = {"State": "unhealthy", "Reason": failing[0], "Description": failing[1]}
        answer["TargetHealthDescriptions"] += [
            {"Target": {"Id": address, "Port": port}, "TargetHealth": dict(self.DEREGISTERING)}
            for address, port in sorted(self.deregistering.get(params["TargetGroupArn"], ()))
        ]
        return answer

    def drained(self) -> None:
        self.deregistering.clear()


@pytest.fixture
def aws_like(aws) -> Iterator[Elbv2LBaaS]:
    adapter = aws.adapter(client=AwsLike(aws.client("elbv2")))
    yield adapter
    clean_up(adapter)


def members_of(state: Any) -> dict[tuple[str, int], tuple[OperatingStatus, str | None]]:
    return {(m.address, m.port): (m.operating_status, m.reason) for m in state.members}


def test_a_member_in_drain_reads_draining_while_aws_drains_it_a_removed_one_is_gone(aws_like):
    ref = aws_like.create(spec(*MEMBERS), client_token=str(uuid4())).ref

    answer = aws_like.update(ref, spec(MEMBERS[0], drained(MEMBERS[1])))  # MEMBERS[2] removed

    draining = (OperatingStatus.DRAINING, "Target.DeregistrationInProgress: Target deregistration is in progress")
    expected = {("10.20.1.10", 8080): (OperatingStatus.ONLINE, None), ("10.20.2.11", 8081): draining}
    assert members_of(answer) == expected
    state = aws_like.get(ref)
    assert members_of(state) == expected
    assert state.operating_status is OperatingStatus.ONLINE
    assert [members_of(lb) for lb in aws_like.get_list()] == [expected]

    aws_like.client.calls.clear()
    aws_like.update(ref, spec(MEMBERS[0], drained(MEMBERS[1])))
    assert not aws_like.client.named(*WRITES), "a member AWS is draining is neither registered nor deregistered"

    aws_like.client.drained()  # the deregistration delay is over: AWS no longer lists them
    assert members_of(aws_like.get(ref)) == {("10.20.1.10", 8080): (OperatingStatus.ONLINE, None)}

    enabled = aws_like.update(ref, spec(MEMBERS[0], MEMBERS[1]))
    assert members_of(enabled) == {
        ("10.20.1.10", 8080): (OperatingStatus.ONLINE, None),
        ("10.20.2.11", 8081): (OperatingStatus.ONLINE, None),
    }


def test_the_drain_record_spans_several_tags_when_one_cannot_hold_it(aws_like, raw):
    members = [MemberSpec(f"10.20.{1 + i % 2}.{100 + i}", 8000 + i) for i in range(20)]
    ref = aws_like.create(spec(*members), client_token=str(uuid4())).ref

    state = aws_like.update(ref, spec(members[0], *map(drained, members[1:])))

    record = {key: value for key, value in tags_of(raw, ref).items() if key.startswith("portal:drain:")}
    assert sorted(record) == ["portal:drain:1", "portal:drain:2"]
    assert all(len(value) <= 255 for value in record.values())
    assert sorted(" ".join(record.values()).split()) == sorted(f"{m.address}:{m.port}" for m in members[1:])
    statuses = [status for status, _ in members_of(state).values()]
    assert statuses.count(OperatingStatus.DRAINING) == 19
    assert state.operating_status is OperatingStatus.ONLINE


def test_a_failing_targets_reason_is_aws_reason_and_description(aws_like):
    ref = aws_like.create(spec(*MEMBERS[:2], monitor=MONITOR), client_token=str(uuid4())).ref
    aws_like.client.failing[("10.20.2.11", 8081)] = (
        "Target.ResponseCodeMismatch",
        "Health checks failed with these codes: [500]",
    )

    state = aws_like.get(ref)

    assert members_of(state) == {
        ("10.20.1.10", 8080): (OperatingStatus.ONLINE, None),
        ("10.20.2.11", 8081): (
            OperatingStatus.ERROR,
            "Target.ResponseCodeMismatch: Health checks failed with these codes: [500]",
        ),
    }
    assert state.operating_status is OperatingStatus.DEGRADED


@pytest.mark.parametrize(
    ("target_health", "reason"),
    [
        ({"State": "initial", "Reason": "Elb.RegistrationInProgress"}, "Elb.RegistrationInProgress"),
        ({"State": "unhealthy", "Description": "Health checks timed out"}, "Health checks timed out"),
        ({"State": "healthy"}, None),
    ],
)
def test_a_reason_is_whatever_part_aws_gives(target_health, reason):
    [member] = stubbed({"Code": "active"}, [(target_health, None)]).get(ARN).members

    assert member.reason == reason


# -- the user's tags ---------------------------------------------------------------------------------


def portal_tags(tags: dict[str, str]) -> dict[str, str]:
    """The portal's identity tags among a load balancer's (its records left out)."""
    return {
        key: value
        for key, value in tags.items()
        if key.startswith("portal:") and key != MONITOR_TAG and not key.startswith(("portal:drain:", RECORD))
    }


def user_tags(tags: dict[str, str]) -> dict[str, str]:
    """A load balancer's tags that are not the portal's."""
    return {key: value for key, value in tags.items() if not key.startswith("portal:")}


RECORD = USER_KEYS_TAG_PREFIX


def record_of(tags: dict[str, str]) -> dict[str, str]:
    """The user-tag-keys record's tags."""
    return {key: value for key, value in tags.items() if key.startswith(RECORD)}


def test_the_specs_tags_go_on_the_load_balancer_and_follow_updates(aws, elbv2, raw):
    token = str(uuid4())
    ref = elbv2.create(spec(MEMBERS[0], tags=("web", "env=prod", "team=shop")), client_token=token).ref

    tags = tags_of(raw, ref)
    assert user_tags(tags) == {"web": "", "env": "prod", "team": "shop"}
    assert record_of(tags) == {f"{RECORD}1": "env team web"}
    identity = portal_tags(tags)
    assert identity[TOKEN_TAG] == token
    [listener] = raw.describe_listeners(LoadBalancerArn=ref)["Listeners"]
    for arn in (listener["ListenerArn"], listener["DefaultActions"][0]["TargetGroupArn"]):
        assert not {"web", "env", "team"} & set(tags_of(raw, arn)), "only the load balancer carries them"

    elbv2.client.calls.clear()
    elbv2.update(ref, spec(MEMBERS[0], tags=("web", "env=staging", "owner=ops")))

    tags = tags_of(raw, ref)
    assert user_tags(tags) == {"web": "", "env": "staging", "owner": "ops"}
    assert record_of(tags) == {f"{RECORD}1": "env owner web"}
    assert portal_tags(tags) == identity
    assert elbv2.client.named("remove_tags", "add_tags") == [
        ("remove_tags", {"ResourceArns": [ref], "TagKeys": ["team"]}),
        (
            "add_tags",
            {
                "ResourceArns": [ref],
                "Tags": [
                    {"Key": "env", "Value": "staging"},
                    {"Key": "owner", "Value": "ops"},
                    {"Key": f"{RECORD}1", "Value": "env owner web"},
                ],
            },
        ),
    ]

    elbv2.client.calls.clear()
    elbv2.update(ref, spec(MEMBERS[0], tags=("web", "env=staging", "owner=ops")))
    assert not elbv2.client.named("remove_tags", "add_tags")

    elbv2.update(ref, spec(MEMBERS[0]))
    assert tags_of(raw, ref) == identity, "the record goes with the last of the spec's tags"


def test_a_tag_put_there_outside_the_portal_survives_every_update(elbv2, raw):
    ref = elbv2.create(spec(MEMBERS[0], tags=("env=prod", "team=shop")), client_token=str(uuid4())).ref
    raw.add_tags(ResourceArns=[ref], Tags=[{"Key": "CostCenter", "Value": "42"}, {"Key": "audited", "Value": ""}])
    elbv2.client.calls.clear()

    elbv2.update(ref, spec(MEMBERS[0], tags=("env=staging",)))
    elbv2.update(ref, spec(MEMBERS[0], monitor=MONITOR))  # the spec's tags all gone, a record added
    elbv2.update(ref, spec(MEMBERS[1]))

    assert user_tags(tags_of(raw, ref)) == {"CostCenter": "42", "audited": ""}
    removed = [key for _, params in elbv2.client.named("remove_tags") for key in params["TagKeys"]]
    assert sorted(removed) == ["env", MONITOR_TAG, f"{RECORD}1", "team"]
    written = {tag["Key"] for _, params in elbv2.client.named("add_tags") for tag in params["Tags"]}
    assert not written & {"CostCenter", "audited"}


def test_a_key_put_there_outside_the_portal_is_the_specs_once_the_spec_names_it(elbv2, raw):
    ref = elbv2.create(spec(MEMBERS[0], tags=("env=prod",)), client_token=str(uuid4())).ref
    raw.add_tags(ResourceArns=[ref], Tags=[{"Key": "CostCenter", "Value": "42"}])

    elbv2.update(ref, spec(MEMBERS[0], tags=("env=prod", "CostCenter=7")))

    tags = tags_of(raw, ref)
    assert user_tags(tags) == {"env": "prod", "CostCenter": "7"}, "the spec's value wins"
    assert record_of(tags) == {f"{RECORD}1": "CostCenter env"}

    elbv2.update(ref, spec(MEMBERS[0], tags=("env=prod",)))

    tags = tags_of(raw, ref)
    assert user_tags(tags) == {"env": "prod"}, "the spec set it: dropped from the spec, it goes"
    assert record_of(tags) == {f"{RECORD}1": "env"}


def test_a_load_balancer_made_before_the_record_has_none_of_its_tags_removed(elbv2, raw):
    ref = elbv2.create(spec(MEMBERS[0], tags=("env=prod", "team=shop")), client_token=str(uuid4())).ref
    raw.remove_tags(ResourceArns=[ref], TagKeys=list(record_of(tags_of(raw, ref))))  # as made before the record
    raw.add_tags(ResourceArns=[ref], Tags=[{"Key": "CostCenter", "Value": "42"}])
    elbv2.client.calls.clear()

    elbv2.update(ref, spec(MEMBERS[0], tags=("env=staging", "owner=ops")))

    assert not elbv2.client.named("remove_tags"), "whose tag is team, the portal cannot tell"
    tags = tags_of(raw, ref)
    assert user_tags(tags) == {"env": "staging", "owner": "ops", "team": "shop", "CostCenter": "42"}
    assert record_of(tags) == {f"{RECORD}1": "env owner"}, "the record starts"

    elbv2.update(ref, spec(MEMBERS[0], tags=("env=staging",)))

    assert user_tags(tags_of(raw, ref)) == {"env": "staging", "team": "shop", "CostCenter": "42"}


def test_the_record_spans_several_tags_when_one_cannot_hold_it(elbv2, raw):
    keys = [f"k{i:02d}-{'x' * 59}" for i in range(10)]  # 63 characters, the longest key the portal allows
    ref = elbv2.create(spec(MEMBERS[0], tags=tuple(f"{key}=v" for key in keys)), client_token=str(uuid4())).ref

    record = record_of(tags_of(raw, ref))
    assert sorted(record) == [f"{RECORD}1", f"{RECORD}2", f"{RECORD}3"]
    assert all(len(value) <= 255 for value in record.values())
    assert sorted(" ".join(record.values()).split()) == keys

    elbv2.client.calls.clear()
    elbv2.update(ref, spec(MEMBERS[0], tags=tuple(f"{key}=v" for key in keys[:4])))

    [(_, removal)] = elbv2.client.named("remove_tags")
    assert removal["TagKeys"] == sorted([*keys[4:], f"{RECORD}2", f"{RECORD}3"])
    tags = tags_of(raw, ref)
    assert record_of(tags) == {f"{RECORD}1": " ".join(keys[:4])}
    assert sorted(user_tags(tags)) == keys[:4]


def test_tags_beyond_what_elbv2_allows_are_refused_before_anything_is_made(aws, raw):
    elbv2 = aws.adapter(client=Recording(aws.client("elbv2")), installation="portal-1")  # four portal tags
    try:
        fitting = tuple(f"label{i}" for i in range(44))  # their keys' record takes two tags
        ref = elbv2.create(spec(MEMBERS[0], tags=fitting), client_token=str(uuid4())).ref
        assert len(tags_of(raw, ref)) == 50
        assert len(record_of(tags_of(raw, ref))) == 2

        token = str(uuid4())
        elbv2.client.calls.clear()
        with pytest.raises(ProviderRejected, match="ELBv2 allows 50 tags a resource") as refused:
            elbv2.create(spec(MEMBERS[0], tags=(*fitting, "one-more")), client_token=token)
        assert "the portal's own take 6 (2 of them to record which tag keys the portal set)" in refused.value.message
        assert "leaves room for 44" in refused.value.message
        with pytest.raises(ProviderRejected, match="leaves room for 43"):
            elbv2.update(ref, spec(MEMBERS[0], tags=fitting, monitor=MONITOR))
        assert elbv2.client.calls == []
        assert error_code(lambda: raw.describe_load_balancers(Names=[elbv2.resource_name(token)])) == (
            "LoadBalancerNotFound"
        )
    finally:
        clean_up(elbv2)


def test_the_drain_record_takes_only_the_room_the_tags_leave(aws, raw):
    elbv2 = aws.adapter(installation="portal-1")
    try:
        members = [MemberSpec(f"10.20.1.{100 + i}", 8000 + i) for i in range(30)]
        tags = tuple(f"label{i}" for i in range(43))  # and two tags for their keys' record

        ref = elbv2.create(spec(members[0], *map(drained, members[1:]), tags=tags), client_token=str(uuid4())).ref

        found = tags_of(raw, ref)
        assert len(found) == 50
        assert [key for key in found if key.startswith("portal:drain:")] == ["portal:drain:1"]
    finally:
        clean_up(elbv2)


def made_with_others_tags(aws: MotoAWS, adapter: Elbv2LBaaS, token: str, others: int) -> str:
    """A load balancer as a create that stopped right after making it left it (the
    adapter's create then completes it), already carrying ``others`` tags put there
    outside the portal."""
    name = adapter.resource_name(token)
    tags = [{"Key": TOKEN_TAG, "Value": token}, {"Key": MANAGED_TAG, "Value": name.split("-")[0]}]
    tags += [{"Key": f"policy{i}", "Value": "x"} for i in range(others)]
    raw = aws.client("elbv2")
    return raw.create_load_balancer(Name=name, Subnets=aws.subnet_ids, Type="application", Tags=tags)["LoadBalancers"][
        0
    ]["LoadBalancerArn"]


def test_the_drain_record_takes_only_the_room_others_tags_leave(aws, elbv2, raw):
    token = str(uuid4())
    ref = made_with_others_tags(aws, elbv2, token, 48)  # and two identity tags: no room left

    created = elbv2.create(spec(MEMBERS[0], drained(MEMBERS[1])), client_token=token)

    assert created.ref == ref
    assert created.provisioning_status is ProvisioningStatus.ACTIVE
    assert not elbv2.client.named("add_tags", "remove_tags")
    tags = tags_of(raw, ref)
    assert len(tags) == 50
    assert not [key for key in tags if key.startswith("portal:drain:")]


def test_tags_that_would_not_fit_next_to_others_are_refused_before_anything_is_changed(aws, elbv2, raw):
    token = str(uuid4())
    ref = made_with_others_tags(aws, elbv2, token, 47)  # and two identity tags

    with pytest.raises(ProviderRejected, match="it would carry 51 tags and ELBv2 allows 50") as refused:
        elbv2.create(spec(MEMBERS[0], tags=("env=prod",)), client_token=token)  # and a tag for the record

    assert "47 of them were put there outside the portal (policy0, policy1, policy10, policy11, policy12, ...)" in (
        refused.value.message
    )
    assert not elbv2.client.named(*WRITES)
    assert len(tags_of(raw, ref)) == 49


# -- what runs, plans and drift ---------------------------------------------------------------------

# botocore names ELBv2's events after its service id, "Elastic Load Balancing v2".
CLIENT_PARAMS = "provide-client-params.elastic-load-balancing-v2.*"


class Sent:
    """Every call a real boto3 client makes, as its operation name and its parameters as
    given to the client, noted through botocore's event system (the adapter's own
    client, unwrapped)."""

    def __init__(self, client: Any):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        client.meta.events.register(CLIENT_PARAMS, self._note)

    def _note(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, copy.deepcopy(params)))

    @property
    def writes(self) -> list[tuple[str, dict[str, Any]]]:
        return [(name, params) for name, params in self.calls if not name.startswith("Describe")]


@pytest.fixture
def sent(aws) -> Iterator[tuple[Elbv2LBaaS, Sent]]:
    adapter = aws.adapter()
    yield adapter, Sent(adapter.client)
    clean_up(adapter)


def planned_calls(plan: ProviderPlan, filled: dict[str, str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The plan's operations as calls, its placeholders replaced by ``filled``."""

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        return (filled or {}).get(value, value) if isinstance(value, str) else value

    return [(operation.name, fill(dict(operation.params))) for operation in plan.operations]


def drift(adapter: Elbv2LBaaS, ref: str, wanted: LoadBalancerSpec) -> list[str]:
    running = adapter.get(ref).running
    assert running is not None
    return [change.field for change in spec_changes(adapter.as_running(wanted), running)]


def test_a_plan_then_an_update_makes_exactly_the_planned_calls(sent, raw):
    adapter, client = sent
    ref = adapter.create(spec(MEMBERS[0], MEMBERS[1], tags=("env=prod", "web")), client_token=str(uuid4())).ref
    changed = spec(
        drained(MEMBERS[0]),
        MEMBERS[1],
        MEMBERS[2],
        algorithm="LEAST_CONNECTIONS",
        monitor=MONITOR,
        tags=("env=staging", "web"),
    )
    client.calls.clear()

    planned = adapter.plan(ref, changed)

    assert client.writes == [], "a plan writes nothing"
    assert {name for name, _ in client.calls} <= {
        "DescribeLoadBalancers",
        "DescribeTags",
        "DescribeTargetGroups",
        "DescribeTargetGroupAttributes",
        "DescribeTargetHealth",
        "DescribeListeners",
    }
    assert [operation.name for operation in planned.operations] == [
        "ModifyTargetGroup",
        "ModifyTargetGroupAttributes",
        "RegisterTargets",
        "DeregisterTargets",
        "AddTags",
    ]
    client.calls.clear()

    adapter.update(ref, changed)

    assert client.writes == planned_calls(planned)
    assert drift(adapter, ref, changed) == []
    assert adapter.plan(ref, changed).operations == ()


def test_a_plan_of_a_create_is_the_create_s_calls_with_placeholders_for_what_aws_names(sent, raw):
    adapter, client = sent
    wanted = spec(MEMBERS[0], drained(MEMBERS[1]), protocol="TCP", algorithm="SOURCE_IP", tags=("team=shop",))

    planned = adapter.plan(None, wanted)

    assert client.calls == [], "without a load balancer there is nothing to read"
    assert all(json.loads(json.dumps(params)) == params for _, params in planned_calls(planned)), "plain JSON"
    assert [operation.name for operation in planned.operations] == [
        "CreateLoadBalancer",
        "CreateTargetGroup",
        "ModifyTargetGroupAttributes",
        "RegisterTargets",
        "CreateListener",
    ]
    token = str(uuid4())

    ref = adapter.create(wanted, client_token=token).ref

    group_arn = group_of(raw, ref)["TargetGroupArn"]
    filled = {
        NAME_PLACEHOLDER: adapter.resource_name(token),
        TOKEN_PLACEHOLDER: token,
        LB_ARN_PLACEHOLDER: ref,
        TG_ARN_PLACEHOLDER: group_arn,
    }
    assert client.writes == planned_calls(planned, filled)
    assert adapter.plan(ref, wanted).operations == (), "a create leaves nothing to do"
    assert drift(adapter, ref, wanted) == []


def test_a_repair_plans_what_was_changed_out_of_band_and_makes_exactly_that(aws, sent, raw):
    adapter, client = sent
    wanted = spec(*MEMBERS, monitor=MONITOR)
    ref = adapter.create(wanted, client_token=str(uuid4())).ref
    changed = tamper(aws, ref)
    [listener] = raw.describe_listeners(LoadBalancerArn=ref)["Listeners"]
    raw.modify_listener(ListenerArn=listener["ListenerArn"], Port=8000)  # moved in the console
    group_arn = group_of(raw, ref)["TargetGroupArn"]

    assert set(drift(adapter, ref, wanted)) == changed | {"listener_port"}
    client.calls.clear()
    planned = adapter.plan(ref, wanted)
    assert planned_calls(planned) == [
        ("ModifyTargetGroup", {"TargetGroupArn": group_arn, **params_of(MONITOR)}),
        (
            "ModifyTargetGroupAttributes",
            {
                "TargetGroupArn": group_arn,
                "Attributes": [
                    {"Key": "load_balancing.algorithm.type", "Value": "round_robin"},
                    {"Key": "stickiness.enabled", "Value": "false"},
                ],
            },
        ),
        ("RegisterTargets", {"TargetGroupArn": group_arn, "Targets": [{"Id": "10.20.1.10", "Port": 8080}]}),
        (
            "ModifyListener",
            {
                "ListenerArn": listener["ListenerArn"],
                "Protocol": "HTTP",
                "Port": 80,
                "DefaultActions": [{"Type": "forward", "TargetGroupArn": group_arn}],
            },
        ),
    ]
    client.calls.clear()

    adapter.update(ref, wanted)

    assert client.writes == planned_calls(planned)
    assert drift(adapter, ref, wanted) == []
    assert [(lst["Port"], lst["ListenerArn"]) for lst in raw.describe_listeners(LoadBalancerArn=ref)["Listeners"]] == [
        (80, listener["ListenerArn"])
    ]


def params_of(monitor: HealthMonitor) -> dict[str, Any]:
    return {
        "HealthCheckProtocol": monitor.type.value,
        "HealthCheckPort": "traffic-port",
        "HealthCheckIntervalSeconds": monitor.interval,
        "HealthCheckTimeoutSeconds": monitor.timeout,
        "HealthyThresholdCount": monitor.retries_up,
        "UnhealthyThresholdCount": monitor.retries_down,
        "HealthCheckPath": monitor.http_path,
        "Matcher": {"HttpCode": monitor.expected_codes},
    }


def test_what_runs_is_read_back_from_the_listener_the_attributes_the_targets_and_the_check(elbv2):
    wanted = spec(MEMBERS[0], drained(replace(MEMBERS[1], weight=5)), protocol="TCP", port=5432, algorithm="SOURCE_IP")
    ref = elbv2.create(wanted, client_token=str(uuid4())).ref

    running = elbv2.get(ref).running

    assert running is not None
    assert (running.listener_protocol, running.listener_port, running.algorithm) == ("TCP", 5432, "SOURCE_IP")
    assert running.members == (MEMBERS[0], drained(MEMBERS[1]))  # weight 1: ELBv2 has none
    assert running.health_monitor == HealthMonitor(
        MonitorType.TCP, interval=30, timeout=10, retries_up=5, retries_down=2
    )
    assert running == elbv2.as_running(wanted)


def test_without_a_monitor_as_running_is_the_default_check_and_every_weight_is_1(aws):
    adapter = aws.adapter(health_check_path="/up")
    wanted = spec(MEMBERS[0], drained(replace(MEMBERS[1], weight=0)))

    as_running = adapter.as_running(wanted)

    assert as_running.health_monitor == HealthMonitor(
        MonitorType.HTTP,
        interval=30,
        timeout=5,
        retries_up=5,
        retries_down=2,
        http_path="/up",
        expected_codes="200-399",
    )
    assert [m.weight for m in as_running.members] == [1, 1]
    tcp = HealthMonitor(MonitorType.TCP, interval=10, timeout=5, http_path="/ignored", expected_codes="204")
    assert adapter.as_running(spec(MEMBERS[0], protocol="TCP", monitor=tcp)).health_monitor == HealthMonitor(
        MonitorType.TCP, interval=10, timeout=5
    )


def test_attributes_that_are_no_algorithm_of_the_portal_s_show_as_themselves(elbv2, raw):
    wanted = spec(MEMBERS[0])
    ref = elbv2.create(wanted, client_token=str(uuid4())).ref
    group_arn = group_of(raw, ref)["TargetGroupArn"]
    raw.modify_target_group_attributes(
        TargetGroupArn=group_arn,
        Attributes=[{"Key": "stickiness.enabled", "Value": "true"}, {"Key": "stickiness.type", "Value": "lb_cookie"}],
    )

    running = elbv2.get(ref).running

    assert running is not None
    assert running.algorithm == (
        "elbv2: load_balancing.algorithm.type=round_robin, stickiness.enabled=true, stickiness.type=lb_cookie"
    )
    assert drift(elbv2, ref, wanted) == ["algorithm"]
    assert [operation.name for operation in elbv2.plan(ref, wanted).operations] == ["ModifyTargetGroupAttributes"]
    elbv2.update(ref, wanted)
    assert drift(elbv2, ref, wanted) == []


def test_a_member_aws_drains_runs_in_drain_a_removed_one_does_not_run(aws_like):
    ref = aws_like.create(spec(*MEMBERS), client_token=str(uuid4())).ref

    aws_like.update(ref, spec(MEMBERS[0], drained(MEMBERS[1])))  # MEMBERS[2] removed, AWS drains both

    running = aws_like.get(ref).running
    assert running is not None
    assert running.members == (MEMBERS[0], drained(MEMBERS[1]))


def test_the_list_reads_what_runs_with_three_calls_a_load_balancer(elbv2):
    specs = [spec(MEMBERS[0]), spec(MEMBERS[1], algorithm="LEAST_CONNECTIONS", monitor=MONITOR)]
    for wanted in specs:
        elbv2.create(wanted, client_token=str(uuid4()))
    elbv2.get_list()  # moto activates a load balancer the first time it is described
    elbv2.client.calls.clear()

    found = elbv2.get_list()

    assert [lb.running for lb in found] == [elbv2.as_running(wanted) for wanted in specs]
    assert Counter(name for name, _ in elbv2.client.calls) == {
        "describe_load_balancers": 1,
        "describe_tags": 1,
        "describe_target_groups": 1,
        "describe_target_health": 2,
        "describe_listeners": 2,
        "describe_target_group_attributes": 2,
    }


def test_only_a_complete_active_load_balancer_reports_what_it_runs(elbv2, raw):
    created = elbv2.create(spec(MEMBERS[0]), client_token=str(uuid4()))
    assert created.provisioning_status is ProvisioningStatus.PENDING_CREATE
    assert created.running is None
    [listener] = raw.describe_listeners(LoadBalancerArn=created.ref)["Listeners"]
    raw.delete_listener(ListenerArn=listener["ListenerArn"])

    assert elbv2.get(created.ref).running is None
    assert [operation.name for operation in elbv2.plan(created.ref, spec(MEMBERS[0])).operations] == ["CreateListener"]


class Racing(Recording):
    """A client on which another create with the same client token makes the target
    group just before this one asks for it."""

    def create_target_group(self, **params: Any) -> Any:
        self.calls.append(("create_target_group", params))
        self._client.create_target_group(**params)  # the other call's
        return self._client.create_target_group(**params)


def test_a_create_that_finds_its_target_group_made_meanwhile_reads_again_and_completes(aws, raw):
    adapter = aws.adapter(client=Racing(aws.client("elbv2")))
    try:
        created = adapter.create(spec(*MEMBERS[:2]), client_token=str(uuid4()))

        assert len(adapter.client.named("create_target_group")) == 1
        group_arn = group_of(raw, created.ref)["TargetGroupArn"]
        assert targets_of(raw, group_arn) == {("10.20.1.10", 8080), ("10.20.2.11", 8081)}
        assert adapter.plan(created.ref, spec(*MEMBERS[:2])).operations == ()
    finally:
        clean_up(adapter)


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "http_status", "expected"),
    [
        ("LoadBalancerNotFound", 400, ProviderResourceNotFound),
        ("TargetGroupNotFound", 400, ProviderResourceNotFound),
        ("ListenerNotFound", 400, ProviderResourceNotFound),
        ("Throttling", 400, ProviderUnavailable),
        ("ThrottlingException", 400, ProviderUnavailable),
        ("RequestLimitExceeded", 503, ProviderUnavailable),
        ("ServiceUnavailable", 503, ProviderUnavailable),
        ("InternalFailure", 500, ProviderUnavailable),
        ("SomethingNew", 502, ProviderUnavailable),
        ("ResourceInUse", 400, ProviderUnavailable),
        ("ValidationError", 400, ProviderRejected),
        ("TooManyLoadBalancers", 400, ProviderRejected),
        ("TooManyTargets", 400, ProviderRejected),
        ("AccessDenied", 403, ProviderRejected),
        ("InvalidClientTokenId", 403, ProviderRejected),
        ("InvalidTarget", 400, ProviderRejected),
    ],
)
def test_aws_errors_become_portal_errors_with_the_aws_message(code, http_status, expected):
    client = stub_client()
    stub = Stubber(client)
    stub.add_client_error(
        "describe_load_balancers", service_error_code=code, service_message="AWS says no", http_status_code=http_status
    )
    stub.activate()
    adapter = Elbv2LBaaS(region=REGION, vpc_id="vpc-1", subnet_ids=["subnet-1"], client=client)

    with pytest.raises(ProviderError) as caught:
        adapter.get(ARN)

    assert type(caught.value) is expected
    assert f"{code}: AWS says no" in caught.value.message
    assert isinstance(caught.value.__cause__, ClientError)


SDK_FAILURES = [
    (ConnectTimeoutError(endpoint_url="https://elasticloadbalancing.example"), ProviderUnavailable),
    (ReadTimeoutError(endpoint_url="https://elasticloadbalancing.example"), ProviderUnavailable),
    (ConnectionClosedError(endpoint_url="https://elasticloadbalancing.example"), ProviderUnavailable),
    (EndpointConnectionError(endpoint_url="https://elasticloadbalancing.example"), ProviderUnavailable),
    (CredentialRetrievalError(provider="process", error_msg="timed out"), ProviderUnavailable),
    (NoCredentialsError(), ProviderRejected),
    (ParamValidationError(report="Invalid type for parameter Port"), ProviderRejected),
    (
        ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeLoadBalancers"),
        ProviderUnavailable,
    ),
]
OPERATIONS = {
    "create": lambda c: c.create(spec(MEMBERS[0]), client_token="t"),
    "get": lambda c: c.get(ARN),
    "update": lambda c: c.update(ARN, spec(MEMBERS[0])),
    "delete": lambda c: c.delete(ARN),
    "get_list": lambda c: c.get_list(),
    "plan": lambda c: c.plan(ARN, spec(MEMBERS[0])),
}


@pytest.mark.parametrize(("exc", "expected"), SDK_FAILURES, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_no_sdk_exception_leaves_the_adapter(operation, exc, expected):
    adapter = Elbv2LBaaS(region=REGION, vpc_id="vpc-1", subnet_ids=["subnet-1"], client=Failing(exc))

    with pytest.raises(ProviderError) as caught:
        OPERATIONS[operation](adapter)

    assert type(caught.value) is expected
    assert not isinstance(caught.value, BotoCoreError | ClientError)
    assert caught.value.__cause__ is exc


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_an_endpoint_that_does_not_answer_is_unavailable(aws, operation):
    adapter = aws.adapter(endpoint_url=f"http://127.0.0.1:{free_port()}", connect_timeout=1)

    with pytest.raises(ProviderUnavailable, match="Could not connect") as caught:
        OPERATIONS[operation](adapter)

    assert isinstance(caught.value.__cause__, EndpointConnectionError)


def test_an_unknown_reference_is_gone_without_asking_aws():
    adapter = Elbv2LBaaS(region=REGION, vpc_id="vpc-1", subnet_ids=["subnet-1"], client=Failing(AssertionError()))

    with pytest.raises(ProviderResourceNotFound, match="not an ELBv2 load balancer ARN"):
        adapter.get("no-such-load-balancer")
    adapter.delete("no-such-load-balancer")


# -- refusals ---------------------------------------------------------------------------------------


def no_aws() -> Elbv2LBaaS:
    """An adapter whose every call to AWS fails the test."""
    return Elbv2LBaaS(
        region=REGION, vpc_id="vpc-1", subnet_ids=["subnet-1"], client=Failing(AssertionError("AWS was asked"))
    )


@pytest.mark.parametrize(
    ("refused", "fragment"),
    [
        (spec(MEMBERS[0], replace(MEMBERS[1], weight=2)), "10.20.2.11:8081 (weight 2)"),
        (
            spec(MEMBERS[0], monitor=HealthMonitor(MonitorType.HTTP, interval=2, timeout=1)),
            "interval 2 s is outside ELBv2's 5-300 s",
        ),
        (spec(MEMBERS[0], protocol="TCP", algorithm="LEAST_CONNECTIONS"), "no least-connections algorithm"),
        (spec(MEMBERS[0], tags=tuple(f"label{i}" for i in range(46))), "ELBv2 allows 50 tags a resource"),
        (spec(MEMBERS[0], tags=("cost center=42",)), "without spaces"),  # the record separates keys by spaces
    ],
    ids=["weight", "interval", "algorithm", "tags", "key"],
)
def test_refusals_are_what_create_would_refuse_without_asking_aws(refused, fragment):
    adapter = no_aws()

    found = adapter.refusals(refused)

    with pytest.raises(ProviderRejected) as caught:
        adapter.create(refused, client_token=str(uuid4()))
    assert found == [caught.value.message]
    assert fragment in found[0]
    for ref in (None, ARN):
        with pytest.raises(ProviderRejected) as planned:
            adapter.plan(ref, refused)
        assert [planned.value.message] == found


def test_a_spec_elbv2_can_honour_has_no_refusals():
    honoured = spec(
        MEMBERS[0],
        drained(replace(MEMBERS[1], weight=7)),
        monitor=MONITOR,
        tags=tuple(f"label{i}" for i in range(44)),
    )

    assert no_aws().refusals(honoured) == []
