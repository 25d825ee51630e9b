"""Tariffs (`ask_tariff`): the price sheet, a personal yearly-cost estimate, a switch request.

Anyone hears the tariffs on offer with their prices (bot/domain/services/
tariffs.py), for the commodity they asked about or all, and is offered a
personal estimate; that needs the identity check (account data: the
consumption). A verified customer hears, per energy contract, what a year
costs today and in every other tariff, with the saving, and can choose a
new tariff (buttons; keys on the phone; or the tariff's name). The choice
becomes a `tariff_switch` case `TW-…` for the back office. Prices are
formatted in the customer's locale (bot/domain/i18n.py); on the phone the
lines are joined into sentences, and money and dates are spoken by the
voice channel.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    channel_of,
    commodity_label,
    entity_value,
    label_buttons,
    language_of,
    latest_intent,
    latest_text,
    latest_user_event,
    next_step,
    response_text,
    today,
)
from actions.identity import is_verified, require_identity
from bot.domain import i18n
from bot.domain.privacy import masked
from bot.domain.references import spoken
from bot.domain.services import tariffs
from bot.domain.services.tariffs import Comparison, Option, TariffView
from bot.infra.db import run_in_transaction

logger = logging.getLogger(__name__)

REQUEST = "ask_tariff"
COMMODITY = "tariff_commodity"
OFFER = "tariff_offer"
#: switch choices offered at once (keys 1 to 3 on the phone, the way out on the next)
MAX_CHOICES = 3


def _joined(lines: list[str], tracker: Tracker) -> str:
    """Lines in chat; one spoken sentence after another on the phone."""
    if channel_of(tracker) == "voice":
        return " ".join(line.lstrip("• ").rstrip(".") + "." for line in lines)
    return "\n".join(lines)


def _green(tariff: TariffView, language: str, domain: dict[str, Any]) -> str:
    if not tariff.green:
        return ""
    label = (
        "utter_label_tariff_green"
        if tariff.commodity == "electricity"
        else ("utter_label_tariff_green_gas")
    )
    return response_text(domain, label, language)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def sheet_lines(sheet: list[TariffView], language: str, domain: dict[str, Any]) -> list[str]:
    """The price sheet: a heading per commodity, a line per tariff."""
    lines: list[str] = []
    heading = response_text(domain, "utter_label_tariff_heading", language)
    line = response_text(domain, "utter_label_tariff_line", language)
    commodities = list(dict.fromkeys(t.commodity for t in sheet))
    for commodity in commodities:
        if len(commodities) > 1:
            label = _capitalised(commodity_label(domain, commodity, language))
            lines.append(heading.format(commodity=label))
        for tariff in (t for t in sheet if t.commodity == commodity):
            if tariff.minimum_term_months:
                term = response_text(domain, "utter_label_tariff_term", language).format(
                    months=tariff.minimum_term_months
                )
            else:
                term = response_text(domain, "utter_label_tariff_no_term", language)
            lines.append(
                line.format(
                    tariff=tariff.name,
                    green=_green(tariff, language, domain),
                    working_price=i18n.unit_price(tariff.working_price, language),
                    base_price=i18n.money(tariff.base_price, language),
                    term=term,
                )
            )
    return lines


def option_line(option: Option, language: str, domain: dict[str, Any]) -> str:
    """`• Strom Öko (Ökostrom): etwa 1.247,79 € im Jahr, 20,96 € weniger`."""
    if option.saving is None:
        name = "utter_label_tariff_option_cost"
    elif option.saving >= 0:
        name = "utter_label_tariff_option_saving"
    else:
        name = "utter_label_tariff_option_more"
    return response_text(domain, name, language).format(
        tariff=option.tariff.name,
        green=_green(option.tariff, language, domain),
        cost=i18n.money(option.cost, language),
        saving=i18n.money(abs(option.saving), language) if option.saving is not None else "",
    )


def _asked_commodity(tracker: Tracker) -> str | None:
    value = entity_value(tracker, "commodity")
    return value if value in ("electricity", "gas", "district_heating", "water") else None


class ActionTariffOverview(Action):
    """The price sheet for anyone; a verified customer goes straight to the estimate."""

    def name(self) -> str:
        return "action_tariff_overview"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        commodity = _asked_commodity(tracker)
        events: list[EventType] = [SlotSet(COMMODITY, commodity), SlotSet(OFFER, None)]
        if is_verified(tracker):
            return [*events, next_step("action_tariff_estimate")]
        sheet = await run_in_transaction(lambda s: tariffs.offered(s))
        chosen = [t for t in sheet if commodity is None or t.commodity == commodity]
        if commodity is not None and not chosen:
            dispatcher.utter_message(
                response="utter_tariff_none_for_commodity",
                commodity=commodity_label(domain, commodity, language),
            )
            chosen = sheet
            events[0] = SlotSet(COMMODITY, None)
        if not chosen:
            dispatcher.utter_message(response="utter_tariff_sheet_empty")
            return [*events, next_step(None)]
        dispatcher.utter_message(
            response="utter_tariff_sheet",
            sheet=_joined(sheet_lines(chosen, language, domain), tracker),
        )
        return [*events, next_step("action_offer_tariff_estimate")]


class ActionOfferTariffEstimate(Action):
    """The question whether to work out the customer's own yearly cost."""

    def name(self) -> str:
        return "action_offer_tariff_estimate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        buttons = label_buttons(
            domain,
            language,
            ("utter_label_tariff_estimate", "/affirm"),
            ("utter_label_tariff_no_estimate", "/deny"),
        )
        dispatcher.utter_message(response="utter_ask_tariff_estimate", buttons=buttons)
        return [next_step(None)]


