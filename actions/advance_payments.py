"""Changing the monthly advance payment: a form with read-back and confirmation."""

from __future__ import annotations

import json
import logging
import uuid
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.bill_questions import OFFER_SLOT, QUESTION_SLOT, offered_change
from actions.common import (
    channel_of,
    commodity_label,
    entity_value,
    language_of,
    latest_intent,
    latest_text,
    next_step,
    today,
)
from actions.forms import CANCELLED, CancellableFormValidation, way_out_reset
from actions.handoff import hand_off
from actions.identity import is_verified, require_identity
from bot.domain import i18n
from bot.domain.bill_questions import ADVANCE_PAYMENT, is_advance_payment_question
from bot.domain.errors import (
    AmountOutOfRange,
    ChangeNotAllowed,
    NotFound,
    ReductionTooLarge,
    UnchangedAmount,
)
from bot.domain.parsing import is_explicit_yes, parse_amount, parse_amount_change, parse_commodity
from bot.domain.privacy import masked
from bot.domain.services import advance_payments as ap
from bot.infra.db import run_in_transaction

logger = logging.getLogger(__name__)

FORM_SLOTS = (
    "ap_contract",
    "ap_amount",
    "ap_change",
    "ap_read_back",
    "ap_confirmed",
    "ap_request_id",
    "ap_rejected",
)


def _contract_values(
    contract: ap.ContractAdvance, language: str, domain: dict[str, Any]
) -> dict[str, str]:
    return {
        "commodity": commodity_label(domain, contract.commodity, language),
        "contract_number": contract.contract_number,
        "current_amount": i18n.money(contract.amount, language),
        "recommended_amount": i18n.money(contract.recommended, language),
    }


async def _contracts(tracker: Tracker) -> list[ap.ContractAdvance]:
    number = tracker.get_slot("verified_customer")
    return await run_in_transaction(lambda s: ap.contracts_of(s, number))


def _chosen_contract(
    contracts: list[ap.ContractAdvance], tracker: Tracker
) -> ap.ContractAdvance | None:
    wanted = entity_value(tracker, "contract_number")
    text = latest_text(tracker)
    if wanted is None:
        wanted = next((c.contract_number for c in contracts if c.contract_number in text), None)
    if wanted:
        return next((c for c in contracts if c.contract_number == wanted), None)
    commodity = entity_value(tracker, "commodity") or parse_commodity(text)
    matching = [c for c in contracts if c.commodity == commodity]
    return matching[0] if len(matching) == 1 else None


async def _named_amount(tracker: Tracker) -> Decimal | None:
    """The new amount in the latest message: absolute, or current ± a change."""
    text = latest_text(tracker)
    change = parse_amount_change(text)
    contract_number = tracker.get_slot("ap_contract")
    if change is not None and contract_number:
        contracts = await _contracts(tracker)
        current = next(c.amount for c in contracts if c.contract_number == contract_number)
        return current + change
    return parse_amount(text)


class ActionStartAdvancePayment(Action):
    """Entry point: identity first, then the form (keeping an amount already named).

    A question ("Wie hoch ist mein Abschlag?") is answered instead
    (action_show_bill); "yes" to the offer to raise the advance payment after
    a bill explanation starts the form with the offered contract and amount.
    """

    def name(self) -> str:
        return "action_start_advance_payment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = latest_text(tracker)
        if is_advance_payment_question(text):
            return await _answer_instead(dispatcher, tracker)
        events: list[EventType] = [SlotSet(s, None) for s in FORM_SLOTS]
        events += [SlotSet(CANCELLED, None), *way_out_reset(), next_step(None)]
        change = parse_amount_change(text)
        amount = parse_amount(text)
        offered = offered_change(tracker)
        if offered is not None:
            events += [SlotSet(OFFER_SLOT, None), SlotSet("ap_contract", offered[0])]
            if change is None and amount is None:
                events.append(SlotSet("ap_amount", offered[1]))
        if change is not None:
            events.append(SlotSet("ap_change", str(change)))
        elif amount is not None:
            events.append(SlotSet("ap_amount", str(amount)))
        gate = await require_identity(dispatcher, tracker, "change_advance_payment")
        if gate is not None:
            return events + gate
        return events + [next_step("advance_payment_form")]


