"""Payment arrangements: the schedule rules, the once-a-year deferral, storing once,
supply-block cases; and reading kind, count and date out of what customers write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.domain.errors import (
    ArrangementExists,
    BalanceTooSmall,
    DeferralAlreadyUsed,
    DeferralOutOfRange,
    InstalmentsOutOfRange,
)
from bot.domain.models import (
    AuditEntry,
    Contract,
    Instalment,
    PaymentArrangement,
    ServiceCase,
    SupplyBlock,
)
from bot.domain.parsing import (
    mentions_supply_block,
    parse_arrangement_kind,
    parse_deferral_date,
    parse_instalment_count,
)
from bot.domain.services import payment_arrangements as pa

TODAY = dt.date(2026, 12, 5)
AYSE, GUELSEN, IBRAHIM = "10000001", "10000004", "10000010"


# --- the schedule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "total", ["100.01", "102.98", "130.00", "166.32", "239.50", "312.87", "340.40", "1000.03"]
)
def test_every_allowed_schedule_adds_up_to_the_total_to_the_cent(total):
    total = Decimal(total)
    counts = range(pa.MIN_INSTALMENTS, pa.largest_count(total) + 1)
    assert list(counts), "every balance over 100 € allows instalments"
    for count in counts:
        plan = pa.instalment_plan(total, count, TODAY)
        amounts = [p.amount for p in plan.payments]
        assert len(amounts) == count
        assert sum(amounts) == total
        assert all(a >= pa.SMALLEST_INSTALMENT for a in amounts)
        assert all(a == a.quantize(Decimal("0.01")) for a in amounts)
        # the cents that do not divide evenly are on the last instalment only
        assert len(set(amounts[:-1])) <= 1 and amounts[-1] - amounts[0] < Decimal("0.01") * count


def test_remainder_goes_on_the_last_instalment():
    plan = pa.instalment_plan(Decimal("102.98"), 4, TODAY)
    assert [p.amount for p in plan.payments] == [Decimal("25.74")] * 3 + [Decimal("25.76")]


@pytest.mark.parametrize(
    ("total", "largest"),
    [("100.01", 4), ("124.99", 4), ("125.00", 5), ("149.99", 5), ("150.00", 6), ("5000", 6)],
)
def test_the_largest_count_keeps_every_instalment_at_25_euro(total, largest):
    assert pa.largest_count(Decimal(total)) == largest


@pytest.mark.parametrize("count", [0, 1, 5, 7, 12])
def test_counts_outside_the_rules_are_refused(count):
    # 102.98 € allows 2 to 4 instalments (five would be 20.59 € each)
    with pytest.raises(InstalmentsOutOfRange) as refused:
        pa.instalment_plan(Decimal("102.98"), count, TODAY)
    assert (refused.value.minimum, refused.value.maximum) == (2, 4)
    assert refused.value.smallest_amount == Decimal("25.00")


def test_first_instalment_in_two_weeks_then_monthly():
    plan = pa.instalment_plan(Decimal("312.87"), 3, TODAY)
    assert [p.due_on for p in plan.payments] == [
        dt.date(2026, 12, 19),
        dt.date(2027, 1, 19),
        dt.date(2027, 2, 19),
    ]
    assert [p.number for p in plan.payments] == [1, 2, 3]


def test_monthly_dates_keep_the_day_where_months_are_shorter():
    plan = pa.instalment_plan(Decimal("600.00"), 4, dt.date(2027, 1, 17))  # first: 31 January
    assert [p.due_on for p in plan.payments] == [
        dt.date(2027, 1, 31),
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),
        dt.date(2027, 4, 30),
    ]


def test_deferral_up_to_30_days():
    plan = pa.deferral_plan(Decimal("161.46"), dt.date(2027, 1, 4), TODAY)
    assert plan.deferred_until == dt.date(2027, 1, 4) == pa.latest_deferral(TODAY)
    assert [(p.due_on, p.amount) for p in plan.payments] == [
        (dt.date(2027, 1, 4), Decimal("161.46"))
    ]
    assert pa.deferral_plan(Decimal("161.46"), TODAY + dt.timedelta(days=1), TODAY)


@pytest.mark.parametrize(
    ("until", "problem"),
    [
        (dt.date(2027, 1, 5), "too_late"),  # 31 days
        (dt.date(2027, 1, 19), "too_late"),  # 45 days
        (TODAY, "past"),
        (dt.date(2026, 11, 15), "past"),
    ],
)
def test_deferral_dates_outside_the_rules_are_refused(until, problem):
    with pytest.raises(DeferralOutOfRange) as refused:
        pa.deferral_plan(Decimal("161.46"), until, TODAY)
    assert refused.value.problem == problem
    assert refused.value.latest == dt.date(2027, 1, 4)


# --- the customer's situation and storing --------------------------------------------------


def agree(session, customer, kind="instalments", request_id="req-1", today=TODAY, **plan):
    if kind == "instalments":
        plan.setdefault("count", 3)
    else:
        plan.setdefault("until", today + dt.timedelta(days=20))
    return pa.agree(
        session,
        customer_number=customer,
        kind=kind,
        request_id=request_id,
        channel="rest",
        conversation_id="conv-1",
        today=today,
        **plan,
    )


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_balance_of_100_euro_or_less_gets_no_arrangement(session):
    current = pa.situation(session, AYSE, TODAY)
    assert current.total == Decimal("83.27") and not current.eligible
    assert current.earliest_due_on == dt.date(2025, 2, 5)
    for kind in pa.KINDS:
        with pytest.raises(BalanceTooSmall):
            pa.check_allowed(current, kind)
    with pytest.raises(BalanceTooSmall):
        agree(session, AYSE)
    assert count(session, PaymentArrangement) == 0


def test_instalments_are_stored_once_with_schedule_and_audit(session):
    first = agree(session, GUELSEN, count=3)
    again = agree(session, GUELSEN, count=3)  # the same confirmation delivered twice
    assert not first.already_agreed and again.already_agreed
    assert again.arrangement == first.arrangement
    assert first.arrangement.reference.startswith("RZ-")
    assert first.payment_method == again.payment_method == "transfer"
    [row] = session.scalars(select(PaymentArrangement)).all()
    assert (row.kind, row.total, row.status, row.channel) == (
        "instalments",
        Decimal("312.87"),
        "active",
        "rest",
    )
    assert row.deferred_until is None
    assert [(i.number, i.due_on, i.amount) for i in row.instalments] == [
        (1, dt.date(2026, 12, 19), Decimal("104.29")),
        (2, dt.date(2027, 1, 19), Decimal("104.29")),
        (3, dt.date(2027, 2, 19), Decimal("104.29")),
    ]
    [audit] = session.scalars(select(AuditEntry)).all()
    assert audit.action == "payment_arrangement_agreed" and audit.agent_id is None
    assert audit.detail == {
        "payment_arrangement": row.id,
        "kind": "instalments",
        "payments": 3,
        "channel": "rest",
    }
    assert GUELSEN not in str(audit.detail)


def test_a_running_arrangement_is_shown_instead_of_a_second(session):
    agreed = agree(session, GUELSEN, count=2)
    current = pa.situation(session, GUELSEN, TODAY + dt.timedelta(days=20))
    assert current.running is not None
    assert current.running.reference == agreed.arrangement.reference
    assert current.running.plan == agreed.arrangement.plan
    with pytest.raises(ArrangementExists) as refused:
        agree(session, GUELSEN, request_id="req-2", kind="deferral")
    assert refused.value.reference == agreed.arrangement.reference
    assert count(session, PaymentArrangement) == 1 and count(session, Instalment) == 2
    # once its last instalment is due and past, it no longer blocks a new one
    after = pa.situation(session, GUELSEN, dt.date(2027, 2, 20))
    assert after.running is None


def test_one_deferral_in_365_days(session):
    agreed = agree(session, IBRAHIM, kind="deferral", until=dt.date(2026, 12, 20))
    assert agreed.arrangement.reference.startswith("ST-")
    row = session.scalar(select(PaymentArrangement))
    assert (row.deferred_until, row.total) == (dt.date(2026, 12, 20), Decimal("166.32"))
    assert row.instalments == []
    agreed_on = row.created_at.date()

    # after the deferral ran out the customer asks again, within a year
    later = agreed_on + dt.timedelta(days=100)
    current = pa.situation(session, IBRAHIM, later)
    assert current.running is None and current.last_deferral_on == agreed_on
    assert current.deferral_possible_from == agreed_on + dt.timedelta(days=365)
    with pytest.raises(DeferralAlreadyUsed) as refused:
        agree(session, IBRAHIM, kind="deferral", request_id="req-2", today=later)
    assert refused.value.agreed_on == agreed_on
    assert refused.value.possible_from == agreed_on + dt.timedelta(days=365)
    assert count(session, PaymentArrangement) == 1
    # instalments are still possible
    assert agree(session, IBRAHIM, request_id="req-3", today=later, count=2)

    # a year after the last one, a deferral is possible again
    year_later = pa.situation(session, IBRAHIM, agreed_on + dt.timedelta(days=365))
    assert year_later.deferral_possible_from is None


def test_supply_block_case_once_per_request_and_linked_to_the_handoff(session):
    contract = session.scalar(select(Contract).where(Contract.contract_number == "30000015"))
    session.add(
        SupplyBlock(contract_id=contract.id, status="announced", announced_on=dt.date(2026, 11, 20))
    )
    session.flush()
    current = pa.situation(session, IBRAHIM, TODAY)
    assert [b.contract_number for b in current.announced_blocks] == ["30000015"]
    assert current.blocks_in_force == []

    def open_case():
        return pa.open_supply_block_case(
            session,
            customer_number=IBRAHIM,
            request_id="msg-1",
            language="tr",
            channel="voice",
            conversation_id="CA123",
            reported_by_customer=False,
        )

    case = open_case()
    assert case.created and case.reference.startswith("SP-")
    assert case.data == {
        "contracts": ["30000015"],
        "blocks": [
            {
                "contract_number": "30000015",
                "commodity": "gas",
                "status": "announced",
                "announced_on": "2026-11-20",
                "blocked_on": None,
            }
        ],
        "balance": "166.32",
        "overdue": "166.32",
        "announced_on": "2026-11-20",
        "reported_by_customer": False,
    }
    assert not open_case().created
    pa.link_handoff(session, case.reference, "H-1234ABCD")
    [row] = session.scalars(select(ServiceCase)).all()
    assert (row.kind, row.priority, row.status, row.handoff_case_id) == (
        "supply_block",
        True,
        "open",
        "H-1234ABCD",
    )
    assert (row.language, row.channel, row.conversation_id) == ("tr", "voice", "CA123")
    [audit] = session.scalars(select(AuditEntry)).all()
    assert audit.action == "supply_block_case_opened"
    assert audit.detail == {"service_case": row.id, "channel": "voice"}


# --- reading what customers write ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Ratenzahlung", "instalments"),
        ("kann ich das in raten abstottern", "instalments"),
        ("In Raten zahlen", "instalments"),
        ("taksitle ödeyebilir miyim", "instalments"),
        ("Taksitle ödemek", "instalments"),
        ("faturayı bölerek ödemek istiyorum", "instalments"),
        ("Stundung", "deferral"),
        ("Zahlungsaufschub", "deferral"),
        ("Zahlung aufschieben (Stundung)", "deferral"),
        ("kann ich später zahlen", "deferral"),
        ("ödemeyi erteleyebilir miyiz", "deferral"),
        ("Ödemeyi ertelemek (Stundung)", "deferral"),
        ("Beratung bitte", None),
        ("Raten oder Stundung?", None),
        ("kann grad nicht zahlen", None),
    ],
)
def test_which_arrangement_a_customer_wants(text, kind):
    assert parse_arrangement_kind(text) == kind


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("3", 3),
        ("drei", 3),
        ("in 4 Raten", 4),
        ("sechs Monatsraten", 6),
        ("üç taksit", 3),
        ("6 ayda", 6),
        ("iki", 2),
        ("on iki taksit", 12),
        ("7 Raten", 7),
        ("eine Rate", 1),
        ("20 Raten", 20),
        ("50 € im Monat", None),  # money, not a count
        ("50", None),
        ("ich kann nicht auf einmal zahlen", None),
        ("Ratenzahlung bitte", None),
        ("bis zum 20.12.2026", None),
    ],
)
def test_how_many_instalments(text, count):
    assert parse_instalment_count(text) == count


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("20.12.2026", dt.date(2026, 12, 20)),
        ("bis zum 20.12.", dt.date(2026, 12, 20)),
        ("20. Dezember", dt.date(2026, 12, 20)),
        ("20 aralık'a kadar", dt.date(2026, 12, 20)),
        ("bis zum 20.", dt.date(2026, 12, 20)),
        ("ayın 20'sine kadar", dt.date(2026, 12, 20)),
        ("05.01.", dt.date(2027, 1, 5)),  # next January
        ("15.11.", dt.date(2026, 11, 15)),  # in the past: refused later
        ("in 3 Wochen", dt.date(2026, 12, 26)),
        ("zwanzig Tage", dt.date(2026, 12, 25)),
        ("15 gün", dt.date(2026, 12, 20)),
        ("on beş gün", dt.date(2026, 12, 20)),
        ("iki hafta", dt.date(2026, 12, 19)),
        ("Monatsende", dt.date(2026, 12, 31)),
        ("ay sonuna kadar", dt.date(2026, 12, 31)),
        ("einen Monat", dt.date(2027, 1, 4)),
        ("45 Tage", dt.date(2027, 1, 19)),
        ("morgen", dt.date(2026, 12, 6)),
        ("weiß nicht", None),
    ],
)
def test_until_when(text, day):
    assert parse_deferral_date(text, TODAY) == day


@pytest.mark.parametrize(
    ("text", "block"),
    [
        ("mir wurde die Sperre angedroht", True),
        ("Sperrandrohung bekommen", True),
        ("Sperre mektubu geldi", True),
        ("elektriğimi kesecekler", True),
        ("die wollen mir den Strom abstellen", True),
        ("gazımı kapatacaklar", True),
        ("kann grad nicht zahlen", False),
        ("taksitle ödeyebilir miyim", False),
    ],
)
def test_a_supply_block_mentioned(text, block):
    assert mentions_supply_block(text) is block
