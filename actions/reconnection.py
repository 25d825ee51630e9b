"""Reconnection after a supply block (Entsperrung): one action, behind the identity check.

No block in force: the customer hears that we have not cut the supply (and
where to turn with a fault), or that a block is only announced; nothing is
stored. A block in force: what is still open and what proof of payment is
needed, then a priority case of kind `reconnection` (once per request id,
bot/domain/services/reconnection.py), the date the supply can be back, and a
person with priority. In the web chat the last question asks for the
receipt with the input hint `file` (the widget's file button, upload to
bot/web/receipts.py); REST and the phone name e-mail instead.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    channel_of,
    commodity_label,
    language_of,
    latest_user_event,
    next_step,
    response_text,
    today,
)
from actions.handoff import hand_off
from actions.identity import require_identity
from bot.domain import i18n
from bot.domain.privacy import masked
from bot.domain.references import spoken
from bot.domain.services import reconnection
from bot.domain.services.billing import BlockView
from bot.domain.uploads import size_label
from bot.infra.db import run_in_transaction
from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)

REQUEST = "reconnect_supply"


def request_id(tracker: Tracker) -> str:
    """One id per customer message: a re-delivered message opens no second case."""
    message_id = (tracker.latest_message or {}).get("message_id") or (
        latest_user_event(tracker) or {}
    ).get("message_id")
    return f"reconnection-{message_id or uuid.uuid4().hex}"[:64]


def contracts_text(blocks: list[BlockView], language: str, domain: dict[str, Any]) -> str:
    """`Strom, Vertrag 30000041` (several joined with semicolons)."""
    template = response_text(domain, "utter_label_reconnection_contract", language)
    return "; ".join(
        template.format(
            commodity=commodity_label(domain, block.commodity, language),
            contract_number=block.contract_number,
        )
        for block in blocks
    )


def delay_text(working_days: int, language: str, domain: dict[str, Any]) -> str:
    """How long after the confirmation: `einen Werktag nach der Bestätigung Ihrer Zahlung`."""
    if working_days == 0:
        return response_text(domain, "utter_label_reconnection_same_day", language)
    if working_days == 1:
        return response_text(domain, "utter_label_reconnection_one_day", language)
    template = response_text(domain, "utter_label_reconnection_days", language)
    return template.format(days=working_days)


class ActionReconnectSupply(Action):
    """Check the account, open the priority case, hand over to a person."""

    def name(self) -> str:
        return "action_reconnect_supply"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        gate = await require_identity(dispatcher, tracker, REQUEST)
        if gate is not None:
            return gate
        number = tracker.get_slot("verified_customer")
        language = language_of(tracker)
        found = await run_in_transaction(lambda s: reconnection.situation(s, number))
        if not found.blocked:
            self._not_blocked(dispatcher, found, language, domain)
            return [next_step(None)]

        settings = get_settings()
        since = min((b.blocked_on for b in found.blocked if b.blocked_on), default=None)
        facts = {
            "contracts": contracts_text(found.blocked, language, domain),
            "blocked_since": i18n.date(since, language) if since else "",
            "open_balance": i18n.money(found.open_balance, language),
        }
        if found.balance_open:
            dispatcher.utter_message(response="utter_reconnection_blocked_balance_open", **facts)
            dispatcher.utter_message(
                response="utter_reconnection_proof_needed", utility=settings.utility_name
            )
        else:
            dispatcher.utter_message(response="utter_reconnection_blocked_paid", **facts)

        request = request_id(tracker)
        channel = channel_of(tracker)
        try:
            case = await run_in_transaction(
                lambda s: reconnection.open_case(
                    s,
                    customer_number=number,
                    language=language,
                    channel=channel,
                    conversation_id=tracker.sender_id,
                    request_id=request,
                )
            )
        except reconnection.NotBlocked:  # lifted between the two reads
            dispatcher.utter_message(response="utter_reconnection_not_blocked")
            return [next_step(None)]
        logger.info(
            "reconnection case %s customer=%s channel=%s conversation=%s",
            "opened" if case.created else "already open (repeated request)",
            masked(number),
            channel,
            tracker.sender_id,
        )
        possible = reconnection.possible_on(today(), settings.reconnection_working_days)
        dispatcher.utter_message(
            response="utter_reconnection_case_opened"
            if found.balance_open
            else "utter_reconnection_case_opened_paid",
            reference=case.reference,
            reference_spoken=spoken(case.reference),
            delay=delay_text(settings.reconnection_working_days, language, domain),
            possible_on=i18n.long_date(possible, language),
        )
        in_web_chat = channel == "web"
        if found.balance_open and not in_web_chat:
            dispatcher.utter_message(
                response="utter_reconnection_receipt_elsewhere", reference=case.reference
            )
        events = await hand_off(dispatcher, tracker, "reconnection", priority=True)
        handoff_case = next(
            (e["value"] for e in events if e.get("name") == "handoff_case" and e.get("value")),
            None,
        )
        if handoff_case and handoff_case != case.handoff_case_id:
            await run_in_transaction(lambda s: reconnection.link_handoff(s, request, handoff_case))
        if found.balance_open and in_web_chat:
            # the last text is the question: its hint shows the widget's file button
            dispatcher.utter_message(
                response="utter_ask_reconnection_receipt",
                reference=case.reference,
                max_size=size_label(settings.receipt_max_bytes, language),
            )
        return events

    @staticmethod
    def _not_blocked(
        dispatcher: CollectingDispatcher,
        found: reconnection.Situation,
        language: str,
        domain: dict[str, Any],
    ) -> None:
        if found.announced and found.balance_open:
            dispatcher.utter_message(
                response="utter_reconnection_block_announced",
                contracts=contracts_text(found.announced, language, domain),
                open_balance=i18n.money(found.open_balance, language),
            )
        else:
            dispatcher.utter_message(response="utter_reconnection_not_blocked")
