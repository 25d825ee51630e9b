"""The meter readings service: meters, plausibility, storing once with an audit entry.

Demo customers (data/demo/customers.json): Claudia Neumann (10000025) has an
electricity meter (last reading 44.680 kWh on 31.12.2025, 2.810 kWh billed for
2025) and a gas meter (9.095,2 m³, 10.450 kWh billed); Ayşe Yılmaz (10000001)
has bills but no reading yet.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.domain.errors import ImplausibleReading, InvalidReading, NotFound
from bot.domain.models import AuditEntry, Contract, MeterReading
from bot.domain.services import meter_readings as mr

TODAY = dt.date(2026, 11, 23)  # 327 days after the last readings of 31.12.2025
CLAUDIA, CLAUDIA_POWER, CLAUDIA_GAS = "10000025", "30000038", "30000039"
AYSE, AYSE_POWER = "10000001", "30000001"
LAST_READING_DAY = dt.date(2025, 12, 31)


def submit(session, value, *, contract=CLAUDIA_POWER, customer=CLAUDIA, **changes):
    values = {
        "customer_number": customer,
        "contract_number": contract,
        "value": Decimal(value),
        "read_on": TODAY,
        "today": TODAY,
        "confirmed": False,
        "channel": "web",
        "conversation_id": "web-0123456789abcdef01234567",
        "request_id": "req-1",
        **changes,
    }
    return mr.submit_reading(session, **values)


def customer_readings(session) -> list[MeterReading]:
    return list(
        session.scalars(
            select(MeterReading).where(MeterReading.source == "customer").order_by(MeterReading.id)
        )
    )


def audit_entries(session) -> list[AuditEntry]:
    return list(
        session.scalars(select(AuditEntry).where(AuditEntry.action == "meter_reading_submitted"))
    )


# --- the customer's meters ------------------------------------------------------------


def test_meters_with_their_last_reading_and_expected_consumption(session):
    power, gas = mr.meters_of(session, CLAUDIA)
    assert (power.contract_number, power.commodity, power.unit) == (
        CLAUDIA_POWER,
        "electricity",
        "kWh",
    )
    assert power.meter_number == "1ESY1160300381"
    assert power.last == mr.ReadingView(LAST_READING_DAY, Decimal("44680.000"), "kWh", "billing")
    assert power.daily_expected == Decimal(2810) / 365
    # a gas meter counts cubic metres; the bill's kWh are turned into m³
    assert (gas.commodity, gas.unit, gas.last.value) == ("gas", "m3", Decimal("9095.200"))
    assert gas.daily_expected == Decimal(10450) / Decimal("10.3") / 365
    assert all(isinstance(m.daily_expected, Decimal) for m in (power, gas))


def test_a_file_with_bills_but_no_reading_has_no_last_reading(session):
    [meter] = mr.meters_of(session, AYSE)
    assert meter.last is None
    assert meter.daily_expected == Decimal(3120) / 366  # 2024 had 366 days


def test_unknown_customer(session):
    with pytest.raises(NotFound):
        mr.meters_of(session, "99999999")


def test_a_swapped_meter_has_no_earlier_reading(session):
    contract = session.scalar(select(Contract).where(Contract.contract_number == CLAUDIA_POWER))
    contract.meter_number = "1ESY1169999999"
    session.flush()
    power = mr.meters_of(session, CLAUDIA)[0]
    assert power.last is None
    _meter, _value, verdict = mr.preview_reading(
        session, CLAUDIA, CLAUDIA_POWER, Decimal(120), TODAY, TODAY
    )
    assert verdict.verdict == "first"


# --- plausibility -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contract", "value", "verdict"),
    [
        (CLAUDIA_POWER, "47350", "plausible"),
        (CLAUDIA_POWER, "44680", "plausible"),  # nothing used since
        (CLAUDIA_POWER, "49714.904", "plausible"),  # twice the 2.517,452 kWh expected
        (CLAUDIA_POWER, "49714.905", "above_expected"),
        (CLAUDIA_POWER, "65000", "above_expected"),
        (CLAUDIA_POWER, "44679.999", "below_last"),
        (CLAUDIA_POWER, "4468", "below_last"),  # a digit left out
        (CLAUDIA_GAS, "9950.5", "plausible"),
        (CLAUDIA_GAS, "10913.074", "plausible"),  # twice the 908,937 m³ expected
        (CLAUDIA_GAS, "10913.075", "above_expected"),
        (CLAUDIA_GAS, "8123", "below_last"),
    ],
)
def test_verdicts(session, contract, value, verdict):
    meter, checked, found = mr.preview_reading(
        session, CLAUDIA, contract, Decimal(value), TODAY, TODAY
    )
    assert found.verdict == verdict
    assert found.needs_confirmation == (verdict in ("below_last", "above_expected"))
    assert checked == Decimal(value)
    assert found.last == meter.last
    assert found.consumption == Decimal(value) - meter.last.value


def test_the_verdict_names_what_was_expected(session):
    _meter, _value, verdict = mr.preview_reading(
        session, CLAUDIA, CLAUDIA_POWER, Decimal(65000), TODAY, TODAY
    )
    assert verdict.consumption == Decimal("20320.000")
    assert verdict.expected == Decimal("2517.452")


def test_short_intervals_expect_at_least_a_month(session):
    next_day = LAST_READING_DAY + dt.timedelta(days=1)
    # 30 days at 7,7 kWh a day: 231 kWh expected, so up to 462 kWh is plausible
    _m, _v, small = mr.preview_reading(
        session, CLAUDIA, CLAUDIA_POWER, Decimal(44680 + 400), next_day, TODAY
    )
    _m, _v, large = mr.preview_reading(
        session, CLAUDIA, CLAUDIA_POWER, Decimal(44680 + 500), next_day, TODAY
    )
    assert (small.verdict, small.expected) == ("plausible", Decimal("230.959"))
    assert large.verdict == "above_expected"


def test_a_first_reading_has_nothing_to_compare_with(session):
    _meter, value, verdict = mr.preview_reading(
        session, AYSE, AYSE_POWER, Decimal("12345.6"), TODAY, TODAY
    )
    assert (value, verdict.verdict, verdict.needs_confirmation) == (
        Decimal("12345.600"),
        "first",
        False,
    )
    assert verdict.last is None and verdict.expected is None


# --- values that are no reading ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "read_on", "problem"),
    [
        ("-45210", TODAY, "negative"),
        ("123456789012345", TODAY, "too_large"),  # fifteen digits
        ("1000000000", TODAY, "too_large"),
        ("NaN", TODAY, "not_a_number"),
        ("Infinity", TODAY, "not_a_number"),
        ("47350", TODAY + dt.timedelta(days=1), "future_date"),
        ("47350", LAST_READING_DAY - dt.timedelta(days=1), "before_last_reading"),
    ],
)
def test_impossible_values_are_refused_and_nothing_is_stored(session, value, read_on, problem):
    with pytest.raises(InvalidReading) as refused:
        mr.preview_reading(session, CLAUDIA, CLAUDIA_POWER, Decimal(value), read_on, TODAY)
    assert refused.value.problem == problem
    with pytest.raises(InvalidReading):
        submit(session, value, read_on=read_on, confirmed=True)
    assert customer_readings(session) == [] and audit_entries(session) == []


def test_the_largest_reading_and_the_day_of_the_last_reading_are_allowed(session):
    _m, value, verdict = mr.preview_reading(
        session, AYSE, AYSE_POWER, Decimal("999999999.999"), TODAY, TODAY
    )
    assert value == Decimal("999999999.999") and verdict.verdict == "first"
    _m, _v, same_day = mr.preview_reading(
        session, CLAUDIA, CLAUDIA_POWER, Decimal(44700), LAST_READING_DAY, TODAY
    )
    assert same_day.verdict == "plausible"


def test_values_are_kept_to_three_places(session):
    _m, value, _v = mr.preview_reading(
        session, CLAUDIA, CLAUDIA_GAS, Decimal("9950.52449"), TODAY, TODAY
    )
    assert value == Decimal("9950.524")


def test_another_customers_contract_is_not_found(session):
    with pytest.raises(NotFound):
        mr.preview_reading(session, AYSE, CLAUDIA_POWER, Decimal(47350), TODAY, TODAY)
    with pytest.raises(NotFound):
        submit(session, "47350", customer=AYSE)
    assert customer_readings(session) == []


# --- storing ----------------------------------------------------------------------------


def test_a_plausible_reading_is_stored_with_an_audit_entry(session):
    result = submit(session, "47350")
    assert not result.already_applied
    assert result.reading == mr.ReadingView(TODAY, Decimal("47350.000"), "kWh", "customer")
    assert result.plausibility.verdict == "plausible"
    assert result.meter.last.value == Decimal("44680.000")  # the meter as it was

    [row] = customer_readings(session)
    assert row.contract.contract_number == CLAUDIA_POWER
    assert row.meter_number == "1ESY1160300381"
    assert (row.read_on, row.value, row.unit) == (TODAY, Decimal("47350.000"), "kWh")
    assert isinstance(row.value, Decimal)
    assert (row.source, row.reason, row.plausibility, row.confirmed) == (
        "customer",
        "regular",
        "plausible",
        False,
    )
    assert (row.channel, row.conversation_id, row.request_id) == (
        "web",
        "web-0123456789abcdef01234567",
        "req-1",
    )
    [entry] = audit_entries(session)
    assert entry.agent_id is None and entry.case_id is None
    assert entry.detail == {
        "meter_reading": row.id,
        "channel": "web",
        "plausibility": "plausible",
        "confirmed": False,
        "reason": "regular",
    }
    # no personal data in the audit trail
    assert CLAUDIA not in str(entry.detail) and "47350" not in str(entry.detail)


def test_a_gas_reading_is_stored_in_cubic_metres(session):
    result = submit(session, "9950.5", contract=CLAUDIA_GAS)
    assert (result.reading.value, result.reading.unit) == (Decimal("9950.500"), "m3")
    assert customer_readings(session)[0].meter_number == "7ELS8210300392"


def test_a_first_reading_is_stored(session):
    result = submit(session, "12345", customer=AYSE, contract=AYSE_POWER, channel="voice")
    assert result.plausibility.verdict == "first" and result.plausibility.last is None
    [row] = customer_readings(session)
    assert (row.plausibility, row.confirmed, row.channel) == ("first", False, "voice")


@pytest.mark.parametrize(
    ("value", "verdict", "last", "consumption", "expected"),
    [
        ("44000", "below_last", "44680.000", "-680.000", "2517.452"),
        ("65000", "above_expected", "44680.000", "20320.000", "2517.452"),
    ],
)
def test_an_implausible_reading_is_not_stored_unconfirmed(
    session, value, verdict, last, consumption, expected
):
    with pytest.raises(ImplausibleReading) as refused:
        submit(session, value)
    assert refused.value == ImplausibleReading(
        verdict=verdict,
        last_value=Decimal(last),
        consumption=Decimal(consumption),
        expected=Decimal(expected),
    )
    assert customer_readings(session) == [] and audit_entries(session) == []


def test_a_confirmed_implausible_reading_is_stored_as_confirmed(session):
    result = submit(session, "65000", confirmed=True, channel="voice")
    assert result.plausibility.verdict == "above_expected"
    [row] = customer_readings(session)
    assert (row.plausibility, row.confirmed) == ("above_expected", True)
    [entry] = audit_entries(session)
    assert entry.detail["confirmed"] is True and entry.detail["plausibility"] == "above_expected"


def test_confirming_a_plausible_reading_does_not_mark_it_confirmed(session):
    submit(session, "47350", confirmed=True)
    assert customer_readings(session)[0].confirmed is False


def test_the_same_request_is_stored_once(session):
    first = submit(session, "47350")
    again = submit(session, "47350")
    assert again.already_applied and not first.already_applied
    assert again.reading == first.reading
    assert again.meter == first.meter  # as it was before the reading
    assert again.plausibility.verdict == "plausible"
    assert again.plausibility.last == first.plausibility.last
    assert again.plausibility.consumption == Decimal("2670.000")
    assert len(customer_readings(session)) == 1 and len(audit_entries(session)) == 1


def test_the_same_request_delivered_again_in_a_new_transaction(session):
    before = session.scalar(select(func.count()).select_from(MeterReading))
    submit(session, "47350")
    session.commit()
    session.expire_all()
    again = submit(session, "47350")
    assert again.already_applied
    assert again.meter.last.value == Decimal("44680.000")
    assert session.scalar(select(func.count()).select_from(MeterReading)) == before + 1


def test_a_new_request_is_a_new_reading_checked_against_the_last(session):
    submit(session, "47350")
    session.flush()
    session.expire_all()
    [power, _gas] = mr.meters_of(session, CLAUDIA)
    assert power.last == mr.ReadingView(TODAY, Decimal("47350.000"), "kWh", "customer")
    with pytest.raises(ImplausibleReading) as refused:
        submit(session, "47000", request_id="req-2")
    assert refused.value.verdict == "below_last"
    assert len(customer_readings(session)) == 1


@pytest.mark.parametrize("reason", ["move_out", "move_in", "tariff_change"])
def test_why_the_reading_was_taken_is_stored(session, reason):
    submit(session, "47350", reason=reason)
    assert customer_readings(session)[0].reason == reason
    assert audit_entries(session)[0].detail["reason"] == reason


def test_an_unknown_reason_is_a_programming_error(session):
    with pytest.raises(ValueError):
        submit(session, "47350", reason="holiday")
    assert customer_readings(session) == []
