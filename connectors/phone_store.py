"""Per-call state of the phone channel, kept in the database.

Several Rasa instances may answer the webhooks of one call (behind a load
balancer), and Twilio may re-send a request; so the call's state (language,
silences, the last menu, the question asked) and every answer live in the
database, not in the process. A turn costs two short transactions: one that
claims the request and reads the call, one that stores the answer and the
call's new state.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import session_scope
from bot.models import PhoneCall, PhoneTurn, utcnow
from bot.services import handoff

POLL_SECONDS = 0.1
CALL_FIELDS = frozenset({"language", "silences", "choices", "requested_slot"})


@dataclass(frozen=True)
class CallState:
    call_sid: str
    language: str | None
    silences: int
    choices: list
    requested_slot: str | None


def _call(session: Session, call_sid: str) -> PhoneCall | None:
    return session.scalars(select(PhoneCall).where(PhoneCall.call_sid == call_sid)).first()


class PhoneStore:
    """Database access of the voice channel, run in worker threads."""

    async def begin_turn(self, call_sid: str, key: str, caller: str | None) -> CallState | None:
        """Claim one request of a call and read the call's state.

        None when the request was claimed before (Twilio re-sent it). The
        first request of a call creates the call.
        """

        def work() -> CallState | None:
            try:
                with session_scope() as session:
                    call = _call(session, call_sid)
                    if call is None:
                        call = PhoneCall(
                            call_sid=call_sid, caller=(caller or "")[:32] or None, choices=[]
                        )
                        session.add(call)
                    session.add(PhoneTurn(call_sid=call_sid, turn=key))
                    session.flush()
                    return CallState(
                        call.call_sid,
                        call.language,
                        call.silences or 0,
                        list(call.choices or []),
                        call.requested_slot,
                    )
            except IntegrityError:
                return None

        state = await asyncio.to_thread(work)
        if state is None and not await self._claimed(call_sid, key):
            # Lost a race creating the call, not a re-sent request: try again.
            state = await asyncio.to_thread(work)
        return state

    async def open_case(
        self, call_sid: str, language: str, transcript: list[dict[str, Any]]
    ) -> str:
        """A case for a call the bot cannot serve (technical problem); its id."""

        def work() -> str:
            with session_scope() as session:
                return handoff.open_case(
                    session,
                    conversation_id=call_sid,
                    reason=handoff.TECHNICAL_PROBLEM,
                    language=language,
                    channel="voice",
                    customer_number=None,
                    transcript=transcript,
                ).case_id

        return await asyncio.to_thread(work)

    async def _claimed(self, call_sid: str, key: str) -> bool:
        def work() -> bool:
            with session_scope() as session:
                return (
                    session.scalars(
                        select(PhoneTurn.id).where(
                            PhoneTurn.call_sid == call_sid, PhoneTurn.turn == key
                        )
                    ).first()
                    is not None
                )

        return await asyncio.to_thread(work)

    async def save_answer(self, call_sid: str, key: str, answer: str, **call: Any) -> None:
        """Store the answer of a request and the call's new state, together."""
        unknown = set(call) - CALL_FIELDS
        if unknown:
            raise ValueError(f"not call fields: {sorted(unknown)}")

        def work() -> None:
            with session_scope() as session:
                turn = session.scalars(
                    select(PhoneTurn).where(PhoneTurn.call_sid == call_sid, PhoneTurn.turn == key)
                ).first()
                if turn is None:
                    session.add(PhoneTurn(call_sid=call_sid, turn=key, twiml=answer))
                else:
                    turn.twiml = answer
                if call:
                    row = _call(session, call_sid)
                    for name, value in call.items():
                        setattr(row, name, [list(v) for v in value] if name == "choices" else value)

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

    async def end_call(self, call_sid: str, status: str, duration: int | None) -> None:
        """Record how the call ended; its stored answers are no longer needed."""

        def work() -> None:
            with session_scope() as session:
                call = _call(session, call_sid)
                if call is None:
                    call = PhoneCall(call_sid=call_sid, choices=[])
                    session.add(call)
                call.status = status
                call.duration_seconds = duration
                call.ended_at = utcnow()
                session.execute(delete(PhoneTurn).where(PhoneTurn.call_sid == call_sid))

        await asyncio.to_thread(work)
