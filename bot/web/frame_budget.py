"""How many frames one WebSocket may send, whatever their type.

Every frame a widget or a console sends counts: messages, typing, language
switches, pings, and what is not a frame at all. A connection may send
`frames` in any `seconds`; frames beyond that are dropped unread (no
database, no Rasa, nothing forwarded). A connection that goes on sending
while over the limit (`patience` frames dropped within `seconds`) is closed
with 1008 (policy violation). People never come near it: the widget sends
at most one typing frame per 2 s, the console a ping every 15 s.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from bot.infra.limits import RateLimiter

FRAMES = 30
SECONDS = 10.0
PATIENCE = 30
POLICY_VIOLATION = 1008  # the WebSocket close code for a flooding connection


class Verdict(enum.Enum):
    TAKE = "take"  # handle the frame
    DROP = "drop"  # ignore it (a message gets a polite notice)
    CLOSE = "close"  # the flood goes on: close the connection


class FrameBudget:
    """The frames one connection may still send."""

    def __init__(
        self,
        frames: int = FRAMES,
        seconds: float = SECONDS,
        patience: int = PATIENCE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._taken = RateLimiter(frames, seconds, clock)
        self._dropped = RateLimiter(patience, seconds, clock)

    async def spend(self) -> Verdict:
        """A frame arrived: take it, drop it, or close the connection."""
        if await self._taken.allow("frames"):
            return Verdict.TAKE
        if await self._dropped.allow("dropped"):
            return Verdict.DROP
        return Verdict.CLOSE
