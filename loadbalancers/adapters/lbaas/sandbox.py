"""The embedded default LBaaS provider: a simulated external service.

It behaves like a remote one so the portal's asynchronous machinery (pending
states, polling, retries, idempotent creation) is exercised without a real
provider: work stays PENDING_* for ``delay`` seconds, calls can be slowed down
or fail, and one step can be made to fail for good.

The web server and the Celery workers are separate processes that must all see
one provider, so every bit of state lives in one SQLite file and every change is
a ``BEGIN IMMEDIATE`` transaction.  Pending work completes lazily: a row stores
when its pending action is over (``ready_at``) and readers compare that with the
clock, so no background thread is needed.

The whole spec is kept (as JSON): members with their weights and admin states, the
health monitor and the tags.  A row written before a field existed reads back with
that field's default.  The sandbox has no traffic to check, so it simulates health:

* while a change is pending, every member is OFFLINE (and so is the load balancer);
* once ACTIVE, a member in drain is DRAINING; the others are NO_MONITOR without a
  health monitor and ONLINE (simulated healthy) with one;
* a load balancer whose pending action failed is ERROR, its members OFFLINE.

The operating status of an ACTIVE load balancer follows from its members' as for every
provider (``overall_operating_status``, which leaves members in drain out): ONLINE with
a monitor, NO_MONITOR without, OFFLINE when every member drains.  ``health_monitor``
reports the stored spec's monitor; weights and tags are stored, not acted on.

What the sandbox runs is its stored spec, so every answer reports it as ``running``;
someone who edits the file by hand (the simulated service's own operator) changes what
runs, and the portal sees that drift by comparing.  ``plan`` reads the row and says what
``create`` or ``update`` would write: one resource write, with the resource as it would
be stored and, for an update, each field that changes.  One function decides for both,
so an update writes exactly when its plan has an operation: never when the spec is the
one an ACTIVE load balancer already runs (no pending period for nothing), always on a
load balancer in ERROR or PENDING_UPDATE (a retry, which restarts the timer).

Stdlib only: an import-linter contract keeps Django, DRF and Celery out of here.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from uuid import uuid4

from loadbalancers.adapters.lbaas.sqlite_state import SQLiteState, lowest_free_vip
from loadbalancers.application.lbaas import (
    LBaaSClient,
    LoadBalancerSpec,
    MemberHealth,
    MemberSpec,
    ProviderLoadBalancer,
    ProviderOperation,
    ProviderPlan,
    SpecChange,
    spec_changes,
)
from loadbalancers.domain.errors import ProviderRejected, ProviderResourceNotFound, ProviderUnavailable
from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.model import OperatingStatus, ProvisioningStatus
from loadbalancers.domain.monitors import HealthMonitor, MonitorType

FAIL_AT_CHOICES = ("", "create", "activate", "update", "delete")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS load_balancers (
    ref TEXT PRIMARY KEY,
    client_token TEXT NOT NULL UNIQUE,
    vip_address TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    ready_at REAL NOT NULL,
    error TEXT,
    installation TEXT
)
"""

# Added after the first version: files made before it get the column when opened.
_INSTALLATION_COLUMN = ("load_balancers", "installation", "TEXT")

# A row whose delete is over is gone, even before a write purges it.
_LIVE = "NOT (action = 'delete' AND ready_at <= :now)"

_PENDING = {
    "create": ProvisioningStatus.PENDING_CREATE,
    "update": ProvisioningStatus.PENDING_UPDATE,
    "delete": ProvisioningStatus.PENDING_DELETE,
}