class ActionTariffEstimate(Action):
    """Per energy contract: today's yearly cost against every other tariff, with the saving."""

    def name(self) -> str:
        return "action_tariff_estimate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        gate = await require_identity(dispatcher, tracker, REQUEST)
        if gate is not None:
            return gate
        language = language_of(tracker)
        number = tracker.get_slot("verified_customer")
        commodity = tracker.get_slot(COMMODITY)
        found = await run_in_transaction(lambda s: tariffs.compare(s, number, commodity))
        if not found and commodity is not None:  # e.g. asked about gas, has electricity only
            found = await run_in_transaction(lambda s: tariffs.compare(s, number))
        if not found:
            dispatcher.utter_message(response="utter_tariff_no_energy_contract")
            return [SlotSet(COMMODITY, None), next_step(None)]
        for comparison in found:
            self._tell(dispatcher, comparison, tracker, language, domain)
        choices = _ranked_choices(found)
        if any(c.consumption is not None and c.options for c in found):
            dispatcher.utter_message(response="utter_tariff_estimate_note")
        logger.info(
            "tariff estimate customer=%s contracts=%d choices=%d",
            masked(number),
            len(found),
            len(choices),
        )
        if not choices:
            return [SlotSet(COMMODITY, None), next_step(None)]
        return [SlotSet(OFFER, choices[:MAX_CHOICES]), next_step("action_offer_tariff_switch")]

    @staticmethod
    def _tell(
        dispatcher: CollectingDispatcher,
        comparison: Comparison,
        tracker: Tracker,
        language: str,
        domain: dict[str, Any],
    ) -> None:
        facts = {
            "commodity": _capitalised(commodity_label(domain, comparison.commodity, language)),
            "contract_number": comparison.contract_number,
            "current": comparison.current_tariff
            or response_text(domain, "utter_label_tariff_unnamed", language),
        }
        if comparison.consumption is None:
            dispatcher.utter_message(response="utter_tariff_estimate_no_consumption", **facts)
            return
        if not comparison.options:
            dispatcher.utter_message(response="utter_tariff_estimate_only_tariff", **facts)
            return
        options = _joined([option_line(o, language, domain) for o in comparison.options], tracker)
        consumption = i18n.number(comparison.consumption, language)
        if comparison.current_cost is None:
            dispatcher.utter_message(
                response="utter_tariff_estimate_cost_unknown",
                consumption=consumption,
                options=options,
                **facts,
            )
            return
        dispatcher.utter_message(
            response="utter_tariff_estimate",
            consumption=consumption,
            current_cost=i18n.money(comparison.current_cost, language),
            options=options,
            **facts,
        )


def _ranked_choices(found: list[Comparison]) -> list[dict[str, str]]:
    """The switch choices, biggest saving first (contracts without a known cost last)."""
    pairs = [(c, o) for c in found for o in c.options]
    pairs.sort(key=lambda pair: -(pair[1].saving if pair[1].saving is not None else -(10**9)))
    return [
        {"tariff": o.tariff.code, "name": o.tariff.name, "contract_number": c.contract_number}
        for c, o in pairs
    ]


