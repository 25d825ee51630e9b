"""Reconnection after a supply block (Entsperrung): the case a person acts on, and receipts.

A customer whose supply we cut for non-payment asks for it back. What they
are told depends on their account (`situation`): no block in force (nothing
of ours to lift), or a block in force with the balance still open (proof of
payment is needed) or already settled. For a block in force a priority
service case of kind `reconnection` is opened, once per request id, with
an audit entry; it names the blocked contracts, the open balance, whether a
receipt came and the channel, and the handoff case that put it in the
agents' queue.

In the web chat the customer can add receipts to the conversation's open
case (`attach_receipt`): at most MAX_RECEIPTS files, checked before
(bot/domain/uploads.py), stored with their SHA-256; the same file twice is
stored once. Agents download them from the case in the console, and each
download is audited.

The supply is back RECONNECTION_WORKING_DAYS working days (Monday to
Friday) after the payment is confirmed (`possible_on`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.errors import DomainError, NotFound
from bot.domain.models import AuditEntry, CaseAttachment, Customer, ServiceCase
from bot.domain.services.billing import BlockView, account_standing
from bot.domain.services.service_cases import open_once
from bot.domain.uploads import FileKind

KIND = "reconnection"
#: Receipts one case takes (a transfer confirmation, a second page, a cash receipt).
MAX_RECEIPTS = 3


class NotBlocked(DomainError):
    """No supply block is in force: there is nothing to reconnect."""


class NoOpenCase(DomainError):
    """The conversation has no open reconnection case to add a receipt to."""


class TooManyReceipts(DomainError):
    """The case has all the receipts it takes."""


@dataclass(frozen=True)
class Situation:
    """What a reconnection request finds on the customer's account."""

    #: blocks in force (supply cut)
    blocked: list[BlockView]
    #: blocks announced but not carried out
    announced: list[BlockView]
    #: what the customer still owes across contracts (0.00 when settled)
    open_balance: Decimal

    @property
    def balance_open(self) -> bool:
        return self.open_balance > 0


@dataclass(frozen=True)
class ReconnectionCase:
    id: int
    reference: str
    contracts: list[str]
    open_balance: Decimal
    handoff_case_id: str | None
    #: False when the request id had opened it before (a repeated delivery)
    created: bool


@dataclass(frozen=True)
class StoredReceipt:
    attachment_id: int
    reference: str
    filename: str
    size: int
    sha256: str
    #: receipts the case holds now
    count: int
    #: False when the same file was already stored with the case
    created: bool

    @property
    def more_allowed(self) -> bool:
        return self.count < MAX_RECEIPTS


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    reference: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: str

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "reference": self.reference,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "created_at": self.created_at,
        }


def situation(session: Session, customer_number: str) -> Situation:
    """Blocks in force, blocks announced and the open balance; raises NotFound."""
    standing = account_standing(session, customer_number)
    return Situation(
        blocked=[b for b in standing.blocks if b.status == "blocked"],
        announced=[b for b in standing.blocks if b.status == "announced"],
        open_balance=standing.total,
    )


def possible_on(confirmed_on: dt.date, working_days: int) -> dt.date:
    """The day the supply can be back: `working_days` working days after the confirmation.

    Working days are Monday to Friday; a confirmation on a weekend counts from
    the Monday after.
    """
    day = confirmed_on
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    added = 0
    while added < working_days:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            added += 1
    return day


def _by_request(session: Session, request_id: str) -> ServiceCase | None:
    return session.scalar(select(ServiceCase).where(ServiceCase.request_id == request_id))


def _view(case: ServiceCase, *, created: bool) -> ReconnectionCase:
    data = case.data or {}
    return ReconnectionCase(
        id=case.id,
        reference=case.reference,
        contracts=[c["contract_number"] for c in data.get("contracts", [])],
        open_balance=Decimal(data.get("open_balance", "0.00")),
        handoff_case_id=case.handoff_case_id,
        created=created,
    )


def open_case(
    session: Session,
    *,
    customer_number: str,
    language: str,
    channel: str,
    conversation_id: str,
    request_id: str,
) -> ReconnectionCase:
    """Open the priority reconnection case once per request id, with an audit entry.

    Raises NotBlocked when no block is in force (nothing is stored) and
    NotFound for an unknown customer.
    """
    existing = _by_request(session, request_id)
    if existing is not None:
        return _view(existing, created=False)
    customer = session.scalar(select(Customer).where(Customer.customer_number == customer_number))
    if customer is None:
        raise NotFound(customer_number)
    found = situation(session, customer_number)
    if not found.blocked:
        raise NotBlocked()
    opened = open_once(
        session,
        kind=KIND,
        request_id=request_id,
        data={
            "contracts": [
                {
                    "contract_number": block.contract_number,
                    "commodity": block.commodity,
                    "blocked_on": block.blocked_on.isoformat() if block.blocked_on else None,
                }
                for block in found.blocked
            ],
            "open_balance": str(found.open_balance),
            "receipt_received": False,
            "receipts": 0,
            "channel": channel,
        },
        language=language,
        channel=channel,
        conversation_id=conversation_id,
        audit_action="reconnection_requested",
        customer_id=customer.id,
        priority=True,
    )
    return _view(session.get(ServiceCase, opened.id), created=opened.created)


