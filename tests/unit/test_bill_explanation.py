"""Explaining why a bill is as high as it is (bot/domain/services/bill_explanation.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.domain.errors import NotFound
from bot.domain.services import bill_explanation as be
from bot.domain.services.bill_explanation import BillFacts


def bill(
    number: str,
    start: str,
    end: str,
    consumption: str,
    total: str,
    advances: str = "0",
    balance: str | None = None,
    issued: str | None = None,
    unit: str = "kWh",
) -> BillFacts:
    period_end = dt.date.fromisoformat(end)
    return BillFacts(
        bill_number=number,
        kind="annual",
        issued_on=dt.date.fromisoformat(issued) if issued else period_end + dt.timedelta(days=20),
        period_start=dt.date.fromisoformat(start),
        period_end=period_end,
        consumption=Decimal(consumption),
        unit=unit,
        total_amount=Decimal(total),
        advance_payments_made=Decimal(advances),
        balance=Decimal(balance) if balance is not None else Decimal(total) - Decimal(advances),
    )


YEAR_2023 = bill("R-23", "2023-01-01", "2023-12-31", "3000", "1100.00", "1100.00")
YEAR_2024 = bill("R-24", "2024-01-01", "2024-12-31", "3108", "1260.00", "1260.00")
YEAR_2025 = bill("R-25", "2025-01-01", "2025-12-31", "3286", "1259.52", "1080.00")


def explain(*bills: BillFacts, current: str = "100.00", recommended: str = "109.00"):
    return be.explain(
        "30000002", "electricity", Decimal(current), Decimal(recommended), list(bills)
    )


# --- which bills are compared --------------------------------------------------------


def test_the_latest_bill_is_explained_whatever_the_order():
    assert explain(YEAR_2025, YEAR_2024).bill == YEAR_2025
    assert explain(YEAR_2024, YEAR_2025).bill == YEAR_2025


def test_last_years_bill_is_compared_once_though_it_is_also_the_previous_period():
    [comparison] = explain(YEAR_2024, YEAR_2025).comparisons
    assert comparison.kind == "year_before" and comparison.earlier == YEAR_2024


def test_a_leap_year_is_still_compared_as_a_whole():
    [comparison] = explain(YEAR_2024, YEAR_2025).comparisons  # 366 against 365 days
    assert not comparison.per_day
    assert (comparison.current_value, comparison.earlier_value) == (
        Decimal("3286"),
        Decimal("3108"),
    )
    assert comparison.difference == Decimal("178")
    assert comparison.change == Decimal("0.0573")  # 178 / 3108
    assert comparison.direction == "up"


def test_a_bill_without_earlier_bills_has_no_comparison():
    explanation = explain(YEAR_2025)
    assert explanation.comparisons == ()
    assert explanation.price == be.PriceComparison(current=Decimal("0.3833"))


def test_an_interim_bill_is_compared_per_day_with_the_previous_annual_bill():
    # customer 10000013: Jan-Oct 2026 (304 days) after the annual bill 2025 (365 days)
    annual_2024 = bill("R-24", "2024-01-01", "2024-12-31", "8292", "1205.92", "1068.00")
    annual_2025 = bill("R-25", "2025-01-01", "2025-12-31", "8723", "1183.15", "1068.00")
    interim = bill("R-26", "2026-01-01", "2026-10-31", "6723", "902.98", "800.00")
    explanation = explain(annual_2024, annual_2025, interim, current="80.00", recommended="102.00")
    # no bill covers January to October 2025: nothing to compare a year back
    [comparison] = explanation.comparisons
    assert comparison.kind == "previous" and comparison.earlier == annual_2025
    assert comparison.per_day
    assert (interim.days, annual_2025.days) == (304, 365)
    assert comparison.current_value == Decimal("22.1")  # 6723 / 304
    assert comparison.earlier_value == Decimal("23.9")  # 8723 / 365
    assert comparison.change == Decimal("-0.0746")
    assert comparison.direction == "down"


def test_same_period_a_year_before_and_the_previous_period_are_both_compared():
    # an annual bill for 2025, with an interim bill for the last months of 2024 before it
    first_half_2024 = bill("R-24a", "2024-01-01", "2024-09-30", "2400", "900.00")
    rest_2024 = bill("R-24b", "2024-10-01", "2024-12-31", "700", "280.00")
    year_2024 = bill("R-24", "2024-01-01", "2024-12-31", "3100", "1180.00", issued="2025-01-02")
    comparisons = explain(first_half_2024, rest_2024, year_2024, YEAR_2025).comparisons
    assert [(c.kind, c.earlier.bill_number) for c in comparisons] == [
        ("year_before", "R-24"),
        ("previous", "R-24b"),
    ]
    assert not comparisons[0].per_day and comparisons[1].per_day


def test_an_overlapping_earlier_bill_is_no_previous_period():
    interim = bill("R-25i", "2025-01-01", "2025-06-30", "1500", "600.00", issued="2025-07-10")
    [comparison] = explain(YEAR_2024, interim, YEAR_2025).comparisons
    assert comparison.earlier == YEAR_2024


def test_a_bill_without_consumption_is_not_compared_with():
    empty = bill("R-24", "2024-01-01", "2024-12-31", "0", "120.00")
    assert explain(empty, YEAR_2025).comparisons == ()


@pytest.mark.parametrize(
    ("earlier", "direction"),
    [("3270", "same"), ("3253", "up"), ("3320", "down"), ("3290", "same")],
)
def test_less_than_one_per_cent_is_about_the_same(earlier, direction):
    before = bill("R-24", "2024-01-01", "2024-12-31", earlier, "1200.00")
    [comparison] = explain(before, YEAR_2025).comparisons
    assert comparison.direction == direction


# --- the price per unit ------------------------------------------------------------


def test_the_average_price_is_compared_with_the_previous_bill_when_it_changed():
    price = explain(YEAR_2024, YEAR_2025).price
    assert price is not None
    assert price.current == Decimal("0.3833")  # 1259.52 / 3286
    assert price.earlier == Decimal("0.4054")  # 1260.00 / 3108
    assert price.change == Decimal("-0.0545")
    assert price.direction == "down"
    assert all(isinstance(v, Decimal) for v in (price.current, price.earlier, price.change))


def test_a_price_that_changed_less_than_one_per_cent_is_not_compared():
    before = bill("R-24", "2024-01-01", "2024-12-31", "3000", "1150.00")  # 38,33 ct
    price = explain(before, YEAR_2025).price
    assert price == be.PriceComparison(current=Decimal("0.3833"))
    assert price.direction == "same"


def test_a_bill_without_consumption_has_no_price():
    fee_only = bill("R-25", "2025-01-01", "2025-12-31", "0", "120.00")
    assert explain(fee_only).price is None


# --- the back-payment ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "advances", "large"),
    [
        ("179.52", "1080.00", True),  # over 100 €
        ("100.01", "1000.00", True),
        ("100.00", "1000.00", False),  # exactly 100 € and 10 %: not large
        ("90.00", "400.00", True),  # 22.5 % of the advance payments
        ("80.00", "400.00", False),  # exactly 20 %
        ("60.00", "1000.00", False),
        ("0.00", "1000.00", False),
        ("-250.00", "1000.00", False),  # a credit
    ],
)
def test_a_large_back_payment_is_over_100_euros_or_over_a_fifth_of_the_advances(
    balance, advances, large
):
    assert be.is_large_back_payment(Decimal(balance), Decimal(advances)) is large


def test_a_large_back_payment_offers_the_recommended_advance_payment():
    explanation = explain(YEAR_2024, YEAR_2025)
    assert explanation.large_back_payment
    assert explanation.offered_advance == Decimal("109.00")


def test_no_raise_is_offered_when_the_advance_payment_already_fits():
    explanation = explain(YEAR_2024, YEAR_2025, current="110.00", recommended="109.00")
    assert explanation.large_back_payment and explanation.offered_advance is None


def test_no_raise_is_offered_for_a_small_back_payment():
    small = bill("R-25", "2025-01-01", "2025-12-31", "3286", "1100.00", "1080.00")
    explanation = explain(YEAR_2024, small)
    assert not explanation.large_back_payment and explanation.offered_advance is None


# --- from the database (the demo customers) -------------------------------------------


def test_juergen_muellers_electricity_bill(session):
    explanation = be.explain_latest_bill(session, "10000002", "30000002")
    assert explanation.bill.bill_number == "R-2026-000001"
    [comparison] = explanation.comparisons
    assert comparison.kind == "year_before"
    assert comparison.earlier.consumption == Decimal("3108")
    assert explanation.bill.consumption == Decimal("3286")
    assert explanation.bill.balance == Decimal("179.52")
    assert explanation.offered_advance == Decimal("109.00")


def test_guelsen_celiks_gas_bill_used_less_gas_yet_paid_too_little_in_advance(session):
    explanation = be.explain_latest_bill(session, "10000004", "30000006")
    [comparison] = explanation.comparisons
    assert (comparison.direction, comparison.difference) == ("down", Decimal("-258"))
    assert explanation.price is not None and explanation.price.direction == "down"
    assert explanation.bill.advance_payments_made == Decimal("1608.00")
    assert explanation.offered_advance == Decimal("165.00")


def test_an_interim_bill_in_the_database(session):
    explanation = be.explain_latest_bill(session, "10000013", "30000020")
    assert explanation.bill.bill_number == "R-2026-000021"
    [comparison] = explanation.comparisons
    assert comparison.per_day and comparison.kind == "previous"
    assert explanation.offered_advance == Decimal("102.00")


def test_another_customers_contract_is_not_explained(session):
    with pytest.raises(NotFound):
        be.explain_latest_bill(session, "10000001", "30000002")
