"""Bank details and SEPA direct debit: start, the form's questions and checks, submit.

Real rasa_sdk trackers, the real domain and a real (demo) database. The full
IBAN must never be in a reply, a log line or a handed-over transcript, and its
slot must be empty however the request ends.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy import select

from actions.bank_details import (
    FORM_SLOTS,
    ActionAskBdChoice,
    ActionAskBdConfirmed,
    ActionAskBdHolder,
    ActionAskBdIban,
    ActionStartBankDetails,
    ActionStopBankDetails,
    ActionSubmitBankDetails,
    ValidateBankDetailsForm,
)
from actions.handoff import ActionHandoff
from actions.identity import ActionIdentityDone
from bot.domain.models import AuditEntry, Customer, SepaMandate
from bot.domain.responses import load_responses
from bot.infra.db import session_scope
from bot.infra.settings import DOMAIN_DIR
from tests.actions.conftest import (
    assert_handed_off,
    entity,
    make_tracker,
    run,
    slot_event,
)

pytestmark = pytest.mark.asyncio

NEUMANN, KAYA, MUELLER = "10000025", "10000028", "10000002"
NEUMANN_IBAN = "DE89370400440532013000"
NEW_IBAN = "DE75512108001245126199"  # Societe Generale
KAYA_NEW_IBAN = "DE44500105175407324931"  # ING-DiBa
NEW_MASKED = "DE75 **** **** **** **61 99"
RESET = {**{s: None for s in FORM_SLOTS}, "form_cancelled": None, "form_retry": None}


def form_tracker(text, intent="inform", language="de", entities=(), customer=NEUMANN, **slots):
    """A message while the bank details form is active."""
    return make_tracker(
        text,
        intent,
        entities=entities,
        language=language,
        slots={"verified_customer": customer, "bd_request_id": "req-1", **slots},
        active_loop="bank_details_form",
    )


def activation_tracker(customer, language="de", **prefilled):
    """What the validation sees when the form starts (prefilled slots passed along)."""
    text = "neue Bankverbindung" if language == "de" else "yeni banka hesabım"
    return make_tracker(
        text,
        "change_bank_details",
        language=language,
        slots={"verified_customer": customer, **prefilled},
        after=[
            slot_event("requested_slot", None),
            {"event": "action", "name": "bank_details_form", "timestamp": None},
            *(slot_event(k, v) for k, v in prefilled.items()),
        ],
        active_loop="bank_details_form",
    )


def mandates(url: str, number: str) -> list[tuple[str, str, str]]:
    """(reference, status, iban) of the customer's mandates, oldest first."""
    with session_scope(url) as session:
        customer = session.scalar(select(Customer).where(Customer.customer_number == number))
        rows = session.scalars(
            select(SepaMandate)
            .where(SepaMandate.customer_id == customer.id)
            .order_by(SepaMandate.id)
        )
        return [(m.mandate_reference, m.status, m.iban) for m in rows]


def payment_method(url: str, number: str) -> str:
    with session_scope(url) as session:
        return session.scalar(
            select(Customer.payment_method).where(Customer.customer_number == number)
        )


def audit(url: str) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(url) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(a.action, a.detail) for a in rows]


# --- action_start_bank_details -------------------------------------------------------------


async def test_start_asks_for_identity_first(domain):
    tracker = make_tracker(
        "Ich habe eine neue Bankverbindung", "change_bank_details", slots={"bd_iban": NEW_IBAN}
    )
    outcome = await run(ActionStartBankDetails(), tracker, domain)
    assert outcome.slots == {
        **RESET,
        "bd_choice": "direct_debit",
        "pending_request": "change_bank_details",
    }
    assert outcome.followup == "identity_form"
    assert outcome.messages == []


@pytest.mark.parametrize(
    ("text", "language", "choice"),
    [
        ("ich will nicht mehr abbuchen lassen, lieber überweisen", "de", "transfer"),
        ("Lastschrift einrichten", "de", "direct_debit"),
        ("havale ile ödemek istiyorum", "tr", "transfer"),
        ("ödeme şeklimi değiştirmek istiyorum", "tr", None),  # unclear: the form asks
    ],
)
async def test_start_for_a_verified_customer_opens_the_form(domain, text, language, choice):
    tracker = make_tracker(
        text, "change_bank_details", language=language, slots={"verified_customer": NEUMANN}
    )
    outcome = await run(ActionStartBankDetails(), tracker, domain)
    assert outcome.slots.get("bd_choice") == choice
    assert outcome.followup == "bank_details_form"


