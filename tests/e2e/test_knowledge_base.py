"""General questions against the real model: the response selector finds the topic, also
for phrasings it was not trained on; unsure, it offers the two closest topics."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Chat, joined
from tests.e2e.test_voice import new_call
from tests.harness.servers import Servers


@pytest.mark.parametrize(
    ("text", "language", "fragment"),
    [
        ("Wann haben Sie geöffnet?", "de", "Hotline ist täglich rund um die Uhr"),  # the test hours
        ("Saat kaçta açıksınız?", "tr", "müşteri merkezimiz pazartesiden cumaya"),
        ("Wo ist euer Kundenzentrum?", "de", "Königstraße 12"),
        ("Ödeme yöntemleri neler?", "tr", "havale"),
        ("Wie kann ich Strom sparen?", "de", "Stand-by"),
        ("Gibt es Zuschüsse für eine Wärmepumpe?", "de", "bis 500 €"),
        ("Passwort fürs Kundenportal vergessen", "de", "Passwort vergessen"),
        ("Kündigungsfrist ne kadar?", "tr", "iki hafta"),
        ("Was sind eigentlich Netzentgelte?", "de", "Netzentgelte für den Netzbetreiber"),
        ("Wie ist die Nummer vom Störungsdienst?", "de", "0800 7788 112"),
    ],
)
def test_questions_get_the_answer_of_their_topic(servers: Servers, text, language, fragment):
    reply = Chat(servers, metadata={"language": language}).texts(text)
    assert fragment in reply


def test_an_unsure_question_offers_two_topics_and_a_choice_answers(servers: Servers):
    chat = Chat(servers)
    # two topics in one question: cancelling, and what a price is made of
    replies = chat.say("Kündigen und Preise")
    assert "Ich bin nicht sicher" in joined(replies)
    buttons = replies[-1]["buttons"]
    assert len(buttons) == 3 and buttons[0]["title"] == "Kündigung"
    assert "Sonderkündigungsrecht" in chat.texts(buttons[0]["payload"])


def test_phone_caller_chooses_a_topic_with_the_keypad(servers: Servers):
    call = new_call(servers)
    call.start()
    call.press("1")
    answer = call.say("Kündigen und Preise")
    assert "die 1 für Kündigung" in answer.spoken
    assert "Sonderkündigungsrecht" in call.press("1").spoken
