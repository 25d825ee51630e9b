"""Moving house: a form from the kind of move to a confirmed summary, stored as a case.

The form (domain/move_house.yml) asks only what the kind of move needs
(`required_slots`): the kind first, because someone new moving in has no
identity to check; a move out of or within the supply area stops the form
until the identity check is passed (`action_submit_move` starts it, and the
form goes on afterwards). Then the date, the new address (all at once or
part by part), where the final bill goes (moving out), the newcomer's
details (moving in), one final reading per meter once the moving day has
come (an implausible one is read back once), and the summary to confirm.

Every value is checked where it is read (`extract_<slot>`); an unusable
answer gets a clear reply and, from the second one in a row, the offer of a
person or of cancelling. Nothing is stored before the customer's yes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    channel_of,
    language_of,
    latest_intent,
    latest_text,
    message_metadata,
    next_step,
    response_text,
    today,
)
from actions.forms import CANCELLED, CancellableFormValidation
from actions.identity import is_verified, require_identity
from actions.move_house_texts import filled, joined, meter_label, summary_lines, unit_label
from bot.domain import i18n
from bot.domain.addresses import Address, is_town, parse_address, parse_postcode
from bot.domain.errors import (
    InvalidPostcode,
    InvalidReading,
    MoveDateOutOfRange,
    MoveRefused,
    NotFound,
    OutsideSupplyArea,
    ReadingRefused,
)
from bot.domain.move_answers import (
    contact_of,
    is_adult,
    not_yet,
    parse_move_kind,
    person_name,
    reading_value,
)
from bot.domain.parsing import is_explicit_yes, parse_birth_date, parse_day
from bot.domain.references import spoken
from bot.domain.services import meter_readings, moves
from bot.domain.services.meter_readings import Meter
from bot.infra.db import run_in_transaction

logger = logging.getLogger(__name__)

FORM = "move_house_form"
FORM_SLOTS = (
    "mv_request_id",
    "mv_kind",
    "mv_date",
    "mv_street",
    "mv_postcode",
    "mv_town",
    "mv_bill_to_new",
    "mv_forwarding",
    "mv_name",
    "mv_birth_date",
    "mv_contact",
    "mv_reading",
    "mv_reading_check",
    "mv_confirmed",
    "mv_readings",
    "mv_pending_reading",
    "mv_refused_postcode",
)
#: Kinds of move that change a customer's contracts: behind the identity check.
CUSTOMER_KINDS = ("out", "within")
#: A customer's handoff in the middle of a move is a handoff about the move.
HANDOFF_REASON = "move"
#: From this many unusable answers in a row on, a person or cancelling is offered.
WAY_OUT_AFTER = 2

# --- reading what the customer said ---------------------------------------------------


def date_named_up_front(text: str) -> str | None:
    """A moving date said along with the request (ISO), if it lies in the window;
    one outside it is asked for again, with the reason."""
    day = parse_day(text, today())
    if day is None:
        return None
    try:
        return moves.check_move_date(day, today()).isoformat()
    except MoveDateOutOfRange:
        return None


# --- the slots as values -------------------------------------------------------------------


def _readings(tracker: Tracker) -> list[dict[str, Any]]:
    """The final readings answered so far: contract, value (None: later), confirmed."""
    raw = tracker.get_slot("mv_readings")
    return json.loads(raw) if raw else []


def _with_reading(
    tracker: Tracker, contract_number: str, value: Decimal | None, confirmed: bool = False
) -> str:
    kept = [r for r in _readings(tracker) if r["contract_number"] != contract_number]
    kept.append(
        {
            "contract_number": contract_number,
            "value": None if value is None else str(value),
            "confirmed": confirmed,
        }
    )
    return json.dumps(kept)


def _move_date(tracker: Tracker) -> dt.date | None:
    raw = tracker.get_slot("mv_date")
    return dt.date.fromisoformat(raw) if raw else None


def _readings_due(tracker: Tracker) -> bool:
    move_date = _move_date(tracker)
    return move_date is not None and moves.readings_due(move_date, today())


async def _meters(tracker: Tracker) -> list[Meter]:
    number = tracker.get_slot("verified_customer")
    if not number:
        return []
    return await run_in_transaction(lambda s: meter_readings.meters_of(s, number))


async def _next_meter(tracker: Tracker) -> Meter | None:
    """The first meter whose final reading was not answered yet."""
    answered = {r["contract_number"] for r in _readings(tracker)}
    return next((m for m in await _meters(tracker) if m.contract_number not in answered), None)


def move_request(tracker: Tracker) -> moves.MoveRequest:
    """The move as the slots describe it (all asked slots answered)."""
    forwarding = tracker.get_slot("mv_forwarding")
    newcomer = None
    if tracker.get_slot("mv_kind") == "in" and tracker.get_slot("mv_name"):
        newcomer = moves.Newcomer(
            name=tracker.get_slot("mv_name"),
            birth_date=dt.date.fromisoformat(tracker.get_slot("mv_birth_date")),
            contact=tracker.get_slot("mv_contact"),
        )
    return moves.MoveRequest(
        kind=tracker.get_slot("mv_kind"),
        move_date=_move_date(tracker),  # type: ignore[arg-type]
        new_address=Address(
            street=tracker.get_slot("mv_street"),
            postcode=tracker.get_slot("mv_postcode"),
            town=tracker.get_slot("mv_town"),
        ),
        forwarding_address=Address.from_dict(json.loads(forwarding)) if forwarding else None,
        readings=tuple(
            moves.GivenReading(
                r["contract_number"],
                None if r["value"] is None else Decimal(r["value"]),
                bool(r["confirmed"]),
            )
            for r in _readings(tracker)
        ),
        newcomer=newcomer,
    )


def _customer(tracker: Tracker) -> str | None:
    """The customer whose contracts move (someone new moving in has none)."""
    if tracker.get_slot("mv_kind") == "in":
        return None
    return tracker.get_slot("verified_customer")


# --- texts -------------------------------------------------------------------------------


async def _preview(tracker: Tracker) -> moves.MovePreview:
    request = move_request(tracker)
    customer = _customer(tracker)
    return await run_in_transaction(lambda s: moves.preview_move(s, customer, request, today()))


# --- the form --------------------------------------------------------------------------------


class ValidateMoveHouseForm(CancellableFormValidation):
    yes_no_slots = ("mv_bill_to_new", "mv_reading_check", "mv_confirmed")

    def name(self) -> str:
        return "validate_move_house_form"

    def stop_form(self, tracker: Tracker) -> bool:
        # A move of a customer's contracts waits for the identity check (or a
        # lapsed one): action_submit_move asks for it, then the form goes on.
        waits_for_identity = tracker.get_slot("mv_kind") in CUSTOMER_KINDS and not is_verified(
            tracker
        )
        return super().stop_form(tracker) or waits_for_identity

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if self.stop_form(tracker):
            return []
        kind = tracker.get_slot("mv_kind")
        slots = ["mv_request_id", "mv_kind"]
        if kind is None:
            return slots
        slots += ["mv_date", "mv_street", "mv_postcode", "mv_town"]
        if kind == "out":
            slots.append("mv_bill_to_new")
            if tracker.get_slot("mv_bill_to_new") is False:
                slots.append("mv_forwarding")
        if kind == "in":
            slots += ["mv_name", "mv_birth_date", "mv_contact"]
        elif _readings_due(tracker):
            if tracker.get_slot("mv_pending_reading"):
                slots.append("mv_reading_check")
            elif await _next_meter(tracker) is not None:
                slots.append("mv_reading")
        return [*slots, "mv_confirmed"]

    def wants_to_cancel(self, tracker: Tracker) -> bool:
        text = latest_text(tracker)
        requested = tracker.get_slot("requested_slot")
        if requested == "mv_reading" and not_yet(text):
            return False  # "habe ich noch nicht" is an answer, not a cancellation
        if requested == "mv_postcode" and self._ends_contracts_instead(tracker):
            return False
        return super().wants_to_cancel(tracker)

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # Every value is checked where it is read (extract_*): nothing is left to validate.
        return [SlotSet(name, value) for name, value in tracker.slots_to_validate().items()]

    # --- helpers -------------------------------------------------------------------

    def _refuse(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        response: str,
        buttons: list[dict[str, str]] | None = None,
        **values: Any,
    ) -> dict[str, Any]:
        """Say why the answer cannot be taken; from the second in a row, offer a way out."""
        dispatcher.utter_message(response=response, buttons=buttons or [], **values)
        retries = int(tracker.get_slot("form_retry") or 0) + 1
        if retries >= WAY_OUT_AFTER:
            language = language_of(tracker)
            way_out = [
                {
                    "title": response_text(domain, "utter_label_request_human", language),
                    "payload": "/request_human",
                }
            ]
            if tracker.get_slot("requested_slot") not in self.yes_no_slots:
                way_out.append(
                    {
                        "title": response_text(domain, "utter_label_move_cancel", language),
                        "payload": "/deny",
                    }
                )
            dispatcher.utter_message(response="utter_move_way_out", buttons=way_out)
        return {"form_retry": float(retries)}

    def _ends_contracts_instead(self, tracker: Tracker) -> bool:
        """After a postcode outside the area for a move within it: "end the contracts"."""
        return (
            tracker.get_slot("mv_kind") == "within"
            and bool(tracker.get_slot("mv_refused_postcode"))
            and parse_move_kind(latest_text(tracker)) == "out"
        )

    def _postcode_values(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        postcode: str,
    ) -> dict[str, Any]:
        kind = tracker.get_slot("mv_kind")
        try:
            moves.check_postcode(postcode, kind)
        except InvalidPostcode:
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_postcode")
        except OutsideSupplyArea:
            if kind == "within":
                title = response_text(
                    domain, "utter_label_move_end_contracts", language_of(tracker)
                )
                refused = self._refuse(
                    dispatcher,
                    tracker,
                    domain,
                    "utter_move_outside_area",
                    buttons=[{"title": title, "payload": title}],
                    postcode=postcode,
                )
            else:
                refused = self._refuse(
                    dispatcher, tracker, domain, "utter_move_in_outside_area", postcode=postcode
                )
            return {**refused, "mv_refused_postcode": postcode}
        return {"mv_postcode": postcode, "mv_refused_postcode": None, "form_retry": None}

    async def _reading_values(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        meter: Meter,
        value: Decimal,
    ) -> dict[str, Any]:
        """A reading for `meter`: taken, read back when implausible, or refused."""
        number = tracker.get_slot("verified_customer")
        move_date = _move_date(tracker)
        try:
            _meter, checked, verdict = await run_in_transaction(
                lambda s: meter_readings.preview_reading(
                    s, number, meter.contract_number, value, move_date, today()
                )
            )
        except (InvalidReading, NotFound):
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_mv_reading")
        if verdict.needs_confirmation:
            pending = {
                "contract_number": meter.contract_number,
                "value": str(checked),
                "unit": meter.unit,
                "verdict": verdict.verdict,
                "last_value": str(verdict.last.value) if verdict.last else None,
                "last_date": verdict.last.read_on.isoformat() if verdict.last else None,
                "consumption": None if verdict.consumption is None else str(verdict.consumption),
                "expected": None if verdict.expected is None else str(verdict.expected),
            }
            return {
                "mv_pending_reading": json.dumps(pending),
                "mv_reading_check": None,
                "form_retry": None,
            }
        return {
            "mv_readings": _with_reading(tracker, meter.contract_number, checked),
            "mv_pending_reading": None,
            "form_retry": None,
        }

    # --- extraction, slot by slot -----------------------------------------------------

    async def extract_mv_request_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        # One id per run of the form: a re-delivered confirmation reuses it.
        if tracker.get_slot("mv_request_id"):
            return {}
        return {"mv_request_id": uuid.uuid4().hex}

    async def extract_mv_kind(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("mv_kind") or not self._asked(tracker, "mv_kind"):
            return {}
        text = latest_text(tracker)
        kind = parse_move_kind(text)
        if kind is None:
            if self.is_interruption(tracker):
                return {}
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_mv_kind")
        if kind == "in" and is_verified(tracker):
            # A customer moving into a new home here takes the contracts along.
            dispatcher.utter_message(response="utter_move_in_as_customer")
            kind = "within"
        values: dict[str, Any] = {"mv_kind": kind, "form_retry": None}
        named = date_named_up_front(text)
        if named and not tracker.get_slot("mv_date"):
            values["mv_date"] = named
        return values

    async def extract_mv_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_date"):
            return {}
        day = parse_day(latest_text(tracker), today())
        if day is None:
            if self.is_interruption(tracker):
                return {}
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_mv_date")
        try:
            moves.check_move_date(day, today())
        except MoveDateOutOfRange as refused:
            language = language_of(tracker)
            return self._refuse(
                dispatcher,
                tracker,
                domain,
                "utter_move_date_too_early" if refused.too_early else "utter_move_date_too_late",
                earliest=i18n.date(refused.earliest, language),
                latest=i18n.date(refused.latest, language),
            )
        return {"mv_date": day.isoformat(), "form_retry": None}

    async def extract_mv_street(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_street"):
            return {}
        parts = parse_address(latest_text(tracker))
        if parts.street is None:
            if self.is_interruption(tracker):
                return {}
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_mv_street")
        values: dict[str, Any] = {"mv_street": parts.street, "form_retry": None}
        if parts.postcode:
            values.update(self._postcode_values(dispatcher, tracker, domain, parts.postcode))
            if parts.town and values.get("mv_postcode"):
                values["mv_town"] = parts.town
        return values

    async def extract_mv_postcode(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_postcode"):
            return {}
        text = latest_text(tracker)
        if self._ends_contracts_instead(tracker):
            # The customer leaves the area after all: the contracts end instead.
            dispatcher.utter_message(response="utter_move_now_out")
            return {
                "mv_kind": "out",
                "mv_postcode": tracker.get_slot("mv_refused_postcode"),
                "mv_refused_postcode": None,
                "form_retry": None,
            }
        postcode = parse_postcode(text)
        if postcode is None:
            if self.is_interruption(tracker):
                return {}
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_postcode")
        values = self._postcode_values(dispatcher, tracker, domain, postcode)
        town = parse_address(text).town
        if town and values.get("mv_postcode") and not tracker.get_slot("mv_town"):
            values["mv_town"] = town
        return values

    async def extract_mv_town(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_town") or self._sure_interruption(tracker):
            return {}
        text = latest_text(tracker)
        town = parse_address(text).town or (text.strip(" .,") if is_town(text) else None)
        if town is None or "?" in text:
            if self.is_interruption(tracker):
                return {}
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_mv_town")
        return {"mv_town": town, "form_retry": None}

    async def extract_mv_bill_to_new(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_bill_to_new"):
            return {}
        text = latest_text(tracker)
        parts = parse_address(text)
        if parts.street and parts.postcode and parts.town:
            # Another address named right away: that is where the bill goes.
            address = Address(parts.street, parts.postcode, parts.town)
            return {
                "mv_bill_to_new": False,
                "mv_forwarding": json.dumps(address.as_dict()),
                "form_retry": None,
            }
        intent = latest_intent(tracker)
        if intent == "affirm" and is_explicit_yes(text):
            return {"mv_bill_to_new": True, "form_retry": None}
        if intent == "deny":
            return {"mv_bill_to_new": False, "form_retry": None}
        if self.is_interruption(tracker):
            return {}
        return self._refuse(dispatcher, tracker, domain, "utter_move_please_confirm")

    async def extract_mv_forwarding(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_forwarding"):
            return {}
        parts = parse_address(latest_text(tracker))
        if not (parts.street and parts.postcode and parts.town):
            if self.is_interruption(tracker):
                return {}
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_mv_forwarding")
        address = Address(parts.street, parts.postcode, parts.town)
        return {"mv_forwarding": json.dumps(address.as_dict()), "form_retry": None}

    async def extract_mv_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_name") or self._sure_interruption(tracker):
            return {}
        text = latest_text(tracker)
        name = person_name(text)
        if name is None or "?" in text:
            if self.is_interruption(tracker):
                return {}
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_mv_name")
        return {"mv_name": name, "form_retry": None}

    async def extract_mv_birth_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_birth_date"):
            return {}
        born = parse_birth_date(latest_text(tracker), today())
        if born is None:
            if self.is_interruption(tracker):
                return {}
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_birth_date")
        if not is_adult(born, today()):
            return self._refuse(dispatcher, tracker, domain, "utter_move_too_young")
        return {"mv_birth_date": born.isoformat(), "form_retry": None}

    async def extract_mv_contact(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("mv_contact"):
            return {}
        caller = message_metadata(tracker).get("caller")
        if channel_of(tracker) == "voice" and isinstance(caller, str) and caller.startswith("+"):
            # On the phone the number that calls is how we reach the caller.
            return {"mv_contact": caller[:32]}
        if not self._asked(tracker, "mv_contact"):
            return {}
        contact = contact_of(latest_text(tracker))
        if contact is None:
            if self.is_interruption(tracker):
                return {}
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_mv_contact")
        return {"mv_contact": contact, "form_retry": None}

    async def extract_mv_reading(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_reading"):
            return {}
        meter = await _next_meter(tracker)
        if meter is None:
            return {}
        text = latest_text(tracker)
        if not_yet(text):
            return {
                "mv_readings": _with_reading(tracker, meter.contract_number, None),
                "form_retry": None,
            }
        value = reading_value(text)
        if value is None:
            if self.is_interruption(tracker):
                return {}
            return self._refuse(dispatcher, tracker, domain, "utter_invalid_mv_reading")
        return await self._reading_values(dispatcher, tracker, domain, meter, value)

    async def extract_mv_reading_check(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_reading_check"):
            return {}
        pending = json.loads(tracker.get_slot("mv_pending_reading"))
        contract_number = pending["contract_number"]
        text = latest_text(tracker)
        value = reading_value(text)
        if value is not None and value != Decimal(pending["value"]):
            # Another value instead: checked like the first.
            meter = next(m for m in await _meters(tracker) if m.contract_number == contract_number)
            return await self._reading_values(dispatcher, tracker, domain, meter, value)
        intent = latest_intent(tracker)
        if intent == "affirm" and is_explicit_yes(text):
            return {
                "mv_readings": _with_reading(
                    tracker, contract_number, Decimal(pending["value"]), confirmed=True
                ),
                "mv_pending_reading": None,
                "form_retry": None,
            }
        if intent == "deny" or not_yet(text):
            dispatcher.utter_message(response="utter_move_reading_left_out")
            return {
                "mv_readings": _with_reading(tracker, contract_number, None),
                "mv_pending_reading": None,
                "form_retry": None,
            }
        if self.is_interruption(tracker):
            return {}
        return self._refuse(dispatcher, tracker, domain, "utter_move_please_confirm")

    async def extract_mv_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "mv_confirmed"):
            return {}
        intent = latest_intent(tracker)
        if intent == "affirm" and is_explicit_yes(latest_text(tracker)):
            return {"mv_confirmed": True, "form_retry": None}
        if intent == "deny":
            return {"mv_confirmed": False, CANCELLED: True}
        if self.is_interruption(tracker):
            return {}
        return self._refuse(dispatcher, tracker, domain, "utter_move_please_confirm")


# --- the questions that need values or buttons -------------------------------------------------


class ActionAskMvKind(Action):
    def name(self) -> str:
        return "action_ask_mv_kind"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        titles = [
            response_text(domain, f"utter_label_move_{kind}", language)
            for kind in ("out", "within", "in")
        ]
        # The payload is the title itself, in the customer's language.
        buttons = [{"title": title, "payload": title} for title in titles]
        dispatcher.utter_message(response="utter_ask_mv_kind", buttons=buttons)
        return []


class ActionAskMvBillToNew(Action):
    def name(self) -> str:
        return "action_ask_mv_bill_to_new"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        address = Address(
            tracker.get_slot("mv_street"),
            tracker.get_slot("mv_postcode"),
            tracker.get_slot("mv_town"),
        )
        dispatcher.utter_message(response="utter_ask_mv_bill_to_new", address=address.line())
        return []


class ActionAskMvReading(Action):
    """The next meter's final reading (an introduction before the first one)."""

    def name(self) -> str:
        return "action_ask_mv_reading"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        meter = await _next_meter(tracker)
        if meter is None:
            return []
        if not _readings(tracker):
            dispatcher.utter_message(response="utter_move_readings_intro")
        last = ""
        if meter.last is not None:
            last = filled(
                domain,
                "utter_move_label_last_reading",
                language,
                value=i18n.number(meter.last.value, language),
                unit=unit_label(meter.unit),
                date=i18n.date(meter.last.read_on, language),
            )
        later = response_text(domain, "utter_label_move_reading_later", language)
        dispatcher.utter_message(
            response="utter_ask_mv_reading",
            buttons=[{"title": later, "payload": later}],
            meter=meter_label(meter, domain, language),
            move_date=i18n.date(_move_date(tracker), language),  # type: ignore[arg-type]
            last=last,
        )
        return []


