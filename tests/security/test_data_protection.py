"""Data protection (issue 12, DSGVO): retention, erasure, access, minimisation.

`python -m bot purge` and `python -m bot forget-customer` run on SQLite and on
PostgreSQL, against our database and a tracker store that Rasa's own
`SQLTrackerStore` wrote (conversations saved as Rasa saves them, and read
back as Rasa reads them). The conversations through the real servers show
the same for what a customer really said: export, erasure, and what is left
in the tracker and the agent's transcript after an identity check.

Before: nothing was ever deleted; `export-customer` held no conversations or
calls; there was no way to erase a customer; a birth date given before a
handoff stayed in the conversation's slots, and the agent read it as typed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, select

from bot.domain.models import (
    AdvancePaymentChange,
    Agent,
    AgentSession,
    AuditEntry,
    CaseAttachment,
    ChatMessage,
    ChatSession,
    Contract,
    Customer,
    HandoffCase,
    HandoffSource,
    IdentityGuard,
    Instalment,
    MeterReading,
    PaymentArrangement,
    PhoneCall,
    PhoneTurn,
    SepaMandate,
    ServiceCase,
    SupplyBlock,
    utcnow,
)
from bot.domain.privacy import MASKED_DATE, is_pseudonym
from bot.domain.services import chat, customer_data, handoff, identity
from bot.infra import db
from bot.infra.db import drop_database, session_scope
from bot.infra.settings import DEV_TWILIO_TOKEN, ROOT
from bot.ops.cli import main
from bot.ops.phone_sim import PhoneCall as Call
from tests.conftest import demo_document
from tests.harness.servers import TOKEN, Servers, demo_database
from tests.harness.web_clients import Console, Widget
from tests.production.conftest import new_database
from tests.security.conftest import Attacker
from tests.security.test_commands_in_chat import conversation_of

NOW = utcnow()
DAY = dt.timedelta(days=1)
# The CLI's PSEUDONYM_KEY in the tests on stored data (`stores`).
CLI_KEY = "cli-test-pseudonym-key-0123456789"
# Demo customers: the one erased or purged, and the one whose data must stay.
KAETHE = {"number": "10000011", "postcode": "45130", "birth": "05.10.1940"}
AYSE = {"number": "10000001", "postcode": "47051", "birth": "12.04.1980"}
TABLES = (
    AdvancePaymentChange,
    AgentSession,
    AuditEntry,
    ChatMessage,
    ChatSession,
    Contract,
    Customer,
    HandoffCase,
    IdentityGuard,
    PhoneCall,
    PhoneTurn,
)


# --- the stores: our database and Rasa's tracker store, on SQLite or PostgreSQL -------


@dataclass
class Stores:
    database_url: str
    tracker_url: str
    tracker: SQLTrackerStore

    def save(self, sender: str, events: list[Event]) -> None:
        """A conversation saved as Rasa saves it."""
        tracker = DialogueStateTracker.from_events(sender, events, self.tracker.domain.slots)
        asyncio.run(self.tracker.save(tracker))

    def retrieve(self, sender: str) -> DialogueStateTracker | None:
        """A conversation read back as Rasa reads it (None: none stored)."""
        return asyncio.run(self.tracker.retrieve_full_tracker(sender))

    def counts(self) -> dict[str, int]:
        with session_scope(self.database_url) as session:
            found = {
                table.__tablename__: session.scalar(select(func.count()).select_from(table))
                for table in TABLES
            }
        found["events"] = len(self.tracker_rows())
        return found

    def tracker_rows(self) -> list[tuple[str, str]]:
        with self.tracker.engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT sender_id, data FROM events ORDER BY id")
            return [(sender, data) for sender, data in rows]


@pytest.fixture(scope="module")
def rasa_domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rasa_domain: Domain,
) -> Iterator[Stores]:
    """Our database (migrated, demo customers) and an empty tracker store; the CLI's settings."""
    if request.param == "sqlite":
        database_url = demo_database(tmp_path / "stadtwerk.db")
        tracker_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    else:
        server = request.getfixturevalue("postgres_server")
        database_url = new_database(server, "data")
        tracker_url = new_database(server, "rasa")
        from bot.infra.migrate import upgrade

        upgrade(database_url)
        with session_scope(database_url) as session:
            customer_data.import_customers(session, demo_document())
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TRACKER_STORE_URL", tracker_url)
    monkeypatch.setenv("PSEUDONYM_KEY", CLI_KEY)
    tracker = SQLTrackerStore(rasa_domain, host=tracker_url)
    yield Stores(database_url, tracker_url, tracker)
    tracker.engine.dispose()
    for url in (database_url, tracker_url):
        db.get_engine(url).dispose()
    db.get_engine.cache_clear()
    db._session_factory.cache_clear()
    if request.param == "postgresql":
        drop_database(database_url)
        drop_database(tracker_url)


