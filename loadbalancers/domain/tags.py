"""Tags: labels people put on load balancers to find and group them (``web``) or to
say something about them (``env=prod``), after NetBox's tags and AWS's key=value tags."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

MAX_TAGS = 20
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}$")
_VALUE = re.compile(r"^[A-Za-z0-9_.:/@+-]{1,127}$")
RESERVED_PREFIXES = ("portal:", "aws:")
"""Keys that belong to the portal itself and to the providers."""
RULE = (
    "a tag is a label or key=value: the key 1-63 of letters, digits and _ . : / -, starting with a letter or"
    " digit; the value 1-127 of letters, digits and _ . : / @ + -"
)


def key_of(tag: str) -> str:
    return tag.partition("=")[0]


def tag_errors(tags: object) -> list[str]:
    if not isinstance(tags, Sequence) or isinstance(tags, str | bytes):
        return ["tags must be a list of labels or key=value texts"]
    problems = []
    if len(tags) > MAX_TAGS:
        problems.append(f"at most {MAX_TAGS} tags (got {len(tags)})")
    for tag in tags:
        if not isinstance(tag, str):
            problems.append(f"{tag!r} is not a tag: {RULE}")
            continue
        key, equals, value = tag.partition("=")
        if not _KEY.match(key) or (equals and not _VALUE.match(value)):
            problems.append(f"{tag!r} is not a tag: {RULE}")
        elif key.lower().startswith(RESERVED_PREFIXES):
            problems.append(f"{tag!r}: keys starting with {' or '.join(RESERVED_PREFIXES)} are reserved")
    keys = Counter(key_of(tag) for tag in tags if isinstance(tag, str))
    if repeated := sorted(key for key, n in keys.items() if n > 1):
        problems.append(f"each key may appear once; repeated: {', '.join(repeated)}")
    return problems


def normalized(tags: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(tags))
