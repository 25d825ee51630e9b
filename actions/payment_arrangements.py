"""Payment trouble: instalments or a deferral, and supply blocks for a person.

The steps (data/rules/payment_arrangement.yml):

1. `action_start_payment_arrangement` keeps what the first message already
   said (instalments or a deferral, how many, until when, a block) and asks
   for the identity first.
2. `action_review_payment_standing` looks at the account: a block in force or
   announced goes to a person with priority, a running arrangement is shown,
   a balance too small for an arrangement is explained; otherwise the form.
3. `payment_arrangement_form` asks which arrangement, how many instalments or
   until when, and reads the plan back; an answer outside the rules gets the
   allowed range, the same one twice the way out (another value, a person,
   cancel).
4. `action_submit_payment_arrangement` stores the confirmed plan once and
   gives the reference.

The rules themselves are in bot/domain/services/payment_arrangements.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import uuid
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    channel_of,
    commodity_label,
    language_of,
    latest_intent,
    latest_text,
    next_step,
    response_text,
    today,
)
from actions.forms import CANCELLED, CancellableFormValidation
from actions.handoff import hand_off
from actions.identity import is_verified, require_identity
from bot.domain import i18n
from bot.domain.errors import (
    ArrangementRefused,
    DeferralOutOfRange,
    InstalmentsOutOfRange,
)
from bot.domain.parsing import (
    is_explicit_yes,
    mentions_supply_block,
    parse_amount,
    parse_arrangement_kind,
    parse_deferral_date,
    parse_instalment_count,
)
from bot.domain.privacy import masked
from bot.domain.references import spoken
from bot.domain.services import payment_arrangements as pa
from bot.infra.db import run_in_transaction
from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)

REQUEST = "payment_arrangement"
FORM_SLOTS = (
    "pa_request_id",
    "pa_kind",
    "pa_count",
    "pa_until",
    "pa_confirmed",
    "pa_read_back",
    "pa_refused",
    "pa_way_out",
    "pa_block_mentioned",
)
# buttons of the way out (not on the phone: there a digit is an answer, and 0 is a person)
WAY_OUT_BUTTONS = (
    ("utter_label_request_human", "/request_human"),
    ("utter_label_pa_cancel", "/deny"),
)


# --- shared helpers ---------------------------------------------------------------------


def _zone() -> ZoneInfo:
    """The utility's time zone: the day an arrangement was agreed is a local day."""
    return ZoneInfo(get_settings().timezone)


async def _situation(tracker: Tracker) -> pa.PaymentSituation:
    number = tracker.get_slot("verified_customer")
    day = today()
    return await run_in_transaction(lambda s: pa.situation(s, number, day, _zone()))


def _money(amount: Decimal, tracker: Tracker) -> str:
    return i18n.money(amount, language_of(tracker))


def _date(day: dt.date, tracker: Tracker) -> str:
    return i18n.date(day, language_of(tracker))


def _rule_values(current: pa.PaymentSituation, tracker: Tracker) -> dict[str, Any]:
    """The values the questions and refusals name: balance, ranges, latest date."""
    first_due = current.today + dt.timedelta(days=pa.FIRST_DUE_IN_DAYS)
    return {
        "total": _money(current.total, tracker),
        "minimum": pa.MIN_INSTALMENTS,
        "maximum": current.largest_count,
        "smallest": _money(pa.SMALLEST_INSTALMENT, tracker),
        "days": pa.MAX_DEFERRAL_DAYS,
        "latest": _date(current.latest_deferral, tracker),
        "first_due": _date(first_due, tracker),
    }


def _schedule(plan: pa.Plan, tracker: Tracker, domain: dict[str, Any]) -> str:
    """The plan's payments, one line each in chat; one sentence on the phone."""
    line = response_text(domain, "utter_pa_schedule_line", language_of(tracker))
    lines = [
        line.format(
            number=p.number, amount=_money(p.amount, tracker), due_on=_date(p.due_on, tracker)
        )
        for p in plan.payments
    ]
    return ("; " if _on_the_phone(tracker) else "\n").join(lines)


def _on_the_phone(tracker: Tracker) -> bool:
    return channel_of(tracker) == "voice"


