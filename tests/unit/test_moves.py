"""The moving-house service: date window, supply area, contract outcomes, storing once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.domain import move_answers
from bot.domain.addresses import Address, parse_address, parse_postcode
from bot.domain.errors import (
    ImplausibleReading,
    InvalidPostcode,
    MoveDateOutOfRange,
    NotFound,
    OutsideSupplyArea,
)
from bot.domain.models import AuditEntry, MeterReading, ServiceCase
from bot.domain.parsing import parse_day
from bot.domain.services import moves
from bot.domain.services.moves import GivenReading, MoveRequest, Newcomer

TODAY = dt.date(2026, 12, 5)
CLAUDIA = "10000025"  # electricity 30000038 (last 44680 kWh), gas 30000039 (last 9095.2 m3)
ELECTRICITY, GAS = "30000038", "30000039"
BERLIN = Address("Torstraße 12", "10115", "Berlin")
ESSEN = Address("Rüttenscheider Straße 5a", "45130", "Essen")


def request(kind: str = "within", **changes) -> MoveRequest:
    values = {"kind": kind, "move_date": TODAY - dt.timedelta(days=3), "new_address": ESSEN}
    return MoveRequest(**{**values, **changes})


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def record(session, customer=CLAUDIA, req=None, request_id="req-1", channel="rest"):
    return moves.record_move(
        session,
        customer_number=customer,
        request=req or request(),
        language="de",
        channel=channel,
        conversation_id="conv-1",
        request_id=request_id,
        today=TODAY,
    )


# --- the moving date ------------------------------------------------------------------


def test_the_window_is_six_weeks_back_and_six_months_ahead():
    assert moves.date_window(TODAY) == (dt.date(2026, 10, 24), dt.date(2027, 6, 5))
    for day in (dt.date(2026, 10, 24), TODAY, dt.date(2027, 6, 5)):
        assert moves.check_move_date(day, TODAY) == day


@pytest.mark.parametrize(
    ("day", "too_early"),
    [(dt.date(2026, 10, 23), True), (dt.date(2027, 6, 6), False), (dt.date(2027, 12, 5), False)],
)
def test_dates_outside_the_window_are_refused(day, too_early):
    with pytest.raises(MoveDateOutOfRange) as refused:
        moves.check_move_date(day, TODAY)
    assert refused.value.too_early is too_early
    assert (refused.value.earliest, refused.value.latest) == moves.date_window(TODAY)


def test_six_months_after_the_end_of_a_long_month_is_the_end_of_a_short_one():
    assert moves.date_window(dt.date(2026, 8, 31))[1] == dt.date(2027, 2, 28)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15.01.2027", dt.date(2027, 1, 15)),
        ("am 15.1.", dt.date(2027, 1, 15)),
        ("zum 1. April", dt.date(2027, 4, 1)),
        ("15 Nisan'da", dt.date(2027, 4, 15)),
        ("20.11.", dt.date(2026, 11, 20)),  # a few weeks ago, not next year
        ("morgen", dt.date(2026, 12, 6)),
        ("yarın", dt.date(2026, 12, 6)),
        ("Ende des Monats", dt.date(2026, 12, 31)),
        ("ayın sonunda", dt.date(2026, 12, 31)),
        ("Anfang nächsten Monats", dt.date(2027, 1, 1)),
        ("47290", None),
        ("bald", None),
    ],
)
def test_moving_dates_as_customers_say_them(text, expected):
    assert parse_day(text, TODAY) == expected


# --- the new address --------------------------------------------------------------------


@pytest.mark.parametrize("postcode", ["44137", "45130", "46045", "47051"])
def test_the_supply_area_is_44xxx_to_47xxx(postcode):
    assert moves.in_supply_area(postcode)
    assert moves.check_postcode(postcode, "within") == postcode


@pytest.mark.parametrize("kind", ["within", "in"])
def test_a_move_within_or_into_the_area_needs_one_of_its_postcodes(kind):
    with pytest.raises(OutsideSupplyArea):
        moves.check_postcode("10115", kind)
    assert moves.check_postcode("10115", "out") == "10115"


@pytest.mark.parametrize("postcode", ["4413", "441370", "abcde", ""])
def test_a_postcode_has_five_digits(postcode):
    with pytest.raises(InvalidPostcode):
        moves.check_postcode(postcode, "out")


def test_addresses_in_one_message_or_in_parts():
    whole = parse_address("Meine neue Adresse lautet: In der Aue 12a, 45127 Essen")
    assert (whole.street, whole.postcode, whole.town) == ("In der Aue 12a", "45127", "Essen")
    assert parse_address("Kaiserstr. 12-14").street == "Kaiserstr. 12-14"
    assert parse_address("44137 Dortmund").town == "Dortmund"
    assert parse_address("ich weiß nicht").street is None  # no house number
    assert parse_postcode("4 4 1 3 7") == "44137"
    assert parse_postcode("1234") is None


# --- what happens to the contracts ------------------------------------------------------


def test_moving_out_ends_every_contract_with_a_final_bill(session):
    preview = moves.preview_move(session, CLAUDIA, request("out", new_address=BERLIN), TODAY)
    assert [(c.contract_number, c.outcome, c.final_bill) for c in preview.contracts] == [
        (ELECTRICITY, "ends", True),
        (GAS, "ends", True),
    ]
    assert {c.effective_on for c in preview.contracts} == {TODAY - dt.timedelta(days=3)}
    assert preview.final_bill_address == BERLIN
    assert preview.old_postcode == "44137"


def test_moving_out_with_a_forwarding_address_sends_the_final_bill_there(session):
    forwarding = Address("Postfach 12", "50667", "Köln")
    req = request("out", new_address=BERLIN, forwarding_address=forwarding)
    assert moves.preview_move(session, CLAUDIA, req, TODAY).final_bill_address == forwarding


def test_moving_within_the_area_takes_every_contract_along(session):
    preview = moves.preview_move(session, CLAUDIA, request("within"), TODAY)
    assert [(c.outcome, c.final_bill) for c in preview.contracts] == [("moves", False)] * 2
    assert preview.final_bill_address is None


def test_moving_within_the_area_to_another_area_is_refused(session):
    with pytest.raises(OutsideSupplyArea):
        moves.preview_move(session, CLAUDIA, request("within", new_address=BERLIN), TODAY)


def test_a_customer_we_do_not_know_cannot_move(session):
    with pytest.raises(NotFound):
        moves.preview_move(session, "10009999", request(), TODAY)


# --- final readings -----------------------------------------------------------------------


def test_readings_are_taken_once_the_moving_day_has_come(session):
    ahead = request(move_date=TODAY + dt.timedelta(days=10))
    preview = moves.preview_move(session, CLAUDIA, ahead, TODAY)
    assert not preview.readings_due
    assert preview.missing_readings == preview.contracts
    assert moves.readings_due(TODAY, TODAY)


def test_an_implausible_reading_needs_its_confirmation(session):
    below_last = (GivenReading(ELECTRICITY, Decimal("40000")),)
    with pytest.raises(ImplausibleReading) as refused:
        moves.preview_move(session, CLAUDIA, request(readings=below_last), TODAY)
    assert refused.value.verdict == "below_last"
    assert refused.value.last_value == Decimal("44680")
    confirmed = (GivenReading(ELECTRICITY, Decimal("40000"), confirmed=True),)
    preview = moves.preview_move(session, CLAUDIA, request(readings=confirmed), TODAY)
    assert preview.contracts[0].reading == Decimal("40000")
    assert preview.contracts[0].reading_confirmed


def test_the_move_is_stored_with_its_readings_and_an_audit_entry(session):
    readings = (
        GivenReading(ELECTRICITY, Decimal("47200")),
        GivenReading(GAS, None),  # "I do not have it yet"
    )
    move_date = TODAY - dt.timedelta(days=3)
    recorded = record(session, req=request("within", readings=readings), channel="voice")
    assert not recorded.already_recorded
    assert recorded.reference.startswith("UM-") and len(recorded.reference) == 11

    case = session.scalars(select(ServiceCase)).one()
    assert (case.reference, case.kind, case.status, case.channel) == (
        recorded.reference,
        "move",
        "open",
        "voice",
    )
    assert case.customer.customer_number == CLAUDIA
    data = case.data
    assert data["kind"] == "within" and data["move_date"] == move_date.isoformat()
    assert data["old_address"] == {"postcode": "44137"}
    assert data["new_address"] == {
        "street": "Rüttenscheider Straße 5a",
        "postcode": "45130",
        "town": "Essen",
    }
    assert data["forwarding_address"] is None
    assert [(c["contract_number"], c["outcome"]) for c in data["contracts"]] == [
        (ELECTRICITY, "moves"),
        (GAS, "moves"),
    ]
    reading = session.scalars(select(MeterReading).where(MeterReading.reason == "move_out")).one()
    assert (reading.value, reading.read_on, reading.channel, reading.confirmed) == (
        Decimal("47200"),
        move_date,
        "voice",
        False,
    )
    assert reading.contract.contract_number == ELECTRICITY
    assert data["readings"] == [
        {
            "contract_number": ELECTRICITY,
            "meter_number": "1ESY1160300381",
            "read_on": move_date.isoformat(),
            "status": "given",
            "value": "47200.000",
            "unit": "kWh",
            "confirmed": False,
            "meter_reading_id": reading.id,
        },
        {
            "contract_number": GAS,
            "meter_number": "7ELS8210300392",
            "read_on": move_date.isoformat(),
            "status": "missing",
            "value": None,
            "unit": "m3",
            "confirmed": False,
            "meter_reading_id": None,
        },
    ]
    assert data["readings_missing"] is True

    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "move_reported")).one()
    assert audit.agent_id is None
    assert audit.detail == {
        "service_case": case.id,
        "channel": "voice",
        "priority": False,
        "kind": "within",
        "readings_given": 1,
        "readings_missing": True,
    }
    assert CLAUDIA not in str(audit.detail) and "Essen" not in str(audit.detail)


def test_a_move_is_stored_once_per_request_id(session):
    readings = (GivenReading(ELECTRICITY, Decimal("47200")), GivenReading(GAS, Decimal("9990.5")))
    req = request("out", new_address=BERLIN, readings=readings)
    first = record(session, req=req)
    again = record(session, req=req)
    assert again.already_recorded and again.reference == first.reference
    assert again.data == first.data
    assert count(session, ServiceCase) == 1
    assert count(session, MeterReading) - count_billing(session) == 2
    assert session.scalar(select(func.count()).where(AuditEntry.action == "move_reported")) == 1
    # another request is another move, with another reference
    other = record(session, req=req, request_id="req-2")
    assert other.reference != first.reference and count(session, ServiceCase) == 2


def count_billing(session) -> int:
    return session.scalar(
        select(func.count()).select_from(MeterReading).where(MeterReading.source == "billing")
    )


def test_a_refused_move_stores_nothing(session):
    before = (count(session, ServiceCase), count(session, MeterReading), count(session, AuditEntry))
    a_year_ahead = request(move_date=TODAY + dt.timedelta(days=365))
    with pytest.raises(MoveDateOutOfRange):
        record(session, req=a_year_ahead)
    with pytest.raises(OutsideSupplyArea):
        record(session, req=request("within", new_address=BERLIN))
    after = (count(session, ServiceCase), count(session, MeterReading), count(session, AuditEntry))
    assert after == before


def test_someone_new_moves_in_without_being_a_customer(session):
    newcomer = Newcomer("Deniz Aksoy", dt.date(1994, 5, 17), "+4917612345678")
    req = request("in", move_date=TODAY + dt.timedelta(days=20), newcomer=newcomer)
    recorded = record(session, customer=None, req=req)
    case = session.scalars(select(ServiceCase)).one()
    assert case.customer_id is None and case.reference == recorded.reference
    assert case.data["kind"] == "in" and case.data["contracts"] == []
    assert case.data["newcomer"] == {
        "name": "Deniz Aksoy",
        "birth_date": "1994-05-17",
        "contact": "+4917612345678",
    }
    assert case.data["old_address"] is None
    with pytest.raises(OutsideSupplyArea):
        record(
            session,
            customer=None,
            req=request("in", new_address=BERLIN, newcomer=newcomer),
            request_id="req-2",
        )


# --- what customers answer -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Ich ziehe aus dem Versorgungsgebiet weg", "out"),
        ("Auszug", "out"),
        ("Verträge beenden", "out"),
        ("Hizmet bölgenizin dışına taşınıyorum", "out"),
        ("Sözleşmeleri sonlandır", "out"),
        ("Ich ziehe innerhalb des Versorgungsgebiets um", "within"),
        ("umzug innerhalb von essen", "within"),
        ("Hizmet bölgeniz içinde taşınıyorum", "within"),
        ("Ich ziehe neu ein und bin noch kein Kunde", "in"),
        ("Einzug", "in"),
        ("Yeni taşınıyorum, henüz müşteriniz değilim", "in"),
        ("nach Berlin", None),
        ("/request_human", None),
    ],
)
def test_the_kind_of_move_in_both_languages(text, kind):
    assert move_answers.parse_move_kind(text) == kind


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("47210", Decimal("47210")),
        ("47.210", Decimal("47210")),
        ("45 210 kWh", Decimal("45210")),
        ("9095,2", Decimal("9095.2")),
        ("9095.2 m3", Decimal("9095.2")),
        ("der Zähler zeigt 15.890", Decimal("15890")),
        ("weiß nicht", None),
    ],
)
def test_a_reading_as_customers_write_it(text, value):
    assert move_answers.reading_value(text) == value


@pytest.mark.parametrize(
    "text", ["habe ich noch nicht", "Henüz elimde değil", "reiche ich später nach"]
)
def test_a_reading_not_at_hand(text):
    assert move_answers.not_yet(text)
    assert not move_answers.not_yet("47210")


def test_names_and_contacts():
    assert move_answers.person_name("mein Name ist Anna-Lena Groß") == "Anna-Lena Groß"
    assert move_answers.person_name("benim adım Deniz Aksoy") == "Deniz Aksoy"
    assert move_answers.person_name("Bist du ein Bot?") is None
    assert move_answers.person_name("Anna") is None  # first and last name
    assert move_answers.contact_of("erreichbar unter 0231 1234567") == "0231 1234567"
    assert move_answers.contact_of("deniz@example.org bitte") == "deniz@example.org"
    assert move_answers.contact_of("123") is None
    assert move_answers.is_adult(dt.date(2008, 12, 5), TODAY)
    assert not move_answers.is_adult(dt.date(2008, 12, 6), TODAY)
