"""The Redis cache, degraded to "cache miss" while Redis is unreachable.

Everything the CRM keeps in the cache can be recomputed (dashboard figures, progress bars, the API
throttle's request times), and the truth lives in the database. So a Redis outage must not turn
pages into errors: a read answers "not cached", a write is dropped, ``incr`` answers "no such key",
and the first failure of an outage is logged once. Short socket timeouts keep a Redis that hangs
(rather than refuses) from stalling requests; after a failure the cache is skipped for
``RETRY_AFTER`` seconds instead of waiting for the same timeout on every call.

While Redis is down the API throttle lets requests through (it cannot count them).
"""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

#: seconds the cache is skipped after a failure before Redis is tried again
RETRY_AFTER = 2.0
#: redis-py connection options unless the settings' OPTIONS say otherwise
DEFAULT_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 1.0, "health_check_interval": 30}
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class ResilientRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` that answers like an empty cache while
    Redis is unreachable instead of raising."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._options = {**DEFAULT_OPTIONS, **self._options}
        self._down_until = 0.0

    def _guard(self, call, fallback):
        if time.monotonic() < self._down_until:
            return fallback()
        try:
            result = call()
        except UNAVAILABLE as exc:
            if not self._down_until:
                log.warning("Redis cache unreachable, serving without it: %s", exc)
            self._down_until = time.monotonic() + RETRY_AFTER
            return fallback()
        if self._down_until:
            log.warning("Redis cache reachable again")
            self._down_until = 0.0
        return result

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).add(key, value, timeout, version), lambda: False)

    def get(self, key, default=None, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).get(key, default, version), lambda: default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).set(key, value, timeout, version), lambda: None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).touch(key, timeout, version), lambda: False)

    def delete(self, key, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).delete(key, version), lambda: False)

    def get_many(self, keys, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).get_many(keys, version), dict)

    def has_key(self, key, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).has_key(key, version), lambda: False)

    def incr(self, key, delta=1, version=None):
        def missing():
            raise ValueError(f"Key '{key}' not found (the cache is unreachable)")

        return self._guard(lambda: super(ResilientRedisCache, self).incr(key, delta, version), missing)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            lambda: super(ResilientRedisCache, self).set_many(data, timeout, version), lambda: list(data)
        )

    def delete_many(self, keys, version=None):
        return self._guard(lambda: super(ResilientRedisCache, self).delete_many(keys, version), lambda: None)

    def clear(self):
        return self._guard(lambda: super(ResilientRedisCache, self).clear(), lambda: False)
