"""Bank details and SEPA direct debit (bot/domain/services/bank_details.py) on a real
SQLite database with the demo customers: new mandates, the change to transfer,
what the customer's words mean, and retention blanking the IBAN slot."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import create_engine, func, insert, select

from bot.domain.errors import (
    IbanProblem,
    InvalidAccountHolder,
    InvalidIban,
    NotFound,
    NothingToRevoke,
    UnchangedBankAccount,
)
from bot.domain.models import AuditEntry, Customer, SepaMandate
from bot.domain.services import bank_details as bd
from bot.domain.services import retention, tracker_events
from bot.infra.settings import Settings, SettingsError

NEUMANN, KAYA, MUELLER = "10000025", "10000028", "10000002"
NEUMANN_IBAN = "DE89370400440532013000"  # Commerzbank, her mandate STW-DEMO-0000025
NEW_IBAN = "DE75512108001245126199"  # Societe Generale
OTHER_IBAN = "DE44500105175407324931"  # ING-DiBa
CREDITOR = "DE98ZZZ09999999999"
TODAY = dt.date(2026, 11, 23)  # Neumann's advance payments are due on the 1st


def mandates(session, number: str) -> list[SepaMandate]:
    customer = session.scalar(select(Customer).where(Customer.customer_number == number))
    return list(
        session.scalars(
            select(SepaMandate)
            .where(SepaMandate.customer_id == customer.id)
            .order_by(SepaMandate.id)
        )
    )


def payment_method(session, number: str) -> str:
    return session.scalar(select(Customer.payment_method).where(Customer.customer_number == number))


def audit(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def give(session, number=NEUMANN, iban=NEW_IBAN, holder="Claudia Neumann", request_id="req-1"):
    return bd.give_mandate(
        session,
        customer_number=number,
        iban=iban,
        holder=holder,
        creditor_id=CREDITOR,
        request_id=request_id,
        channel="rest",
        conversation_id="conv-1",
        today=TODAY,
    )


def transfer(session, number=NEUMANN, request_id="req-t"):
    return bd.pay_by_transfer(
        session,
        customer_number=number,
        request_id=request_id,
        channel="voice",
        conversation_id="conv-2",
        today=TODAY,
    )


# --- the customer's setup ---------------------------------------------------------------


def test_setup_shows_the_active_mandate_masked(session):
    setup = bd.payment_setup(session, NEUMANN, TODAY)
    assert setup.full_name == "Claudia Neumann" and setup.payment_method == "direct_debit"
    assert setup.mandate is not None
    assert setup.mandate.reference == "STW-DEMO-0000025"
    assert setup.mandate.bank_name == "Commerzbank"
    assert setup.mandate.masked_iban == "DE89 **** **** **** **30 00"
    assert NEUMANN_IBAN not in repr(setup)
    # due on the 1st: 1 December is eight days ahead
    assert setup.applies_from == dt.date(2026, 12, 1)


def test_setup_of_a_customer_paying_by_transfer(session):
    setup = bd.payment_setup(session, MUELLER, TODAY)
    assert setup.payment_method == "transfer" and setup.mandate is None
    # due on the 15th, five days ahead at least: 15 December
    assert setup.applies_from == dt.date(2026, 12, 15)
    with pytest.raises(NotFound):
        bd.payment_setup(session, "19999999", TODAY)


def test_applies_from_the_earliest_due_date_five_days_ahead(session):
    # On 27 November the 1 December is four days away: 1 January
    assert bd.payment_setup(session, NEUMANN, dt.date(2026, 11, 27)).applies_from == dt.date(
        2027, 1, 1
    )


# --- checking a new account ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "bank"),
    [
        ("DE75 5121 0800 1245 1261 99", "Societe Generale"),
        ("meine neue iban ist de75512108001245126199 bitte", "Societe Generale"),
        ("75512108001245126199", "Societe Generale"),  # keyed on the phone: DE and 20 digits
        ("7551 2108 0012 4512 6199", "Societe Generale"),
        ("DE44500105175407324931", "ING-DiBa"),
    ],
)
def test_a_new_account_is_read_however_it_is_given(session, said, bank):
    account = bd.new_account(session, NEUMANN, said)
    assert account.bank_name == bank and len(account.iban) == 22


@pytest.mark.parametrize(
    ("said", "problem"),
    [
        ("DE75512108001245126198", IbanProblem.CHECKSUM),
        ("DE7551210800124512619", IbanProblem.LENGTH),
        ("keine Ahnung", IbanProblem.NOT_FOUND),
        ("7551210800124512619", IbanProblem.NOT_FOUND),  # 19 digits are no IBAN
    ],
)
def test_a_wrong_iban_says_why(session, said, problem):
    with pytest.raises(InvalidIban) as refusal:
        bd.new_account(session, NEUMANN, said)
    assert refusal.value.problem == problem


def test_the_account_already_debited_is_no_new_account(session):
    with pytest.raises(UnchangedBankAccount):
        bd.new_account(session, NEUMANN, "DE89 3704 0044 0532 0130 00")
    # for someone else it is a new account
    assert bd.new_account(session, KAYA, NEUMANN_IBAN).bank_name == "Commerzbank"


# --- a new mandate ------------------------------------------------------------------------


def test_a_new_mandate_replaces_the_active_one(session):
    result = give(session)
    assert not result.already_applied
    assert re.fullmatch(r"STW-\d{8}", result.mandate.reference)
    assert result.mandate.masked_iban == "DE75 **** **** **** **61 99"
    assert result.mandate.bank_name == "Societe Generale"
    assert result.revoked is not None and result.revoked.reference == "STW-DEMO-0000025"
    assert result.applies_from == dt.date(2026, 12, 1)

    old, new = mandates(session, NEUMANN)
    assert (old.status, old.revoked_on) == ("revoked", TODAY)
    assert (new.status, new.iban, new.bic, new.account_holder) == (
        "active",
        NEW_IBAN,
        "SOGEDEFFXXX",
        "Claudia Neumann",
    )
    assert (new.creditor_id, new.signed_on, new.source, new.channel) == (
        CREDITOR,
        TODAY,
        "assistant",
        "rest",
    )
    assert payment_method(session, NEUMANN) == "direct_debit"
    [entry] = audit(session, bd.MANDATE_CREATED)
    assert entry.agent_id is None
    assert entry.detail == {
        "sepa_mandate": new.id,
        "revoked_mandate": old.id,
        "channel": "rest",
        "request_id": "req-1",
    }
    assert "DE75" not in json.dumps(entry.detail)


def test_a_repeated_request_stores_nothing_more(session):
    first = give(session)
    again = give(session)
    assert again.already_applied
    assert again.mandate == first.mandate and again.revoked == first.revoked
    assert len(mandates(session, NEUMANN)) == 2
    assert len(audit(session, bd.MANDATE_CREATED)) == 1
    # a new request with another account replaces the new mandate in turn
    third = give(session, iban=OTHER_IBAN, request_id="req-2")
    assert third.revoked is not None and third.revoked.reference == first.mandate.reference
    assert [m.status for m in mandates(session, NEUMANN)] == ["revoked", "revoked", "active"]


def test_a_customer_paying_by_transfer_gets_direct_debit(session):
    result = give(session, number=MUELLER, holder="Jürgen Müller")
    assert result.revoked is None
    [mandate] = mandates(session, MUELLER)
    assert mandate.status == "active" and payment_method(session, MUELLER) == "direct_debit"
    assert audit(session, bd.MANDATE_CREATED)[0].detail["revoked_mandate"] is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"iban": NEUMANN_IBAN}, UnchangedBankAccount),
        ({"iban": "DE75512108001245126198"}, InvalidIban),
        ({"holder": "12345"}, InvalidAccountHolder),
        ({"number": "19999999"}, NotFound),
    ],
)
def test_a_refused_mandate_changes_nothing(session, kwargs, error):
    before = [(m.id, m.status) for m in mandates(session, NEUMANN)]
    with pytest.raises(error):
        give(session, **kwargs)
    assert [(m.id, m.status) for m in mandates(session, NEUMANN)] == before
    assert payment_method(session, NEUMANN) == "direct_debit"
    assert audit(session, bd.MANDATE_CREATED) == []


def test_references_are_unique(session):
    references = {
        give(session, number=MUELLER, iban=iban, request_id=f"r{i}").mandate.reference
        for i, iban in enumerate([NEW_IBAN, OTHER_IBAN, NEUMANN_IBAN])
    }
    assert len(references) == 3
    count = session.scalar(select(func.count()).select_from(SepaMandate))
    assert count == len(set(session.scalars(select(SepaMandate.mandate_reference))))


# --- paying by transfer -------------------------------------------------------------------


def test_paying_by_transfer_revokes_the_mandate(session):
    result = transfer(session)
    assert not result.already_applied
    assert result.revoked.reference == "STW-DEMO-0000025"
    assert result.revoked.masked_iban == "DE89 **** **** **** **30 00"
    [mandate] = mandates(session, NEUMANN)
    assert (mandate.status, mandate.revoked_on) == ("revoked", TODAY)
    assert payment_method(session, NEUMANN) == "transfer"
    [entry] = audit(session, bd.SWITCHED_TO_TRANSFER)
    assert entry.detail == {
        "revoked_mandate": mandate.id,
        "channel": "voice",
        "request_id": "req-t",
    }
    # the same request again: the same answer, nothing more stored
    again = transfer(session)
    assert again.already_applied and again.revoked == result.revoked
    assert len(audit(session, bd.SWITCHED_TO_TRANSFER)) == 1
    # a new request: nothing to revoke any more
    with pytest.raises(NothingToRevoke):
        transfer(session, request_id="req-t2")


def test_nothing_to_revoke_for_a_customer_paying_by_transfer(session):
    with pytest.raises(NothingToRevoke):
        transfer(session, number=MUELLER)
    assert payment_method(session, MUELLER) == "transfer"
    assert audit(session, bd.SWITCHED_TO_TRANSFER) == []


# --- what the customer's words mean ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wish"),
    [
        ("Überweisung", bd.TRANSFER),
        ("ich will nicht mehr abbuchen lassen, lieber überweisen", bd.TRANSFER),
        ("ich möchte keine Lastschrift mehr", bd.TRANSFER),
        ("Einzugsermächtigung widerrufen", bd.TRANSFER),
        ("lieber ueberweisen", bd.TRANSFER),
        ("havale ile ödemek istiyorum", bd.TRANSFER),
        ("otomatik ödeme talimatımı iptal etmek istiyorum", bd.TRANSFER),
        ("hesabimdan otomatik cekimi durdurun", bd.TRANSFER),
        ("Lastschrift einrichten", bd.DIRECT_DEBIT),
        ("neue Bankverbindung", bd.DIRECT_DEBIT),
        ("Kontowechsel", bd.DIRECT_DEBIT),
        ("IBAN değişti", bd.DIRECT_DEBIT),
        ("neue IBAN'ım var", bd.DIRECT_DEBIT),
        ("yeni banka hesabım", bd.DIRECT_DEBIT),
        ("otomatik ödeme talimatı", bd.DIRECT_DEBIT),
        ("paranın hesabımdan otomatik çekilmesini istiyorum", bd.DIRECT_DEBIT),
        ("DE75 5121 0800 1245 1261 99", bd.DIRECT_DEBIT),
        # both at once, or neither: the customer is asked
        ("Lastschrift statt Überweisung", None),
        ("ich will nicht mehr überweisen sondern abbuchen lassen", None),
        ("Hallo", None),
    ],
)
def test_payment_wish(text, wish):
    assert bd.payment_wish(text) == wish


@pytest.mark.parametrize(
    ("said", "name"),
    [
        ("Petra Neumann", "Petra Neumann"),
        ("Kontoinhaberin ist Petra Neumann", "Petra Neumann"),
        ("Kontoinhaber: Dr. Hans-Peter Müller-Lüdenscheidt", "Dr. Hans-Peter Müller-Lüdenscheidt"),
        ("hesap sahibi Ahmet Kaya", "Ahmet Kaya"),
        ("  Şükrü   Öztürk\u200b ", "Şükrü Öztürk"),
        ("<b>Jan O'Brien</b>", "Jan O'Brien"),
        ("Max und Erika Mustermann", "Max und Erika Mustermann"),
    ],
)
def test_account_holder_is_taken_as_typed_and_cleaned(said, name):
    assert bd.account_holder(said) == name


@pytest.mark.parametrize(
    ("said", "problem"),
    [("", "empty"), ("?", "empty"), ("DE75512108001245126199", "digits"), ("A" * 71, "too_long")],
)
def test_unusable_account_holders(said, problem):
    with pytest.raises(InvalidAccountHolder) as refusal:
        bd.account_holder(said)
    assert refusal.value.problem == problem
    assert bd.account_holder("A" * 70) == "A" * 70


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Sören Bäcker", True),
        ("Dr. Hans-Peter Müller", True),
        ("Gülşen Çelik", True),
        ("Tschüss", False),
        ("Guten Tag", False),
        ("Vielen Dank", False),
        ("Hoşça Kalın", False),
        ("Wer Bist Du?", False),
        ("ich selbst", False),
    ],
)
def test_what_reads_as_a_name(text, name):
    assert bd.looks_like_a_name(text) is name


def test_twenty_keyed_digits_are_a_german_iban():
    assert bd.with_country("75512108001245126199") == NEW_IBAN
    assert bd.with_country("7551 2108 0012 4512 6199") == NEW_IBAN
    assert bd.with_country("7551210800124512619") == "7551210800124512619"
    assert bd.with_country("Hallo") == "Hallo"


# --- settings -----------------------------------------------------------------------------


def test_creditor_id_and_our_account_come_from_checked_settings():
    settings = Settings()
    assert settings.sepa_creditor_id == CREDITOR and bd.is_creditor_id(CREDITOR)
    assert settings.stadtwerk_bank_name and len(settings.stadtwerk_iban) == 22
    assert Settings(sepa_creditor_id="de98 zzz0 9999 9999 99").sepa_creditor_id == CREDITOR
    for wrong in ("DE97ZZZ09999999999", "DE98", "Stadtwerke"):
        assert not bd.is_creditor_id(wrong)
        with pytest.raises(SettingsError, match="SEPA_CREDITOR_ID"):
            Settings(sepa_creditor_id=wrong)
    with pytest.raises(SettingsError, match="STADTWERK_IBAN"):
        Settings(stadtwerk_iban="DE21440501990001000013")


# --- retention: the IBAN slot is blanked like the identity values -----------------------


def test_retention_blanks_the_iban_slot_of_an_ended_conversation(session, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    tracker_events.EVENTS.metadata.create_all(engine)
    now = dt.datetime(2026, 11, 23, 12)
    two_days_ago = (now - dt.timedelta(days=2)).replace(tzinfo=dt.timezone.utc).timestamp()
    said = {
        "event": "user",
        "text": "DE75 5121 0800 1245 1261 99",
        "parse_data": {
            "text": "DE75 5121 0800 1245 1261 99",
            "entities": [{"entity": "iban", "value": "DE75 5121 0800 1245 1261 99"}],
        },
        "timestamp": two_days_ago,
    }
    slot = {"event": "slot", "name": "bd_iban", "value": NEW_IBAN, "timestamp": two_days_ago}
    language = {"event": "slot", "name": "language", "value": "de", "timestamp": two_days_ago}
    with engine.begin() as connection:
        for event in (said, slot, language):
            connection.execute(
                insert(tracker_events.EVENTS).values(
                    sender_id="ended",
                    type_name=event["event"],
                    timestamp=event["timestamp"],
                    action_name=event.get("name"),
                    data=json.dumps(event),
                )
            )
    periods = retention.Periods(
        conversations=dt.timedelta(days=90),
        phone_turns=dt.timedelta(days=30),
        closed_cases=dt.timedelta(days=90),
        audit=dt.timedelta(days=365),
        account_change_years=10,
        identity_values=dt.timedelta(hours=24),
    )
    with engine.begin() as connection:
        report = retention.purge(session, connection, periods, b"k" * 32, now=now)
    assert report.count(retention.TRACKER, "identity values blanked") == 2
    with engine.connect() as connection:
        stored = tracker_events.events_of(connection, ["ended"])["ended"]
    assert "DE75" not in json.dumps(stored[0]) and "6199" in stored[0]["text"]
    assert stored[1] == {**slot, "value": None}
    assert stored[2] == language
    assert "bd_iban" in retention.BLANKED_SLOTS
    engine.dispose()
