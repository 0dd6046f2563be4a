"""Django's Redis cache, keeping its clients.

Django's backend makes a new ``redis.Redis`` for every cache call; building one (its
table of response callbacks) costs as much as the round trip to a Redis on the same
machine, and an API request made two such calls for its rate limit alone.  This one
keeps one client per connection pool (a client is safe to share between threads: each
command takes a connection from the pool).  ``CACHE_URL=redis://...`` selects it
(``config.env.cache``)."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: str | None = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))  # the pools live as long as this object
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def redis(self, *, write: bool = True) -> Any:
        """The ``redis.Redis`` client behind this cache (for commands the cache API has
        no word for, such as a script); keys must go through ``make_and_validate_key``."""
        return self._cache.get_client(write=write)
