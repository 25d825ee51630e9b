"""Payment trouble: start, the account review (blocks, running plans, small balances),
the form's questions and refusals, the read-back and storing the plan once."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from actions.common import today
from actions.payment_arrangements import (
    FORM_SLOTS,
    ActionAskPaConfirmed,
    ActionAskPaCount,
    ActionAskPaKind,
    ActionAskPaUntil,
    ActionReviewPaymentStanding,
    ActionStartPaymentArrangement,
    ActionSubmitPaymentArrangement,
    ValidatePaymentArrangementForm,
)
from bot.domain.models import (
    AuditEntry,
    Contract,
    Customer,
    PaymentArrangement,
    ServiceCase,
    SupplyBlock,
)
from bot.domain.references import spoken
from bot.domain.services import payment_arrangements as pa
from bot.infra.db import session_scope
from bot.infra.settings import get_settings
from tests.actions.conftest import (
    assert_handed_off,
    eur,
    handoff_slots,
    make_tracker,
    run,
    slot_event,
)

pytestmark = pytest.mark.asyncio

AYSE, JUERGEN, GUELSEN, IBRAHIM, HANS_JUERGEN = (
    "10000001",
    "10000002",
    "10000004",
    "10000010",
    "10000013",
)
CLEARED = {**{s: None for s in FORM_SLOTS}, "form_cancelled": None}


def day(value: dt.date) -> str:
    return value.strftime("%d.%m.%Y")


def arrangements(url: str) -> list[PaymentArrangement]:
    with session_scope(url) as session:
        rows = session.scalars(select(PaymentArrangement).order_by(PaymentArrangement.id)).all()
        for row in rows:
            _ = list(row.instalments)  # load before the session closes
        session.expunge_all()
        return list(rows)


def service_cases(url: str) -> list[ServiceCase]:
    with session_scope(url) as session:
        rows = session.scalars(select(ServiceCase)).all()
        session.expunge_all()
        return list(rows)


def add_block(url: str, contract_number: str, status: str, **dates: dt.date) -> None:
    with session_scope(url) as session:
        contract = session.scalar(
            select(Contract).where(Contract.contract_number == contract_number)
        )
        session.add(SupplyBlock(contract_id=contract.id, status=status, **dates))


def agree(url: str, customer: str, kind: str = "instalments", **plan) -> pa.Agreed:
    with session_scope(url) as session:
        return pa.agree(
            session,
            customer_number=customer,
            kind=kind,
            request_id=f"earlier-{kind}",
            channel="rest",
            conversation_id="earlier",
            today=today(),
            **plan,
        )


def local_day(stored: dt.datetime) -> dt.date:
    """The utility's day of a moment stored in UTC."""
    zone = ZoneInfo(get_settings().timezone)
    return stored.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()


def backdate(url: str, days: int) -> None:
    """Move every stored arrangement `days` into the past (agreed and due)."""
    with session_scope(url) as session:
        for row in session.scalars(select(PaymentArrangement)):
            row.created_at -= dt.timedelta(days=days)
            if row.deferred_until:
                row.deferred_until -= dt.timedelta(days=days)
            for instalment in row.instalments:
                instalment.due_on -= dt.timedelta(days=days)


# --- 1. the start -------------------------------------------------------------------------


