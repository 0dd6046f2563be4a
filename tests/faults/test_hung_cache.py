"""A Redis cache that accepts and never answers holds an API request's rate limit for at
most the cache's timeout (config.env.CACHE_TIMEOUT), then fails, instead of for ever."""

from types import SimpleNamespace

import pytest
from django.core.cache import caches
from redis.exceptions import TimeoutError as RedisTimeout

from config import env
from portal.api import throttling


class Limited(throttling.UserRateThrottle):
    rate = "3/minute"


def test_a_hung_redis_cache_gives_up_on_the_rate_limit_after_its_timeout(settings, monkeypatch, hung_broker):
    monkeypatch.setattr(env, "CACHE_TIMEOUT", 0.5)
    monkeypatch.setenv("HUNG_CACHE_URL", f"redis://127.0.0.1:{hung_broker}/0")
    settings.CACHES = {"default": env.cache("HUNG_CACHE_URL", "")}
    assert caches["default"].redis().connection_pool.connection_kwargs["socket_timeout"] == 0.5
    request = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=1), META={})

    # Bounded by the socket timeout: without it redis-py waits for an answer for ever.
    with pytest.raises(RedisTimeout):
        Limited().allow_request(request, None)
