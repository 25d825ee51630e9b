"""Money questions answered: the advance payment, and why a bill is so high.

`action_show_bill` (actions/billing.py) hands these two questions here, after
the identity check; which question it is comes from bot/domain/bill_questions.py
and is remembered in the `bill_question` slot across the identity check and a
contract choice. Both answers end with an offer (`action_offer_advance_change`):
to change the advance payment, or after a large back-payment to raise it to the
recommended amount; "yes" starts the advance-payment change
(actions/advance_payments.py) with that amount read back for confirmation.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    commodity_label,
    entity_value,
    language_of,
    latest_intent,
    latest_text,
    next_step,
    response_text,
    today,
)
from bot.domain import i18n
from bot.domain.bill_questions import question_kind
from bot.domain.parsing import parse_commodity
from bot.domain.services import advance_payments as ap
from bot.domain.services import bill_explanation, billing
from bot.domain.services.bill_explanation import BillExplanation, ConsumptionComparison
from bot.infra.db import run_in_transaction

QUESTION_SLOT = "bill_question"
OFFER_SLOT = "ap_offer"
OFFER_ACTION = "action_offer_advance_change"


def asked_question(tracker: Tracker) -> str | None:
    """What the customer asks: read from a bill question, else as remembered
    (after the identity check, or when they chose a contract)."""
    text = latest_text(tracker)
    if latest_intent(tracker) == "ask_bill" and not _only_names_a_contract(text):
        return question_kind(text)
    return tracker.get_slot(QUESTION_SLOT)


def _only_names_a_contract(text: str) -> bool:
    """ "Strom", "den Gasvertrag": the answer to "which contract?", not a new question."""
    words = re.findall(r"\w+", text)
    return len(words) <= 3 and "?" not in text and parse_commodity(text) is not None


def answers_the_offer(tracker: Tracker) -> bool:
    """Whether the latest message answers `action_offer_advance_change`."""
    past_latest_message = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            if past_latest_message:
                return False
            past_latest_message = True
        elif past_latest_message and kind == "action" and event.get("name") != "action_listen":
            return event.get("name") == OFFER_ACTION
    return False


def _no_offer(tracker: Tracker) -> list[EventType]:
    """Forget an earlier offer (nothing to say when there was none)."""
    return [SlotSet(OFFER_SLOT, None)] if tracker.get_slot(OFFER_SLOT) else []


def offered_change(tracker: Tracker) -> tuple[str, str] | None:
    """(contract, amount) of the raise just offered, when the latest message answers it."""
    offer = tracker.get_slot(OFFER_SLOT)
    if not offer or not answers_the_offer(tracker):
        return None
    contract_number, _, amount = offer.partition(":")
    return contract_number, amount


# --- the advance payment ---------------------------------------------------------


async def show_advance_payments(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    commodity: str | None,
) -> list[EventType]:
    """Amount, due day and next due date per contract; then the offer to change it."""
    language = language_of(tracker)
    number = tracker.get_slot("verified_customer")
    schedules = await run_in_transaction(lambda s: ap.schedules_of(s, number, today()))
    if commodity:
        named = [s for s in schedules if s.contract.commodity == commodity]
        if named:
            schedules = named
        else:
            dispatcher.utter_message(
                response="utter_bill_commodity_not_found",
                commodity=commodity_label(domain, commodity, language),
            )
    for schedule in schedules:
        contract = schedule.contract
        dispatcher.utter_message(
            response="utter_advance_payment_info_"
            + ("direct_debit" if schedule.direct_debit else "transfer"),
            commodity=commodity_label(domain, contract.commodity, language),
            contract_number=contract.contract_number,
            amount=i18n.money(contract.amount, language),
            due_day=str(contract.due_day),
            next_due_on=i18n.date(schedule.next_due_on, language),
        )
    return [*_no_offer(tracker), next_step(OFFER_ACTION)]


# --- why the bill is so high -------------------------------------------------------


def _chosen(bills: list[billing.BillView], tracker: Tracker) -> billing.BillView | None:
    wanted = entity_value(tracker, "contract_number")
    text = latest_text(tracker)
    if wanted is None:
        wanted = next((b.contract_number for b in bills if b.contract_number in text), None)
    if wanted:
        return next((b for b in bills if b.contract_number == wanted), None)
    return bills[0] if len(bills) == 1 else None


def _ask_contract(
    dispatcher: CollectingDispatcher,
    bills: list[billing.BillView],
    language: str,
    domain: dict[str, Any],
) -> None:
    buttons = [
        {
            "title": f"{commodity_label(domain, bill.commodity, language)} "
            f"({bill.contract_number}): {i18n.money(bill.total_amount, language)}",
            "payload": "/inform" + json.dumps({"contract_number": bill.contract_number}),
        }
        for bill in bills
    ]
    dispatcher.utter_message(response="utter_ask_bill_contract", buttons=buttons)


def _consumption_message(
    comparison: ConsumptionComparison,
    explanation: BillExplanation,
    language: str,
    domain: dict[str, Any],
) -> dict[str, Any]:
    bill, earlier = explanation.bill, comparison.earlier
    values: dict[str, Any] = {
        "consumption": i18n.number(bill.consumption, language),
        "unit": bill.unit,
        "earlier_consumption": i18n.number(earlier.consumption, language),
        "difference": i18n.number(abs(comparison.difference), language),
        "change": i18n.percent(comparison.change, language),
        "period_label": response_text(domain, f"utter_label_period_{comparison.kind}", language),
    }
    name = "utter_bill_explanation_consumption_"
    if comparison.per_day:
        name += "per_day_"
        values |= {
            "days": str(bill.days),
            "earlier_days": str(earlier.days),
            "per_day": i18n.number(comparison.current_value, language),
            "earlier_per_day": i18n.number(comparison.earlier_value, language),
        }
    return {"response": name + comparison.direction, **values}


def explanation_messages(
    explanation: BillExplanation, language: str, domain: dict[str, Any]
) -> list[dict[str, Any]]:
    """The explanation as responses with their values, in the order they are said."""
    bill = explanation.bill
    money = {
        "total_amount": i18n.money(bill.total_amount, language),
        "advance_payments_made": i18n.money(bill.advance_payments_made, language),
        "balance": i18n.money(abs(bill.balance), language),
    }
    messages: list[dict[str, Any]] = [
        {
            "response": "utter_bill_explanation_intro",
            "commodity": commodity_label(domain, explanation.commodity, language),
            "bill_number": bill.bill_number,
            "period_start": i18n.date(bill.period_start, language),
            "period_end": i18n.date(bill.period_end, language),
            **money,
        }
    ]
    messages += [
        _consumption_message(c, explanation, language, domain) for c in explanation.comparisons
    ]
    if not explanation.comparisons:
        messages.append(
            {
                "response": "utter_bill_explanation_consumption_only",
                "consumption": i18n.number(bill.consumption, language),
                "unit": bill.unit,
            }
        )
    price = explanation.price
    if price is not None:
        suffix = "" if price.earlier is None else f"_{price.direction}"
        messages.append(
            {
                "response": "utter_bill_explanation_price" + suffix,
                "unit_price": i18n.unit_price(price.current, language),
                "unit": bill.unit,
                **(
                    {
                        "earlier_unit_price": i18n.unit_price(price.earlier, language),
                        "change": i18n.percent(price.change, language),
                    }
                    if price.earlier is not None and price.change is not None
                    else {}
                ),
            }
        )
    if bill.balance > 0:
        messages.append({"response": "utter_bill_explanation_advances_short", **money})
    elif bill.balance < 0:
        messages.append({"response": "utter_bill_explanation_advances_credit", **money})
    else:
        messages.append({"response": "utter_bill_explanation_advances_settled", **money})
    if explanation.large_back_payment and explanation.offered_advance is None:
        messages.append(
            {
                "response": "utter_bill_explanation_advance_fits",
                "current_amount": i18n.money(explanation.current_advance, language),
            }
        )
    return messages


async def explain_bill(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    commodity: str | None,
) -> list[EventType]:
    """The latest bill of the contract in question explained (asks which contract first
    when the customer has several); a large back-payment ends with the offer to raise
    the advance payment."""
    language = language_of(tracker)
    number = tracker.get_slot("verified_customer")
    overview = await run_in_transaction(lambda s: billing.bill_overview(s, number, commodity))
    if overview.commodity_not_found:
        dispatcher.utter_message(
            response="utter_bill_commodity_not_found",
            commodity=commodity_label(domain, commodity or "", language),
        )
    if not overview.bills:
        dispatcher.utter_message(response="utter_no_bills")
        return []
    bill = _chosen(overview.bills, tracker)
    if bill is None:
        _ask_contract(dispatcher, overview.bills, language, domain)
        return []
    explanation = await run_in_transaction(
        lambda s: bill_explanation.explain_latest_bill(s, number, bill.contract_number)
    )
    for message in explanation_messages(explanation, language, domain):
        dispatcher.utter_message(**message)
    offered = explanation.offered_advance
    if offered is None:
        return _no_offer(tracker)
    return [
        SlotSet(OFFER_SLOT, f"{explanation.contract_number}:{offered}"),
        next_step(OFFER_ACTION),
    ]


# --- the offer -----------------------------------------------------------------------


class ActionOfferAdvanceChange(Action):
    """After an answer about money: change the advance payment? (yes / no buttons)

    With `ap_offer` set (a large back-payment), the offer is to raise it to the
    recommended amount; else to change it. The dialogue rules start the change
    on "yes" and leave everything as it is on "no".
    """

    def name(self) -> str:
        return OFFER_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        no = {"title": response_text(domain, "utter_label_offer_no", language), "payload": "/deny"}
        offer = tracker.get_slot(OFFER_SLOT)
        if not offer:
            yes = response_text(domain, "utter_label_offer_change_yes", language)
            dispatcher.utter_message(
                response="utter_offer_advance_change",
                buttons=[{"title": yes, "payload": "/affirm"}, no],
            )
            return [next_step(None)]
        contract_number, _, amount = offer.partition(":")
        number = tracker.get_slot("verified_customer")
        contracts = await run_in_transaction(lambda s: ap.contracts_of(s, number))
        contract = next((c for c in contracts if c.contract_number == contract_number), None)
        if contract is None:  # gone meanwhile: offer no raise for it
            return [SlotSet(OFFER_SLOT, None), next_step(None)]
        yes = response_text(domain, "utter_label_offer_raise_yes", language)
        dispatcher.utter_message(
            response="utter_offer_advance_raise",
            buttons=[{"title": yes, "payload": "/affirm"}, no],
            commodity=commodity_label(domain, contract.commodity, language),
            current_amount=i18n.money(contract.amount, language),
            recommended_amount=i18n.money(Decimal(amount), language),
        )
        return [next_step(None)]
