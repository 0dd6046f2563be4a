"""OpenStack Octavia (through openstacksdk's ``load_balancer`` proxy) as an LBaaS provider.

One portal load balancer is Octavia's own objects:

* a load balancer with its VIP on the configured subnet (or network), in the team's
  project (``spec.project``, else the adapter's ``project_id``, else the credentials'
  own project);
* one listener on the spec's protocol (HTTP or TCP) and port, whose default pool is
* one pool of the same protocol with the algorithm (ROUND_ROBIN, LEAST_CONNECTIONS and
  SOURCE_IP are Octavia's own), holding
* the members (address, protocol port, weight; a member in drain has weight 0, which
  is Octavia's drain: no new connections, the current ones finish), and
* the pool's health monitor when the spec has one: type HTTP or TCP, ``delay`` =
  interval, ``timeout``, ``max_retries`` = retries up, ``max_retries_down`` = retries
  down, and for HTTP ``url_path`` and ``expected_codes`` (GET).

``ref`` is the Octavia load balancer's id and ``vip_address`` its VIP.

Creating: one call, Octavia's "fully populated" create (the load balancer with its
listener, pool, members and monitor in one body), so there is never a half-made load
balancer to complete; Octavia answers PENDING_CREATE and its worker builds it.  Octavia
has no client token, so the load balancer carries the token as a tag, and ``create``
first looks the tag up: a retried create finds what the first made.  (Two creates with
one token at the very same moment could both find nothing and make two; the older is
the one ``create`` answers from then on, and the reconciler reports the other as an
orphan.  The portal's workers never create one load balancer twice at once.)

Changing: ``update`` reads what runs (the load balancer, its listener, pool, members
and monitor), computes the Octavia calls that make it run the spec (``plan`` answers the
same without making them), then makes them one by one.  Octavia refuses any change to a
load balancer that is PENDING_* (409, "immutable"), so before each call the adapter waits
until the load balancer is ACTIVE again, polling every ``poll_interval`` seconds for at
most ``step_timeout`` seconds; longer, and ``update`` raises ProviderUnavailable (the
portal asks again later, and the next ``update`` finds what was done and does the rest).
After each call it waits for ACTIVE again and reads back what the call made or changed:
Octavia's worker, when it fails a change, leaves that object in ERROR and the load
balancer ACTIVE, so a failed step stops the update there (ProviderRejected, naming it)
before a later step (the old listener's deletion, say) makes things worse.  A step that
finds Octavia changed since the survey (409: a concurrent update made the member
already; 404: what it changes went) makes ``update`` read and plan again and make what
is left, for as long as each plan is shorter than the last (someone else is doing the
work); a plan no shorter is a real conflict, and the step's error stands
(ProviderUnavailable for a 404, the 409's refusal, such as a port someone else's
listener holds).  A 409 because another caller made the load balancer PENDING_* between
the wait and the call is waited out like the rest.
The order: the load balancer's name and tags, the pool's algorithm, the monitor (a
monitor of another type is deleted and made again: Octavia cannot change a monitor's
type), new members, changed members, removed members, the listener (Octavia cannot
change a listener's port: a new one is made on the spec's port, defaulting to the pool,
then the old one is deleted).  A change of protocol is refused (a listener's and a pool's
protocol are fixed in Octavia).  An update that changes nothing calls nothing.

Deleting: one cascade delete (``DELETE /v2/lbaas/loadbalancers/{id}?cascade=true``),
after a bounded wait for a load balancer that is being built or changed (Octavia
refuses to delete it meanwhile); one already PENDING_DELETE is left to finish.

Tags and ownership
    The load balancer carries ``portal:managed-by=lb-portal`` (the marker ``get_list``
    filters on), ``portal:client-token=<token>`` and ``portal:installation=<id>`` (the
    portal installation that made it; two portals on one cloud tell theirs apart by it),
    then the spec's own tags as they are (Octavia tags are plain strings: ``web``,
    ``env=prod``).  The listener, pool and monitor carry the marker too: they are the
    portal's, and ``get_list`` finds them with three filtered calls.  The portal owns
    the load balancer's tags: an update sets them to its own plus the spec's, so a tag
    added at Octavia by someone else goes at the next update.  ``get``, ``update`` and
    ``delete`` refuse a load balancer without the marker and a token (ProviderRejected),
    and only the portal's own listener and pool count (ones added beside them at
    Octavia are left alone).

Status
    Octavia's own statuses, as it reports them: the load balancer's provisioning status
    (PENDING_CREATE, ACTIVE, PENDING_UPDATE, PENDING_DELETE, ERROR) and operating status
    (ONLINE, DEGRADED, OFFLINE, ERROR, NO_MONITOR), each member's operating status
    (NO_MONITOR without a monitor), except that a member of weight 0 is DRAINING: it
    takes no new connections.  Octavia computes these from its amphorae's heartbeats;
    without them (its no-op drivers, as in the tests) load balancers read OFFLINE.  An
    ACTIVE load balancer without the portal's listener or pool (deleted at Octavia) is
    ERROR, "incomplete"; an update makes what is missing.  So is one whose listener,
    pool, monitor or a member Octavia left in ERROR (a change its worker failed), naming
    them; an update sends their settings again, which makes Octavia retry.  ERROR carries
    Octavia's operating status; Octavia gives no reason (its worker's log has it).

What runs (``running``) and drift
    For an ACTIVE, complete load balancer: the listener's protocol and port, the pool's
    algorithm, each member with its weight and admin state (weight 0 reads as drain with
    weight 0; a member whose ``admin_state_up`` is off reads as ``disabled``), the
    monitor as above (None without one), the name and the spec's tags.
    ``as_running(spec)`` is the spec as that shows it: members in drain (and enabled
    ones of weight 0) as drain with weight 0.

What it costs
    ``get``: the load balancer, its listeners and pools one by one (one each, usually),
    the pool's members and its monitor: about five calls.  ``get_list``: the portal's
    load balancers, listeners, pools and monitors (one filtered call each), then the
    members of each pool: four calls plus one a load balancer.

Errors
    No openstacksdk or keystoneauth exception leaves the adapter.  404 →
    ProviderResourceNotFound; 409 for a load balancer that is PENDING_* ("immutable",
    "Invalid state PENDING_UPDATE"), 429, 5xx, connection failures, timeouts and a
    failed version discovery (the API does not answer) → ProviderUnavailable; every
    other refusal (400 validation, 401/403, quota, a 409 conflict such as a port in use,
    configuration) → ProviderRejected, with Octavia's message in the text.  Every call
    is bounded by ``timeout`` seconds.
    ``refusals(spec)`` names, without asking Octavia, what it would refuse: another
    listener protocol, a monitor whose timeout exceeds its interval, expected codes
    that mix a list and a range.

Plain Python around openstacksdk: an import-linter contract keeps Django, DRF and
Celery out, and keeps openstacksdk and keystoneauth in this module.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import openstack
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import noauth, session
from openstack import exceptions as sdk_exceptions

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
from loadbalancers.domain.members import AdminState
from loadbalancers.domain.model import Algorithm, ListenerProtocol, OperatingStatus, ProvisioningStatus
from loadbalancers.domain.monitors import HealthMonitor, MonitorType

MARKER = "lb-portal"
MANAGED_TAG = f"portal:managed-by={MARKER}"
TOKEN_TAG_PREFIX = "portal:client-token="
INSTALLATION_TAG_PREFIX = "portal:installation="
RESERVED_TAG_PREFIX = "portal:"
DISABLED = "disabled"
"""The admin state ``running`` shows for a member whose ``admin_state_up`` is off (set at
Octavia: the portal never does)."""

# Placeholders in a plan for what an earlier step creates.
LB_PLACEHOLDER = "<load balancer id>"
POOL_PLACEHOLDER = "<pool id>"
TOKEN_PLACEHOLDER = "<client token>"

_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_PROJECT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Octavia's expected_codes: one code, a list of codes, or one range.
_OCTAVIA_CODES = re.compile(r"^(\d{3}(,\d{3})*|\d{3}-\d{3})$")
_PROTOCOLS = {ListenerProtocol.HTTP.value, ListenerProtocol.TCP.value}
_ALGORITHMS = {algorithm.value for algorithm in Algorithm}
_MONITOR_TYPES = {"HTTP": MonitorType.HTTP, "TCP": MonitorType.TCP}
# The parameters of a step that openstacksdk takes positionally (the objects it acts on), in order.
_POSITIONAL = {
    "update_load_balancer": ("load_balancer",),
    "update_pool": ("pool",),
    "update_health_monitor": ("health_monitor",),
    "delete_health_monitor": ("health_monitor",),
    "update_listener": ("listener",),
    "delete_listener": ("listener",),
    "create_member": ("pool",),
    "update_member": ("member", "pool"),
    "delete_member": ("member", "pool"),
}
# How Octavia's 409 says the load balancer is PENDING_* ("Load Balancer ... is immutable and
# cannot be updated.", "Invalid state PENDING_UPDATE of loadbalancer resource ..."): ask again.
_PENDING_WORDS = ("immutable", "invalid state pending")
# How to read back what a step made or changed, by step.
_GETTERS = {
    "create_pool": "get_pool",
    "update_pool": "get_pool",
    "create_health_monitor": "get_health_monitor",
    "update_health_monitor": "get_health_monitor",
    "create_listener": "get_listener",
    "update_listener": "get_listener",
    "create_member": "get_member",
    "update_member": "get_member",
}
_STATUSES = {status.value: status for status in ProvisioningStatus}
_OPERATING = {status.value: status for status in OperatingStatus}


class _Raced(Exception):
    """A step found Octavia changed since the survey it was planned from (409 or 404)."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class _Found:
    """One portal load balancer's Octavia objects as they are now."""

    lb: Any
    listeners: list[Any] = field(default_factory=list)
    """The portal's listeners: one, but for an update cut short between making the new
    one and deleting the old."""
    pool: Any | None = None
    members: list[Any] = field(default_factory=list)
    monitor: Any | None = None

    @property
    def listener(self) -> Any | None:
        """The listener that carries the traffic: the one defaulting to the pool, lowest
        port first, else the lowest port."""
        defaulting = [item for item in self.listeners if self.pool is not None and item.default_pool_id == self.pool.id]
        return min(defaulting or self.listeners, key=lambda item: (item.protocol_port or 0, item.id), default=None)

    @property
    def complete(self) -> bool:
        return self.listener is not None and self.pool is not None