class SandboxLBaaS(LBaaSClient):
    """A simulated LBaaS whose state lives in a SQLite file shared by every process.

    ``update`` is accepted when the load balancer is ACTIVE, ERROR or PENDING_UPDATE
    (a retried update restarts the timer) and rejected while it is PENDING_CREATE or
    PENDING_DELETE, as real providers keep a resource immutable while it is being
    created or deleted; it also keeps a simulated activation failure from being
    papered over by an early update.
    """

    name = "sandbox"

    def __init__(
        self,
        *,
        path: str,
        delay: float = 2.0,
        vip_range: str = "198.51.100.0/24",
        latency: float = 0.0,
        error_rate: float = 0.0,
        fail_at: str = "",
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
        installation: str | None = None,
    ):
        try:
            self._vip_range = ipaddress.ip_network(vip_range)
        except ValueError as exc:
            raise ValueError(f"sandbox vip_range {vip_range!r} is not a valid CIDR network: {exc}") from None
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"sandbox error_rate must be between 0 and 1 (got {error_rate!r})")
        if fail_at not in FAIL_AT_CHOICES:
            raise ValueError(f"sandbox fail_at must be one of {FAIL_AT_CHOICES} (got {fail_at!r})")
        if not delay >= 0.0:
            raise ValueError(f"sandbox delay must be zero or more seconds (got {delay!r})")
        if not latency >= 0.0:
            raise ValueError(f"sandbox latency must be zero or more seconds (got {latency!r})")
        self._state = SQLiteState(path, _SCHEMA, owner="sandbox", added_columns=[_INSTALLATION_COLUMN])
        self._installation = installation
        self._delay = delay
        self._latency = latency
        self._error_rate = error_rate
        self._fail_at = fail_at
        self._random = random.Random(seed)
        self._clock = clock

    # -- the port ---------------------------------------------------------------------

    def create(self, spec: LoadBalancerSpec, *, client_token: str) -> ProviderLoadBalancer:
        self._simulate_network("create")
        now = self._clock()
        with self._write(now) as db:
            if not _token_known(db, client_token):
                # Within BEGIN IMMEDIATE no other process can insert meanwhile; the
                # UNIQUE index is the guarantee, and re-reading returns the winner.
                db.execute(
                    "INSERT INTO load_balancers"
                    " (ref, client_token, vip_address, spec, action, ready_at, error, installation)"
                    " VALUES (?, ?, ?, ?, 'create', ?, ?, ?) ON CONFLICT (client_token) DO NOTHING",
                    (
                        f"sbx-{uuid4().hex}",
                        client_token,
                        lowest_free_vip(db, self._vip_range),
                        _dump(spec),
                        now + self._delay,
                        "sandbox: simulated failure while activating" if self._fail_at == "activate" else None,
                        self._installation,
                    ),
                )
            row = db.execute("SELECT * FROM load_balancers WHERE client_token = ?", (client_token,)).fetchone()
        return _present(row, now)

    def get(self, ref: str) -> ProviderLoadBalancer:
        self._simulate_network("get")
        now = self._clock()
        with self._connection() as db:
            query = f"SELECT * FROM load_balancers WHERE ref = :ref AND {_LIVE}"
            row = db.execute(query, {"ref": ref, "now": now}).fetchone()
        return _present(_found(row, ref), now)

    def update(self, ref: str, spec: LoadBalancerSpec) -> ProviderLoadBalancer:
        self._simulate_network("update")
        now = self._clock()
        with self._write(now) as db:
            row = _found(db.execute("SELECT * FROM load_balancers WHERE ref = ?", (ref,)).fetchone(), ref)
            if _update_operation(row, spec, now) is not None:
                db.execute(
                    "UPDATE load_balancers SET spec = ?, action = 'update', ready_at = ?, error = NULL WHERE ref = ?",
                    (_dump(spec), now + self._delay, ref),
                )
                row = db.execute("SELECT * FROM load_balancers WHERE ref = ?", (ref,)).fetchone()
        return _present(row, now)

    def delete(self, ref: str) -> None:
        self._simulate_network("delete")
        now = self._clock()
        with self._write(now) as db:
            # A repeated delete keeps the first one's timer: the resource goes when it was due to.
            db.execute(
                "UPDATE load_balancers SET action = 'delete', ready_at = ? WHERE ref = ? AND action != 'delete'",
                (now + self._delay, ref),
            )

    def get_list(self) -> list[ProviderLoadBalancer]:
        self._simulate_network("get_list")
        now = self._clock()
        with self._connection() as db:
            rows = db.execute(f"SELECT * FROM load_balancers WHERE {_LIVE} ORDER BY rowid", {"now": now}).fetchall()
        reader = _Reader()
        return [reader.present(row, now) for row in rows]

    def plan(self, ref: str | None, spec: LoadBalancerSpec) -> ProviderPlan:
        """A read like ``get`` (its latency, its transient failures, never ``fail_at``):
        the permanent failure of a step is simulated when the step is taken."""
        self._simulate_network("plan")
        if ref is None:
            return ProviderPlan(operations=(ProviderOperation("create load balancer", {"resource": _resource(spec)}),))
        now = self._clock()
        with self._connection() as db:
            row = db.execute(f"SELECT * FROM load_balancers WHERE ref = :ref AND {_LIVE}", {"ref": ref, "now": now})
            operation = _update_operation(_found(row.fetchone(), ref), spec, now)
        return ProviderPlan(operations=() if operation is None else (operation,))

    # -- simulation -------------------------------------------------------------------

    def _simulate_network(self, step: str) -> None:
        """What a remote call costs before the service acts: latency, transient
        failures, and the configured permanent failure of one step."""
        if self._latency:
            time.sleep(self._latency)
        if self._random.random() < self._error_rate:
            raise ProviderUnavailable("sandbox: simulated transient failure")
        if step == self._fail_at:
            raise ProviderRejected(f"sandbox: simulated permanent failure of {step}")

    # -- storage ----------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._state.read() as db:
            yield db

    @contextmanager
    def _write(self, now: float) -> Iterator[sqlite3.Connection]:
        """One write transaction.  Deletes that are over are purged first, which frees
        their client tokens and VIPs for the UNIQUE indexes."""
        with self._state.write() as db:
            db.execute("DELETE FROM load_balancers WHERE NOT " + _LIVE, {"now": now})
            yield db


