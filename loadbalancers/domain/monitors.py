"""A load balancer's health monitor: how the provider checks each member (after
Octavia's health monitors and AWS's target group health checks)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from enum import StrEnum


class MonitorType(StrEnum):
    HTTP = "HTTP"
    """A GET of ``http_path``; the member is up when the answer's status is one of ``expected_codes``."""
    TCP = "TCP"
    """A connection to the member's port."""


# (lowest, highest) of each number, in seconds or checks.
LIMITS = {"interval": (1, 3600), "timeout": (1, 3600), "retries_up": (1, 10), "retries_down": (1, 10)}
PATH_MAX_LENGTH = 255
CODES_MAX_LENGTH = 64
# A path and query of ASCII letters, digits and the URL characters no configuration language quotes.
_PATH = re.compile(r"/[A-Za-z0-9._~%/?=&+,:@-]*")
_CODES = re.compile(r"[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*")
CODE_MIN, CODE_MAX = 100, 599
FIELDS = ("type", "interval", "timeout", "retries_up", "retries_down", "http_path", "expected_codes")
HTTP_ONLY = ("http_path", "expected_codes")


@dataclass(frozen=True)
class HealthMonitor:
    type: MonitorType
    interval: int = 5
    """Seconds between two checks of a member."""
    timeout: int = 3
    """Seconds a check may take (less than ``interval``)."""
    retries_up: int = 2
    """Checks in a row that must pass before a member that was down is up."""
    retries_down: int = 3
    """Checks in a row that must fail before a member that was up is down."""
    http_path: str = "/"
    expected_codes: str = "200"
    """Status codes that pass: ``200``, ``200,202``, ``200-399``."""

    def codes(self) -> list[int]:
        """Every status code that passes, in order."""
        found: set[int] = set()
        for part in self.expected_codes.split(","):
            low, _, high = part.partition("-")
            found.update(range(int(low), int(high or low) + 1))
        return sorted(found)

    def as_dict(self) -> dict[str, object]:
        values = asdict(self)
        values["type"] = self.type.value
        if self.type is MonitorType.TCP:
            for name in HTTP_ONLY:
                values.pop(name)
        return values

    def describe(self) -> str:
        """In words, as the audit trail and the pages show it."""
        what = f"HTTP GET {self.http_path} expecting {self.expected_codes}" if self.type is MonitorType.HTTP else "TCP"
        return (
            f"{what}, every {self.interval} s, timeout {self.timeout} s,"
            f" up after {self.retries_up}, down after {self.retries_down}"
        )


def monitor_from(raw: object, current: HealthMonitor | None = None) -> tuple[HealthMonitor | None, list[str]]:
    """The monitor a request asks for, and every problem with it at once.  ``None`` asks
    for no monitor; a mapping gives the fields to set, on top of ``current`` when there
    is one (a change), else on the defaults (``type`` is then required)."""
    if raw is None:
        return None, []
    if not isinstance(raw, Mapping):
        return None, ["health_monitor must be an object with a type (HTTP or TCP), or null for none"]
    problems = [
        f"{key!r} is not a health monitor field (known: {', '.join(FIELDS)})" for key in raw if key not in FIELDS
    ]
    kind = raw.get("type", current.type.value if current else None)
    if kind not in (MonitorType.HTTP.value, MonitorType.TCP.value):
        problems.append(f"type must be HTTP or TCP (got {kind!r})")
        # The timings have the same rules whatever the type: report theirs too.
        base = current or HealthMonitor(MonitorType.TCP)
        problems.extend(_timing_errors({name: raw.get(name, getattr(base, name)) for name in LIMITS}))
        return None, problems
    base = current if current is not None and current.type.value == kind else HealthMonitor(MonitorType(kind))
    if current is not None and current.type.value != kind:
        # Another type: keep the timings, the HTTP fields start again from the defaults.
        base = replace(base, **{name: getattr(current, name) for name in LIMITS})
    values: dict[str, object] = {name: raw.get(name, getattr(base, name)) for name in FIELDS if name != "type"}
    problems.extend(_timing_errors(values))
    if kind == MonitorType.TCP.value:
        problems.extend(
            f"{name} is only for HTTP monitors" for name in HTTP_ONLY if name in raw and raw[name] is not None
        )
        values.update({name: getattr(HealthMonitor(MonitorType.TCP), name) for name in HTTP_ONLY})
    else:
        problems.extend(_path_errors(values["http_path"]))
        problems.extend(_codes_errors(values["expected_codes"]))
    if problems:
        return None, problems
    return HealthMonitor(type=MonitorType(kind), **values), []  # type: ignore[arg-type]


def _timing_errors(values: Mapping[str, object]) -> list[str]:
    problems = []
    for name, (low, high) in LIMITS.items():
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{name} must be a whole number (got {value!r})")
        elif not low <= value <= high:
            problems.append(f"{name} must be between {low} and {high} (got {value})")
    interval, timeout = values["interval"], values["timeout"]
    if _whole(interval) and _whole(timeout) and timeout >= interval:  # type: ignore[operator]
        problems.append(f"timeout must be less than interval ({timeout} s is not less than {interval} s)")
    return problems


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _path_errors(path: object) -> list[str]:
    if not isinstance(path, str) or not path:
        return [f"http_path must be text starting with / (got {path!r})"]
    if len(path) > PATH_MAX_LENGTH:
        return [f"http_path must be at most {PATH_MAX_LENGTH} characters (got {len(path)})"]
    if not _PATH.fullmatch(path):
        return [
            f"http_path must start with / and hold only letters, digits and . _ ~ % / ? = & + , : @ - (got {path!r})"
        ]
    return []


def _codes_errors(codes: object) -> list[str]:
    if isinstance(codes, str) and len(codes) > CODES_MAX_LENGTH:
        return [f"expected_codes must be at most {CODES_MAX_LENGTH} characters (got {len(codes)})"]
    if not isinstance(codes, str) or not _CODES.fullmatch(codes):
        return [f"expected_codes must be codes and ranges such as 200, 200,202 or 200-399 (got {codes!r})"]
    problems = []
    for part in codes.split(","):
        low, _, high = part.partition("-")
        if not (CODE_MIN <= int(low) <= CODE_MAX and CODE_MIN <= int(high or low) <= CODE_MAX):
            problems.append(f"expected_codes must lie between {CODE_MIN} and {CODE_MAX} (got {part})")
        elif int(high or low) < int(low):
            problems.append(f"expected_codes range {part} ends before it starts")
    return problems
