"""Complaints against the real servers: the customer's words and a category stored as a
case, the answer time, and a person offered at once to an angry customer."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.domain.models import HandoffCase, ServiceCase
from bot.infra.db import session_scope
from tests.e2e.conftest import Chat, handoff_payload, joined
from tests.e2e.test_voice import new_call
from tests.harness.servers import Servers

REFERENCE = re.compile(r"BS-\d{8}")


def complaint_cases(database_url: str, conversation_id: str) -> list[ServiceCase]:
    with session_scope(database_url) as session:
        rows = list(
            session.scalars(
                select(ServiceCase)
                .where(
                    ServiceCase.conversation_id == conversation_id, ServiceCase.kind == "complaint"
                )
                .order_by(ServiceCase.id)
            )
        )
        for row in rows:
            _ = row.customer
        session.expunge_all()
        return rows


def buttons(replies: list[dict]) -> list[str]:
    return [button["title"] for reply in replies for button in reply.get("buttons") or []]


def test_calm_german_complaint_is_taken_down(servers: Servers):
    chat = Chat(servers)
    replies = chat.say("Ich möchte mich beschweren")
    assert "Beschwerde gern auf" in joined(replies)
    assert buttons(replies) == [
        "Rechnung",
        "Erreichbarkeit und Service",
        "Mitarbeitende",
        "Techniker oder Termin",
        "Website oder App",
        "Etwas anderes",
    ]
    assert "eigenen Worten" in chat.texts("Rechnung")
    words = (
        "Die Jahresabrechnung kam drei Wochen zu spät und auf meine Mail hat niemand geantwortet"
    )
    assert "E-Mail-Adresse" in chat.texts(words)
    assert "weder eine E-Mail-Adresse" in chat.texts("weiß nicht")
    reply = chat.texts("kunde@example.org")

    assert REFERENCE.search(reply) and "(Rechnung)" in reply and "5 Werktagen" in reply
    (case,) = complaint_cases(servers.database_url, chat.sender)
    assert case.reference in reply and not case.priority and case.status == "open"
    assert case.data == {
        "category": "billing",
        "text": words,
        "contact": "kunde@example.org",
        "angry": False,
        "anger": [],
    }


def test_angry_turkish_customer_is_offered_a_person_and_the_complaint_is_kept(servers: Servers):
    chat = Chat(servers, metadata={"language": "tr"})
    replies = chat.say("REZALET!!! KİMSE TELEFONLARIMA DÖNÜŞ YAPMADI")
    assert "bir çalışanımızla görüşmek ister misiniz" in joined(replies)
    assert buttons(replies) == ["Evet, bir kişiyle görüşmek istiyorum", "Hayır, lütfen kaydedin"]
    replies = chat.say("/affirm")

    reply = joined(replies)
    assert REFERENCE.search(reply)
    handoff = handoff_payload(replies)
    assert handoff is not None and handoff["reason"] == "upset"
    (case,) = complaint_cases(servers.database_url, chat.sender)
    assert case.priority and case.data["angry"] and set(case.data["anger"]) >= {"words", "caps"}
    assert "DÖNÜŞ YAPMADI" in case.data["text"]
    assert case.handoff_case_id == handoff["case_id"]
    with session_scope(servers.database_url) as session:
        person = session.scalars(
            select(HandoffCase).where(HandoffCase.case_id == handoff["case_id"])
        ).one()
        assert person.priority and person.reason == "upset"


def test_angry_customer_may_have_the_bot_take_it_and_a_second_complaint_counts(servers: Servers):
    chat = Chat(servers)
    assert "gleich mit einer Mitarbeiterin" in chat.texts(
        "Das ist eine Frechheit mit eurer Hotline!"
    )
    assert "eigenen Worten" in chat.texts("/deny")  # category from the words: service
    chat.say("Ich hänge jedes Mal eine halbe Stunde in der Warteschleife")
    reply = chat.texts("0231 7654321")
    assert "(Erreichbarkeit und Service)" in reply
    (case,) = complaint_cases(servers.database_url, chat.sender)
    assert case.data["angry"] and case.data["contact"] == "0231 7654321"

    # a second complaint in the same conversation: a person is offered at once
    assert "gleich mit einer Mitarbeiterin" in chat.texts(
        "Ich will mich noch über etwas beschweren"
    )


def test_verified_customer_is_not_asked_for_contact_and_anger_later_offers_a_person(
    servers: Servers,
):
    chat = Chat(servers)
    chat.say("Wie hoch ist meine Rechnung?")
    chat.say("10000001 47051 12.04.1980")
    chat.say("Ich habe eine Beschwerde")
    chat.say("Mitarbeitende")
    replies = chat.say("DER MITARBEITER AM TELEFON WAR EXTREM UNFREUNDLICH ZU MIR")
    reply = joined(replies)
    assert REFERENCE.search(reply) and "(Mitarbeitende)" in reply
    assert "mit einer Mitarbeiterin oder einem Mitarbeiter verbinden" in reply
    (case,) = complaint_cases(servers.database_url, chat.sender)
    assert case.customer.customer_number == "10000001" and case.data["contact"] is None
    assert case.data["anger"] == ["caps"]
    assert handoff_payload(chat.say("ja")) is not None


def test_cancelling_stores_nothing(servers: Servers):
    chat = Chat(servers)
    chat.say("Beschwerde einreichen")
    assert "keine Beschwerde aufgenommen" in chat.texts("abbrechen")
    assert complaint_cases(servers.database_url, chat.sender) == []


def test_phone_complaint_uses_the_callers_number(servers: Servers):
    call = new_call(servers, caller="+492319759098")
    call.start()
    call.press("2")
    answer = call.say("şikayetim var")
    assert "Fatura için 1" in answer.spoken
    call.press("1")
    answer = call.say("faturam iki kere çekildi ve kimse yardım etmedi")
    assert "B S" in answer.spoken and "iş günü" in answer.spoken
    (case,) = complaint_cases(servers.database_url, call.call_sid)
    assert case.data["contact"] == "+492319759098" and case.channel == "voice"
