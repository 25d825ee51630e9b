"""Supply faults: what failed and where, a known outage or the quick checks, a fault ticket.

No identity check: anyone may report a fault, and no account data is
touched. `outage_form` asks what failed (a commodity or a street light)
and the postcode. A known outage there (bot/domain/services/faults.py) is
named with its cause and expected end, and the form ends: a customer in a
dark street is not asked about fuses. Otherwise the fault desk's quick
checks follow (neighbours affected too? for power the fuse box, for water
the main tap); a home-only fault that was not checked yet gets the tip and
no ticket. Then the address, a description and a number to call back (on
the phone the caller's number, unless withheld) make a fault ticket `SM-…`,
stored once per run of the form, and the customer hears when the fault desk
calls. A gas smell never gets here (actions/emergency.py comes first).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    caller_number,
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
from actions.forms import CANCELLED, CancellableFormValidation, way_out_reset
from bot.domain import i18n
from bot.domain.addresses import is_street, parse_postcode
from bot.domain.fault_answers import (
    AREA,
    HOME,
    STREET_LIGHT,
    UNKNOWN,
    affected,
    callback_number,
    fault_commodity,
)
from bot.domain.parsing import is_explicit_yes
from bot.domain.services import faults
from bot.domain.services.moves import in_supply_area
from bot.infra.db import run_in_transaction
from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)

FORM = "outage_form"
FORM_SLOTS = (
    "of_request_id",
    "of_commodity",
    "of_postcode",
    "of_scope",
    "of_checked",
    "of_address",
    "of_description",
    "of_callback",
    "of_outage",
    "of_problem",
)
#: faults where the customer's own installation is checked first (fuse box, main tap)
CHECKED_FIRST = ("electricity", "water")
CHOICES = ("electricity", "water", "district_heating", "gas", STREET_LIGHT)
MIN_DESCRIPTION = 3


def _label(domain: dict[str, Any], name: str, language: str) -> dict[str, str]:
    """A button whose payload is its title (the answer reads the words)."""
    title = response_text(domain, name, language)
    return {"title": title, "payload": title}


def _fault_named(tracker: Tracker) -> str | None:
    """What the latest message says failed (the entity, or the words)."""
    named = entity_value(tracker, "commodity")
    if named in CHOICES:
        return named
    return fault_commodity(latest_text(tracker))


class ActionStartOutage(Action):
    """Start the fault report with what the request already says (what failed, where)."""

    def name(self) -> str:
        return "action_start_outage"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [SlotSet(slot, None) for slot in FORM_SLOTS]
        events += [SlotSet(CANCELLED, None), *way_out_reset()]
        events.append(SlotSet("of_request_id", uuid.uuid4().hex))
        named = _fault_named(tracker)
        if named:
            events.append(SlotSet("of_commodity", named))
        # a postcode said with the request is read by the form (and checked there)
        return [*events, next_step(FORM)]


class ValidateOutageForm(CancellableFormValidation):
    yes_no_slots = ("of_scope", "of_checked")

    def name(self) -> str:
        return "validate_outage_form"

    def stop_form(self, tracker: Tracker) -> bool:
        return (
            super().stop_form(tracker)
            or tracker.get_slot("of_outage") is not None
            or tracker.get_slot("of_problem") == "outside_area"
            or tracker.get_slot("of_checked") is False
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
        commodity = tracker.get_slot("of_commodity")
        slots = ["of_request_id", "of_commodity", "of_postcode"]
        if commodity != STREET_LIGHT:
            slots.append("of_scope")
            if commodity in CHECKED_FIRST and tracker.get_slot("of_scope") == HOME:
                slots.append("of_checked")
        slots += ["of_address", "of_description"]
        if commodity != STREET_LIGHT and not caller_number(tracker):
            slots.append("of_callback")  # the phone knows the caller's number
        return slots

    async def extract_of_request_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {} if tracker.get_slot("of_request_id") else {"of_request_id": uuid.uuid4().hex}

    async def extract_of_commodity(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "of_commodity") or self._sure_interruption(tracker):
            return {}
        named = _fault_named(tracker)
        if named is None:
            return {
                "of_problem": "unclear_commodity",
                **self.rejected(dispatcher, tracker, "of_commodity"),
            }
        values: dict[str, Any] = {"of_commodity": named, "of_problem": None}
        postcode = parse_postcode(latest_text(tracker))
        if postcode:
            values["of_postcode"] = postcode
        return values

    async def extract_of_postcode(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        postcode = parse_postcode(latest_text(tracker))
        if tracker.get_slot("requested_slot") is None:
            # the form's start: "Stromausfall in 44137" names it with the request
            return {"of_postcode": postcode} if postcode else {}
        if not self._asked(tracker, "of_postcode") or self._sure_interruption(tracker):
            return {}
        if postcode is None:
            return self.rejected(dispatcher, tracker, "of_postcode", "utter_invalid_of_postcode")
        return {"of_postcode": postcode}

    async def validate_of_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Outside our grid: the local operator. A known outage there: say so, the form ends."""
        postcode = str(value)
        if not in_supply_area(postcode):
            dispatcher.utter_message(response="utter_of_outside_area", postcode=postcode)
            return {"of_postcode": postcode, "of_problem": "outside_area"}
        commodity = tracker.get_slot("of_commodity")
        return {
            "of_postcode": postcode,
            **await _known(dispatcher, tracker, domain, postcode, commodity),
        }

    async def validate_of_commodity(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """A postcode named before the commodity ("Störung in 45127", then "Strom") is
        looked up now."""
        postcode = tracker.get_slot("of_postcode")
        if not postcode or not in_supply_area(postcode) or tracker.get_slot("of_outage"):
            return {"of_commodity": value}
        return {"of_commodity": value, **await _known(dispatcher, tracker, domain, postcode, value)}

    async def extract_of_scope(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "of_scope") or self._sure_interruption(tracker):
            return {}
        scope = affected(latest_text(tracker))
        if scope is None and latest_intent(tracker) == "deny":
            scope = HOME  # "nein" to "auch die Nachbarn?"
        if scope is None and latest_intent(tracker) == "affirm":
            scope = AREA
        if scope is None:
            return {"of_problem": "unclear_scope", **self.rejected(dispatcher, tracker, "of_scope")}
        return {"of_scope": scope, "of_problem": None}

    async def extract_of_checked(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "of_checked") or self._sure_interruption(tracker):
            return {}
        if latest_intent(tracker) == "deny":
            return {"of_checked": False}
        if latest_intent(tracker) == "affirm" or is_explicit_yes(latest_text(tracker)):
            return {"of_checked": True}
        return self.rejected(dispatcher, tracker, "of_checked")

    async def extract_of_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "of_address") or self._sure_interruption(tracker):
            return {}
        text = " ".join(latest_text(tracker).split())
        if not is_street(text) or len(text) > 200:
            return self.rejected(dispatcher, tracker, "of_address", "utter_invalid_of_address")
        return {"of_address": text}

    async def extract_of_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "of_description") or self._sure_interruption(tracker):
            return {}
        text = " ".join(latest_text(tracker).split())
        if sum(ch.isalpha() for ch in text) < MIN_DESCRIPTION:
            return self.rejected(
                dispatcher, tracker, "of_description", "utter_invalid_of_description"
            )
        return {"of_description": text[: faults.MAX_DESCRIPTION]}

    async def extract_of_callback(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "of_callback") or self._sure_interruption(tracker):
            return {}
        number = callback_number(latest_text(tracker))
        if number is None:
            return self.rejected(dispatcher, tracker, "of_callback", "utter_invalid_of_callback")
        return {"of_callback": number}


