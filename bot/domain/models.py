"""Tables of the assistant's database.

Customers, contracts and bills come from the utility's billing system (see the
import format in the data contract), and so may meter readings, SEPA
mandates and supply blocks; advance-payment changes, meter readings,
mandates, payment arrangements, service cases and handoff cases are what the
assistant itself records.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.sql.schema import Column

from bot.domain.columns import Money, ScaledDecimal

Base = declarative_base()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    customer_number = Column(String(8), nullable=False, unique=True)
    first_name = Column(String(100), nullable=False)
    last_name = Column(String(100), nullable=False)
    postcode = Column(String(5), nullable=False)
    birth_date = Column(Date, nullable=False)
    preferred_language = Column(String(2), nullable=False)
    phone = Column(String(32), nullable=True, index=True)
    email = Column(String(254), nullable=True)
    # how the customer pays: `direct_debit` (an active SEPA mandate) or `transfer`
    payment_method = Column(
        String(20), nullable=False, default="transfer", server_default="transfer"
    )

    contracts = relationship(
        "Contract",
        back_populates="customer",
        cascade="all, delete-orphan",
        order_by="Contract.contract_number",
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Contract(Base):
    __tablename__ = "contracts"

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False, index=True)
    contract_number = Column(String(8), nullable=False, unique=True)
    commodity = Column(String(20), nullable=False)
    tariff = Column(String(100), nullable=True)
    meter_number = Column(String(40), nullable=True)
    advance_amount: Decimal = Column(Money, nullable=False)
    advance_due_day = Column(Integer, nullable=False)
    recommended_advance: Decimal = Column(Money, nullable=False)

    customer = relationship("Customer", back_populates="contracts")
    bills = relationship(
        "Bill",
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="Bill.issued_on",
    )
    advance_payment_changes = relationship(
        "AdvancePaymentChange",
        back_populates="contract",
        order_by="AdvancePaymentChange.created_at",
    )
    meter_readings = relationship(
        "MeterReading",
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="(MeterReading.read_on, MeterReading.id)",
    )
    supply_blocks = relationship(
        "SupplyBlock",
        back_populates="contract",
        cascade="all, delete-orphan",
        order_by="SupplyBlock.id",
    )


class Bill(Base):
    __tablename__ = "bills"

    id = Column(Integer, primary_key=True)
    contract_id = Column(ForeignKey("contracts.id"), nullable=False, index=True)
    bill_number = Column(String(40), nullable=False, unique=True)
    kind = Column(String(10), nullable=False)
    issued_on = Column(Date, nullable=False)
    period_start = Column(Date, nullable=False)
    period_end = Column(Date, nullable=False)
    consumption: Decimal = Column(ScaledDecimal(3), nullable=False)
    unit = Column(String(10), nullable=False)
    total_amount: Decimal = Column(Money, nullable=False)
    advance_payments_made: Decimal = Column(Money, nullable=False)
    balance: Decimal = Column(Money, nullable=False)
    due_on = Column(Date, nullable=False)
    status = Column(String(10), nullable=False)

    contract = relationship("Contract", back_populates="bills")


class AdvancePaymentChange(Base):
    """Audit record of one advance-payment change made by the assistant."""

    __tablename__ = "advance_payment_changes"
    __table_args__ = (UniqueConstraint("request_id", name="uq_apc_request_id"),)

    id = Column(Integer, primary_key=True)
    contract_id = Column(ForeignKey("contracts.id"), nullable=False, index=True)
    request_id = Column(String(64), nullable=False)
    old_amount: Decimal = Column(Money, nullable=False)
    new_amount: Decimal = Column(Money, nullable=False)
    effective_on = Column(Date, nullable=False)
    channel = Column(String(20), nullable=False)
    conversation_id = Column(String(128), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    contract = relationship("Contract", back_populates="advance_payment_changes")


class HandoffCase(Base):
    """A conversation handed to a human agent, with everything said so far."""

    __tablename__ = "handoff_cases"

    id = Column(Integer, primary_key=True)
    case_id = Column(String(16), nullable=False, unique=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    reason = Column(String(40), nullable=False)
    language = Column(String(2), nullable=False)
    channel = Column(String(20), nullable=False)
    customer_number = Column(String(8), nullable=True, index=True)
    transcript = Column(JSON, nullable=False, default=list)
    # open (waiting for a person) → claimed → closed, or returned to the bot
    status = Column(String(10), nullable=False, default="open", index=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    claimed_by_id = Column(ForeignKey("agents.id"), nullable=True, index=True)
    claimed_at = Column(DateTime, nullable=True)
    closed_at = Column(DateTime, nullable=True)
    disposition = Column(String(20), nullable=True)
    note = Column(Text, nullable=True)
    # where the case came from (bot/domain/services/handoff.py): a digest, never the address
    source_key = Column(String(80), nullable=True, index=True)
    # urgent cases (a supply block, a reconnection) are taken before the others
    priority = Column(Boolean, nullable=False, default=False, server_default=false())

    claimed_by = relationship("Agent")


class HandoffSource(Base):
    """A source that opened handoff cases (a client address, a caller's number).

    The key is a keyed digest (`PSEUDONYM_KEY`), never the address or number
    itself. Opening a case updates the source's row first, so parallel
    openings of one source are counted one after the other
    (bot/domain/services/handoff.py).
    """

    __tablename__ = "handoff_sources"

    id = Column(Integer, primary_key=True)
    key = Column(String(80), nullable=False, unique=True)
    last_case_at = Column(DateTime, nullable=False, default=utcnow)


class Agent(Base):
    """A person in the customer-service team who takes over conversations."""

    __tablename__ = "agents"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    first_name = Column(String(100), nullable=False)
    last_name = Column(String(100), nullable=False)
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    # the console's last sign of life; claimed cases return to the queue without it
    last_seen_at = Column(DateTime, nullable=True)


class AgentSession(Base):
    """A logged-in console (the cookie holds the token, the table its hash)."""

    __tablename__ = "agent_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    agent_id = Column(ForeignKey("agents.id"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)

    agent = relationship("Agent")


class ChatSession(Base):
    """One customer's web chat, resumable from any tab by its secret token."""

    __tablename__ = "chat_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    conversation_id = Column(String(64), nullable=False, unique=True)
    language = Column(String(2), nullable=False)
    # bot, waiting (for a person) or agent
    state = Column(String(10), nullable=False, default="bot")
    case_id = Column(String(16), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    last_active_at = Column(DateTime, nullable=False, default=utcnow)

    messages = relationship("ChatMessage", order_by="ChatMessage.id", viewonly=True)


class ChatMessage(Base):
    """One message of a web chat, from the customer, the bot, an agent or the system."""

    __tablename__ = "chat_messages"

    id = Column(Integer, primary_key=True)
    chat_session_id = Column(ForeignKey("chat_sessions.id"), nullable=False, index=True)
    sender = Column(String(10), nullable=False)
    text = Column(Text, nullable=False)
    buttons = Column(JSON, nullable=False, default=list)
    # a bot question's input hint (bot/protocol.py): the widget offers that keyboard
    expects = Column(JSON, nullable=True)
    agent_id = Column(ForeignKey("agents.id"), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    agent = relationship("Agent")


class AuditEntry(Base):
    """What an agent (or the system on their behalf) did, for later review."""

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    agent_id = Column(ForeignKey("agents.id"), nullable=True, index=True)
    action = Column(String(40), nullable=False)
    case_id = Column(String(16), nullable=True, index=True)
    detail = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class PhoneCall(Base):
    """One call on the hotline (the Rasa conversation id is its CallSid)."""

    __tablename__ = "phone_calls"

    id = Column(Integer, primary_key=True)
    call_sid = Column(String(64), nullable=False, unique=True)
    caller = Column(String(32), nullable=True)
    language = Column(String(2), nullable=True)
    # consecutive turns without any input from the caller
    silences = Column(Integer, nullable=False, default=0)
    # button payloads of the last reply, chosen by pressing 1, 2, ...
    choices = Column(JSON, nullable=False, default=list)
    # the input hint of the bot's last question (bot/protocol.py): what keypad
    # digits mean in the answer
    expects = Column(JSON, nullable=True)
    status = Column(String(20), nullable=False, default="in-progress", index=True)
    duration_seconds = Column(Integer, nullable=True)
    started_at = Column(DateTime, nullable=False, default=utcnow)
    ended_at = Column(DateTime, nullable=True)


class PhoneTurn(Base):
    """The TwiML answer to one webhook request of a call.

    Twilio re-sends a request when an answer is slow or lost; the same turn
    then gets the stored answer instead of running the conversation twice.
    """

    __tablename__ = "phone_turns"
    __table_args__ = (UniqueConstraint("call_sid", "turn", name="uq_phone_turn"),)

    id = Column(Integer, primary_key=True)
    call_sid = Column(String(64), nullable=False)
    turn = Column(String(40), nullable=False)
    twiml = Column(Text, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class IdentityGuard(Base):
    """Failed identity checks of one customer number or one source, across conversations.

    The key is a keyed digest (`customer:…` or `source:…`, `PSEUDONYM_KEY`),
    never the number or address itself. Enough failures lock the key for a while that grows.
    """

    __tablename__ = "identity_guards"

    id = Column(Integer, primary_key=True)
    key = Column(String(80), nullable=False, unique=True)
    failures = Column(Integer, nullable=False, default=0)
    last_failure_at = Column(DateTime, nullable=False, default=utcnow)
    locked_until = Column(DateTime, nullable=True)


class MetricCounter(Base):
    """How often something happened (a handoff, a fallback), for `/metrics`.

    Counted where it happens, in the same transaction, by whichever process
    it happens in, so a scrape reads these few rows instead of counting
    whole tables. `labels` are the metric's label values joined by `|`
    (channels, reasons: never personal data).
    """

    __tablename__ = "metric_counters"
    __table_args__ = (UniqueConstraint("name", "labels", name="uq_metric_counter"),)

    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False)
    labels = Column(String(200), nullable=False, default="")
    value = Column(Integer, nullable=False, default=0)


class MeterReading(Base):
    """One reading of a contract's meter: from the billing system or given by the customer.

    `source` is `billing` (imported) or `customer`; a customer's reading
    carries its channel, conversation and request id (stored once per
    request), what the plausibility check found, and whether the customer
    confirmed a reading read back to them. `reason` is why it was taken:
    `regular`, `move_out`, `move_in` or `tariff_change`.
    """

    __tablename__ = "meter_readings"
    __table_args__ = (UniqueConstraint("request_id", name="uq_meter_readings_request_id"),)

    id = Column(Integer, primary_key=True)
    contract_id = Column(ForeignKey("contracts.id"), nullable=False, index=True)
    meter_number = Column(String(40), nullable=True)
    read_on = Column(Date, nullable=False)
    value: Decimal = Column(ScaledDecimal(3), nullable=False)
    unit = Column(String(10), nullable=False)
    source = Column(String(20), nullable=False, default="customer")
    reason = Column(String(20), nullable=False, default="regular")
    # plausible, first (nothing to compare with), below_last, above_expected
    plausibility = Column(String(20), nullable=True)
    confirmed = Column(Boolean, nullable=False, default=False)
    channel = Column(String(20), nullable=True)
    conversation_id = Column(String(128), nullable=True, index=True)
    request_id = Column(String(64), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    contract = relationship("Contract", back_populates="meter_readings")


class SepaMandate(Base):
    """A SEPA direct-debit mandate: the customer's account and their permission to debit it.

    At most one mandate of a customer is `active`; a new account or a change
    to paying by transfer revokes it (`revoked_on`). The IBAN is stored whole
    (the billing system debits it) and shown only masked
    (`bot/domain/iban.py`); it never goes into a log or a reply.
    """

    __tablename__ = "sepa_mandates"
    __table_args__ = (UniqueConstraint("request_id", name="uq_sepa_mandates_request_id"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False, index=True)
    mandate_reference = Column(String(35), nullable=False, unique=True)
    iban = Column(String(34), nullable=False)
    bic = Column(String(11), nullable=True)
    bank_name = Column(String(140), nullable=True)
    account_holder = Column(String(70), nullable=False)
    creditor_id = Column(String(35), nullable=False)
    signed_on = Column(Date, nullable=False)
    # active or revoked
    status = Column(String(10), nullable=False, default="active", index=True)
    revoked_on = Column(Date, nullable=True)
    source = Column(String(20), nullable=False, default="assistant")
    channel = Column(String(20), nullable=True)
    conversation_id = Column(String(128), nullable=True, index=True)
    request_id = Column(String(64), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    customer = relationship("Customer")


class SupplyBlock(Base):
    """A supply block of a contract for non-payment (Sperre, § 19 StromGVV/GasGVV).

    `announced` (the block was announced: Sperrandrohung), `blocked` (supply
    is cut), `lifted` (supply restored).
    """

    __tablename__ = "supply_blocks"

    id = Column(Integer, primary_key=True)
    contract_id = Column(ForeignKey("contracts.id"), nullable=False, index=True)
    status = Column(String(10), nullable=False)
    announced_on = Column(Date, nullable=True)
    blocked_on = Column(Date, nullable=True)
    lifted_on = Column(Date, nullable=True)

    contract = relationship("Contract", back_populates="supply_blocks")


class PaymentArrangement(Base):
    """An agreed way to pay an open balance: `instalments` or a `deferral` (Stundung).

    Instalments carry their schedule; a deferral has one due date
    (`deferred_until`). Stored once per request id, with a reference number
    the customer keeps.
    """

    __tablename__ = "payment_arrangements"
    __table_args__ = (UniqueConstraint("request_id", name="uq_payment_arrangements_request_id"),)

    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False, index=True)
    reference = Column(String(20), nullable=False, unique=True)
    kind = Column(String(12), nullable=False)
    total: Decimal = Column(Money, nullable=False)
    deferred_until = Column(Date, nullable=True)
    status = Column(String(10), nullable=False, default="active")
    channel = Column(String(20), nullable=False)
    conversation_id = Column(String(128), nullable=False, index=True)
    request_id = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    customer = relationship("Customer")
    instalments = relationship(
        "Instalment",
        back_populates="arrangement",
        cascade="all, delete-orphan",
        order_by="Instalment.number",
    )


class Instalment(Base):
    """One instalment of a payment arrangement's schedule."""

    __tablename__ = "payment_instalments"

    id = Column(Integer, primary_key=True)
    arrangement_id = Column(ForeignKey("payment_arrangements.id"), nullable=False, index=True)
    number = Column(Integer, nullable=False)
    due_on = Column(Date, nullable=False)
    amount: Decimal = Column(Money, nullable=False)

    arrangement = relationship("PaymentArrangement", back_populates="instalments")


class ServiceCase(Base):
    """A request the assistant took in for the back office, with everything an agent needs.

    `kind`: `move`, `reconnection`, `supply_block` (and the kinds of later
    capabilities); `data` holds the case's structured details (no free text
    is needed to act on it); `reference` is what the customer keeps. A case
    that also went to a person names its handoff case.
    """

    __tablename__ = "service_cases"
    __table_args__ = (UniqueConstraint("request_id", name="uq_service_cases_request_id"),)

    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    kind = Column(String(20), nullable=False, index=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=True, index=True)
    status = Column(String(10), nullable=False, default="open", index=True)
    priority = Column(Boolean, nullable=False, default=False)
    data = Column(JSON, nullable=False, default=dict)
    language = Column(String(2), nullable=False)
    channel = Column(String(20), nullable=False)
    conversation_id = Column(String(128), nullable=False, index=True)
    request_id = Column(String(64), nullable=False)
    handoff_case_id = Column(String(16), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    customer = relationship("Customer")
    attachments = relationship(
        "CaseAttachment",
        back_populates="case",
        cascade="all, delete-orphan",
        order_by="CaseAttachment.id",
    )


class CaseAttachment(Base):
    """A file a customer sent with a case (a receipt as image or PDF), checked before storing."""

    __tablename__ = "case_attachments"

    id = Column(Integer, primary_key=True)
    case_id = Column(ForeignKey("service_cases.id"), nullable=False, index=True)
    filename = Column(String(120), nullable=False)
    content_type = Column(String(50), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    content = Column(LargeBinary, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    case = relationship("ServiceCase", back_populates="attachments")


class KnownOutage(Base):
    """A supply fault the utility knows of, by postcode and commodity (what customers are told).

    From the grid operator's systems (`import-data`) or entered and edited by
    agents in the console. Times are UTC; the expected end is optional (not
    known yet). An outage is current from `started_at` until it is resolved.
    """

    __tablename__ = "known_outages"

    id = Column(Integer, primary_key=True)
    #: the import's own id (re-importing updates instead of adding)
    external_id = Column(String(40), nullable=True, unique=True)
    postcode = Column(String(5), nullable=False, index=True)
    commodity = Column(String(20), nullable=False)
    started_at = Column(DateTime, nullable=False)
    expected_end = Column(DateTime, nullable=True)
    resolved_at = Column(DateTime, nullable=True)
    #: what customers may be told about the cause, per language
    note_de = Column(String(300), nullable=False, default="")
    note_tr = Column(String(300), nullable=False, default="")
    source = Column(String(10), nullable=False, default="import")
    updated_by = Column(ForeignKey("agents.id"), nullable=True)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class KnowledgeArticle(Base):
    """A knowledge-base answer imported at run time (it replaces the shipped one in domain/faq.yml).

    One row per topic and language; `topic` is a retrieval intent's key the
    model knows (faq/<topic>).
    """

    __tablename__ = "knowledge_articles"
    __table_args__ = (UniqueConstraint("topic", "language", name="uq_knowledge_topic_language"),)

    id = Column(Integer, primary_key=True)
    topic = Column(String(40), nullable=False)
    language = Column(String(2), nullable=False)
    title = Column(String(80), nullable=False)
    answer = Column(Text, nullable=False)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class AppointmentSlot(Base):
    """A time an adviser or technician is free: at the customer centre or at the customer's home.

    `appointment_id` names the booking that holds it; it is set only by a
    conditional update (bot/domain/services/appointments.py), so two customers
    can never book the same slot, whatever the database.
    """

    __tablename__ = "appointment_slots"

    id = Column(Integer, primary_key=True)
    #: the import's own id (re-importing updates instead of adding)
    external_id = Column(String(40), nullable=True, unique=True)
    #: `centre` (customer centre) or `home` (at the customer's address)
    place = Column(String(10), nullable=False)
    #: `advice` (energy and tariff advice) or `meter` (meter change)
    purpose = Column(String(10), nullable=False)
    starts_at = Column(DateTime, nullable=False, index=True)
    minutes = Column(Integer, nullable=False)
    appointment_id = Column(Integer, nullable=True)


class Appointment(Base):
    """A customer's booked appointment (reference `TE-…`), moved or cancelled by them later."""

    __tablename__ = "appointments"
    __table_args__ = (UniqueConstraint("request_id", name="uq_appointments_request_id"),)

    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    slot_id = Column(ForeignKey("appointment_slots.id"), nullable=False, index=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=True, index=True)
    status = Column(String(10), nullable=False, default="booked")
    name = Column(String(100), nullable=False)
    contact = Column(String(120), nullable=False)
    #: where a home appointment takes place
    address = Column(String(200), nullable=True)
    language = Column(String(2), nullable=False)
    channel = Column(String(20), nullable=False)
    conversation_id = Column(String(128), nullable=False, index=True)
    request_id = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    changed_at = Column(DateTime, nullable=True)

    slot = relationship("AppointmentSlot", foreign_keys=[slot_id])


class Tariff(Base):
    """A tariff the utility offers, with gross prices (what customers are quoted).

    From the utility's price sheet (`import-data`, section `tariffs`). A
    contract names its tariff by `name` (`Contract.tariff`); a tariff that is
    no longer offered stays for the contracts still in it (`offered` false).
    """

    __tablename__ = "tariffs"

    id = Column(Integer, primary_key=True)
    #: the import's own id (`strom-oeko`): re-importing updates instead of adding
    code = Column(String(40), nullable=False, unique=True)
    name = Column(String(100), nullable=False, unique=True)
    commodity = Column(String(20), nullable=False, index=True)
    #: euros per kWh, gross (0.3190 is 31,90 Cent)
    working_price: Decimal = Column(ScaledDecimal(4), nullable=False)
    #: euros per month, gross
    base_price: Decimal = Column(Money, nullable=False)
    green = Column(Boolean, nullable=False, default=False)
    minimum_term_months = Column(Integer, nullable=False, default=0)
    offered = Column(Boolean, nullable=False, default=True)
