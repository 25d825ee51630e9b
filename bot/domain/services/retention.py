"""Retention: what the assistant keeps and for how long (`python -m bot purge`, daily).

- Conversations (Rasa's tracker events, web chats with their messages, phone
  calls with their stored answers) go when their last activity is older than
  the conversation period; a conversation whose case is still open stays.
- Phone answers (stored for Twilio's re-sent requests) go sooner.
- Once a conversation has been idle for a day, what the customer typed to
  prove who they are (birth dates, IBANs, customer numbers; the identity
  check's slot values) is blanked in it: the rest is kept for its period.
- Closed cases keep their figures (reason, channel, times, disposition) but
  lose transcript, note and customer number after the case period.
- Advance-payment changes and payment arrangements are booking records
  (AO §147, HGB §257): kept until the legal period, counted from the end of
  the year they were made, has passed; their conversation id is replaced by a
  pseudonym once the conversation is gone, so they carry no free text. So is
  the conversation id of meter readings, SEPA mandates and service cases
  (they stay as long as the account needs them). The agents' audit log
  (which holds no customer's words) goes after its own period.
- Expired console sessions and identity-check counters nobody needs go.

`purge` changes everything in the caller's transactions; a dry run rolls
them back, so its counts are exactly what a real run would do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot.domain.models import (
    AdvancePaymentChange,
    AgentSession,
    AuditEntry,
    ChatMessage,
    ChatSession,
    HandoffCase,
    HandoffSource,
    IdentityGuard,
    MeterReading,
    PaymentArrangement,
    PhoneCall,
    PhoneTurn,
    SepaMandate,
    ServiceCase,
    utcnow,
)
from bot.domain.privacy import PSEUDONYM_CHARS, is_pseudonym, pseudonym, redact
from bot.domain.services import handoff, identity, tracker_events
from bot.domain.services.agent_queue import ACTIVE

# How far back the daily run looks for conversations to blank (a run missed
# for up to this long is caught up by the next one).
BLANKING_LOOKBACK = dt.timedelta(days=7)
ENDED_CASES = ("closed", "returned")
TRACKER = "events (Rasa tracker store)"


@dataclass(frozen=True)
class Periods:
    """How long each kind of record is kept (from the settings)."""

    conversations: dt.timedelta
    phone_turns: dt.timedelta
    closed_cases: dt.timedelta
    audit: dt.timedelta
    account_change_years: int
    identity_values: dt.timedelta


@dataclass
class Report:
    """What a purge or an erasure did (or would do): per table, what and how many."""

    rows: list[tuple[str, str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, table: str, what: str, count: int) -> None:
        """Count `count` more rows of `table` for `what` (one line per table and what)."""
        for index, (t, w, n) in enumerate(self.rows):
            if (t, w) == (table, what):
                self.rows[index] = (t, w, n + count)
                return
        self.rows.append((table, what, count))

    def count(self, table: str, what: str) -> int:
        return next((n for t, w, n in self.rows if (t, w) == (table, what)), 0)

    def text(self) -> str:
        width = max((len(table) for table, _, _ in self.rows), default=0)
        lines = [f"{table:<{width}}  {count:>7}  {what}" for table, what, count in self.rows]
        return "\n".join([*lines, *self.notes])


def _maybe_not_pseudonym(column: Any) -> Any:
    """SQL that narrows to values that may not be pseudonyms yet (`is_pseudonym` decides)."""
    return or_(~column.startswith("p-"), func.length(column) != PSEUDONYM_CHARS)


def purge(
    session: Session,
    tracker: Connection,
    periods: Periods,
    pseudonym_key: bytes,
    now: dt.datetime | None = None,
) -> Report:
    """Delete or blank what is older than its period (`now`: naive UTC).

    Identifiers in records that stay are replaced by pseudonyms under `pseudonym_key`.
    """
    now = now or utcnow()
    report = Report()
    open_cases = set(
        session.scalars(select(HandoffCase.conversation_id).where(HandoffCase.status.in_(ACTIVE)))
    )
    _conversations(session, tracker, now - periods.conversations, open_cases, report)
    _identity_values(session, tracker, now - periods.identity_values, report)
    turns = delete(PhoneTurn).where(PhoneTurn.created_at < now - periods.phone_turns)
    report.add("phone_turns", "deleted", rows_affected(session, turns))
    _closed_cases(session, now - periods.closed_cases, pseudonym_key, report)
    _account_changes(session, now, periods, pseudonym_key, report)
    _self_service_records(session, now, periods, pseudonym_key, report)
    audit = delete(AuditEntry).where(AuditEntry.created_at < now - periods.audit)
    report.add("audit_log", "deleted", rows_affected(session, audit))
    expired = delete(AgentSession).where(AgentSession.expires_at < now)
    report.add("agent_sessions", "expired, deleted", rows_affected(session, expired))
    forgotten = delete(IdentityGuard).where(
        IdentityGuard.last_failure_at < now - identity.FORGET_AFTER,
        or_(IdentityGuard.locked_until.is_(None), IdentityGuard.locked_until < now),
    )
    report.add("identity_guards", "forgotten, deleted", rows_affected(session, forgotten))
    _case_sources(session, now - handoff.SOURCE_WINDOW, report)
    session.flush()
    return report


def rows_affected(session: Session, statement: Any) -> int:
    """Run a bulk DELETE or UPDATE; how many rows it touched."""
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount


def delete_conversations(
    session: Session, tracker: Connection, conversation_ids: Collection[str], report: Report
) -> None:
    """Every record of these conversations: tracker events, web chats, phone calls."""
    ids = sorted(conversation_ids)
    report.add(TRACKER, "deleted", tracker_events.delete_conversations(tracker, ids))
    chats = select(ChatSession.id).where(ChatSession.conversation_id.in_(ids))
    messages = delete(ChatMessage).where(ChatMessage.chat_session_id.in_(chats))
    report.add("chat_messages", "deleted", rows_affected(session, messages))
    sessions = delete(ChatSession).where(ChatSession.conversation_id.in_(ids))
    report.add("chat_sessions", "deleted", rows_affected(session, sessions))
    turns = delete(PhoneTurn).where(PhoneTurn.call_sid.in_(ids))
    report.add("phone_turns", "deleted", rows_affected(session, turns))
    calls = delete(PhoneCall).where(PhoneCall.call_sid.in_(ids))
    report.add("phone_calls", "deleted", rows_affected(session, calls))


def _conversations(
    session: Session, tracker: Connection, before: dt.datetime, keep: set[str], report: Report
) -> None:
    """Conversations idle since before `before` on every side (tracker, chat, call)."""
    last_call_activity = func.coalesce(PhoneCall.ended_at, PhoneCall.started_at)
    old = {
        *tracker_events.last_active(tracker, before=before),
        *session.scalars(
            select(ChatSession.conversation_id).where(ChatSession.last_active_at < before)
        ),
        *session.scalars(select(PhoneCall.call_sid).where(last_call_activity < before)),
    }
    # A chat an agent answered lately has no recent tracker events, but is not old.
    recent = {
        *tracker_events.last_active(tracker, since=before),
        *session.scalars(
            select(ChatSession.conversation_id).where(ChatSession.last_active_at >= before)
        ),
    }
    old -= keep | recent
    report.add("conversations", "deleted", len(old))
    delete_conversations(session, tracker, old, report)


def blank_identity(event: dict[str, Any]) -> dict[str, Any] | None:
    """A stored event with the customer's identity values blanked (None: nothing to blank)."""
    new = dict(event)
    if event.get("event") == "slot":
        if event.get("name") in identity.VALUES and event.get("value") is not None:
            new["value"] = None
    elif event.get("event") == "user":
        if isinstance(event.get("text"), str):
            new["text"] = redact(event["text"])
        parse_data = dict(event.get("parse_data") or {})
        if isinstance(parse_data.get("text"), str):
            parse_data["text"] = redact(parse_data["text"])
        if parse_data.get("entities"):
            parse_data["entities"] = [
                {**entity, "value": redact(entity["value"])}
                if isinstance(entity, dict) and isinstance(entity.get("value"), str)
                else entity
                for entity in parse_data["entities"]
            ]
        if event.get("parse_data") is not None:
            new["parse_data"] = parse_data
    return new if new != event else None


