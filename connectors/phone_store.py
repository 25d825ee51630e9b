"""Per-call state of the phone channel, kept in the database.

Several Rasa instances may answer the webhooks of one call (behind a load
balancer), and Twilio may re-send a request; so the call's state (language,
silences, the last menu) and every answer live in the database, not in the
process.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.db import session_scope
from bot.models import PhoneCall, PhoneTurn, utcnow

POLL_SECONDS = 0.1


@dataclass(frozen=True)
class CallState:
    call_sid: str
    language: str | None
    silences: int
    choices: list


def _state(call: PhoneCall) -> CallState:
    return CallState(call.call_sid, call.language, call.silences, list(call.choices or []))


class PhoneStore:
    """Database access of the voice channel, run in worker threads."""

    async def call(self, call_sid: str, caller: str | None = None) -> CallState:
        """The call's state; the first request of a call creates it."""

        def work() -> CallState:
            with session_scope() as session:
                call = session.scalars(
                    select(PhoneCall).where(PhoneCall.call_sid == call_sid)
                ).first()
                if call is None:
                    call = PhoneCall(
                        call_sid=call_sid, caller=(caller or "")[:32] or None, choices=[]
                    )
                    session.add(call)
                    session.flush()
                return _state(call)

        try:
            return await asyncio.to_thread(work)
        except IntegrityError:  # created by a concurrent request of the same call
            return await asyncio.to_thread(work)

    async def update(self, call_sid: str, **values: Any) -> None:
        def work() -> None:
            with session_scope() as session:
                call = session.scalars(
                    select(PhoneCall).where(PhoneCall.call_sid == call_sid)
                ).one()
                for name, value in values.items():
                    setattr(call, name, [list(v) for v in value] if name == "choices" else value)

        await asyncio.to_thread(work)

    async def end_call(self, call_sid: str, status: str, duration: int | None) -> None:
        def work() -> None:
            with session_scope() as session:
                call = session.scalars(
                    select(PhoneCall).where(PhoneCall.call_sid == call_sid)
                ).first()
                if call is None:
                    call = PhoneCall(call_sid=call_sid, choices=[])
                    session.add(call)
                call.status = status
                call.duration_seconds = duration
                call.ended_at = utcnow()

        await asyncio.to_thread(work)

    async def claim_turn(self, call_sid: str, key: str) -> bool:
        """True for the first request of this call step; False for a re-sent one."""

        def work() -> bool:
            try:
                with session_scope() as session:
                    session.add(PhoneTurn(call_sid=call_sid, turn=key))
                return True
            except IntegrityError:
                return False

        return await asyncio.to_thread(work)

    async def save_answer(self, call_sid: str, key: str, answer: str) -> None:
        def work() -> None:
            with session_scope() as session:
                turn = session.scalars(
                    select(PhoneTurn).where(PhoneTurn.call_sid == call_sid, PhoneTurn.turn == key)
                ).first()
                if turn is None:
                    session.add(PhoneTurn(call_sid=call_sid, turn=key, twiml=answer))
                else:
                    turn.twiml = answer

        await asyncio.to_thread(work)

    async def answer_of(self, call_sid: str, key: str, wait_seconds: float) -> str | None:
        """The stored answer of a step, waiting up to `wait_seconds` for it."""

        def read() -> str | None:
            with session_scope() as session:
                return session.scalars(
                    select(PhoneTurn.twiml).where(
                        PhoneTurn.call_sid == call_sid, PhoneTurn.turn == key
                    )
                ).first()

        deadline = time.monotonic() + wait_seconds
        while True:
            answer = await asyncio.to_thread(read)
            if answer or time.monotonic() >= deadline:
                return answer
            await asyncio.sleep(POLL_SECONDS)
