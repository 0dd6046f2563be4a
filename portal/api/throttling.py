"""The API's rate limits: DRF's (a sliding log of the requests of the last period, per
user, per client address or per scope), counted in one round trip when the cache is
Redis.

DRF reads the whole log from the cache and writes it back on every request: two round
trips, and a log of up to the limit's count of times pickled both ways (1,200 a minute
by default).  On Redis the log is a sorted set kept by one script, which drops the
times that left the period, counts, and notes this request only when it is let
through, as DRF does; a refused request is told to wait until the oldest time leaves
the period, as DRF tells it.  Other caches (the embedded default's file cache, a
database cache) count as DRF does."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from redis.exceptions import NoScriptError
from rest_framework import throttling

from portal.cache import RedisCache

_SCRIPT = """
local now, period, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) >= limit then
  return redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(period * 1000))
return false
"""
_SHA = hashlib.sha1(_SCRIPT.encode()).hexdigest()


class RedisSlidingLog(throttling.SimpleRateThrottle):
    """A SimpleRateThrottle whose log is a Redis sorted set when the cache is Redis."""

    _oldest: float | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        cache = caches[DEFAULT_CACHE_ALIAS] if self.cache is default_cache else self.cache  # not its proxy
        if self.rate is None or not isinstance(cache, RedisCache):
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        # A key of its own: a log DRF's way (a pickled list) may be under the plain one.
        key = cache.make_and_validate_key(f"{self.key}:log")
        args = (repr(self.now), self.duration, self.num_requests, f"{self.now!r}:{secrets.token_hex(4)}")
        client = cache.redis()
        try:
            oldest = client.evalsha(_SHA, 1, key, *args)
        except NoScriptError:  # a Redis that has not seen it yet (restarted, another server)
            oldest = client.eval(_SCRIPT, 1, key, *args)
        if oldest is None:
            return True
        self._oldest = float(oldest)
        return self.throttle_failure()

    def wait(self) -> float | None:
        if self._oldest is None:
            return super().wait()
        # What DRF answers when the log is full: until the oldest time leaves the period.
        return max(0.0, self.duration - (self.now - self._oldest))


class AnonRateThrottle(throttling.AnonRateThrottle, RedisSlidingLog):
    """Requests without credentials, by client address (API_THROTTLE_ANON)."""


class UserRateThrottle(throttling.UserRateThrottle, RedisSlidingLog):
    """Requests of a signed-in user or token (API_THROTTLE_USER)."""


class ScopedRateThrottle(throttling.ScopedRateThrottle, RedisSlidingLog):
    """Requests to the views of one scope (``throttle_scope``), per user or address."""