def _identity_values(
    session: Session, tracker: Connection, before: dt.datetime, report: Report
) -> None:
    since = before - BLANKING_LOOKBACK
    ended = tracker_events.last_active(tracker, since=since, before=before)
    blanked = tracker_events.rewrite_events(tracker, ended, ("user", "slot"), blank_identity)
    report.add(TRACKER, "identity values blanked", blanked)
    messages = session.scalars(
        select(ChatMessage)
        .join(ChatSession, ChatSession.id == ChatMessage.chat_session_id)
        .where(
            ChatMessage.sender == "customer",
            ChatSession.last_active_at >= since,
            ChatSession.last_active_at < before,
        )
    )
    masked = 0
    for message in messages:
        text = redact(message.text)
        if text != message.text:
            message.text = text
            masked += 1
    report.add("chat_messages", "identity values masked", masked)


def _closed_cases(session: Session, before: dt.datetime, key: bytes, report: Report) -> None:
    cases = session.scalars(
        select(HandoffCase).where(
            HandoffCase.status.in_(ENDED_CASES),
            HandoffCase.closed_at < before,
            or_(
                HandoffCase.customer_number.is_not(None),
                HandoffCase.note.is_not(None),
                _maybe_not_pseudonym(HandoffCase.conversation_id),
            ),
        )
    )
    cleared = 0
    for case in cases:
        if is_pseudonym(case.conversation_id) and not (
            case.transcript or case.note or case.customer_number
        ):
            continue
        case.transcript = []
        case.note = None
        case.customer_number = None
        if not is_pseudonym(case.conversation_id):
            case.conversation_id = pseudonym(case.conversation_id, key)
        cleared += 1
    report.add("handoff_cases", "transcript, note, customer removed", cleared)