class OctaviaLBaaS(LBaaSClient):
    """OpenStack Octavia: a load balancer, one listener, one pool, its members and
    monitor (see the module's docstring).

    Settings: ``vip_subnet_id`` or ``vip_network_id`` (where VIPs are allocated; one is
    required), ``project_id`` (the project of load balancers whose spec names none;
    None: the credentials' own), ``cloud`` (a cloud of clouds.yaml) or ``auth_url``
    (Keystone; the rest of the credentials from openstacksdk's usual ``OS_*``
    variables), ``endpoint`` (the Octavia API's root URL, overriding the catalog's; with
    neither ``cloud`` nor ``auth_url`` nor ``OS_AUTH_URL``, the adapter talks to an
    Octavia without Keystone (``auth_strategy`` ``noauth`` or ``testing``), as the
    admin of ``project_id``), ``region``, ``timeout`` (seconds per call),
    ``step_timeout`` (seconds to wait for the load balancer to be ACTIVE before each
    step of an update) and ``poll_interval``.  ``connection`` replaces the openstacksdk
    connection the adapter would make (for tests).
    """

    name = "octavia"

    def __init__(
        self,
        *,
        vip_subnet_id: str | None = None,
        vip_network_id: str | None = None,
        project_id: str | None = None,
        cloud: str | None = None,
        auth_url: str | None = None,
        endpoint: str | None = None,
        region: str | None = None,
        timeout: float = 30.0,
        step_timeout: float = 120.0,
        poll_interval: float = 0.5,
        connection: Any = None,
        installation: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if bool(vip_subnet_id) == bool(vip_network_id):
            raise ValueError("octavia needs exactly one of vip_subnet_id and vip_network_id")
        if project_id is not None and not _PROJECT.match(project_id):
            raise ValueError(f"octavia project_id must be 1-64 letters, digits, - and _ (got {project_id!r})")
        if not (timeout > 0 and step_timeout > 0 and poll_interval > 0):
            raise ValueError("octavia timeout, step_timeout and poll_interval must be positive")
        self._vip = {"vip_subnet_id": vip_subnet_id} if vip_subnet_id else {"vip_network_id": vip_network_id}
        self._project_id = project_id
        self._installation = installation
        self._step_timeout = step_timeout
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._monotonic = monotonic
        if connection is None:
            connection = _connect(
                cloud=cloud,
                auth_url=auth_url,
                endpoint=endpoint,
                region=region,
                timeout=timeout,
                project_id=project_id,
            )
        self._connection = connection

    @property
    def proxy(self) -> Any:
        """openstacksdk's ``load_balancer`` proxy the adapter calls."""
        return self._connection.load_balancer

    # -- the port ---------------------------------------------------------------------

    def create(self, spec: LoadBalancerSpec, *, client_token: str) -> ProviderLoadBalancer:
        self._require_possible(spec)
        existing = self._find_by_token(client_token)
        if existing is None:
            body = self._create_body(spec, client_token)
            created = self._call("create_load_balancer", **body)
            existing = self._find_by_token(client_token) or created  # the oldest, should two have been made
        return self._present(self._read(existing))

    def get(self, ref: str) -> ProviderLoadBalancer:
        return self._present(self._read(self._owned(ref)))

    def update(self, ref: str, spec: LoadBalancerSpec) -> ProviderLoadBalancer:
        """Read, plan and make the steps.  Should a step find Octavia changed meanwhile (a
        concurrent update made the member already, or what the step changes went), read
        and plan again and make what is left, for as long as each plan is shorter than
        the one before (someone else is doing the work); a plan no shorter means a real
        conflict, and the step's error stands."""
        self._require_possible(spec)
        raced: _Raced | None = None
        done_before: int | None = None
        while True:
            found = self._survey(ref, spec)
            steps = self._steps(found, spec)
            if not steps:
                return self._present(found)
            if raced is not None and done_before is not None and len(steps) >= done_before:
                raise raced.error from raced
            try:
                self._apply(found, steps)
            except _Raced as again:
                raced, done_before = again, len(steps)
                continue
            return self._present(self._read(self._load_balancer(ref)))

    def plan(self, ref: str | None, spec: LoadBalancerSpec) -> ProviderPlan:
        """The Octavia calls ``update`` (or, ``ref`` None, ``create`` where nothing exists
        yet: one fully populated create, its client token a placeholder) would make,
        found by reading only."""
        self._require_possible(spec)
        if ref is None:
            return ProviderPlan(
                operations=(ProviderOperation("create_load_balancer", self._create_body(spec, TOKEN_PLACEHOLDER)),)
            )
        return ProviderPlan(operations=tuple(self._steps(self._survey(ref, spec), spec)))

    def as_running(self, spec: LoadBalancerSpec) -> LoadBalancerSpec:
        """Members in drain, and enabled ones of weight 0, as ``running`` shows them: in
        drain with weight 0 (Octavia's drain is the weight)."""
        return replace(
            spec,
            members=tuple(
                replace(member, weight=0, admin_state=AdminState.DRAIN)
                if member.is_draining or member.weight == 0
                else member
                for member in spec.members
            ),
        )

    def delete(self, ref: str) -> None:
        """One cascade delete, once the load balancer is no longer being built or changed
        (a bounded wait, as before an update's steps); one already gone or being deleted
        (or never Octavia's) is nothing to do."""
        if not _UUID.match(ref):
            return
        try:
            status = self._owned(ref).provisioning_status
            if status == "PENDING_DELETE":
                return  # being deleted already
            if status.startswith("PENDING_"):
                self._wait_active(ref, or_error=True)  # Octavia deletes nothing that is being built
        except ProviderResourceNotFound:
            return
        try:
            self._call("delete_load_balancer", ref, ignore_missing=True, cascade=True)
        except ProviderResourceNotFound:
            return

    def get_list(self) -> list[ProviderLoadBalancer]:
        """Every load balancer marked as a portal's (in every project the credentials
        see), oldest first; see What it costs in the module's docstring."""
        lbs = [lb for lb in self._list("load_balancers", tags=MANAGED_TAG) if self._is_ours(lb)]
        if not lbs:
            return []
        listeners = self._list("listeners", tags=MANAGED_TAG)
        pools = self._list("pools", tags=MANAGED_TAG)
        monitors = {monitor.id: monitor for monitor in self._list("health_monitors", tags=MANAGED_TAG)}
        found = []
        for lb in sorted(lbs, key=_creation_order):
            listener_ids, pool_ids = set(_ids(lb.listeners)), set(_ids(lb.pools))
            found.append(
                self._present(
                    self._assemble(
                        lb,
                        [listener for listener in listeners if listener.id in listener_ids],
                        [pool for pool in pools if pool.id in pool_ids],
                        monitors.get,
                    )
                )
            )
        return found

    def refusals(self, spec: LoadBalancerSpec) -> list[str]:
        """Why Octavia would refuse the spec, known without asking it: the message
        ``create`` and ``update`` would refuse it with, or []."""
        return _refusals(spec)

    # -- reading ------------------------------------------------------------------------

    def _load_balancer(self, ref: str) -> Any:
        if not _UUID.match(ref):
            raise ProviderResourceNotFound(f"octavia: no load balancer {ref!r} (not an Octavia id)")
        lb = self._call("get_load_balancer", ref)
        if not getattr(lb, "id", None) or not getattr(lb, "provisioning_status", None):
            raise ProviderUnavailable(f"octavia get_load_balancer: the answer about {ref} is not a load balancer")
        if lb.provisioning_status == "DELETED":
            raise ProviderResourceNotFound(f"octavia: load balancer {ref} is deleted")
        return lb

    def _owned(self, ref: str) -> Any:
        """The load balancer, when a portal made it (its tags say so); ProviderRejected
        for any other.  One that is PENDING_DELETE passes whatever its tags: Octavia drops
        them with it, and an answer read at that moment comes without them (seen under a
        few deletes at once), while nobody can change it any more."""
        lb = self._load_balancer(ref)
        if not self._is_ours(lb) and lb.provisioning_status != "PENDING_DELETE":
            raise ProviderRejected(f"octavia: load balancer {ref} is not managed by a portal (no {MANAGED_TAG} tag)")
        return lb

    @staticmethod
    def _is_ours(lb: Any) -> bool:
        tags = list(lb.tags or ())
        return MANAGED_TAG in tags and _tag_value(tags, TOKEN_TAG_PREFIX) is not None

    def _find_by_token(self, client_token: str) -> Any | None:
        found = [
            lb
            for lb in self._list("load_balancers", tags=f"{TOKEN_TAG_PREFIX}{client_token}")
            if self._is_ours(lb) and lb.provisioning_status != "DELETED"
        ]
        return min(found, key=_creation_order) if found else None

    def _read(self, lb: Any) -> _Found:
        """The load balancer's listeners and pools (one call each), the pool's members
        and monitor."""
        listeners = [self._child("get_listener", child_id) for child_id in _ids(lb.listeners)]
        pools = [self._child("get_pool", child_id) for child_id in _ids(lb.pools)]
        return self._assemble(
            lb,
            [listener for listener in listeners if listener is not None and MANAGED_TAG in (listener.tags or ())],
            [pool for pool in pools if pool is not None and MANAGED_TAG in (pool.tags or ())],
            lambda monitor_id: self._child("get_health_monitor", monitor_id),
        )

    def _child(self, method: str, child_id: str) -> Any | None:
        try:
            return self._call(method, child_id)
        except ProviderResourceNotFound:
            return None  # deleted between the two reads

    def _assemble(
        self, lb: Any, listeners: list[Any], pools: list[Any], monitor_of: Callable[[str], Any | None]
    ) -> _Found:
        """The portal's listeners and pool among the load balancer's (the oldest pool of
        the portal's, should there be several), the pool's members and monitor."""
        pool = min(pools, key=_creation_order) if pools else None
        members: list[Any] = []
        monitor = None
        if pool is not None:
            try:
                members = self._list("members", pool.id)
            except ProviderResourceNotFound:
                members = []  # the pool went meanwhile (a cascade delete under way): the load balancer did not
            monitor = monitor_of(pool.health_monitor_id) if pool.health_monitor_id else None
        return _Found(lb, listeners, pool, members, monitor)

    def _survey(self, ref: str, spec: LoadBalancerSpec) -> _Found:
        """What ``ref`` runs now; ProviderRejected for a load balancer that is not a
        portal's, failed or of another protocol."""
        found = self._read(self._owned(ref))
        if found.lb.provisioning_status in ("ERROR", "PENDING_DELETE"):
            raise ProviderRejected(
                f"octavia: load balancer {ref} is {found.lb.provisioning_status} at Octavia; it cannot be changed"
            )
        for what, item in [("listener", listener) for listener in found.listeners] + [("pool", found.pool)]:
            if item is not None and item.protocol != spec.listener_protocol:
                raise ProviderRejected(
                    f"octavia: the {what} of load balancer {ref} is {item.protocol}; Octavia cannot change a"
                    f" {what}'s protocol to {spec.listener_protocol}"
                )
        return found

    # -- presenting ---------------------------------------------------------------------

    def _present(self, found: _Found) -> ProviderLoadBalancer:
        lb = found.lb
        tags = list(lb.tags or ())
        status = _STATUSES.get(lb.provisioning_status or "", ProvisioningStatus.ERROR)
        operating = _OPERATING.get(lb.operating_status or "", OperatingStatus.OFFLINE)
        error = running = None
        if status is ProvisioningStatus.ERROR:
            error = (
                f"octavia: the load balancer is in ERROR (provisioning status {lb.provisioning_status}, operating"
                f" status {lb.operating_status}); Octavia's worker log has the reason"
            )
        elif status is ProvisioningStatus.ACTIVE and not found.complete:
            missing = [name for name, item in (("listener", found.listener), ("pool", found.pool)) if item is None]
            status, operating = ProvisioningStatus.ERROR, OperatingStatus.ERROR
            error = f"octavia: the load balancer is incomplete (no {' and no '.join(missing)}); an update repairs it"
        elif status is ProvisioningStatus.ACTIVE and (failed := _failed_parts(found)):
            status, operating = ProvisioningStatus.ERROR, OperatingStatus.ERROR
            error = (
                f"octavia: a change failed at Octavia: {', '.join(failed)} in ERROR (Octavia's worker log has the"
                " reason); an update tries again"
            )
        monitor = _monitor_of(found.monitor)
        if status is ProvisioningStatus.ACTIVE:
            running = self._running(found, tags, monitor)
        return ProviderLoadBalancer(
            ref=lb.id,
            provisioning_status=status,
            operating_status=operating,
            vip_address=lb.vip_address,
            members=tuple(
                sorted(
                    (
                        MemberHealth(
                            m.address,
                            int(m.protocol_port),
                            OperatingStatus.DRAINING
                            if m.weight == 0
                            else _OPERATING.get(m.operating_status or "", OperatingStatus.NO_MONITOR),
                        )
                        for m in found.members
                    ),
                    key=lambda m: (m.address, m.port),
                )
            ),
            error=error,
            client_token=_tag_value(tags, TOKEN_TAG_PREFIX),
            installation=_tag_value(tags, INSTALLATION_TAG_PREFIX),
            health_monitor=monitor,
            running=running,
        )

    @staticmethod
    def _running(found: _Found, tags: list[str], monitor: HealthMonitor | None) -> LoadBalancerSpec:
        assert found.listener is not None, "only a complete load balancer runs a spec"
        assert found.pool is not None, "only a complete load balancer runs a spec"
        return LoadBalancerSpec(
            name=found.lb.name or "",
            listener_protocol=found.listener.protocol,
            listener_port=int(found.listener.protocol_port),
            algorithm=found.pool.lb_algorithm,
            members=tuple(
                sorted(
                    (
                        MemberSpec(
                            m.address,
                            int(m.protocol_port),
                            int(m.weight if m.weight is not None else 1),
                            _admin_state(m),
                        )
                        for m in found.members
                    ),
                    key=lambda m: (m.address, m.port),
                )
            ),
            health_monitor=monitor,
            tags=tuple(sorted(tag for tag in tags if not tag.startswith(RESERVED_TAG_PREFIX))),
            project=found.lb.project_id,
        )

    # -- planning -------------------------------------------------------------------------

    def _identity(self, client_token: str) -> list[str]:
        tags = [MANAGED_TAG, f"{TOKEN_TAG_PREFIX}{client_token}"]
        if self._installation:
            tags.append(f"{INSTALLATION_TAG_PREFIX}{self._installation}")
        return tags

    def _create_body(self, spec: LoadBalancerSpec, client_token: str) -> dict[str, Any]:
        pool: dict[str, Any] = {
            "name": _pool_name(spec),
            "protocol": spec.listener_protocol,
            "lb_algorithm": spec.algorithm,
            "tags": [MANAGED_TAG],
            "members": [_member_body(member) for member in spec.members],
        }
        if spec.health_monitor is not None:
            pool["healthmonitor"] = _monitor_body(spec.health_monitor) | {"tags": [MANAGED_TAG]}
        body: dict[str, Any] = {
            "name": spec.name,
            **self._vip,
            "tags": [*self._identity(client_token), *sorted(spec.tags)],
            "listeners": [
                {
                    "name": spec.name,
                    "protocol": spec.listener_protocol,
                    "protocol_port": spec.listener_port,
                    "tags": [MANAGED_TAG],
                    "default_pool": pool,
                }
            ],
        }
        if project := spec.project or self._project_id:
            body["project_id"] = project
        return body

    def _steps(self, found: _Found, spec: LoadBalancerSpec) -> list[ProviderOperation]:
        """The calls, in order, that make what ``found`` describes run the spec (see the
        module's docstring); none when it already does.  The one function behind
        ``plan`` and ``update``."""
        lb = found.lb
        steps = []
        tags = [*self._identity(_tag_value(list(lb.tags or ()), TOKEN_TAG_PREFIX) or ""), *sorted(spec.tags)]
        if lb.name != spec.name or sorted(lb.tags or ()) != sorted(tags):
            steps.append(
                ProviderOperation("update_load_balancer", {"load_balancer": lb.id, "name": spec.name, "tags": tags})
            )
        pool_id = found.pool.id if found.pool is not None else POOL_PLACEHOLDER
        if found.pool is None:
            steps.append(
                ProviderOperation(
                    "create_pool",
                    {
                        "loadbalancer_id": lb.id,
                        "name": _pool_name(spec),
                        "protocol": spec.listener_protocol,
                        "lb_algorithm": spec.algorithm,
                        "tags": [MANAGED_TAG],
                    },
                )
            )
        elif found.pool.lb_algorithm != spec.algorithm or _failed(found.pool):
            steps.append(ProviderOperation("update_pool", {"pool": pool_id, "lb_algorithm": spec.algorithm}))
        steps += _monitor_steps(pool_id, found.monitor, spec.health_monitor)
        steps += _member_steps(pool_id, found.members, spec.members)
        steps += _listener_steps(lb.id, pool_id, found.listeners, spec)
        return steps

    # -- applying -------------------------------------------------------------------------

    def _apply(self, found: _Found, steps: list[ProviderOperation]) -> None:
        """Make the steps in order, each once the load balancer is ACTIVE, and check that
        Octavia's worker did not fail what each made or changed (it then puts that object
        in ERROR and the load balancer back to ACTIVE)."""
        lb_id = found.lb.id
        learned = {LB_PLACEHOLDER: lb_id}
        if found.pool is not None:
            learned[POOL_PLACEHOLDER] = found.pool.id
        for step in steps:
            touched = self._send_when_active(lb_id, step, learned)
            if touched is not None:
                self._wait_active(lb_id)
                self._require_done(step, touched)

    def _send_when_active(self, lb_id: str, step: ProviderOperation, learned: dict[str, str]) -> tuple[str, ...] | None:
        """``_send`` once the load balancer is ACTIVE; when another caller's change made it
        PENDING_* between the look and the call (Octavia's 409), wait and send again,
        within ``step_timeout`` in all."""
        deadline = self._monotonic() + self._step_timeout
        while True:
            self._wait_active(lb_id)
            try:
                return self._send(step, learned)
            except ProviderUnavailable as busy:
                if busy.details.get("code") != "pending" or self._monotonic() >= deadline:
                    raise
            self._sleep(self._poll_interval)

    def _send(self, step: ProviderOperation, learned: dict[str, str]) -> tuple[str, ...] | None:
        """Make one planned call, each placeholder filled with the id an earlier step
        learned (a delete of something already gone is done); the ids of what it made or
        changed, as ``_require_done`` reads it back (None for a delete)."""
        params = {
            key: learned.get(value, value) if isinstance(value, str) else value for key, value in step.params.items()
        }
        args = [params.pop(name) for name in _POSITIONAL.get(step.name, ())]
        if step.name.startswith("delete_"):
            params["ignore_missing"] = True
        try:
            answer = self._call(step.name, *args, **params)
        except ProviderResourceNotFound as gone:
            raise _Raced(
                ProviderUnavailable(f"octavia {step.name}: what it acts on went meanwhile ({gone.message}); ask again")
            ) from gone
        except ProviderRejected as refused:
            if refused.details.get("code") == "409":  # made or changed meanwhile, or a real conflict
                raise _Raced(refused) from refused
            raise
        if step.name == "create_pool":
            learned[POOL_PLACEHOLDER] = answer.id
        if step.name.startswith("delete_"):
            return None
        if step.name in ("create_member", "update_member"):
            return (answer.id, learned.get(str(step.params["pool"]), str(step.params["pool"])))
        return (answer.id,)

    def _require_done(self, step: ProviderOperation, touched: tuple[str, ...]) -> None:
        """ProviderRejected when what the step made or changed is in ERROR at Octavia."""
        getter = _GETTERS.get(step.name)
        if getter is None:
            return  # the load balancer itself: _wait_active has seen it ACTIVE
        item = self._call(getter, *touched)
        if item.provisioning_status == "ERROR":
            raise ProviderRejected(
                f"octavia: {step.name} failed at Octavia: the {getter.removeprefix('get_').replace('_', ' ')}"
                f" {touched[0]} is in ERROR (Octavia's worker log has the reason); an update tries again"
            )

    def _wait_active(self, lb_id: str, *, or_error: bool = False) -> str:
        """Wait until Octavia would take a change of the load balancer (ACTIVE, or with
        ``or_error`` ERROR too), at most ``step_timeout`` seconds, and answer its status;
        ProviderUnavailable after that, ProviderRejected when it went to ERROR meanwhile
        (unless ``or_error``)."""
        deadline = self._monotonic() + self._step_timeout
        while True:
            status = self._load_balancer(lb_id).provisioning_status
            if status == "ACTIVE" or (or_error and status == "ERROR"):
                return status
            if status == "ERROR":
                raise ProviderRejected(f"octavia: load balancer {lb_id} went to ERROR while being changed")
            if self._monotonic() >= deadline:
                raise ProviderUnavailable(
                    f"octavia: load balancer {lb_id} is still {status} after {self._step_timeout:.0f} s; Octavia"
                    " takes no change until it is ACTIVE (ask again later)",
                    details={"code": "pending"},
                )
            self._sleep(self._poll_interval)

    # -- calling --------------------------------------------------------------------------

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.proxy, method)(*args, **kwargs)
        except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as exc:
            raise _translate(method, exc) from exc
        except _GARBLED as exc:
            raise _garbled(method, exc) from exc

    def _list(self, method: str, *args: Any, **query: Any) -> list[Any]:
        try:
            return list(getattr(self.proxy, method)(*args, **query))
        except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as exc:
            raise _translate(method, exc) from exc
        except _GARBLED as exc:
            raise _garbled(method, exc) from exc

    @staticmethod
    def _require_possible(spec: LoadBalancerSpec) -> None:
        if problems := _refusals(spec):
            raise ProviderRejected("; ".join(problems))


