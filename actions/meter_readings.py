"""Reporting a meter reading: a form that picks the meter, takes the reading and reads
an implausible one back before anything is stored.

The steps (see data/rules/meter_reading.yml):

1. `action_start_meter_reading` keeps what the request already names ("Zählerstand
   Gas 8123": the commodity and a reading) and starts the identity check or the form.
2. `meter_reading_form` asks for the meter when there are several (by commodity,
   meter number or its last digits, tariff, or a button), then for the reading.
   Every answer is checked by the service at once (bot/domain/services/meter_readings.py):
   an impossible value gets its own answer (`mr_problem`), an implausible one is read
   back (`mr_confirmed` is then required). The ask actions say what the last answer
   lacked; two unusable answers in a row, or the same implausible value twice without
   a yes, bring a way out (a person, or stopping without storing anything).
3. `action_submit_meter_reading` stores the reading once per run of the form and says
   what happens next.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    channel_of,
    commodity_label,
    entity_value,
    language_of,
    latest_intent,
    latest_text,
    next_step,
    response_text,
    today,
)
from actions.forms import CANCELLED, CancellableFormValidation
from actions.identity import is_verified, require_identity
from bot.domain import i18n
from bot.domain.errors import ImplausibleReading, InvalidReading, NotFound
from bot.domain.parsing import is_explicit_yes, parse_commodity, parse_identity
from bot.domain.privacy import masked
from bot.domain.readings import ReadingAnswer, meter_named, parse_reading
from bot.domain.services import meter_readings as mr
from bot.domain.text import fold
from bot.infra.db import run_in_transaction

logger = logging.getLogger(__name__)

REQUEST = "submit_meter_reading"
FORM = "meter_reading_form"
FORM_SLOTS = (
    "mr_request_id",
    "mr_contract",
    "mr_value",
    "mr_confirmed",
    "mr_read_on",
    "mr_verdict",
    "mr_candidate",
    "mr_commodity",
    "mr_problem",
    "mr_unusable",
    "mr_offered",
    "mr_declined",
)
#: Verdicts that are stored only when the customer confirms the value read back.
NEEDS_CONFIRMATION = ("below_last", "above_expected")
#: Unusable answers in a row after which the customer is offered a way out.
WAY_OUT_AFTER = 2
#: At the meter question, a number this large is a reading ("35100"); a smaller one
#: that ends no meter number ("0381") is a meter the customer does not have.
READING_NOT_METER = 10000
#: Why the customer talks to a person when they choose one after an implausible reading.
HANDOFF_REASON = "implausible_reading"
#: What the customer sees for a meter's unit.
UNIT_LABELS = {"kWh": "kWh", "m3": "m³"}
#: Why no reading was taken → the response that says so (and asks again).
PROBLEM_RESPONSES = {
    "no_number": "utter_invalid_mr_no_number",
    "not_a_number": "utter_invalid_mr_no_number",
    "several": "utter_invalid_mr_several",
    "letters": "utter_invalid_mr_letters",
    "identifier": "utter_invalid_mr_identifier",
    "negative": "utter_invalid_mr_negative",
    "too_large": "utter_invalid_mr_too_large",
    "future_date": "utter_invalid_mr_future_date",
    "before_last_reading": "utter_invalid_mr_before_last_reading",
    "wrong_unit": "utter_invalid_mr_wrong_unit",
}
# The meter's number said in words is the whole message: no reading in it.
WHOLE_MESSAGE = "*"
# Button payloads of the way out (the form and the rules read them as these intents).
AFFIRM, DENY, PERSON = "/affirm", "/deny", "/request_human"
# "No" to a value read back asks for another one; these words stop instead.
_STOP_WORDS = re.compile(r"abbrech|abbruch|vergiss|lassen wir|\bstop|vazgec|iptal|bosver")


# --- reading the tracker ----------------------------------------------------------------


async def _meters(tracker: Tracker) -> list[mr.Meter]:
    number = tracker.get_slot("verified_customer")
    return await run_in_transaction(lambda s: mr.meters_of(s, number))


def _meter(meters: list[mr.Meter], contract_number: str | None) -> mr.Meter | None:
    return next((m for m in meters if m.contract_number == contract_number), None)


def _count(tracker: Tracker, slot: str) -> int:
    return int(tracker.get_slot(slot) or 0)


def _is_payload(tracker: Tracker, payload: str) -> bool:
    """Whether the customer pressed the button with this payload (the bot's own)."""
    return latest_text(tracker).strip() == payload


def _said_yes(tracker: Tracker) -> bool:
    if _is_payload(tracker, AFFIRM):
        return True
    return latest_intent(tracker) == "affirm" and is_explicit_yes(latest_text(tracker))


def _reading_in(tracker: Tracker, ignore: list[str] | None = None) -> ReadingAnswer:
    return parse_reading(latest_text(tracker), language_of(tracker), today(), ignore or [])


def _commodity_named(tracker: Tracker) -> str | None:
    """The commodity the latest message names (the entity, or the words themselves)."""
    named = entity_value(tracker, "commodity")
    if named in mr.METER_UNITS:
        return named
    return parse_commodity(named or "") or parse_commodity(latest_text(tracker))


def _unit(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit)


def _meter_values(meter: mr.Meter, language: str, domain: dict[str, Any]) -> dict[str, str]:
    """How the customer reads a meter in the responses."""
    return {
        "commodity": commodity_label(domain, meter.commodity, language),
        "meter_number": meter.meter_number or meter.contract_number,
        "unit": _unit(meter.unit),
    }


def _last_values(meter: mr.Meter, language: str) -> dict[str, str]:
    if meter.last is None:
        return {}
    return {
        "last_value": i18n.number(meter.last.value, language),
        "last_date": i18n.date(meter.last.read_on, language),
    }


def _candidate(answer: ReadingAnswer) -> str | None:
    """A reading named before the meter is known, kept as JSON until it is."""
    if answer.value is None:
        return None
    return json.dumps(
        {
            "value": str(answer.value),
            "read_on": answer.read_on.isoformat() if answer.read_on else None,
            "unit": answer.unit,
        }
    )


def _kept(answer: ReadingAnswer) -> dict[str, Any]:
    """The slot that keeps a reading named before the meter is known (if there is one)."""
    candidate = _candidate(answer)
    return {"mr_candidate": candidate} if candidate else {}


def _from_candidate(raw: str) -> ReadingAnswer:
    data = json.loads(raw)
    read_on = dt.date.fromisoformat(data["read_on"]) if data.get("read_on") else None
    return ReadingAnswer(value=Decimal(data["value"]), read_on=read_on, unit=data.get("unit"))


# --- choosing the meter -----------------------------------------------------------------


def _tail(meter: mr.Meter) -> str:
    return (meter.meter_number or meter.contract_number)[-4:]


def _tariff_words(meter: mr.Meter, meters: list[mr.Meter]) -> set[str]:
    """The words of a meter's tariff that no other meter's tariff has ("warmepumpe")."""

    def words(m: mr.Meter) -> set[str]:
        return set(re.findall(r"[a-z]{4,}", fold(m.tariff or "")))

    others = set().union(*(words(m) for m in meters if m is not meter))
    return words(meter) - others


def _choose_meter(
    meters: list[mr.Meter], tracker: Tracker, commodity: str | None
) -> tuple[mr.Meter | None, str | None]:
    """The meter the latest message names, and the digits that named it (None: no
    digits; `WHOLE_MESSAGE`: the message is the meter's number said in words).

    By contract number (a button), meter number or its last digits (also said in
    words), a word of the tariff ("Wärmepumpe"), or the commodity when only one
    meter has it.
    """
    text = latest_text(tracker)
    wanted = entity_value(tracker, "contract_number")
    if wanted is None:
        wanted = next((m.contract_number for m in meters if m.contract_number in text), None)
    if wanted:
        return _meter(meters, wanted), wanted
    numbers = [m.meter_number for m in meters if m.meter_number]
    named = meter_named(text, numbers)
    if named is None:  # "null vier drei sechs": the digits said in words
        spoken = parse_reading(text, language_of(tracker), today())
        if spoken.value is not None and spoken.value == spoken.value.to_integral_value():
            named = meter_named(str(int(spoken.value)), numbers)
            named = (named[0], WHOLE_MESSAGE) if named else None
    if named is not None:
        return next(m for m in meters if m.meter_number == named[0]), named[1]
    words = set(re.findall(r"[a-z]{4,}", fold(text)))
    by_tariff = [m for m in meters if words & _tariff_words(m, meters)]
    if len(by_tariff) == 1:
        return by_tariff[0], None
    commodity = _commodity_named(tracker) or commodity
    matching = [m for m in meters if m.commodity == commodity]
    return (matching[0] if len(matching) == 1 else None), None


# --- checking a reading -----------------------------------------------------------------


async def _checked(tracker: Tracker, meter: mr.Meter, answer: ReadingAnswer) -> dict[str, Any]:
    """Slot values after the service checked `answer` for `meter` (nothing is stored)."""
    problem: str | None = None
    if answer.value is None:
        problem = answer.problem or "no_number"
    elif answer.unit and answer.unit != meter.unit:
        problem = "wrong_unit"
    read_on = answer.read_on or today()
    if problem is None:
        number = tracker.get_slot("verified_customer")
        try:
            _meter_now, value, verdict = await run_in_transaction(
                lambda s: mr.preview_reading(
                    s, number, meter.contract_number, answer.value, read_on, today()
                )
            )
        except InvalidReading as refused:
            problem = refused.problem
    if problem is not None:
        return {
            "mr_value": None,
            "mr_verdict": None,
            "mr_confirmed": None,
            "mr_read_on": read_on.isoformat(),
            "mr_problem": problem,
            "mr_unusable": float(_count(tracker, "mr_unusable") + 1),
        }
    slots: dict[str, Any] = {
        "mr_value": str(value),
        "mr_read_on": read_on.isoformat(),
        "mr_verdict": verdict.verdict,
        "mr_confirmed": None,
        "mr_problem": None,
        "mr_unusable": None,
        "mr_offered": None,
    }
    if verdict.needs_confirmation:
        # The same implausible value again after a "no": offer a person instead.
        declined = tracker.get_slot("mr_declined")
        slots["mr_offered"] = True if declined and Decimal(declined) == value else None
        slots["handoff_reason"] = HANDOFF_REASON
    return slots


# --- the actions ------------------------------------------------------------------------


class ActionStartMeterReading(Action):
    """Entry point: keep what the request names, then the identity check or the form."""

    def name(self) -> str:
        return "action_start_meter_reading"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet(s, None) for s in FORM_SLOTS]
        events += [SlotSet(CANCELLED, None), next_step(None)]
        if tracker.get_slot("handoff_reason") == HANDOFF_REASON:
            events.append(SlotSet("handoff_reason", None))
        text = latest_text(tracker)
        commodity = _commodity_named(tracker)
        if commodity:
            events.append(SlotSet("mr_commodity", commodity))
        # identity values given along are no reading ("10000025 44137 ... Zählerstand 47350")
        found = parse_identity(text, today())
        ignore = [found.customer_number, found.postcode or ""] if found.customer_number else []
        candidate = _candidate(_reading_in(tracker, ignore))
        if candidate:
            events.append(SlotSet("mr_candidate", candidate))
        gate = await require_identity(dispatcher, tracker, REQUEST)
        if gate is not None:
            return events + gate
        return events + [next_step(FORM)]