def _refused(tracker: Tracker, answer: str, **slots: Any) -> dict[str, Any]:
    """Slot values after an answer that cannot be used (`answer` names it, e.g. "count:7").

    The same answer twice in a row makes the next question the way out.
    """
    again = tracker.get_slot("pa_refused") == answer
    return {**slots, "pa_refused": answer, "pa_way_out": True if again else None}


def _way_out(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    response: str,
    **values: Any,
) -> list[EventType]:
    """Offer another value, a person or to cancel, instead of the same question again."""
    buttons = []
    if not _on_the_phone(tracker):
        language = language_of(tracker)
        buttons = [
            {"title": response_text(domain, label, language), "payload": payload}
            for label, payload in WAY_OUT_BUTTONS
        ]
    dispatcher.utter_message(response=response, buttons=buttons, **values)
    return [SlotSet("pa_way_out", None)]


def _cleared() -> list[EventType]:
    return [SlotSet(s, None) for s in FORM_SLOTS] + [SlotSet(CANCELLED, None)]


# --- 1. the start -------------------------------------------------------------------------


class ActionStartPaymentArrangement(Action):
    """Entry point: remember what the message said, identity first."""

    def name(self) -> str:
        return "action_start_payment_arrangement"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events: list[EventType] = [*_cleared(), SlotSet("form_retry", None), next_step(None)]
        text = latest_text(tracker)
        kind = parse_arrangement_kind(text)
        if kind == pa.INSTALMENTS and (count := parse_instalment_count(text)) is not None:
            events.append(SlotSet("pa_count", str(count)))
        if kind == pa.DEFERRAL and (until := parse_deferral_date(text, today())) is not None:
            events.append(SlotSet("pa_until", until.isoformat()))
        if kind is not None:
            events.append(SlotSet("pa_kind", kind))
        if mentions_supply_block(text):
            events.append(SlotSet("pa_block_mentioned", True))
        # a person asked for during this request gets it as the reason
        events.append(SlotSet("handoff_reason", "payment_arrangement"))
        gate = await require_identity(dispatcher, tracker, REQUEST)
        if gate is not None:
            return events + gate
        return events + [next_step("action_review_payment_standing")]


# --- 2. the account -----------------------------------------------------------------------


class ActionReviewPaymentStanding(Action):
    """What the account allows: a person for a block, the running plan, or the form."""

    def name(self) -> str:
        return "action_review_payment_standing"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not is_verified(tracker):
            return (await require_identity(dispatcher, tracker, REQUEST)) or []
        current = await _situation(tracker)
        if current.blocks_in_force:
            return await _reconnection(dispatcher, tracker, domain, current)
        if current.announced_blocks or tracker.get_slot("pa_block_mentioned"):
            return await _supply_block(dispatcher, tracker, domain, current)
        done = [*_cleared(), SlotSet("handoff_reason", None), next_step(None)]
        if current.running is not None:
            _tell_running(dispatcher, tracker, domain, current.running)
            return done
        if current.total <= 0:
            dispatcher.utter_message(response="utter_pa_nothing_open")
            return done
        if not current.eligible:
            due_on = current.earliest_due_on or current.today
            overdue = due_on < current.today
            dispatcher.utter_message(
                response=f"utter_pa_balance_too_small_{'overdue' if overdue else 'due'}",
                total=_money(current.total, tracker),
                due_on=_date(due_on, tracker),
                minimum=_money(pa.MINIMUM_BALANCE, tracker),
            )
            # a person is offered (utter_offer_handoff); handoff_reason stays for them
            return [*_cleared(), next_step("utter_offer_handoff")]
        return [next_step("payment_arrangement_form")]


def _tell_running(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    running: pa.Arrangement,
) -> None:
    plan = running.plan
    values = {
        "reference": running.reference,
        "reference_spoken": spoken(running.reference),
        "total": _money(plan.total, tracker),
    }
    if plan.kind == pa.DEFERRAL:
        dispatcher.utter_message(
            response="utter_pa_running_deferral", until=_date(plan.last_due_on, tracker), **values
        )
    else:
        dispatcher.utter_message(
            response="utter_pa_running_instalments",
            schedule=_schedule(plan, tracker, domain),
            **values,
        )