async def _known(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    postcode: str,
    commodity: str | None,
) -> dict[str, Any]:
    """A known outage of `commodity` at `postcode`: told now, and the form ends."""
    if commodity is None:
        return {}
    utc_now = get_settings().now().astimezone(faults.UTC).replace(tzinfo=None)
    known = await run_in_transaction(
        lambda s: faults.current_outage(s, postcode, commodity, utc_now)
    )
    if known is None:
        return {}
    _tell_known(dispatcher, tracker, domain, known)
    return {"of_outage": str(known.id)}


def _tell_known(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    known: faults.OutageView,
) -> None:
    """What is known of the outage: since when, why, and until when (local time)."""
    settings = get_settings()
    language = language_of(tracker)
    local = settings.now().tzinfo
    since = known.started_at.replace(tzinfo=faults.UTC).astimezone(local)
    note = known.note(language)
    values = {
        "postcode": known.postcode,
        "commodity": _commodity_text(domain, known.commodity, language),
        "since": i18n.moment(since, today(), language),
        "note": f"{note.rstrip('.')}. " if note else "",
    }
    if known.expected_end is None:
        dispatcher.utter_message(response="utter_of_known_outage_no_end", **values)
        return
    end = known.expected_end.replace(tzinfo=faults.UTC).astimezone(local)
    dispatcher.utter_message(
        response="utter_of_known_outage", end=i18n.moment(end, today(), language), **values
    )


def _commodity_text(domain: dict[str, Any], commodity: str, language: str) -> str:
    if commodity == STREET_LIGHT:
        return response_text(domain, "utter_label_of_street_light", language)
    return commodity_label(domain, commodity, language)


