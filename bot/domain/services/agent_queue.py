"""The agents' queue: handoff cases from chat and phone, claimed and closed by people.

A case is `open` (waiting for a person), `claimed` by one agent, then
`closed` with a disposition and note, or `returned` to the bot. Claiming is
one conditional UPDATE, so two agents can never both get the same case.
Every step is written to the audit log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.domain.errors import DomainError, NotFound
from bot.domain.models import (
    Agent,
    AuditEntry,
    ChatMessage,
    ChatSession,
    Customer,
    HandoffCase,
    PhoneCall,
    utcnow,
)
from bot.domain.privacy import redact
from bot.domain.services import chat as chats

DISPOSITIONS = ("resolved", "callback", "forwarded", "other")
ACTIVE = ("open", "claimed")
MAX_NOTE = 2000


class CaseTaken(DomainError):
    """Another agent has claimed the case."""

    def __init__(self, first_name: str | None) -> None:
        super().__init__(first_name or "")
        self.first_name = first_name


class CaseEnded(DomainError):
    """The case was closed or given back to the bot."""


class NotYours(DomainError):
    """The case is not claimed by this agent (or no longer open)."""


class FinishedMeanwhile(NotYours):
    """The case was closed or given back to the bot first (another tab, another request)."""


class HeldByAnother(NotYours):
    """Another agent holds the case now (it went back to the queue and was claimed)."""

    def __init__(self, first_name: str | None) -> None:
        super().__init__(first_name or "")
        self.first_name = first_name


def audit(
    session: Session, action: str, *, agent_id: int | None, case_id: str | None, **detail: Any
) -> None:
    session.add(AuditEntry(agent_id=agent_id, action=action, case_id=case_id, detail=detail))


@dataclass(frozen=True)
class CaseSummary:
    case_id: str
    channel: str
    language: str
    reason: str
    status: str
    priority: bool
    created_at: str
    waiting_seconds: int
    claimed_by: str | None
    claimed_by_id: int | None
    caller: str | None
    customer: dict[str, Any] | None
    last_message: str | None
    conversation_id: str

    def as_json(self, agent_id: int, live: bool) -> dict[str, Any]:
        """The case summary of the wire protocol, seen by `agent_id`."""
        data = asdict(self)
        status = {"open": "waiting"}.get(self.status, self.status)
        data.update(status=status, mine=self.claimed_by_id == agent_id, live=live)
        del data["claimed_by_id"]
        del data["conversation_id"]
        return data


def _customer(session: Session, number: str | None) -> dict[str, Any] | None:
    if not number:
        return None
    customer = session.scalar(select(Customer).where(Customer.customer_number == number))
    if customer is None:
        return None
    return {
        "name": f"{customer.first_name} {customer.last_name}",
        "customer_number": customer.customer_number,
        "contracts": [
            {
                "contract_number": contract.contract_number,
                "commodity": contract.commodity,
                "tariff": contract.tariff,
            }
            for contract in customer.contracts
        ],
    }


def _summary(session: Session, case: HandoffCase, now: dt.datetime) -> CaseSummary:
    caller = None
    if case.channel == "voice":
        caller = session.scalar(
            select(PhoneCall.caller).where(PhoneCall.call_sid == case.conversation_id)
        )
    last_message = _last_customer_message(session, case)
    end = case.claimed_at if case.status != "open" and case.claimed_at else now
    return CaseSummary(
        case_id=case.case_id,
        channel=case.channel,
        language=case.language,
        reason=case.reason,
        status=case.status,
        priority=bool(case.priority),
        created_at=chats.iso(case.created_at),
        waiting_seconds=max(0, int((end - case.created_at).total_seconds())),
        claimed_by=case.claimed_by.first_name if case.claimed_by is not None else None,
        claimed_by_id=case.claimed_by_id,
        caller=caller,
        customer=_customer(session, case.customer_number),
        # a preview in the queue: never an identity value
        last_message=redact(last_message)[:200] if last_message else None,
        conversation_id=case.conversation_id,
    )


def _last_customer_message(session: Session, case: HandoffCase) -> str | None:
    """What the customer said last (one query; a summary never reads the whole transcript)."""
    said = session.scalar(
        select(ChatMessage.text)
        .join(ChatSession, ChatSession.id == ChatMessage.chat_session_id)
        .where(
            ChatSession.conversation_id == case.conversation_id, ChatMessage.sender == "customer"
        )
        .order_by(ChatMessage.id.desc())
        .limit(1)
    )
    if said is not None:
        return said
    lines = [line for line in case.transcript or [] if isinstance(line, dict)]
    customer = [line.get("text") for line in lines if line.get("from", "customer") == "customer"]
    return customer[-1] if customer else None


def transcript(session: Session, case: HandoffCase) -> list[dict[str, Any]]:
    """Everything said: the web chat as stored, other channels as handed over.

    What the customer typed to the bot (up to the case) is shown masked, as
    in a handed-over transcript (bot/domain/transcript.py).
    """
    chat = session.scalar(
        select(ChatSession).where(ChatSession.conversation_id == case.conversation_id)
    )
    if chat is not None:
        handed_over = chats.iso(case.created_at)
        frames = [message.as_frame() for message in chats.history(session, chat.id)]
        for frame in frames:
            if frame["from"] == "customer" and frame["at"] <= handed_over:
                frame["text"] = redact(frame["text"])
        return frames
    return [
        {
            "type": "message",
            "id": f"{case.case_id}-{index}",
            "from": line.get("from", "customer"),
            "text": line.get("text", ""),
            "buttons": [],
            "agent_name": None,
            "at": (line.get("time") or chats.iso(case.created_at)).replace("+00:00", "Z"),
        }
        for index, line in enumerate(case.transcript or [])
    ]


def _case(session: Session, case_id: str) -> HandoffCase:
    case = session.scalar(select(HandoffCase).where(HandoffCase.case_id == case_id))
    if case is None:
        raise NotFound(case_id)
    return case


def active_cases(session: Session) -> list[CaseSummary]:
    """Waiting and claimed cases: priority cases first, then oldest first."""
    now = utcnow()
    cases = session.scalars(
        select(HandoffCase)
        .where(HandoffCase.status.in_(ACTIVE))
        .order_by(HandoffCase.priority.desc(), HandoffCase.created_at, HandoffCase.id)
    ).all()
    return [_summary(session, case, now) for case in cases]


def last_case_id(session: Session) -> int:
    """The newest case's row id (0 when there is none): where `opened_after` starts."""
    return session.scalar(select(func.max(HandoffCase.id))) or 0