async def test_an_iban_in_the_first_message_is_kept_for_the_form(domain):
    tracker = make_tracker(
        "meine neue IBAN ist DE75 5121 0800 1245 1261 99",
        "change_bank_details",
        slots={"verified_customer": NEUMANN},
    )
    outcome = await run(ActionStartBankDetails(), tracker, domain)
    assert outcome.slots["bd_choice"] == "direct_debit"
    assert outcome.slots["bd_iban"] == NEW_IBAN  # checked when the form starts


async def test_an_iban_before_the_identity_check_is_not_kept(domain):
    tracker = make_tracker("neue IBAN DE75512108001245126199", "change_bank_details")
    outcome = await run(ActionStartBankDetails(), tracker, domain)
    assert outcome.slots["bd_iban"] is None and outcome.followup == "identity_form"


async def test_start_after_a_locked_identity_check_hands_off(database_url, domain, clock):
    tracker = make_tracker("neue IBAN", "change_bank_details", slots={"identity_locked": True})
    outcome = await run(ActionStartBankDetails(), tracker, domain)
    assert_handed_off(outcome, database_url, tracker, reason="identity_failed")


async def test_after_the_identity_check_the_form_follows(database_url, domain):
    tracker = make_tracker(
        "10000025 44137 21.06.1983",
        slots={"verified_customer": NEUMANN, "pending_request": "change_bank_details"},
    )
    outcome = await run(ActionIdentityDone(), tracker, domain)
    assert outcome.responses == ["utter_identity_verified"]
    assert outcome.followup == "bank_details_form"


# --- the form: what the customer wants ------------------------------------------------------


async def test_activation_gives_a_request_id(database_url, domain):
    outcome = await run(ValidateBankDetailsForm(), activation_tracker(NEUMANN), domain)
    assert re.fullmatch(r"[0-9a-f]{32}", outcome.slots["bd_request_id"])
    assert outcome.messages == []


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_choice_question_shows_the_account_debited_now(database_url, domain, language):
    tracker = form_tracker("", language=language, requested_slot="bd_choice")
    outcome = await run(ActionAskBdChoice(), tracker, domain)
    assert outcome.responses == ["utter_ask_bd_choice_direct_debit"]
    assert "Commerzbank" in outcome.text and "DE89 **** **** **** **30 00" in outcome.text
    assert NEUMANN_IBAN not in outcome.text
    assert outcome.message("utter_ask_bd_choice_direct_debit")["iban_end"] == "3 0 0 0"
    assert outcome.message("utter_ask_bd_choice_direct_debit")["buttons"] == []


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_choice_question_for_a_customer_paying_by_transfer(database_url, domain, language):
    tracker = form_tracker("", language=language, customer=MUELLER, requested_slot="bd_choice")
    outcome = await run(ActionAskBdChoice(), tracker, domain)
    assert outcome.responses == ["utter_ask_bd_choice_transfer"]
    buttons = domain["responses"]["utter_ask_bd_choice_transfer"][0]["buttons"]
    assert [b["payload"] for b in buttons] == [
        '/inform{"payment_method": "direct_debit"}',
        '/inform{"payment_method": "transfer"}',
    ]


@pytest.mark.parametrize(
    ("text", "entities", "choice"),
    [
        (
            '/inform{"payment_method": "transfer"}',
            [entity("payment_method", "transfer")],
            "transfer",
        ),
        (
            '/inform{"payment_method": "direct_debit"}',
            [entity("payment_method", "direct_debit")],
            "direct_debit",
        ),
        ("per Überweisung bitte", (), "transfer"),
        ("Havale ile ödemek", (), "transfer"),
        ("neues Konto", (), "direct_debit"),
    ],
)
async def test_the_choice_is_taken(database_url, domain, text, entities, choice):
    tracker = form_tracker(text, entities=entities, requested_slot="bd_choice")
    outcome = await run(ValidateBankDetailsForm(), tracker, domain)
    assert outcome.slots["bd_choice"] == choice
    assert outcome.messages == []


