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


class Turn:
    """A bot turn that takes `seconds`; whether it ran to its end or was cancelled."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.finished = False
        self.cancelled = False

    async def run(self) -> Answer:
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.finished = True
        return Answer("<late/>")


async def test_the_slow_turns_of_many_calls_that_hung_up_are_cancelled_and_dropped() -> None:
    store = Store()
    turns = SlowTurns(store, budget=0.01)  # type: ignore[arg-type]
    calls = [(f"CA{number:032d}", Turn(2.0)) for number in range(50)]
    for call_sid, turn in calls:
        assert await turns.within_budget(call_sid, 2, turn.run()) is None
    assert turns.parked == 50
    for call_sid, _ in calls:  # Twilio: CallStatus=completed
        turns.forget(call_sid)
    assert turns.parked == 0
    await asyncio.sleep(2.2)  # when the turns would have ended
    assert all(turn.cancelled and not turn.finished for _, turn in calls)
    assert store.saved == {}  # no answer stored for a call that is over


async def test_a_slow_turn_nobody_asks_for_is_given_up() -> None:
    """The caller hung up and no status callback came: the registry still empties."""
    store = Store()
    # kept long enough that all twenty are still parked on a busy machine
    turns = SlowTurns(store, budget=0.01, keep_for=1.0)  # type: ignore[arg-type]
    calls = [(f"CA{number:032d}", Turn(5)) for number in range(20)]
    for call_sid, turn in calls:
        assert await turns.within_budget(call_sid, 4, turn.run()) is None
    assert turns.parked == 20
    await asyncio.sleep(2.0)
    assert turns.parked == 0
    assert all(turn.cancelled for _, turn in calls) and store.saved == {}


async def test_a_turn_asked_for_in_time_is_still_delivered() -> None:
    turns = SlowTurns(Store(), budget=0.2, keep_for=5)  # type: ignore[arg-type]
    turn = Turn(0.3)
    assert await turns.within_budget("CA1", 2, turn.run()) is None
    assert await turns.answer_of("CA1", 2) == "<late/>"
    assert turns.parked == 0 and turn.finished
