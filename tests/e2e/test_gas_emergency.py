"""A gas smell is answered first in every state of a conversation, against the real servers.

Each scenario brings a conversation into one state (a question in the
middle of a form, the identity check, a conversation handed to a person),
checks over Rasa's API that it really is in that state, and then says that
it smells gas: the first reply is the safety instructions with the emergency
number, the `emergency` payload names the line to dial, the form is over (with
the values it held), the report is a priority fault case in the database,
and a conversation with a person stays with the person.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.domain.models import ServiceCase
from bot.infra.db import session_scope
from tests.e2e.conftest import Chat, handoff_payload
from tests.e2e.test_voice import new_call
from tests.e2e.test_web_chat import logged_in, stored_chat
from tests.harness.servers import Servers
from tests.harness.web_clients import Widget

CLAUDIA = "10000025 44137 21.06.1983"
AYSE = "10000001 47051 12.04.1980"
INSTALMENTS = "10000013 44139 17.01.1962"
NUMBER = "0800 7788 112"
REFERENCE = re.compile(r"SM-\d{8}")
GAS = {"de": "Moment mal, im Keller riecht es total nach Gas!", "tr": "Bodrumda gaz kokusu var!"}
INSTRUCTIONS = {"de": "Gasgeruch ist ein Notfall", "tr": "Gaz kokusu acil bir durumdur"}

# (name, language, messages that lead into the state, the active form then (None: none))
SCENARIOS = [
    ("start", "de", [], None),
    ("identity check", "de", ["Wie hoch ist meine Rechnung?"], "identity_form"),
    ("identity check", "tr", ["faturam ne kadar?"], "identity_form"),
    ("advance payment", "de", ["Ich möchte meinen Abschlag ändern", AYSE], "advance_payment_form"),
    ("meter reading", "de", ["Zählerstand melden", CLAUDIA], "meter_reading_form"),
    ("meter reading", "tr", ["sayaç okumamı bildirmek istiyorum", CLAUDIA], "meter_reading_form"),
    ("bank details", "de", ["Neue IBAN", CLAUDIA], "bank_details_form"),
    ("moving house", "de", ["Ich ziehe um", CLAUDIA], "move_house_form"),
    ("instalments", "de", ["Kann ich in Raten zahlen?", INSTALMENTS], "payment_arrangement_form"),
    ("instalments", "tr", ["Taksit yapabilir miyiz?", INSTALMENTS], "payment_arrangement_form"),
    ("fault report", "de", ["Bei uns ist der Strom weg"], "outage_form"),
    ("complaint", "tr", ["şikayetim var"], "complaint_form"),
    (
        "appointment",
        "de",
        ["Ich brauche einen Termin für eine Energieberatung"],
        "appointment_form",
    ),
    ("appointment", "tr", ["randevumu iptal etmek istiyorum"], "appointment_form"),
    ("tariff offer", "de", ["Was kostet Ökostrom?"], None),
    ("tariff offer", "tr", ["tarifeleriniz neler"], None),
]


def fault_cases(database_url: str, conversation_id: str) -> list[ServiceCase]:
    with session_scope(database_url) as session:
        rows = list(
            session.scalars(
                select(ServiceCase).where(
                    ServiceCase.conversation_id == conversation_id, ServiceCase.kind == "fault"
                )
            )
        )
        session.expunge_all()
        return rows


def emergency_payload(replies: list[dict]) -> dict | None:
    for reply in replies:
        if isinstance(reply.get("custom"), dict) and "emergency" in reply["custom"]:
            return reply["custom"]["emergency"]
    return None


def assert_emergency_answer(replies: list[dict], language: str) -> None:
    texts = [reply.get("text") for reply in replies if reply.get("text")]
    assert texts[0].startswith(INSTRUCTIONS[language]), texts
    assert NUMBER in texts[0] and "112" in texts[0]
    assert emergency_payload(replies) == {
        "kind": "gas_smell",
        "dial": "+498007788112",
        "number": NUMBER,
    }
    assert REFERENCE.search(texts[-1]), texts


@pytest.mark.parametrize(("state", "language", "lead_in", "form"), SCENARIOS)
def test_gas_smell_comes_first_in_every_state(servers: Servers, state, language, lead_in, form):
    chat = Chat(servers, metadata={"language": language})
    for text in lead_in:
        chat.say(text)
    assert (chat.tracker().get("active_loop") or {}).get("name") == form, state

    replies = chat.say(GAS[language])

    assert_emergency_answer(replies, language)
    tracker = chat.tracker()
    assert not (tracker.get("active_loop") or {}).get("name")
    assert tracker["slots"].get("requested_slot") is None
    assert tracker["slots"].get("bank_iban") is None
    (case,) = fault_cases(servers.database_url, chat.sender)
    assert case.priority and case.status == "open"
    assert case.data["hazard"] == "gas_smell" and case.language == language
    assert GAS[language] == case.data["description"]
    # the conversation goes on normally afterwards
    assert chat.say("danke" if language == "de" else "teşekkürler")


def test_gas_smell_is_answered_while_a_person_has_the_conversation(servers: Servers):
    chat = Chat(servers)
    replies = chat.say("Ich möchte mit einem Mitarbeiter sprechen")
    assert handoff_payload(replies) is not None
    assert chat.tracker()["paused"] is True
    assert chat.say("Hallo? Ist da jemand?") == []  # the bot keeps out of the person's chat

    replies = chat.say("es stinkt hier nach gas")

    assert_emergency_answer(replies, "de")
    assert chat.tracker()["paused"] is True  # still with the person
    assert chat.say("Hallo?") == []


def test_a_resent_gas_message_records_one_case(servers: Servers):
    chat = Chat(servers)
    chat.say("Ich rieche Gas im Treppenhaus")
    chat.say("Ich rieche Gas im Treppenhaus")
    assert len(fault_cases(servers.database_url, chat.sender)) == 2  # two messages, two reports


@pytest.mark.parametrize(
    ("language", "said"),
    [("de", "Es riecht nach Gas im Haus"), ("tr", "evde doğalgaz kokuyor")],
)
def test_phone_caller_in_the_language_menu_is_put_through(servers: Servers, language, said):
    call = new_call(servers)
    call.start()
    answer = call.say(said)  # in the language menu, before choosing a language
    dial = answer.root.find("Dial")
    assert dial is not None and dial.find("Number").text == "+498007788112"
    assert INSTRUCTIONS[language] in answer.spoken
    assert "0 8 0 0 7 7 8 8 1 1 2" in answer.spoken  # the number digit by digit
    assert answer.root[-1].tag == "Hangup"


def test_phone_caller_in_the_middle_of_a_form_is_put_through(servers: Servers):
    call = new_call(servers)
    call.start()
    call.press("1")
    call.say("Ich möchte meinen Zählerstand melden")
    answer = call.say("Moment, hier riecht es nach Gas")
    assert answer.root.find("Dial/Number").text == "+498007788112"
    assert "Gasgeruch ist ein Notfall" in answer.spoken


@pytest.mark.asyncio
async def test_web_chat_with_a_person_still_gets_the_emergency_answer(web: Servers):
    console = logged_in(web)
    async with Widget(web.app_url) as widget:
        await widget.say("Ich möchte bitte mit einem Mitarbeiter sprechen")
        case_id = stored_chat(web, widget).case_id
        assert console.post(f"/agent/api/cases/{case_id}/claim").status_code == 200
        await widget.next("state")

        replies = await widget.say("Ich rieche Gas in der Küche")

        texts = [frame["text"] for frame in replies]
        assert texts and texts[0].startswith(INSTRUCTIONS["de"]), texts
        assert NUMBER in texts[0]
        assert stored_chat(web, widget).state == "agent"  # the person keeps the chat
        transcript = console.get(f"/agent/api/cases/{case_id}").json()["transcript"]
        assert any(INSTRUCTIONS["de"] in line["text"] for line in transcript)
