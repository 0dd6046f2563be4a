"""Benchmark data at scale, written through the product's own models: servers, teams
``bench-1``, ``bench-2``, ... of load balancers with their members and tags, and a user
who belongs to ``bench-1``.

    manage.py seed_bench --load-balancers 1000000 --per-team 100000 [--servers 10000]
                         [--members 4] [--user bench] [--replace]

Everything it writes is deterministic (the same arguments give the same rows, ids and
all; only the times follow the clock) and settled: no load balancer is PENDING_*, so no
worker or reconciler starts acting on them.  About 90% are ACTIVE and ONLINE, 5% ERROR,
the rest ACTIVE with another health (NO_MONITOR, DEGRADED, OFFLINE) or DELETED (1%,
without members, as a deletion leaves them).

The rows are the models' own: the columns, their defaults and the conversion of each
value come from the models' ``_meta`` fields.  They are written in chunks inside one
transaction (a failure leaves the database as it was): with COPY on PostgreSQL, with
batched INSERTs elsewhere.  ``bulk_create`` cannot write them, as it stamps
``created_at`` (``auto_now_add``) with the current time, and the lists are ordered by it.

It lives in the load balancers app, the one whose models refer to the others' (teams,
servers, users); it reaches those models by name (``apps.get_model``), not by import, as
the load balancers app imports no other app's models (pyproject.toml's contracts).
"""

from __future__ import annotations

import io
import json
import math
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

from accounts.domain.model import QUOTA_MAX, Role
from loadbalancers.domain.health import overall_operating_status
from loadbalancers.domain.members import AdminState
from loadbalancers.domain.model import Algorithm, ListenerProtocol
from loadbalancers.domain.monitors import HealthMonitor, MonitorType
from loadbalancers.domain.statuses import OperatingStatus, ProvisioningStatus
from servers.domain.model import ServerStatus

TEAM_PREFIX = "bench-"
TEAM_SLUG_REGEX = r"^bench-[1-9][0-9]*$"  # bench-1, bench-2, ... (the teams this command makes)
SERVER_PREFIX = "bench-srv-"
SERVER_PORT = 8080
MAX_LOAD_BALANCERS = 100_000_000
MAX_SERVERS = 1_000_000
MAX_MEMBERS = 32_767  # Member.position is a small integer
PROVIDER = "sandbox"
ROLE = Role.OWNER  # creates, changes and deletes the team's load balancers (and may manage the team)
CHUNK = 20_000  # load balancers generated and written at a time
SEED = 0x5EED_BE7C

# Server n (1, 2, ...) gets the n-th host address of 10.128.0.0/9 (no .0 or .255).
_SERVER_NET = (10 << 24) | (128 << 16)
# ACTIVE load balancers' VIPs: 100.64.0.0/10 (shared address space), one per load balancer.
_VIP_NET, _VIP_HOSTS = (100 << 24) | (64 << 16), (1 << 22) - 2


def _dotted(address: int) -> str:
    return f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}"