async def test_start_asks_for_identity_first_and_keeps_what_was_said(domain):
    tracker = make_tracker(
        "Kann ich die Nachzahlung in 3 Raten zahlen?",
        "payment_arrangement",
        slots={"pa_confirmed": True, "pa_request_id": "old"},
    )
    outcome = await run(ActionStartPaymentArrangement(), tracker, domain)
    assert outcome.slots == {
        **CLEARED,
        "form_retry": None,
        "pa_kind": "instalments",
        "pa_count": "3",
        "handoff_reason": "payment_arrangement",
        "pending_request": "payment_arrangement",
    }
    assert outcome.followup == "identity_form"
    assert outcome.messages == []


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Stundung bis zum 20.12.2026", "de", {"pa_kind": "deferral", "pa_until": "2026-12-20"}),
        ("ödemeyi erteleyebilir miyiz", "tr", {"pa_kind": "deferral"}),
        ("taksitle ödeyebilir miyim", "tr", {"pa_kind": "instalments"}),
        ("kann grad nicht zahlen", "de", {}),
        ("mir wurde die Sperre angedroht", "de", {"pa_block_mentioned": True}),
        ("Sperre mektubu geldi", "tr", {"pa_block_mentioned": True}),
    ],
)
async def test_start_for_a_verified_customer_looks_at_the_account(domain, text, language, expected):
    tracker = make_tracker(
        text, "payment_arrangement", language=language, slots={"verified_customer": GUELSEN}
    )
    outcome = await run(ActionStartPaymentArrangement(), tracker, domain)
    assert outcome.slots == {
        **CLEARED,
        "form_retry": None,
        "handoff_reason": "payment_arrangement",
        **expected,
    }
    assert outcome.followup == "action_review_payment_standing"


async def test_start_after_a_locked_identity_check_hands_off(database_url, domain, clock):
    tracker = make_tracker("Ratenzahlung", "payment_arrangement", slots={"identity_locked": True})
    outcome = await run(ActionStartPaymentArrangement(), tracker, domain)
    assert_handed_off(outcome, database_url, tracker, reason="identity_failed")


# --- 2. the account -----------------------------------------------------------------------


def review_tracker(customer: str, language: str = "de", channel: str = "rest", **slots):
    return make_tracker(
        "ich kann grad nicht zahlen",
        "payment_arrangement",
        language=language,
        channel=channel,
        slots={"verified_customer": customer, "handoff_reason": "payment_arrangement", **slots},
    )


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_an_eligible_balance_goes_to_the_form(database_url, domain, language):
    outcome = await run(ActionReviewPaymentStanding(), review_tracker(GUELSEN, language), domain)
    assert outcome.followup == "payment_arrangement_form"
    assert outcome.messages == []


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_a_balance_of_100_euro_or_less_is_explained_and_a_person_offered(
    database_url, domain, language
):
    outcome = await run(ActionReviewPaymentStanding(), review_tracker(AYSE, language), domain)
    assert outcome.responses == ["utter_pa_balance_too_small_overdue"]
    assert eur("83.27", language) in outcome.text and eur("100", language) in outcome.text
    assert "05.02.2025" in outcome.text
    assert outcome.followup == "utter_offer_handoff"
    assert "handoff_reason" not in outcome.slots  # a person, if accepted, knows why
    assert arrangements(database_url) == []


async def test_nothing_open_nothing_to_arrange(database_url, domain):
    outcome = await run(ActionReviewPaymentStanding(), review_tracker(JUERGEN), domain)
    assert outcome.responses == ["utter_pa_nothing_open"]
    assert outcome.followup is None
    assert outcome.slots["handoff_reason"] is None


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_a_running_plan_is_shown_instead_of_a_second(database_url, domain, language):
    agreed = agree(database_url, GUELSEN, count=3).arrangement
    outcome = await run(ActionReviewPaymentStanding(), review_tracker(GUELSEN, language), domain)
    assert outcome.responses == ["utter_pa_running_instalments"]
    assert agreed.reference in outcome.text and eur("312.87", language) in outcome.text
    first = agreed.plan.payments[0]
    assert day(first.due_on) in outcome.text and eur("104.29", language) in outcome.text
    assert outcome.text.count(eur("104.29", language)) == 3
    assert outcome.followup is None
    assert len(arrangements(database_url)) == 1


