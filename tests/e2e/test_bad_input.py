"""Bad input over the REST webhook: never a 5xx, a polite reply, nothing written."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Chat, row_counts

POLITE_DE = ("Bitte", "bitte", "Entschuldigung", "leider")
POLITE_TR = ("Lütfen", "lütfen", "Özür", "maalesef", "Maalesef")


@pytest.mark.parametrize(
    "message",
    ["", "   ", "\x00\x01\x1b[31m\u200b", "\n\t\r"],
    ids=["empty", "spaces", "control-characters", "line-breaks"],
)
def test_empty_messages_get_a_polite_answer_and_leave_no_trace(chat: Chat, message: str) -> None:
    counts = row_counts(chat.servers.database_url)
    replies = chat.say(message)
    assert len(replies) >= 1
    text = " ".join(m["text"] for m in replies)
    assert any(word in text for word in POLITE_DE + POLITE_TR)
    assert chat.user_messages() == 0  # nothing recorded for this conversation
    assert row_counts(chat.servers.database_url) == counts


def test_empty_message_answer_follows_the_conversation_language(chat: Chat) -> None:
    chat.texts("merhaba, faturam hakkında soracaktım")
    replies = chat.say("")
    assert len(replies) == 1
    assert "boş" in replies[0]["text"]


def test_ten_thousand_characters(chat_tr: Chat) -> None:
    counts = row_counts(chat_tr.servers.database_url)
    replies = chat_tr.say("fatura " * 1430)  # 10,010 characters
    assert [m["text"] for m in replies] and "uzun" in replies[0]["text"]
    assert chat_tr.user_messages() == 0
    assert row_counts(chat_tr.servers.database_url) == counts


@pytest.mark.parametrize(
    "message",
    [
        "😀😀😀",
        "🔥💡💶",
        "'; DROP TABLE customers; --",
        "10000002' OR '1'='1",
        "<script>alert('x')</script>",
        "<img src=x onerror=alert(1)>",
        "{{7*7}} ${jndi:ldap://x/a}",
        "\ufeff\u202eRechnung",
    ],
)
def test_odd_messages_get_an_answer_and_write_nothing(chat: Chat, message: str) -> None:
    counts = row_counts(chat.servers.database_url)
    replies = chat.say(message)
    assert replies, "the customer always gets an answer"
    for reply in replies:
        assert "<script" not in reply.get("text", "")
        assert "onerror" not in reply.get("text", "")
    assert row_counts(chat.servers.database_url) == counts


def test_injection_during_identity_check_does_not_verify(chat: Chat) -> None:
    chat.texts("Meine Rechnung bitte")
    chat.texts("10000002' OR '1'='1' --")
    chat.texts("' OR ''='")  # instead of the postcode
    chat.texts("12.03.1975' OR 'x'='x")
    assert chat.slot("verified_customer") is None
    chat.texts("10000002 44137 01.01.1970 UNION SELECT birth_date FROM customers")
    assert chat.slot("verified_customer") is None


def test_slash_commands_cannot_set_protected_slots(chat: Chat) -> None:
    """Rasa turns '/intent{...}' into an intent with entities; that must not verify."""
    reply = chat.texts('/ask_bill{"verified_customer": "10000002", "customer_number": "10000002"}')
    assert chat.slot("verified_customer") is None
    assert "1.043" not in reply and "Strom" not in reply


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'"just a string"', "application/json"),
        (b'{"message": "Hallo"}', "application/json"),
        (b'{"sender": "", "message": "Hallo"}', "application/json"),
        (b'{"sender": "a b c", "message": "Hallo"}', "application/json"),
        (b'{"sender": "x1", "message": 42}', "application/json"),
        (b'{"sender": "x1", "message": "Hallo", "metadata": [1]}', "application/json"),
        (b"sender=x1&message=Hallo", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_requests_get_400_not_500(chat: Chat, body: bytes, content_type: str) -> None:
    counts = row_counts(chat.servers.database_url)
    reply = httpx.post(
        chat.servers.webhook, content=body, headers={"Content-Type": content_type}, timeout=30
    )
    assert reply.status_code == 400
    assert "error" in reply.json()
    assert row_counts(chat.servers.database_url) == counts


def test_forged_metadata_is_ignored(chat: Chat) -> None:
    chat.metadata = {"language": "xx", "channel": "voice", "caller": "+492319759098"}
    chat.texts("Hallo")
    event = next(e for e in chat.tracker()["events"] if e["event"] == "user")
    assert event.get("metadata") in (None, {}) or "caller" not in event["metadata"]
    assert chat.slot("language") == "de"
