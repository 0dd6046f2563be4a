"""Strict reading of environment settings.

django-environ does the parsing; this adds what it leaves out: a typo such as
``DEBUG=ture`` or ``LBAAS_POLL_INTERVAL=fast`` stops the process at start-up with a
message naming the variable, instead of silently meaning something else.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Collection, Sequence

import environ
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "ImproperlyConfigured",
    "bearer_token",
    "cache",
    "choice",
    "database",
    "flag",
    "identifier",
    "names",
    "network",
    "networks",
    "number",
    "project_id",
    "rate",
    "read_dotenv",
    "secret_key",
    "shared_cache",
    "text",
    "url",
    "whole",
]

env = environ.Env()

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def read_dotenv(path: str) -> None:
    environ.Env.read_env(path, overwrite=False)


def text(name: str, default: str | None = None) -> str:
    if default is None and name not in env.ENVIRON:
        raise ImproperlyConfigured(f"set the environment variable {name}")
    return env.str(name, default=default)


def flag(name: str, default: bool) -> bool:
    raw = env.str(name, default="").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of {', '.join(_TRUE + _FALSE)} (got {raw!r})")


def number(name: str, default: float, *, minimum: float = 0.0, maximum: float | None = None) -> float:
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number (got {raw!r})") from None
    if not math.isfinite(value) or value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ImproperlyConfigured(f"{name} must be {bounds} (got {raw!r})")
    return value


def whole(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """A whole number: ``2.5`` is refused rather than quietly read as 2."""
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number (got {raw!r})") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ImproperlyConfigured(f"{name} must be {bounds} (got {raw!r})")
    return value


def names(name: str, default: Sequence[str]) -> list[str]:
    raw = env.str(name, default="").strip()
    if not raw:
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def choice(name: str, default: str, allowed: Sequence[str]) -> str:
    value = env.str(name, default=default).strip()
    if value not in allowed:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(allowed) or '(none)'} (got {value!r})")
    return value


def network(name: str, default: str) -> str:
    """An IP network in CIDR notation, such as 198.51.100.0/24."""
    raw = env.str(name, default=default).strip()
    try:
        ipaddress.ip_network(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an IP network such as 198.51.100.0/24 ({exc})") from None
    return raw


def networks(name: str, default: Sequence[str]) -> list[str]:
    """IP networks in CIDR notation, comma-separated."""
    found = []
    for raw in names(name, default):
        try:
            found.append(str(ipaddress.ip_network(raw)))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name} must list IP networks such as 10.0.5.0/24, comma-separated ({exc})"
            ) from None
    return found


SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_DISTINCT = 10
_SECRET_KEY_HINT = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def secret_key(name: str, *, published: Collection[str]) -> str:
    """A signing key fit for production: long, not trivially guessable, and none of the
    keys written in this repository (``published``) or made by Django's startproject."""
    raw = env.ENVIRON.get(name)
    if raw is None:
        raise ImproperlyConfigured(f"set the environment variable {name}; {_SECRET_KEY_HINT}")
    if not raw.strip():
        raise ImproperlyConfigured(f"{name} is empty or only whitespace; {_SECRET_KEY_HINT}")
    if raw.strip() in published or raw.strip().startswith("django-insecure-"):
        raise ImproperlyConfigured(
            f"{name} is a development or test key published in the source code, not a secret; {_SECRET_KEY_HINT}"
        )
    if len(raw) < SECRET_KEY_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"{name} must be at least {SECRET_KEY_MIN_LENGTH} characters long (got {len(raw)}); {_SECRET_KEY_HINT}"
        )
    if len(set(raw)) < SECRET_KEY_MIN_DISTINCT:
        raise ImproperlyConfigured(
            f"{name} has only {len(set(raw))} distinct characters (at least {SECRET_KEY_MIN_DISTINCT} needed): "
            f"it is easy to guess; {_SECRET_KEY_HINT}"
        )
    return raw


def rate(name: str, default: str) -> str:
    """A request rate as DRF reads it: a whole number, a slash, and second/minute/hour/day."""
    raw = env.str(name, default=default).strip()
    count, _, period = raw.partition("/")
    if not count.isdigit() or not period or period[0] not in "smhd":
        raise ImproperlyConfigured(f"{name} must look like 100/minute (a number per second, minute, hour or day)")
    return raw