def opened_after(session: Session, row_id: int) -> tuple[int, list[CaseSummary]]:
    """Cases opened since the case with `row_id` that still wait or are held, and the
    newest row id seen."""
    cases = session.scalars(
        select(HandoffCase).where(HandoffCase.id > row_id).order_by(HandoffCase.id)
    ).all()
    now = utcnow()
    newest = max((case.id for case in cases), default=row_id)
    return newest, [_summary(session, case, now) for case in cases if case.status in ACTIVE]


def case_summary(session: Session, case_id: str) -> CaseSummary:
    """One case as the queue shows it (NotFound if there is no such case)."""
    return _summary(session, _case(session, case_id), utcnow())


def case_detail(session: Session, case_id: str) -> tuple[CaseSummary, list[dict[str, Any]]]:
    case = _case(session, case_id)
    return _summary(session, case, utcnow()), transcript(session, case)


@dataclass(frozen=True)
class Claim:
    """A claimed case; `waited`: from its opening to this claim (None: the agent had it)."""

    summary: CaseSummary
    waited: dt.timedelta | None


def claim(session: Session, case_id: str, agent_id: int) -> CaseSummary:
    """Give the case to this agent, unless another agent was quicker."""
    return take(session, case_id, agent_id).summary


def take(session: Session, case_id: str, agent_id: int) -> Claim:
    """`claim`, saying how long the case waited when this call claimed it."""
    case = _case(session, case_id)
    taken = session.execute(
        update(HandoffCase)
        .where(HandoffCase.id == case.id, HandoffCase.status == "open")
        .values(status="claimed", claimed_by_id=agent_id, claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(case)
    if taken.rowcount != 1:
        if case.status == "claimed" and case.claimed_by_id == agent_id:
            return Claim(_summary(session, case, utcnow()), None)
        if case.status not in ACTIVE:
            raise CaseEnded(case_id)
        holder = case.claimed_by.first_name if case.claimed_by is not None else None
        raise CaseTaken(holder)
    audit(session, "claim", agent_id=agent_id, case_id=case_id)
    _set_chat_state(session, case, "agent")
    return Claim(_summary(session, case, utcnow()), case.claimed_at - case.created_at)


def _own(session: Session, case_id: str, agent_id: int) -> HandoffCase:
    case = _case(session, case_id)
    if case.status != "claimed" or case.claimed_by_id != agent_id:
        raise _not_yours(case)
    return case


def _not_yours(case: HandoffCase) -> NotYours:
    """Why an agent cannot act on `case` (it does not hold it)."""
    if case.status not in ACTIVE:
        return FinishedMeanwhile(case.case_id)
    if case.status == "claimed" and case.claimed_by is not None:
        return HeldByAnother(case.claimed_by.first_name)
    return NotYours(case.case_id)


def check_owner(session: Session, case_id: str, agent_id: int) -> HandoffCase:
    """The case, if this agent has claimed it (raises NotYours otherwise)."""
    return _own(session, case_id, agent_id)


def _finish(session: Session, case_id: str, agent_id: int, **values: Any) -> HandoffCase:
    """End this agent's hold on the case with `values`, in one conditional UPDATE.

    Of two requests that race (two tabs, a stale console, another agent), only
    one changes the case; the other gets why not (a `NotYours`). The UPDATE
    comes first, so the transaction holds the row from its first statement.
    """
    changed = session.execute(
        update(HandoffCase)
        .where(
            HandoffCase.case_id == case_id,
            HandoffCase.status == "claimed",
            HandoffCase.claimed_by_id == agent_id,
        )
        .values(closed_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    case = _case(session, case_id)
    session.refresh(case)
    if changed.rowcount != 1:
        raise _not_yours(case)
    return case


def release(session: Session, case_id: str, agent_id: int) -> CaseSummary:
    """Hand the conversation back to the bot (NotYours if this agent no longer holds it)."""
    case = _finish(session, case_id, agent_id, status="returned")
    audit(session, "release", agent_id=agent_id, case_id=case_id)
    _set_chat_state(session, case, "bot")
    session.flush()
    return _summary(session, case, utcnow())


class InvalidClosing(ValueError):
    """A case cannot be closed with this disposition or note; `field` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_disposition(disposition: object) -> str:
    """`disposition` if a case can be closed with it (InvalidClosing otherwise)."""
    if disposition not in DISPOSITIONS:
        raise InvalidClosing("disposition", f"disposition must be one of {', '.join(DISPOSITIONS)}")
    return str(disposition)


def clean_note(note: object) -> str:
    """The closing note as stored (InvalidClosing if it is empty or too long)."""
    if not isinstance(note, str) or not note.strip() or len(note.strip()) > MAX_NOTE:
        raise InvalidClosing("note", f"a closing note has 1 to {MAX_NOTE} characters")
    return note.strip()


def closing_note(disposition: object, note: object) -> str:
    """The note to store when closing with `disposition` (InvalidClosing if either is wrong)."""
    check_disposition(disposition)
    return clean_note(note)


def close(
    session: Session, case_id: str, agent_id: int, disposition: str, note: str
) -> CaseSummary:
    """The case is done (NotYours if this agent no longer holds it)."""
    note = closing_note(disposition, note)
    case = _finish(session, case_id, agent_id, status="closed", disposition=disposition, note=note)
    audit(session, "close", agent_id=agent_id, case_id=case_id, disposition=disposition)
    _set_chat_state(session, case, "bot")
    session.flush()
    return _summary(session, case, utcnow())


def take_back(session: Session, case_id: str, agent_id: int, action: str) -> bool:
    """Undo this agent's release or close (`action`): the agent holds the case again.

    For when the bot could not take the web chat back after all (it did not
    answer): the customer was told nothing, so the case is as before. True if
    it was undone (the case was still as the step left it).
    """
    status = {"release": "returned", "close": "closed"}[action]
    changed = session.execute(
        update(HandoffCase)
        .where(
            HandoffCase.case_id == case_id,
            HandoffCase.status == status,
            HandoffCase.claimed_by_id == agent_id,
        )
        .values(status="claimed", closed_at=None, disposition=None, note=None)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        return False
    case = _case(session, case_id)
    session.refresh(case)
    audit(session, f"{action}_undone", agent_id=agent_id, case_id=case_id, why="bot unavailable")
    _set_chat_state(session, case, "agent")
    session.flush()
    return True


class Requeued(NamedTuple):
    case_id: str
    conversation_id: str


def requeue_abandoned(session: Session, silent_for: dt.timedelta) -> list[Requeued]:
    """Claimed cases whose agent's console went quiet go back to the queue.

    Every app process runs this; each case's return is one conditional UPDATE,
    so a case is returned (and audited) once, by whichever process is first.
    """
    cutoff = utcnow() - silent_for
    candidates = session.scalars(
        select(HandoffCase)
        .join(Agent, Agent.id == HandoffCase.claimed_by_id)
        .where(
            HandoffCase.status == "claimed",
            (Agent.last_seen_at.is_(None)) | (Agent.last_seen_at < cutoff),
            HandoffCase.claimed_at < cutoff,
        )
    ).all()
    returned = []
    for case in candidates:
        agent_id = case.claimed_by_id
        taken = session.execute(
            update(HandoffCase)
            .where(
                HandoffCase.id == case.id,
                HandoffCase.status == "claimed",
                HandoffCase.claimed_by_id == agent_id,
                HandoffCase.claimed_at == case.claimed_at,
            )
            .values(status="open", claimed_by_id=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        session.refresh(case)
        if taken.rowcount != 1:
            continue  # another process returned it, or the agent acted meanwhile
        audit(
            session,
            "requeue",
            agent_id=agent_id,
            case_id=case.case_id,
            why="console disconnected",
        )
        _set_chat_state(session, case, "waiting")
        returned.append(Requeued(case.case_id, case.conversation_id))
    session.flush()
    return returned


def _set_chat_state(session: Session, case: HandoffCase, state: str) -> None:
    chat = session.scalar(
        select(ChatSession).where(ChatSession.conversation_id == case.conversation_id)
    )
    if chat is not None:
        chats.update(session, chat.id, state=state, case_id=case.case_id)
