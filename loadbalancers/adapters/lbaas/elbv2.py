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
    this portal's; nothing the adapter does changes or removes these four.

    The spec's tags go on the load balancer (not on its target group or listener) as AWS
    tags: ``key=value`` → Key ``key``, Value ``value``; a label ``web`` → Key ``web``,
    Value ``""``.  The load balancer may carry tags others put there (in the AWS console,
    by an organisation's tag policy, by another tool), which the portal must not remove:
    an account may even forbid removing them.  So the adapter only ever removes tag keys
    it set itself, and records them on the load balancer: ``portal:user-tag-keys:1``,
    ``portal:user-tag-keys:2``, … hold the keys of the spec's tags, sorted, separated by
    spaces, at most 255 characters a tag.  An update adds what is new or changed
    (AddTags), removes (RemoveTags) each key of the previous record that the spec no
    longer names, and rewrites the record.  A tag whose key is not in the record is
    neither removed nor changed, unless the spec names its key: then the spec's value
    wins and the key enters the record (and goes once the spec drops it).  A load
    balancer made before the record existed has none: its first update removes none of
    its tags (a tag's owner cannot be told) and starts the record.
    The adapter also keeps two more records of its own on the load balancer, read by
    ``get`` and ``get_list`` at no extra cost: ``portal:health-monitor`` (present when
    the spec asks for a health monitor, see below) and ``portal:drain:1``,
    ``portal:drain:2``, … (the members in drain, as ``address:port`` separated by spaces,
    at most 255 characters a tag).  Each record is removed once it has nothing to say.
    ELBv2 allows 50 tags a resource (``aws:*`` ones not counted): a spec whose tags would
    not fit next to the portal's own (up to four identity tags, one more with a monitor,
    and the tags the record of the spec's keys takes) is refused before anything is
    created or changed.  The drain record takes what room is left next to these and
    the tags others put there, and a member it has no room for is simply left out of
    ``get`` while AWS drains it (see Members).  An update whose tags would not fit next
    to the tags others put on the load balancer is refused (ProviderRejected, naming
    them) before anything is changed.  (The 50, and that ``aws:*`` tags do not count:
    "Tag an Application Load Balancer" in the Application Load Balancers guide.)

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
    Members come from DescribeTargetHealth: ``healthy`` → ONLINE; ``unhealthy`` (failing
    its health checks) → ERROR, as Octavia and the HAProxy adapter say; ``unused`` (the
    target gets no traffic: target group not in use, zone not enabled, address unusable)
    → OFFLINE; ``initial`` (first checks still running), ``unavailable`` (health checks
    off) and anything else → NO_MONITOR; ``draining`` and ``unhealthy.draining`` (being
    deregistered) → DRAINING for a member in drain, and no member at all for a target
    that was removed from the spec.  Each member's ``reason`` is AWS's TargetHealth
    ``Reason: Description`` (``Target.ResponseCodeMismatch: Health checks failed with
    these codes: [500]``), when AWS gives one (never for ``healthy``).  The load
    balancer's operating status is ``overall_operating_status`` of its members' (members
    in drain left out); ``active_impaired`` makes it at best DEGRADED.  While
    provisioning it is OFFLINE, when failed ERROR.

Health checks (the target group's)
    ELBv2 always checks the targets of an ``ip`` target group: health checks cannot be
    turned off.  So without a health monitor the target group runs the adapter's own
    check and members report AWS's real health (ONLINE, ERROR, …), never NO_MONITOR:
    an HTTP target group GETs the ``health_check_path`` setting expecting 200-399, a TCP
    one opens a connection; both every 30 s, timeout 5 s (HTTP) or 10 s (TCP), healthy
    after 5 checks, unhealthy after 2 (AWS's defaults for ``ip`` target groups).  Removing
    a monitor puts these back.  ``health_monitor`` of the answer is then None.

    A spec's monitor becomes the target group's check, at CreateTargetGroup and, when it
    differs from what the group runs, through ModifyTargetGroup:

    ==============  =================================================================
    monitor         target group
    ==============  =================================================================
    type            ``HealthCheckProtocol`` HTTP or TCP; ``HealthCheckPort``
                    ``traffic-port`` (each target's own port)
    interval        ``HealthCheckIntervalSeconds``
    timeout         ``HealthCheckTimeoutSeconds``
    retries_up      ``HealthyThresholdCount``
    retries_down    ``UnhealthyThresholdCount``
    http_path       ``HealthCheckPath`` (HTTP)
    expected_codes  ``Matcher.HttpCode`` as written (HTTP): ELBv2 takes the same ``200``,
                    ``200,202`` and ``200-299`` forms
    ==============  =================================================================

    Refused (ProviderRejected, before anything is created or changed, every problem
    named with ELBv2's limit), after the CreateTargetGroup and ModifyTargetGroup API
    reference (the ranges botocore's service model carries) and the Application and
    Network Load Balancer guides' health check settings: ``interval`` outside
    5-300 s, ``timeout`` outside 2-120 s, ``retries_up`` or ``retries_down`` outside 2-10
    (the portal allows 1-3600 s and 1-10); a TCP monitor on an HTTP listener (an
    application load balancer's HTTP target group is checked over HTTP(S) only);
    ``expected_codes`` outside 200-499 on an HTTP listener (application load balancer) or
    outside 200-599 for an HTTP check on a TCP listener (network load balancer).

    ``health_monitor`` of the answer, when the spec asked for a monitor (the
    ``portal:health-monitor`` tag says so), is read back from the target group as AWS
    reports it: HealthCheckProtocol HTTP or HTTPS → HTTP (with its path and codes), TCP
    → TCP, and the timings and thresholds above.  Read back rather than taken from the
    spec, so that a check changed in the AWS console shows.

Members: weights and drain
    An ELBv2 target group has no per-target weight: it spreads new requests or
    connections evenly over its healthy targets (weighted forwarding exists only
    between target groups, in a listener's forward action).  A spec with an enabled
    member of weight other than 1 is refused (ProviderRejected, before anything is
    created or changed); a member in drain gets no traffic whatever its weight.
    A member in drain is deregistered from the target group (and never registered
    again while it is in drain): AWS stops sending it new requests or connections and
    lets the current ones finish for the group's deregistration delay (300 s unless
    changed), reporting it ``draining`` meanwhile: DRAINING here.  Once the delay is over
    AWS no longer lists it and neither does ``get``; the portal reads a member in drain
    as DRAINING whatever the provider says.

Plans: every write is a planned step
    ``create`` and ``update`` first read what there is (Describe* calls only: the load
    balancer and its tags, its listeners, its target group with the group's tags,
    attributes and targets' health), then compute from it, with one function, the ELBv2
    calls that make it run the spec, and make exactly these, in order.  ``plan(ref,
    spec)`` reads the same and answers the same calls without making them: each a
    ProviderOperation of the API operation's name (``ModifyTargetGroupAttributes``) and
    its parameters as given to boto3 (plain JSON).  So a plan followed by an update,
    with nothing changed at AWS meanwhile, makes exactly the planned calls.  A call is
    only planned where what runs differs from what the spec asks, so a load balancer
    that runs the spec plans nothing; the order is CreateLoadBalancer,
    CreateTargetGroup or ModifyTargetGroup (the health check), ModifyTargetGroupAttributes
    (the algorithm), RegisterTargets, DeregisterTargets, CreateListener or ModifyListener
    (the listener on the spec's port, or the one forwarding to the target group from
    another port, moved back), RemoveTags, AddTags.
    ``plan(None, spec)`` is what ``create`` does where nothing exists yet, and asks AWS
    nothing.  Without a client token the resources' name and the token tag are the
    placeholders ``<name>`` and ``<client token>``; the ARNs AWS gives what a step
    creates are ``<load balancer ARN>`` and ``<target group ARN>`` in the steps after it
    (an update that repairs a missing target group plans with the latter too), which
    ``create`` and ``update`` fill in as AWS answers.  A spec ELBv2 cannot honour is
    refused by ``plan`` as by ``create`` and ``update`` (ProviderRejected, before any
    call), and so are a load balancer that is not this portal's, a failed one and a
    change of protocol.  Should a step find that what it creates was made meanwhile (a
    concurrent call with the same token: DuplicateLoadBalancerName or
    DuplicateTargetGroupName), ``create`` or ``update`` reads again and makes the steps
    left, once; after a second such race it is ProviderUnavailable (ask again).

What runs (``running``) and drift
    The answer about an ACTIVE load balancer that is complete (``get``, ``get_list``,
    ``update``) carries ``running``, the spec it runs, read back from AWS; otherwise
    (provisioning, failed, incomplete) ``running`` is None.  Listener protocol and port
    are the listener's that forwards to the target group (the lowest port of several;
    without one, the lowest port of all).  The algorithm is the Algorithms table read
    backwards from the target group's attributes: on an application load balancer
    ``round_robin`` → ROUND_ROBIN, ``least_outstanding_requests`` → LEAST_CONNECTIONS
    (both without stickiness); on a network load balancer ``source_ip`` stickiness →
    SOURCE_IP, no stickiness → ROUND_ROBIN.  Attributes that are none of these (cookie
    stickiness turned on in the console, an algorithm the portal does not know) are
    shown as they are, ``elbv2: load_balancing.algorithm.type=round_robin,
    stickiness.enabled=true, stickiness.type=lb_cookie``, so that they read as a
    change.  Members: every registered target not being deregistered is an enabled
    member of weight 1; every other member of the drain record is a member in drain of
    weight 1 (one registered again out of band is enabled, so it reads as a change).
    The health monitor is the target group's check as ``health_monitor`` reads it
    (above), whether or not the spec asked for one.  Name and tags come from
    ``portal:name`` and the user-tag-keys record (they are labels, not compared).
    ``as_running(spec)`` is the spec as ``running`` shows it once applied: every weight 1
    (ELBv2 has none: refused for enabled members, meaningless in drain) and the health
    check the target group runs for it (the monitor with a TCP one's HTTP fields at
    their defaults, or the default check without one), so that ``spec_changes`` between
    ``as_running(spec)`` and ``running`` finds nothing on a load balancer nobody touched.
    Out of ``running``'s sight: the health check's port (``traffic-port``, which a plan
    restores all the same), a listener someone added beside the portal's on a lower port
    forwarding to the same target group (then read as the one running), and a member in
    drain the drain record had no room for (Tags).

    What it costs: ``get`` of a complete active load balancer makes DescribeLoadBalancers,
    DescribeTags, DescribeTargetGroups, DescribeTargetHealth, DescribeListeners and
    DescribeTargetGroupAttributes.  ``get_list`` makes DescribeLoadBalancers,
    DescribeTags (20 load balancers a call) and DescribeTargetGroups (all the account's,
    paged) once for all, then per load balancer DescribeTargetHealth, and for an active
    one DescribeListeners and DescribeTargetGroupAttributes: three calls a load balancer.
    ELBv2 has no call that describes the listeners of several load balancers, or the
    attributes or targets of several target groups, at once; ``running`` costs one of
    them (the attributes), the rest ``get_list`` made already for status and members.
    ``plan(ref, spec)`` and ``update`` read DescribeLoadBalancers, DescribeTags (load
    balancer and target group), DescribeListeners, DescribeTargetGroups,
    DescribeTargetGroupAttributes and DescribeTargetHealth before any step.

Errors
    No botocore exception leaves the adapter.  LoadBalancerNotFound, TargetGroupNotFound
    and ListenerNotFound → ProviderResourceNotFound; throttling, 5xx, ServiceUnavailable,
    RequestLimitExceeded, ResourceInUse (a deletion still propagating), connection
    errors and timeouts → ProviderUnavailable; every other refusal (validation, quotas,
    permissions, missing credentials, invalid parameters) → ProviderRejected, with AWS's
    code and message in the text.
    ``refusals(spec)`` tells, without asking AWS, whether ``create`` and ``update`` would
    refuse a spec for what ELBv2 cannot honour (a listener protocol other than HTTP or
    TCP, the algorithm, weights, the health monitor, the number of tags): the refusal's
    message, or nothing.  What depends on the load balancer as it is (a change of
    protocol, tags others put on it) only ``update`` itself finds.

Plain Python around boto3: an import-linter contract keeps Django, DRF and Celery out.

Why one module of this size: the names, tags and translation tables at its top are the
contract between the client's methods, and most of the length is this description and
the one class that plans and applies the calls that converge AWS's three resources
(load balancer, target group, listener) on a spec and reads back what they run; split,
each part would reach into the other's private helpers.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass, field, replace
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

from loadbalancers.application.lbaas import (
    LBaaSClient,
    LoadBalancerSpec,
    MemberHealth,
    MemberSpec,
    ProviderLoadBalancer,
    ProviderOperation,
    ProviderPlan,
)
from loadbalancers.domain.errors import (
    ProviderError,
    ProviderRejected,
    ProviderResourceNotFound,
    ProviderUnavailable,
)
from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.members import AdminState
from loadbalancers.domain.model import Algorithm, ListenerProtocol, OperatingStatus, ProvisioningStatus
from loadbalancers.domain.monitors import HealthMonitor, MonitorType

TOKEN_TAG = "portal:client-token"
MANAGED_TAG = "portal:managed-by"
NAME_TAG = "portal:name"
INSTALLATION_TAG = "portal:installation"
# The adapter's own records on the load balancer (see Tags in the module's docstring).
MONITOR_TAG = "portal:health-monitor"
DRAIN_TAG_PREFIX = "portal:drain:"
USER_KEYS_TAG_PREFIX = "portal:user-tag-keys:"
RESERVED_TAG_PREFIXES = ("portal:", "aws:")
TAGS_MAX = 50  # per resource, aws:* tags not counted
TAG_VALUE_MAX = 255
TAG_KEY_MAX = 128

NAME_MAX_LENGTH = 32
PREFIX_MAX_LENGTH = 15  # leaves at least 16 hex digits (64 bits) of the token's hash

LOAD_BALANCER_TYPE = {ListenerProtocol.HTTP: "application", ListenerProtocol.TCP: "network"}
_PROTOCOL_OF_TYPE = {kind: protocol for protocol, kind in LOAD_BALANCER_TYPE.items()}

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

TRAFFIC_PORT = "traffic-port"
# ELBv2's ranges for a target group's health check: monitor field → (lowest, highest,
# unit, the target group's field).
CHECK_LIMITS = {
    "interval": (5, 300, " s", "HealthCheckIntervalSeconds"),
    "timeout": (2, 120, " s", "HealthCheckTimeoutSeconds"),
    "retries_up": (2, 10, "", "HealthyThresholdCount"),
    "retries_down": (2, 10, "", "UnhealthyThresholdCount"),
}
# The status codes an HTTP check may expect, by listener protocol (load balancer type).
MATCHER_CODES = {ListenerProtocol.HTTP: (200, 499), ListenerProtocol.TCP: (200, 599)}
# The check a target group runs when the spec asks for none (AWS's defaults for ip
# target groups; the HTTP path is the adapter's health_check_path setting).
DEFAULT_CHECKS = {
    ListenerProtocol.HTTP: HealthMonitor(
        MonitorType.HTTP, interval=30, timeout=5, retries_up=5, retries_down=2, expected_codes="200-399"
    ),
    ListenerProtocol.TCP: HealthMonitor(MonitorType.TCP, interval=30, timeout=10, retries_up=5, retries_down=2),
}

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
# Being deregistered: DRAINING for a member in drain, else no longer a member.
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
# A key the user-tag-keys record can hold: the record separates keys by spaces.
_RECORDABLE_KEY = re.compile(rf"\S{{1,{TAG_KEY_MAX}}}")
_DESCRIBE_TAGS_MAX = 20
# The target group attributes that choose the algorithm, as ``running`` shows ones that
# match no algorithm of the portal's.
_ALGORITHM_KEYS = ("load_balancing.algorithm.type", "stickiness.enabled", "stickiness.type")
# The placeholders of a plan (see Plans in the module's docstring): a create's name and
# client token (unknown to plan(None, spec)), and the ARNs of what the steps create.
NAME_PLACEHOLDER = "<name>"
TOKEN_PLACEHOLDER = "<client token>"
LB_ARN_PLACEHOLDER = "<load balancer ARN>"
TG_ARN_PLACEHOLDER = "<target group ARN>"
_SURVEYS = 2  # reads and plans a create or update makes when a concurrent call made what it was to create
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")  # CreateLoadBalancer -> create_load_balancer


@dataclass(frozen=True)
class _Asked:
    """What a spec asks of ELBv2, checked before anything is read, created or changed."""

    attributes: dict[str, str]
    """The target group's attributes (the algorithm)."""
    check: HealthMonitor
    """The health check the target group runs."""
    monitored: bool
    """Whether the spec asked for a health monitor (else ``check`` is the default one)."""
    tags: dict[str, str]
    """The spec's tags as AWS tags."""
    draining: tuple[tuple[str, int], ...]
    """The members in drain, in order."""


@dataclass(frozen=True)
class _Found:
    """One portal load balancer's resources as ELBv2 describes them now (Describe* calls
    only); empty where nothing exists yet."""

    lb: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    """The load balancer's."""
    target_group: dict[str, Any] | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    """The target group's."""
    health: list[dict[str, Any]] = field(default_factory=list)
    """The target group's TargetHealthDescriptions."""
    listeners: list[dict[str, Any]] = field(default_factory=list)
    """The load balancer's."""


class _Raced(Exception):
    """A create step found its resource made meanwhile (by a call with the same client
    token): the steps were planned on a state that no longer holds."""


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
    ``health_check_path`` is only the check of a load balancer whose spec has no health
    monitor: a monitor brings its own.
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
        asked = self._asked(spec)
        name = self.resource_name(client_token)
        identity = self._tags_for(client_token, spec.name)
        try:
            for _ in range(_SURVEYS):
                lb = self._find_load_balancer(name)
                owner: dict[str, str] = {}
                if lb is not None:
                    owner = self._owner_tags(lb["LoadBalancerArn"])
                    if owner.get(TOKEN_TAG) != client_token:
                        raise ProviderRejected(
                            f"elbv2: a load balancer named {name} exists but was not made for client token"
                            f" {client_token}"
                        )
                    self._require_type(lb, spec)
                    if lb.get("State", {}).get("Code") == "failed":  # reported as ERROR, nothing to complete
                        return self._present(lb, owner, self._find_target_group(name))
                found = self._read(lb, owner, name, spec)
                try:
                    return self._apply(found, self._steps(found, spec, asked, name, identity))
                except _Raced:
                    continue  # made meanwhile by a create with the same token: look again
        except ProviderResourceNotFound as gone:
            # Something vanished between two calls (deleted out of band): asking again
            # creates what is missing.
            raise ProviderUnavailable(f"elbv2: a resource disappeared while being created: {gone.message}") from gone
        raise ProviderUnavailable(f"elbv2: load balancer {name} is being created by another call; ask again")

    def get(self, ref: str) -> ProviderLoadBalancer:
        lb = self._load_balancer(ref)
        owner = self._owned(ref)
        return self._present(lb, owner, self._find_target_group(lb["LoadBalancerName"]))

    def update(self, ref: str, spec: LoadBalancerSpec) -> ProviderLoadBalancer:
        asked = self._asked(spec)
        for _ in range(_SURVEYS):
            found, steps = self._survey(ref, spec, asked)
            try:
                return self._apply(found, steps)
            except _Raced:
                continue  # a missing target group made meanwhile by another call: look again
        raise ProviderUnavailable(f"elbv2: load balancer {ref} is being completed by another call; ask again")

    def plan(self, ref: str | None, spec: LoadBalancerSpec) -> ProviderPlan:
        """The ELBv2 calls ``update`` (or, ``ref`` None, ``create`` where nothing exists
        yet) would make, found by Describe* calls only (none at all for a create); see
        Plans in the module's docstring for the placeholders of a create."""
        asked = self._asked(spec)
        if ref is None:
            identity = self._tags_for(TOKEN_PLACEHOLDER, spec.name)
            steps = self._steps(_Found(), spec, asked, NAME_PLACEHOLDER, identity)
        else:
            _, steps = self._survey(ref, spec, asked)
        return ProviderPlan(operations=tuple(steps))

    def as_running(self, spec: LoadBalancerSpec) -> LoadBalancerSpec:
        """The spec as ``running`` reports it once applied: every member of weight 1 and
        the health check the target group runs (the default one without a monitor)."""
        try:
            protocol = ListenerProtocol(spec.listener_protocol)
        except ValueError:
            return spec  # refused: ELBv2 never runs it
        return replace(
            spec,
            members=tuple(replace(member, weight=1) for member in spec.members),
            health_monitor=self._check_for(spec.health_monitor, protocol),
        )

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
            for listener in self._listeners_of(ref):
                self._ignoring_not_found("delete_listener", ListenerArn=listener["ListenerArn"])
        target_group = self._find_target_group(name)
        if target_group is not None and self._is_ours(self._owner_tags(target_group["TargetGroupArn"])):
            self._ignoring_not_found("delete_target_group", TargetGroupArn=target_group["TargetGroupArn"])
        if lb is not None:
            self._ignoring_not_found("delete_load_balancer", LoadBalancerArn=ref)

    def get_list(self) -> list[ProviderLoadBalancer]:
        """Every load balancer marked as this portal's, oldest first (then by ARN); see
        What runs in the module's docstring for the calls it takes."""
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

    def refusals(self, spec: LoadBalancerSpec) -> list[str]:
        """Why ELBv2 cannot honour the spec: the message ``create`` and ``update`` would
        refuse it with (ProviderRejected), or [] when it can.  Asks AWS nothing."""
        try:
            self._asked(spec)
        except ProviderRejected as refused:
            return [refused.message]
        return []

    # -- planning: what is there, and the calls that make it run the spec ----------------

    def _survey(self, ref: str, spec: LoadBalancerSpec, asked: _Asked) -> tuple[_Found, list[ProviderOperation]]:
        """What ``ref`` runs and the steps that make it run the spec; ProviderRejected for
        a load balancer that is not this portal's, of another type, or failed."""
        lb = self._load_balancer(ref)
        owner = self._owned(ref)
        self._require_type(lb, spec)
        state = lb.get("State", {})
        if state.get("Code") == "failed":
            raise ProviderRejected(f"elbv2: load balancer {ref} failed ({state.get('Reason') or 'no reason given'})")
        name = lb["LoadBalancerName"]
        found = self._read(lb, owner, name, spec)
        return found, self._steps(found, spec, asked, name, self._tags_for(owner[TOKEN_TAG], spec.name))

    def _read(self, lb: dict[str, Any] | None, tags: dict[str, str], name: str, spec: LoadBalancerSpec) -> _Found:
        """The load balancer's target group (refused when it is not this portal's or not
        of the spec's protocol), its attributes and targets, and its listeners."""
        listeners = self._listeners_of(lb["LoadBalancerArn"]) if lb is not None else []
        target_group = self._find_target_group(name)
        if target_group is None:
            return _Found(lb, tags, listeners=listeners)
        self._require_target_group(target_group, name, spec)
        arn = target_group["TargetGroupArn"]
        return _Found(lb, tags, target_group, self._attributes_of(arn), self._health_of(arn), listeners)

    def _steps(
        self, found: _Found, spec: LoadBalancerSpec, asked: _Asked, name: str, identity: list[dict[str, str]]
    ) -> list[ProviderOperation]:
        """The calls, in order, that make what ``found`` describes run the spec, creating
        what is missing (``identity``: the portal's tags for it); none when it already
        does.  The one function behind ``plan``, ``create`` and ``update``.  Tags that
        would not fit (next to others') are refused here, before any call is made."""
        steps = []
        if found.lb is None:
            lb_arn = LB_ARN_PLACEHOLDER
            own = {tag["Key"]: tag["Value"] for tag in identity}
            current = own | self._wanted_tags(asked, _staying_tags(own, asked))
            steps.append(ProviderOperation("CreateLoadBalancer", self._load_balancer_params(name, spec, current)))
        else:
            lb_arn, current = found.lb["LoadBalancerArn"], found.tags
        stale, changed = _tag_changes(lb_arn, current, self._wanted_tags(asked, _staying_tags(current, asked)))
        if found.target_group is None:
            tg_arn = TG_ARN_PLACEHOLDER
            steps.append(ProviderOperation("CreateTargetGroup", self._target_group_params(name, spec, asked, identity)))
        else:
            tg_arn = found.target_group["TargetGroupArn"]
            group = found.target_group
            if _check_of(group) != asked.check or group.get("HealthCheckPort") != TRAFFIC_PORT:
                steps.append(
                    ProviderOperation("ModifyTargetGroup", {"TargetGroupArn": tg_arn, **_check_params(asked.check)})
                )
        if any(found.attributes.get(key) != value for key, value in asked.attributes.items()):
            attributes = [{"Key": key, "Value": value} for key, value in asked.attributes.items()]
            steps.append(
                ProviderOperation("ModifyTargetGroupAttributes", {"TargetGroupArn": tg_arn, "Attributes": attributes})
            )
        steps += _target_steps(tg_arn, _registered(found.health), spec)
        steps += _listener_steps(lb_arn, tg_arn, found.listeners, spec, identity)
        if stale:
            steps.append(ProviderOperation("RemoveTags", {"ResourceArns": [lb_arn], "TagKeys": stale}))
        if changed:
            steps.append(ProviderOperation("AddTags", {"ResourceArns": [lb_arn], "Tags": _aws_tags(changed)}))
        return steps

    def _load_balancer_params(self, name: str, spec: LoadBalancerSpec, tags: dict[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "Name": name,
            "Type": LOAD_BALANCER_TYPE[ListenerProtocol(spec.listener_protocol)],
            "Scheme": self._scheme,
            "Subnets": list(self._subnet_ids),
            "IpAddressType": "ipv4",
            "Tags": _aws_tags(tags),
        }
        if self._security_group_ids:
            params["SecurityGroups"] = list(self._security_group_ids)
        return params

    def _target_group_params(
        self, name: str, spec: LoadBalancerSpec, asked: _Asked, identity: list[dict[str, str]]
    ) -> dict[str, Any]:
        return {
            "Name": name,
            "Protocol": ListenerProtocol(spec.listener_protocol).value,
            "Port": spec.listener_port,  # each target is registered with its own port
            "VpcId": self._vpc_id,
            "TargetType": "ip",
            "Tags": [dict(tag) for tag in identity],
            **_check_params(asked.check),
        }

    # -- applying -------------------------------------------------------------------------

    def _apply(self, found: _Found, steps: list[ProviderOperation]) -> ProviderLoadBalancer:
        """Make the steps' calls in order, each ARN placeholder filled in once the step
        that creates it has answered; then the load balancer as it is after them."""
        lb, target_group = found.lb, found.target_group
        learned: dict[str, str] = {}
        for step in steps:
            answer = self._send(step, learned)
            if step.name == "CreateLoadBalancer":
                lb = answer["LoadBalancers"][0]
                learned[LB_ARN_PLACEHOLDER] = lb["LoadBalancerArn"]
            elif step.name in ("CreateTargetGroup", "ModifyTargetGroup"):
                target_group = answer["TargetGroups"][0]
                learned[TG_ARN_PLACEHOLDER] = target_group["TargetGroupArn"]
        assert lb is not None, "the steps begin with CreateLoadBalancer where there was none"
        return self._present(lb, _tags_after(found.tags, steps), target_group)

    def _send(self, step: ProviderOperation, learned: dict[str, str]) -> dict[str, Any]:
        try:
            return self._call(_SNAKE.sub("_", step.name).lower(), **_filled(step.params, learned))
        except ProviderRejected as exc:
            if _code(exc) in ("DuplicateLoadBalancerName", "DuplicateTargetGroupName"):
                raise _Raced(step.name) from exc
            raise

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

    def _listeners_of(self, lb_arn: str) -> list[dict[str, Any]]:
        return self._all("describe_listeners", "Listeners", LoadBalancerArn=lb_arn)

    def _health_of(self, target_group_arn: str) -> list[dict[str, Any]]:
        return self._call("describe_target_health", TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]

    def _attributes_of(self, target_group_arn: str) -> dict[str, str]:
        answer = self._call("describe_target_group_attributes", TargetGroupArn=target_group_arn)
        return {attribute["Key"]: attribute["Value"] for attribute in answer.get("Attributes", [])}

    def _present(
        self, lb: dict[str, Any], owner: dict[str, str], target_group: dict[str, Any] | None
    ) -> ProviderLoadBalancer:
        """The load balancer as the port reports it; ``owner`` are its tags."""
        arn = lb["LoadBalancerArn"]
        state = lb.get("State", {})
        code = state.get("Code")
        health = self._health_of(target_group["TargetGroupArn"]) if target_group else []
        members = _members(health, _drain_record(owner))
        error = running = None
        if code == "provisioning":
            status, operating = ProvisioningStatus.PENDING_CREATE, OperatingStatus.OFFLINE
        elif code == "failed":
            status, operating = ProvisioningStatus.ERROR, OperatingStatus.ERROR
            error = f"elbv2: the load balancer failed: {state.get('Reason') or 'no reason given'}"
        elif code in ("active", "active_impaired"):
            listeners = self._listeners_of(arn)
            if target_group is None or not listeners:
                missing = [] if target_group else [f"target group {lb['LoadBalancerName']}"]
                missing += [] if listeners else ["listener"]
                status, operating = ProvisioningStatus.ERROR, OperatingStatus.ERROR
                error = f"elbv2: the load balancer is incomplete (no {' and no '.join(missing)}); an update repairs it"
            else:
                status, operating = (
                    ProvisioningStatus.ACTIVE,
                    overall_operating_status(m.operating_status for m in members),
                )
                if code == "active_impaired" and operating in (OperatingStatus.ONLINE, OperatingStatus.NO_MONITOR):
                    operating = OperatingStatus.DEGRADED
                running = self._running(lb, owner, target_group, listeners, health)
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
            health_monitor=_check_of(target_group) if target_group and MONITOR_TAG in owner else None,
            running=running,
        )

    def _running(
        self,
        lb: dict[str, Any],
        owner: dict[str, str],
        target_group: dict[str, Any],
        listeners: list[dict[str, Any]],
        health: list[dict[str, Any]],
    ) -> LoadBalancerSpec:
        """The spec a complete load balancer runs, read back (see What runs in the
        module's docstring); one call of its own, for the target group's attributes."""
        attributes = self._attributes_of(target_group["TargetGroupArn"])
        listener = _running_listener(listeners, target_group["TargetGroupArn"])
        registered = _registered(health)
        draining = _drain_record(owner) - registered
        members = [MemberSpec(address, port) for address, port in registered] + [
            MemberSpec(address, port, admin_state=AdminState.DRAIN) for address, port in draining
        ]
        recorded = _recorded_user_keys(owner)
        return LoadBalancerSpec(
            name=owner.get(NAME_TAG, lb["LoadBalancerName"]),
            listener_protocol=str(listener.get("Protocol", "")),
            listener_port=int(listener.get("Port", 0)),
            algorithm=_algorithm_of(_PROTOCOL_OF_TYPE.get(lb.get("Type", "")), attributes),
            members=tuple(sorted(members, key=lambda m: (m.address, m.port))),
            health_monitor=_check_of(target_group),
            tags=tuple(f"{key}={value}" if value else key for key, value in sorted(owner.items()) if key in recorded),
        )

    # -- what a spec asks -----------------------------------------------------------------

    def _asked(self, spec: LoadBalancerSpec) -> _Asked:
        """Everything ELBv2 is to be asked for the spec; ProviderRejected, before any call
        to AWS, for what ELBv2 cannot honour."""
        attributes = _attributes_for(spec)
        protocol = ListenerProtocol(spec.listener_protocol)
        _check_weights(spec)
        check = self._check_for(spec.health_monitor, protocol)
        if spec.health_monitor is not None:
            _check_monitor(check, protocol)
        tags = _user_tags(spec.tags)
        record = len(_user_keys_record(tags))
        own = len(self._tags_for("-", "-")) + (spec.health_monitor is not None) + record
        if own + len(tags) > TAGS_MAX:
            raise ProviderRejected(
                f"elbv2 cannot tag the load balancer with {len(tags)} tags: ELBv2 allows {TAGS_MAX} tags a"
                f" resource and the portal's own take {own} ({record} of them to record which tag keys the"
                f" portal set), which leaves room for {TAGS_MAX - own}"
            )
        draining = tuple(sorted({(m.address, m.port) for m in spec.members if m.is_draining}))
        return _Asked(attributes, check, spec.health_monitor is not None, tags, draining)

    def _check_for(self, monitor: HealthMonitor | None, protocol: ListenerProtocol) -> HealthMonitor:
        """The health check the target group runs for a spec's monitor: the monitor
        (normalized), or the default check without one."""
        if monitor is not None:
            return _normalized(monitor)
        check = DEFAULT_CHECKS[protocol]
        return replace(check, http_path=self._health_check_path) if check.type is MonitorType.HTTP else check

    @staticmethod
    def _wanted_tags(asked: _Asked, staying: int) -> dict[str, str]:
        """The tags the portal puts on the load balancer besides the identity ones: the
        spec's, the monitor marker, the record of the spec's keys and the drain record
        (in what room the 50 leave next to the ``staying`` tags: the identity ones and
        anyone else's)."""
        wanted = dict(asked.tags)
        if asked.monitored:
            wanted[MONITOR_TAG] = "asked"
        wanted |= _user_keys_record(asked.tags)
        room = max(TAGS_MAX - staying - len(wanted), 0)
        for index, value in enumerate(_packed(f"{address}:{port}" for address, port in asked.draining)[:room], 1):
            wanted[f"{DRAIN_TAG_PREFIX}{index}"] = value
        return wanted

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

    def _require_target_group(self, target_group: dict[str, Any], name: str, spec: LoadBalancerSpec) -> None:
        """ProviderRejected for a target group of that name this portal did not make, or
        not an ``ip`` one of the spec's protocol."""
        if not self._is_ours(self._owner_tags(target_group["TargetGroupArn"])):
            raise ProviderRejected(f"elbv2: a target group named {name} exists that this portal did not make")
        protocol = ListenerProtocol(spec.listener_protocol).value
        if target_group.get("Protocol") != protocol or target_group.get("TargetType") != "ip":
            raise ProviderRejected(
                f"elbv2: target group {name} is {target_group.get('Protocol')}/{target_group.get('TargetType')},"
                f" not {protocol}/ip"
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


def _check_weights(spec: LoadBalancerSpec) -> None:
    weighted = [m for m in spec.members if not m.is_draining and m.weight != 1]
    if weighted:
        listed = ", ".join(f"{m.address}:{m.port} (weight {m.weight})" for m in weighted)
        raise ProviderRejected(
            "elbv2 cannot weight members: an ELBv2 target group has no per-target weight, it spreads traffic"
            " evenly over its healthy targets (weighted forwarding exists only between target groups); give"
            f" every enabled member weight 1, or put a member in drain to stop its new connections: {listed}"
        )


def _normalized(monitor: HealthMonitor) -> HealthMonitor:
    """The monitor with the HTTP-only fields at their defaults for a TCP one (they mean
    nothing there), so that monitors compare by what is checked."""
    if monitor.type is MonitorType.HTTP:
        return monitor
    defaults = HealthMonitor(MonitorType.TCP)
    return replace(monitor, http_path=defaults.http_path, expected_codes=defaults.expected_codes)


def _check_monitor(monitor: HealthMonitor, protocol: ListenerProtocol) -> None:
    """ProviderRejected naming every field ELBv2 cannot run as asked."""
    problems = []
    for name, (low, high, unit, aws_field) in CHECK_LIMITS.items():
        value = getattr(monitor, name)
        if not low <= value <= high:
            problems.append(f"{name} {value}{unit} is outside ELBv2's {low}-{high}{unit} ({aws_field})")
    kind = LOAD_BALANCER_TYPE[protocol]
    if monitor.type is MonitorType.TCP and protocol is ListenerProtocol.HTTP:
        problems.append(
            f"a TCP monitor cannot check the members of an HTTP listener: its {kind} load balancer's HTTP target"
            " group is checked over HTTP only; use an HTTP monitor"
        )
    elif monitor.type is MonitorType.HTTP:
        low, high = MATCHER_CODES[protocol]
        if outside := [code for code in monitor.codes() if not low <= code <= high]:
            shown = ", ".join(map(str, outside[:5])) + (", ..." if len(outside) > 5 else "")
            problems.append(
                f"expected_codes {monitor.expected_codes} has codes outside {low}-{high} ({shown}): a {kind} load"
                f" balancer ({protocol.value} listener) only accepts {low}-{high} as passing (Matcher HttpCode)"
            )
    if problems:
        raise ProviderRejected(f"elbv2 cannot run this health monitor: {'; '.join(problems)}")


def _check_params(check: HealthMonitor) -> dict[str, Any]:
    """A target group's health check fields for a monitor."""
    params: dict[str, Any] = {
        "HealthCheckProtocol": check.type.value,
        "HealthCheckPort": TRAFFIC_PORT,
        "HealthCheckIntervalSeconds": check.interval,
        "HealthCheckTimeoutSeconds": check.timeout,
        "HealthyThresholdCount": check.retries_up,
        "UnhealthyThresholdCount": check.retries_down,
    }
    if check.type is MonitorType.HTTP:
        params |= {"HealthCheckPath": check.http_path, "Matcher": {"HttpCode": check.expected_codes}}
    return params


def _check_of(target_group: dict[str, Any]) -> HealthMonitor | None:
    """The health check a target group runs, as a monitor (None: one it cannot be, such
    as none reported at all)."""
    protocol = target_group.get("HealthCheckProtocol")
    kinds = {"HTTP": MonitorType.HTTP, "HTTPS": MonitorType.HTTP, "TCP": MonitorType.TCP}
    if protocol not in kinds:
        return None
    defaults = HealthMonitor(kinds[protocol])
    try:
        monitor = HealthMonitor(
            kinds[protocol],
            interval=int(target_group.get("HealthCheckIntervalSeconds", defaults.interval)),
            timeout=int(target_group.get("HealthCheckTimeoutSeconds", defaults.timeout)),
            retries_up=int(target_group.get("HealthyThresholdCount", defaults.retries_up)),
            retries_down=int(target_group.get("UnhealthyThresholdCount", defaults.retries_down)),
            http_path=target_group.get("HealthCheckPath") or defaults.http_path,
            expected_codes=(target_group.get("Matcher") or {}).get("HttpCode") or defaults.expected_codes,
        )
    except (TypeError, ValueError):
        return None
    return _normalized(monitor)


def _reason(target_health: dict[str, Any]) -> str | None:
    """AWS's word on a target's health: ``Reason: Description``, or either alone."""
    parts = [str(target_health[key]) for key in ("Reason", "Description") if target_health.get(key)]
    return ": ".join(parts) or None


def _user_tags(tags: tuple[str, ...]) -> dict[str, str]:
    """The spec's tags as AWS tags: ``key=value`` → key: value, ``label`` → label: ""."""
    found: dict[str, str] = {}
    for tag in tags:
        key, _, value = tag.partition("=")
        if key.lower().startswith(RESERVED_TAG_PREFIXES):
            raise ProviderRejected(f"elbv2: tag {tag!r}: keys starting with portal: or aws: are not the user's")
        if not _RECORDABLE_KEY.fullmatch(key):
            raise ProviderRejected(
                f"elbv2: tag {tag!r}: a key is 1-{TAG_KEY_MAX} characters without spaces (the portal records the keys"
                " it sets, separated by spaces)"
            )
        found[key] = value
    return found


def _aws_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def _is_aws_tag(key: str) -> bool:
    """One of AWS's own tags (not counted in the 50, never the portal's to change)."""
    return key.lower().startswith("aws:")


def _is_record_tag(key: str) -> bool:
    """One of the adapter's records: the monitor marker, the drain record and the
    user-tag-keys record (the portal's identity tags are not records)."""
    return key == MONITOR_TAG or key.startswith((DRAIN_TAG_PREFIX, USER_KEYS_TAG_PREFIX))


def _staying_tags(current: dict[str, str], asked: _Asked) -> int:
    """How many of the load balancer's ``current`` tags (``aws:*`` ones not counted)
    stay whatever the portal wants: its identity tags and anyone else's, the keys the
    spec names aside (those become the spec's)."""
    recorded = _recorded_user_keys(current)
    return sum(
        1
        for key in current
        if not _is_aws_tag(key) and not _is_record_tag(key) and key not in recorded and key not in asked.tags
    )


def _tag_changes(arn: str, current: dict[str, str], wanted: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The keys to remove from the load balancer and the tags to add or change so that
    it carries ``wanted``.  Removed: only what the portal put there before and no longer
    wants, its records (monitor marker, drain record, user-tag-keys record) and the user
    tags whose keys the current user-tag-keys record holds.  Every other tag (the
    identity ones, AWS's own, anyone else's) stays as it is, unless ``wanted`` names its
    key.  ProviderRejected when the tags after would be more than ELBv2 allows."""
    recorded = _recorded_user_keys(current)
    stale = sorted(key for key in current if key not in wanted and (_is_record_tag(key) or key in recorded))
    changed = {key: value for key, value in wanted.items() if current.get(key) != value}
    after = [key for key in current if key not in stale and not _is_aws_tag(key)] + [
        key for key in changed if key not in current
    ]
    if len(after) > TAGS_MAX:
        others = sorted(key for key in after if not key.startswith(RESERVED_TAG_PREFIXES) and key not in wanted)
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        why = (
            f"; {len(others)} of them were put there outside the portal ({shown}), which the portal never"
            " removes: remove some of those, or some of the spec's tags"
            if others
            else ""
        )
        raise ProviderRejected(
            f"elbv2 cannot tag load balancer {arn} as the spec asks: it would carry {len(after)} tags and ELBv2"
            f" allows {TAGS_MAX} a resource{why}"
        )
    return stale, changed


def _user_keys_record(tags: dict[str, str]) -> dict[str, str]:
    """The user-tag-keys record for the spec's tags: their keys, sorted, separated by
    spaces, over ``portal:user-tag-keys:1``, ``:2``, … (none for no tags)."""
    return {f"{USER_KEYS_TAG_PREFIX}{index}": value for index, value in enumerate(_packed(sorted(tags)), 1)}


def _recorded_user_keys(tags: dict[str, str]) -> set[str]:
    """The keys of the user tags the portal set, from the load balancer's user-tag-keys
    record (empty without one: a load balancer made before the record existed)."""
    found = set()
    for key, value in tags.items():
        if key.startswith(USER_KEYS_TAG_PREFIX):
            found.update(item for item in value.split() if not item.lower().startswith(RESERVED_TAG_PREFIXES))
    return found


def _packed(items: Any) -> list[str]:
    """Items joined by spaces into values of at most TAG_VALUE_MAX characters."""
    values: list[str] = []
    for item in items:
        if values and len(values[-1]) + 1 + len(item) <= TAG_VALUE_MAX:
            values[-1] += f" {item}"
        else:
            values.append(item)
    return values


def _drain_record(tags: dict[str, str]) -> set[tuple[str, int]]:
    """The members in drain, from the load balancer's drain record tags."""
    found = set()
    for key, value in tags.items():
        if not key.startswith(DRAIN_TAG_PREFIX):
            continue
        for item in value.split():
            address, _, port = item.rpartition(":")
            if address and port.isdigit():
                found.add((address, int(port)))
    return found


def _target_steps(
    target_group_arn: str, registered: set[tuple[str, int]], spec: LoadBalancerSpec
) -> list[ProviderOperation]:
    """Register the enabled members that are missing, then deregister the targets that
    are not enabled members (no longer members, or members in drain: AWS drains them);
    new ones first, so the group is never emptier than needed.  A member in drain is
    never registered, even when AWS has finished draining it."""
    wanted = {(m.address, m.port) for m in spec.members if not m.is_draining}
    steps = []
    if added := sorted(wanted - registered):
        targets = [{"Id": address, "Port": port} for address, port in added]
        steps.append(ProviderOperation("RegisterTargets", {"TargetGroupArn": target_group_arn, "Targets": targets}))
    if removed := sorted(registered - wanted):
        targets = [{"Id": address, "Port": port} for address, port in removed]
        steps.append(ProviderOperation("DeregisterTargets", {"TargetGroupArn": target_group_arn, "Targets": targets}))
    return steps


def _listener_steps(
    lb_arn: str,
    target_group_arn: str,
    listeners: list[dict[str, Any]],
    spec: LoadBalancerSpec,
    tags: list[dict[str, str]],
) -> list[ProviderOperation]:
    """The listener on the spec's port forwarding to the target group: the one on that
    port is changed where it differs; without one, the listener forwarding to the target
    group from another port (moved out of band) is moved back; else one is created."""
    protocol = ListenerProtocol(spec.listener_protocol).value
    forward = [{"Type": "forward", "TargetGroupArn": target_group_arn}]
    on_port = [listener for listener in listeners if listener.get("Port") == spec.listener_port]
    moved = sorted(
        (listener for listener in listeners if _forwards_to(listener) == [target_group_arn]),
        key=_listener_order,
    )
    for listener in (*on_port, *moved)[:1]:
        if (listener.get("Port"), listener.get("Protocol"), _forwards_to(listener)) == (
            spec.listener_port,
            protocol,
            [target_group_arn],
        ):
            return []
        params: dict[str, Any] = {"ListenerArn": listener["ListenerArn"], "Protocol": protocol}
        if listener.get("Port") != spec.listener_port:
            params["Port"] = spec.listener_port
        return [ProviderOperation("ModifyListener", params | {"DefaultActions": forward})]
    params = {
        "LoadBalancerArn": lb_arn,
        "Protocol": protocol,
        "Port": spec.listener_port,
        "DefaultActions": forward,
        "Tags": [dict(tag) for tag in tags],
    }
    return [ProviderOperation("CreateListener", params)]


def _forwards_to(listener: dict[str, Any]) -> list[str | None]:
    return [action.get("TargetGroupArn") for action in listener.get("DefaultActions", [])]


def _listener_order(listener: dict[str, Any]) -> tuple[int, str]:
    return int(listener.get("Port") or 0), str(listener.get("ListenerArn", ""))


def _running_listener(listeners: list[dict[str, Any]], target_group_arn: str) -> dict[str, Any]:
    """The listener that carries the traffic: the one forwarding to the target group
    (the lowest port of several), else the lowest port of all."""
    forwarding = [listener for listener in listeners if _forwards_to(listener) == [target_group_arn]]
    return min(forwarding or listeners, key=_listener_order)


def _algorithm_of(protocol: ListenerProtocol | None, attributes: dict[str, str]) -> str:
    """The algorithm whose attributes the target group has (the table read backwards),
    else the attributes that choose one, as they are: no algorithm of the portal's."""
    for (kind, algorithm), wanted in ALGORITHM_ATTRIBUTES.items():
        if kind == protocol and all(attributes.get(key) == value for key, value in wanted.items()):
            return str(algorithm)
    chosen = ", ".join(f"{key}={attributes[key]}" for key in _ALGORITHM_KEYS if key in attributes)
    return f"elbv2: {chosen or 'no algorithm attributes'}"


def _registered(health: list[dict[str, Any]]) -> set[tuple[str, int]]:
    """The targets that get traffic: registered and not being deregistered."""
    return {
        (d["Target"]["Id"], d["Target"]["Port"])
        for d in health
        if d.get("TargetHealth", {}).get("State") not in _LEAVING
    }


def _members(health: list[dict[str, Any]], draining: set[tuple[str, int]]) -> tuple[MemberHealth, ...]:
    """The targets' health; ``draining`` are the members in drain (a target AWS is
    draining is DRAINING if it is one of them, else no longer a member)."""
    members = []
    for description in health:
        address, port = description["Target"]["Id"], description["Target"]["Port"]
        target_health = description.get("TargetHealth", {})
        state = target_health.get("State", "")
        if state in _LEAVING:
            if (address, port) not in draining:
                continue
            status = OperatingStatus.DRAINING
        else:
            status = _MEMBER_STATUS.get(state, OperatingStatus.NO_MONITOR)
        members.append(MemberHealth(address, port, status, _reason(target_health)))
    return tuple(sorted(members, key=lambda m: (m.address, m.port)))


def _tags_after(current: dict[str, str], steps: list[ProviderOperation]) -> dict[str, str]:
    """The load balancer's tags once the steps are made."""
    tags = dict(current)
    for step in steps:
        params: Any = step.params
        if step.name == "CreateLoadBalancer":
            tags = {tag["Key"]: tag["Value"] for tag in params["Tags"]}
        elif step.name == "RemoveTags":
            for key in params["TagKeys"]:
                tags.pop(key, None)
        elif step.name == "AddTags":
            tags |= {tag["Key"]: tag["Value"] for tag in params["Tags"]}
    return tags


def _filled(value: Any, learned: dict[str, str], key: str = "") -> Any:
    """A copy of a step's parameters with each ARN placeholder (in a field named
    ``…Arn`` or ``…Arns``) replaced by the ARN ``learned`` holds for it."""
    if isinstance(value, dict):
        return {name: _filled(item, learned, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, learned, key) for item in value]
    if isinstance(value, str) and key.endswith(("Arn", "Arns")):
        return learned.get(value, value)
    return value


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