async def test_a_running_deferral_is_read_with_its_reference_digit_by_digit_on_the_phone(
    database_url, domain
):
    until = today() + dt.timedelta(days=10)
    agreed = agree(database_url, IBRAHIM, kind="deferral", until=until).arrangement
    tracker = review_tracker(IBRAHIM, "tr", channel="voice")
    outcome = await run(ActionReviewPaymentStanding(), tracker, domain)
    message = outcome.message("utter_pa_running_deferral")
    assert message["reference"] == agreed.reference
    assert message["reference_spoken"] == spoken(agreed.reference)
    assert re.fullmatch(r"S T, \d \d, \d \d, \d \d, \d \d", message["reference_spoken"])
    assert message["until"] == day(until)


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_an_announced_block_explains_the_avoidance_agreement_and_hands_off_first(
    database_url, domain, clock, language
):
    add_block(database_url, "30000015", "announced", announced_on=dt.date(2026, 11, 20))
    tracker = review_tracker(IBRAHIM, language)
    outcome = await run(ActionReviewPaymentStanding(), tracker, domain)
    assert outcome.responses == [
        "utter_pa_block_announced",
        "utter_pa_avoidance_agreement",
        "utter_pa_block_case_opened",
        "utter_handoff_open",
    ]
    assert "20.11.2026" in outcome.texts[0] and eur("166.32", language) in outcome.texts[0]
    assert ("Gas" if language == "de" else "doğalgaz") in outcome.texts[0]
    assert "Abwendungsvereinbarung" in outcome.texts[1] and "GasGVV" in outcome.texts[1]
    assert "StromGVV" not in outcome.texts[1]
    assert ("zinsfrei" if language == "de" else "faizsiz") in outcome.texts[1]

    case = assert_handed_off(
        outcome, database_url, tracker, reason="supply_block", customer_number=IBRAHIM
    )
    assert case.priority is True
    assert outcome.slots == {**CLEARED, **handoff_slots(case)}
    [service_case] = service_cases(database_url)
    assert service_case.reference in outcome.texts[2]
    assert (service_case.kind, service_case.priority, service_case.handoff_case_id) == (
        "supply_block",
        True,
        case.case_id,
    )
    assert service_case.data["balance"] == "166.32"
    assert service_case.data["announced_on"] == "2026-11-20"
    assert service_case.data["contracts"] == ["30000015"]
    assert service_case.language == language and service_case.channel == "rest"
    assert arrangements(database_url) == []


async def test_a_block_the_customer_speaks_of_goes_to_a_person_too(database_url, domain, clock):
    tracker = review_tracker(GUELSEN, "tr", pa_block_mentioned=True)
    outcome = await run(ActionReviewPaymentStanding(), tracker, domain)
    assert outcome.responses[:3] == [
        "utter_pa_block_reported",
        "utter_pa_avoidance_agreement",
        "utter_pa_block_case_opened",
    ]
    assert "StromGVV, GasGVV" in outcome.texts[1]  # which one is not known
    case = assert_handed_off(
        outcome, database_url, tracker, reason="supply_block", customer_number=GUELSEN
    )
    [service_case] = service_cases(database_url)
    assert service_case.data["reported_by_customer"] is True
    assert service_case.data["blocks"] == [] and service_case.data["announced_on"] is None
    assert service_case.handoff_case_id == case.case_id


async def test_the_supply_block_case_is_read_digit_by_digit_on_the_phone(
    database_url, domain, clock
):
    add_block(database_url, "30000006", "announced", announced_on=dt.date(2026, 11, 20))
    outcome = await run(
        ActionReviewPaymentStanding(), review_tracker(GUELSEN, "tr", channel="voice"), domain
    )
    message = outcome.message("utter_pa_block_case_opened")
    assert message["reference_spoken"] == spoken(message["reference"])


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_a_block_in_force_goes_to_a_colleague_for_reconnection(
    database_url, domain, clock, language
):
    add_block(
        database_url,
        "30000006",
        "blocked",
        announced_on=dt.date(2026, 10, 15),
        blocked_on=dt.date(2026, 11, 25),
    )
    tracker = review_tracker(GUELSEN, language)
    outcome = await run(ActionReviewPaymentStanding(), tracker, domain)
    assert outcome.responses == ["utter_pa_supply_blocked", "utter_handoff_open"]
    assert "25.11.2026" in outcome.texts[0]
    case = assert_handed_off(
        outcome, database_url, tracker, reason="reconnection", customer_number=GUELSEN
    )
    assert case.priority is True
    assert service_cases(database_url) == [] and arrangements(database_url) == []