def verified_conversation(customer: dict[str, str], at: dt.datetime) -> list[Event]:
    """A REST conversation in which `customer` proved who they are, at `at` (naive UTC)."""
    t = at.replace(tzinfo=dt.timezone.utc).timestamp()
    said = f"{customer['number']} {customer['postcode']} {customer['birth']}"
    birth = dt.datetime.strptime(customer["birth"], "%d.%m.%Y").date().isoformat()
    return [
        ActionExecuted("action_session_start", timestamp=t),
        SessionStarted(timestamp=t),
        ActionExecuted("action_listen", timestamp=t),
        UserUttered("Meine Rechnung bitte", {"name": "ask_bill"}, timestamp=t + 1),
        BotUttered("Wie lautet Ihre achtstellige Kundennummer?", timestamp=t + 2),
        UserUttered(said, {"name": "inform"}, timestamp=t + 10, input_channel="rest"),
        SlotSet("customer_number", customer["number"], timestamp=t + 11),
        SlotSet("postcode", customer["postcode"], timestamp=t + 11),
        SlotSet("birth_date", birth, timestamp=t + 11),
        SlotSet("verified_customer", customer["number"], timestamp=t + 11),
        BotUttered("Vielen Dank, Sie sind identifiziert.", timestamp=t + 12),
    ]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def report_count(output: str, table: str, what: str) -> int:
    for line in output.splitlines():
        if line.startswith(table + " ") and line.rstrip().endswith(what):
            return int(line[len(table) :].split()[0])
    raise AssertionError(f"no line for {table} {what} in:\n{output}")


# --- retention: python -m bot purge -----------------------------------------------------


@dataclass
class Aged:
    """Records of every kind, some past their periods and some not."""

    old_rest: str
    new_rest: str
    ended_rest: str
    old_chat: str
    new_chat: str
    old_call: str
    month_old_call: str
    open_case_conversation: str