# -- connecting ---------------------------------------------------------------------------


def _connect(
    *,
    cloud: str | None,
    auth_url: str | None,
    endpoint: str | None,
    region: str | None,
    timeout: float,
    project_id: str | None,
) -> Any:
    """An openstacksdk connection: through Keystone (a clouds.yaml cloud, or ``auth_url``
    with the ``OS_*`` variables), or straight to an Octavia without Keystone."""
    try:
        if cloud or auth_url or os.environ.get("OS_AUTH_URL") or os.environ.get("OS_CLOUD"):
            options: dict[str, Any] = {"api_timeout": timeout}
            if auth_url:
                options["auth_url"] = auth_url
            if endpoint:
                options["load_balancer_endpoint_override"] = endpoint
            if region:
                options["region_name"] = region
            return openstack.connect(cloud=cloud, **options)
        if not endpoint:
            raise ValueError("octavia needs a cloud (clouds.yaml), an auth URL (Keystone) or an endpoint")
        if not project_id:
            raise ValueError("octavia without Keystone (endpoint only) needs the project id it acts as")
        auth_session = session.Session(
            auth=noauth.NoAuth(endpoint=endpoint),
            timeout=timeout,
            additional_headers={"X-Project-Id": project_id, "X-Roles": "admin", "X-User-Id": "lb-portal"},
        )
        return openstack.connection.Connection(session=auth_session, load_balancer_endpoint_override=endpoint)
    except (sdk_exceptions.SDKException, ks_exceptions.ClientException, KeyError) as exc:
        raise ValueError(f"octavia connection could not be configured: {exc}") from exc