def link_handoff(session: Session, request_id: str, handoff_case_id: str) -> None:
    """Name the handoff case that put the reconnection case in the agents' queue."""
    case = _by_request(session, request_id)
    if case is None:
        raise NotFound(request_id)
    case.handoff_case_id = handoff_case_id
    session.flush()


def open_case_of(
    session: Session, conversation_id: str, *, lock: bool = False
) -> ServiceCase | None:
    """The conversation's newest open reconnection case, if it has one."""
    query = (
        select(ServiceCase)
        .where(
            ServiceCase.conversation_id == conversation_id,
            ServiceCase.kind == KIND,
            ServiceCase.status == "open",
        )
        .order_by(ServiceCase.id.desc())
        .limit(1)
    )
    if lock:  # PostgreSQL: parallel uploads to one case are counted one after the other
        query = query.with_for_update()
    return session.scalar(query)


def attach_receipt(
    session: Session,
    *,
    conversation_id: str,
    filename: str,
    kind: FileKind,
    content: bytes,
) -> StoredReceipt:
    """Store a checked receipt with the conversation's open reconnection case.

    Raises NoOpenCase or TooManyReceipts (nothing is stored then). The same
    file (by SHA-256) sent again is not stored twice.
    """
    case = open_case_of(session, conversation_id, lock=True)
    if case is None:
        raise NoOpenCase()
    digest = hashlib.sha256(content).hexdigest()
    count = session.scalar(
        select(func.count()).select_from(CaseAttachment).where(CaseAttachment.case_id == case.id)
    )
    same = session.scalar(
        select(CaseAttachment).where(
            CaseAttachment.case_id == case.id, CaseAttachment.sha256 == digest
        )
    )
    if same is not None:
        return StoredReceipt(
            same.id, case.reference, same.filename, same.size, digest, count, created=False
        )
    if count >= MAX_RECEIPTS:
        raise TooManyReceipts()
    attachment = CaseAttachment(
        case_id=case.id,
        filename=filename,
        content_type=kind.content_type,
        size=len(content),
        sha256=digest,
        content=content,
    )
    session.add(attachment)
    # JSON columns are not tracked in place: the case gets a new dict
    case.data = {**(case.data or {}), "receipt_received": True, "receipts": count + 1}
    session.flush()
    session.add(
        AuditEntry(
            agent_id=None,
            action="receipt_uploaded",
            case_id=case.handoff_case_id,
            detail={
                "service_case": case.id,
                "attachment": attachment.id,
                "content_type": kind.content_type,
                "size": len(content),
                "channel": "web",
            },
        )
    )
    session.flush()
    return StoredReceipt(
        attachment.id, case.reference, filename, len(content), digest, count + 1, created=True
    )


def _attachments_query(handoff_case_id: str):  # type: ignore[no-untyped-def]
    return (
        select(CaseAttachment, ServiceCase.reference)
        .join(ServiceCase, ServiceCase.id == CaseAttachment.case_id)
        .where(ServiceCase.handoff_case_id == handoff_case_id)
        .order_by(CaseAttachment.id)
    )


def _info(attachment: CaseAttachment, reference: str) -> AttachmentInfo:
    return AttachmentInfo(
        id=attachment.id,
        reference=reference,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        sha256=attachment.sha256,
        created_at=attachment.created_at.isoformat(timespec="seconds") + "Z",
    )


def attachments_of(session: Session, handoff_case_id: str) -> list[AttachmentInfo]:
    """The files customers sent with the service cases of a handoff case (no content)."""
    rows = session.execute(_attachments_query(handoff_case_id)).all()
    return [_info(attachment, reference) for attachment, reference in rows]


def download(
    session: Session, handoff_case_id: str, attachment_id: int, agent_id: int
) -> tuple[AttachmentInfo, bytes]:
    """An attachment of the handoff case's service cases, for an agent; audited.

    Raises NotFound for an attachment that is not this case's.
    """
    row = session.execute(
        _attachments_query(handoff_case_id).where(CaseAttachment.id == attachment_id)
    ).first()
    if row is None:
        raise NotFound(str(attachment_id))
    attachment, reference = row
    session.add(
        AuditEntry(
            agent_id=agent_id,
            action="attachment_downloaded",
            case_id=handoff_case_id,
            detail={"attachment": attachment.id, "service_case": attachment.case_id},
        )
    )
    session.flush()
    return _info(attachment, reference), attachment.content
