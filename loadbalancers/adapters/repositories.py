from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from loadbalancers import models
from loadbalancers.adapters import mappers
from loadbalancers.application.ports import DriftRepository, LoadBalancerRepository, OrphanRepository
from loadbalancers.domain.drift import Drift
from loadbalancers.domain.errors import LoadBalancerNotFound, NameTaken
from loadbalancers.domain.members import Member
from loadbalancers.domain.model import PENDING, LoadBalancer, ProvisioningStatus
from loadbalancers.domain.orphans import Orphan
from portal.kernel.errors import StaleVersion
from servers.domain.model import ServerStatus

UNIQUE_LIVE_NAME = ("loadbalancer_unique_live_name", "loadbalancers_loadbalancer.name")


def _violates(error: IntegrityError, constraint: tuple[str, str]) -> bool:
    """Whether ``error`` is a violation of this unique constraint, named (PostgreSQL)
    or by its table and column (SQLite's message: "UNIQUE constraint failed: t.c")."""
    name, column = constraint
    diagnosis = getattr(error.__cause__, "diag", None)
    if diagnosis is not None and getattr(diagnosis, "constraint_name", None):
        return diagnosis.constraint_name == name
    return str(error).startswith("UNIQUE constraint failed") and column in str(error).split(": ", 1)[-1].split(", ")


# The most ids one statement filters by: SQLite takes only so many parameters in one
# (SQLITE_MAX_VARIABLE_NUMBER: 32,766 by default, 999 in old versions), and PostgreSQL
# plans a long IN list slower than a few shorter ones.
CHUNK = 5000