# --- 3. the form --------------------------------------------------------------------------


def form_tracker(text, intent="inform", language="de", customer=IBRAHIM, channel="rest", **slots):
    return make_tracker(
        text,
        intent,
        language=language,
        channel=channel,
        slots={"verified_customer": customer, "pa_request_id": "req-1", **slots},
        active_loop="payment_arrangement_form",
    )


def activation_tracker(customer, language="de", **prefilled):
    return make_tracker(
        "Ratenzahlung",
        "payment_arrangement",
        language=language,
        slots={"verified_customer": customer, **prefilled},
        after=[
            slot_event("requested_slot", None),
            {"event": "action", "name": "payment_arrangement_form", "timestamp": None},
            *(slot_event(k, v) for k, v in prefilled.items()),
        ],
        active_loop="payment_arrangement_form",
    )


async def test_the_form_starts_with_a_request_id_and_asks_the_kind(database_url, domain):
    outcome = await run(ValidatePaymentArrangementForm(), activation_tracker(IBRAHIM), domain)
    assert re.fullmatch(r"[0-9a-f]{32}", outcome.slots["pa_request_id"])
    assert "requested_slot" not in outcome.slots  # Rasa asks the first question
    assert outcome.messages == []


async def test_a_count_named_at_the_start_is_checked_and_the_plan_read_back_next(
    database_url, domain
):
    tracker = activation_tracker(IBRAHIM, pa_kind="instalments", pa_count="3")
    outcome = await run(ValidatePaymentArrangementForm(), tracker, domain)
    assert outcome.slots["pa_count"] == "3"
    assert outcome.slots["requested_slot"] == "pa_confirmed"


async def test_a_count_named_at_the_start_outside_the_rules_is_refused(database_url, domain):
    tracker = activation_tracker(IBRAHIM, pa_kind="instalments", pa_count="12")
    outcome = await run(ValidatePaymentArrangementForm(), tracker, domain)
    assert outcome.responses == ["utter_pa_count_out_of_range"]
    assert outcome.slots["pa_count"] is None
    assert outcome.slots["requested_slot"] == "pa_count"


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("In Raten zahlen", "de", {"pa_kind": "instalments", "requested_slot": "pa_count"}),
        ("Taksitle ödemek", "tr", {"pa_kind": "instalments", "requested_slot": "pa_count"}),
        (
            "Zahlung aufschieben (Stundung)",
            "de",
            {"pa_kind": "deferral", "requested_slot": "pa_until"},
        ),
        (
            "lieber in 4 Raten",
            "de",
            {"pa_kind": "instalments", "pa_count": "4", "requested_slot": "pa_confirmed"},
        ),
        (
            "15 gün ertelemek istiyorum",
            "tr",
            {"pa_kind": "deferral", "requested_slot": "pa_confirmed"},
        ),
    ],
)
async def test_the_kind_is_taken_with_what_else_the_answer_says(
    database_url, domain, text, language, expected
):
    tracker = form_tracker(text, "payment_arrangement", language, requested_slot="pa_kind")
    outcome = await run(ValidatePaymentArrangementForm(), tracker, domain)
    assert {k: outcome.slots[k] for k in expected} == expected
    assert outcome.messages == []
    if expected["pa_kind"] == "deferral" and expected["requested_slot"] == "pa_confirmed":
        assert outcome.slots["pa_until"] == (today() + dt.timedelta(days=15)).isoformat()


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_an_unclear_kind_is_asked_again_then_the_way_out(database_url, domain, language):
    form = ValidatePaymentArrangementForm()
    first = await run(
        form, form_tracker("hm weiß nicht", language=language, requested_slot="pa_kind"), domain
    )
    assert first.responses == ["utter_pa_invalid_kind"]
    assert first.slots == {"pa_refused": "kind:?", "pa_way_out": None}
    again = await run(
        form,
        form_tracker("hm", language=language, requested_slot="pa_kind", pa_refused="kind:?"),
        domain,
    )
    assert again.slots["pa_way_out"] is True