def age_everything(stores: Stores) -> Aged:
    aged = Aged(
        old_rest="rest-old",
        new_rest="rest-new",
        ended_rest="rest-ended-yesterday",
        old_chat="web-" + uuid.uuid4().hex[:24],
        new_chat="web-" + uuid.uuid4().hex[:24],
        old_call="CA" + uuid.uuid4().hex,
        month_old_call="CA" + uuid.uuid4().hex,
        open_case_conversation="rest-waiting-for-a-person",
    )
    stores.save(aged.old_rest, verified_conversation(KAETHE, NOW - 100 * DAY))
    stores.save(aged.new_rest, verified_conversation(AYSE, NOW - dt.timedelta(minutes=5)))
    stores.save(aged.ended_rest, verified_conversation(AYSE, NOW - 2 * DAY))
    stores.save(aged.old_chat, verified_conversation(KAETHE, NOW - 100 * DAY))
    stores.save(aged.old_call, verified_conversation(KAETHE, NOW - 100 * DAY))
    stores.save(aged.open_case_conversation, verified_conversation(KAETHE, NOW - 100 * DAY))
    with session_scope(stores.database_url) as session:
        for conversation, at in ((aged.old_chat, NOW - 100 * DAY), (aged.new_chat, NOW)):
            row = ChatSession(
                token_hash=uuid.uuid4().hex,
                conversation_id=conversation,
                language="de",
                created_at=at,
                last_active_at=at,
            )
            session.add(row)
            session.flush()
            for sender, text in (("customer", "10000011 45130 05.10.1940"), ("bot", "Danke.")):
                session.add(
                    ChatMessage(chat_session_id=row.id, sender=sender, text=text, created_at=at)
                )
        yesterday_chat = chat.start(session, "de")[1]
        chat.add_message(session, yesterday_chat.id, "customer", "IBAN DE89370400440532013000")
        session.get(ChatSession, yesterday_chat.id).last_active_at = NOW - 2 * DAY
        for call_sid, at in (
            (aged.old_call, NOW - 100 * DAY),
            (aged.month_old_call, NOW - 40 * DAY),
        ):
            session.add(PhoneCall(call_sid=call_sid, caller="+4915100000001", started_at=at))
            session.add(PhoneTurn(call_sid=call_sid, turn="1", twiml="<Response/>", created_at=at))
        agent = Agent(username="purge-agent", first_name="A", last_name="B", password_hash="x")
        session.add(agent)
        session.flush()
        session.add_all(
            [
                HandoffCase(
                    case_id="H-OLDCLOSED",
                    conversation_id=aged.old_rest,
                    reason="customer_request",
                    language="de",
                    channel="rest",
                    customer_number=KAETHE["number"],
                    transcript=[{"from": "customer", "text": "Ich ziehe um"}],
                    status="closed",
                    created_at=NOW - 100 * DAY,
                    closed_at=NOW - 100 * DAY,
                    disposition="resolved",
                    note="Frau Groß zieht nach Bochum",
                ),
                HandoffCase(
                    case_id="H-NEWCLOSED",
                    conversation_id=aged.new_rest,
                    reason="customer_request",
                    language="de",
                    channel="rest",
                    customer_number=AYSE["number"],
                    transcript=[{"from": "customer", "text": "Hallo"}],
                    status="closed",
                    created_at=NOW - DAY,
                    closed_at=NOW - DAY,
                    disposition="resolved",
                    note="erledigt",
                ),
                HandoffCase(
                    case_id="H-STILLOPEN",
                    conversation_id=aged.open_case_conversation,
                    reason="customer_request",
                    language="de",
                    channel="rest",
                    transcript=[],
                    status="open",
                    created_at=NOW - 100 * DAY,
                ),
                AuditEntry(action="claim", agent_id=agent.id, created_at=NOW - 400 * DAY),
                AuditEntry(action="claim", agent_id=agent.id, created_at=NOW - DAY),
                AgentSession(
                    token_hash="expired",
                    agent_id=agent.id,
                    csrf_token="c",
                    expires_at=NOW - DAY,
                ),
                AgentSession(
                    token_hash="valid", agent_id=agent.id, csrf_token="c", expires_at=NOW + DAY
                ),
                IdentityGuard(key="customer:old", failures=2, last_failure_at=NOW - 2 * DAY),
                IdentityGuard(
                    key="customer:locked",
                    failures=9,
                    last_failure_at=NOW - 2 * DAY,
                    locked_until=NOW + DAY,
                ),
            ]
        )
        contract = session.scalar(select(Contract).where(Contract.contract_number == "30000017"))
        for request, at, conversation in (
            ("eleven-years", dt.datetime(NOW.year - 11, 6, 1), "rest-2015"),
            ("two-years", NOW - 700 * DAY, "my.name@example.org"),
            ("today", NOW, aged.new_rest),
        ):
            session.add(
                AdvancePaymentChange(
                    contract_id=contract.id,
                    request_id=request,
                    old_amount=contract.advance_amount,
                    new_amount=contract.advance_amount,
                    effective_on=at.date(),
                    channel="rest",
                    conversation_id=conversation,
                    created_at=at,
                )
            )
    return aged