# -- translating ------------------------------------------------------------------------------


def _translate(method: str, exc: Exception) -> ProviderError:
    """A portal error for an openstacksdk or keystoneauth exception, with Octavia's
    status and message in the text."""
    status = getattr(exc, "status_code", None) or getattr(exc, "http_status", None)
    message = _message(exc)
    text = f"octavia {method}: {status or type(exc).__name__}: {message}"
    details = {"operation": method, "code": str(status or type(exc).__name__)}
    # Refused, reset or timed out, and the version discovery that precedes the first call
    # (it fails the same way when the API does not answer): worth asking again.
    if isinstance(
        exc, ks_exceptions.ConnectionError | ks_exceptions.RetriableConnectionFailure | ks_exceptions.DiscoveryFailure
    ):
        return ProviderUnavailable(text, details=details)
    if status == 404 or isinstance(exc, sdk_exceptions.NotFoundException | ks_exceptions.NotFound):
        return ProviderResourceNotFound(text, details=details)
    if status == 409 and any(word in message.lower() for word in _PENDING_WORDS):
        return ProviderUnavailable(text, details=details | {"code": "pending"})
    if isinstance(status, int) and (status >= 500 or status == 429):
        return ProviderUnavailable(text, details=details)
    return ProviderRejected(text, details=details)


