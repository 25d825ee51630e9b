"""Reconnection after a supply block against the real servers: REST, web chat with a receipt, phone.

Demo customers: Sabine Wagner (10000027, blocked since 25.11.2026, 130.00 €
overdue), Kemal Arslan (10000026, block only announced), Ayşe Yılmaz
(10000001, no block). Each conversation is checked in the database: the
priority service case with its data, the priority handoff case it names, the
audit entries, the receipt stored with the case; and for customers without a
block, that nothing at all was stored.
"""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest
from sqlalchemy import select

from bot.domain.models import AuditEntry, HandoffCase, ServiceCase
from bot.domain.references import spoken
from bot.infra.db import session_scope
from tests.e2e.conftest import Chat, handoff_payload, joined, row_counts
from tests.e2e.test_voice import new_call
from tests.e2e.test_web_chat import stored_chat
from tests.harness.servers import Servers
from tests.harness.web_clients import Console, Widget

SABINE = "10000027 45127 30.10.1990"
AYSE = "10000001 47051 12.04.1980"
KEMAL = "10000026 47053 09.02.1977"
REFERENCE = re.compile(r"EN-\d{8}")
# the smallest PNG there is: one white pixel
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4b80000000049454e44ae426082"
)


def cases_of(database_url: str, conversation_id: str) -> list[ServiceCase]:
    with session_scope(database_url) as session:
        rows = list(
            session.scalars(
                select(ServiceCase).where(ServiceCase.conversation_id == conversation_id)
            ).all()
        )
        for row in rows:
            _ = [a.size for a in row.attachments]  # load before the session closes
        session.expunge_all()
        return rows


def handoff_case(database_url: str, case_id: str) -> HandoffCase:
    with session_scope(database_url) as session:
        case = session.scalars(select(HandoffCase).where(HandoffCase.case_id == case_id)).one()
        session.expunge(case)
        return case


def audit_of(database_url: str, action: str, service_case: int) -> list[AuditEntry]:
    with session_scope(database_url) as session:
        rows = [
            row
            for row in session.scalars(select(AuditEntry).where(AuditEntry.action == action))
            if row.detail.get("service_case") == service_case
        ]
        session.expunge_all()
        return rows


async def upload(
    app_url: str,
    token: str | None,
    content: bytes,
    content_type: str = "image/png",
    **params: str,
) -> httpx.Response:
    """A file sent as the widget sends it: the body, the chat's token as a bearer token."""
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=60) as client:
        return await client.post(
            f"{app_url}/chat/receipt", params=params, content=content, headers=headers
        )


# What a request stores (the identity check keeps its own counters, the web chat its messages).
NOT_RECORDS = {"identity_guards", "chat_sessions", "chat_messages"}


def stored_records_before(counts: dict[str, int]) -> dict[str, int]:
    return {table: n for table, n in counts.items() if table not in NOT_RECORDS}


def stored_records(database_url: str) -> dict[str, int]:
    return stored_records_before(row_counts(database_url))


def conversation_of_widget(web: Servers, widget: Widget) -> str:
    return stored_chat(web, widget).conversation_id


def check_priority_case(database_url: str, conversation_id: str, channel: str) -> ServiceCase:
    """The one reconnection case of the conversation, its handoff case and its audit entry."""
    [case] = cases_of(database_url, conversation_id)
    assert (case.kind, case.priority, case.status, case.channel) == (
        "reconnection",
        True,
        "open",
        channel,
    )
    assert case.data["open_balance"] == "130.00" and case.data["channel"] == channel
    assert [c["contract_number"] for c in case.data["contracts"]] == ["30000041"]
    handoff = handoff_case(database_url, case.handoff_case_id)
    assert (handoff.reason, handoff.priority, handoff.customer_number) == (
        "reconnection",
        True,
        "10000027",
    )
    assert handoff.conversation_id == conversation_id
    [audit] = audit_of(database_url, "reconnection_requested", case.id)
    assert audit.detail["channel"] == channel and audit.agent_id is None
    return case


# --- REST ---------------------------------------------------------------------------------------


def test_german_rest_conversation_opens_a_priority_case(chat: Chat) -> None:
    reply = chat.texts("Strom wurde abgestellt, hab jetzt bezahlt")
    assert "Kundennummer" in reply
    replies = chat.say(SABINE)
    text = joined(replies)
    assert "seit 25.11.2026 gesperrt" in text and "130,00 €" in text
    assert "Zahlungsnachweis" in text and "Überweisungsbestätigung" in text
    assert "Vorrang" in text and "Gebühr" in text and "Werktag" in text
    assert "E-Mail" in text  # REST cannot take a file
    reference = REFERENCE.search(text)
    assert reference is not None
    payload = handoff_payload(replies)
    assert payload is not None and payload["reason"] == "reconnection"

    case = check_priority_case(chat.servers.database_url, chat.sender, "rest")
    assert case.reference == reference.group(0)
    assert case.handoff_case_id == payload["case_id"]
    assert case.data["receipt_received"] is False