CACHE_TIMEOUT = 2.0
"""Seconds a Redis cache may take to connect, and to answer each command."""


def cache(name: str, default: str) -> dict:
    raw = env.str(name, default=default)
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in environ.Env.CACHE_SCHEMES:
        raise ImproperlyConfigured(f"{name} must be a cache URL such as redis://host:6379/1 (got scheme {scheme!r})")
    config = environ.Env.cache_url_config(raw)
    if config["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        config["BACKEND"] = "portal.cache.RedisCache"  # Django's, keeping its clients
        # Every request's rate limit asks the cache: a Redis that accepts and never answers
        # must not hold a request for ever (redis-py waits without end by default).
        options = config.setdefault("OPTIONS", {})
        options.setdefault("socket_connect_timeout", CACHE_TIMEOUT)
        options.setdefault("socket_timeout", CACHE_TIMEOUT)
    return config


_PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "keeps its counts in each process",
    "django.core.cache.backends.dummy.DummyCache": "counts nothing",
}


def shared_cache(name: str) -> dict:
    """A cache every web process shares.  Rate limits and sign-in lock-out are counted in
    the cache: with one per process, each worker keeps its own count, and N workers let
    N times the limit through."""
    hint = (
        f"set {name} to a cache every web process shares, redis://host:6379/1 or a database cache "
        "(dbcache://portal_cache, after `manage.py createcachetable`): rate limits and failed sign-ins are "
        "counted in it"
    )
    raw = env.str(name, default="").strip()
    if not raw:
        raise ImproperlyConfigured(hint)
    config = cache(name, raw)
    if config["BACKEND"] in _PER_PROCESS_CACHES:
        raise ImproperlyConfigured(f"{name}={raw} {_PER_PROCESS_CACHES[config['BACKEND']]}; {hint}")
    return config


def database(name: str, default: str) -> dict:
    raw = env.str(name, default=default)
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in environ.Env.DB_SCHEMES:
        known = "postgres://, sqlite:///, mysql://, ..."
        raise ImproperlyConfigured(f"{name} must be a database URL such as {known} (got scheme {scheme!r})")
    try:
        return environ.Env.db_url_config(raw)
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"{name} is not a database URL Django can use ({exc})") from None


def identifier(name: str, default: str) -> str:
    """A name to stamp on resources: 4-40 lower-case letters, digits and inner hyphens."""
    raw = env.str(name, default=default).strip()
    if raw and not _IDENTIFIER.fullmatch(raw):
        raise ImproperlyConfigured(
            f"{name} must be 4-40 lower-case letters, digits and hyphens, starting and ending with a letter or digit"
            f" (got {raw!r})"
        )
    return raw


def url(name: str) -> str:
    """An http(s) URL with a host, or empty when unset."""
    raw = env.str(name, default="").strip()
    if raw and not _URL.fullmatch(raw):
        raise ImproperlyConfigured(
            f"{name} must be an http:// or https:// URL such as https://keystone.example:5000/v3 (got {raw!r})"
        )
    return raw


def project_id(name: str) -> str:
    """An OpenStack project id (Keystone's are 32 hex digits; 1-64 letters, digits, - and
    _ are taken), or empty when unset."""
    raw = env.str(name, default="").strip()
    if raw and not _PROJECT_ID.fullmatch(raw):
        raise ImproperlyConfigured(f"{name} must be 1-64 letters, digits, - and _ (got {raw!r})")
    return raw


BEARER_TOKEN_MIN_LENGTH = 16


def bearer_token(name: str) -> str:
    """A secret that clients send as ``Authorization: Bearer <token>``: at least 16 of the
    characters a bearer token may hold (letters, digits and ``-._~+/``, ``=`` at the
    end), or empty when unset."""
    raw = env.str(name, default="").strip()
    if not raw:
        return ""
    if not _BEARER_TOKEN.fullmatch(raw):
        raise ImproperlyConfigured(
            f"{name} may hold only letters, digits and -._~+/ (= at the end); {_SECRET_KEY_HINT}"
        )
    if len(raw) < BEARER_TOKEN_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"{name} must be at least {BEARER_TOKEN_MIN_LENGTH} characters long (got {len(raw)}); {_SECRET_KEY_HINT}"
        )
    return raw


_BEARER_TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
_URL = re.compile(r"https?://[^\s/?#]+(/[^\s]*)?")
_PROJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9-]{2,38}[a-z0-9]")