# What openstacksdk raises on an answer that is not Octavia's (a proxy's HTML page, a body
# without the expected keys): not JSON, a missing key, a value of the wrong kind.
_GARBLED = (ValueError, KeyError, TypeError, AttributeError)


def _garbled(method: str, exc: Exception) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"octavia {method}: the answer is not Octavia's ({type(exc).__name__}: {_message(exc)})",
        details={"operation": method, "code": type(exc).__name__},
    )


def _message(exc: Exception) -> str:
    details = getattr(exc, "details", None)
    text = str(details or exc)
    return " ".join(text.split())[:500]


# -- what a spec asks of Octavia ------------------------------------------------------------


def _refusals(spec: LoadBalancerSpec) -> list[str]:
    problems = []
    if spec.listener_protocol not in _PROTOCOLS:
        problems.append(f"octavia: listener protocol {spec.listener_protocol!r} is not one the portal maps")
    if spec.algorithm not in _ALGORITHMS:
        problems.append(f"octavia: algorithm {spec.algorithm!r} is not one of Octavia's")
    monitor = spec.health_monitor
    if monitor is not None:
        if monitor.timeout > monitor.interval:
            problems.append(
                f"octavia: a health monitor's timeout ({monitor.timeout} s) may not exceed its interval"
                f" ({monitor.interval} s)"
            )
        if monitor.type is MonitorType.HTTP and not _OCTAVIA_CODES.match(monitor.expected_codes):
            problems.append(
                f"octavia: expected codes {monitor.expected_codes!r}: Octavia takes one code (200), a list (200,202)"
                " or one range (200-299), not several ranges nor a list with a range"
            )
    for member in spec.members:
        if not 0 <= member.weight <= 256:
            problems.append(f"octavia: member {member.address}:{member.port} weight {member.weight} is not 0-256")
    for tag in spec.tags:
        if tag.startswith(RESERVED_TAG_PREFIX):
            problems.append(f"octavia: tag {tag!r}: tags starting with {RESERVED_TAG_PREFIX} are the portal's")
    return problems