class ActionAskOfCommodity(Action):
    def name(self) -> str:
        return "action_ask_of_commodity"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        buttons = [_label(domain, f"utter_label_of_{choice}", language) for choice in CHOICES]
        unclear = tracker.get_slot("of_problem") == "unclear_commodity"
        response = "utter_invalid_of_commodity" if unclear else "utter_ask_of_commodity"
        dispatcher.utter_message(response=response, buttons=buttons)
        return [SlotSet("of_problem", None)]


class ActionAskOfScope(Action):
    def name(self) -> str:
        return "action_ask_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        buttons = [_label(domain, f"utter_label_of_{s}", language) for s in (HOME, AREA, UNKNOWN)]
        unclear = tracker.get_slot("of_problem") == "unclear_scope"
        dispatcher.utter_message(
            response="utter_invalid_of_scope" if unclear else "utter_ask_of_scope",
            buttons=buttons,
        )
        return [SlotSet("of_problem", None)]


class ActionAskOfChecked(Action):
    """The quick check for the commodity: the fuse box, or the main tap."""

    def name(self) -> str:
        return "action_ask_of_checked"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        commodity = tracker.get_slot("of_commodity")
        dispatcher.utter_message(response=f"utter_ask_of_checked_{commodity}")
        return []


class ActionAskOfAddress(Action):
    def name(self) -> str:
        return "action_ask_of_address"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        street_light = tracker.get_slot("of_commodity") == STREET_LIGHT
        name = "utter_ask_of_address_street_light" if street_light else "utter_ask_of_address"
        dispatcher.utter_message(response=name)
        return []


class ActionAskOfDescription(Action):
    def name(self) -> str:
        return "action_ask_of_description"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        street_light = tracker.get_slot("of_commodity") == STREET_LIGHT
        name = (
            "utter_ask_of_description_street_light" if street_light else "utter_ask_of_description"
        )
        dispatcher.utter_message(response=name)
        return []


class ActionSubmitOutage(Action):
    """The form's end: nothing (cancelled, known outage, outside), the tip, or the ticket."""

    def name(self) -> str:
        return "action_submit_outage"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        done = [*(SlotSet(slot, None) for slot in FORM_SLOTS), SlotSet(CANCELLED, None)]
        done += [*way_out_reset(), next_step(None)]
        commodity = tracker.get_slot("of_commodity")
        if tracker.get_slot(CANCELLED):
            dispatcher.utter_message(response="utter_of_cancelled")
            return done
        if tracker.get_slot("of_outage") or tracker.get_slot("of_problem") == "outside_area":
            return done  # already told while the form ran
        if tracker.get_slot("of_checked") is False:
            dispatcher.utter_message(response=f"utter_of_check_first_{commodity}")
            return done
        if not tracker.get_slot("of_address") or commodity not in CHOICES:
            return done  # the form ended some other way (an emergency, a person)
        await self._ticket(dispatcher, tracker, commodity)
        return done

    @staticmethod
    async def _ticket(dispatcher: CollectingDispatcher, tracker: Tracker, commodity: str) -> None:
        channel = channel_of(tracker)
        callback = tracker.get_slot("of_callback") or caller_number(tracker)
        if commodity == STREET_LIGHT:
            callback = None
        checks = {"scope": tracker.get_slot("of_scope"), "checked": tracker.get_slot("of_checked")}
        request = f"fault-{tracker.get_slot('of_request_id') or uuid.uuid4().hex}"[:64]
        try:
            case = await run_in_transaction(
                lambda s: faults.open_ticket(
                    s,
                    commodity=commodity,
                    postcode=tracker.get_slot("of_postcode") or "",
                    address=tracker.get_slot("of_address") or "",
                    description=tracker.get_slot("of_description") or "",
                    callback_number=callback,
                    checks={k: v for k, v in checks.items() if v is not None},
                    language=language_of(tracker),
                    channel=channel,
                    conversation_id=tracker.sender_id,
                    request_id=request,
                    customer_number=tracker.get_slot("verified_customer"),
                )
            )
        except Exception:  # noqa: BLE001 - the customer must still reach the fault desk
            logger.exception("fault ticket not stored conversation=%s", tracker.sender_id)
            dispatcher.utter_message(
                response="utter_of_not_recorded", emergency_number=get_settings().emergency_number
            )
            return
        logger.info(
            "fault ticket %s commodity=%s channel=%s conversation=%s",
            case.reference,
            commodity,
            channel,
            tracker.sender_id,
        )
        hours = faults.CALLBACK_HOURS[commodity]
        if commodity == STREET_LIGHT:
            dispatcher.utter_message(
                response="utter_of_ticket_street_light", reference=case.reference, days=hours // 24
            )
        else:
            dispatcher.utter_message(
                response="utter_of_ticket", reference=case.reference, hours=hours, callback=callback
            )