def _token_known(db: sqlite3.Connection, client_token: str) -> bool:
    return db.execute("SELECT 1 FROM load_balancers WHERE client_token = ?", (client_token,)).fetchone() is not None


def _found(row: sqlite3.Row | None, ref: str) -> sqlite3.Row:
    if row is None:
        raise ProviderResourceNotFound(f"sandbox: no load balancer {ref}")
    return row


def _update_operation(row: sqlite3.Row, spec: LoadBalancerSpec, now: float) -> ProviderOperation | None:
    """What updating the load balancer in ``row`` to ``spec`` writes, None for nothing;
    ``plan`` reports it and ``update`` does it, so the two cannot disagree.  Refused while
    it is being created or deleted (see SandboxLBaaS)."""
    status = _present(row, now).provisioning_status
    if status in (ProvisioningStatus.PENDING_CREATE, ProvisioningStatus.PENDING_DELETE):
        raise ProviderRejected(f"sandbox: load balancer {row['ref']} is {status}; it cannot be updated now")
    stored = _load(row["spec"])
    if status is ProvisioningStatus.ACTIVE and _resource(stored) == _resource(spec):
        return None
    changes = [{"field": c.field, "before": c.before, "after": c.after} for c in _stored_changes(stored, spec)]
    return ProviderOperation(
        "update load balancer", {"from_status": str(status), "changes": changes, "resource": _resource(spec)}
    )


def _stored_changes(before: LoadBalancerSpec, after: LoadBalancerSpec) -> list[SpecChange]:
    """``spec_changes``, and what else the sandbox stores: the name, the tags and the
    members' order.  Empty for the retry of an update in ERROR or PENDING_UPDATE with the
    spec it already has."""
    changes = spec_changes(before, after)
    for name in ("name", "tags"):
        old, new = _resource(before)[name], _resource(after)[name]
        if old != new:
            changes.append(SpecChange(name, old, new))
    old_order = [(m.address, m.port) for m in before.members]
    new_order = [(m.address, m.port) for m in after.members]
    if old_order != new_order and sorted(old_order) == sorted(new_order):
        changes.append(SpecChange("member order", [list(m) for m in old_order], [list(m) for m in new_order]))
    return changes


def _resource(spec: LoadBalancerSpec) -> dict[str, object]:
    """The load balancer as the sandbox stores it, as plain JSON: what a plan shows."""
    return json.loads(_dump(spec))


def _dump(spec: LoadBalancerSpec) -> str:
    return json.dumps(dataclasses.asdict(spec))


def _load(text: str) -> LoadBalancerSpec:
    """The stored spec: a key a row written by an older version lacks takes its default
    (one it does not know is left out)."""
    return _Reader().spec(text)


def _present(row: sqlite3.Row, now: float) -> ProviderLoadBalancer:
    """The row as the provider reports it at ``now``: still pending, ACTIVE, or the
    ERROR its pending action was set to end in (see the module's description)."""
    return _Reader().present(row, now)