def _pool_name(spec: LoadBalancerSpec) -> str:
    return f"{spec.name}-pool"


def _member_body(member: MemberSpec) -> dict[str, Any]:
    return {
        "address": member.address,
        "protocol_port": member.port,
        "weight": 0 if member.is_draining else member.weight,
        "admin_state_up": True,
    }


def _monitor_body(monitor: HealthMonitor) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": monitor.type.value,
        "delay": monitor.interval,
        "timeout": monitor.timeout,
        "max_retries": monitor.retries_up,
        "max_retries_down": monitor.retries_down,
    }
    if monitor.type is MonitorType.HTTP:
        body |= {"http_method": "GET", "url_path": monitor.http_path, "expected_codes": monitor.expected_codes}
    return body


def _monitor_of(monitor: Any | None) -> HealthMonitor | None:
    """An Octavia health monitor as the portal's (None: none, or one the portal has no word
    for, such as PING, HTTPS or an HTTP one that does not GET: a plan replaces it)."""
    if monitor is None or monitor.type not in _MONITOR_TYPES:
        return None
    if monitor.type == "HTTP" and (getattr(monitor, "http_method", None) or "GET") != "GET":
        return None
    kind = _MONITOR_TYPES[monitor.type]
    defaults = HealthMonitor(kind)
    return HealthMonitor(
        kind,
        interval=int(monitor.delay),
        timeout=int(monitor.timeout),
        retries_up=int(monitor.max_retries),
        retries_down=int(monitor.max_retries_down or defaults.retries_down),
        http_path=(monitor.url_path or defaults.http_path) if kind is MonitorType.HTTP else defaults.http_path,
        expected_codes=(monitor.expected_codes or defaults.expected_codes)
        if kind is MonitorType.HTTP
        else defaults.expected_codes,
    )


