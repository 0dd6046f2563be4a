"""AWS Elastic Load Balancing v2 (through boto3) as an LBaaS provider.

One portal load balancer is three ELBv2 resources:

* a load balancer: an **application** load balancer for an HTTP listener, a **network**
  load balancer for a TCP one, in the configured subnets (``internal`` by default);
* a target group of target type ``ip`` holding the members as targets, each with its
  own port (the group's protocol is the listener's);
* one listener on the spec's port that forwards to that target group.

``ref`` is the load balancer's ARN and ``vip_address`` its DNS name.

Names and idempotency
    The load balancer and its target group (two separate ELBv2 namespaces) share one
    name, ``<name_prefix>-<hex>``, where the hex digits are a hash of the client token:
    at most 32 characters, alphanumerics and hyphens.  ``create`` first looks for a load
    balancer with that name and, whatever it finds, completes what is missing (target
    group, attributes, targets, listener), so a create retried with the same token, even
    after a failure half-way, ends with one complete load balancer.  The load balancer is
    made first: once it exists everything else can be found from it (by name), so a
    delete never leaves a target group behind.

Tags
    Everything the adapter creates carries ``portal:client-token`` (the token),
    ``portal:managed-by`` (the name prefix: the marker ``get_list`` and the ownership
    checks use), ``portal:installation`` (the portal installation that made it: two
    portals sharing an account and a prefix tell their resources apart by it) and
    ``portal:name`` (the portal's name, for people in the AWS console).
    ``get``, ``update`` and ``delete`` refuse a load balancer the marker does not mark as
    this portal's.

Algorithms (target group attributes)
    ============  ==================================  ===================================
    algorithm     HTTP (application load balancer)    TCP (network load balancer)
    ============  ==================================  ===================================
    ROUND_ROBIN   ``round_robin``                     flow hash, the only NLB algorithm:
                                                      each new connection goes to a target
                                                      chosen by a hash of its 5-tuple, so
                                                      connections spread evenly without
                                                      affinity, though not in strict turn
    LEAST_CONN.   ``least_outstanding_requests``      refused (NLBs have no such option)
    SOURCE_IP     refused: an ALB can only stick by   ``stickiness.type=source_ip``: every
                  cookie, which is not the same       connection from one client address
                                                      goes to the same target
    ============  ==================================  ===================================

    A refused combination raises ProviderRejected before anything is created or changed.

Status
    ``State.Code``: ``provisioning`` → PENDING_CREATE; ``active`` → ACTIVE;
    ``active_impaired`` → ACTIVE, operating status at best DEGRADED; ``failed`` → ERROR
    with ``State.Reason``.  An active load balancer whose target group or listener is
    missing (a create that stopped half-way) is ERROR; an update repairs it.
    Members come from DescribeTargetHealth (targets being deregistered, ``draining``,
    are no longer members): ``healthy`` → ONLINE; ``unhealthy`` (failing its health
    checks) → ERROR, as Octavia and the HAProxy adapter say; ``unused`` (the target gets
    no traffic: target group not in use, zone not enabled, address unusable) → OFFLINE;
    ``initial`` (first checks still running), ``unavailable`` (health checks
    off) and anything else → NO_MONITOR.  The load balancer: every member ONLINE →
    ONLINE; health not known for any member → NO_MONITOR; no member ONLINE (or no
    member at all) → OFFLINE; otherwise DEGRADED.  While provisioning it is OFFLINE, when
    failed ERROR.

Errors
    No botocore exception leaves the adapter.  LoadBalancerNotFound, TargetGroupNotFound
    and ListenerNotFound → ProviderResourceNotFound; throttling, 5xx, ServiceUnavailable,
    RequestLimitExceeded, ResourceInUse (a deletion still propagating), connection
    errors and timeouts → ProviderUnavailable; every other refusal (validation, quotas,
    permissions, missing credentials, invalid parameters) → ProviderRejected, with AWS's
    code and message in the text.

Plain Python around boto3: an import-linter contract keeps Django, DRF and Celery out.

Why one module of this size: the names, tags and translation tables at its top are the
contract between the client's methods, and most of the length is this description and
the one class that converges AWS's three resources (load balancer, target group,
listener) on a spec; split, each part would reach into the other's private helpers.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    MetadataRetrievalError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from loadbalancers.application.lbaas import LBaaSClient, LoadBalancerSpec, MemberHealth, ProviderLoadBalancer
from loadbalancers.domain.errors import (
    ProviderError,
    ProviderRejected,
    ProviderResourceNotFound,
    ProviderUnavailable,
)
from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.model import Algorithm, ListenerProtocol, OperatingStatus, ProvisioningStatus

TOKEN_TAG = "portal:client-token"
MANAGED_TAG = "portal:managed-by"
NAME_TAG = "portal:name"
INSTALLATION_TAG = "portal:installation"

NAME_MAX_LENGTH = 32
PREFIX_MAX_LENGTH = 15  # leaves at least 16 hex digits (64 bits) of the token's hash

LOAD_BALANCER_TYPE = {ListenerProtocol.HTTP: "application", ListenerProtocol.TCP: "network"}

# Target group attributes for each (protocol, algorithm) the adapter can honour.
ALGORITHM_ATTRIBUTES: dict[tuple[str, str], dict[str, str]] = {
    (ListenerProtocol.HTTP, Algorithm.ROUND_ROBIN): {
        "load_balancing.algorithm.type": "round_robin",
        "stickiness.enabled": "false",
    },
    (ListenerProtocol.HTTP, Algorithm.LEAST_CONNECTIONS): {
        "load_balancing.algorithm.type": "least_outstanding_requests",
        "stickiness.enabled": "false",
    },
    (ListenerProtocol.TCP, Algorithm.ROUND_ROBIN): {"stickiness.enabled": "false"},
    (ListenerProtocol.TCP, Algorithm.SOURCE_IP): {"stickiness.enabled": "true", "stickiness.type": "source_ip"},
}
REFUSED_COMBINATIONS = {
    (ListenerProtocol.HTTP, Algorithm.SOURCE_IP): (
        "an application load balancer (HTTP) cannot balance by source IP: it only sticks clients"
        " to targets by cookie, which is not the same; use TCP (a network load balancer with"
        " source-IP stickiness) or another algorithm"
    ),
    (ListenerProtocol.TCP, Algorithm.LEAST_CONNECTIONS): (
        "a network load balancer (TCP) has no least-connections algorithm (it places each"
        " connection by a flow hash); use ROUND_ROBIN or SOURCE_IP, or HTTP for least"
        " outstanding requests"
    ),
}

SCHEMES = ("internal", "internet-facing")

_NOT_FOUND = {"LoadBalancerNotFound", "TargetGroupNotFound", "ListenerNotFound"}
_TRANSIENT = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "ResourceInUse",
}
# Leaving a target group: no longer a member.
_LEAVING = {"draining", "unhealthy.draining"}
_MEMBER_STATUS = {
    "healthy": OperatingStatus.ONLINE,
    "unhealthy": OperatingStatus.ERROR,  # failing its health checks, as Octavia and HAProxy say
    "unused": OperatingStatus.OFFLINE,
    "initial": OperatingStatus.NO_MONITOR,
    "unavailable": OperatingStatus.NO_MONITOR,
}

_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_LOAD_BALANCER_ARN = re.compile(
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/(?:app|net)/([A-Za-z0-9-]{1,32})/[0-9a-f]+$"
)
_TAG_VALUE_UNSAFE = re.compile(r"[^\w .:/=+\-@]")
_DESCRIBE_TAGS_MAX = 20


class Elbv2LBaaS(LBaaSClient):
    """AWS ELBv2: HTTP → application load balancer, TCP → network load balancer, each
    with one ``ip`` target group and one listener (see the module's docstring).

    Settings: ``region``, ``vpc_id`` (the target groups' VPC, that of the subnets),
    ``subnet_ids`` (an ALB needs two availability zones), ``endpoint_url`` (None: AWS),
    ``access_key_id``/``secret_access_key``/``session_token`` (None: boto3's default
    credential chain), ``name_prefix`` (lower-case alphanumerics and hyphens, at most 15
    characters; it also scopes ``get_list``), ``scheme`` (``internal`` or
    ``internet-facing``), ``security_group_ids`` (None: the VPC's default group for an
    ALB, none for an NLB), ``health_check_path`` (HTTP target groups; any 2xx or 3xx
    passes), ``connect_timeout``/``read_timeout`` (seconds) and ``max_attempts`` (SDK
    attempts per call, the first one included: the portal retries on its own),
    ``proxies`` (None: the environment's HTTP(S)_PROXY, as boto3 does; {} for none).
    ``client`` replaces the boto3 client the adapter would make (for tests).
    """

    name = "elbv2"

    def __init__(
        self,
        *,
        region: str,
        vpc_id: str,
        subnet_ids: list[str],
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        name_prefix: str = "lbp",
        scheme: str = "internal",
        security_group_ids: list[str] | None = None,
        health_check_path: str = "/",
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        max_attempts: int = 3,
        proxies: dict[str, str] | None = None,
        client: Any = None,
        installation: str | None = None,
    ):
        if not region:
            raise ValueError("elbv2 region is required")
        if not vpc_id:
            raise ValueError("elbv2 vpc_id is required")
        if isinstance(subnet_ids, str) or not subnet_ids or not all(subnet_ids):
            raise ValueError(f"elbv2 subnet_ids must be a non-empty list of subnet ids (got {subnet_ids!r})")
        if (
            not _PREFIX.match(name_prefix)
            or len(name_prefix) > PREFIX_MAX_LENGTH
            or "--" in name_prefix
            or name_prefix.startswith("internal")
        ):
            raise ValueError(
                f"elbv2 name_prefix {name_prefix!r} must be 1-{PREFIX_MAX_LENGTH} lower-case letters, digits and"
                " single hyphens, neither starting nor ending with a hyphen nor starting with 'internal'"
            )
        if scheme not in SCHEMES:
            raise ValueError(f"elbv2 scheme must be one of {SCHEMES} (got {scheme!r})")
        if (access_key_id is None) != (secret_access_key is None):
            raise ValueError("elbv2 access_key_id and secret_access_key go together: give both or neither")
        if not (connect_timeout > 0 and read_timeout > 0):
            raise ValueError("elbv2 connect_timeout and read_timeout must be positive")
        if max_attempts < 1:
            raise ValueError(f"elbv2 max_attempts must be at least 1 (got {max_attempts!r})")
        self._vpc_id = vpc_id
        self._subnet_ids = list(subnet_ids)
        self._prefix = name_prefix
        self._scheme = scheme
        self._security_group_ids = list(security_group_ids) if security_group_ids else None
        self._health_check_path = health_check_path
        self._installation = installation
        if client is None:
            config = Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"mode": "standard", "total_max_attempts": max_attempts},
                proxies=proxies,
                user_agent_extra="lb-portal",
            )
            try:
                session = boto3.session.Session(
                    aws_access_key_id=access_key_id,
                    aws_secret_access_key=secret_access_key,
                    aws_session_token=session_token,
                    region_name=region,
                )
                client = session.client("elbv2", endpoint_url=endpoint_url, config=config)
            except (BotoCoreError, ValueError) as exc:
                raise ValueError(f"elbv2 client could not be configured: {exc}") from exc
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 ELBv2 client the adapter uses."""
        return self._client

    def resource_name(self, client_token: str) -> str:
        """The name of the load balancer and of the target group made for this token."""
        digest = hashlib.sha256(client_token.encode()).hexdigest()
        return f"{self._prefix}-{digest[: NAME_MAX_LENGTH - len(self._prefix) - 1]}"

    # -- the port ---------------------------------------------------------------------

    def create(self, spec: LoadBalancerSpec, *, client_token: str) -> ProviderLoadBalancer:
        attributes = _attributes_for(spec)
        name = self.resource_name(client_token)
        tags = self._tags_for(client_token, spec.name)
        try:
            lb = self._find_load_balancer(name)
            if lb is None:
                lb = self._create_load_balancer(name, spec, tags)
            owner = self._owner_tags(lb["LoadBalancerArn"])
            if owner.get(TOKEN_TAG) != client_token:
                raise ProviderRejected(
                    f"elbv2: a load balancer named {name} exists but was not made for client token {client_token}"
                )
            self._require_type(lb, spec)
            if lb.get("State", {}).get("Code") == "failed":  # reported as ERROR, nothing to complete
                return self._present(lb, owner, self._find_target_group(name))
            target_group = self._converge(lb, spec, attributes, tags)
        except ProviderResourceNotFound as gone:
            # Something vanished between two calls (deleted out of band): asking again
            # creates what is missing.
            raise ProviderUnavailable(f"elbv2: a resource disappeared while being created: {gone.message}") from gone
        return self._present(lb, owner, target_group)

    def get(self, ref: str) -> ProviderLoadBalancer:
        lb = self._load_balancer(ref)
        owner = self._owned(ref)
        return self._present(lb, owner, self._find_target_group(lb["LoadBalancerName"]))

    def update(self, ref: str, spec: LoadBalancerSpec) -> ProviderLoadBalancer:
        attributes = _attributes_for(spec)
        lb = self._load_balancer(ref)
        owner = self._owned(ref)
        self._require_type(lb, spec)
        state = lb.get("State", {})
        if state.get("Code") == "failed":
            raise ProviderRejected(f"elbv2: load balancer {ref} failed ({state.get('Reason') or 'no reason given'})")
        target_group = self._converge(lb, spec, attributes, self._tags_for(owner[TOKEN_TAG], spec.name))
        return self._present(lb, owner, target_group)

    def delete(self, ref: str) -> None:
        """Listeners first (which frees the target group), then the target group, the
        load balancer last: whatever step fails, a retried delete finds the rest from
        the load balancer, or from its name once it is gone."""
        match = _LOAD_BALANCER_ARN.match(ref)
        if match is None:
            return  # not a load balancer ARN: nothing of this adapter's
        name = match.group(1)
        try:
            lb: dict[str, Any] | None = self._load_balancer(ref)
        except ProviderResourceNotFound:
            lb = None
        if lb is not None:
            self._owned(ref)
            for listener in self._all("describe_listeners", "Listeners", LoadBalancerArn=ref):
                self._ignoring_not_found("delete_listener", ListenerArn=listener["ListenerArn"])
        target_group = self._find_target_group(name)
        if target_group is not None and self._is_ours(self._owner_tags(target_group["TargetGroupArn"])):
            self._ignoring_not_found("delete_target_group", TargetGroupArn=target_group["TargetGroupArn"])
        if lb is not None:
            self._ignoring_not_found("delete_load_balancer", LoadBalancerArn=ref)

    def get_list(self) -> list[ProviderLoadBalancer]:
        """Every load balancer marked as this portal's, oldest first (then by ARN)."""
        candidates = [
            lb
            for lb in self._all("describe_load_balancers", "LoadBalancers")
            if lb["LoadBalancerName"].startswith(f"{self._prefix}-")
        ]
        tags = self._tags_of([lb["LoadBalancerArn"] for lb in candidates])
        owned = [lb for lb in candidates if self._is_ours(tags.get(lb["LoadBalancerArn"]))]
        if not owned:
            return []
        groups = {tg["TargetGroupName"]: tg for tg in self._all("describe_target_groups", "TargetGroups")}
        found = []
        for lb in sorted(owned, key=_creation_order):
            arn = lb["LoadBalancerArn"]
            try:
                found.append(self._present(lb, tags[arn], groups.get(lb["LoadBalancerName"])))
            except ProviderResourceNotFound:
                continue  # deleted while we were looking
        return found

    # -- building -----------------------------------------------------------------------

    def _create_load_balancer(self, name: str, spec: LoadBalancerSpec, tags: list[dict[str, str]]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "Name": name,
            "Type": LOAD_BALANCER_TYPE[ListenerProtocol(spec.listener_protocol)],
            "Scheme": self._scheme,
            "Subnets": self._subnet_ids,
            "IpAddressType": "ipv4",
            "Tags": tags,
        }
        if self._security_group_ids:
            params["SecurityGroups"] = self._security_group_ids
        try:
            return self._call("create_load_balancer", **params)["LoadBalancers"][0]
        except ProviderRejected as exc:
            if _code(exc) != "DuplicateLoadBalancerName":
                raise
        # Another create with this token won the race (or the name is someone else's,
        # which the caller's ownership check reports).
        lb = self._find_load_balancer(name)
        if lb is None:
            raise ProviderUnavailable(f"elbv2: load balancer {name} is being created elsewhere; ask again")
        return lb

    def _converge(
        self, lb: dict[str, Any], spec: LoadBalancerSpec, attributes: dict[str, str], tags: list[dict[str, str]]
    ) -> dict[str, Any]:
        """Make the load balancer's target group, attributes, targets and listener match
        the spec, creating what is missing; returns the target group."""
        target_group = self._ensure_target_group(lb["LoadBalancerName"], spec, tags)
        arn = target_group["TargetGroupArn"]
        self._call(
            "modify_target_group_attributes",
            TargetGroupArn=arn,
            Attributes=[{"Key": key, "Value": value} for key, value in attributes.items()],
        )
        self._sync_targets(arn, spec)
        self._ensure_listener(lb["LoadBalancerArn"], arn, spec, tags)
        return target_group

    def _ensure_target_group(self, name: str, spec: LoadBalancerSpec, tags: list[dict[str, str]]) -> dict[str, Any]:
        protocol = ListenerProtocol(spec.listener_protocol)
        target_group = self._find_target_group(name)
        if target_group is None:
            params: dict[str, Any] = {
                "Name": name,
                "Protocol": protocol.value,
                "Port": spec.listener_port,  # each target is registered with its own port
                "VpcId": self._vpc_id,
                "TargetType": "ip",
                "Tags": tags,
            }
            if protocol is ListenerProtocol.HTTP:
                params |= {"HealthCheckPath": self._health_check_path, "Matcher": {"HttpCode": "200-399"}}
            try:
                target_group = self._call("create_target_group", **params)["TargetGroups"][0]
            except ProviderRejected as exc:
                if _code(exc) != "DuplicateTargetGroupName":
                    raise
                # Made meanwhile by another call with this token (checked below).
                target_group = self._find_target_group(name)
                if target_group is None:
                    raise ProviderUnavailable(f"elbv2: target group {name} is being created elsewhere") from exc
        if not self._is_ours(self._owner_tags(target_group["TargetGroupArn"])):
            raise ProviderRejected(f"elbv2: a target group named {name} exists that this portal did not make")
        if target_group.get("Protocol") != protocol.value or target_group.get("TargetType") != "ip":
            raise ProviderRejected(
                f"elbv2: target group {name} is {target_group.get('Protocol')}/{target_group.get('TargetType')},"
                f" not {protocol.value}/ip"
            )
        return target_group

    def _sync_targets(self, target_group_arn: str, spec: LoadBalancerSpec) -> None:
        """Register the members that are missing, then deregister the targets that are
        no longer members (new ones first, so the group is never emptier than needed)."""
        health = self._call("describe_target_health", TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
        current = {
            (d["Target"]["Id"], d["Target"]["Port"])
            for d in health
            if d.get("TargetHealth", {}).get("State") not in _LEAVING
        }
        wanted = {(m.address, m.port) for m in spec.members}
        if added := sorted(wanted - current):
            self._call(
                "register_targets",
                TargetGroupArn=target_group_arn,
                Targets=[{"Id": address, "Port": port} for address, port in added],
            )
        if removed := sorted(current - wanted):
            self._call(
                "deregister_targets",
                TargetGroupArn=target_group_arn,
                Targets=[{"Id": address, "Port": port} for address, port in removed],
            )

    def _ensure_listener(
        self, lb_arn: str, target_group_arn: str, spec: LoadBalancerSpec, tags: list[dict[str, str]]
    ) -> None:
        forward = [{"Type": "forward", "TargetGroupArn": target_group_arn}]
        for listener in self._all("describe_listeners", "Listeners", LoadBalancerArn=lb_arn):
            if listener.get("Port") != spec.listener_port:
                continue
            targets = [a.get("TargetGroupArn") for a in listener.get("DefaultActions", [])]
            if listener.get("Protocol") != spec.listener_protocol or targets != [target_group_arn]:
                self._call(
                    "modify_listener",
                    ListenerArn=listener["ListenerArn"],
                    Protocol=spec.listener_protocol,
                    DefaultActions=forward,
                )
            return
        self._call(
            "create_listener",
            LoadBalancerArn=lb_arn,
            Protocol=spec.listener_protocol,
            Port=spec.listener_port,
            DefaultActions=forward,
            Tags=tags,
        )

    # -- reading ------------------------------------------------------------------------

    def _load_balancer(self, ref: str) -> dict[str, Any]:
        if _LOAD_BALANCER_ARN.match(ref) is None:
            raise ProviderResourceNotFound(f"elbv2: no load balancer {ref!r} (not an ELBv2 load balancer ARN)")
        found = self._call("describe_load_balancers", LoadBalancerArns=[ref])["LoadBalancers"]
        if not found:
            raise ProviderResourceNotFound(f"elbv2: no load balancer {ref}")
        return found[0]

    def _find_load_balancer(self, name: str) -> dict[str, Any] | None:
        try:
            found = self._call("describe_load_balancers", Names=[name])["LoadBalancers"]
        except ProviderResourceNotFound:
            return None
        return min(found, key=_creation_order) if found else None

    def _find_target_group(self, name: str) -> dict[str, Any] | None:
        try:
            found = self._call("describe_target_groups", Names=[name])["TargetGroups"]
        except ProviderResourceNotFound:
            return None
        return found[0] if found else None

    def _present(
        self, lb: dict[str, Any], owner: dict[str, str], target_group: dict[str, Any] | None
    ) -> ProviderLoadBalancer:
        """The load balancer as the port reports it; ``owner`` are its portal tags."""
        arn = lb["LoadBalancerArn"]
        state = lb.get("State", {})
        code = state.get("Code")
        members = self._members(target_group["TargetGroupArn"]) if target_group else ()
        error = None
        if code == "provisioning":
            status, operating = ProvisioningStatus.PENDING_CREATE, OperatingStatus.OFFLINE
        elif code == "failed":
            status, operating = ProvisioningStatus.ERROR, OperatingStatus.ERROR
            error = f"elbv2: the load balancer failed: {state.get('Reason') or 'no reason given'}"
        elif code in ("active", "active_impaired"):
            missing = [] if target_group else [f"target group {lb['LoadBalancerName']}"]
            if not self._all("describe_listeners", "Listeners", LoadBalancerArn=arn):
                missing.append("listener")
            if missing:
                status, operating = ProvisioningStatus.ERROR, OperatingStatus.ERROR
                error = f"elbv2: the load balancer is incomplete (no {' and no '.join(missing)}); an update repairs it"
            else:
                status, operating = (
                    ProvisioningStatus.ACTIVE,
                    overall_operating_status(m.operating_status for m in members),
                )
                if code == "active_impaired" and operating in (OperatingStatus.ONLINE, OperatingStatus.NO_MONITOR):
                    operating = OperatingStatus.DEGRADED
        else:
            status, operating = ProvisioningStatus.ERROR, OperatingStatus.ERROR
            error = f"elbv2: the load balancer is in an unknown state {code!r}"
        return ProviderLoadBalancer(
            ref=arn,
            provisioning_status=status,
            operating_status=operating,
            vip_address=lb.get("DNSName"),
            members=members,
            error=error,
            client_token=owner[TOKEN_TAG],
            installation=owner.get(INSTALLATION_TAG),
        )

    def _members(self, target_group_arn: str) -> tuple[MemberHealth, ...]:
        health = self._call("describe_target_health", TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
        members = [
            MemberHealth(
                d["Target"]["Id"],
                d["Target"]["Port"],
                _MEMBER_STATUS.get(d.get("TargetHealth", {}).get("State", ""), OperatingStatus.NO_MONITOR),
            )
            for d in health
            if d.get("TargetHealth", {}).get("State") not in _LEAVING
        ]
        return tuple(sorted(members, key=lambda m: (m.address, m.port)))

    # -- ownership ----------------------------------------------------------------------

    def _tags_for(self, client_token: str, name: str) -> list[dict[str, str]]:
        tags = [
            {"Key": TOKEN_TAG, "Value": client_token},
            {"Key": MANAGED_TAG, "Value": self._prefix},
            {"Key": NAME_TAG, "Value": _TAG_VALUE_UNSAFE.sub("-", name)[:256] or "-"},
        ]
        if self._installation:
            tags.append({"Key": INSTALLATION_TAG, "Value": self._installation})
        return tags

    def _tags_of(self, arns: list[str]) -> dict[str, dict[str, str]]:
        tags: dict[str, dict[str, str]] = {}
        for start in range(0, len(arns), _DESCRIBE_TAGS_MAX):
            page = self._call("describe_tags", ResourceArns=arns[start : start + _DESCRIBE_TAGS_MAX])
            for description in page.get("TagDescriptions", []):
                tags[description["ResourceArn"]] = {t["Key"]: t.get("Value", "") for t in description.get("Tags", [])}
        return tags

    def _owner_tags(self, arn: str) -> dict[str, str]:
        return self._tags_of([arn]).get(arn, {})

    def _is_ours(self, tags: dict[str, str] | None) -> bool:
        return bool(tags) and tags.get(MANAGED_TAG) == self._prefix and bool(tags.get(TOKEN_TAG))

    def _owned(self, ref: str) -> dict[str, str]:
        """The tags of a load balancer a portal made; ProviderRejected for any other."""
        tags = self._owner_tags(ref)
        if not self._is_ours(tags):
            raise ProviderRejected(
                f"elbv2: load balancer {ref} is not managed by this portal (no {MANAGED_TAG}={self._prefix} tag)"
            )
        return tags

    @staticmethod
    def _require_type(lb: dict[str, Any], spec: LoadBalancerSpec) -> None:
        wanted = LOAD_BALANCER_TYPE[ListenerProtocol(spec.listener_protocol)]
        if lb.get("Type") != wanted:
            raise ProviderRejected(
                f"elbv2: load balancer {lb['LoadBalancerName']} is of type {lb.get('Type')!r}; a"
                f" {spec.listener_protocol} listener needs type {wanted!r} (the protocol cannot change)"
            )

    # -- the SDK ------------------------------------------------------------------------

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """One ELBv2 call; every SDK exception becomes a portal error (see _translate)."""
        try:
            return getattr(self._client, operation)(**params)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(operation, exc) from exc

    def _all(self, operation: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of a describe call (ELBv2 pages with Marker / NextMarker)."""
        items: list[dict[str, Any]] = []
        marker = None
        while True:
            page = self._call(operation, **params, **({"Marker": marker} if marker else {}))
            items.extend(page.get(key, []))
            marker = page.get("NextMarker")
            if not marker:
                return items

    def _ignoring_not_found(self, operation: str, **params: Any) -> None:
        with contextlib.suppress(ProviderResourceNotFound):
            self._call(operation, **params)


def _attributes_for(spec: LoadBalancerSpec) -> dict[str, str]:
    """The target group attributes for the spec's algorithm; ProviderRejected when ELBv2
    cannot honour the combination."""
    if spec.listener_protocol not in LOAD_BALANCER_TYPE:
        raise ProviderRejected(f"elbv2 supports HTTP and TCP listeners, not {spec.listener_protocol!r}")
    combination = (spec.listener_protocol, spec.algorithm)
    if combination in REFUSED_COMBINATIONS:
        raise ProviderRejected(
            f"elbv2 cannot honour {spec.algorithm} on {spec.listener_protocol}: {REFUSED_COMBINATIONS[combination]}"
        )
    if combination not in ALGORITHM_ATTRIBUTES:
        raise ProviderRejected(f"elbv2 does not know the algorithm {spec.algorithm!r}")
    return ALGORITHM_ATTRIBUTES[combination]


def _translate(operation: str, exc: ClientError | BotoCoreError) -> ProviderError:
    """A portal error for an SDK exception, with AWS's code and message in the text."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        text = f"elbv2 {operation}: {code}: {message}"
        details = {"operation": operation, "code": code}
        if code in _NOT_FOUND:
            return ProviderResourceNotFound(text, details=details)
        if code in _TRANSIENT or status >= 500 or status == 429:
            return ProviderUnavailable(text, details=details)
        return ProviderRejected(text, details=details)
    text = f"elbv2 {operation}: {exc}"
    details = {"operation": operation, "code": type(exc).__name__}
    # Connection refused, reset or cut, connect and read timeouts, a credential source
    # (instance metadata, a credential process) that did not answer: worth asking again.
    if isinstance(exc, BotoConnectionError | HTTPClientError | CredentialRetrievalError | MetadataRetrievalError):
        return ProviderUnavailable(text, details=details)
    # Invalid parameters, missing credentials, configuration: asking again will not help.
    return ProviderRejected(text, details=details)


def _code(exc: ProviderError) -> str:
    return str(exc.details.get("code", ""))


def _creation_order(lb: dict[str, Any]) -> tuple[float, str]:
    created = lb.get("CreatedTime")
    return (created.timestamp() if created is not None else 0.0, lb["LoadBalancerArn"])