def test_a_dry_run_counts_and_changes_nothing(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    age_everything(stores)
    before, rows_before = stores.counts(), stores.tracker_rows()
    code, output = run_cli(capsys, "purge", "--dry-run")
    assert code == 0 and "dry run, nothing changed" in output
    assert report_count(output, "conversations", "deleted") == 3
    assert report_count(output, "chat_messages", "deleted") == 2
    assert report_count(output, "phone_calls", "deleted") == 1
    assert stores.counts() == before and stores.tracker_rows() == rows_before


def test_purge_deletes_what_is_past_its_period_and_keeps_the_rest(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    aged = age_everything(stores)
    code, output = run_cli(capsys, "purge")
    assert code == 0
    assert report_count(output, "conversations", "deleted") == 3

    # Conversations idle longer than 90 days are gone from Rasa's store, with
    # their web chat and call; the one whose case still waits for a person stays.
    for gone in (aged.old_rest, aged.old_chat, aged.old_call):
        assert stores.retrieve(gone) is None, gone
    for kept in (aged.new_rest, aged.ended_rest, aged.open_case_conversation):
        assert stores.retrieve(kept) is not None, kept
    with session_scope(stores.database_url) as session:
        chats = set(session.scalars(select(ChatSession.conversation_id)))
        assert aged.old_chat not in chats and aged.new_chat in chats
        calls = set(session.scalars(select(PhoneCall.call_sid)))
        assert calls == {aged.month_old_call}
        # phone answers after 30 days, the call itself after 90
        assert not session.scalars(select(PhoneTurn)).all()

        # Closed cases keep their figures but lose what was said and who said it.
        old, new, waiting = (
            session.scalars(select(HandoffCase).where(HandoffCase.case_id == case_id)).one()
            for case_id in ("H-OLDCLOSED", "H-NEWCLOSED", "H-STILLOPEN")
        )
        assert (old.transcript, old.note, old.customer_number) == ([], None, None)
        assert is_pseudonym(old.conversation_id) and old.disposition == "resolved"
        assert new.transcript and new.note == "erledigt" and new.customer_number == AYSE["number"]
        assert waiting.conversation_id == aged.open_case_conversation

        assert [a.created_at for a in session.scalars(select(AuditEntry))] == [NOW - DAY]
        assert [s.token_hash for s in session.scalars(select(AgentSession))] == ["valid"]
        assert [g.key for g in session.scalars(select(IdentityGuard))] == ["customer:locked"]


def test_where_cases_came_from_is_forgotten_once_the_limit_no_longer_counts_them(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    """A source's digest stays only while its cases count against the per-source limit."""

    def opened(session: Any, conversation: str, source: str) -> HandoffCase:
        info = handoff.open_case(
            session,
            conversation_id=conversation,
            reason="customer_request",
            language="de",
            channel="rest",
            customer_number=None,
            transcript=[],
            limit=handoff.SourceLimit(source, 5, CLI_KEY.encode()),
        )
        return session.scalars(select(HandoffCase).where(HandoffCase.case_id == info.case_id)).one()

    with session_scope(stores.database_url) as session:
        done = opened(session, "rest-done", "rest:203.0.113.7")
        waiting = opened(session, "rest-waiting", "rest:198.51.100.9")
        recent = opened(session, "rest-recent", "rest:192.0.2.44")
        done.status, done.closed_at = "closed", NOW - 2 * DAY
        for case in (done, waiting):
            case.created_at = NOW - 2 * DAY
        session.execute(
            HandoffSource.__table__.update()
            .where(HandoffSource.key.in_([done.source_key, waiting.source_key]))
            .values(last_case_at=NOW - 2 * DAY)
        )
        recent.status = "closed"
        keys = (done.source_key, waiting.source_key, recent.source_key)

    code, output = run_cli(capsys, "purge")
    assert code == 0
    assert report_count(output, "handoff_sources", "forgotten, deleted") == 1
    assert report_count(output, "handoff_cases", "source digest removed") == 1
    with session_scope(stores.database_url) as session:
        assert set(session.scalars(select(HandoffSource.key))) == set(keys[1:])
        by_id = {c.conversation_id: c.source_key for c in session.scalars(select(HandoffCase))}
        # the closed case's source is forgotten; the waiting and the recent one still count
        assert by_id["rest-done"] is None
        assert (by_id["rest-waiting"], by_id["rest-recent"]) == keys[1:]


def test_account_changes_stay_for_the_legal_period_without_free_text(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    aged = age_everything(stores)
    assert run_cli(capsys, "purge")[0] == 0
    with session_scope(stores.database_url) as session:
        changes = {c.request_id: c for c in session.scalars(select(AdvancePaymentChange))}
    # Made eleven years ago: past the ten years counted from that year's end.
    assert set(changes) == {"two-years", "today"}
    # Kept: the amounts and dates; the conversation id (a REST client may send
    # any text, here an e-mail address) is a pseudonym once the conversation is gone.
    kept = changes["two-years"].conversation_id
    assert is_pseudonym(kept) and "example.org" not in kept
    assert changes["today"].conversation_id == aged.new_rest


def test_self_service_records_lose_their_conversation_id_and_arrangements_their_period(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_scope(stores.database_url) as session:
        customer = session.scalar(select(Customer).where(Customer.customer_number == "10000026"))
        contract = customer.contracts[0]
        for request, conversation, at in (
            ("old", "rest-old-self-service", NOW - 100 * DAY),
            ("new", "rest-new-self-service", NOW),
        ):
            session.add(
                MeterReading(
                    contract_id=contract.id,
                    read_on=at.date(),
                    value=contract.meter_readings[-1].value + 10,
                    unit="kWh",
                    source="customer",
                    conversation_id=conversation,
                    request_id=f"reading-{request}",
                    created_at=at,
                )
            )
            session.add(
                ServiceCase(
                    reference=f"SP-{request.upper()}",
                    kind="supply_block",
                    customer_id=customer.id,
                    language="tr",
                    channel="rest",
                    conversation_id=conversation,
                    request_id=f"case-{request}",
                    created_at=at,
                )
            )
        for request, at in (("eleven-years", NOW - 11 * 365 * DAY), ("old", NOW - 100 * DAY)):
            arrangement = PaymentArrangement(
                customer_id=customer.id,
                reference=f"RZ-{request[:3].upper()}",
                kind="instalments",
                total=contract.advance_amount,
                channel="rest",
                conversation_id=f"rest-{request}-arrangement",
                request_id=request,
                created_at=at,
            )
            arrangement.instalments.append(
                Instalment(number=1, due_on=at.date(), amount=contract.advance_amount)
            )
            session.add(arrangement)

    code, output = run_cli(capsys, "purge")
    assert code == 0, output
    assert report_count(output, "payment_arrangements", "past the legal period, deleted") == 1
    with session_scope(stores.database_url) as session:
        readings = {
            r.request_id: r.conversation_id
            for r in session.scalars(select(MeterReading).where(MeterReading.source == "customer"))
        }
        assert is_pseudonym(readings["reading-old"])
        assert readings["reading-new"] == "rest-new-self-service"
        cases = {c.request_id: c.conversation_id for c in session.scalars(select(ServiceCase))}
        assert is_pseudonym(cases["case-old"]) and cases["case-new"] == "rest-new-self-service"
        kept = session.scalars(select(PaymentArrangement)).one()
        assert kept.request_id == "old" and is_pseudonym(kept.conversation_id)
        assert session.scalars(select(func.count()).select_from(Instalment)).one() == 1


def test_identity_values_are_blanked_once_a_conversation_ended(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    aged = age_everything(stores)
    assert run_cli(capsys, "purge")[0] == 0
    ended = stores.retrieve(aged.ended_rest)
    said = [e.text for e in ended.events if isinstance(e, UserUttered)]
    assert said == ["Meine Rechnung bitte", f"******01 47051 {MASKED_DATE}"]
    assert ended.get_slot("birth_date") is None and ended.get_slot("postcode") is None
    rows = [data for sender, data in stores.tracker_rows() if sender == aged.ended_rest]
    assert rows and not [data for data in rows if "1980" in data or "10000001 " in data]
    # the conversation still belongs to its customer (export, erasure)
    assert ended.get_slot("verified_customer") == AYSE["number"]
    # A conversation still going on is left alone.
    going_on = stores.retrieve(aged.new_rest)
    assert going_on.get_slot("birth_date") == "1980-04-12"
    with session_scope(stores.database_url) as session:
        typed = set(
            session.scalars(select(ChatMessage.text).where(ChatMessage.sender == "customer"))
        )
    assert "IBAN ******************3000" in typed  # the chat idle since yesterday
    assert "10000011 45130 05.10.1940" in typed  # the chat going on


# --- erasure: python -m bot forget-customer -----------------------------------------------


def test_forget_customer_erases_one_customer_everywhere(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    stores.save("kaethe-rest", verified_conversation(KAETHE, NOW - DAY))
    stores.save("kaethe-typed-only", verified_conversation(KAETHE, NOW - DAY)[:7])
    stores.save("kaethe-call", verified_conversation(KAETHE, NOW - DAY))
    stores.save("ayse-rest", verified_conversation(AYSE, NOW - DAY))
    with session_scope(stores.database_url) as session:
        for sid, caller in (("kaethe-call", "+492018966808"), ("ayse-call", "+4920312345678")):
            session.add(PhoneCall(call_sid=sid, caller=caller))
            session.add(PhoneTurn(call_sid=sid, turn="1", twiml="<Response/>"))
        web = chat.start(session, "de")[1]
        chat.add_message(session, web.id, "customer", "10000011 45130 05.10.1940")
        for case_id, conversation, number in (
            ("H-KAETHE1", "kaethe-rest", KAETHE["number"]),
            ("H-KAETHE2", web.conversation_id, KAETHE["number"]),
            ("H-AYSE", "ayse-rest", AYSE["number"]),
        ):
            session.add(
                HandoffCase(
                    case_id=case_id,
                    conversation_id=conversation,
                    reason="customer_request",
                    language="de",
                    channel="rest",
                    customer_number=number,
                    transcript=[{"from": "customer", "text": "Hallo"}],
                )
            )
        for number in (KAETHE["number"], AYSE["number"]):
            key = identity.guard_key("customer", number, CLI_KEY.encode())
            session.add(IdentityGuard(key=key, failures=2))
    ayse_before = export_of(AYSE["number"])

    code, output = run_cli(capsys, "forget-customer", KAETHE["number"])
    assert code == 0, output
    assert KAETHE["number"] not in output  # the report names no one
    assert report_count(output, "conversations", "deleted") == 4
    assert report_count(output, "customers", "deleted") == 1

    for gone in ("kaethe-rest", "kaethe-typed-only", "kaethe-call"):
        assert stores.retrieve(gone) is None, gone
    assert not [data for _, data in stores.tracker_rows() if KAETHE["number"] in data]
    with session_scope(stores.database_url) as session:
        assert not session.scalars(
            select(Customer).where(Customer.customer_number == KAETHE["number"])
        ).all()
        assert not session.scalars(
            select(Contract).where(Contract.contract_number == "30000017")
        ).all()
        cases = set(session.scalars(select(HandoffCase.case_id)))
        assert cases == {"H-AYSE"}
        assert set(session.scalars(select(PhoneCall.call_sid))) == {"ayse-call"}
        assert set(session.scalars(select(PhoneTurn.call_sid))) == {"ayse-call"}
        assert not session.scalars(select(ChatSession)).all()
        guards = set(session.scalars(select(IdentityGuard.key)))
        assert guards == {identity.guard_key("customer", AYSE["number"], CLI_KEY.encode())}
        erased = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "customer_erased")
        ).one()
        assert KAETHE["number"] not in json.dumps(erased.detail)
    # Everyone else's data is as it was.
    assert stores.retrieve("ayse-rest") is not None
    assert export_of(AYSE["number"]) == ayse_before
    # Erased is erased: no export, and no second erasure.
    assert run_cli(capsys, "export-customer", KAETHE["number"])[0] == 1
    assert run_cli(capsys, "forget-customer", KAETHE["number"])[0] == 1


def export_of(number: str) -> dict[str, Any]:
    with session_scope() as session:
        return customer_data.export_customer(session, number)


def test_booking_records_are_kept_pseudonymised(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    stores.save("kaethe-change", verified_conversation(KAETHE, NOW - DAY))
    with session_scope(stores.database_url) as session:
        contract = session.scalar(select(Contract).where(Contract.contract_number == "30000017"))
        session.add(
            AdvancePaymentChange(
                contract_id=contract.id,
                request_id="kaethe-change",
                old_amount=contract.advance_amount,
                new_amount=contract.advance_amount + 5,
                effective_on=NOW.date(),
                channel="rest",
                conversation_id="kaethe-change",
            )
        )
    code, output = run_cli(capsys, "forget-customer", KAETHE["number"])
    assert code == 0, output
    assert "AO §147" in output
    assert report_count(output, "customers", "kept for booking records, pseudonymised") == 1
    assert stores.retrieve("kaethe-change") is None
    with session_scope(stores.database_url) as session:
        change = session.scalars(select(AdvancePaymentChange)).one()
        assert is_pseudonym(change.conversation_id)
        contract = change.contract
        assert contract.contract_number == "30000017" and contract.meter_number is None
        assert not contract.bills
        holder = contract.customer
        assert not holder.customer_number.isdigit()  # no identity check can match it
        assert (holder.first_name, holder.last_name, holder.phone, holder.email) == (
            "-",
            "-",
            None,
            None,
        )
        assert holder.birth_date == dt.date(1900, 1, 1) and holder.postcode == "00000"


def test_self_service_records_are_erased_and_arrangements_kept_pseudonymised(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    claudia, sabine = "10000025", "10000027"
    with session_scope(stores.database_url) as session:
        customer = session.scalar(select(Customer).where(Customer.customer_number == claudia))
        contract = customer.contracts[0]
        session.add(
            MeterReading(
                contract_id=contract.id,
                read_on=NOW.date(),
                value=contract.meter_readings[-1].value + 100,
                unit="kWh",
                source="customer",
                channel="rest",
                conversation_id="claudia-reading",
                request_id="claudia-reading",
            )
        )
        case = ServiceCase(
            reference="UM-12345678",
            kind="move",
            customer_id=customer.id,
            data={"new_address": {"street": "Hauptstraße 1", "postcode": "44137"}},
            language="de",
            channel="web",
            conversation_id="claudia-move",
            request_id="claudia-move",
        )
        case.attachments.append(
            CaseAttachment(
                filename="beleg.pdf",
                content_type="application/pdf",
                size=8,
                sha256="0" * 64,
                content=b"%PDF-1.4",
            )
        )
        session.add(case)
        arrangement = PaymentArrangement(
            customer_id=customer.id,
            reference="RZ-12345678",
            kind="instalments",
            total=contract.advance_amount * 2,
            channel="rest",
            conversation_id="claudia-arrangement",
            request_id="claudia-arrangement",
        )
        arrangement.instalments.append(
            Instalment(number=1, due_on=NOW.date(), amount=contract.advance_amount)
        )
        session.add(arrangement)
    sabine_before = export_of(sabine)

    code, output = run_cli(capsys, "forget-customer", claudia)
    assert code == 0, output
    assert claudia not in output
    assert report_count(output, "meter_readings", "deleted") == 5  # 4 imported, 1 given
    assert (
        report_count(output, "sepa_mandates", "deleted (the billing system keeps the originals)")
        == 1
    )
    assert report_count(output, "service_cases", "deleted (with the files sent with them)") == 1
    with session_scope(stores.database_url) as session:
        mandates = set(session.scalars(select(SepaMandate.mandate_reference)))
        assert mandates == {"STW-DEMO-0000028"}  # Hatice's stays
        assert not session.scalars(select(ServiceCase)).all()
        assert not session.scalars(select(CaseAttachment)).all()
        kept = session.scalars(select(PaymentArrangement)).one()
        assert is_pseudonym(kept.conversation_id) and len(kept.instalments) == 1
        holder = kept.customer
        assert not holder.customer_number.isdigit() and holder.last_name == "-"
        assert not holder.contracts  # no booked advance payment change: contracts go
        blocks = session.scalars(select(SupplyBlock)).all()
        assert blocks and all(b.contract.customer.customer_number != claudia for b in blocks)
    assert export_of(sabine) == sabine_before
    assert run_cli(capsys, "export-customer", claudia)[0] == 1


def test_forgetting_an_unknown_number_changes_nothing(
    stores: Stores, capsys: pytest.CaptureFixture[str]
) -> None:
    stores.save("kaethe-rest", verified_conversation(KAETHE, NOW - DAY))
    before, rows_before = stores.counts(), stores.tracker_rows()
    code, output = run_cli(capsys, "forget-customer", "19999999")
    assert code == 1 and "no customer with number 19999999; nothing changed" in output
    assert run_cli(capsys, "forget-customer", "1234")[0] == 2
    assert stores.counts() == before and stores.tracker_rows() == rows_before


# --- through the real servers: what a customer really said --------------------------------


def new_customer(servers: Servers, number: str, phone: str) -> dict[str, str]:
    """A customer of their own in the servers' database (a copy of a demo customer)."""
    record = json.loads(json.dumps(demo_document()["customers"][10]))  # Käthe Groß
    record.update(customer_number=number, phone=phone)
    suffix = number[-4:]
    for index, contract in enumerate(record["contracts"]):
        contract["contract_number"] = f"3{suffix}{index:03d}"
        for bill in contract["bills"]:
            bill["bill_number"] = f"{bill['bill_number']}-{suffix}"
    with session_scope(servers.database_url) as session:
        customer_data.import_customers(session, {"customers": [record]})
    return {"number": number, "postcode": record["postcode"], "birth": "05.10.1940"}


@pytest.fixture
def servers_cli(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> Servers:
    """The CLI pointed at the running servers' database and tracker store."""
    monkeypatch.setenv("DATABASE_URL", servers.database_url)
    monkeypatch.setenv("TRACKER_STORE_URL", servers.settings.tracker_store_url)
    monkeypatch.setenv("PSEUDONYM_KEY", servers.settings.pseudonym_key)
    return servers


def verify_on_the_phone(servers: Servers, customer: dict[str, str], caller: str) -> Call:
    call = Call(servers.settings.voice_base_url, DEV_TWILIO_TOKEN, caller=caller)
    call.start()
    call.press("1")
    call.say("Ich möchte meine Rechnung wissen")
    call.press(customer["postcode"])  # the caller's number gave the customer number
    answer = call.press(customer["birth"].replace(".", ""))
    assert "letzte Rechnung" in answer.spoken
    call.hang_up()
    return call


def said_in(servers: Servers, sender: str) -> list[dict[str, Any]]:
    """What Rasa has of a conversation: its messages and slots (for an unknown one, none)."""
    reply = httpx.get(
        f"{servers.api}/conversations/{sender}/tracker",
        params={"token": TOKEN},
        timeout=30,
    )
    return [e for e in reply.json()["events"] if e["event"] in ("user", "bot", "slot")]


def test_export_holds_the_customers_conversations_cases_and_calls(
    servers_cli: Servers, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = new_customer(servers_cli, "10009901", "+4915100009901")
    rest = Attacker(servers_cli)
    rest.say("Meine Rechnung bitte")
    assert "R-20" in rest.say(f"{customer['number']} {customer['postcode']} {customer['birth']}")
    rest.say("Ich möchte mit einem Menschen sprechen")
    call = verify_on_the_phone(servers_cli, customer, "+4915100009901")

    code, output = run_cli(capsys, "export-customer", customer["number"])
    assert code == 0, output
    record = json.loads(output)
    assert {"advance_payment_changes", "handoffs", "contracts"} <= set(record)  # as before
    by_id = {c["conversation_id"]: c for c in record["conversations"]}
    assert set(by_id) == {rest.sender, call.call_sid}
    assert (by_id[rest.sender]["channel"], by_id[call.call_sid]["channel"]) == ("rest", "voice")
    said = [m["text"] for m in by_id[rest.sender]["messages"] if m["from"] == "customer"]
    assert said[0] == "Meine Rechnung bitte" and "Menschen" in said[-1]
    assert any(
        "Rechnung" in m["text"] for m in by_id[rest.sender]["messages"] if m["from"] == "bot"
    )
    (case,) = record["handoffs"]
    assert case["conversation_id"] == rest.sender and case["transcript"]
    assert case["messages"] == len(case["transcript"])
    (phone,) = record["phone_calls"]
    assert phone["call_sid"] == call.call_sid and phone["caller"] == "+4915100009901"


def test_forget_customer_after_real_conversations(
    servers_cli: Servers, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = new_customer(servers_cli, "10009902", "+4915100009902")
    other = new_customer(servers_cli, "10009903", "+4915100009903")
    mine, theirs = Attacker(servers_cli), Attacker(servers_cli)
    for chat_, who in ((mine, customer), (theirs, other)):
        chat_.say("Meine Rechnung bitte")
        assert "R-20" in chat_.say(f"{who['number']} {who['postcode']} {who['birth']}")
    call = verify_on_the_phone(servers_cli, customer, "+4915100009902")
    assert said_in(servers_cli, mine.sender)

    code, output = run_cli(capsys, "forget-customer", customer["number"])
    assert code == 0, output
    assert report_count(output, "conversations", "deleted") == 2
    assert said_in(servers_cli, mine.sender) == []
    assert said_in(servers_cli, call.call_sid) == []
    with session_scope(servers_cli.database_url) as session:
        calls = select(PhoneCall).where(PhoneCall.call_sid == call.call_sid)
        assert not session.scalars(calls).all()
    # The other customer keeps their conversation and their record.
    assert any(e["event"] == "user" for e in said_in(servers_cli, theirs.sender))
    assert run_cli(capsys, "export-customer", other["number"])[0] == 0


def test_forget_customer_erases_cases_opened_before_the_identity_check(
    servers_cli: Servers, capsys: pytest.CaptureFixture[str]
) -> None:
    customer = new_customer(servers_cli, "10009904", "+4915100009904")
    chat_ = Attacker(servers_cli)
    for text in ("Ich möchte mich beschweren", "Rechnung", "Die Rechnung kam viel zu spät"):
        chat_.say(text)
    assert "BS-" in chat_.say("kunde9904@example.org")
    chat_.say("Meine Rechnung bitte")
    assert "R-20" in chat_.say(f"{customer['number']} {customer['postcode']} {customer['birth']}")

    def complaints_of_the_chat() -> int:
        with session_scope(servers_cli.database_url) as session:
            found = select(ServiceCase).where(ServiceCase.conversation_id == chat_.sender)
            return len(session.scalars(found).all())

    assert complaints_of_the_chat() == 1  # filed before the customer proved who they are
    code, output = run_cli(capsys, "forget-customer", customer["number"])
    assert code == 0, output
    assert complaints_of_the_chat() == 0


# --- minimisation ---------------------------------------------------------------------------


def test_a_birth_date_given_before_a_handoff_is_not_kept(servers: Servers) -> None:
    customer = Attacker(servers)
    customer.say("Meine Rechnung bitte")
    customer.say("10000011")
    customer.say("05.10.1940")
    customer.say("Ich möchte mit einem Menschen sprechen")
    slots = customer.slots()
    assert (slots.get("customer_number"), slots.get("birth_date")) == (None, None)
    with session_scope(servers.database_url) as session:
        case = session.scalars(
            select(HandoffCase).where(HandoffCase.conversation_id == customer.sender)
        ).one()
    said = [line["text"] for line in case.transcript if line["from"] == "customer"]
    assert said[1:3] == ["******11", MASKED_DATE]
    assert "1940" not in json.dumps(case.transcript)


@pytest.mark.asyncio
async def test_the_agent_reads_identity_values_masked(web: Servers) -> None:
    async with Widget(web.app_url) as widget:
        await widget.say("Meine Rechnung bitte")
        assert "R-20" in await widget.texts("10000011 45130 05.10.1940")
        await widget.say("Ich möchte mit einem Mitarbeiter sprechen")
        conversation = conversation_of(web, widget)
    with session_scope(web.database_url) as session:
        case_id = session.scalars(
            select(HandoffCase.case_id).where(HandoffCase.conversation_id == conversation)
        ).one()
    console = Console(web.app_url)
    assert console.login("aylin", "demo-aylin-2026").status_code == 303
    detail = console.get(f"/agent/api/cases/{case_id}").json()
    said = [m["text"] for m in detail["transcript"] if m["from"] == "customer"]
    assert said[1] == f"******11 45130 {MASKED_DATE}"
    # The case itself names the verified customer: all the agent needs.
    assert detail["customer"]["customer_number"] == "10000011"