def _monitor_steps(pool_id: str, current: Any | None, wanted: HealthMonitor | None) -> list[ProviderOperation]:
    running = _monitor_of(current)
    if current is not None and (wanted is None or running is None or running.type is not wanted.type):
        steps = [ProviderOperation("delete_health_monitor", {"health_monitor": current.id})]
        current = None
    else:
        steps = []
    if wanted is None:
        return steps
    body = _monitor_body(wanted)
    if current is None:
        return [*steps, ProviderOperation("create_health_monitor", {"pool_id": pool_id, **body, "tags": [MANAGED_TAG]})]
    if running != wanted or _failed(current):
        body.pop("type")
        return [ProviderOperation("update_health_monitor", {"health_monitor": current.id, **body})]
    return steps


def _member_steps(pool_id: str, current: list[Any], wanted: Iterable[MemberSpec]) -> list[ProviderOperation]:
    """New members first, then changed ones, then the ones no longer wanted: the pool is
    never emptier than it has to be."""
    have = {(m.address, int(m.protocol_port)): m for m in current}
    want = {(m.address, m.port): m for m in wanted}
    created, changed, removed = [], [], []
    for key, member in sorted(want.items()):
        body = _member_body(member)
        found = have.get(key)
        if found is None:
            created.append(ProviderOperation("create_member", {"pool": pool_id, **body}))
        elif (found.weight, bool(found.is_admin_state_up)) != (body["weight"], True) or _failed(found):
            changed.append(
                ProviderOperation(
                    "update_member",
                    {"member": found.id, "pool": pool_id, "weight": body["weight"], "admin_state_up": True},
                )
            )
    for key, found in sorted(have.items()):
        if key not in want:
            removed.append(ProviderOperation("delete_member", {"member": found.id, "pool": pool_id}))
    return created + changed + removed


