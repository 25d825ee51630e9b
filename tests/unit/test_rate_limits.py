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


async def test_an_event_given_back_no_longer_counts() -> None:
    limit, _ = limiter(events=2)
    first = await limit.take("login:aylin")
    second = await limit.take("login:aylin")
    assert first and second and await limit.take("login:aylin") is None
    await limit.give_back("login:aylin", second)  # the password was right
    assert await limit.take("login:aylin") is not None
    assert await limit.take("login:aylin") is None
    assert await limit.allow("login:jonas")


async def test_giving_back_an_event_that_left_the_window_changes_nothing() -> None:
    limit, clock = limiter(events=1, seconds=30)
    old = await limit.take("login:aylin")
    clock.advance(31)
    assert await limit.take("login:aylin") is not None
    await limit.give_back("login:aylin", old)
    assert await limit.take("login:aylin") is None


async def test_quiet_keys_are_forgotten() -> None:
    limit, clock = limiter(events=2, seconds=30)
    for client in range(100):
        await limit.allow(f"10.0.0.{client}")
    clock.advance(31)
    assert await limit.allow("10.0.0.1")
    await limit.allow("10.0.0.200")
    assert list(limit.history) == ["10.0.0.1", "10.0.0.200"]


async def test_keys_seen_once_are_forgotten_after_the_window() -> None:
    """Before: a key was forgotten only when it was looked up again."""
    limit, clock = limiter(events=5, seconds=300)
    for client in range(100_000):
        assert await limit.allow(f"login:client-{client}:aylin")
    assert len(limit.history) == 100_000
    clock.advance(301)
    assert await limit.allow("login:someone-else:jonas")
    assert list(limit.history) == ["login:someone-else:jonas"]


async def test_keys_are_bounded_within_one_window_the_quietest_dropped_first() -> None:
    limit = RateLimiter(2, 300.0, clock=FakeClock(), max_keys=1000)
    assert await allowed(limit, "locked", 3) == [True, True, False]
    for client in range(5000):
        await limit.allow(f"client-{client}")
        if client % 100 == 0:
            assert await limit.allow("locked") is False  # still trying: kept, still locked
    assert len(limit.history) == 1000
    assert "locked" in limit.history and "client-4999" in limit.history
    assert "client-0" not in limit.history