class ActionAskMvReadingCheck(Action):
    """Read an implausible reading back once."""

    def name(self) -> str:
        return "action_ask_mv_reading_check"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        pending = json.loads(tracker.get_slot("mv_pending_reading"))

        def number(key: str) -> str:
            raw = pending.get(key)
            return i18n.number(Decimal(raw), language) if raw is not None else ""

        response = (
            "utter_ask_mv_reading_check_below"
            if pending["verdict"] == "below_last"
            else "utter_ask_mv_reading_check_above"
        )
        last_date = pending.get("last_date")
        dispatcher.utter_message(
            response=response,
            value=number("value"),
            unit=unit_label(pending["unit"]),
            last_value=number("last_value"),
            last_date=i18n.date(dt.date.fromisoformat(last_date), language) if last_date else "",
            consumption=number("consumption"),
            expected=number("expected"),
        )
        return []


class ActionAskMvConfirmed(Action):
    """Read the whole move back before anything is stored."""

    def name(self) -> str:
        return "action_ask_mv_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        preview = await _preview(tracker)
        lines = summary_lines(preview, domain, language)
        voice = channel_of(tracker) == "voice"
        dispatcher.utter_message(response="utter_ask_mv_confirmed", summary=joined(lines, voice))
        return []


# --- start and submit ----------------------------------------------------------------------


