"""Rules every app applies to the same kinds of input, with the same messages."""

from __future__ import annotations

import re
from enum import StrEnum

NAME_MAX_LENGTH = 63
PORT_MIN, PORT_MAX = 1, 65535
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def name_errors(name: object, *, what: str = "name") -> list[str]:
    """The house name rule (DNS-label-like), shared by servers and load balancers."""
    if not isinstance(name, str) or not name:
        return [f"{what} is required"]
    problems = []
    if len(name) > NAME_MAX_LENGTH:
        problems.append(f"{what} must be at most {NAME_MAX_LENGTH} characters (got {len(name)})")
    if not _NAME_RE.match(name):
        problems.append(
            f"{what} may contain only lowercase letters, digits and hyphens, "
            "and must start and end with a letter or digit"
        )
    return problems


def port_errors(port: object, *, what: str = "port") -> list[str]:
    if isinstance(port, bool) or not isinstance(port, int):
        return [f"{what} must be a whole number"]
    if not PORT_MIN <= port <= PORT_MAX:
        return [f"{what} must be between {PORT_MIN} and {PORT_MAX} (got {port})"]
    return []


def choice_errors(value: object, choices: type[StrEnum], *, what: str) -> list[str]:
    allowed = [c.value for c in choices]
    if value not in allowed:
        return [f"{what} must be one of {', '.join(allowed)} (got {value!r})"]
    return []