async def test_a_second_deferral_within_a_year_is_refused_and_instalments_offered(
    database_url, domain
):
    agree(database_url, IBRAHIM, kind="deferral", until=today() + dt.timedelta(days=10))
    backdate(database_url, 100)
    form = ValidatePaymentArrangementForm()
    tracker = activation_tracker(IBRAHIM, pa_kind="deferral")
    outcome = await run(form, tracker, domain)
    assert outcome.slots["pa_kind"] is None and outcome.slots["pa_refused"] == "kind:deferral"
    asked = await run(ActionAskPaKind(), form_tracker("", requested_slot="pa_kind"), domain)
    assert asked.responses == ["utter_ask_pa_kind_no_deferral"]
    [earlier] = arrangements(database_url)
    agreed_on = local_day(earlier.created_at)
    assert day(agreed_on) in asked.text
    assert day(agreed_on + dt.timedelta(days=365)) in asked.text
    assert "2 bis 6 Monatsraten" in asked.text
    assert asked.message("utter_ask_pa_kind_no_deferral").get("buttons") in (None, [])
    # "ja" to "Möchten Sie in Raten zahlen?"
    yes = await run(form, form_tracker("ja gerne", "affirm", requested_slot="pa_kind"), domain)
    assert yes.slots["pa_kind"] == "instalments"
    # asking for the deferral again: the way out
    again = await run(
        form,
        form_tracker(
            "Stundung", "payment_arrangement", requested_slot="pa_kind", pa_refused="kind:deferral"
        ),
        domain,
    )
    assert again.slots["pa_way_out"] is True and again.slots["pa_kind"] is None
    assert len(arrangements(database_url)) == 1


def count_tracker(text, language="de", customer=IBRAHIM, **slots):
    return form_tracker(
        text,
        language=language,
        customer=customer,
        requested_slot="pa_count",
        pa_kind="instalments",
        **slots,
    )


@pytest.mark.parametrize(
    ("text", "count"),
    [("3", "3"), ("drei Raten", "3"), ("üç taksit", "3"), ("60 Euro im Monat", "3"), ("6", "6")],
)
async def test_allowed_counts_are_taken(database_url, domain, text, count):
    outcome = await run(ValidatePaymentArrangementForm(), count_tracker(text), domain)
    assert outcome.slots["pa_count"] == count
    assert outcome.slots["requested_slot"] == "pa_confirmed"
    assert outcome.messages == []


@pytest.mark.parametrize("language", ["de", "tr"])
@pytest.mark.parametrize("text", ["7", "1", "12 Raten"])
async def test_counts_outside_the_rules_name_the_range(database_url, domain, language, text):
    outcome = await run(ValidatePaymentArrangementForm(), count_tracker(text, language), domain)
    assert outcome.responses == ["utter_pa_count_out_of_range"]
    assert eur("166.32", language) in outcome.text and eur("25", language) in outcome.text
    expected = "2 bis 6 Monatsraten" if language == "de" else "2 ile 6 arasında"
    assert expected in outcome.text
    assert outcome.slots["pa_count"] is None and outcome.slots["requested_slot"] == "pa_count"


async def test_the_range_follows_the_balance(database_url, domain):
    # 102,98 € allow four instalments at most (five would be below 25 €)
    tracker = count_tracker("5", customer=HANS_JUERGEN)
    outcome = await run(ValidatePaymentArrangementForm(), tracker, domain)
    assert "2 bis 4 Monatsraten" in outcome.text


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_instalments_below_25_euro_are_refused(database_url, domain, language):
    text = "Raten von 20 Euro" if language == "de" else "ayda 20 avro"
    outcome = await run(ValidatePaymentArrangementForm(), count_tracker(text, language), domain)
    assert outcome.responses == ["utter_pa_instalment_too_small"]
    assert eur("20", language) in outcome.text and eur("25", language) in outcome.text
    assert "pa_count" not in outcome.slots or outcome.slots["pa_count"] is None