def test_turkish_customer_without_a_block_is_told_so_and_nothing_is_stored(chat_tr: Chat) -> None:
    before = row_counts(chat_tr.servers.database_url)
    assert "müşteri numaranız" in chat_tr.texts("ödedim elektriği açın")
    replies = chat_tr.say(AYSE)
    text = joined(replies)
    assert "kesilmiş değil" in text and "arıza servisimize" in text
    assert handoff_payload(replies) is None
    assert stored_records(chat_tr.servers.database_url) == stored_records_before(before)


# --- web chat -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_turkish_web_chat_case_and_receipt_stored_with_it(web: Servers) -> None:
    async with Widget(web.app_url, language="tr") as widget:
        asked = await widget.texts("doğalgazım kesildi ödeme yaptım")
        assert "müşteri numaranız" in asked
        answered = await widget.say(SABINE)
        texts = " ".join(m["text"] for m in answered).replace("\xa0", " ")
        assert "€130,00" in texts and "öncelikli" in texts and "25.11.2026" in texts
        # the last message asks for the receipt: the widget shows its file button
        assert answered[-1]["expects"] == {"kind": "file"}
        assert "5 MB" in answered[-1]["text"]
        assert all(m["expects"] is None for m in answered[:-1])
        assert {"type": "state", "state": "waiting", "agent_name": None} in widget.frames

        conversation = conversation_of_widget(web, widget)
        case = check_priority_case(web.database_url, conversation, "web")
        assert case.reference in answered[-1]["text"]

        uploaded = await upload(
            web.app_url, widget.token, PNG, filename="dekont kasım.png", language="tr"
        )
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["status"] == "stored"
        confirmed = await widget.next("message")
        assert confirmed["from"] == "bot" and "dekont kasım.png" in confirmed["text"]
        assert case.reference in confirmed["text"] and "eklendi" in confirmed["text"]
        assert confirmed["expects"] == {"kind": "file"}  # another page may follow

    [case] = cases_of(web.database_url, conversation)
    [attachment] = case.attachments
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "dekont kasım.png",
        "image/png",
        len(PNG),
    )
    assert attachment.sha256 == hashlib.sha256(PNG).hexdigest()
    assert case.data["receipt_received"] is True and case.data["receipts"] == 1
    [audit] = audit_of(web.database_url, "receipt_uploaded", case.id)
    assert audit.case_id == case.handoff_case_id and audit.detail["channel"] == "web"

    # The agent of the case sees the file in the case view and downloads it.
    console = Console(web.app_url)
    assert console.get(f"/agent/api/cases/{case.handoff_case_id}").status_code == 401
    assert console.login("aylin", "demo-aylin-2026").status_code == 303
    detail = console.get(f"/agent/api/cases/{case.handoff_case_id}").json()
    assert detail["priority"] is True and detail["reason"] == "reconnection"
    [listed] = detail["attachments"]
    assert listed["filename"] == "dekont kasım.png" and listed["reference"] == case.reference
    download = console.get(f"/agent/api/cases/{case.handoff_case_id}/attachments/{listed['id']}")
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert audit_of(web.database_url, "attachment_downloaded", case.id)


@pytest.mark.asyncio
async def test_german_web_chat_announced_block_stores_nothing(web: Servers) -> None:
    before = row_counts(web.database_url)
    async with Widget(web.app_url) as widget:
        await widget.say("Sperre aufheben bitte, ich hab bezahlt")
        answered = await widget.say(KEMAL)
        text = " ".join(m["text"] for m in answered).replace("\xa0", " ")
        assert "angekündigt, aber noch nicht durchgeführt" in text and "340,40 €" in text
        assert all(m["expects"] is None for m in answered)
        conversation = conversation_of_widget(web, widget)
        refused = await upload(web.app_url, widget.token, PNG)
        assert refused.status_code == 404
        assert "keinen offenen Antrag" in refused.json()["text"]
    assert cases_of(web.database_url, conversation) == []
    assert stored_records(web.database_url) == stored_records_before(before)


# --- phone ----------------------------------------------------------------------------------


def test_german_phone_call_reference_digit_by_digit_and_a_person(servers: Servers) -> None:
    call = new_call(servers, caller="+4915100000271")
    call.start()
    call.press("1")
    answer = call.say("Strom wurde abgestellt, hab jetzt bezahlt")
    assert "Kundennummer" in answer.spoken
    call.press("10000027#")
    call.press("45127#")
    answer = call.press("30101990#")
    [case] = cases_of(servers.database_url, call.call_sid)
    assert spoken(case.reference) in answer.spoken  # "E N, 4 8, 2 1, ..."
    assert "130 Euro" in answer.spoken and "25. November 2026" in answer.spoken
    assert "E-Mail" in answer.spoken  # the phone cannot take a file
    # The test servers' hotline is always staffed: the call goes to the agents' queue.
    assert answer.transfer is not None and answer.transfer.tag == "Enqueue"
    check_priority_case(servers.database_url, call.call_sid, "voice")
