"""Tariffs against the real servers: the price sheet for anyone, the personal estimate after
the identity check, and a switch that becomes a case, in chat and on the phone.

Thomas Müller (10000002) has electricity in "Strom Basis" and gas in "Gas
Komfort"; Ayşe Yılmaz (10000001) electricity in "Strom Basis".
"""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.domain.models import ServiceCase
from bot.infra.db import session_scope
from tests.e2e.conftest import Chat, joined, row_counts
from tests.e2e.test_voice import new_call
from tests.harness.servers import Servers

REFERENCE = re.compile(r"TW-\d{8}")


def switch_cases(database_url: str, conversation_id: str) -> list[ServiceCase]:
    with session_scope(database_url) as session:
        rows = list(
            session.scalars(
                select(ServiceCase).where(
                    ServiceCase.conversation_id == conversation_id,
                    ServiceCase.kind == "tariff_switch",
                )
            )
        )
        session.expunge_all()
        return rows


def buttons(replies: list[dict]) -> list[dict]:
    return [button for reply in replies for button in reply.get("buttons") or []]


def test_german_customer_compares_and_switches_in_chat(servers: Servers):
    chat = Chat(servers)
    replies = chat.say("Was kostet bei Ihnen Ökostrom?")
    text = joined(replies)
    assert "Strom Öko (Ökostrom): 32,90 Cent je kWh" in text and "Gas" not in text
    assert [b["title"] for b in buttons(replies)] == ["Ja, bitte ausrechnen", "Nein, danke"]
    assert "Kundennummer" in chat.texts("Ja")
    replies = chat.say("10000002 44137 12.03.1975")
    text = joined(replies)
    assert "Bei Ihrem Verbrauch von 3.286 kWh im Jahr zahlen Sie etwa 1.268,75" in text
    assert "Strom Fix 24: etwa 1.221,09 € im Jahr, 47,66 € weniger" in text
    assert "Gas" not in text  # only the commodity asked about
    choices = buttons(replies)
    assert [b["title"] for b in choices] == [
        "Zu Strom Fix 24 wechseln",
        "Zu Strom Öko wechseln",
        "Tarif behalten",
    ]
    reply = chat.texts(choices[1]["payload"])
    (case,) = switch_cases(servers.database_url, chat.sender)
    assert case.reference in reply and "„Strom Öko“" in reply and "12 Monaten" in reply
    assert (
        case.data["contract_number"] == "30000002" and case.data["to_tariff_code"] == "strom-oeko"
    )
    assert case.data["estimated_yearly_saving"] == "20.86"


def test_turkish_customer_keeps_the_tariff_and_nothing_is_stored(servers: Servers):
    chat = Chat(servers, metadata={"language": "tr"})
    before = row_counts(servers.database_url)
    replies = chat.say("Tarifelerinizi öğrenmek istiyorum")
    text = joined(replies)
    assert "Elektrik:" in text and "Gas Komfort" in text and "kWh başına" in text
    assert "Tabii" in chat.texts("/deny")
    assert switch_cases(servers.database_url, chat.sender) == []
    assert row_counts(servers.database_url)["service_cases"] == before["service_cases"]


def test_turkish_caller_hears_the_estimate_and_chooses_by_key(servers: Servers):
    call = new_call(servers)
    call.start()
    call.press("2")  # Türkçe
    answer = call.say("elektrik tarifeleri ne kadar")
    assert "kilovatsaat başına 31,50 sent" in answer.spoken and "15 avro 50 sent" in answer.spoken
    assert "•" not in answer.spoken
    answer = call.press("1")  # yes, work it out
    assert "müşteri numara" in answer.spoken.lower()
    call.press("10000001#")
    call.press("47051#")
    answer = call.press("12041980#")
    assert "Yıllık 3111 kilovatsaat" in answer.spoken and "avro" in answer.spoken
    assert "Strom Fix 24 tarifesine geç için 1" in answer.spoken
    answer = call.press("1")
    assert "T W" in answer.spoken  # the reference, spelled out
    (case,) = switch_cases(servers.database_url, call.call_sid)
    assert case.data["to_tariff"] == "Strom Fix 24" and case.channel == "voice"
