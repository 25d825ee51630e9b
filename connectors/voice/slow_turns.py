"""Bot turns that take longer than Twilio waits for an answer.

Twilio waits 15 seconds for the TwiML of a request. A turn that needs more
than `REPLY_BUDGET_SECONDS` (a busy action server) is parked: the caller
hears "one moment" and Twilio asks again with `step=pending`. The parked
turn's answer is stored when it is ready, so whichever process (behind a
balancer) gets the pending request can deliver it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from connectors.voice.store import Answer, PhoneStore

logger = logging.getLogger(__name__)

# After this many seconds the caller hears "one moment"; Twilio then asks again.
REPLY_BUDGET_SECONDS = 8.0


def result_key(turn: int) -> str:
    """Where a parked turn's answer is stored (a step of its own)."""
    return f"result:{turn}"


class SlowTurns:
    """Runs bot turns within Twilio's patience; parks and later delivers the slow ones."""

    def __init__(self, store: PhoneStore, budget: float = REPLY_BUDGET_SECONDS) -> None:
        self.store = store
        self.budget = budget
        self._parked: dict[tuple[str, int], asyncio.Task[Answer]] = {}

    async def within_budget(
        self, call_sid: str, turn: int, work: Awaitable[Answer]
    ) -> Answer | None:
        """The turn's answer, or None when it was parked as `turn` (ask again later)."""
        task = asyncio.ensure_future(work)
        done, _ = await asyncio.wait({task}, timeout=self.budget)
        if task in done:
            return task.result()
        self._parked[(call_sid, turn)] = task
        task.add_done_callback(self._store_when_done(call_sid, turn))
        return None

    async def answer_of(self, call_sid: str, turn: int) -> str | None:
        """A parked turn's TwiML: from this process, or stored by another; None if still none."""
        task = self._parked.pop((call_sid, turn), None)
        if task is None:
            return await self.store.answer_of(call_sid, result_key(turn), self.budget)
        try:
            return (await asyncio.wait_for(asyncio.shield(task), self.budget)).twiml
        except asyncio.TimeoutError:
            return None

    def forget(self, call_sid: str) -> None:
        """The call ended: its parked turns are delivered to no one."""
        for key in [key for key in self._parked if key[0] == call_sid]:
            del self._parked[key]

    def _store_when_done(self, call_sid: str, turn: int):  # type: ignore[no-untyped-def]
        async def store(answer: Answer) -> None:
            try:
                await self.store.save_answer(call_sid, result_key(turn), answer)
            except Exception:  # noqa: BLE001 - the pending request apologises instead
                logger.exception("slow turn's answer not stored call=%s", call_sid)

        def done(task: asyncio.Task[Answer]) -> None:
            if not task.cancelled() and task.exception() is None:
                asyncio.ensure_future(store(task.result()))

        return done