def _regulation(commodities: set[str], tracker: Tracker, domain: dict[str, Any]) -> str:
    """The ordinance for the blocked commodity: StromGVV, GasGVV, or both when unknown."""
    if commodities == {"electricity"}:
        name = "utter_label_regulation_electricity"
    elif commodities == {"gas"}:
        name = "utter_label_regulation_gas"
    else:
        name = "utter_label_regulation_both"
    return response_text(domain, name, language_of(tracker))


def _request_id(tracker: Tracker) -> str:
    """One id per customer message: the same message handled twice opens one case."""
    message = (tracker.latest_message or {}).get("message_id") or ""
    return hashlib.sha256(f"{tracker.sender_id}:{message}".encode()).hexdigest()


async def _supply_block(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    current: pa.PaymentSituation,
) -> list[EventType]:
    """An announced block (or one the customer speaks of): the avoidance agreement, a
    priority case and a person."""
    language = language_of(tracker)
    announced = current.announced_blocks
    if announced:
        dates = [b.announced_on for b in announced if b.announced_on]
        dispatcher.utter_message(
            response="utter_pa_block_announced",
            announced_on=_date(min(dates), tracker) if dates else "",
            commodity=" / ".join(commodity_label(domain, b.commodity, language) for b in announced),
            total=_money(current.total, tracker),
        )
    else:
        dispatcher.utter_message(
            response="utter_pa_block_reported", total=_money(current.total, tracker)
        )
    dispatcher.utter_message(
        response="utter_pa_avoidance_agreement",
        regulation=_regulation({b.commodity for b in announced}, tracker, domain),
    )
    number = tracker.get_slot("verified_customer")
    request_id = _request_id(tracker)
    case = await run_in_transaction(
        lambda s: pa.open_supply_block_case(
            s,
            customer_number=number,
            request_id=request_id,
            language=language,
            channel=channel_of(tracker),
            conversation_id=tracker.sender_id,
            reported_by_customer=bool(tracker.get_slot("pa_block_mentioned")),
        )
    )
    logger.info(
        "supply block case %s customer=%s conversation=%s",
        case.reference,
        masked(number),
        tracker.sender_id,
    )
    dispatcher.utter_message(
        response="utter_pa_block_case_opened",
        reference=case.reference,
        reference_spoken=spoken(case.reference),
    )
    events = await hand_off(dispatcher, tracker, "supply_block", priority=True)
    handoff_case = next(
        (e["value"] for e in events if e.get("event") == "slot" and e["name"] == "handoff_case"),
        None,
    )
    if handoff_case:
        await run_in_transaction(lambda s: pa.link_handoff(s, case.reference, handoff_case))
    return [*_cleared(), *events]


async def _reconnection(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    current: pa.PaymentSituation,
) -> list[EventType]:
    """Supply already cut: reconnection is a colleague's (the reconnect_supply flow's) job."""
    block = current.blocks_in_force[0]
    dispatcher.utter_message(
        response="utter_pa_supply_blocked",
        commodity=commodity_label(domain, block.commodity, language_of(tracker)),
        blocked_on=_date(block.blocked_on or current.today, tracker),
    )
    return [*_cleared(), *await hand_off(dispatcher, tracker, "reconnection", priority=True)]


# --- 3. the form --------------------------------------------------------------------------


