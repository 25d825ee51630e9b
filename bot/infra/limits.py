"""Rate limits: at most N events per key in a sliding window of T seconds.

`RateLimiter` keeps the window in this process. `RedisRateLimiter` (used when
REDIS_URL is set) keeps it in Redis, so several app processes behind a load
balancer count a customer's messages and an address's failed logins together;
while Redis cannot be reached it limits in this process instead. Both have the
same async interface.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio
from redis.commands.core import AsyncScript

from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)


class RateLimiter:
    def __init__(
        self, events: int, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.events = events
        self.seconds = seconds
        self.clock = clock
        self.history: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> int:
        """Events of `key` still in the window; keys without any are forgotten."""
        recent = self.history.get(key)
        if recent is None:
            return 0
        while recent and recent[0] <= self.clock() - self.seconds:
            recent.popleft()
        if not recent:
            del self.history[key]
        return len(recent)

    async def blocked(self, key: str) -> bool:
        """Whether `key` has used up its events (without counting one)."""
        return self._recent(key) >= self.events

    async def hit(self, key: str) -> None:
        """Count one event for `key`."""
        self.history.setdefault(key, deque()).append(self.clock())

    async def allow(self, key: str) -> bool:
        """Count one event for `key`; False (and not counted) when over the limit."""
        if await self.blocked(key):
            return False
        await self.hit(key)
        return True

    async def close(self) -> None:
        """Nothing to release."""


# One sorted set per key: members are events, scores their time (Redis's own
# clock, so processes on different machines agree). Each script runs atomically.
_TRIM_AND_COUNT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - tonumber(ARGV[1]))
local count = redis.call('ZCARD', KEYS[1])
"""
_BLOCKED = _TRIM_AND_COUNT + "return count >= tonumber(ARGV[2]) and 1 or 0"
_HIT = (
    _TRIM_AND_COUNT
    + """
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
)
_ALLOW = (
    _TRIM_AND_COUNT
    + """
if count >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
)


class RedisRateLimiter:
    PREFIX = "stadtwerk:limit"

    def __init__(self, url: str, name: str, events: int, seconds: float) -> None:
        # a Redis that stops answering costs one timeout, then this process limits alone
        wait = get_settings().redis_timeout_seconds
        self.redis = redis.asyncio.from_url(url, socket_timeout=wait, socket_connect_timeout=wait)
        self.name = name
        self.events = events
        self.window_ms = int(seconds * 1000)
        self._blocked = self.redis.register_script(_BLOCKED)
        self._hit = self.redis.register_script(_HIT)
        self._allow = self.redis.register_script(_ALLOW)
        self.fallback = RateLimiter(events, seconds)

    async def _run(
        self, script: AsyncScript, key: str, fallback: Callable[[str], Awaitable[Any]]
    ) -> bool:
        """Run `script` for `key` in Redis, or `fallback` in this process if Redis is down."""
        event = uuid.uuid4().hex  # distinct members: two events in one millisecond both count
        try:
            result = await script(
                keys=[f"{self.PREFIX}:{self.name}:{_digest(key)}"],
                args=[self.window_ms, self.events, event],
            )
        except redis.RedisError:
            logger.warning("rate limit %s: Redis unreachable, limiting in this process", self.name)
            result = await fallback(key)
        return bool(result)

    async def blocked(self, key: str) -> bool:
        return await self._run(self._blocked, key, self.fallback.blocked)

    async def hit(self, key: str) -> None:
        await self._run(self._hit, key, self.fallback.hit)

    async def allow(self, key: str) -> bool:
        return await self._run(self._allow, key, self.fallback.allow)

    async def close(self) -> None:
        await self.redis.close()


def _digest(key: str) -> str:
    """Keys name chats and client addresses: Redis sees only their digest."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


Limiter = RateLimiter | RedisRateLimiter


def limiter(redis_url: str, name: str, events: int, seconds: float) -> Limiter:
    """Shared through Redis when there is one, else this process's own."""
    if redis_url:
        return RedisRateLimiter(redis_url, name, events, seconds)
    return RateLimiter(events, seconds)
