"""Rate limits: at most N events per key in a sliding window of T seconds.

`RateLimiter` keeps the window in this process. `RedisRateLimiter` (used when
REDIS_URL is set) keeps it in Redis, so several app processes behind a load
balancer count a customer's messages and an address's failed logins together;
while Redis cannot be reached it limits in this process instead. Redis sees
only the keys' keyed digests (they name chats, client addresses and agents;
`bot/domain/privacy.py`, `PSEUDONYM_KEY`). Both have the same async interface:

- `allow(key)` counts one event, or says no (and counts nothing) when `key`
  has used up its events;
- `take(key)` does the same and returns the event, which `give_back` can
  un-count later: a login takes an attempt *before* checking the password (so
  parallel requests cannot all get past the limit) and gives it back when the
  password was right (so only failures count).
"""

from __future__ import annotations

import bisect
import logging
import time
import uuid
from collections.abc import Callable

import redis.asyncio

from bot.domain.privacy import pseudonymous_key
from bot.infra.redis_clients import redis_client
from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)
# An event as `take` returns it (its time in this process, its id in Redis).
Event = str
# Keys the in-process limiter holds at most; beyond, the longest-quiet go first.
MAX_KEYS = 100_000


class RateLimiter:
    """The window in this process's memory.

    Keys are forgotten once their events have left the window: the key itself
    when it is looked at, all keys in one sweep at most once per window. So
    memory holds only the keys of one window (at most `max_keys`; should more
    arrive within one window, the keys quiet longest are dropped first: a
    process must not run out of memory, whatever addresses an attacker uses).
    """

    def __init__(
        self,
        events: int,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.events = events
        self.seconds = seconds
        self.clock = clock
        self.max_keys = max_keys
        # key -> times of its events in the window, oldest first; the key
        # asked for last comes last
        self.history: dict[str, list[float]] = {}
        self._swept = clock()

    def _recent(self, key: str, now: float) -> list[float]:
        """`key`'s events still in the window (a key without any is forgotten)."""
        times = self.history.get(key)
        if times is None:
            return []
        del times[: bisect.bisect_right(times, now - self.seconds)]
        if not times:
            del self.history[key]
        return times

    def _sweep(self, now: float) -> None:
        """Forget every key whose events have all left the window."""
        self._swept = now
        stale = [key for key, times in self.history.items() if times[-1] <= now - self.seconds]
        for key in stale:
            del self.history[key]

    async def take(self, key: str) -> Event | None:
        """Count one event for `key` and return it; None (not counted) when over the limit."""
        now = self.clock()
        if now - self._swept >= self.seconds:
            self._sweep(now)
        times = self._recent(key, now)
        self.history.pop(key, None)
        self.history[key] = times  # the key asked last goes last (a refused one too)
        if len(times) >= self.events:
            return None
        times.append(now)
        if len(self.history) > self.max_keys:
            self._sweep(now)
            while len(self.history) > self.max_keys:
                del self.history[next(iter(self.history))]
        return repr(now)  # events of one instant are alike: the time names the event

    async def give_back(self, key: str, event: Event) -> None:
        """Un-count an event `take` returned (gone already if it left the window)."""
        times = self.history.get(key)
        if times is None:
            return
        try:
            times.remove(float(event))
        except ValueError:
            return
        if not times:
            del self.history[key]

    async def allow(self, key: str) -> bool:
        """Count one event for `key`; False (and not counted) when over the limit."""
        return await self.take(key) is not None

    async def close(self) -> None:
        """Nothing to release."""


# One sorted set per key: members are events, scores their time (Redis's own
# clock, so processes on different machines agree). The script runs atomically
# and the key expires with its newest event.
_TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - tonumber(ARGV[1]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""


class RedisRateLimiter:
    PREFIX = "stadtwerk:limit"

    def __init__(self, url: str, name: str, events: int, seconds: float) -> None:
        settings = get_settings()
        # a Redis that stops answering costs one timeout, then this process limits alone
        self.redis = redis_client(url, settings.redis_timeout_seconds)
        self._pseudonym_key = settings.pseudonym_key.encode()
        self.name = name
        self.events = events
        self.window_ms = int(seconds * 1000)
        self._take = self.redis.register_script(_TAKE)
        self.fallback = RateLimiter(events, seconds)

    def _key(self, key: str) -> str:
        """Keys name chats and client addresses: Redis sees only their keyed digest."""
        return f"{self.PREFIX}:{pseudonymous_key(self.name, key, self._pseudonym_key)}"

    async def take(self, key: str) -> Event | None:
        event = uuid.uuid4().hex  # distinct members: two events in one millisecond both count
        try:
            counted = await self._take(
                keys=[self._key(key)], args=[self.window_ms, self.events, event]
            )
        except redis.RedisError:
            logger.warning("rate limit %s: Redis unreachable, limiting in this process", self.name)
            return await self.fallback.take(key)
        return event if counted else None

    async def give_back(self, key: str, event: Event) -> None:
        try:
            await self.redis.zrem(self._key(key), event)
        except redis.RedisError:
            logger.warning("rate limit %s: Redis unreachable, limiting in this process", self.name)
        await self.fallback.give_back(key, event)  # taken there while Redis was down

    async def allow(self, key: str) -> bool:
        return await self.take(key) is not None

    async def close(self) -> None:
        await self.redis.close()


Limiter = RateLimiter | RedisRateLimiter


def limiter(redis_url: str, name: str, events: int, seconds: float) -> Limiter:
    """Shared through Redis when there is one, else this process's own."""
    if redis_url:
        return RedisRateLimiter(redis_url, name, events, seconds)
    return RateLimiter(events, seconds)
