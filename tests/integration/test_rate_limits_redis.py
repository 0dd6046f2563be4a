"""Rate limits counted in Redis, one script per request: the same decisions and the same
waits as DRF's own log, through the API too.  The tests given ``redis_cache`` need a Redis
(TEST_REDIS_URL; CI sets it)."""

import os
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from rest_framework import throttling as drf
from rest_framework.throttling import SimpleRateThrottle

from config import env
from portal.api import throttling
from portal.cache import RedisCache
from tests.conftest import client_for
from tests.factories import UserFactory

REDIS = os.environ.get("TEST_REDIS_URL", "")


@pytest.fixture
def redis_cache(settings):
    if not REDIS:
        pytest.skip("needs Redis (set TEST_REDIS_URL=redis://127.0.0.1:6379/15)")
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": {**env.cache("TEST_REDIS_URL", REDIS), "KEY_PREFIX": prefix}}
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    yield cache
    client = cache.redis()
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _request(user_id: int) -> SimpleNamespace:
    return SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=user_id), META={})


class Portal(throttling.UserRateThrottle):
    rate = "3/minute"


class Drf(drf.UserRateThrottle):
    rate = "3/minute"
    cache = LocMemCache("drf-log", {})


@pytest.mark.parametrize(
    "times",
    [
        [0, 1, 2, 3, 59.9, 60, 60.5, 61, 62, 119, 200],
        [0, 0, 0, 0, 0, 30, 59.999, 60, 60, 60, 60, 120.001],
        [5 * i for i in range(40)],
    ],
    ids=["edges", "bursts", "steady"],
)
def test_the_script_decides_and_tells_the_wait_as_drfs_log_does(redis_cache, times):
    clock = _Clock()
    start = clock.now
    Drf.cache.clear()
    portal, reference = Portal(), Drf()
    portal.timer = reference.timer = clock

    seen, expected = [], []
    for offset in times:
        clock.now = start + offset
        for throttle, into in ((portal, seen), (reference, expected)):
            allowed = throttle.allow_request(_request(7), None)
            into.append((allowed, None if allowed else round(throttle.wait(), 6)))

    assert seen == expected
    assert any(allowed for allowed, _ in seen)
    assert not all(allowed for allowed, _ in seen)


@pytest.mark.django_db
def test_the_api_refuses_the_request_past_the_limit_with_the_wait_and_counts_each_user_apart(redis_cache, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "3/minute", "anon": "3/minute"})
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    alice_api, bob_api = client_for(alice), client_for(bob)

    answers = [alice_api.get("/api/v1/servers/").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    refused = alice_api.get("/api/v1/servers/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert bob_api.get("/api/v1/servers/").status_code == 200
    log = redis_cache.make_and_validate_key(f"throttle_user_{alice.pk}:log")
    assert redis_cache.redis().zcard(log) == 3  # refused requests are not noted, as DRF does


def test_a_redis_that_lost_its_scripts_is_given_the_script_again(redis_cache):
    redis_cache.redis().script_flush()
    throttle = Portal()

    assert throttle.allow_request(_request(8), None) is True
    assert redis_cache.redis().zcard(redis_cache.make_and_validate_key("throttle_user_8:log")) == 1


def test_other_caches_count_as_drf_does(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}}
    throttle = Portal()
    throttle.timer = _Clock()

    assert [throttle.allow_request(_request(9), None) for _ in range(4)] == [True, True, True, False]
    assert throttle.wait() == 60


def test_the_redis_cache_keeps_one_client_and_still_caches(redis_cache):
    redis_cache.set("answer", {"n": 42}, 30)

    assert redis_cache.get("answer") == {"n": 42}
    assert redis_cache.redis() is redis_cache.redis() is redis_cache._cache.get_client("answer")