def _reset() -> list[EventType]:
    return [
        *(SlotSet(slot, None) for slot in FORM_SLOTS),
        SlotSet(CANCELLED, None),
        SlotSet("form_retry", None),
    ]


class ActionStartMove(Action):
    """Entry point: a fresh form (keeping a moving date named up front)."""

    def name(self) -> str:
        return "action_start_move"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = _reset()
        named = date_named_up_front(latest_text(tracker))
        if named:
            events.append(SlotSet("mv_date", named))
        return [*events, SlotSet("handoff_reason", HANDOFF_REASON), next_step(FORM)]


class ActionSubmitMove(Action):
    """After the form: the identity check first, or store the confirmed move once."""

    def name(self) -> str:
        return "action_submit_move"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset = [*_reset(), SlotSet("handoff_reason", None), next_step(None)]
        cancelled = bool(tracker.get_slot(CANCELLED))
        kind = tracker.get_slot("mv_kind")
        if not cancelled and kind in CUSTOMER_KINDS and not is_verified(tracker):
            return await self._identity_first(dispatcher, tracker)
        if cancelled or tracker.get_slot("mv_confirmed") is not True:
            dispatcher.utter_message(response="utter_move_cancelled")
            return reset
        language = language_of(tracker)
        channel = channel_of(tracker)
        request = move_request(tracker)
        customer = _customer(tracker)

        def record(session: Any) -> tuple[moves.MovePreview, moves.RecordedMove]:
            preview = moves.preview_move(session, customer, request, today())
            recorded = moves.record_move(
                session,
                customer_number=customer,
                request=request,
                language=language,
                channel=channel,
                conversation_id=tracker.sender_id,
                request_id=tracker.get_slot("mv_request_id"),
                today=today(),
            )
            return preview, recorded

        try:
            preview, recorded = await run_in_transaction(record)
        except (MoveRefused, ReadingRefused, NotFound):
            # Something changed since the read-back (a day passed, a contract, a reading).
            dispatcher.utter_message(response="utter_move_not_possible")
            return reset
        logger.info(
            "move %s kind=%s reference=%s conversation=%s readings_missing=%s",
            "already recorded (repeated confirmation)" if recorded.already_recorded else "recorded",
            kind,
            recorded.reference,
            tracker.sender_id,
            bool(preview.missing_readings),
        )
        self._confirm(dispatcher, domain, language, channel, recorded.reference, preview)
        return reset

    async def _identity_first(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        """Start the identity check; the form goes on after it with the kind of move.

        A verification that lapsed in the middle clears what was said so far:
        whoever proves their identity now may be someone else.
        """
        keep = {"mv_kind", "mv_request_id", "mv_date"}  # the date may come with the request
        progressed = any(tracker.get_slot(s) is not None for s in FORM_SLOTS if s not in keep)
        events: list[EventType] = []
        if progressed:
            dispatcher.utter_message(response="utter_identity_expired")
            events = [SlotSet(s, None) for s in FORM_SLOTS if s not in keep]
        gate = await require_identity(dispatcher, tracker, "move_house")
        return [*events, *(gate or [])]

    def _confirm(
        self,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        language: str,
        channel: str,
        reference: str,
        preview: moves.MovePreview,
    ) -> None:
        """The reference (digit by digit on the phone), a receipt to keep, what happens next."""
        request = preview.request
        voice = channel == "voice"
        dispatcher.utter_message(
            response="utter_move_recorded", reference=reference, reference_spoken=spoken(reference)
        )
        if not voice:
            lines = summary_lines(preview, domain, language, reference=reference)
            dispatcher.utter_message(response="utter_move_receipt", summary=joined(lines, voice))
        date = i18n.date(request.move_date, language)
        if request.kind == "out":
            address = preview.final_bill_address.line()  # type: ignore[union-attr]
            dispatcher.utter_message(response="utter_move_next_out", date=date, address=address)
        elif request.kind == "within":
            dispatcher.utter_message(response="utter_move_next_within", date=date)
        else:
            contact = request.newcomer.contact if request.newcomer else ""
            dispatcher.utter_message(response="utter_move_next_in", contact=contact)
        if preview.contracts and preview.missing_readings:
            meters = ", ".join(meter_label(c, domain, language) for c in preview.missing_readings)
            dispatcher.utter_message(response="utter_move_readings_missing", meters=meters)
