"""Rate limits kept in Redis: several app processes count together."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets

import pytest
import redis

from bot.infra.limits import RedisRateLimiter

pytestmark = pytest.mark.asyncio


def limiters(url: str, events: int, seconds: float, count: int = 2) -> list[RedisRateLimiter]:
    """`count` limiters of one fresh name, as in `count` app processes."""
    name = f"test-{secrets.token_hex(4)}"
    return [RedisRateLimiter(url, name, events, seconds) for _ in range(count)]


async def close(*limits: RedisRateLimiter) -> None:
    for limit in limits:
        await limit.close()


async def test_processes_share_one_count(redis_server: str) -> None:
    first, second = limiters(redis_server, events=3, seconds=30)
    try:
        results = [
            await first.allow("chat:7"),
            await second.allow("chat:7"),
            await first.allow("chat:7"),
            await second.allow("chat:7"),
            await first.allow("chat:7"),
        ]
        assert results == [True, True, True, False, False]
        assert await second.allow("chat:8")  # another chat has its own count
    finally:
        await close(first, second)


async def test_concurrent_attempts_never_exceed_the_limit(redis_server: str) -> None:
    group = limiters(redis_server, events=5, seconds=30, count=4)
    try:
        results = await asyncio.gather(*(group[n % 4].allow("chat:9") for n in range(40)))
        assert results.count(True) == 5
    finally:
        await close(*group)


async def test_the_window_slides(redis_server: str) -> None:
    (limit,) = limiters(redis_server, events=2, seconds=0.6, count=1)
    try:
        assert await limit.allow("chat:1") and await limit.allow("chat:1")
        assert not await limit.allow("chat:1")
        await asyncio.sleep(0.7)
        assert [await limit.allow("chat:1") for _ in range(3)] == [True, True, False]
    finally:
        await close(limit)


async def test_an_attempt_is_counted_until_given_back_in_every_process(redis_server: str) -> None:
    first, second = limiters(redis_server, events=2, seconds=30)
    try:
        attempt = await first.take("login:10.0.0.1:aylin")
        assert attempt is not None
        assert await second.take("login:10.0.0.1:aylin") is not None
        assert await first.take("login:10.0.0.1:aylin") is None  # both attempts count
        await first.give_back("login:10.0.0.1:aylin", attempt)  # its password was right
        assert await second.take("login:10.0.0.1:aylin") is not None
        assert await second.take("login:10.0.0.1:aylin") is None
        assert await second.take("login:10.0.0.1:jonas") is not None
    finally:
        await close(first, second)


async def test_redis_holds_no_addresses_and_forgets(redis_server: str) -> None:
    (limit,) = limiters(redis_server, events=2, seconds=30, count=1)
    try:
        await limit.take("login:192.168.17.4:aylin")
        plain = redis.Redis.from_url(redis_server)
        keys = [key.decode() for key in plain.scan_iter(match=f"*{limit.name}*")]
        assert len(keys) == 1
        assert "192.168" not in keys[0] and "aylin" not in keys[0]
        # a keyed digest (PSEUDONYM_KEY): the plain one, which trying addresses finds, is not it
        unkeyed = hashlib.sha256(b"login:192.168.17.4:aylin").hexdigest()
        assert unkeyed[:32] not in keys[0] and unkeyed[:40] not in keys[0]
        assert 0 < plain.pttl(keys[0]) <= 30_000
        plain.close()
    finally:
        await close(limit)


async def test_without_redis_each_process_still_limits(caplog: pytest.LogCaptureFixture) -> None:
    limit = RedisRateLimiter("redis://127.0.0.1:1/0", "chat", 2, 30)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.infra.limits"):
            assert [await limit.allow("chat:1") for _ in range(3)] == [True, True, False]
        assert "Redis unreachable" in caplog.text
    finally:
        await close(limit)