def _chunks(ids: list[UUID]) -> Iterator[list[UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


T = TypeVar("T")

# A member's or tag's load balancer id as text: PostgreSQL writes a uuid with dashes,
# SQLite (a char(32) column) without.
_ID_TEXT = Cast("load_balancer_id", output_field=TextField())


# A load balancer's id, and its health monitor, as text (see mappers.Reader: a monitor is
# made once per distinct text, not decoded once per row).
_ROW_TEXT = {
    "lb_text": Cast("pk", output_field=TextField()),
    mappers.MONITOR_TEXT: Cast("health_monitor", output_field=TextField()),
}


def _as_rows(rows: QuerySet[models.LoadBalancer]) -> QuerySet[models.LoadBalancer]:
    """The rows as tuples, not model instances (making those was most of reading many):
    the id as text (as a member or tag names it), then ``mappers.COLUMNS``."""
    return rows.annotate(**_ROW_TEXT).values_list("lb_text", *mappers.COLUMNS)


class _ById(Generic[T]):
    """The lists of ``found`` (by the id as text) for an id written some other way still:
    made only on the first such id."""

    def __init__(self, rows: list[tuple[Any, ...]], found: dict[str, list[T]]):
        self._rows, self._found = rows, found
        self._by_id: dict[UUID, list[T]] | None = None

    def get(self, text: str) -> list[T] | None:
        if self._by_id is None:
            self._by_id = {row[1]: self._found[row[0]] for row in self._rows}
        try:
            return self._by_id.get(UUID(text))
        except ValueError:
            return None


class DjangoLoadBalancerRepository(LoadBalancerRepository):
    def get_one(self, lb_id: UUID, *, for_update: bool = False) -> LoadBalancer:
        rows = models.LoadBalancer.objects.select_for_update() if for_update else models.LoadBalancer.objects
        try:
            row = rows.get(pk=lb_id)
        except models.LoadBalancer.DoesNotExist:
            raise LoadBalancerNotFound(lb_id) from None
        return mappers.to_domain(row, self._members(row.pk), self._tags(row.pk))

    def get_list(
        self,
        *,
        ids: Iterable[UUID] | None = None,
        provider: str | None = None,
        statuses: Iterable[ProvisioningStatus] | None = None,
        server_id: int | None = None,
        inventory_candidates: bool = False,
    ) -> list[LoadBalancer]:
        rows = models.LoadBalancer.objects.order_by("created_at", "pk")
        if server_id is not None:
            rows = rows.filter(members__server_id=server_id)
        if inventory_candidates:
            followed = models.Member.objects.filter(load_balancer=OuterRef("pk")).filter(
                ~Q(server__status=ServerStatus.OK) | Q(drained_by_inventory=True)
            )
            rows = rows.filter(Exists(followed))
        if provider is not None:
            rows = rows.filter(provider=provider)
        if statuses is not None:
            rows = rows.filter(provisioning_status__in=[s.value for s in statuses])
        read = _as_rows(rows)
        if ids is None:
            return self._with_members(list(read), scope=rows)
        # Many ids (a reconcile pass asks for every token a provider lists) are read a
        # chunk at a time: a database takes only so many parameters in one statement.
        wanted = list(ids)
        found = [row for chunk in _chunks(wanted) for row in read.filter(pk__in=chunk)]
        if len(wanted) > CHUNK:
            found.sort(key=lambda row: (row[1 + mappers.CREATED_AT], row[1]))
        return self._with_members(found)

    def get_list_pending(self, *, not_checked_since: datetime) -> list[LoadBalancer]:
        rows = (
            models.LoadBalancer.objects.filter(provisioning_status__in=[s.value for s in PENDING])
            .annotate(last_look=Coalesce("checked_at", "pending_since", "updated_at"))
            .filter(last_look__lt=not_checked_since)
            .order_by("last_look")
        )
        return self._with_members(list(_as_rows(rows)))

    @staticmethod
    def _with_members(
        rows: list[tuple[Any, ...]],
        scope: QuerySet[models.LoadBalancer] | None = None,
    ) -> list[LoadBalancer]:
        """The aggregates of these rows (see ``_as_rows``), their members and their tags
        read in one query each (by chunks of ids).  ``scope``: the query that read the
        rows; when they are many (a reconcile pass reads every ACTIVE one), members and
        tags are read by it instead of by ids, in one query each (those of a row that
        joined the scope since the rows were read are left out)."""
        reader = mappers.Reader()
        # By the id as text, as the members and tags name their load balancer (the same
        # cast of the same column type: no id made per member).
        members: dict[str, list[Member]] = {row[0]: [] for row in rows}
        tags: dict[str, list[str]] = {row[0]: [] for row in rows}
        if scope is not None and len(rows) > CHUNK:
            of = [{"load_balancer__in": scope.order_by().values("pk")}]
        else:
            of = [{"load_balancer_id__in": ids} for ids in _chunks([row[1] for row in rows])]
        by_id = _ById(rows, members)
        tags_by_id = _ById(rows, tags)
        member = reader.member
        for condition in of:
            found = models.Member.objects.filter(**condition).order_by("position").annotate(lb=_ID_TEXT)
            # Streamed: a few hundred thousand rows are never all held at once.
            for values in found.values_list("lb", *mappers.MEMBER_FIELDS).iterator(chunk_size=CHUNK):
                if (held := members.get(values[0])) is None:
                    held = by_id.get(values[0])
                if held is not None:
                    held.append(member(values[1:]))
            for lb_id, tag in models.Tag.objects.filter(**condition).annotate(lb=_ID_TEXT).values_list("lb", "value"):
                if (labels := tags.get(lb_id)) is None:
                    labels = tags_by_id.get(lb_id)
                if labels is not None:
                    labels.append(tag)
        return [reader.aggregate(row[1:], members[row[0]], tags[row[0]]) for row in rows]

    def count_live(self, *, team_id: int) -> int:
        # Kept by the database's triggers (models.TeamUsage): one row, not the team's rows.
        usage = models.TeamUsage.objects.filter(team_id=team_id).values_list("live_load_balancers", flat=True)
        return usage.first() or 0

    def name_taken(self, name: str) -> bool:
        return (
            models.LoadBalancer.objects.filter(name=name)
            .exclude(provisioning_status=ProvisioningStatus.DELETED)
            .exists()
        )

    def _create_one(self, lb: LoadBalancer) -> LoadBalancer:
        # No savepoint: the unit of work rolls the whole create back on any error, and
        # the error itself says which constraint refused it.
        try:
            with transaction.atomic(savepoint=False):
                row = models.LoadBalancer.objects.create(id=lb.id, version=1, **mappers.row_values(lb))
                models.Member.objects.bulk_create(mappers.member_rows(lb))
                models.Tag.objects.bulk_create(mappers.tag_rows(lb))
        except IntegrityError as error:
            if _violates(error, UNIQUE_LIVE_NAME):
                raise NameTaken(lb.name) from None
            raise
        # What the database stored: the row's own values, as written (not read back).
        lb.version, lb.created_at, lb.updated_at = row.version, row.created_at, row.updated_at
        return lb

    def _update_one(self, lb: LoadBalancer) -> LoadBalancer:
        """Compare-and-swap on the version: a concurrent writer makes this fail
        with StaleVersion instead of silently losing one of the two changes."""
        try:
            now = timezone.now()
            with transaction.atomic():
                changed = models.LoadBalancer.objects.filter(pk=lb.id, version=lb.version).update(
                    version=F("version") + 1, updated_at=now, **mappers.row_values(lb)
                )
                if not changed:
                    raise StaleVersion(f"load balancer {lb.id} was changed by someone else; reload it and try again")
                stored = tuple(mappers.member_to_domain(values) for values in self._members(lb.id))
                if stored != lb.members:
                    models.Member.objects.filter(load_balancer_id=lb.id).delete()
                    models.Member.objects.bulk_create(mappers.member_rows(lb))
                if tuple(self._tags(lb.id)) != lb.tags:
                    models.Tag.objects.filter(load_balancer_id=lb.id).delete()
                    models.Tag.objects.bulk_create(mappers.tag_rows(lb))
        except IntegrityError:
            if self._name_taken_by_other(lb):
                raise NameTaken(lb.name) from None
            raise
        # The compare-and-swap matched this version, so the row is now the next one.
        lb.version, lb.updated_at = lb.version + 1, now
        return lb

    @staticmethod
    def _members(lb_id: UUID) -> list[dict]:  # type: ignore[type-arg]
        members = models.Member.objects.filter(load_balancer_id=lb_id).order_by("position")
        return list(members.values(*mappers.MEMBER_FIELDS))

    @staticmethod
    def _tags(lb_id: UUID) -> list[str]:
        return sorted(models.Tag.objects.filter(load_balancer_id=lb_id).values_list("value", flat=True))

    @staticmethod
    def _name_taken_by_other(lb: LoadBalancer) -> bool:
        return (
            models.LoadBalancer.objects.filter(~Q(pk=lb.id), name=lb.name)
            .exclude(provisioning_status=ProvisioningStatus.DELETED)
            .exists()
        )


class DjangoDriftRepository(DriftRepository):
    def get_list(self, *, lb_ids: Iterable[UUID] | None = None, open_only: bool = True) -> list[Drift]:
        rows = models.Drift.objects.all()
        if lb_ids is not None:
            rows = rows.filter(load_balancer_id__in=list(lb_ids))
        if open_only:
            rows = rows.filter(resolved_at__isnull=True)
        return [mappers.drift_to_domain(row) for row in rows]

    def create_one(self, drift: Drift) -> Drift:
        drift.id = models.Drift.objects.create(**mappers.drift_values(drift)).pk
        return drift

    def update_one(self, drift: Drift) -> Drift:
        models.Drift.objects.filter(pk=drift.id).update(**mappers.drift_values(drift))
        return drift


class DjangoOrphanRepository(OrphanRepository):
    def get_list(
        self, *, provider: str | None = None, ids: Iterable[int] | None = None, deleted: bool | None = False
    ) -> list[Orphan]:
        rows = models.Orphan.objects.all()
        if provider is not None:
            rows = rows.filter(provider=provider)
        if ids is not None:
            rows = rows.filter(pk__in=list(ids))
        if deleted is not None:
            rows = rows.filter(deleted_at__isnull=not deleted)
        return [mappers.orphan_to_domain(row) for row in rows]

    def create_one(self, orphan: Orphan) -> Orphan:
        orphan.id = models.Orphan.objects.create(**mappers.orphan_values(orphan)).pk
        return orphan

    def update_one(self, orphan: Orphan) -> Orphan:
        models.Orphan.objects.filter(pk=orphan.id).update(**mappers.orphan_values(orphan))
        return orphan

    def delete_batch(self, ids: Iterable[int]) -> None:
        models.Orphan.objects.filter(pk__in=list(ids)).delete()
