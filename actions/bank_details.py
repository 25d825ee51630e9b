"""Bank details and SEPA direct debit: a new account to debit, or paying by transfer.

action_start_bank_details checks the identity first, then bank_details_form
asks what the customer wants (`bd_choice`), and for a new account the IBAN
(`bd_iban`), the account holder (`bd_holder`) and the mandate's explicit yes
(`bd_confirmed`); for a change to transfer only the yes. The IBAN is checked
as a bank would (bot/domain/iban.py): a wrong one gets an answer naming the
problem, and from the second in a row the customer is offered a way out.
action_submit_bank_details stores the change (bot/domain/services/bank_details.py).

The full IBAN is in `bd_iban` only while the form runs: replies show it
masked, logs never, and every way the request ends clears the slot (the
submit action, action_stop_bank_details, a handoff).
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    channel_of,
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
from bot.domain.errors import (
    BankDetailsRefused,
    ChangedMeanwhile,
    InvalidAccountHolder,
    InvalidIban,
    NotFound,
    NothingToRevoke,
    UnchangedBankAccount,
)
from bot.domain.iban import check_iban
from bot.domain.parsing import iban_candidates, is_explicit_yes
from bot.domain.privacy import masked
from bot.domain.services import bank_details as bd
from bot.domain.text import fold
from bot.infra.db import run_in_transaction
from bot.infra.settings import get_settings
from bot.protocol import PERSON_PAYLOAD

logger = logging.getLogger(__name__)

FORM = "bank_details_form"
REQUEST = "change_bank_details"
FORM_SLOTS = (
    "bd_request_id",
    "bd_choice",
    "bd_iban",
    "bd_holder",
    "bd_confirmed",
    "bd_iban_failures",
    "bd_finished",
)
# Unusable answers to one question after which the way out is offered.
WAY_OUT_AFTER = 2
TRY_AGAIN_PAYLOAD = "/affirm"
OWN_NAME_PAYLOAD = "/affirm"  # "yes, the account is mine"
CANCEL_PAYLOAD = "/deny"
# Intents an unfamiliar name may be taken for; at the holder question a message
# that reads as a name is the name (bot/domain/services/bank_details.looks_like_a_name).
MISREAD_NAMES = {"goodbye", "greet", "thank", "out_of_scope", "complaint"}
# "It is my own account", in folded words.
_OWN_ACCOUNT = re.compile(
    r"(?:ja,?\s+)?(?:ich|ich selbst|ich bin es|ich bins|meins|mein eigenes(?: konto)?|"
    r"auf mich|auf meinen namen|mein name|selbst|benim|ben|kendim|kendi adima|benim adima|"
    r"kendi hesabim|hesap benim)[.!]?"
)


def _reset() -> list[EventType]:
    """The form's slots cleared (the IBAN with them) and nothing chained."""
    return [
        *(SlotSet(name, None) for name in FORM_SLOTS),
        SlotSet(CANCELLED, None),
        SlotSet("form_retry", None),
        next_step(None),
    ]


async def _setup(tracker: Tracker) -> bd.PaymentSetup:
    number = tracker.get_slot("verified_customer")
    return await run_in_transaction(lambda s: bd.payment_setup(s, number, today()))


def _bank(name: str | None, domain: dict[str, Any], language: str) -> str:
    return name or response_text(domain, "utter_label_bd_unknown_bank", language)


def _last_four(masked_iban: str) -> str:
    """The IBAN's last four characters as a voice reads them one by one: "3 0 0 0"."""
    return " ".join(masked_iban.replace(" ", "")[-4:])


def _account_values(
    bank_name: str | None, masked_iban: str, domain: dict[str, Any], language: str
) -> dict[str, str]:
    return {
        "bank_name": _bank(bank_name, domain, language),
        "masked_iban": masked_iban,
        "iban_end": _last_four(masked_iban),
    }


def _our_account(customer_number: str) -> dict[str, str]:
    """Where to transfer to, and the reference to give."""
    settings = get_settings()
    iban = settings.stadtwerk_iban
    return {
        "our_bank_name": settings.stadtwerk_bank_name,
        "our_iban": " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)),
        "our_iban_spoken": iban,  # read character by character on the phone
        "customer_number": customer_number,
    }