async def test_no_number_in_the_answer(database_url, domain):
    outcome = await run(ValidatePaymentArrangementForm(), count_tracker("keine Ahnung"), domain)
    assert outcome.responses == ["utter_pa_invalid_count"]
    assert outcome.slots["pa_refused"] == "count:?"


async def test_the_same_refused_count_twice_offers_the_way_out(database_url, domain):
    form = ValidatePaymentArrangementForm()
    first = await run(form, count_tracker("7"), domain)
    assert first.slots["pa_refused"] == "count:7" and first.slots["pa_way_out"] is None
    again = await run(form, count_tracker("sieben", pa_refused="count:7"), domain)
    assert again.slots["pa_way_out"] is True
    other = await run(form, count_tracker("8", pa_refused="count:7"), domain)
    assert other.slots["pa_way_out"] is None  # another answer is not a repetition


@pytest.mark.parametrize("channel", ["rest", "voice"])
async def test_the_way_out_offers_a_person_and_cancel(database_url, domain, channel):
    tracker = count_tracker("", pa_way_out=True, pa_refused="count:7")
    tracker.events[-1]["input_channel"] = channel
    outcome = await run(ActionAskPaCount(), tracker, domain)
    assert outcome.responses == ["utter_pa_way_out_count"]
    assert "2 bis 6" in outcome.text and "abbrechen" in outcome.text
    assert outcome.slots == {"pa_way_out": None}
    buttons = outcome.message("utter_pa_way_out_count")["buttons"]
    if channel == "voice":
        assert buttons == []  # a digit is an answer on the phone; 0 is a person
    else:
        assert [b["payload"] for b in buttons] == ["/request_human", "/deny"]


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_count_question_names_range_and_first_due_date(database_url, domain, language):
    outcome = await run(ActionAskPaCount(), count_tracker("", language), domain)
    assert outcome.responses == ["utter_ask_pa_count"]
    assert day(today() + dt.timedelta(days=14)) in outcome.text
    assert eur("166.32", language) in outcome.text


def until_tracker(text, language="de", **slots):
    return form_tracker(
        text, language=language, requested_slot="pa_until", pa_kind="deferral", **slots
    )


@pytest.mark.parametrize(
    ("text", "days"), [("in 20 Tagen", 20), ("20 gün", 20), ("30 Tage", 30), ("iki hafta", 14)]
)
async def test_allowed_deferral_dates_are_taken(database_url, domain, text, days):
    outcome = await run(ValidatePaymentArrangementForm(), until_tracker(text), domain)
    assert outcome.slots["pa_until"] == (today() + dt.timedelta(days=days)).isoformat()
    assert outcome.slots["requested_slot"] == "pa_confirmed"


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_a_date_45_days_ahead_is_refused_with_the_latest_date(database_url, domain, language):
    text = (today() + dt.timedelta(days=45)).strftime("%d.%m.%Y")
    outcome = await run(ValidatePaymentArrangementForm(), until_tracker(text, language), domain)
    assert outcome.responses == ["utter_pa_until_too_late"]
    assert day(today() + dt.timedelta(days=30)) in outcome.text and "30" in outcome.text
    assert outcome.slots["pa_until"] is None


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_a_date_in_the_past_is_refused(database_url, domain, language):
    text = (today() - dt.timedelta(days=3)).strftime("%d.%m.%Y")
    outcome = await run(ValidatePaymentArrangementForm(), until_tracker(text, language), domain)
    assert outcome.responses == ["utter_pa_until_past"]
    assert day(today() + dt.timedelta(days=30)) in outcome.text


async def test_no_date_in_the_answer(database_url, domain):
    outcome = await run(ValidatePaymentArrangementForm(), until_tracker("irgendwann"), domain)
    assert outcome.responses == ["utter_pa_invalid_until"]
    assert outcome.slots["pa_refused"] == "until:?"