class ValidatePaymentArrangementForm(CancellableFormValidation):
    yes_no_slots = ("pa_confirmed",)

    def name(self) -> str:
        return "validate_payment_arrangement_form"

    def stop_form(self, tracker: Tracker) -> bool:
        # A lapsed verification ends the form; the submit action asks for it again.
        return super().stop_form(tracker) or not is_verified(tracker)

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        """Instalments need their number, a deferral its date, never both."""
        if self.stop_form(tracker):
            return []
        skipped = {pa.INSTALMENTS: "pa_until", pa.DEFERRAL: "pa_count"}.get(
            tracker.get_slot("pa_kind")
        )
        return [slot for slot in domain_slots if slot != skipped]

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list:
        if not is_verified(tracker):
            return []  # nothing is read for a customer no longer verified; the form ends
        return await super().get_extraction_events(dispatcher, tracker, domain)

    def _asked(self, tracker: Tracker, *slots: str) -> bool:
        """Whether the latest message answers one of `slots`' questions."""
        return tracker.get_slot("requested_slot") in slots and not self.is_interruption(tracker)

    async def extract_pa_request_id(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        # One id per run of the form: a re-delivered confirmation reuses it.
        if tracker.get_slot("pa_request_id"):
            return {}
        return {"pa_request_id": _new_request_id()}

    async def extract_pa_kind(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if not self._asked(tracker, "pa_kind"):
            return {}
        text = latest_text(tracker)
        kind = parse_arrangement_kind(text)
        if kind is None and latest_intent(tracker) == "affirm" and is_explicit_yes(text):
            # "ja" to "Möchten Sie in Raten zahlen?" (no deferral possible)
            current = await _situation(tracker)
            kind = pa.INSTALMENTS if current.deferral_possible_from else None
        if kind is None:
            dispatcher.utter_message(response="utter_pa_invalid_kind")
            return _refused(tracker, "kind:?")
        values: dict[str, Any] = {"pa_kind": kind}
        # "in 3 Raten", "Stundung bis zum 20.": the next answer given at once
        if kind == pa.INSTALMENTS and (count := parse_instalment_count(text)) is not None:
            values["pa_count"] = str(count)
        if kind == pa.DEFERRAL and (until := parse_deferral_date(text, today())) is not None:
            values["pa_until"] = until.isoformat()
        return values

    async def extract_pa_count(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("pa_kind") != pa.INSTALMENTS or not self._asked(
            tracker, "pa_count", "pa_confirmed"
        ):
            return {}
        text = latest_text(tracker)
        count = parse_instalment_count(text)
        if tracker.get_slot("requested_slot") == "pa_confirmed":
            # a correction at the read-back ("lieber 4 Raten")
            if count is None or str(count) == tracker.get_slot("pa_count"):
                return {}
            return {"pa_count": str(count), "pa_confirmed": None}
        if count is not None:
            return {"pa_count": str(count)}
        amount = parse_amount(text)
        if amount is not None:
            return await self._count_for_amount(dispatcher, tracker, amount)
        dispatcher.utter_message(response="utter_pa_invalid_count")
        return _refused(tracker, "count:?")

    async def _count_for_amount(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, amount: Decimal
    ) -> dict[str, Any]:
        """An amount a month ("60 € im Monat") as the number of instalments it takes."""
        current = await _situation(tracker)
        if amount < pa.SMALLEST_INSTALMENT:
            dispatcher.utter_message(
                response="utter_pa_instalment_too_small",
                **{**_rule_values(current, tracker), "amount": _money(amount, tracker)},
            )
            return _refused(tracker, f"amount:{amount}")
        return {"pa_count": str(math.ceil(current.total / amount))}

    async def extract_pa_until(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("pa_kind") != pa.DEFERRAL or not self._asked(
            tracker, "pa_until", "pa_confirmed"
        ):
            return {}
        until = parse_deferral_date(latest_text(tracker), today())
        if tracker.get_slot("requested_slot") == "pa_confirmed":
            # a correction at the read-back ("lieber bis zum 20.")
            if until is None or until.isoformat() == tracker.get_slot("pa_until"):
                return {}
            return {"pa_until": until.isoformat(), "pa_confirmed": None}
        if until is not None:
            return {"pa_until": until.isoformat()}
        current = await _situation(tracker)
        dispatcher.utter_message(
            response="utter_pa_invalid_until", latest=_date(current.latest_deferral, tracker)
        )
        return _refused(tracker, "until:?")

    async def extract_pa_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "pa_confirmed":
            return {}
        if _read_back(tracker) != tracker.get_slot("pa_read_back"):
            return {}  # a correction: extract_pa_count / extract_pa_until took it
        intent = latest_intent(tracker)
        if intent == "affirm" and is_explicit_yes(latest_text(tracker)):
            return {"pa_confirmed": True, "pa_refused": None}
        if intent == "deny":
            return {"pa_confirmed": False, CANCELLED: True}
        if not self.is_interruption(tracker):
            dispatcher.utter_message(response="utter_pa_please_confirm")
            return _refused(tracker, "confirm:?")
        return {}

    async def validate_pa_kind(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value == pa.DEFERRAL:
            current = await _situation(tracker)
            if current.deferral_possible_from is not None:
                # the question that follows explains it and offers instalments
                return _refused(tracker, "kind:deferral", pa_kind=None, pa_until=None)
        return {"pa_kind": value, "pa_refused": None}

    async def validate_pa_count(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {}
        current = await _situation(tracker)
        try:
            pa.instalment_plan(current.total, int(value), current.today)
        except InstalmentsOutOfRange:
            dispatcher.utter_message(
                response="utter_pa_count_out_of_range", **_rule_values(current, tracker)
            )
            return _refused(tracker, f"count:{value}", pa_count=None, pa_confirmed=None)
        return {"pa_count": value, "pa_refused": None}

    async def validate_pa_until(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {}
        current = await _situation(tracker)
        try:
            pa.deferral_plan(current.total, dt.date.fromisoformat(value), current.today)
        except DeferralOutOfRange as exc:
            dispatcher.utter_message(
                response=f"utter_pa_until_{'past' if exc.problem == 'past' else 'too_late'}",
                until=_date(dt.date.fromisoformat(value), tracker),
                **_rule_values(current, tracker),
            )
            return _refused(tracker, f"until:{value}", pa_until=None, pa_confirmed=None)
        return {"pa_until": value, "pa_refused": None}


def _new_request_id() -> str:
    return uuid.uuid4().hex


def _read_back(tracker: Tracker) -> str | None:
    """What a "ja" now confirms: the kind and its count or date, as the slots hold them."""
    kind = tracker.get_slot("pa_kind")
    value = tracker.get_slot("pa_count" if kind == pa.INSTALMENTS else "pa_until")
    return f"{kind}:{value}" if kind and value else None


class ActionAskPaKind(Action):
    def name(self) -> str:
        return "action_ask_pa_kind"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if tracker.get_slot("pa_way_out"):
            return _way_out(dispatcher, tracker, domain, "utter_pa_way_out")
        current = await _situation(tracker)
        values = _rule_values(current, tracker)
        if current.deferral_possible_from is not None:
            dispatcher.utter_message(
                response="utter_ask_pa_kind_no_deferral",
                agreed_on=_date(current.last_deferral_on or current.today, tracker),
                possible_from=_date(current.deferral_possible_from, tracker),
                **values,
            )
            return []
        language = language_of(tracker)
        buttons = [
            {"title": title, "payload": title}
            for title in (
                response_text(domain, "utter_label_pa_instalments", language),
                response_text(domain, "utter_label_pa_deferral", language),
            )
        ]
        dispatcher.utter_message(response="utter_ask_pa_kind", buttons=buttons, **values)
        return []


class ActionAskPaCount(Action):
    def name(self) -> str:
        return "action_ask_pa_count"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        values = _rule_values(await _situation(tracker), tracker)
        if tracker.get_slot("pa_way_out"):
            return _way_out(dispatcher, tracker, domain, "utter_pa_way_out_count", **values)
        dispatcher.utter_message(response="utter_ask_pa_count", **values)
        return []


class ActionAskPaUntil(Action):
    def name(self) -> str:
        return "action_ask_pa_until"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        values = _rule_values(await _situation(tracker), tracker)
        if tracker.get_slot("pa_way_out"):
            return _way_out(dispatcher, tracker, domain, "utter_pa_way_out_until", **values)
        dispatcher.utter_message(response="utter_ask_pa_until", **values)
        return []


class ActionAskPaConfirmed(Action):
    """Read the plan back (each instalment with its date and amount) before storing it."""

    def name(self) -> str:
        return "action_ask_pa_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        read_back = [SlotSet("pa_read_back", _read_back(tracker))]
        if tracker.get_slot("pa_way_out"):
            return _way_out(dispatcher, tracker, domain, "utter_pa_way_out") + read_back
        current = await _situation(tracker)
        try:
            plan = _plan(current, tracker)
        except ArrangementRefused:
            # the account changed since the form began: nothing can be agreed now
            dispatcher.utter_message(response="utter_pa_not_possible_now")
            return [SlotSet(CANCELLED, True)]
        total = _money(plan.total, tracker)
        if plan.kind == pa.DEFERRAL:
            dispatcher.utter_message(
                response="utter_ask_pa_confirmed_deferral",
                total=total,
                until=_date(plan.last_due_on, tracker),
            )
        else:
            dispatcher.utter_message(
                response="utter_ask_pa_confirmed_instalments",
                total=total,
                schedule=_schedule(plan, tracker, domain),
            )
        return read_back


def _plan(current: pa.PaymentSituation, tracker: Tracker) -> pa.Plan:
    kind = tracker.get_slot("pa_kind")
    count = tracker.get_slot("pa_count")
    until = tracker.get_slot("pa_until")
    return pa.plan_for(
        current,
        kind,
        count=int(count) if count and kind == pa.INSTALMENTS else None,
        until=dt.date.fromisoformat(until) if until and kind == pa.DEFERRAL else None,
    )


# --- 4. storing it ------------------------------------------------------------------------


class ActionSubmitPaymentArrangement(Action):
    """Store a confirmed plan once and give its reference; or say nothing was agreed."""

    def name(self) -> str:
        return "action_submit_payment_arrangement"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset: list[EventType] = [
            *_cleared(),
            SlotSet("form_retry", None),
            SlotSet("handoff_reason", None),
            next_step(None),
        ]
        if not is_verified(tracker) and not tracker.get_slot(CANCELLED):
            # Silent too long in the middle of it: who is there now?
            dispatcher.utter_message(response="utter_identity_expired")
            gate = await require_identity(dispatcher, tracker, REQUEST)
            return reset + (gate or [])
        if tracker.get_slot(CANCELLED) or tracker.get_slot("pa_confirmed") is not True:
            dispatcher.utter_message(response="utter_pa_cancelled")
            return reset
        kind = tracker.get_slot("pa_kind")
        count = tracker.get_slot("pa_count")
        until = tracker.get_slot("pa_until")
        number = tracker.get_slot("verified_customer")
        request_id = tracker.get_slot("pa_request_id")
        channel = channel_of(tracker)
        day = today()
        try:
            agreed = await run_in_transaction(
                lambda s: pa.agree(
                    s,
                    customer_number=number,
                    kind=kind,
                    count=int(count) if kind == pa.INSTALMENTS else None,
                    until=dt.date.fromisoformat(until) if kind == pa.DEFERRAL else None,
                    request_id=request_id,
                    channel=channel,
                    conversation_id=tracker.sender_id,
                    today=day,
                    zone=_zone(),
                )
            )
        except ArrangementRefused as exc:
            # the balance or another conversation changed it since the read-back
            logger.info("payment arrangement refused at submit: %s", type(exc).__name__)
            dispatcher.utter_message(response="utter_pa_not_possible_now")
            return reset
        arrangement = agreed.arrangement
        logger.info(
            "payment arrangement %s %s customer=%s conversation=%s",
            arrangement.reference,
            "already agreed (repeated confirmation)" if agreed.already_agreed else "agreed",
            masked(number),
            tracker.sender_id,
        )
        plan = arrangement.plan
        values = {
            "reference": arrangement.reference,
            "reference_spoken": spoken(arrangement.reference),
            "total": _money(plan.total, tracker),
        }
        if plan.kind == pa.DEFERRAL:
            dispatcher.utter_message(
                response="utter_pa_deferral_agreed",
                until=_date(plan.last_due_on, tracker),
                **values,
            )
        else:
            first = plan.payments[0]
            dispatcher.utter_message(
                response="utter_pa_instalments_agreed",
                count=len(plan.payments),
                first_amount=_money(first.amount, tracker),
                first_due=_date(first.due_on, tracker),
                **values,
            )
        by_debit = agreed.payment_method == "direct_debit"
        dispatcher.utter_message(
            response="utter_pa_pay_by_debit" if by_debit else "utter_pa_pay_by_transfer"
        )
        return reset