_MEMBER_FIELDS = frozenset(f.name for f in dataclasses.fields(MemberSpec))
_MONITOR_FIELDS = frozenset(f.name for f in dataclasses.fields(HealthMonitor))


class _Reader:
    """Reads rows into answers (see ``_load`` and ``_present``).  One reader makes each
    distinct member, monitor and member health once and shares it (they are immutable):
    a listing of every load balancer repeats the same few many times over (a server is
    a member of many), and making them was most of a listing's time."""

    def __init__(self) -> None:
        self._members: dict[tuple[tuple[str, object], ...], MemberSpec] = {}
        self._monitors: dict[tuple[tuple[str, object], ...], HealthMonitor] = {}
        self._health: dict[tuple[str, int, OperatingStatus], MemberHealth] = {}

    def spec(self, text: str) -> LoadBalancerSpec:
        raw = json.loads(text)
        monitor = raw.get("health_monitor")
        return LoadBalancerSpec(
            name=raw["name"],
            listener_protocol=raw["listener_protocol"],
            listener_port=raw["listener_port"],
            algorithm=raw["algorithm"],
            members=tuple([self._member(m) for m in raw.get("members", ())]),
            health_monitor=self._monitor(monitor) if monitor is not None else None,
            tags=tuple(raw.get("tags", ())),
        )

    def present(self, row: sqlite3.Row, now: float) -> ProviderLoadBalancer:
        spec = self.spec(row["spec"])
        error = row["error"]
        if now < row["ready_at"]:
            status = _PENDING[row["action"]]
        elif error is not None:
            status = ProvisioningStatus.ERROR
        else:
            status = ProvisioningStatus.ACTIVE
        statuses = _member_statuses(spec, status)
        known = self._health
        members = tuple(
            [
                known.get((m.address, m.port, s)) or self._member_health(m.address, m.port, s)
                for m, s in zip(spec.members, statuses, strict=True)
            ]
        )
        if status is ProvisioningStatus.ACTIVE:
            operating = overall_operating_status(statuses)
        else:
            operating = OperatingStatus.ERROR if status is ProvisioningStatus.ERROR else OperatingStatus.OFFLINE
        return ProviderLoadBalancer(
            ref=row["ref"],
            provisioning_status=status,
            operating_status=operating,
            vip_address=row["vip_address"],
            members=members,
            error=error if status is ProvisioningStatus.ERROR else None,
            client_token=row["client_token"],
            installation=row["installation"],
            health_monitor=spec.health_monitor,
            running=spec,
        )

    def _member(self, raw: dict[str, object]) -> MemberSpec:
        key = tuple(raw.items())
        try:
            return self._members[key]
        except KeyError:
            made = self._members[key] = MemberSpec(**_known(_MEMBER_FIELDS, raw))  # type: ignore[arg-type]
            return made
        except TypeError:  # a value that cannot be a key (a file edited by hand): made each time
            return MemberSpec(**_known(_MEMBER_FIELDS, raw))  # type: ignore[arg-type]

    def _monitor(self, raw: dict[str, object]) -> HealthMonitor:
        key = tuple(raw.items())
        try:
            return self._monitors[key]
        except KeyError:
            made = self._monitors[key] = _monitor(raw)
            return made
        except TypeError:
            return _monitor(raw)

    def _member_health(self, address: str, port: int, status: OperatingStatus) -> MemberHealth:
        key = (address, port, status)
        try:
            return self._health[key]
        except KeyError:
            made = self._health[key] = MemberHealth(address, port, status)
            return made


def _monitor(raw: dict[str, object]) -> HealthMonitor:
    return HealthMonitor(**{**_known(_MONITOR_FIELDS, raw), "type": MonitorType(raw["type"])})  # type: ignore[arg-type]


def _known(names: frozenset[str], raw: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in raw.items() if key in names}


def _member_statuses(spec: LoadBalancerSpec, status: ProvisioningStatus) -> list[OperatingStatus]:
    """Each member's simulated health, in order (see the module's description)."""
    if status is not ProvisioningStatus.ACTIVE:
        return [OperatingStatus.OFFLINE] * len(spec.members)
    checked = OperatingStatus.ONLINE if spec.health_monitor is not None else OperatingStatus.NO_MONITOR
    return [OperatingStatus.DRAINING if m.is_draining else checked for m in spec.members]