def _server_address(n: int) -> str:
    """The address of bench server ``n`` (from 1)."""
    return _dotted(_SERVER_NET + ((n - 1) // 254) * 256 + (n - 1) % 254 + 1)


# -- what the load balancers look like --------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """One settled state a load balancer is seeded in."""

    provisioning: ProvisioningStatus
    operating: OperatingStatus
    members: tuple[tuple[OperatingStatus, str], ...] | None
    """Each member's health and reason, in position order; None: no members (DELETED)."""
    monitor: bool | None
    """Whether it has a health monitor; None: every other one has."""
    vip: bool
    error: bool
    version: int


def _kinds(members: int) -> dict[str, _Kind]:
    """The states, for load balancers of ``members`` members.  The operating status of an
    ACTIVE one follows from its members' by the domain's own rule."""
    reason = "health check failed: connection refused"
    online = ((OperatingStatus.ONLINE, ""),) * members
    no_monitor = ((OperatingStatus.NO_MONITOR, ""),) * members
    offline = ((OperatingStatus.OFFLINE, reason),) * members
    degraded = ((OperatingStatus.OFFLINE, reason), *online[1:]) if members > 1 else offline

    def active(statuses: tuple[tuple[OperatingStatus, str], ...], monitor: bool) -> _Kind:
        operating = overall_operating_status(status for status, _ in statuses)
        return _Kind(ProvisioningStatus.ACTIVE, operating, statuses, monitor, vip=True, error=False, version=2)

    return {
        "online": active(online, monitor=True),
        "no_monitor": active(no_monitor, monitor=False),
        "degraded": active(degraded, monitor=True),
        "offline": active(offline, monitor=True),
        # A create the provider accepted and then failed: never ACTIVE, no VIP.
        "error": _Kind(
            ProvisioningStatus.ERROR, OperatingStatus.ERROR, no_monitor, None, vip=False, error=True, version=2
        ),
        # What mark_deleted leaves: no members, no VIP, OFFLINE.
        "deleted": _Kind(
            ProvisioningStatus.DELETED, OperatingStatus.OFFLINE, None, None, vip=False, error=False, version=4
        ),
    }


# In every 20 load balancers of a team: 18 ACTIVE and ONLINE, one ERROR, one of the others in turn.
_CYCLE = 20
_ERROR_AT, _OTHER_AT = 7, 13
_OTHERS = ("no_monitor", "degraded", "no_monitor", "offline", "deleted")
_ERROR_REASONS = (
    "sandbox: the load balancer failed to provision (simulated)",
    "sandbox: no capacity left for a load balancer (simulated)",
)
# The monitors as the product stores them (HealthMonitor.as_dict, as the mappers write them).
_HTTP_MONITORS = (
    HealthMonitor(MonitorType.HTTP, http_path="/healthz").as_dict(),
    HealthMonitor(MonitorType.HTTP, interval=10, timeout=5, http_path="/status", expected_codes="200-299").as_dict(),
)
_TCP_MONITORS = (
    HealthMonitor(MonitorType.TCP).as_dict(),
    HealthMonitor(MonitorType.TCP, interval=10, timeout=4, retries_down=2).as_dict(),
)
_TCP_PORTS = (443, 5432, 6379)
_ALGORITHMS = tuple(Algorithm)
# Tags (already in the domain's order): two load balancers in five have some.
_TAGS = {0: ("env=prod", "web"), 2: ("env=staging",)}

_LB_COLUMNS = (
    "id",
    "name",
    "description",
    "team_id",
    "created_by_id",
    "listener_protocol",
    "listener_port",
    "algorithm",
    "health_monitor",
    "provisioning_status",
    "operating_status",
    "provider",
    "provider_ref",
    "vip_address",
    "error_reason",
    "version",
    "created_at",
    "updated_at",
)
_MEMBER_COLUMNS = (
    "load_balancer_id",
    "server_id",
    "position",
    "weight",
    "admin_state",
    "operating_status",
    "status_reason",
    "drained_by_inventory",
)
_TAG_COLUMNS = ("load_balancer_id", "value")
_SERVER_COLUMNS = ("name", "address", "port", "status", "created_at", "updated_at")


# -- writing rows of a model in bulk ------------------------------------------------------

_NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_TEXT_TYPES = {"CharField", "TextField", "SlugField", "EmailField", "URLField", "GenericIPAddressField"}
_NUMBER_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "FloatField",
    "DecimalField",
}


def _remembered(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` for a column of few distinct values, each converted once."""
    seen: dict[Any, Any] = {}

    def converted(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            seen[value] = result = convert(value)
            return result

    return converted


def _same_as_before(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` for a column whose rows come in runs of the same value (the load
    balancer of each of its members): the last value is converted once."""
    last: list[Any] = [object(), None]

    def converted(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return converted


def _remembered_by_identity(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert`` for unhashable values (JSON) that are mostly the same few objects."""
    seen: dict[int, tuple[Any, Any]] = {}

    def converted(value: Any) -> Any:
        hit = seen.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        result = convert(value)
        if len(seen) < 1024:
            seen[id(value)] = (value, result)  # holding the value keeps its id from being reused
        return result

    return converted


class _RowWriter:
    """Rows of one model, each a tuple of values for ``attnames`` as the model holds them
    (ids, enum values, datetimes, dicts for JSON).  The table, the columns and how each
    value is converted come from the model's fields; a field not given takes its default
    (a field with only a database default is left to the database, as is an auto id)."""

    def __init__(self, model: type[models.Model], attnames: Sequence[str], using: str) -> None:
        self.model = model
        self.connection = connections[using]
        self.postgres = self.connection.vendor == "postgresql"
        fields = {field.attname: field for field in model._meta.concrete_fields}
        unknown = [name for name in attnames if name not in fields]
        if unknown:
            raise CommandError(f"{model.__name__} has no field {', '.join(unknown)}: seed_bench is out of date")
        given = [fields[name] for name in attnames]
        defaulted = []
        for field in model._meta.concrete_fields:
            if field.attname in attnames or field.generated or isinstance(field, AutoFieldMixin):
                continue
            if field.has_db_default() and not field.has_default():
                continue
            if not (field.has_default() or field.null or field.empty_strings_allowed):
                raise CommandError(f"{model.__name__}.{field.name} needs a value: seed_bench is out of date")
            defaulted.append(field)
        # A default that is a callable (uuid4, now) is called for each row; the others once.
        self.per_row = [field for field in defaulted if callable(field.default)]
        constant = [field for field in defaulted if not callable(field.default)]
        self.fields = given + self.per_row + constant
        quote = self.connection.ops.quote_name
        table, columns = quote(model._meta.db_table), ", ".join(quote(field.column) for field in self.fields)
        self.written = 0
        self.database_seconds = 0.0
        if self.postgres:
            self.converters = [self._copy_converter(field) for field in given + self.per_row]
            tail = [self._copy_converter(field)(field.get_default()) for field in constant]
            self.tail = "".join(f"\t{text}" for text in tail) + "\n"
            self.sql = f"COPY {table} ({columns}) FROM STDIN"
        else:
            self.converters = [self._insert_converter(field) for field in given + self.per_row]
            self.tail_values = tuple(self._insert_converter(field)(field.get_default()) for field in constant)
            marks = ", ".join(["%s"] * len(self.fields))
            self.sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"

    def _copy_converter(self, field: models.Field) -> Callable[[Any], str]:  # type: ignore[type-arg]
        """The text of a value in COPY's text format, for this field's column."""
        if field.is_relation:  # a foreign key holds its target's value
            return self._copy_converter(field.target_field)  # type: ignore[attr-defined]
        kind = field.get_internal_type()
        convert: Callable[[Any], str]
        if kind == "BooleanField":
            return _remembered(lambda value: _NULL if value is None else "t" if value else "f")
        if kind in _NUMBER_TYPES:
            convert = str
        elif kind == "UUIDField":
            return _same_as_before(lambda value: _NULL if value is None else str(value))
        elif kind in {"DateTimeField", "DateField", "TimeField"}:
            # The value the field would send to the database (aware datetimes), as ISO 8601.
            convert = lambda value: field.get_db_prep_value(value, self.connection).isoformat()  # noqa: E731
        elif kind == "JSONField":
            encoder = field.encoder  # type: ignore[attr-defined]
            return _remembered_by_identity(
                lambda value: (
                    _NULL
                    if value is None
                    else json.dumps(field.get_prep_value(value), cls=encoder).translate(_COPY_ESCAPES)
                )
            )
        elif kind in _TEXT_TYPES:
            convert = lambda value: field.get_prep_value(value).translate(_COPY_ESCAPES)  # noqa: E731
        else:
            convert = lambda value: str(field.get_db_prep_value(value, self.connection)).translate(_COPY_ESCAPES)  # noqa: E731
        if field.choices:
            return _remembered(lambda value: _NULL if value is None else convert(value))
        return lambda value: _NULL if value is None else convert(value)

    def _insert_converter(self, field: models.Field) -> Callable[[Any], Any]:  # type: ignore[type-arg]
        """The value the field itself sends to the database."""
        connection = self.connection

        def convert(value: Any) -> Any:
            return field.get_db_prep_value(value, connection, prepared=False)

        if field.choices or field.get_internal_type() == "BooleanField":
            return _remembered(convert)
        if field.get_internal_type() == "JSONField":
            return _remembered_by_identity(convert)
        return convert

    def encode(self, rows: Sequence[tuple[Any, ...]]) -> tuple[Any, int]:
        """The rows as the database takes them (COPY's text, or INSERT parameters), and
        how many; no query (rows are encoded in a thread of their own)."""
        converters = self.converters
        per_row = self.per_row
        if self.postgres:
            buffer = io.StringIO()
            put, tail = buffer.write, self.tail
            for row in rows:
                values = [*row, *(field.get_default() for field in per_row)] if per_row else row
                put("\t".join([convert(value) for convert, value in zip(converters, values, strict=True)]))
                put(tail)
            buffer.seek(0)
            return buffer, len(rows)
        tail_values = self.tail_values
        prepared = []
        for row in rows:
            values = [*row, *(field.get_default() for field in per_row)] if per_row else row
            prepared.append(
                (*(convert(value) for convert, value in zip(converters, values, strict=True)), *tail_values)
            )
        return prepared, len(rows)

    def send(self, encoded: tuple[Any, int]) -> None:
        payload, count = encoded
        if not count:
            return
        started = time.perf_counter()
        with self.connection.cursor() as cursor:
            if not self.postgres:
                cursor.executemany(self.sql, payload)
            elif hasattr(cursor.cursor, "copy_expert"):  # psycopg2
                cursor.cursor.copy_expert(self.sql, payload, size=1 << 20)
            else:  # psycopg 3
                with cursor.cursor.copy(self.sql) as copy:
                    copy.write(payload.getvalue())
        self.database_seconds += time.perf_counter() - started
        self.written += count

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.send(self.encode(rows))


class _Ahead:
    """The items of an iterable made in a thread of their own, at most ``depth`` ahead of
    the one taking them: the rows of the next chunk are made and encoded while the
    database takes the previous one.  Memory stays bounded; the thread touches no
    connection; an error in it is raised to the taker."""

    _DONE = object()

    def __init__(self, items: Iterable[Any], depth: int = 2) -> None:
        self._items = items
        self._queue: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._make, name="seed_bench rows", daemon=True)

    def _make(self) -> None:
        try:
            for item in self._items:
                if not self._put(item, None):
                    return
            self._put(self._DONE, None)
        except Exception as exc:  # noqa: BLE001 - handed to the taker, which raises it
            self._put(self._DONE, exc)

    def _put(self, item: Any, error: BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __enter__(self) -> Iterator[Any]:
        self._thread.start()
        return self._taken()

    def _taken(self) -> Iterator[Any]:
        while True:
            item, error = self._queue.get()
            if error is not None:
                raise error
            if item is self._DONE:
                return
            yield item

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


# -- the command --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    load_balancers: int
    per_team: int
    servers: int
    members: int
    username: str
    replace: bool

    @property
    def teams(self) -> int:
        return math.ceil(self.load_balancers / self.per_team)

    def team_size(self, team: int) -> int:
        """How many load balancers team ``team`` (from 1) holds: all full but the last."""
        return min(self.per_team, self.load_balancers - (team - 1) * self.per_team)


@dataclass
class _Existing:
    teams: int
    load_balancers: int
    servers: int

    def __bool__(self) -> bool:
        return bool(self.teams or self.load_balancers or self.servers)


def _model(label: str) -> type[models.Model]:
    return apps.get_model(label)


class Command(BaseCommand):
    help = (
        "Build benchmark data: servers bench-srv-*, teams bench-1, bench-2, ... of load balancers"
        " (with members and tags) and a user in bench-1.  Refuses when bench data exist, unless --replace."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--load-balancers", type=int, required=True, help="load balancers in all (N)")
        parser.add_argument(
            "--per-team", type=int, required=True, help="load balancers per team (M); bench-1 holds M, or N if N < M"
        )
        parser.add_argument("--servers", type=int, default=10_000, help="servers bench-srv-* (default 10000)")
        parser.add_argument("--members", type=int, default=4, help="members per load balancer (default 4)")
        parser.add_argument("--user", default="bench", help="the user in team bench-1 (default bench)")
        parser.add_argument(
            "--replace", action="store_true", help="delete the existing bench data first (otherwise: refuse)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        plan = self._plan(options)
        self.verbose = options["verbosity"] >= 1
        lb_model = _model("loadbalancers.LoadBalancer")
        using = router.db_for_write(lb_model)
        started = time.perf_counter()
        try:
            with transaction.atomic(using=using):
                existing = self._existing(using)
                if existing and not plan.replace:
                    raise CommandError(
                        f"bench data already exist ({existing.teams} bench-* teams, {existing.load_balancers} load"
                        f" balancers in them, {existing.servers} {SERVER_PREFIX}* servers): run again with --replace"
                        " to delete them and seed anew"
                    )
                if existing:
                    self._delete(using, existing)
                user_id = self._user(using, plan.username)
                team_ids = self._teams(using, plan, user_id)
                server_ids = self._servers(using, plan.servers)
                counts = self._load_balancers(using, plan, team_ids, server_ids, user_id, started)
                committing = time.perf_counter()
        except DatabaseError as exc:
            raise CommandError(f"the bench data could not be written, nothing was changed: {exc}") from exc
        finished = time.perf_counter()
        self._say(
            f"  the database took {counts['writing']:.1f} s writing, {finished - committing:.1f} s committing (the"
            f" foreign key checks); it waited {counts['waiting']:.1f} s for the rows"
        )
        self._analyze(using)
        analyzed = time.perf_counter() - finished
        seconds = finished - started
        rows = plan.servers + counts["load_balancers"] + counts["members"] + counts["tags"]
        self.stdout.write(
            f"seed_bench: {counts['load_balancers']} load balancers in {plan.teams} teams, {counts['members']}"
            f" members, {counts['tags']} tags, {plan.servers} servers, user {plan.username!r} ({ROLE.value} of"
            f" {TEAM_PREFIX}1): {rows} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s) on"
            f" {connections[using].vendor}, then {'VACUUM ANALYZE' if self._can_vacuum(using) else 'ANALYZE'}"
            f" {analyzed:.1f} s"
        )

    # -- arguments --------------------------------------------------------------------

    def _plan(self, options: dict[str, Any]) -> _Plan:
        """The arguments, every problem reported at once, before anything is touched."""
        problems = []
        numbers = {}
        for name, flag, low, high in (
            ("load_balancers", "--load-balancers", 1, MAX_LOAD_BALANCERS),
            ("per_team", "--per-team", 1, QUOTA_MAX),
            ("servers", "--servers", 1, MAX_SERVERS),
            ("members", "--members", 1, MAX_MEMBERS),
        ):
            value = options.get(name)
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{flag} must be a whole number (got {value!r})")
            elif not low <= value <= high:
                problems.append(f"{flag} must be between {low:,} and {high:,} (got {value:,})")
            else:
                numbers[name] = value
        if "members" in numbers and "servers" in numbers and numbers["members"] > numbers["servers"]:
            problems.append(
                f"--members ({numbers['members']}) cannot exceed --servers ({numbers['servers']}):"
                " a load balancer's members are distinct servers"
            )
        username = options.get("user")
        user_model = get_user_model()
        try:
            user_model._meta.get_field(user_model.USERNAME_FIELD).clean(username, None)
        except ValidationError as exc:
            problems.append(f"--user {username!r}: {' '.join(exc.messages)}")
        if problems:
            raise CommandError("; ".join(problems))
        return _Plan(username=username, replace=bool(options.get("replace")), **numbers)

    # -- what is there, and deleting it ----------------------------------------------------

    @staticmethod
    def _bench_teams(using: str) -> models.QuerySet:  # type: ignore[type-arg]
        return _model("accounts.Team")._base_manager.using(using).filter(slug__regex=TEAM_SLUG_REGEX)

    @staticmethod
    def _bench_servers(using: str) -> models.QuerySet:  # type: ignore[type-arg]
        return _model("servers.Server")._base_manager.using(using).filter(name__startswith=SERVER_PREFIX)

    def _bench_load_balancers(self, using: str) -> models.QuerySet:  # type: ignore[type-arg]
        lb_model = _model("loadbalancers.LoadBalancer")
        return lb_model._base_manager.using(using).filter(team__in=self._bench_teams(using).values("pk"))

    def _existing(self, using: str) -> _Existing:
        return _Existing(
            teams=self._bench_teams(using).count(),
            load_balancers=self._bench_load_balancers(using).count(),
            servers=self._bench_servers(using).count(),
        )

    def _delete(self, using: str, existing: _Existing) -> None:
        """The bench teams' load balancers (and what hangs on them) and the bench servers.
        The teams stay (with their members, tokens and webhooks) and are reused."""
        member_model = _model("loadbalancers.Member")
        lb_model = _model("loadbalancers.LoadBalancer")
        bench_lbs = self._bench_load_balancers(using)
        elsewhere = (
            member_model._base_manager.using(using)
            .filter(server__name__startswith=SERVER_PREFIX)
            .exclude(load_balancer__in=bench_lbs.values("pk"))
        )
        if used := elsewhere.count():
            raise CommandError(
                f"{used} members of load balancers outside the bench teams use {SERVER_PREFIX}* servers: delete those"
                " load balancers (or change their members) first; nothing was changed"
            )
        started = time.perf_counter()
        # Deleting the load balancers through the ORM would load every one of them first;
        # what refers to them goes first, by each relation's own rule, then one DELETE.
        lb_ids = bench_lbs.values("pk")
        for relation in lb_model._meta.related_objects:
            if relation.many_to_many:
                continue
            related = relation.related_model._base_manager.using(using).filter(**{f"{relation.field.name}__in": lb_ids})
            if relation.on_delete is models.CASCADE:
                related.delete()
            elif relation.on_delete is models.SET_NULL:
                related.update(**{relation.field.name: None})
            elif related.exists():
                raise CommandError(
                    f"{relation.related_model.__name__} rows refer to bench load balancers and may not be"
                    " deleted with them; nothing was changed"
                )
        connection = connections[using]
        quote = connection.ops.quote_name
        teams_sql, teams_params = self._bench_teams(using).order_by().values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {quote(lb_model._meta.db_table)}"
                f" WHERE {quote(lb_model._meta.get_field('team').column)} IN ({teams_sql})",
                teams_params,
            )
        self._delete_in_chunks(self._bench_servers(using), using)
        self._say(
            f"deleted the bench data: {existing.load_balancers} load balancers, {existing.servers} servers"
            f" ({time.perf_counter() - started:.1f} s)"
        )

    @staticmethod
    def _delete_in_chunks(rows: models.QuerySet, using: str) -> None:  # type: ignore[type-arg]
        """Delete through the ORM (its rules: PROTECT, CASCADE), a bounded number at a time."""
        size = 20_000 if connections[using].vendor == "postgresql" else 500
        while pks := list(rows.order_by("pk").values_list("pk", flat=True)[:size]):
            rows.model._base_manager.using(using).filter(pk__in=pks).delete()

    # -- the user, the teams, the servers -------------------------------------------------

    def _user(self, using: str, username: str) -> int:
        """The bench user, made without a password (an existing one is kept as it is)."""
        user_model = get_user_model()
        manager = user_model._default_manager.db_manager(using)
        user = manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is None:
            user = manager.create_user(**{user_model.USERNAME_FIELD: username, "password": None})
            self._say(f"created the user {username!r} (no password: use an API token)")
        elif user.is_staff:
            self._say(f"note: the user {username!r} is staff, and sees every team's load balancers")
        return user.pk

    def _teams(self, using: str, plan: _Plan, user_id: int) -> dict[int, int]:
        """Team number -> id: the teams bench-1 ... bench-T with the largest quotas, the
        bench user in bench-1.  Bench teams beyond T (from a larger run) are deleted."""
        team_model = _model("accounts.Team")
        membership_model = _model("accounts.Membership")
        teams = self._bench_teams(using)
        existing = dict(teams.values_list("slug", "pk"))
        wanted = {f"{TEAM_PREFIX}{number}": number for number in range(1, plan.teams + 1)}
        surplus = [pk for slug, pk in existing.items() if slug not in wanted]
        if surplus:
            self._delete_in_chunks(team_model._base_manager.using(using).filter(pk__in=surplus), using)
        missing = [number for slug, number in wanted.items() if slug not in existing]
        for start in range(0, len(missing), 1000):
            team_model._base_manager.using(using).bulk_create(
                [team_model(slug=f"{TEAM_PREFIX}{n}", name=f"Bench team {n}") for n in missing[start : start + 1000]]
            )
        teams.update(quota_load_balancers=QUOTA_MAX, quota_members=QUOTA_MAX)
        ids = {wanted[slug]: pk for slug, pk in teams.values_list("slug", "pk")}
        membership_model._base_manager.using(using).update_or_create(
            team_id=ids[1], user_id=user_id, defaults={"role": ROLE.value}
        )
        return ids

    def _servers(self, using: str, count: int) -> list[int]:
        """``count`` servers in status OK, each on its own address; their ids by name."""
        server_model = _model("servers.Server")
        taken = set(server_model._base_manager.using(using).filter(port=SERVER_PORT).values_list("address", flat=True))
        writer = _RowWriter(server_model, _SERVER_COLUMNS, using)
        now = timezone.now()
        width = max(5, len(str(count)))
        rows: list[tuple[Any, ...]] = []
        n = 0
        for number in range(1, count + 1):
            address = _server_address(n := n + 1)
            while address in taken:
                address = _server_address(n := n + 1)
            rows.append((f"{SERVER_PREFIX}{number:0{width}d}", address, SERVER_PORT, ServerStatus.OK.value, now, now))
            if len(rows) >= CHUNK:
                writer.write(rows)
                rows = []
        writer.write(rows)
        return list(self._bench_servers(using).order_by("name").values_list("pk", flat=True))

    # -- the load balancers ---------------------------------------------------------------

    def _load_balancers(
        self,
        using: str,
        plan: _Plan,
        team_ids: dict[int, int],
        server_ids: list[int],
        user_id: int,
        started: float,
    ) -> dict[str, Any]:
        """The load balancers, their members and tags, made in a thread while the
        database takes the previous chunk."""
        writers = (
            _RowWriter(_model("loadbalancers.LoadBalancer"), _LB_COLUMNS, using),
            _RowWriter(_model("loadbalancers.Member"), _MEMBER_COLUMNS, using),
            _RowWriter(_model("loadbalancers.Tag"), _TAG_COLUMNS, using),
        )
        lbs, members, tags = writers
        began = reported = time.perf_counter()
        with _Ahead(self._chunks(plan, team_ids, server_ids, user_id, writers)) as chunks:
            for chunk in chunks:
                for writer, encoded in zip(writers, chunk, strict=True):
                    writer.send(encoded)
                if time.perf_counter() - reported >= 5 or lbs.written == plan.load_balancers:
                    reported = time.perf_counter()
                    self._say(
                        f"  load balancers {lbs.written:,}/{plan.load_balancers:,}, members {members.written:,},"
                        f" tags {tags.written:,} ({reported - started:.1f} s)"
                    )
        writing = sum(writer.database_seconds for writer in writers)
        return {
            "load_balancers": lbs.written,
            "members": members.written,
            "tags": tags.written,
            "writing": writing,
            "waiting": time.perf_counter() - began - writing,
        }

    @staticmethod
    def _order(plan: _Plan) -> Iterator[tuple[int, int, int]]:
        """(team, number in the team, slot) of every load balancer, in the order they
        were made: oldest first, the teams' interleaved, one a second (the slot)."""
        teams, first, last = plan.teams, plan.team_size(1), plan.team_size(plan.teams)
        for number in range(first):
            for team in range(1, (teams if number < last else teams - 1) + 1):
                yield team, number, number * teams + team - 1

    @staticmethod
    def _chunks(
        plan: _Plan,
        team_ids: dict[int, int],
        server_ids: list[int],
        user_id: int,
        writers: tuple[_RowWriter, _RowWriter, _RowWriter],
    ) -> Iterator[tuple[tuple[Any, int], ...]]:
        """The rows, CHUNK load balancers at a time, encoded by their writers."""
        kinds = _kinds(plan.members)
        rng = random.Random(SEED)
        width = max(7, len(str(plan.team_size(1) - 1)))
        newest = timezone.now().replace(microsecond=0) - timedelta(seconds=60)
        oldest = newest - timedelta(seconds=plan.team_size(1) * plan.teams - 1)
        chunk: tuple[list[tuple[Any, ...]], ...] = ([], [], [])
        lb_rows, member_rows, tag_rows = chunk
        for team, number, slot in Command._order(plan):
            lb_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            ref = f"sbx-{rng.getrandbits(128):032x}"
            cycle = number % _CYCLE
            if cycle == _ERROR_AT:
                kind = kinds["error"]
            elif cycle == _OTHER_AT:
                kind = kinds[_OTHERS[(number // _CYCLE) % len(_OTHERS)]]
            else:
                kind = kinds["online"]
            tcp = number % 4 == 3
            monitor = None
            if kind.monitor or (kind.monitor is None and number % 2 == 0):
                monitor = (_TCP_MONITORS if tcp else _HTTP_MONITORS)[(number // 4) % 2]
            created = oldest + timedelta(seconds=slot)
            lb_rows.append(
                (
                    lb_id,
                    f"{TEAM_PREFIX}{team}-{number:0{width}d}",
                    f"bench load balancer {number} of team {team}" if number % 10 == 0 else "",
                    team_ids[team],
                    user_id,
                    ListenerProtocol.TCP.value if tcp else ListenerProtocol.HTTP.value,
                    _TCP_PORTS[(number // 4) % len(_TCP_PORTS)] if tcp else 80,
                    _ALGORITHMS[(number // 2) % len(_ALGORITHMS)].value,
                    monitor,
                    kind.provisioning.value,
                    kind.operating.value,
                    PROVIDER,
                    ref,
                    _dotted(_VIP_NET + 1 + slot % _VIP_HOSTS) if kind.vip else None,
                    _ERROR_REASONS[(number // _CYCLE) % len(_ERROR_REASONS)] if kind.error else None,
                    kind.version,
                    created,
                    created + timedelta(seconds=10 + slot % 50),
                )
            )
            if kind.members is not None:
                first = slot * plan.members
                member_rows.extend(
                    (
                        lb_id,
                        server_ids[(first + position) % len(server_ids)],
                        position,
                        1,
                        AdminState.ENABLED.value,
                        status.value,
                        reason,
                        False,
                    )
                    for position, (status, reason) in enumerate(kind.members)
                )
            tag_rows.extend((lb_id, tag) for tag in _TAGS.get(number % 5, ()))
            if len(lb_rows) >= CHUNK:
                yield tuple(writer.encode(rows) for writer, rows in zip(writers, chunk, strict=True))
                lb_rows, member_rows, tag_rows = chunk = ([], [], [])
        if lb_rows:
            yield tuple(writer.encode(rows) for writer, rows in zip(writers, chunk, strict=True))

    # -- after ------------------------------------------------------------------------------

    @staticmethod
    def _tables() -> Iterable[str]:
        for label in (
            "loadbalancers.LoadBalancer",
            "loadbalancers.Member",
            "loadbalancers.Tag",
            "servers.Server",
            "accounts.Team",
            "accounts.Membership",
        ):
            yield _model(label)._meta.db_table

    @staticmethod
    def _can_vacuum(using: str) -> bool:
        connection = connections[using]
        return connection.vendor == "postgresql" and not connection.in_atomic_block

    def _analyze(self, using: str) -> None:
        """Fresh planner statistics for the tables written (and, on PostgreSQL outside a
        transaction, a VACUUM: it marks the new rows all-visible, which index-only scans
        need), so that the first benchmark sees the database as it will stay."""
        connection = connections[using]
        if connection.vendor not in {"postgresql", "sqlite"}:
            return
        verb = "VACUUM (ANALYZE)" if self._can_vacuum(using) else "ANALYZE"
        with connection.cursor() as cursor:
            for table in self._tables():
                cursor.execute(f"{verb} {connection.ops.quote_name(table)}")

    def _say(self, line: str) -> None:
        if self.verbose:
            self.stdout.write(line)
