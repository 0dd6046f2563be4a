"""A load balancer's members: which servers, with what weight and admin state, and how
healthy each is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from loadbalancers.domain.statuses import OperatingStatus

WEIGHT_MIN, WEIGHT_MAX = 0, 256
REASON_MAX_LENGTH = 255
MEMBER_FIELDS = ("server", "weight", "admin_state")


class AdminState(StrEnum):
    ENABLED = "enabled"
    DRAIN = "drain"
    """No new connections; the ones it holds finish (Octavia's weight 0, AWS's deregistration)."""


@dataclass(frozen=True)
class Member:
    server_id: int
    weight: int = 1
    """Its share of new connections against the other members' (0-256)."""
    admin_state: AdminState = AdminState.ENABLED
    operating_status: OperatingStatus = OperatingStatus.NO_MONITOR
    status_reason: str | None = None
    """The provider's word on its health (a failed check's result), when it gives one."""
    drained_by_inventory: bool = False
    """Put in drain because its server is not OK in the inventory: enabled again when it is."""

    @property
    def is_draining(self) -> bool:
        return self.admin_state is AdminState.DRAIN

    def settings(self) -> str:
        """Its weight and admin state in words, when not the defaults (for the audit trail)."""
        parts = [f"weight {self.weight}"] if self.weight != 1 else []
        return ", ".join([*parts, "drain"] if self.is_draining else parts)


@dataclass(frozen=True)
class Observed:
    """What a provider says of one member."""

    status: OperatingStatus
    reason: str | None = None


def members_from(raw: object, current: Sequence[Member] = ()) -> tuple[tuple[Member, ...], set[int], list[str]]:
    """The members a request asks for, the servers whose admin state it changed (or set,
    for a new member), and every problem at once.  Each item is a server id, or an object ``{"server": id,
    "weight": n, "admin_state": "drain"}``; what an item leaves out keeps its current
    value for a member it already is, and takes the default for a new one."""
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        return (), set(), ["servers must be a list of server ids or of member objects"]
    if not raw:
        return (), set(), ["at least one server is required"]
    known = {member.server_id: member for member in current}
    members: list[Member] = []
    explicit: set[int] = set()
    problems: list[str] = []
    for item in raw:
        member, item_problems = _member_from(item, known)
        problems.extend(item_problems)
        if member is not None:
            members.append(member)
            previous = known.get(member.server_id)
            if (
                isinstance(item, Mapping)
                and "admin_state" in item
                and (previous is None or previous.admin_state is not member.admin_state)
            ):
                explicit.add(member.server_id)
    counts = Counter(m.server_id for m in members)
    if duplicates := sorted(server_id for server_id, n in counts.items() if n > 1):
        problems.append(f"each server may be listed once; repeated: {', '.join(map(str, duplicates))}")
    return tuple(members), explicit, problems


def _member_from(item: object, known: Mapping[int, Member]) -> tuple[Member | None, list[str]]:
    if _whole(item):
        return known.get(item) or Member(item), []  # type: ignore[arg-type]
    if not isinstance(item, Mapping):
        return None, [f"{item!r} is not a server id (a whole number) nor a member object"]
    problems = [
        f"{key!r} is not a member field (known: {', '.join(MEMBER_FIELDS)})" for key in item if key not in MEMBER_FIELDS
    ]
    server_id = item.get("server")
    if not _whole(server_id):
        problems.append(f"server must be a server id (a whole number) (got {server_id!r})")
        server_id = None
    base = known.get(server_id) if server_id is not None else None  # type: ignore[arg-type]
    weight = item.get("weight", base.weight if base else 1)
    if not _whole(weight):
        problems.append(f"weight must be a whole number (got {weight!r})")
    elif not WEIGHT_MIN <= weight <= WEIGHT_MAX:
        problems.append(f"weight must be between {WEIGHT_MIN} and {WEIGHT_MAX} (got {weight})")
    state = item.get("admin_state", base.admin_state.value if base else AdminState.ENABLED.value)
    if state not in (AdminState.ENABLED.value, AdminState.DRAIN.value):
        problems.append(f"admin_state must be enabled or drain (got {state!r})")
    if problems or server_id is None:
        return None, [f"server {server_id}: {p}" if server_id is not None else p for p in problems]
    kept = base or Member(server_id)
    return (
        Member(
            server_id=server_id,
            weight=weight,
            admin_state=AdminState(state),
            operating_status=kept.operating_status,
            status_reason=kept.status_reason,
            # Changed by someone: the inventory no longer decides (it only drains an enabled member).
            drained_by_inventory=kept.drained_by_inventory and AdminState(state) is kept.admin_state,
        ),
        [],
    )


_NOT_REPORTED = Observed(OperatingStatus.OFFLINE, "not reported by the provider")


def observed(members: Iterable[Member], reported: Mapping[int, Observed]) -> tuple[Member, ...]:
    """The members with what the provider reported of each: a member it did not report
    is OFFLINE; one in drain is DRAINING whatever its checks say.  A member the report
    does not change is kept as it is (they are immutable), and ``members`` itself is
    returned when the report changes none (what a reconcile pass finds of nearly every
    load balancer: no new member, no new tuple)."""
    updated = []
    changed = False
    for member in members:
        seen = reported.get(member.server_id, _NOT_REPORTED)
        status = OperatingStatus.DRAINING if member.admin_state is AdminState.DRAIN else seen.status
        reason = seen.reason[:REASON_MAX_LENGTH] if seen.reason else None
        if status is not member.operating_status or reason != member.status_reason:
            changed = True
            member = Member(
                member.server_id,
                member.weight,
                member.admin_state,
                status,
                reason,
                member.drained_by_inventory,
            )
        updated.append(member)
    if not changed and type(members) is tuple:
        return members
    return tuple(updated)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
