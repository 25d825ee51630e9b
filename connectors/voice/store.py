"""Per-call state of the phone channel, kept in the database.

Several Rasa instances may answer the webhooks of one call (behind a load
balancer), and Twilio may re-send a request; so the call's state (language,
silences, the last menu, the question's input hint) and every answer live in the
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

from bot.domain.models import PhoneCall, PhoneTurn, utcnow
from bot.domain.services import handoff
from bot.infra.db import run_in_transaction
from bot.protocol import Expects
from connectors.voice.call_flow import CallState

POLL_SECONDS = 0.1
CALL_FIELDS = frozenset({"language", "silences", "choices", "expects"})


class CallEnded(Exception):
    """Twilio reported the call over: a request for it now is a replay."""


@dataclass(frozen=True)
class Answer:
    """The TwiML answer to one request, and what it changed in the call's state."""

    twiml: str
    state: CallState | None = None
    changed: frozenset[str] = frozenset()


def _call(session: Session, call_sid: str) -> PhoneCall | None:
    return session.scalars(select(PhoneCall).where(PhoneCall.call_sid == call_sid)).first()


def _state(call: PhoneCall) -> CallState:
    return CallState(
        call_sid=call.call_sid,
        language=call.language,
        silences=call.silences or 0,
        choices=tuple((str(title), str(payload)) for title, payload in call.choices or []),
        expects=Expects.parse(call.expects),
    )


def _column(name: str, state: CallState) -> Any:
    """A call field of `state` as it is stored."""
    value = getattr(state, name)
    if name == "choices":
        return [list(choice) for choice in value]
    if name == "expects":
        return value.as_dict() if value is not None else None
    return value


class PhoneStore:
    """Database access of the voice channel, run in worker threads."""

    async def begin_turn(self, call_sid: str, key: str, caller: str | None) -> CallState | None:
        """Claim one request of a call and read the call's state.

        None when the request was claimed before (Twilio re-sent it). The
        first request of a call creates the call; a request for a call that
        has ended raises `CallEnded` (a signed request replayed later).
        """

        def work(session: Session) -> CallState:
            call = _call(session, call_sid)
            if call is not None and call.ended_at is not None:
                raise CallEnded(call_sid)
            if call is None:
                call = PhoneCall(call_sid=call_sid, caller=(caller or "")[:32] or None, choices=[])
                session.add(call)
            session.add(PhoneTurn(call_sid=call_sid, turn=key))
            session.flush()
            return _state(call)

        async def claim() -> CallState | None:
            try:
                return await run_in_transaction(work)
            except IntegrityError:
                return None

        state = await claim()
        if state is None and not await self._claimed(call_sid, key):
            # Lost a race creating the call, not a re-sent request: try again.
            state = await claim()
        return state

    async def open_case(
        self, call_sid: str, language: str, transcript: list[dict[str, Any]]
    ) -> str:
        """A case for a call the bot cannot serve (technical problem); its id."""

        def work(session: Session) -> str:
            return handoff.open_case(
                session,
                conversation_id=call_sid,
                reason=handoff.TECHNICAL_PROBLEM,
                language=language,
                channel="voice",
                customer_number=None,
                transcript=transcript,
            ).case_id

        return await run_in_transaction(work)

    async def _claimed(self, call_sid: str, key: str) -> bool:
        def work(session: Session) -> bool:
            return (
                session.scalars(
                    select(PhoneTurn.id).where(
                        PhoneTurn.call_sid == call_sid, PhoneTurn.turn == key
                    )
                ).first()
                is not None
            )

        return await run_in_transaction(work)

    async def save_answer(self, call_sid: str, key: str, answer: Answer) -> None:
        """Store the answer of a request and what changed in the call's state, together."""
        state, changed = answer.state, answer.changed
        unknown = changed - CALL_FIELDS
        if unknown:
            raise ValueError(f"not call fields: {sorted(unknown)}")

        def work(session: Session) -> None:
            turn = session.scalars(
                select(PhoneTurn).where(PhoneTurn.call_sid == call_sid, PhoneTurn.turn == key)
            ).first()
            if turn is None:
                session.add(PhoneTurn(call_sid=call_sid, turn=key, twiml=answer.twiml))
            else:
                turn.twiml = answer.twiml
            if state is not None and changed:
                row = _call(session, call_sid)
                for name in changed:
                    setattr(row, name, _column(name, state))

        await run_in_transaction(work)

    async def answer_of(self, call_sid: str, key: str, wait_seconds: float) -> str | None:
        """The stored answer of a step, waiting up to `wait_seconds` for it."""

        def read(session: Session) -> str | None:
            return session.scalars(
                select(PhoneTurn.twiml).where(PhoneTurn.call_sid == call_sid, PhoneTurn.turn == key)
            ).first()

        deadline = time.monotonic() + wait_seconds
        while True:
            answer = await run_in_transaction(read)
            if answer or time.monotonic() >= deadline:
                return answer
            await asyncio.sleep(POLL_SECONDS)

    async def end_call(self, call_sid: str, status: str, duration: int | None) -> None:
        """Record how the call ended; its stored answers are no longer needed."""

        def work(session: Session) -> None:
            call = _call(session, call_sid)
            if call is None:
                call = PhoneCall(call_sid=call_sid, choices=[])
                session.add(call)
            call.status = status
            call.duration_seconds = duration
            call.ended_at = utcnow()
            session.execute(delete(PhoneTurn).where(PhoneTurn.call_sid == call_sid))

        await run_in_transaction(work)