def _way_out_buttons(domain: dict[str, Any], language: str) -> list[dict[str, str]]:
    return [
        {
            "title": response_text(domain, "utter_label_bd_person", language),
            "payload": PERSON_PAYLOAD,
        },
        {
            "title": response_text(domain, "utter_label_bd_cancel", language),
            "payload": CANCEL_PAYLOAD,
        },
    ]


def _retries(tracker: Tracker) -> int:
    return int(tracker.get_slot("form_retry") or 0)


def _retry(tracker: Tracker) -> dict[str, Any]:
    return {"form_retry": _retries(tracker) + 1}


class ActionStartBankDetails(Action):
    """Entry point: identity first, then the form (with what the first message already says)."""

    def name(self) -> str:
        return "action_start_bank_details"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = _reset()
        text = latest_text(tracker)
        wish = bd.payment_wish(text)
        if wish is not None:
            events.append(SlotSet("bd_choice", wish))
        gate = await require_identity(dispatcher, tracker, REQUEST)
        if gate is not None:
            return events + gate
        given = list(iban_candidates(bd.with_country(text)))
        if wish == bd.DIRECT_DEBIT and given:
            # Checked when the form starts, like an answer to its question.
            events.append(SlotSet("bd_iban", given[0]))
        return events + [next_step(FORM)]


