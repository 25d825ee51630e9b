"""Rate limits: at most N events per key in a sliding window of T seconds."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


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

    def blocked(self, key: str) -> bool:
        """Whether `key` has used up its events (without counting one)."""
        return self._recent(key) >= self.events

    def hit(self, key: str) -> None:
        self.history.setdefault(key, deque()).append(self.clock())

    def allow(self, key: str) -> bool:
        """Count one event for `key`; False (and not counted) when over the limit."""
        if self.blocked(key):
            return False
        self.hit(key)
        return True
