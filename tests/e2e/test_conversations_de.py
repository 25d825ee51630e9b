"""Whole German conversations over the REST webhook, checked in the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.e2e.conftest import Chat, changes_for, handoff_for, handoff_payload, joined, row_counts

IDENTITY_JUERGEN = "Kundennummer 10000002, PLZ 44137, geboren am 12.03.1975"


def test_small_talk_is_honest_and_polite(chat: Chat) -> None:
    assert "Hallo" in chat.texts("Hallo") or "Guten" in chat.texts("Guten Tag")
    assert "digitaler Assistent" in chat.texts("Bin ich hier mit einem echten Menschen verbunden?")
    assert chat.slot("language") == "de"
    chat.texts("Vielen Dank!")
    assert chat.last_responses() == ["utter_you_are_welcome"]
    chat.texts("Tschüss")
    assert chat.last_responses()[0] == "utter_goodbye"


def test_bill_question_after_identity_check(chat: Chat) -> None:
    reply = chat.texts("Ich hab ne frage zu meiner letzten rechnung")
    assert "Kundennummer" in reply
    # Ayşe Yılmaz, all three details in one message, birth date in any format.
    reply = chat.texts("10000001 47051 12.04.1980")
    assert "1.043,27 €" in reply  # total in German format
    assert "83,27 €" in reply and "Nachzahlung" in reply
    assert "05.02.2025" in reply
    assert chat.slot("verified_customer") == "10000001"


def test_bill_for_named_commodity_and_list_for_several_contracts(chat: Chat) -> None:
    chat.texts("Rechnung bitte")
    reply = chat.texts(IDENTITY_JUERGEN)
    # Jürgen has electricity and gas: a short list of both.
    assert "Strom" in reply and "Gas" in reply
    reply = chat.texts("Was steht auf der Gasrechnung?")
    assert "Gas" in reply and "Strom" not in reply


def test_advance_payment_change_with_correction_is_stored_once(chat: Chat) -> None:
    before = changes_for(chat.servers.database_url, "30000003")
    reply = chat.texts("ich möchte meinen abschlag ändern")
    assert "Kundennummer" in reply
    chat.texts("10000002")
    chat.texts("44137")
    reply = chat.texts("12.03.1975")
    assert "Vertrag" in reply  # two contracts: which one?
    reply = chat.texts("Gas")
    assert "76,00 €" in reply and "85,00 €" in reply  # current and recommended
    reply = chat.texts("80 Euro")
    assert "80,00 €" in reply and "Ist das richtig?" in reply
    # The customer corrects the amount at the read-back.
    reply = chat.texts("nein, lieber 82,50 €")
    assert "82,50 €" in reply and "Ist das richtig?" in reply
    reply = chat.texts("ja genau")
    assert "Erledigt" in reply and "82,50 €" in reply

    changes = changes_for(chat.servers.database_url, "30000003")
    assert len(changes) == len(before) + 1
    change = changes[-1]
    assert (change.old_amount, change.new_amount) == (Decimal("76.00"), Decimal("82.50"))
    assert change.effective_on.day == 15
    assert change.effective_on - dt.date.today() >= dt.timedelta(days=4)
    assert change.channel == "rest" and change.conversation_id == chat.sender

    # A second "yes" (double click, re-delivery) changes nothing more.
    chat.texts("ja")
    assert len(changes_for(chat.servers.database_url, "30000003")) == len(changes)


def test_cancelling_the_change_changes_nothing(chat: Chat) -> None:
    counts = row_counts(chat.servers.database_url)
    chat.texts("Abschlag anpassen bitte")
    chat.texts(IDENTITY_JUERGEN)
    chat.texts("Strom")
    chat.texts("120 euro")
    reply = chat.texts("nein, doch nicht, abbrechen")
    assert "nichts geändert" in reply
    assert chat.tracker()["active_loop"] in ({}, None) or not chat.tracker()["active_loop"].get(
        "name"
    )
    assert row_counts(chat.servers.database_url) == counts


def test_reduction_below_recommended_is_handed_to_a_person(chat: Chat) -> None:
    # Günther Weiß: district heating, recommended 120 €, so below 96 € needs a person.
    chat.texts("Ich will meinen Abschlag auf 50 Euro senken")
    replies = chat.say("Kundennummer 10000005 PLZ 45127 geb. 30.06.1947")
    text = joined(replies)
    assert "120,00 €" in text and "Mitarbeiter" in text
    payload = handoff_payload(replies)
    assert payload is not None and payload["reason"] == "reduction_rejected"
    assert changes_for(chat.servers.database_url, "30000007") == []
    case = handoff_for(chat.servers.database_url, chat.sender)
    assert case is not None and case.customer_number == "10000005"


def test_three_wrong_identity_attempts_lock_and_hand_off(chat: Chat) -> None:
    chat.texts("Meine Rechnung bitte")
    wrong_postcode = chat.texts("10000002 99999 12.03.1975")
    wrong_number = chat.texts("10009999 44137 12.03.1975")
    # The reply never says which detail was wrong or whether the number exists.
    assert wrong_postcode == wrong_number
    replies = chat.say("10000002 44137 13.03.1975")
    text = joined(replies)
    assert "nicht identifizieren" in text
    payload = handoff_payload(replies)
    assert payload is not None
    assert payload["reason"] == "identity_failed" and payload["language"] == "de"
    # Even the right details are no longer checked in this conversation.
    chat.texts("10000002 44137 12.03.1975")
    assert chat.slot("verified_customer") is None


def test_request_human_stores_case_with_transcript_and_pauses(chat: Chat) -> None:
    chat.texts("Guten Morgen")
    replies = chat.say("Ich möchte bitte mit einem Mitarbeiter sprechen")
    text = joined(replies)
    payload = handoff_payload(replies)
    assert payload is not None
    assert payload["case_id"] in text and payload["reason"] == "customer_request"
    case = handoff_for(chat.servers.database_url, chat.sender)
    assert case is not None and case.case_id == payload["case_id"]
    assert case.language == "de" and case.channel == "rest" and case.status == "open"
    said = [line["text"] for line in case.transcript if line["from"] == "customer"]
    assert said == ["Guten Morgen", "Ich möchte bitte mit einem Mitarbeiter sprechen"]
    # Paused: the message is recorded, but the bot stays silent for the agent.
    messages = chat.user_messages()
    assert chat.say("Hallo? Ist da jemand?") == []
    assert chat.user_messages() == messages + 1


def test_two_fallbacks_in_a_row_hand_off(chat: Chat) -> None:
    chat.texts("Hallo")
    first = chat.texts("xqzv blorp wumm")
    assert "anderen Worten" in first or "Worum geht es" in first
    replies = chat.say("flibber quang zott")
    payload = handoff_payload(replies)
    assert payload is not None and payload["reason"] == "repeated_fallback"


def test_out_of_scope_says_what_the_bot_can_do(chat: Chat) -> None:
    reply = chat.texts("Wer wird Deutscher Meister im Fußball?")
    assert chat.last_responses()[0] == "utter_out_of_scope"
    assert "Rechnung" in reply or "Abschlag" in reply
