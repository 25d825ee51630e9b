"""Moving house: start, the form slot by slot, its questions, the submit (de and tr)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from actions.move_house import (
    FORM_SLOTS,
    ActionAskMvConfirmed,
    ActionAskMvKind,
    ActionAskMvReading,
    ActionAskMvReadingCheck,
    ActionStartMove,
    ActionSubmitMove,
    ValidateMoveHouseForm,
)
from bot.domain.models import AuditEntry, MeterReading, ServiceCase
from bot.infra.db import session_scope
from tests.actions.conftest import make_tracker, run, slot_event

pytestmark = pytest.mark.asyncio

# The clock fixture's Monday, 23 November 2026: the window is 12.10.2026 - 23.05.2027.
TODAY = dt.date(2026, 11, 23)
MOVE_DAY = "2026-11-20"  # three days ago: final readings are due
LATER = "2027-01-15"  # ahead: readings are taken on the day
CLAUDIA = "10000025"  # electricity 30000038 (last 44.680 kWh), gas 30000039 (9.095,2 m³)
HATICE = "10000028"  # two electricity meters, Turkish
ELECTRICITY, GAS = "30000038", "30000039"
RESET = {**{s: None for s in FORM_SLOTS}, "form_cancelled": None, "form_retry": None}
ADDRESS = {"mv_street": "Rüttenscheider Straße 5a", "mv_postcode": "45130", "mv_town": "Essen"}
BERLIN = {"mv_street": "Torstraße 12", "mv_postcode": "10115", "mv_town": "Berlin"}


def form_tracker(text, intent="inform", language="de", customer=CLAUDIA, **slots):
    """A message while the move form is active (Claudia Neumann, verified, by default)."""
    values = {"mv_request_id": "req-1", **slots}
    if customer:
        values["verified_customer"] = customer
    return make_tracker(
        text, intent, language=language, slots=values, active_loop="move_house_form"
    )


def activation_tracker(text="Ich ziehe um", language="de", customer=None, **prefilled):
    """What the form validation sees when the form starts."""
    slots = {**prefilled}
    if customer:
        slots["verified_customer"] = customer
    return make_tracker(
        text,
        "move_house",
        language=language,
        slots=slots,
        after=[
            slot_event("requested_slot", None),
            {"event": "action", "name": "move_house_form", "timestamp": None},
        ],
        active_loop="move_house_form",
    )


def rows(url, model) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model))


def move_cases(url) -> list[ServiceCase]:
    with session_scope(url) as session:
        cases = session.scalars(select(ServiceCase).order_by(ServiceCase.id)).all()
        session.expunge_all()
        return list(cases)


def move_readings(url) -> list[tuple[str, Decimal, dt.date, bool, str]]:
    with session_scope(url) as session:
        readings = session.scalars(
            select(MeterReading).where(MeterReading.reason == "move_out").order_by(MeterReading.id)
        ).all()
        return [
            (r.contract.contract_number, r.value, r.read_on, r.confirmed, r.channel)
            for r in readings
        ]


# --- action_start_move ----------------------------------------------------------------


async def test_start_opens_a_fresh_form_and_marks_handoffs_as_about_the_move(domain, clock):
    tracker = make_tracker(
        "Ich ziehe um", "move_house", slots={"mv_kind": "out", "mv_confirmed": True}
    )
    outcome = await run(ActionStartMove(), tracker, domain)
    assert outcome.slots == {**RESET, "handoff_reason": "move"}
    assert outcome.followup == "move_house_form"
    assert outcome.messages == []


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Ich ziehe am 15.01. um", "2027-01-15"),
        ("15 Ocak'ta taşınıyorum", "2027-01-15"),
        ("Ich ziehe am 15.01.2028 um", None),  # outside the window: asked again, with the reason
    ],
)
async def test_a_date_named_with_the_request_is_kept(domain, clock, text, date):
    outcome = await run(ActionStartMove(), make_tracker(text, "move_house"), domain)
    assert outcome.slots["mv_date"] == date


# --- the kind of move, and the identity check ---------------------------------------------


async def test_the_form_starts_with_the_kind_of_move(database_url, domain, clock):
    outcome = await run(ValidateMoveHouseForm(), activation_tracker(), domain)
    assert re.fullmatch(r"[0-9a-f]{32}", outcome.slots["mv_request_id"])
    assert outcome.slots["requested_slot"] == "mv_kind"
    assert outcome.messages == []


@pytest.mark.parametrize(
    ("text", "language", "kind"),
    [
        ("Ich ziehe aus dem Versorgungsgebiet weg", "de", "out"),
        ("Ich ziehe innerhalb des Versorgungsgebiets um", "de", "within"),
        ("Auszug", "de", "out"),
        ("Hizmet bölgenizin dışına taşınıyorum", "tr", "out"),
        ("Hizmet bölgeniz içinde taşınıyorum", "tr", "within"),
    ],
)
async def test_a_move_of_contracts_waits_for_the_identity_check(
    database_url, domain, clock, text, language, kind
):
    tracker = form_tracker(text, "move_house", language, customer=None, requested_slot="mv_kind")
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.slots == {"mv_kind": kind, "form_retry": None, "requested_slot": None}


async def test_a_verified_customer_goes_on_to_the_date(database_url, domain, clock):
    tracker = form_tracker("Ich ziehe innerhalb des Versorgungsgebiets um", "move_house")
    tracker.slots["requested_slot"] = "mv_kind"
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.slots["mv_kind"] == "within"
    assert outcome.slots["requested_slot"] == "mv_date"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Ich ziehe neu ein und bin noch kein Kunde", "de"),
        ("Yeni taşınıyorum, henüz müşteriniz değilim", "tr"),
    ],
)
async def test_someone_new_moves_in_without_an_identity_check(
    database_url, domain, clock, text, language
):
    tracker = form_tracker(text, "move_house", language, customer=None, requested_slot="mv_kind")
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.slots["mv_kind"] == "in"
    assert outcome.slots["requested_slot"] == "mv_date"


async def test_a_customer_moving_in_takes_the_contracts_along(database_url, domain, clock):
    tracker = form_tracker("Einzug", "move_house", requested_slot="mv_kind")
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.responses == ["utter_move_in_as_customer"]
    assert outcome.slots["mv_kind"] == "within"


async def test_a_date_in_the_answer_about_the_kind_is_taken_too(database_url, domain, clock):
    tracker = form_tracker("Auszug zum 15.01.", "move_house", requested_slot="mv_kind")
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert (outcome.slots["mv_kind"], outcome.slots["mv_date"]) == ("out", "2027-01-15")
    assert outcome.slots["requested_slot"] == "mv_street"


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_kind_buttons_are_in_the_customers_language(domain, language):
    outcome = await run(ActionAskMvKind(), form_tracker("", language=language), domain)
    assert outcome.responses == ["utter_ask_mv_kind"]
    buttons = outcome.messages[0]["buttons"]
    assert len(buttons) == 3 and all(b["payload"] == b["title"] for b in buttons)
    assert ("Versorgungsgebiet" if language == "de" else "bölge") in buttons[0]["title"]


async def test_an_unclear_kind_twice_offers_a_person_or_cancelling(database_url, domain, clock):
    form = ValidateMoveHouseForm()
    first = await run(form, form_tracker("keine Ahnung", requested_slot="mv_kind"), domain)
    assert first.responses == ["utter_invalid_mv_kind"]
    assert first.slots == {"form_retry": 1, "requested_slot": "mv_kind"}
    second = await run(
        form, form_tracker("keine Ahnung", requested_slot="mv_kind", form_retry=1.0), domain
    )
    assert second.responses == ["utter_invalid_mv_kind", "utter_move_way_out"]
    way_out = second.message("utter_move_way_out")["buttons"]
    assert [b["payload"] for b in way_out] == ["/request_human", "/deny"]
    assert "mv_kind" not in second.slots


async def test_a_question_in_between_is_left_to_the_rules(database_url, domain, clock):
    tracker = form_tracker(
        "Bist du ein Bot?", "bot_challenge", requested_slot="mv_date", mv_kind="within"
    )
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    # nothing taken (the same question stays asked): Rasa leaves the message to the rules
    assert outcome.slots == {"requested_slot": "mv_date"} and outcome.messages == []


# --- the date ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("15.01.2027", "2027-01-15"), ("am 1. Dezember", "2026-12-01"), ("yarın", "2026-11-24")],
)
async def test_a_date_in_the_window_is_taken(database_url, domain, clock, text, expected):
    tracker = form_tracker(text, requested_slot="mv_date", mv_kind="within")
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.slots["mv_date"] == expected
    assert outcome.slots["requested_slot"] == "mv_street"


@pytest.mark.parametrize(
    ("language", "text", "said"),
    [("de", "23.11.2027", "23.05.2027"), ("tr", "23.11.2027", "23.05.2027")],
)
async def test_a_date_a_year_ahead_is_refused(database_url, domain, clock, language, text, said):
    tracker = form_tracker(text, language=language, requested_slot="mv_date", mv_kind="within")
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.responses == ["utter_move_date_too_late"]
    assert said in outcome.text
    assert "mv_date" not in outcome.slots and outcome.slots["requested_slot"] == "mv_date"


async def test_a_date_more_than_six_weeks_back_is_refused(database_url, domain, clock):
    tracker = form_tracker("01.10.2026", requested_slot="mv_date", mv_kind="out")
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.responses == ["utter_move_date_too_early"]
    assert "12.10.2026" in outcome.text


# --- the new address ---------------------------------------------------------------------


async def test_the_whole_address_in_one_message(database_url, domain, clock):
    tracker = form_tracker(
        "Rüttenscheider Straße 5a, 45130 Essen",
        requested_slot="mv_street",
        mv_kind="within",
        mv_date=LATER,
    )
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert {k: outcome.slots[k] for k in ADDRESS} == ADDRESS
    assert outcome.slots["requested_slot"] == "mv_confirmed"  # readings on the day


async def test_the_address_part_by_part(database_url, domain, clock):
    form = ValidateMoveHouseForm()
    base = {"mv_kind": "out", "mv_date": LATER}
    street = await run(
        form, form_tracker("Torstraße 12", requested_slot="mv_street", **base), domain
    )
    assert street.slots["mv_street"] == "Torstraße 12"
    assert street.slots["requested_slot"] == "mv_postcode"
    base["mv_street"] = "Torstraße 12"
    postcode = await run(form, form_tracker("10115", requested_slot="mv_postcode", **base), domain)
    assert postcode.slots["mv_postcode"] == "10115"  # moving out: any German postcode
    base["mv_postcode"] = "10115"
    town = await run(form, form_tracker("Berlin", requested_slot="mv_town", **base), domain)
    assert town.slots["mv_town"] == "Berlin"
    assert town.slots["requested_slot"] == "mv_bill_to_new"


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_a_postcode_outside_the_area_is_refused_for_a_move_within(
    database_url, domain, clock, language
):
    tracker = form_tracker(
        "Torstraße 12, 10115 Berlin",
        language=language,
        requested_slot="mv_street",
        mv_kind="within",
        mv_date=LATER,
    )
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.responses == ["utter_move_outside_area"]
    assert "10115" in outcome.text
    assert outcome.slots["mv_street"] == "Torstraße 12"
    assert outcome.slots["mv_refused_postcode"] == "10115"
    assert "mv_postcode" not in outcome.slots and "mv_town" not in outcome.slots
    assert outcome.slots["requested_slot"] == "mv_postcode"
    [button] = outcome.message("utter_move_outside_area")["buttons"]
    assert button["title"] == ("Verträge beenden" if language == "de" else "Sözleşmeleri sonlandır")


async def test_ending_the_contracts_instead_turns_it_into_a_move_out(database_url, domain, clock):
    tracker = form_tracker(
        "Verträge beenden",
        "deny",  # "beenden" may read as a no: it is not a cancellation here
        requested_slot="mv_postcode",
        mv_kind="within",
        mv_date=LATER,
        mv_street="Torstraße 12",
        mv_refused_postcode="10115",
        form_retry=1.0,
    )
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.responses == ["utter_move_now_out"]
    assert outcome.slots["mv_kind"] == "out" and outcome.slots["mv_postcode"] == "10115"
    assert "form_cancelled" not in outcome.slots
    assert outcome.slots["requested_slot"] == "mv_town"


@pytest.mark.parametrize("text", ["4413", "abc"])
async def test_a_postcode_has_five_digits(database_url, domain, clock, text):
    tracker = form_tracker(text, requested_slot="mv_postcode", mv_kind="out", mv_date=LATER)
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.responses == ["utter_invalid_postcode"]


async def test_moving_in_outside_the_area_points_to_the_local_supplier(database_url, domain, clock):
    tracker = form_tracker(
        "10115", customer=None, requested_slot="mv_postcode", mv_kind="in", mv_date=LATER
    )
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.responses == ["utter_move_in_outside_area"]
    assert "Grundversorger" in outcome.text


# --- moving out: the final bill -------------------------------------------------------------


async def test_the_final_bill_to_another_address(database_url, domain, clock):
    form = ValidateMoveHouseForm()
    base = {"mv_kind": "out", "mv_date": LATER, **BERLIN, "requested_slot": "mv_bill_to_new"}
    no = await run(form, form_tracker("nein", "deny", **base), domain)
    assert no.slots["mv_bill_to_new"] is False and "form_cancelled" not in no.slots
    assert no.slots["requested_slot"] == "mv_forwarding"
    base.update(mv_bill_to_new=False, requested_slot="mv_forwarding")
    there = await run(form, form_tracker("Postweg 1, 50667 Köln", **base), domain)
    assert json.loads(there.slots["mv_forwarding"]) == {
        "street": "Postweg 1",
        "postcode": "50667",
        "town": "Köln",
    }
    assert there.slots["requested_slot"] == "mv_confirmed"


# --- moving in: who ----------------------------------------------------------------------


async def test_someone_new_gives_name_birth_date_and_contact(database_url, domain, clock):
    form = ValidateMoveHouseForm()
    base = {"mv_kind": "in", "mv_date": LATER, **ADDRESS}
    name = await run(
        form, form_tracker("Deniz Aksoy", customer=None, requested_slot="mv_name", **base), domain
    )
    assert name.slots["mv_name"] == "Deniz Aksoy"
    base["mv_name"] = "Deniz Aksoy"
    young = await run(
        form,
        form_tracker("01.01.2012", customer=None, requested_slot="mv_birth_date", **base),
        domain,
    )
    assert young.responses == ["utter_move_too_young"]
    born = await run(
        form,
        form_tracker("17.05.1994", customer=None, requested_slot="mv_birth_date", **base),
        domain,
    )
    assert born.slots["mv_birth_date"] == "1994-05-17"
    base["mv_birth_date"] = "1994-05-17"
    contact = await run(
        form,
        form_tracker("deniz@example.org", customer=None, requested_slot="mv_contact", **base),
        domain,
    )
    assert contact.slots["mv_contact"] == "deniz@example.org"
    assert contact.slots["requested_slot"] == "mv_confirmed"


async def test_on_the_phone_the_calling_number_is_the_contact(database_url, domain, clock):
    tracker = make_tracker(
        "Deniz Aksoy",
        "inform",
        slots={"mv_request_id": "r", "mv_kind": "in", "mv_date": LATER, **ADDRESS},
        metadata={"caller": "+4917612345678"},
        channel="voice",
        active_loop="move_house_form",
    )
    tracker.slots["requested_slot"] = "mv_name"
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.slots["mv_contact"] == "+4917612345678"
    assert outcome.slots["requested_slot"] == "mv_birth_date"


# --- final readings ---------------------------------------------------------------------------


def reading_tracker(text, intent="inform", language="de", customer=CLAUDIA, **slots):
    base = {"mv_kind": "out", "mv_date": MOVE_DAY, **BERLIN, "mv_bill_to_new": True}
    base["requested_slot"] = "mv_reading"
    return form_tracker(text, intent, language, customer=customer, **{**base, **slots})


async def test_each_meter_is_asked_once_the_day_has_come(database_url, domain, clock):
    tracker = form_tracker(
        "ja", "affirm", requested_slot="mv_bill_to_new", mv_kind="out", mv_date=MOVE_DAY, **BERLIN
    )
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.slots["requested_slot"] == "mv_reading"
    ask = await run(ActionAskMvReading(), reading_tracker(""), domain)
    assert ask.responses == ["utter_move_readings_intro", "utter_ask_mv_reading"]
    assert "Strom (Zählernummer 1ESY1160300381)" in ask.texts[1]
    assert "44.680 kWh am 31.12.2025" in ask.texts[1] and "20.11.2026" in ask.texts[1]
    [later] = ask.message("utter_ask_mv_reading")["buttons"]
    assert later["title"] == "Habe ich noch nicht"


async def test_a_plausible_reading_is_taken_and_the_next_meter_asked(database_url, domain, clock):
    outcome = await run(ValidateMoveHouseForm(), reading_tracker("47.210"), domain)
    assert json.loads(outcome.slots["mv_readings"]) == [
        {"contract_number": ELECTRICITY, "value": "47210.000", "confirmed": False}
    ]
    assert outcome.slots["requested_slot"] == "mv_reading"
    readings = outcome.slots["mv_readings"]
    ask = await run(ActionAskMvReading(), reading_tracker("", mv_readings=readings), domain)
    assert ask.responses == ["utter_ask_mv_reading"]
    assert "Gas (Zählernummer 7ELS8210300392)" in ask.text and "9.095,2 m³" in ask.text


@pytest.mark.parametrize(
    ("text", "intent", "language"),
    [("habe ich noch nicht", "deny", "de"), ("henüz elimde değil", "deny", "tr")],
)
async def test_a_reading_not_at_hand_is_left_for_later(
    database_url, domain, clock, text, intent, language
):
    outcome = await run(ValidateMoveHouseForm(), reading_tracker(text, intent, language), domain)
    assert "form_cancelled" not in outcome.slots
    assert json.loads(outcome.slots["mv_readings"]) == [
        {"contract_number": ELECTRICITY, "value": None, "confirmed": False}
    ]


async def test_an_implausible_reading_is_read_back_once(database_url, domain, clock):
    form = ValidateMoveHouseForm()
    below = await run(form, reading_tracker("40000"), domain)
    assert "mv_readings" not in below.slots
    assert below.slots["requested_slot"] == "mv_reading_check"
    pending = below.slots["mv_pending_reading"]
    check = reading_tracker("", mv_pending_reading=pending)
    asked = await run(ActionAskMvReadingCheck(), check, domain)
    assert asked.responses == ["utter_ask_mv_reading_check_below"]
    assert "40.000 kWh" in asked.text and "44.680 kWh" in asked.text

    base = {"mv_pending_reading": pending, "requested_slot": "mv_reading_check"}
    yes = await run(form, reading_tracker("ja, stimmt", "affirm", **base), domain)
    assert json.loads(yes.slots["mv_readings"]) == [
        {"contract_number": ELECTRICITY, "value": "40000.000", "confirmed": True}
    ]
    assert yes.slots["mv_pending_reading"] is None
    assert yes.slots["requested_slot"] == "mv_reading"  # on to the gas meter

    no = await run(form, reading_tracker("nein", "deny", **base), domain)
    assert no.responses == ["utter_move_reading_left_out"]
    assert json.loads(no.slots["mv_readings"])[0]["value"] is None
    assert "form_cancelled" not in no.slots

    corrected = await run(form, reading_tracker("doch 47.100", **base), domain)
    assert json.loads(corrected.slots["mv_readings"])[0]["value"] == "47100.000"


async def test_far_above_the_expectation_is_read_back_too(database_url, domain, clock):
    outcome = await run(ValidateMoveHouseForm(), reading_tracker("60000"), domain)
    pending = outcome.slots["mv_pending_reading"]
    asked = await run(
        ActionAskMvReadingCheck(), reading_tracker("", mv_pending_reading=pending), domain
    )
    assert asked.responses == ["utter_ask_mv_reading_check_above"]
    assert "15.320 kWh" in asked.text  # 60.000 - 44.680


async def test_no_readings_are_asked_before_the_moving_day(database_url, domain, clock):
    tracker = form_tracker(
        "ja", "affirm", requested_slot="mv_bill_to_new", mv_kind="out", mv_date=LATER, **BERLIN
    )
    outcome = await run(ValidateMoveHouseForm(), tracker, domain)
    assert outcome.slots["requested_slot"] == "mv_confirmed"


# --- the summary and the confirmation ------------------------------------------------------------


def confirmed_slots(**changes):
    readings = json.dumps(
        [
            {"contract_number": ELECTRICITY, "value": "47210", "confirmed": False},
            {"contract_number": GAS, "value": None, "confirmed": False},
        ]
    )
    return {
        "mv_kind": "out",
        "mv_date": MOVE_DAY,
        **BERLIN,
        "mv_bill_to_new": True,
        "mv_readings": readings,
        "requested_slot": "mv_confirmed",
        **changes,
    }


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_summary_says_what_happens_to_each_contract(
    database_url, domain, clock, language
):
    tracker = form_tracker("", language=language, **confirmed_slots())
    outcome = await run(ActionAskMvConfirmed(), tracker, domain)
    assert outcome.responses == ["utter_ask_mv_confirmed"]
    text = outcome.text
    assert "Torstraße 12, 10115 Berlin" in text and "20.11.2026" in text
    assert "30000038" in text and "30000039" in text and "47.210 kWh" in text
    if language == "de":
        assert "endet am 20.11.2026, mit Schlussrechnung" in text and "folgt noch" in text
    else:
        assert "sona eriyor" in text and "daha sonra bildirilecek" in text


async def test_the_summary_on_the_phone_is_one_spoken_paragraph(database_url, domain, clock):
    tracker = make_tracker(
        "",
        slots={"verified_customer": CLAUDIA, "mv_request_id": "r", **confirmed_slots()},
        channel="voice",
        active_loop="move_house_form",
    )
    outcome = await run(ActionAskMvConfirmed(), tracker, domain)
    assert "\n" not in outcome.messages[0]["summary"]


@pytest.mark.parametrize(("text", "intent"), [("ja, alles richtig", "affirm"), ("evet", "affirm")])
async def test_yes_confirms_the_move(database_url, domain, clock, text, intent):
    outcome = await run(
        ValidateMoveHouseForm(), form_tracker(text, intent, **confirmed_slots()), domain
    )
    assert outcome.slots["mv_confirmed"] is True
    assert outcome.slots["requested_slot"] is None


async def test_no_at_the_summary_cancels(database_url, domain, clock):
    outcome = await run(
        ValidateMoveHouseForm(), form_tracker("nein", "deny", **confirmed_slots()), domain
    )
    assert outcome.slots["form_cancelled"] is True


# --- action_submit_move ------------------------------------------------------------------------


def submit_tracker(language="de", channel="rest", customer=CLAUDIA, **slots):
    values = {"mv_request_id": "req-move-1", **confirmed_slots(mv_confirmed=True), **slots}
    values["requested_slot"] = None
    if customer:
        values["verified_customer"] = customer
    return make_tracker("ja", "affirm", language=language, slots=values, channel=channel)


async def test_submit_without_identity_starts_the_check(database_url, domain, clock):
    tracker = make_tracker("Auszug", "move_house", slots={"mv_kind": "out", "mv_request_id": "r"})
    outcome = await run(ActionSubmitMove(), tracker, domain)
    assert outcome.slots == {"pending_request": "move_house"}
    assert outcome.followup == "identity_form"
    assert outcome.messages == []


async def test_a_lapsed_identity_in_the_middle_clears_the_answers(database_url, domain, clock):
    tracker = make_tracker(
        "Hauptstraße 5",
        slots={"mv_kind": "within", "mv_request_id": "r", "mv_date": LATER, **ADDRESS},
    )
    outcome = await run(ActionSubmitMove(), tracker, domain)
    assert outcome.responses == ["utter_identity_expired"]
    assert outcome.slots["mv_street"] is None and "mv_kind" not in outcome.slots
    assert outcome.followup == "identity_form"


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_confirmed_move_is_stored_once_with_a_receipt(
    database_url, domain, clock, language
):
    outcome = await run(ActionSubmitMove(), submit_tracker(language), domain)
    assert outcome.responses == [
        "utter_move_recorded",
        "utter_move_receipt",
        "utter_move_next_out",
        "utter_move_readings_missing",
    ]
    [case] = move_cases(database_url)
    assert (case.kind, case.language, case.channel) == ("move", language, "rest")
    assert case.reference in outcome.texts[0] and case.reference in outcome.texts[1]
    assert "Torstraße 12, 10115 Berlin" in outcome.texts[1]
    assert case.data["kind"] == "out" and case.data["move_date"] == MOVE_DAY
    assert case.data["forwarding_address"] == {
        "street": "Torstraße 12",
        "postcode": "10115",
        "town": "Berlin",
    }
    assert [c["outcome"] for c in case.data["contracts"]] == ["ends", "ends"]
    assert [r["status"] for r in case.data["readings"]] == ["given", "missing"]
    assert move_readings(database_url) == [
        (ELECTRICITY, Decimal("47210"), dt.date(2026, 11, 20), False, "rest")
    ]
    assert outcome.slots == {**RESET, "handoff_reason": None}
    assert outcome.followup is None
    # the same confirmation again (re-delivered) stores nothing more
    again = await run(ActionSubmitMove(), submit_tracker(language), domain)
    assert [c.reference for c in move_cases(database_url)] == [case.reference]
    assert case.reference in again.texts[0]
    assert len(move_readings(database_url)) == 1
    with session_scope(database_url) as session:
        audits = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "move_reported")
        ).all()
        assert [a.detail["service_case"] for a in audits] == [case.id]


async def test_on_the_phone_the_reference_is_read_digit_by_digit(database_url, domain, clock):
    tracker = submit_tracker(
        "tr",
        "voice",
        customer=HATICE,
        mv_readings=None,
        mv_kind="within",
        **ADDRESS,
        mv_bill_to_new=None,
    )
    outcome = await run(ActionSubmitMove(), tracker, domain)
    assert outcome.responses == [
        "utter_move_recorded",
        "utter_move_next_within",
        "utter_move_readings_missing",
    ]
    [case] = move_cases(database_url)
    digits = case.reference[3:]
    spoken = f"U M, {digits[0]} {digits[1]}, {digits[2]} {digits[3]}"
    assert outcome.messages[0]["reference_spoken"].startswith(spoken)
    assert case.channel == "voice" and case.data["kind"] == "within"


async def test_cancelled_moves_store_nothing(database_url, domain, clock):
    before = rows(database_url, ServiceCase), rows(database_url, MeterReading)
    tracker = submit_tracker(form_cancelled=True, mv_confirmed=False)
    outcome = await run(ActionSubmitMove(), tracker, domain)
    assert outcome.responses == ["utter_move_cancelled"]
    assert (rows(database_url, ServiceCase), rows(database_url, MeterReading)) == before


async def test_a_move_that_no_longer_fits_stores_nothing(database_url, domain, clock):
    # the moving date left the window since the summary was read back
    tracker = submit_tracker(mv_date="2026-01-01", mv_confirmed=True)
    outcome = await run(ActionSubmitMove(), tracker, domain)
    assert outcome.responses == ["utter_move_not_possible"]
    assert move_cases(database_url) == []


async def test_someone_new_moving_in_is_stored_without_a_customer(database_url, domain, clock):
    tracker = submit_tracker(
        customer=None,
        mv_kind="in",
        mv_date=LATER,
        **ADDRESS,
        mv_bill_to_new=None,
        mv_readings=None,
        mv_name="Deniz Aksoy",
        mv_birth_date="1994-05-17",
        mv_contact="deniz@example.org",
        mv_confirmed=True,
    )
    outcome = await run(ActionSubmitMove(), tracker, domain)
    assert outcome.responses == ["utter_move_recorded", "utter_move_receipt", "utter_move_next_in"]
    assert "deniz@example.org" in outcome.texts[2]
    [case] = move_cases(database_url)
    assert case.customer_id is None and case.data["newcomer"]["name"] == "Deniz Aksoy"
