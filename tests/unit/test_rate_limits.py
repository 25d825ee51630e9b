"""The in-process sliding-window rate limiter, driven by a fake clock.

(The Redis-backed one shared by several app processes: tests/production/test_redis_limits.py.)
"""

from __future__ import annotations

import pytest

from bot.infra.limits import RateLimiter

pytestmark = pytest.mark.asyncio


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limiter(events: int = 3, seconds: float = 30.0) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(events, seconds, clock=clock), clock


async def allowed(limit: RateLimiter, key: str, times: int) -> list[bool]:
    return [await limit.allow(key) for _ in range(times)]


async def test_allows_up_to_the_limit_then_refuses() -> None:
    limit, _ = limiter(events=3)
    assert await allowed(limit, "chat-1", 5) == [True, True, True, False, False]


async def test_keys_are_limited_independently() -> None:
    limit, _ = limiter(events=2)
    assert await allowed(limit, "10.0.0.1", 3) == [True, True, False]
    assert await allowed(limit, "10.0.0.2", 2) == [True, True]


async def test_events_are_allowed_again_once_the_window_has_passed() -> None:
    limit, clock = limiter(events=2, seconds=30)
    await allowed(limit, "chat-1", 2)
    clock.advance(29)
    assert await limit.allow("chat-1") is False
    clock.advance(1)
    assert await allowed(limit, "chat-1", 3) == [True, True, False]


async def test_window_slides_instead_of_resetting() -> None:
    limit, clock = limiter(events=2, seconds=30)
    assert await limit.allow("chat-1")  # t=0
    clock.advance(20)
    assert await limit.allow("chat-1")  # t=20
    clock.advance(15)  # t=35: the first event has left the window, the second not
    assert await allowed(limit, "chat-1", 2) == [True, False]
    clock.advance(14)  # t=49: the event of t=20 is still inside
    assert await limit.allow("chat-1") is False
    clock.advance(1)  # t=50
    assert await limit.allow("chat-1") is True


async def test_refused_attempts_do_not_extend_the_block() -> None:
    limit, clock = limiter(events=1, seconds=60)
    assert await limit.allow("login:aylin")
    for _ in range(10):
        clock.advance(5)
        assert await limit.allow("login:aylin") is False
    clock.advance(10)  # 60 s after the only allowed attempt
    assert await limit.allow("login:aylin") is True


async def test_default_clock_is_usable() -> None:
    limit = RateLimiter(1, 60.0)
    assert await allowed(limit, "k", 2) == [True, False]


async def test_failures_only_counting_blocks_without_counting_the_check() -> None:
    limit, _ = limiter(events=2)
    assert not await limit.blocked("login:aylin")
    await limit.hit("login:aylin")
    await limit.hit("login:aylin")
    assert await limit.blocked("login:aylin") and await limit.blocked("login:aylin")
    assert not await limit.blocked("login:jonas")


async def test_quiet_keys_are_forgotten() -> None:
    limit, clock = limiter(events=2, seconds=30)
    for client in range(100):
        await limit.allow(f"10.0.0.{client}")
    clock.advance(31)
    assert not await limit.blocked("10.0.0.1")
    await limit.allow("10.0.0.200")
    for client in range(100):
        await limit.blocked(f"10.0.0.{client}")
    assert list(limit.history) == ["10.0.0.200"]
