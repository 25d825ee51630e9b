"""Bot turns that take longer than Twilio waits for an answer.

Twilio waits 15 seconds for the TwiML of a request. A turn that needs more
than `REPLY_BUDGET_SECONDS` (a busy action server) is parked: the caller
hears "one moment" and Twilio asks again with `step=pending`. The parked
turn's answer is stored when it is ready, so whichever process (behind the
edge) gets the pending request can deliver it.

A parked turn lives no longer than its call: when Twilio reports the call
over (`forget`) it is cancelled and dropped, its answer never stored; and a
turn nobody asked for within `KEEP_PARKED_SECONDS` (the caller hung up and
no status callback came) is given up the same way. So the registry holds
only the turns of calls that are still waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from connectors.voice.store import Answer, PhoneStore

logger = logging.getLogger(__name__)

# After this many seconds the caller hears "one moment"; Twilio then asks again.
REPLY_BUDGET_SECONDS = 8.0
# Twilio asks for a parked turn within seconds; one nobody asked for by then is given up.
KEEP_PARKED_SECONDS = 60.0


def result_key(turn: int) -> str:
    """Where a parked turn's answer is stored (a step of its own)."""
    return f"result:{turn}"


class SlowTurns:
    """Runs bot turns within Twilio's patience; parks and later delivers the slow ones."""

    def __init__(
        self,
        store: PhoneStore,
        budget: float = REPLY_BUDGET_SECONDS,
        keep_for: float = KEEP_PARKED_SECONDS,
    ) -> None:
        self.store = store
        self.budget = budget
        self.keep_for = keep_for
        self._parked: dict[tuple[str, int], asyncio.Task[Answer]] = {}

    @property
    def parked(self) -> int:
        """How many turns wait for Twilio to ask for them."""
        return len(self._parked)

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
        asyncio.get_running_loop().call_later(self.keep_for, self._give_up, call_sid, turn, task)
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
        except asyncio.CancelledError:
            if task.cancelled():  # given up meanwhile (the call ended)
                return None
            raise

    def forget(self, call_sid: str) -> None:
        """The call ended: its parked turns are cancelled and delivered to no one."""
        for key in [key for key in self._parked if key[0] == call_sid]:
            self._parked.pop(key).cancel()

    def _give_up(self, call_sid: str, turn: int, task: asyncio.Task[Answer]) -> None:
        """Nobody asked for the turn in time: the caller is gone."""
        if self._parked.get((call_sid, turn)) is task:
            del self._parked[(call_sid, turn)]
        if not task.done():
            logger.info("slow turn given up call=%s turn=%s", call_sid, turn)
            task.cancel()

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