# --- the read-back --------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_plan_is_read_back_with_every_instalment(database_url, domain, language):
    tracker = form_tracker(
        "", language=language, customer=GUELSEN, pa_kind="instalments", pa_count="3"
    )
    outcome = await run(ActionAskPaConfirmed(), tracker, domain)
    assert outcome.responses == ["utter_ask_pa_confirmed_instalments"]
    first = today() + dt.timedelta(days=14)
    lines = outcome.text.splitlines()[1:4]
    assert len(lines) == 3 and all(eur("104.29", language) in line for line in lines)
    assert day(first) in lines[0]
    assert lines[0].startswith("1. Rate" if language == "de" else "1. taksit")
    assert outcome.slots == {"pa_read_back": "instalments:3"}


async def test_the_schedule_is_one_sentence_on_the_phone(database_url, domain):
    tracker = form_tracker(
        "", customer=GUELSEN, channel="voice", pa_kind="instalments", pa_count="2"
    )
    outcome = await run(ActionAskPaConfirmed(), tracker, domain)
    schedule = outcome.message("utter_ask_pa_confirmed_instalments")["schedule"]
    assert "\n" not in schedule and schedule.count("; ") == 1


async def test_a_deferral_is_read_back_with_its_date(database_url, domain):
    until = today() + dt.timedelta(days=20)
    tracker = form_tracker("", "inform", "tr", pa_kind="deferral", pa_until=until.isoformat())
    outcome = await run(ActionAskPaConfirmed(), tracker, domain)
    assert outcome.responses == ["utter_ask_pa_confirmed_deferral"]
    assert day(until) in outcome.text and eur("166.32", "tr") in outcome.text


def confirm_tracker(text, intent, **slots):
    values = {"pa_kind": "instalments", "pa_count": "3", "pa_read_back": "instalments:3", **slots}
    return form_tracker(text, intent, requested_slot="pa_confirmed", **values)


async def test_yes_confirms(database_url, domain):
    outcome = await run(
        ValidatePaymentArrangementForm(), confirm_tracker("ja, passt", "affirm"), domain
    )
    assert outcome.slots["pa_confirmed"] is True
    assert outcome.slots["requested_slot"] is None


async def test_no_cancels(database_url, domain):
    outcome = await run(ValidatePaymentArrangementForm(), confirm_tracker("nein", "deny"), domain)
    assert outcome.slots["pa_confirmed"] is False and outcome.slots["form_cancelled"] is True
    assert outcome.slots["requested_slot"] is None


async def test_another_count_at_the_read_back_is_a_correction(database_url, domain):
    outcome = await run(
        ValidatePaymentArrangementForm(), confirm_tracker("nein, lieber 4 Raten", "deny"), domain
    )
    assert outcome.slots["pa_count"] == "4" and outcome.slots["pa_confirmed"] is None
    assert outcome.slots["requested_slot"] == "pa_confirmed"
    assert "form_cancelled" not in outcome.slots


async def test_an_unclear_answer_at_the_read_back_asks_for_yes_or_no(database_url, domain):
    outcome = await run(ValidatePaymentArrangementForm(), confirm_tracker("hä?", "affirm"), domain)
    assert outcome.responses == ["utter_pa_please_confirm"]
    assert outcome.slots.get("pa_confirmed") is None


# --- 4. storing it --------------------------------------------------------------------------


def submit_tracker(language="de", customer=GUELSEN, channel="rest", **slots):
    values = {
        "verified_customer": customer,
        "pa_request_id": "req-1",
        "pa_kind": "instalments",
        "pa_count": "3",
        "pa_confirmed": True,
        "handoff_reason": "payment_arrangement",
        **slots,
    }
    return make_tracker(
        "ja", "affirm", language=language, channel=channel, slots=values, sender_id="conv-7"
    )


