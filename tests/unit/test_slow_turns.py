"""Bot turns slower than Twilio waits (connectors/voice/slow_turns.py)."""

from __future__ import annotations

import asyncio

import pytest

from connectors.voice.slow_turns import SlowTurns
from connectors.voice.store import Answer

pytestmark = pytest.mark.asyncio


class Store:
    """What SlowTurns needs of the phone store: where a parked answer is kept."""

    def __init__(self) -> None:
        self.saved: dict[tuple[str, str], Answer] = {}

    async def save_answer(self, call_sid: str, key: str, answer: Answer) -> None:
        self.saved[(call_sid, key)] = answer

    async def answer_of(self, call_sid: str, key: str, wait_seconds: float) -> str | None:
        answer = self.saved.get((call_sid, key))
        return answer.twiml if answer else None


async def slow(seconds: float, twiml: str) -> Answer:
    await asyncio.sleep(seconds)
    return Answer(twiml)


async def test_a_quick_turn_is_answered_at_once() -> None:
    turns = SlowTurns(Store(), budget=1.0)  # type: ignore[arg-type]
    assert (await turns.within_budget("CA1", 2, slow(0, "<Response/>"))).twiml == "<Response/>"


async def test_a_slow_turn_is_parked_and_delivered_then_stored() -> None:
    store = Store()
    turns = SlowTurns(store, budget=0.3)  # type: ignore[arg-type]
    assert await turns.within_budget("CA1", 2, slow(0.45, "<late/>")) is None
    assert await turns.answer_of("CA1", 2) == "<late/>"  # waits up to another budget
    await asyncio.sleep(0.05)
    assert store.saved[("CA1", "result:2")].twiml == "<late/>"  # for another process


async def test_the_turns_of_a_call_that_hung_up_are_forgotten() -> None:
    turns = SlowTurns(Store(), budget=0.01)  # type: ignore[arg-type]
    assert await turns.within_budget("CA1", 2, slow(0.2, "<late/>")) is None
    assert await turns.within_budget("CA2", 5, slow(0.2, "<late/>")) is None
    turns.forget("CA1")
    assert set(turns._parked) == {("CA2", 5)}
