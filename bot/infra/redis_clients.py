"""Redis clients that fail fast: an outage or a hung network never stalls a caller.

The hub and the readiness check connect to Redis here, with a timeout for
connecting and for each command (REDIS_TIMEOUT_SECONDS), so a Redis that is
gone or does not answer costs a caller at most that long and an exception it
can handle (`redis.RedisError`).
"""

from __future__ import annotations

import redis.asyncio

# An idle subscription pings Redis this often, so a dead connection is noticed.
HEALTH_CHECK_SECONDS = 10


def redis_client(url: str, timeout: float) -> redis.asyncio.Redis:
    """A client for `url` whose connects and commands give up after `timeout` seconds."""
    return redis.asyncio.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        health_check_interval=HEALTH_CHECK_SECONDS,
    )