async def _answer_instead(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """A question about the advance payment: the bill action answers it (after the
    identity check), and offers the change."""
    events: list[EventType] = [SlotSet(QUESTION_SLOT, ADVANCE_PAYMENT), next_step(None)]
    gate = await require_identity(dispatcher, tracker, "ask_bill")
    if gate is not None:
        return events + gate
    return events + [next_step("action_show_bill")]


class ValidateAdvancePaymentForm(CancellableFormValidation):
    yes_no_slots = ("ap_confirmed",)

    def name(self) -> str:
        return "validate_advance_payment_form"

    def stop_form(self, tracker: Tracker) -> bool:
        # A lapsed verification (actions/slot_mappings.py) ends the form too:
        # the submit action asks for the identity again.
        return (
            super().stop_form(tracker)
            or bool(tracker.get_slot("ap_rejected"))
            or not is_verified(tracker)
        )

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list:
        if not is_verified(tracker):
            return []  # nothing is read for a customer no longer verified; the form ends
        return await super().get_extraction_events(dispatcher, tracker, domain)

    async def extract_ap_request_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        # One id per run of the form: a re-delivered confirmation reuses it.
        if tracker.get_slot("ap_request_id"):
            return {}
        return {"ap_request_id": uuid.uuid4().hex}

    async def extract_ap_contract(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("ap_contract"):
            return {}
        contracts = await _contracts(tracker)
        if len(contracts) == 1:
            return {"ap_contract": contracts[0].contract_number}
        if tracker.get_slot("requested_slot") != "ap_contract" or self.is_interruption(tracker):
            return {}
        chosen = _chosen_contract(contracts, tracker)
        if chosen is None:
            return self.rejected(dispatcher, tracker, "ap_contract", "utter_invalid_ap_contract")
        return {"ap_contract": chosen.contract_number}

    async def extract_ap_amount(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if requested not in ("ap_amount", "ap_confirmed") or self.is_interruption(tracker):
            return {}
        amount = await _named_amount(tracker)
        if amount is None:
            if requested == "ap_amount":
                return self.rejected(dispatcher, tracker, "ap_amount", "utter_invalid_ap_amount")
            return {}
        if requested == "ap_confirmed":
            if str(amount) == tracker.get_slot("ap_amount"):
                return {}
            # A correction at the read-back: take the new amount, ask again.
            return {"ap_amount": str(amount), "ap_confirmed": None}
        return {"ap_amount": str(amount)}

    async def extract_ap_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "ap_confirmed":
            return {}
        named = await _named_amount(tracker)
        if named is not None and str(named) != tracker.get_slot("ap_read_back"):
            return {}  # a correction ("nein, lieber 90 €"): extract_ap_amount took it
        intent = latest_intent(tracker)
        if intent == "affirm" and is_explicit_yes(latest_text(tracker)):
            return {"ap_confirmed": True}
        if intent == "deny":
            return {"ap_confirmed": False, CANCELLED: True}
        if not self.is_interruption(tracker):
            return self.rejected(dispatcher, tracker, "ap_confirmed", "utter_please_confirm")
        return {}

    async def validate_ap_contract(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        contracts = await _contracts(tracker)
        if not any(c.contract_number == value for c in contracts):
            rejection = self.rejected(
                dispatcher, tracker, "ap_contract", "utter_invalid_ap_contract"
            )
            return {"ap_contract": None, **rejection}
        amount = tracker.get_slot("ap_amount")
        change = tracker.get_slot("ap_change")
        if amount is None and change is not None:
            current = next(c.amount for c in contracts if c.contract_number == value)
            amount = str(current + Decimal(change))
        if amount is None:
            return {"ap_contract": value}
        # An amount named before the contract was known is checked now.
        return {
            "ap_contract": value,
            **await self._checked_amount(dispatcher, tracker, value, amount),
        }

    async def validate_ap_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        contract_number = tracker.get_slot("ap_contract")
        if value is None or not contract_number:
            return {}
        return await self._checked_amount(dispatcher, tracker, contract_number, value)

    async def _checked_amount(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, contract_number: str, value: str
    ) -> dict[str, Any]:
        """Slot values after checking `value` against the change rules."""
        language = language_of(tracker)
        number = tracker.get_slot("verified_customer")
        try:
            await run_in_transaction(
                lambda s: ap.preview_change(s, number, contract_number, Decimal(value), today())
            )
        except AmountOutOfRange as exc:
            rejection = self.rejected(
                dispatcher,
                tracker,
                "ap_amount",
                "utter_amount_out_of_range",
                minimum=i18n.money(exc.minimum, language),
                maximum=i18n.money(exc.maximum, language),
            )
            return {"ap_amount": None, "ap_confirmed": None, **rejection}
        except UnchangedAmount:
            # Named twice, this one offers the way out (keep it, another amount, a person).
            rejection = self.rejected(dispatcher, tracker, "ap_amount", "utter_amount_unchanged")
            return {"ap_amount": None, "ap_confirmed": None, **rejection}
        except ReductionTooLarge as exc:
            dispatcher.utter_message(
                response="utter_reduction_too_low",
                recommended_amount=i18n.money(exc.recommended, language),
                lowest_amount=i18n.money(exc.lowest_allowed, language),
            )
            return {"ap_amount": None, "ap_rejected": True}
        except NotFound:
            return {"ap_contract": None, "ap_amount": None}
        return {"ap_amount": value}


class ActionAskApContract(Action):
    def name(self) -> str:
        return "action_ask_ap_contract"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        buttons = []
        for contract in await _contracts(tracker):
            values = _contract_values(contract, language, domain)
            buttons.append(
                {
                    "title": f"{values['commodity']} ({contract.contract_number}): "
                    f"{values['current_amount']}",
                    "payload": "/inform"
                    + json.dumps({"contract_number": contract.contract_number}),
                }
            )
        dispatcher.utter_message(response="utter_ask_ap_contract", buttons=buttons)
        return []


class ActionAskApAmount(Action):
    def name(self) -> str:
        return "action_ask_ap_amount"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        number = tracker.get_slot("ap_contract")
        contract = next(c for c in await _contracts(tracker) if c.contract_number == number)
        dispatcher.utter_message(
            response="utter_ask_ap_amount", **_contract_values(contract, language, domain)
        )
        return []


class ActionAskApConfirmed(Action):
    """Read the change back before anything is stored."""

    def name(self) -> str:
        return "action_ask_ap_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        number = tracker.get_slot("verified_customer")
        contract_number = tracker.get_slot("ap_contract")
        amount = Decimal(tracker.get_slot("ap_amount"))
        preview = await run_in_transaction(
            lambda s: ap.preview_change(s, number, contract_number, amount, today())
        )
        dispatcher.utter_message(
            response="utter_ask_ap_confirmed",
            new_amount=i18n.money(preview.new_amount, language),
            effective_on=i18n.date(preview.effective_on, language),
            **_contract_values(preview.contract, language, domain),
        )
        # What "ja" confirms; another amount in the answer is a correction.
        return [SlotSet("ap_read_back", str(amount))]


class ActionSubmitAdvancePayment(Action):
    """Store a confirmed change once; explain a cancellation or rejection."""

    def name(self) -> str:
        return "action_submit_advance_payment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset: list[EventType] = [SlotSet(s, None) for s in FORM_SLOTS]
        reset += [SlotSet(CANCELLED, None), *way_out_reset(), next_step(None)]
        if not is_verified(tracker) and not tracker.get_slot(CANCELLED):
            # Silent too long in the middle of the change: who is there now?
            dispatcher.utter_message(response="utter_identity_expired")
            gate = await require_identity(dispatcher, tracker, "change_advance_payment")
            return reset + (gate or [])
        if tracker.get_slot("ap_rejected"):
            return reset + await hand_off(dispatcher, tracker, "reduction_rejected")
        if tracker.get_slot(CANCELLED) or tracker.get_slot("ap_confirmed") is not True:
            dispatcher.utter_message(response="utter_change_cancelled")
            return reset
        language = language_of(tracker)
        try:
            result = await run_in_transaction(
                lambda s: ap.apply_change(
                    s,
                    customer_number=tracker.get_slot("verified_customer"),
                    contract_number=tracker.get_slot("ap_contract"),
                    new_amount=Decimal(tracker.get_slot("ap_amount")),
                    request_id=tracker.get_slot("ap_request_id"),
                    channel=channel_of(tracker),
                    conversation_id=tracker.sender_id,
                    today=today(),
                )
            )
        except UnchangedAmount:
            # Set to this amount meanwhile (another conversation, an agent).
            dispatcher.utter_message(response="utter_amount_unchanged")
            return reset
        except (ChangeNotAllowed, NotFound):
            # The contract changed since the read-back: nothing is stored.
            dispatcher.utter_message(response="utter_change_not_possible")
            return reset
        logger.info(
            "advance payment %s contract=%s conversation=%s",
            "already changed (repeated confirmation)" if result.already_applied else "changed",
            masked(result.preview.contract.contract_number),
            tracker.sender_id,
        )
        dispatcher.utter_message(
            response="utter_advance_payment_changed",
            new_amount=i18n.money(result.preview.new_amount, language),
            effective_on=i18n.date(result.preview.effective_on, language),
            commodity=commodity_label(domain, result.preview.contract.commodity, language),
        )
        return reset
