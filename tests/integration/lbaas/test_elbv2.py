"""What the ELBv2 adapter promises beyond the contract: the mapping onto ELBv2
resources (checked by asking moto directly), tags, idempotent and repairing creates,
exact target changes, complete deletes, status and health mapping, and error
translation (no botocore exception leaves the adapter)."""

from __future__ import annotations

import re
from collections.abc import Iterator
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

from loadbalancers.adapters.lbaas.elbv2 import MANAGED_TAG, TOKEN_TAG, Elbv2LBaaS
from loadbalancers.application.lbaas import LoadBalancerSpec, MemberSpec
from loadbalancers.domain.errors import (
    ProviderError,
    ProviderRejected,
    ProviderResourceNotFound,
    ProviderUnavailable,
)
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus
from tests.integration.lbaas.elbv2_fixtures import (  # noqa: F401
    REGION,
    SESSION,
    MotoAWS,
    clean_up,
    elbv2_aws,
    free_port,
)

MEMBERS = [MemberSpec("10.20.1.10", 8080), MemberSpec("10.20.2.11", 8081), MemberSpec("10.20.1.12", 9000)]
NAME = "lbp-0123456789abcdef0123456789"
ARN = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/app/{NAME}/0123456789abcdef"
TG_ARN = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:targetgroup/{NAME}/fedcba9876543210"


def spec(*members: MemberSpec, protocol: str = "HTTP", port: int = 80, algorithm: str = "ROUND_ROBIN"):
    return LoadBalancerSpec("shop", protocol, port, algorithm, tuple(members))


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


def stubbed(state: dict[str, str], health: list[tuple[str, str]], *, listeners: bool = True) -> Elbv2LBaaS:
    """An adapter whose get() is answered by botocore's Stubber."""
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
                {"ResourceArn": ARN, "Tags": [{"Key": TOKEN_TAG, "Value": "t"}, {"Key": MANAGED_TAG, "Value": "lbp"}]}
            ]
        },
    )
    stub.add_response(
        "describe_target_groups",
        {"TargetGroups": [{"TargetGroupArn": TG_ARN, "TargetGroupName": NAME, "Protocol": "HTTP"}]},
    )
    stub.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {"Target": {"Id": f"10.20.1.{i}", "Port": 80}, "TargetHealth": {"State": target_state}}
                for i, (target_state, _) in enumerate(health)
            ]
        },
    )
    if state["Code"] in ("active", "active_impaired"):
        found = [{"ListenerArn": ARN.replace(":loadbalancer/", ":listener/") + "/1", "Port": 80}] if listeners else []
        stub.add_response("describe_listeners", {"Listeners": found})
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
