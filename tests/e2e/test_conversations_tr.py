"""Whole Turkish conversations over the REST webhook, checked in the database."""

from __future__ import annotations

from decimal import Decimal

from tests.e2e.conftest import Chat, changes_for, handoff_for, handoff_payload, joined


def test_language_is_detected_and_sticks(chat: Chat) -> None:
    reply = chat.texts("Merhaba, iyi günler")
    assert chat.slot("language") == "tr"
    assert "Merhaba" in reply or "Hoş geldiniz" in reply
    # A Turkish sentence with German utility words stays Turkish.
    chat.texts("Abschlag ne demek, Rechnung neden bu kadar yüksek geldi")
    assert chat.slot("language") == "tr"
    reply = chat.texts("Bitte auf Deutsch")
    assert chat.slot("language") == "de"
    chat.texts("Türkçe devam edelim lütfen")
    assert chat.slot("language") == "tr"


def test_channel_language_metadata_is_used(chat_tr: Chat) -> None:
    chat_tr.texts("hallo")
    assert chat_tr.slot("language") == "tr"
    assert "dijital asistan" in chat_tr.texts("sen robot musun")


def test_bill_question_with_turkish_birth_date(chat: Chat) -> None:
    reply = chat.texts("faturam hakkinda bir sorum var")
    assert "müşteri numaranız" in reply
    reply = chat.texts("müşteri numaram 10000001, posta kodu 47051, doğum tarihim 12 Nisan 1980")
    assert "1.043,27" in reply and "83,27" in reply
    assert "ek ödeme" in reply and "05.02.2025" in reply
    assert chat.slot("language") == "tr"


def test_advance_payment_change_in_turkish_is_stored(chat: Chat) -> None:
    # Ömer Doğan: one electricity contract, 56 € now, recommended 68 €.
    reply = chat.texts("Abschlag'ımı 70 avroya yükseltmek istiyorum")
    assert chat.slot("language") == "tr"
    chat.texts("10000006")
    chat.texts("44139")
    reply = chat.texts("14 Şubat 1992")
    # One contract only: no contract question; the amount named up front is kept.
    assert "70,00" in reply and "Doğru mu?" in reply
    reply = chat.texts("evet, doğru")
    assert "Tamamlandı" in reply
    changes = changes_for(chat.servers.database_url, "30000008")
    assert [(c.old_amount, c.new_amount) for c in changes] == [(Decimal("56.00"), Decimal("70.00"))]
    assert changes[0].conversation_id == chat.sender


def test_amount_out_of_range_is_explained(chat: Chat) -> None:
    chat.texts("aylık ödememi değiştirmek istiyorum")
    chat.texts("10000008 46045 01.12.1959")
    reply = chat.texts("1000 avro")
    assert chat.slot("ap_amount") is None
    assert "avro" in reply.lower() or "€" in reply
    reply = chat.texts("vazgeçtim, iptal")
    assert "değiştirmedim" in reply
    assert changes_for(chat.servers.database_url, "30000012") == []


def test_request_human_in_turkish(chat: Chat) -> None:
    chat.texts("selam")
    replies = chat.say("bir temsilciyle görüşmek istiyorum lütfen")
    payload = handoff_payload(replies)
    assert payload is not None
    assert payload["language"] == "tr" and payload["reason"] == "customer_request"
    text = joined(replies)
    assert payload["case_id"] in text and "çalışan" in text
    case = handoff_for(chat.servers.database_url, chat.sender)
    assert case is not None and case.language == "tr"
    assert [line["from"] for line in case.transcript][:2] == ["customer", "bot"]


def test_upset_customer_is_handed_off(chat: Chat) -> None:
    chat.texts("merhaba")
    # An angry customer is offered a person at once (issue 14), and taking the
    # offer hands over with the complaint recorded.
    offer = chat.texts("yeter artık, üç haftadır kimse bana cevap vermiyor, çok sinirliyim!")
    assert "bir çalışanımızla görüşmek ister misiniz" in offer
    replies = chat.say("evet")
    payload = handoff_payload(replies)
    assert payload is not None and payload["reason"] == "upset"
    assert "BS-" in joined(replies)