async def test_an_iban_instead_of_the_choice_is_a_new_account(database_url, domain):
    tracker = form_tracker("DE75 5121 0800 1245 1261 99", requested_slot="bd_choice")
    outcome = await run(ValidateBankDetailsForm(), tracker, domain)
    assert outcome.slots["bd_choice"] == "direct_debit"
    assert outcome.slots["bd_iban"] == NEW_IBAN


async def test_an_unclear_choice_is_asked_again_then_a_way_out_is_offered(database_url, domain):
    form = ValidateBankDetailsForm()
    first = await run(form, form_tracker("hm", requested_slot="bd_choice"), domain)
    assert first.responses == ["utter_invalid_bd_choice"]
    assert first.slots["form_retry"] == 1 and "bd_choice" not in first.slots
    second = await run(form, form_tracker("hm", requested_slot="bd_choice", form_retry=1), domain)
    assert second.slots["form_retry"] == 2
    ask = await run(
        ActionAskBdChoice(), form_tracker("hm", requested_slot="bd_choice", form_retry=2), domain
    )
    payloads = [b["payload"] for b in ask.messages[0]["buttons"]]
    assert payloads == ["/request_human", "/deny"]


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_transfer_without_a_mandate_is_told_and_ends(database_url, domain, language):
    tracker = activation_tracker(MUELLER, language, bd_choice="transfer")
    outcome = await run(ValidateBankDetailsForm(), tracker, domain)
    assert outcome.responses == ["utter_bd_already_transfer"]
    assert "DE21 4405 0199 0001 0000 12" in outcome.text and MUELLER in outcome.text
    assert outcome.slots["bd_finished"] is True
    assert outcome.slots["requested_slot"] is None  # the form ends
    submit = await run(
        ActionSubmitBankDetails(),
        form_tracker("", customer=MUELLER, bd_choice="transfer", bd_finished=True),
        domain,
    )
    assert submit.messages == [] and submit.slots == RESET
    assert payment_method(database_url, MUELLER) == "transfer" and audit(database_url) == []


async def test_transfer_asks_only_for_the_yes(database_url, domain):
    tracker = activation_tracker(NEUMANN, bd_choice="transfer")
    outcome = await run(ValidateBankDetailsForm(), tracker, domain)
    assert outcome.slots["requested_slot"] == "bd_confirmed"


# --- the form: the IBAN ---------------------------------------------------------------------


def iban_tracker(text, language="de", failures=None, intent="inform", customer=NEUMANN):
    return form_tracker(
        text,
        intent,
        language=language,
        customer=customer,
        requested_slot="bd_iban",
        bd_choice="direct_debit",
        bd_iban_failures=failures,
    )


@pytest.mark.parametrize(
    "text",
    [
        "DE75 5121 0800 1245 1261 99",
        "de75512108001245126199",
        "meine neue IBAN lautet DE75 5121 0800 1245 1261 99, danke",
        "75512108001245126199",  # 20 keyed digits on the phone
        "D E 7 5 5 1 2 1 0 8 0 0 1 2 4 5 1 2 6 1 9 9",  # spelled out by speech recognition
    ],
)
async def test_a_valid_iban_is_taken(database_url, domain, text):
    outcome = await run(ValidateBankDetailsForm(), iban_tracker(text), domain)
    assert outcome.slots["bd_iban"] == NEW_IBAN
    assert outcome.messages == []


@pytest.mark.parametrize(
    ("text", "language", "problem", "said"),
    [
        ("DE75 5121 0800 1245 1261 98", "de", "checksum", "Die Prüfziffer stimmt nicht"),
        ("DE75 5121 0800 1245 1261 98", "tr", "checksum", "kontrol rakamı tutmuyor"),
        ("DE75 5121 0800 1245 1261 9", "de", "length", "22 Stellen"),
        ("weiß ich nicht", "de", "not_found", "keine IBAN erkennen"),
        ("bilmiyorum", "tr", "not_found", "IBAN bulamadım"),
    ],
)
async def test_a_wrong_iban_gets_a_clear_answer_and_nothing_is_stored(
    database_url, domain, text, language, problem, said
):
    outcome = await run(ValidateBankDetailsForm(), iban_tracker(text, language), domain)
    assert outcome.responses == [f"utter_invalid_bd_iban_{problem}"]
    assert said in outcome.text
    assert outcome.slots["bd_iban"] is None and outcome.slots["bd_iban_failures"] == 1
    assert mandates(database_url, NEUMANN) == [("STW-DEMO-0000025", "active", NEUMANN_IBAN)]