def _listener_steps(lb_id: str, pool_id: str, current: list[Any], spec: LoadBalancerSpec) -> list[ProviderOperation]:
    """The portal's listener on the spec's port, defaulting to the pool: kept (pointed
    at the pool if it is not), else made; then every other listener of the portal's is
    deleted.  Made before deleting (Octavia cannot move a listener to another port), so
    the load balancer always listens, and a port Octavia refuses (in use by a listener
    someone else added) is refused before anything is deleted."""
    on_port = [item for item in current if item.protocol_port == spec.listener_port]
    keep = min(on_port, key=lambda item: (item.default_pool_id != pool_id, item.id), default=None)
    steps = []
    if keep is None:
        steps.append(
            ProviderOperation(
                "create_listener",
                {
                    "loadbalancer_id": lb_id,
                    "name": spec.name,
                    "protocol": spec.listener_protocol,
                    "protocol_port": spec.listener_port,
                    "default_pool_id": pool_id,
                    "tags": [MANAGED_TAG],
                },
            )
        )
    elif keep.default_pool_id != pool_id or _failed(keep):
        steps.append(ProviderOperation("update_listener", {"listener": keep.id, "default_pool_id": pool_id}))
    steps += [
        ProviderOperation("delete_listener", {"listener": item.id})
        for item in sorted(current, key=lambda item: item.id)
        if item is not keep
    ]
    return steps


def _failed_parts(found: _Found) -> list[str]:
    """The portal's objects of the load balancer that Octavia left in ERROR, named."""
    parts = [(f"listener {item.protocol_port}", item) for item in found.listeners]
    parts += [("pool", found.pool), ("health monitor", found.monitor)]
    parts += [(f"member {m.address}:{m.protocol_port}", m) for m in found.members]
    return [name for name, item in parts if item is not None and _failed(item)]


def _failed(item: Any) -> bool:
    """Octavia's worker failed the last change of it (it reverts the load balancer to
    ACTIVE and leaves the object in ERROR); sending its settings again retries it."""
    return getattr(item, "provisioning_status", None) == "ERROR"


def _admin_state(member: Any) -> str:
    if not member.is_admin_state_up:
        return DISABLED
    return AdminState.DRAIN if member.weight == 0 else AdminState.ENABLED


def _tag_value(tags: list[str], prefix: str) -> str | None:
    for tag in tags:
        if tag.startswith(prefix):
            return tag[len(prefix) :]
    return None


def _ids(items: Any) -> list[str]:
    return [item["id"] if isinstance(item, dict) else item.id for item in items or ()]


def _creation_order(item: Any) -> tuple[str, str]:
    return str(item.created_at or ""), str(item.id)