SUBMIT_RESET = {**CLEARED, "form_retry": None, "handoff_reason": None}


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_a_confirmed_plan_is_stored_once_with_its_schedule(database_url, domain, language):
    outcome = await run(ActionSubmitPaymentArrangement(), submit_tracker(language), domain)
    assert outcome.responses == ["utter_pa_instalments_agreed", "utter_pa_pay_by_transfer"]
    [row] = arrangements(database_url)
    assert row.reference in outcome.texts[0] and eur("312.87", language) in outcome.texts[0]
    assert eur("104.29", language) in outcome.texts[0]
    assert (row.kind, row.total, row.channel, row.conversation_id, row.request_id) == (
        "instalments",
        Decimal("312.87"),
        "rest",
        "conv-7",
        "req-1",
    )
    assert [i.amount for i in row.instalments] == [Decimal("104.29")] * 3
    assert outcome.slots == SUBMIT_RESET
    # the same confirmation again (a double click, a re-delivery): still one plan
    again = await run(ActionSubmitPaymentArrangement(), submit_tracker(language), domain)
    assert again.texts == outcome.texts
    assert len(arrangements(database_url)) == 1
    with session_scope(database_url) as session:
        audits = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "payment_arrangement_agreed")
        ).all()
        assert len(audits) == 1


async def test_a_deferral_is_stored_and_the_reference_spoken_on_the_phone(database_url, domain):
    until = today() + dt.timedelta(days=25)
    tracker = submit_tracker(
        "tr", IBRAHIM, "voice", pa_kind="deferral", pa_count=None, pa_until=until.isoformat()
    )
    outcome = await run(ActionSubmitPaymentArrangement(), tracker, domain)
    message = outcome.message("utter_pa_deferral_agreed")
    [row] = arrangements(database_url)
    assert (row.kind, row.deferred_until, row.channel) == ("deferral", until, "voice")
    assert message["reference"] == row.reference
    assert message["reference_spoken"] == spoken(row.reference)
    assert message["until"] == day(until)


async def test_direct_debit_customers_hear_that_the_amounts_are_debited(database_url, domain):
    with session_scope(database_url) as session:
        customer = session.scalar(select(Customer).where(Customer.customer_number == GUELSEN))
        customer.payment_method = "direct_debit"
    outcome = await run(ActionSubmitPaymentArrangement(), submit_tracker(), domain)
    assert outcome.responses[-1] == "utter_pa_pay_by_debit"


@pytest.mark.parametrize(
    "slots",
    [{"form_cancelled": True}, {"pa_confirmed": False}, {"pa_confirmed": None}],
)
@pytest.mark.parametrize("language", ["de", "tr"])
async def test_a_cancelled_plan_stores_nothing(database_url, domain, slots, language):
    outcome = await run(ActionSubmitPaymentArrangement(), submit_tracker(language, **slots), domain)
    assert outcome.responses == ["utter_pa_cancelled"]
    assert outcome.slots == SUBMIT_RESET
    assert arrangements(database_url) == []


async def test_a_plan_agreed_meanwhile_elsewhere_stops_this_one(database_url, domain):
    agree(database_url, GUELSEN, count=2)
    outcome = await run(ActionSubmitPaymentArrangement(), submit_tracker(), domain)
    assert outcome.responses == ["utter_pa_not_possible_now"]
    assert len(arrangements(database_url)) == 1


async def test_a_lapsed_verification_is_checked_again_before_storing(database_url, domain):
    outcome = await run(
        ActionSubmitPaymentArrangement(), submit_tracker(verified_customer=None), domain
    )
    assert outcome.responses == ["utter_identity_expired"]
    assert outcome.followup == "identity_form"
    assert outcome.slots["pending_request"] == "payment_arrangement"
    assert arrangements(database_url) == []


async def test_the_deferral_question_names_the_latest_date(database_url, domain):
    outcome = await run(ActionAskPaUntil(), until_tracker("", "tr"), domain)
    assert outcome.responses == ["utter_ask_pa_until"]
    assert day(today() + dt.timedelta(days=30)) in outcome.text