async def test_the_account_already_debited_is_asked_again(database_url, domain):
    outcome = await run(ValidateBankDetailsForm(), iban_tracker("DE89370400440532013000"), domain)
    assert outcome.responses == ["utter_bd_iban_unchanged"]
    assert outcome.slots["bd_iban"] is None and outcome.slots["bd_iban_failures"] == 1


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_second_wrong_iban_offers_a_way_out(database_url, domain, language):
    form = ValidateBankDetailsForm()
    second = await run(form, iban_tracker("DE75512108001245126198", language, failures=1), domain)
    assert second.slots["bd_iban_failures"] == 2
    ask = await run(ActionAskBdIban(), iban_tracker("", language, failures=2), domain)
    assert ask.responses == ["utter_bd_iban_way_out"]
    buttons = ask.messages[0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/affirm", "/request_human", "/deny"]
    assert buttons[0]["title"] == (
        "Noch einmal versuchen" if language == "de" else "Tekrar denemek"
    )
    # "noch einmal versuchen": the question again, without a complaint
    again = await run(form, iban_tracker("/affirm", language, failures=2, intent="affirm"), domain)
    assert again.slots["bd_iban_failures"] == 0 and again.messages == []
    ask = await run(ActionAskBdIban(), iban_tracker("", language, failures=0), domain)
    assert ask.responses == ["utter_ask_bd_iban"]
    # a valid IBAN given at the way out is simply taken
    taken = await run(form, iban_tracker(NEW_IBAN, language, failures=2), domain)
    assert taken.slots["bd_iban"] == NEW_IBAN and taken.slots["bd_iban_failures"] is None


async def test_cancelling_at_the_way_out(database_url, domain):
    tracker = iban_tracker("/deny", failures=2, intent="deny")
    outcome = await run(ValidateBankDetailsForm(), tracker, domain)
    assert outcome.slots["form_cancelled"] is True and outcome.slots["requested_slot"] is None


async def test_a_person_at_the_way_out_clears_the_iban(database_url, domain, clock):
    tracker = form_tracker(
        "/request_human",
        "request_human",
        requested_slot="bd_iban",
        bd_choice="direct_debit",
        bd_iban_failures=2,
    )
    form = await run(ValidateBankDetailsForm(), tracker, domain)
    assert form.slots.get("bd_iban") is None  # left to the rules: action_handoff
    # a handoff while the form holds an IBAN (e.g. at the mandate) forgets it
    tracker = form_tracker(
        "Mitarbeiter bitte", "request_human", requested_slot="bd_confirmed", bd_iban=NEW_IBAN
    )
    outcome = await run(ActionHandoff(), tracker, domain)
    case = assert_handed_off(
        outcome, database_url, tracker, reason="customer_request", customer_number=NEUMANN
    )
    assert outcome.slots["bd_iban"] is None
    assert NEW_IBAN not in str(case.transcript)


async def test_a_handed_over_transcript_masks_the_iban(database_url, domain, clock):
    typed = "DE75 5121 0800 1245 1261 98 bitte verbinden Sie mich"
    tracker = form_tracker(typed, "request_human", requested_slot="bd_iban")
    outcome = await run(ActionHandoff(), tracker, domain)
    case = assert_handed_off(
        outcome, database_url, tracker, reason="customer_request", customer_number=NEUMANN
    )
    assert "5121 0800" not in case.transcript[-1]["text"]
    assert case.transcript[-1]["text"].startswith("******************6198")


# --- the form: the account holder ---------------------------------------------------------


def holder_tracker(text, intent="inform", language="de", **slots):
    return form_tracker(
        text,
        intent,
        language=language,
        requested_slot="bd_holder",
        bd_choice="direct_debit",
        bd_iban=NEW_IBAN,
        **slots,
    )


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_holder_question_reads_the_account_back_masked(database_url, domain, language):
    outcome = await run(ActionAskBdHolder(), holder_tracker("", language=language), domain)
    assert outcome.responses == ["utter_ask_bd_holder"]
    assert "Societe Generale" in outcome.text and NEW_MASKED in outcome.text
    assert NEW_IBAN not in outcome.text and "5121" not in outcome.text
    assert outcome.messages[0]["buttons"] == [{"title": "Claudia Neumann", "payload": "/affirm"}]


@pytest.mark.parametrize(
    ("text", "intent", "holder"),
    [
        ("/affirm", "affirm", "Claudia Neumann"),
        ("ich selbst", "inform", "Claudia Neumann"),
        ("kendim", "inform", "Claudia Neumann"),
        ("Kontoinhaberin ist Petra Neumann", "inform", "Petra Neumann"),
        ("hesap sahibi eşim Ahmet Kaya", "inform", "eşim Ahmet Kaya"),
        ("Hans-Peter Neumann", "nlu_fallback", "Hans-Peter Neumann"),
        # a name the classifier took for a goodbye is still the name
        ("Sören Bäcker", "goodbye", "Sören Bäcker"),
    ],
)
async def test_the_holder_is_taken(database_url, domain, text, intent, holder):
    outcome = await run(ValidateBankDetailsForm(), holder_tracker(text, intent), domain)
    assert outcome.slots["bd_holder"] == holder
    assert outcome.messages == []


@pytest.mark.parametrize(
    ("text", "intent"),
    [("Tschüss", "goodbye"), ("Vielen Dank", "thank"), ("Bist du ein Bot?", "bot_challenge")],
)
async def test_a_question_or_goodbye_at_the_holder_question_is_left_to_the_rules(
    database_url, domain, text, intent
):
    outcome = await run(ValidateBankDetailsForm(), holder_tracker(text, intent), domain)
    assert "bd_holder" not in outcome.slots and outcome.messages == []


async def test_an_unusable_holder_is_asked_again_then_a_way_out(database_url, domain):
    outcome = await run(ValidateBankDetailsForm(), holder_tracker("12345678"), domain)
    assert outcome.responses == ["utter_invalid_bd_holder_digits"]
    assert outcome.slots["bd_holder"] is None and outcome.slots["form_retry"] == 1
    ask = await run(ActionAskBdHolder(), holder_tracker("", form_retry=2), domain)
    assert [b["payload"] for b in ask.messages[0]["buttons"]] == [
        "/affirm",
        "/request_human",
        "/deny",
    ]


# --- the form: the mandate's yes --------------------------------------------------------


def confirm_tracker(text, intent, language="de", choice="direct_debit", customer=NEUMANN):
    return form_tracker(
        text,
        intent,
        language=language,
        customer=customer,
        requested_slot="bd_confirmed",
        bd_choice=choice,
        bd_iban=NEW_IBAN if choice == "direct_debit" else None,
        bd_holder="Claudia Neumann" if choice == "direct_debit" else None,
    )


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_mandate_text_is_read_before_the_yes(database_url, domain, language):
    outcome = await run(ActionAskBdConfirmed(), confirm_tracker("", None, language), domain)
    assert outcome.responses == ["utter_bd_mandate_text"]
    text = outcome.text
    assert "DE98ZZZ09999999999" in text and "Stadtwerke Rheinruhr" in text
    assert "Claudia Neumann" in text and NEW_MASKED in text and NEW_IBAN not in text
    assert ("acht Wochen" if language == "de" else "sekiz hafta") in text


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_the_revocation_is_read_before_the_yes(database_url, domain, language):
    tracker = confirm_tracker("", None, language, choice="transfer")
    outcome = await run(ActionAskBdConfirmed(), tracker, domain)
    assert outcome.responses == ["utter_bd_revoke_question"]
    assert "STW-DEMO-0000025" in outcome.text and "DE89 **** **** **** **30 00" in outcome.text


@pytest.mark.parametrize(
    ("text", "intent", "slots"),
    [
        ("ja", "affirm", {"bd_confirmed": True}),
        ("evet", "affirm", {"bd_confirmed": True}),
        ("nein", "deny", {"bd_confirmed": False, "form_cancelled": True}),
    ],
)
async def test_yes_or_no_to_the_mandate(database_url, domain, text, intent, slots):
    outcome = await run(ValidateBankDetailsForm(), confirm_tracker(text, intent), domain)
    assert {k: outcome.slots[k] for k in slots} == slots


async def test_an_unclear_answer_is_no_yes(database_url, domain):
    outcome = await run(ValidateBankDetailsForm(), confirm_tracker("hm", "inform"), domain)
    assert outcome.responses == ["utter_bd_please_confirm"]
    assert "bd_confirmed" not in outcome.slots


# --- submit ------------------------------------------------------------------------------


def submit_tracker(choice="direct_debit", language="de", customer=NEUMANN, **slots):
    values = {
        "bd_choice": choice,
        "bd_iban": NEW_IBAN if choice == "direct_debit" else None,
        "bd_holder": "Claudia Neumann" if choice == "direct_debit" else None,
        "bd_confirmed": True,
        "requested_slot": None,
        **slots,
    }
    return form_tracker("ja", "affirm", language=language, customer=customer, **values)


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_a_confirmed_mandate_is_stored_once(database_url, domain, language, caplog):
    caplog.set_level(logging.INFO)
    tracker = submit_tracker(language=language)
    outcome = await run(ActionSubmitBankDetails(), tracker, domain)
    assert outcome.responses == ["utter_bd_mandate_given", "utter_bd_old_mandate_revoked"]
    [(old_ref, old_status, _), (reference, status, iban)] = mandates(database_url, NEUMANN)
    assert (old_ref, old_status, status, iban) == (
        "STW-DEMO-0000025",
        "revoked",
        "active",
        NEW_IBAN,
    )
    assert reference in outcome.text and NEW_MASKED in outcome.text
    assert "01.12." in outcome.text or "01.01." in outcome.text  # the next due date (the 1st)
    assert NEW_IBAN not in outcome.text
    assert outcome.slots == RESET  # the IBAN is gone from the conversation
    assert payment_method(database_url, NEUMANN) == "direct_debit"
    [(action, detail)] = audit(database_url)
    assert action == "sepa_mandate_created" and detail["channel"] == "rest"
    # the same confirmation delivered again stores nothing more
    again = await run(ActionSubmitBankDetails(), submit_tracker(language=language), domain)
    assert again.responses[0] == "utter_bd_mandate_given" and reference in again.text
    assert len(mandates(database_url, NEUMANN)) == 2 and len(audit(database_url)) == 1
    assert NEW_IBAN not in caplog.text and "5121" not in caplog.text


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_a_confirmed_change_to_transfer(database_url, domain, language):
    outcome = await run(ActionSubmitBankDetails(), submit_tracker("transfer", language), domain)
    assert outcome.responses == ["utter_bd_switched_to_transfer"]
    assert "DE21 4405 0199 0001 0000 12" in outcome.text and "Sparkasse Dortmund" in outcome.text
    assert NEUMANN in outcome.text
    assert mandates(database_url, NEUMANN) == [("STW-DEMO-0000025", "revoked", NEUMANN_IBAN)]
    assert payment_method(database_url, NEUMANN) == "transfer"
    assert [a for a, _ in audit(database_url)] == ["payment_method_transfer"]
    assert outcome.slots == RESET


@pytest.mark.parametrize(
    "slots",
    [
        {"form_cancelled": True, "bd_confirmed": False},
        {"form_cancelled": True, "bd_confirmed": None, "bd_holder": None},
    ],
)
async def test_a_cancelled_change_stores_nothing_and_forgets_the_iban(database_url, domain, slots):
    outcome = await run(ActionSubmitBankDetails(), submit_tracker(**slots), domain)
    assert outcome.responses == ["utter_bd_cancelled"]
    assert outcome.slots == RESET
    assert mandates(database_url, NEUMANN) == [("STW-DEMO-0000025", "active", NEUMANN_IBAN)]
    assert audit(database_url) == []


async def test_a_change_made_meanwhile_is_not_overwritten(database_url, domain):
    # The customer's mandate was revoked in another conversation since the read-back.
    await run(ActionSubmitBankDetails(), submit_tracker("transfer", bd_request_id="other"), domain)
    outcome = await run(ActionSubmitBankDetails(), submit_tracker("transfer"), domain)
    assert outcome.responses == ["utter_bd_already_transfer"]
    assert len(audit(database_url)) == 1


async def test_a_lapsed_verification_asks_for_the_identity_again(database_url, domain):
    tracker = submit_tracker(verified_customer=None)
    outcome = await run(ActionSubmitBankDetails(), tracker, domain)
    assert outcome.responses == ["utter_identity_expired"]
    assert outcome.followup == "identity_form"
    assert outcome.slots["bd_iban"] is None
    assert outcome.slots["pending_request"] == "change_bank_details"
    assert mandates(database_url, NEUMANN)[-1][1] == "active" and len(audit(database_url)) == 0


async def test_goodbye_in_the_middle_ends_the_form_and_forgets_the_iban(domain):
    tracker = form_tracker("tschüss", "goodbye", requested_slot="bd_holder", bd_iban=NEW_IBAN)
    outcome = await run(ActionStopBankDetails(), tracker, domain)
    assert {"event": "active_loop", "timestamp": None, "name": None} in outcome.events
    assert outcome.slots["bd_iban"] is None and outcome.slots["requested_slot"] is None


# --- a whole conversation in Turkish, and the phone's wording -------------------------------


async def test_turkish_customer_changes_her_account(database_url, domain):
    form = ValidateBankDetailsForm()
    slots: dict[str, Any] = {"verified_customer": KAYA, "bd_request_id": "req-tr"}

    async def answer(text, intent="inform", entities=()):
        tracker = make_tracker(
            text,
            intent,
            entities=entities,
            language="tr",
            slots=slots,
            active_loop="bank_details_form",
        )
        outcome = await run(form, tracker, domain)
        slots.update(outcome.slots)
        return outcome

    slots["requested_slot"] = "bd_choice"  # Rasa asks for each slot in turn
    await answer(
        '/inform{"payment_method": "direct_debit"}',
        entities=[entity("payment_method", "direct_debit")],
    )
    slots["requested_slot"] = "bd_iban"
    wrong = await answer("DE44 5001 0517 5407 3249 32")
    assert wrong.responses == ["utter_invalid_bd_iban_checksum"]
    await answer("44500105175407324931")  # keyed: DE and the 20 digits
    assert slots["bd_iban"] == KAYA_NEW_IBAN
    slots["requested_slot"] = "bd_holder"
    await answer("/affirm", "affirm")
    assert slots["bd_holder"] == "Hatice Kaya"
    slots["requested_slot"] = "bd_confirmed"
    await answer("evet", "affirm")
    assert slots["bd_confirmed"] is True
    slots["requested_slot"] = None  # all asked: the form ends
    tracker = make_tracker("evet", "affirm", language="tr", slots=slots)
    outcome = await run(ActionSubmitBankDetails(), tracker, domain)
    assert outcome.responses == ["utter_bd_mandate_given", "utter_bd_old_mandate_revoked"]
    assert "ING-DiBa" in outcome.text and "Tamamlandı" in outcome.text
    assert [m[1:] for m in mandates(database_url, KAYA)] == [
        ("revoked", "DE02120300000000202051"),
        ("active", KAYA_NEW_IBAN),
    ]


@pytest.mark.filterwarnings("ignore:The test")
def test_the_phone_never_reads_a_masked_iban():
    """Voice variations say the last four digits, never the asterisks of the masked IBAN."""
    responses = load_responses(DOMAIN_DIR)
    ours = {n: v for n, v in responses.items() if n.startswith(("utter_ask_bd", "utter_bd"))}
    for name, variations in ours.items():
        written = [v for v in variations if v.get("channel") != "voice"]
        spoken = [v for v in variations if v.get("channel") == "voice"]
        if any("{masked_iban}" in v["text"] or "{our_iban}" in v["text"] for v in written):
            assert len(spoken) == 2, f"{name} needs a German and a Turkish voice variation"
        for variation in spoken:
            assert "masked_iban" not in variation["text"], name
            assert "{our_iban}" not in variation["text"], name
    iban_question = responses["utter_ask_bd_iban"]
    assert all(v["metadata"]["expects"] == {"kind": "digits", "length": 20} for v in iban_question)
    voice = [v["text"] for v in iban_question if v.get("channel") == "voice"]
    assert any("20 Ziffern nach D E" in t for t in voice)
    assert any("20 rakamı" in t for t in voice)
