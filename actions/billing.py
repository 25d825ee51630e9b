"""Bill questions: the latest bill, for one commodity or per contract.

Two questions get an answer of their own (actions/bill_questions.py): the
advance payment ("Wie hoch ist mein Abschlag?") and why the bill is so high.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.bill_questions import (
    QUESTION_SLOT,
    asked_question,
    explain_bill,
    show_advance_payments,
)
from actions.common import (
    commodity_label,
    entity_value,
    language_of,
    next_step,
)
from actions.identity import require_identity
from bot.domain import i18n
from bot.domain.bill_questions import ADVANCE_PAYMENT, WHY_HIGH
from bot.domain.parsing import parse_commodity
from bot.domain.services import billing
from bot.infra.db import run_in_transaction


def _bill_values(bill: billing.BillView, language: str, domain: dict[str, Any]) -> dict[str, str]:
    return {
        "commodity": commodity_label(domain, bill.commodity, language),
        "contract_number": bill.contract_number,
        "bill_number": bill.bill_number,
        "period_start": i18n.date(bill.period_start, language),
        "period_end": i18n.date(bill.period_end, language),
        "consumption": i18n.number(bill.consumption, language),
        "unit": bill.unit,
        "total_amount": i18n.money(bill.total_amount, language),
        "advance_payments_made": i18n.money(bill.advance_payments_made, language),
        "balance": i18n.money(abs(bill.balance), language),
        "due_on": i18n.date(bill.due_on, language),
    }


def _balance_response(bill: billing.BillView) -> str:
    if bill.balance > 0:
        return {
            "overdue": "utter_bill_balance_overdue",
            "paid": "utter_bill_balance_paid",
        }.get(bill.status, "utter_bill_balance_due")
    if bill.balance < 0:
        return "utter_bill_balance_credit"
    return "utter_bill_balance_settled"


def asked_commodity(tracker: Tracker) -> str | None:
    """The commodity named since the bill question (possibly before the identity check)."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        named = [
            e.get("value") for e in parse.get("entities") or [] if e.get("entity") == "commodity"
        ]
        commodity = named[0] if named else parse_commodity(event.get("text") or "")
        if commodity:
            return commodity
        if (parse.get("intent") or {}).get("name") in ("ask_bill", "change_advance_payment"):
            return None
    return None


def _list_item_response(bill: billing.BillView) -> str:
    if bill.balance < 0:
        return "utter_bill_list_item_credit"
    if bill.balance == 0:
        return "utter_bill_list_item_settled"
    return {
        "overdue": "utter_bill_list_item_overdue",
        "paid": "utter_bill_list_item_paid",
    }.get(bill.status, "utter_bill_list_item")


class ActionShowBill(Action):
    def name(self) -> str:
        return "action_show_bill"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # Nothing follows unless the identity check (or a handoff) must come first.
        return [next_step(None), *await self._show(dispatcher, tracker, domain)]

    async def _show(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        question = asked_question(tracker)
        asked = (
            [SlotSet(QUESTION_SLOT, question)]
            if question != tracker.get_slot(QUESTION_SLOT)
            else []
        )
        gate = await require_identity(dispatcher, tracker, "ask_bill")
        if gate is not None:
            return asked + gate
        language = language_of(tracker)
        commodity = entity_value(tracker, "commodity") or asked_commodity(tracker)
        if question == ADVANCE_PAYMENT:
            return asked + await show_advance_payments(dispatcher, tracker, domain, commodity)
        if question == WHY_HIGH:
            return asked + await explain_bill(dispatcher, tracker, domain, commodity)
        number = tracker.get_slot("verified_customer")
        overview = await run_in_transaction(lambda s: billing.bill_overview(s, number, commodity))
        if overview.commodity_not_found:
            dispatcher.utter_message(
                response="utter_bill_commodity_not_found",
                commodity=commodity_label(domain, commodity or "", language),
            )
        if not overview.bills:
            dispatcher.utter_message(response="utter_no_bills")
            return asked
        if len(overview.bills) == 1:
            bill = overview.bills[0]
            values = _bill_values(bill, language, domain)
            dispatcher.utter_message(response="utter_bill_details", **values)
            dispatcher.utter_message(response=_balance_response(bill), **values)
            return asked
        dispatcher.utter_message(response="utter_bill_list_intro")
        for bill in overview.bills:
            values = _bill_values(bill, language, domain)
            dispatcher.utter_message(response=_list_item_response(bill), **values)
        dispatcher.utter_message(response="utter_bill_list_outro")
        return asked