class ValidateMeterReadingForm(CancellableFormValidation):
    yes_no_slots = ("mr_confirmed",)

    def name(self) -> str:
        return "validate_meter_reading_form"

    def stop_form(self, tracker: Tracker) -> bool:
        # A lapsed verification ends the form too: the submit action asks again.
        return (
            super().stop_form(tracker)
            or tracker.get_slot("mr_problem") == "no_meter"
            or not is_verified(tracker)
        )

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if self.stop_form(tracker):
            return []
        slots = ["mr_request_id", "mr_contract", "mr_value"]
        if tracker.get_slot("mr_verdict") in NEEDS_CONFIRMATION:
            slots.append("mr_confirmed")  # an implausible reading is read back
        return slots

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> EventType:
        """Always say which slot is next (rasa_sdk leaves it to Rasa when the required
        slots happen to be the domain's), so every turn of the form reads the same."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        missing = next((slot for slot in required if tracker.slots.get(slot) is None), None)
        return SlotSet("requested_slot", missing)

    def wants_to_cancel(self, tracker: Tracker) -> bool:
        # "nein, der Stand ist 47350" corrects; a plain "nein" or "abbrechen" cancels
        if tracker.get_slot("requested_slot") == "mr_value" and _reading_in(tracker).value:
            return False
        return super().wants_to_cancel(tracker)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list:
        if not is_verified(tracker):
            return []  # nothing is read for a customer no longer verified; the form ends
        return await super().get_extraction_events(dispatcher, tracker, domain)

    async def extract_mr_request_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        # One id per run of the form: a re-delivered confirmation reuses it.
        if tracker.get_slot("mr_request_id"):
            return {}
        return {"mr_request_id": uuid.uuid4().hex}

    async def extract_mr_contract(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("mr_contract"):
            return {}
        meters = await _meters(tracker)
        if not meters:
            return {"mr_problem": "no_meter"}
        if len(meters) == 1:
            return {"mr_contract": meters[0].contract_number}
        requested = tracker.get_slot("requested_slot")
        if requested not in (None, "mr_contract") or self.is_interruption(tracker):
            return {}
        hint = tracker.get_slot("mr_commodity")
        if requested is None and latest_intent(tracker) != REQUEST:
            # The form starts after the identity check: what the request named counts.
            named = [m for m in meters if m.commodity == hint]
            return {"mr_contract": named[0].contract_number} if len(named) == 1 else {}
        meter, said = _choose_meter(meters, tracker, hint)
        # A reading given along ("0436, Stand 35100") is kept for the meter.
        answer = ReadingAnswer() if said == WHOLE_MESSAGE else _reading_in(tracker, [said or ""])
        if meter is not None:
            slots = {"mr_contract": meter.contract_number}
            if answer.value is not None:
                slots.update(await _checked(tracker, meter, answer))
                slots["mr_candidate"] = None
            return slots
        if requested is None:
            return _kept(answer)  # the request named no single meter: the form asks
        commodity = _commodity_named(tracker)
        if commodity and sum(m.commodity == commodity for m in meters) > 1:
            return {"mr_commodity": commodity, **_kept(answer)}  # asked among these
        if answer.value is not None and abs(answer.value) >= READING_NOT_METER:
            return _kept(answer)  # a reading, not a meter: kept, the meter is asked again
        return {
            "mr_problem": "unknown_meter",
            "mr_unusable": float(_count(tracker, "mr_unusable") + 1),
        }

    async def validate_mr_contract(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        meter = _meter(await _meters(tracker), value)
        if meter is None:
            return {"mr_contract": None, "mr_problem": "unknown_meter"}
        slots: dict[str, Any] = {"mr_contract": value}
        if tracker.get_slot("mr_value") is None:
            slots.update({"mr_problem": None, "mr_unusable": None})
        candidate = tracker.get_slot("mr_candidate")
        if candidate and tracker.get_slot("mr_value") is None:
            # A reading named before the meter was known is checked now.
            slots.update(await _checked(tracker, meter, _from_candidate(candidate)))
            slots["mr_candidate"] = None
        return slots

    async def extract_mr_value(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "mr_value" or self.is_interruption(tracker):
            return {}
        meter = _meter(await _meters(tracker), tracker.get_slot("mr_contract"))
        if meter is None:
            return {}
        # the meter's last digits said again with the reading are no part of it
        named = meter_named(latest_text(tracker), [meter.meter_number or ""])
        answer = _reading_in(tracker, [named[1]] if named else [])
        return await _checked(tracker, meter, answer)

    async def validate_mr_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"mr_value": value}  # checked by the service when it was extracted

    async def extract_mr_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "mr_confirmed" or self.is_interruption(tracker):
            return {}
        read_back = Decimal(tracker.get_slot("mr_value"))
        answer = _reading_in(tracker)
        if answer.value is not None and answer.value != read_back:
            # A correction ("nein, 47350"): the new value is checked like the first.
            meter = _meter(await _meters(tracker), tracker.get_slot("mr_contract"))
            if meter is None:
                return {}
            return {
                **await _checked(tracker, meter, answer),
                "mr_declined": str(read_back),
            }
        if _said_yes(tracker):
            return {"mr_confirmed": True, "mr_problem": None}
        stop = _is_payload(tracker, DENY) or _STOP_WORDS.search(fold(latest_text(tracker)))
        if latest_intent(tracker) == "deny" and (stop or tracker.get_slot("mr_offered")):
            return {"mr_confirmed": False, CANCELLED: True}
        if latest_intent(tracker) == "deny" and answer.value is None:
            # Not this value: ask for it again, a person is offered along.
            return {
                "mr_declined": str(read_back),
                "mr_value": None,
                "mr_verdict": None,
                "mr_confirmed": None,
                "mr_problem": "declined",
                "mr_unusable": None,
            }
        if answer.value == read_back:
            # The same implausible value again without a yes: offer a person.
            return {"mr_offered": True, "mr_problem": None}
        unclear = _count(tracker, "mr_unusable") + 1
        if unclear >= WAY_OUT_AFTER:
            return {"mr_offered": True, "mr_problem": None, "mr_unusable": None}
        return {"mr_problem": "unclear", "mr_unusable": float(unclear)}


class ActionAskMrContract(Action):
    """Which meter: a button per meter (its commodity or tariff and last digits)."""

    def name(self) -> str:
        return "action_ask_mr_contract"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        meters = await _meters(tracker)
        problem = tracker.get_slot("mr_problem")
        commodity = tracker.get_slot("mr_commodity")
        if len({m.commodity for m in meters}) == 1:
            commodity = meters[0].commodity  # all of one kind: told apart by number
        same = [m for m in meters if m.commodity == commodity]
        if len(same) > 1:
            meters = same
        buttons = []
        for meter in meters:
            twins = sum(m.commodity == meter.commodity for m in meters) > 1
            label = (
                "utter_label_mr_meter_tariff" if twins and meter.tariff else "utter_label_mr_meter"
            )
            title = response_text(domain, label, language).format(
                commodity=commodity_label(domain, meter.commodity, language),
                tariff=meter.tariff,
                tail=_tail(meter),
            )
            payload = "/inform" + json.dumps({"contract_number": meter.contract_number})
            buttons.append({"title": title, "payload": payload})
        if problem == "unknown_meter":
            if _count(tracker, "mr_unusable") >= WAY_OUT_AFTER:
                buttons += _way_out_buttons(domain, language)
            dispatcher.utter_message(response="utter_invalid_mr_contract", buttons=buttons)
        elif len(same) > 1:
            dispatcher.utter_message(
                response="utter_ask_mr_contract_same_commodity",
                commodity=commodity_label(domain, commodity, language),
                buttons=buttons,
            )
        else:
            dispatcher.utter_message(response="utter_ask_mr_contract", buttons=buttons)
        return [SlotSet("mr_problem", None)]


def _way_out_buttons(domain: dict[str, Any], language: str) -> list[dict[str, str]]:
    return [
        {"title": response_text(domain, "utter_label_mr_person", language), "payload": PERSON},
        {"title": response_text(domain, "utter_label_mr_cancel", language), "payload": DENY},
    ]


class ActionAskMrValue(Action):
    """Ask for the reading: the meter and its last reading first, else what was wrong."""

    def name(self) -> str:
        return "action_ask_mr_value"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        meter = _meter(await _meters(tracker), tracker.get_slot("mr_contract"))
        if meter is None:
            return []
        values = {**_meter_values(meter, language, domain), **_last_values(meter, language)}
        problem = tracker.get_slot("mr_problem")
        if problem == "declined":
            declined = i18n.number(Decimal(tracker.get_slot("mr_declined")), language)
            dispatcher.utter_message(
                response="utter_ask_mr_value_again",
                declined_value=declined,
                buttons=_way_out_buttons(domain, language)[:1],
                **values,
            )
        elif problem in PROBLEM_RESPONSES:
            read_on = dt.date.fromisoformat(tracker.get_slot("mr_read_on") or today().isoformat())
            values["read_on"] = i18n.date(read_on, language)
            if _count(tracker, "mr_unusable") >= WAY_OUT_AFTER:
                dispatcher.utter_message(response=PROBLEM_RESPONSES[problem], **values)
                dispatcher.utter_message(
                    response="utter_mr_way_out", buttons=_way_out_buttons(domain, language)
                )
            else:
                dispatcher.utter_message(response=PROBLEM_RESPONSES[problem], **values)
        else:
            if meter.last is not None:
                dispatcher.utter_message(response="utter_mr_last_reading", **values)
            dispatcher.utter_message(response="utter_ask_mr_value", **values)
        return [SlotSet("mr_problem", None)]


class ActionAskMrConfirmed(Action):
    """Read an implausible reading back with the last one; or offer a person."""

    def name(self) -> str:
        return "action_ask_mr_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        number = tracker.get_slot("verified_customer")
        contract_number = tracker.get_slot("mr_contract")
        value = Decimal(tracker.get_slot("mr_value"))
        read_on = dt.date.fromisoformat(tracker.get_slot("mr_read_on") or today().isoformat())
        meter, checked, verdict = await run_in_transaction(
            lambda s: mr.preview_reading(s, number, contract_number, value, read_on, today())
        )
        values = {
            **_meter_values(meter, language, domain),
            **_last_values(meter, language),
            "value": i18n.number(checked, language),
        }
        if verdict.consumption is not None:
            values["consumption"] = i18n.number(verdict.consumption, language)
        if verdict.expected is not None:
            values["expected"] = i18n.number(verdict.expected.quantize(Decimal(1)), language)
        if tracker.get_slot("mr_offered"):
            buttons = [
                {
                    "title": response_text(domain, "utter_label_mr_store", language),
                    "payload": AFFIRM,
                },
                *_way_out_buttons(domain, language),
            ]
            dispatcher.utter_message(response="utter_mr_offer_person", buttons=buttons, **values)
        elif tracker.get_slot("mr_problem") == "unclear":
            dispatcher.utter_message(response="utter_mr_please_confirm", **values)
        else:
            below = tracker.get_slot("mr_verdict") == "below_last"
            name = (
                "utter_ask_mr_confirmed_below_last"
                if below
                else "utter_ask_mr_confirmed_above_expected"
            )
            dispatcher.utter_message(response=name, **values)
        return [SlotSet("mr_problem", None)]


class ActionSubmitMeterReading(Action):
    """Store the reading once; say what happens next, or that nothing was stored."""

    def name(self) -> str:
        return "action_submit_meter_reading"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset: list[EventType] = [SlotSet(s, None) for s in FORM_SLOTS]
        reset += [SlotSet(CANCELLED, None), next_step(None)]
        if tracker.get_slot("handoff_reason") == HANDOFF_REASON:
            reset.append(SlotSet("handoff_reason", None))
        if not is_verified(tracker) and not tracker.get_slot(CANCELLED):
            # Silent too long in the middle of the reading: who is there now?
            dispatcher.utter_message(response="utter_identity_expired")
            gate = await require_identity(dispatcher, tracker, REQUEST)
            return reset + (gate or [])
        if tracker.get_slot("mr_problem") == "no_meter":
            dispatcher.utter_message(response="utter_mr_no_meter")
            return reset
        verdict = tracker.get_slot("mr_verdict")
        confirmed = tracker.get_slot("mr_confirmed") is True
        value = tracker.get_slot("mr_value")
        if (
            tracker.get_slot(CANCELLED)
            or value is None
            or (verdict in NEEDS_CONFIRMATION and not confirmed)
        ):
            dispatcher.utter_message(response="utter_mr_nothing_stored")
            return reset
        language = language_of(tracker)
        read_on = dt.date.fromisoformat(tracker.get_slot("mr_read_on") or today().isoformat())
        try:
            result = await run_in_transaction(
                lambda s: mr.submit_reading(
                    s,
                    customer_number=tracker.get_slot("verified_customer"),
                    contract_number=tracker.get_slot("mr_contract"),
                    value=Decimal(value),
                    read_on=read_on,
                    today=today(),
                    confirmed=confirmed,
                    channel=channel_of(tracker),
                    conversation_id=tracker.sender_id,
                    request_id=tracker.get_slot("mr_request_id"),
                )
            )
        except (ImplausibleReading, InvalidReading, NotFound):
            # Another reading came first (an agent, another conversation): nothing stored.
            dispatcher.utter_message(response="utter_mr_not_stored")
            return reset
        logger.info(
            "meter reading %s contract=%s plausibility=%s conversation=%s",
            "already stored (repeated request)" if result.already_applied else "stored",
            masked(result.meter.contract_number),
            result.plausibility.verdict,
            tracker.sender_id,
        )
        checked = result.plausibility.verdict in NEEDS_CONFIRMATION
        dispatcher.utter_message(
            response="utter_mr_stored_checked" if checked else "utter_mr_stored",
            value=i18n.number(result.reading.value, language),
            read_on=i18n.date(result.reading.read_on, language),
            **_meter_values(result.meter, language, domain),
        )
        dispatcher.utter_message(response="utter_mr_next_steps")
        return reset