class ValidateBankDetailsForm(CancellableFormValidation):
    yes_no_slots = ("bd_confirmed",)

    def name(self) -> str:
        return "validate_bank_details_form"

    def stop_form(self, tracker: Tracker) -> bool:
        # Nothing to do any more, or a lapsed verification: the submit action
        # says why (or asks for the identity again).
        return (
            super().stop_form(tracker)
            or bool(tracker.get_slot("bd_finished"))
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
        if tracker.get_slot("bd_choice") == bd.TRANSFER:
            return ["bd_request_id", "bd_choice", "bd_confirmed"]
        return list(domain_slots)

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list:
        if not is_verified(tracker):
            return []  # nothing is read for a customer no longer verified; the form ends
        return await super().get_extraction_events(dispatcher, tracker, domain)

    # --- extraction: what the latest message says -----------------------------------

    async def extract_bd_request_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        # One id per run of the form: a re-delivered confirmation reuses it.
        if tracker.get_slot("bd_request_id"):
            return {}
        return {"bd_request_id": uuid.uuid4().hex}

    async def extract_bd_choice(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bd_choice" or self.is_interruption(tracker):
            return {}
        chosen = entity_value(tracker, "payment_method")
        if chosen not in (bd.DIRECT_DEBIT, bd.TRANSFER):
            chosen = bd.payment_wish(latest_text(tracker))
        if chosen is None:
            dispatcher.utter_message(response="utter_invalid_bd_choice")
            return _retry(tracker)
        return {"bd_choice": chosen}

    async def extract_bd_iban(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if self.is_interruption(tracker):
            return {}
        text = bd.with_country(latest_text(tracker))
        if requested == "bd_choice":
            # An IBAN instead of the choice: a new account, and here it is.
            return {"bd_iban": text} if any(iban_candidates(text)) else {}
        if requested != "bd_iban":
            return {}
        failures = int(tracker.get_slot("bd_iban_failures") or 0)
        if failures >= WAY_OUT_AFTER and latest_intent(tracker) == "affirm":
            return {"bd_iban_failures": 0}  # "noch einmal versuchen": the question again
        return {"bd_iban": text}

    async def extract_bd_holder(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bd_holder":
            return {}
        text = latest_text(tracker)
        if self.is_interruption(tracker) and not (
            latest_intent(tracker) in MISREAD_NAMES and bd.looks_like_a_name(text)
        ):
            return {}
        if latest_intent(tracker) == "affirm" or _OWN_ACCOUNT.fullmatch(fold(text).strip()):
            return {"bd_holder": (await _setup(tracker)).full_name}
        return {"bd_holder": text}

    async def extract_bd_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bd_confirmed":
            return {}
        intent = latest_intent(tracker)
        if intent == "affirm" and is_explicit_yes(latest_text(tracker)):
            return {"bd_confirmed": True}
        if intent == "deny":
            return {"bd_confirmed": False, CANCELLED: True}
        if not self.is_interruption(tracker):
            dispatcher.utter_message(response="utter_bd_please_confirm")
            return _retry(tracker)
        return {}

    # --- validation: is it usable ----------------------------------------------------

    async def validate_bd_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value == bd.TRANSFER:
            setup = await _setup(tracker)
            if setup.mandate is None:
                number = tracker.get_slot("verified_customer")
                dispatcher.utter_message(
                    response="utter_bd_already_transfer", **_our_account(number)
                )
                return {"bd_choice": value, "bd_finished": True}
        return {"bd_choice": value, "form_retry": None}

    async def validate_bd_iban(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {}
        number = tracker.get_slot("verified_customer")
        failures = int(tracker.get_slot("bd_iban_failures") or 0)
        try:
            account = await run_in_transaction(lambda s: bd.new_account(s, number, str(value)))
        except InvalidIban as refusal:
            logger.info(
                "bank details: IBAN refused (%s) conversation=%s",
                refusal.problem.value,
                tracker.sender_id,
            )
            dispatcher.utter_message(response=f"utter_invalid_bd_iban_{refusal.problem.value}")
            return {"bd_iban": None, "bd_iban_failures": failures + 1}
        except UnchangedBankAccount:
            dispatcher.utter_message(response="utter_bd_iban_unchanged")
            return {"bd_iban": None, "bd_iban_failures": failures + 1}
        return {"bd_iban": account.iban, "bd_iban_failures": None, "form_retry": None}

    async def validate_bd_holder(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            name = bd.account_holder(str(value or ""))
        except InvalidAccountHolder as refusal:
            dispatcher.utter_message(response=f"utter_invalid_bd_holder_{refusal.problem}")
            return {"bd_holder": None, **_retry(tracker)}
        return {"bd_holder": name, "form_retry": None}


class ActionAskBdChoice(Action):
    """How the customer pays now, and what they want: a new account or transfer."""

    def name(self) -> str:
        return "action_ask_bd_choice"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        setup = await _setup(tracker)
        extra = _way_out_buttons(domain, language) if _retries(tracker) >= WAY_OUT_AFTER else []
        if setup.mandate is None:
            dispatcher.utter_message(response="utter_ask_bd_choice_transfer", buttons=extra)
            return []
        mandate = setup.mandate
        dispatcher.utter_message(
            response="utter_ask_bd_choice_direct_debit",
            buttons=extra,
            **_account_values(mandate.bank_name, mandate.masked_iban, domain, language),
        )
        return []


class ActionAskBdIban(Action):
    """The IBAN question; after two unusable IBANs in a row, the way out instead."""

    def name(self) -> str:
        return "action_ask_bd_iban"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if int(tracker.get_slot("bd_iban_failures") or 0) < WAY_OUT_AFTER:
            dispatcher.utter_message(response="utter_ask_bd_iban")
            return []
        language = language_of(tracker)
        again = {
            "title": response_text(domain, "utter_label_bd_try_again", language),
            "payload": TRY_AGAIN_PAYLOAD,
        }
        dispatcher.utter_message(
            response="utter_bd_iban_way_out", buttons=[again, *_way_out_buttons(domain, language)]
        )
        return []


class ActionAskBdHolder(Action):
    """Read the account back (bank and masked IBAN), ask whose it is."""

    def name(self) -> str:
        return "action_ask_bd_holder"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        account = check_iban(tracker.get_slot("bd_iban"))
        own = {"title": (await _setup(tracker)).full_name, "payload": OWN_NAME_PAYLOAD}
        extra = _way_out_buttons(domain, language) if _retries(tracker) >= WAY_OUT_AFTER else []
        dispatcher.utter_message(
            response="utter_ask_bd_holder",
            buttons=[own, *extra],
            **_account_values(account.bank_name, account.masked, domain, language),
        )
        return []


class ActionAskBdConfirmed(Action):
    """The mandate's text for a new account, or the revocation for transfer: yes or no."""

    def name(self) -> str:
        return "action_ask_bd_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        setup = await _setup(tracker)
        if tracker.get_slot("bd_choice") == bd.TRANSFER:
            mandate = setup.mandate
            if mandate is None:  # revoked meanwhile (another conversation, an agent)
                number = tracker.get_slot("verified_customer")
                dispatcher.utter_message(
                    response="utter_bd_already_transfer", **_our_account(number)
                )
                return [SlotSet("bd_finished", True)]
            dispatcher.utter_message(
                response="utter_bd_revoke_question",
                reference=mandate.reference,
                applies_from=i18n.date(setup.applies_from, language),
                **_account_values(mandate.bank_name, mandate.masked_iban, domain, language),
            )
            return []
        account = check_iban(tracker.get_slot("bd_iban"))
        settings = get_settings()
        dispatcher.utter_message(
            response="utter_bd_mandate_text",
            holder=tracker.get_slot("bd_holder"),
            utility=settings.utility_name,
            creditor_id=settings.sepa_creditor_id,
            **_account_values(account.bank_name, account.masked, domain, language),
        )
        return []


class ActionSubmitBankDetails(Action):
    """Store a confirmed change once; explain a cancellation; clear the IBAN in any case."""

    def name(self) -> str:
        return "action_submit_bank_details"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset = _reset()
        finished = bool(tracker.get_slot("bd_finished"))
        if not is_verified(tracker) and not tracker.get_slot(CANCELLED) and not finished:
            # Silent too long in the middle of the change: who is there now?
            dispatcher.utter_message(response="utter_identity_expired")
            gate = await require_identity(dispatcher, tracker, REQUEST)
            return reset + (gate or [])
        if finished:
            return reset  # the customer was told why there is nothing to change
        if tracker.get_slot(CANCELLED) or tracker.get_slot("bd_confirmed") is not True:
            dispatcher.utter_message(response="utter_bd_cancelled")
            return reset
        try:
            if tracker.get_slot("bd_choice") == bd.TRANSFER:
                await self._transfer(dispatcher, tracker, domain)
            else:
                await self._mandate(dispatcher, tracker, domain)
        except NothingToRevoke:
            number = tracker.get_slot("verified_customer")
            dispatcher.utter_message(response="utter_bd_already_transfer", **_our_account(number))
        except (BankDetailsRefused, ChangedMeanwhile, InvalidIban, NotFound) as refusal:
            # Changed since the read-back (another conversation, an agent): nothing stored.
            logger.info(
                "bank details not changed (%s) conversation=%s",
                type(refusal).__name__,
                tracker.sender_id,
            )
            dispatcher.utter_message(response="utter_bd_not_saved")
        return reset

    async def _mandate(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> None:
        language = language_of(tracker)
        number = tracker.get_slot("verified_customer")
        iban, holder = tracker.get_slot("bd_iban"), tracker.get_slot("bd_holder")
        request_id, channel = tracker.get_slot("bd_request_id"), channel_of(tracker)
        creditor_id = get_settings().sepa_creditor_id
        result = await run_in_transaction(
            lambda s: bd.give_mandate(
                s,
                customer_number=number,
                iban=iban,
                holder=holder,
                creditor_id=creditor_id,
                request_id=request_id,
                channel=channel,
                conversation_id=tracker.sender_id,
                today=today(),
            )
        )
        logger.info(
            "bank details: mandate %s %s customer=%s conversation=%s",
            masked(result.mandate.reference, 4),
            "already given (repeated confirmation)" if result.already_applied else "given",
            masked(number),
            tracker.sender_id,
        )
        mandate = result.mandate
        dispatcher.utter_message(
            response="utter_bd_mandate_given",
            reference=mandate.reference,
            applies_from=i18n.date(result.applies_from, language),
            **_account_values(mandate.bank_name, mandate.masked_iban, domain, language),
        )
        if result.revoked is not None:
            dispatcher.utter_message(
                response="utter_bd_old_mandate_revoked",
                old_bank_name=_bank(result.revoked.bank_name, domain, language),
                old_masked_iban=result.revoked.masked_iban,
            )

    async def _transfer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> None:
        language = language_of(tracker)
        number = tracker.get_slot("verified_customer")
        request_id, channel = tracker.get_slot("bd_request_id"), channel_of(tracker)
        result = await run_in_transaction(
            lambda s: bd.pay_by_transfer(
                s,
                customer_number=number,
                request_id=request_id,
                channel=channel,
                conversation_id=tracker.sender_id,
                today=today(),
            )
        )
        logger.info(
            "bank details: mandate %s revoked, pays by transfer%s customer=%s conversation=%s",
            masked(result.revoked.reference, 4),
            " (repeated confirmation)" if result.already_applied else "",
            masked(number),
            tracker.sender_id,
        )
        dispatcher.utter_message(
            response="utter_bd_switched_to_transfer",
            applies_from=i18n.date(result.applies_from, language),
            **_our_account(number),
        )


class ActionStopBankDetails(Action):
    """The customer said goodbye in the middle: the form ends, the IBAN goes."""

    def name(self) -> str:
        return "action_stop_bank_details"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return [ActiveLoop(None), SlotSet("requested_slot", None), *_reset()]