def _case_sources(session: Session, before: dt.datetime, report: Report) -> None:
    """Forget where cases came from once the per-source limit no longer counts them."""
    done = delete(HandoffSource).where(
        HandoffSource.last_case_at < before,
        ~select(HandoffCase.id)
        .where(HandoffCase.source_key == HandoffSource.key, HandoffCase.status.in_(ACTIVE))
        .exists(),
    )
    report.add("handoff_sources", "forgotten, deleted", rows_affected(session, done))
    unlinked = (
        update(HandoffCase)
        .where(
            HandoffCase.source_key.is_not(None),
            HandoffCase.created_at < before,
            HandoffCase.status.not_in(ACTIVE),
        )
        .values(source_key=None)
    )
    report.add("handoff_cases", "source digest removed", rows_affected(session, unlinked))


def account_changes_expire_before(now: dt.datetime, years: int) -> dt.datetime:
    """Changes made before this moment are past their legal period.

    The period runs from the end of the calendar year a change was made in
    (AO §147 (4), HGB §257 (5)): made in 2015 and kept ten years, it may go
    from 1 January 2026.
    """
    return dt.datetime(now.year - years, 1, 1)


def _account_changes(
    session: Session, now: dt.datetime, periods: Periods, key: bytes, report: Report
) -> None:
    expired = delete(AdvancePaymentChange).where(
        AdvancePaymentChange.created_at
        < account_changes_expire_before(now, periods.account_change_years)
    )
    report.add(
        "advance_payment_changes", "past the legal period, deleted", rows_affected(session, expired)
    )
    changes = session.scalars(
        select(AdvancePaymentChange).where(
            AdvancePaymentChange.created_at < now - periods.conversations,
            _maybe_not_pseudonym(AdvancePaymentChange.conversation_id),
        )
    )
    count = 0
    for change in changes:
        if not is_pseudonym(change.conversation_id):
            change.conversation_id = pseudonym(change.conversation_id, key)
            count += 1
    report.add("advance_payment_changes", "conversation id pseudonymised", count)


#: Records the assistant made that name the conversation they came from.
SELF_SERVICE_RECORDS = (
    (MeterReading, "meter_readings"),
    (SepaMandate, "sepa_mandates"),
    (PaymentArrangement, "payment_arrangements"),
    (ServiceCase, "service_cases"),
)


def _self_service_records(
    session: Session, now: dt.datetime, periods: Periods, key: bytes, report: Report
) -> None:
    """Arrangements past their legal period go; every record's conversation id
    becomes a pseudonym once its conversation is gone."""
    expired = session.scalars(
        select(PaymentArrangement).where(
            PaymentArrangement.created_at
            < account_changes_expire_before(now, periods.account_change_years)
        )
    ).all()
    for arrangement in expired:
        session.delete(arrangement)  # with its instalments
    report.add("payment_arrangements", "past the legal period, deleted", len(expired))
    session.flush()
    for model, table in SELF_SERVICE_RECORDS:
        records = session.scalars(
            select(model).where(
                model.created_at < now - periods.conversations,
                model.conversation_id.is_not(None),
                _maybe_not_pseudonym(model.conversation_id),
            )
        )
        count = 0
        for record in records:
            if not is_pseudonym(record.conversation_id):
                record.conversation_id = pseudonym(record.conversation_id, key)
                count += 1
        report.add(table, "conversation id pseudonymised", count)