class ActionOfferTariffSwitch(Action):
    """The choice of a new tariff: one button per tariff (and contract), or keep."""

    def name(self) -> str:
        return "action_offer_tariff_switch"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        offer = tracker.get_slot(OFFER) or []
        several_contracts = len({c["contract_number"] for c in offer}) > 1
        label = response_text(domain, "utter_label_tariff_switch", language)
        buttons = []
        for choice in offer:
            title = label.format(tariff=choice["name"])
            if several_contracts:
                title += f" ({choice['contract_number']})"
            entities = {"tariff": choice["tariff"], "contract_number": choice["contract_number"]}
            buttons.append({"title": title, "payload": "/inform" + json.dumps(entities)})
        buttons.append(
            {
                "title": response_text(domain, "utter_label_tariff_keep", language),
                "payload": "/deny",
            }
        )
        dispatcher.utter_message(response="utter_ask_tariff_switch", buttons=buttons)
        return [next_step(None)]


def chosen(tracker: Tracker, offer: list[dict[str, str]]) -> dict[str, str] | None:
    """The offered choice the customer made: a button, the tariff's name, or yes to the only one."""
    code = entity_value(tracker, "tariff")
    contract = entity_value(tracker, "contract_number")
    if code:
        matches = [c for c in offer if c["tariff"] == code]
        if contract:
            matches = [c for c in matches if c["contract_number"] == contract]
        return matches[0] if len(matches) == 1 else None
    if latest_intent(tracker) == "affirm" and len(offer) == 1:
        return offer[0]
    names = {c["tariff"]: c["name"] for c in offer}
    code = tariffs.named_in(latest_text(tracker), names)
    matches = [c for c in offer if c["tariff"] == code]
    return matches[0] if len(matches) == 1 else None


def switch_date(day: dt.date) -> dt.date:
    """A tariff changes on the first of a month: the next one after today."""
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def request_id(tracker: Tracker, choice: dict[str, str]) -> str:
    message_id = (latest_user_event(tracker) or {}).get("message_id") or tracker.sender_id
    return f"tariff-{message_id}-{choice['contract_number']}"[:64]


class ActionRequestTariffSwitch(Action):
    """Open the `tariff_switch` case for the chosen tariff, or ask again which one."""

    def name(self) -> str:
        return "action_request_tariff_switch"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        gate = await require_identity(dispatcher, tracker, REQUEST)
        if gate is not None:
            return gate
        offer = tracker.get_slot(OFFER) or []
        choice = chosen(tracker, offer)
        if choice is None:
            dispatcher.utter_message(response="utter_tariff_which")
            return [next_step("action_offer_tariff_switch")]
        language = language_of(tracker)
        number = tracker.get_slot("verified_customer")
        switch_on = switch_date(today())
        request = request_id(tracker, choice)
        try:
            case = await run_in_transaction(
                lambda s: tariffs.request_switch(
                    s,
                    customer_number=number,
                    contract_number=choice["contract_number"],
                    tariff_code=choice["tariff"],
                    language=language,
                    channel=channel_of(tracker),
                    conversation_id=tracker.sender_id,
                    request_id=request,
                    switch_on=switch_on,
                )
            )
        except tariffs.SwitchRefused as refused:
            logger.warning("tariff switch refused customer=%s: %s", masked(number), refused)
            dispatcher.utter_message(response="utter_tariff_switch_failed")
            return [SlotSet(OFFER, None), SlotSet(COMMODITY, None), next_step(None)]
        logger.info(
            "tariff switch case %s customer=%s conversation=%s",
            "opened" if case.created else "already open (repeated request)",
            masked(number),
            tracker.sender_id,
        )
        dispatcher.utter_message(
            response="utter_tariff_switch_requested",
            current=case.data.get("from_tariff")
            or response_text(domain, "utter_label_tariff_unnamed", language),
            tariff=case.data["to_tariff"],
            contract_number=case.data["contract_number"],
            reference=case.reference,
            reference_spoken=spoken(case.reference),
            switch_on=i18n.date(switch_on, language),
        )
        months = case.data.get("minimum_term_months") or 0
        if months:
            dispatcher.utter_message(
                response="utter_tariff_switch_term", tariff=case.data["to_tariff"], months=months
            )
        return [SlotSet(OFFER, None), SlotSet(COMMODITY, None), next_step(None)]
