"""General questions against the real model: the intent classifier's topic ranking finds
the topic, also for phrasings it was not trained on; unsure, it offers the two closest topics."""

from __future__ import annotations

import httpx
import pytest

from actions.faq import LEAD, SURE
from tests.e2e.conftest import Chat, joined
from tests.e2e.test_voice import new_call
from tests.harness.servers import TOKEN, Servers


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


#: Questions naming two topics; the model is unsure of at least one (which one
#: depends on the training run, so the tests ask the model first).
TWO_TOPICS = [
    "Preise und Kündigung",
    "Kündigung und Zahlungsarten",
    "Kündigen und Preise",
    "Kündigung oder Zahlung",
    "Kundenportal und Zahlungsarten",
    "Öffnungszeiten und Zahlungsarten",
]


def unsure_question(servers: Servers) -> tuple[str, str]:
    """A two-topic question the model is unsure about, and its likeliest topic."""
    for text in TWO_TOPICS:
        parsed = httpx.post(
            f"{servers.api}/model/parse", params={"token": TOKEN}, json={"text": text}, timeout=30
        ).json()
        ranking = (parsed.get("response_selector") or {}).get("faq", {}).get("ranking") or []
        if parsed["intent"]["name"] != "faq" or len(ranking) < 2:
            continue
        best, second = ranking[0]["confidence"], ranking[1]["confidence"]
        if best < SURE or best - second < LEAD:
            return text, ranking[0]["intent_response_key"].split("/", 1)[1]
    raise AssertionError(f"the model is sure of every one of {TWO_TOPICS}")


def test_an_unsure_question_offers_two_topics_and_a_choice_answers(servers: Servers):
    text, likeliest = unsure_question(servers)
    chat = Chat(servers)
    replies = chat.say(text)
    assert "Ich bin nicht sicher" in joined(replies)
    buttons = replies[-1]["buttons"]
    assert len(buttons) == 3 and buttons[0]["payload"] == f'/faq{{"faq_topic": "{likeliest}"}}'
    answer = chat.texts(buttons[0]["payload"])
    assert answer and "nicht sicher" not in answer and "sonst noch" not in answer


def test_phone_caller_chooses_a_topic_with_the_keypad(servers: Servers):
    text, _ = unsure_question(servers)
    call = new_call(servers)
    call.start()
    call.press("1")
    answer = call.say(text)
    assert "die 1 für" in answer.spoken and "die 2 für" in answer.spoken
    chosen = call.press("1").spoken
    assert chosen and "die 1 für" not in chosen
