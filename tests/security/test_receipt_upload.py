"""Attacks on the receipt upload of the web chat (bot/web/receipts.py) and its download.

A file goes to the open reconnection case of the chat whose token came with
it, and nowhere else. Every refusal is polite, in the chat's language, and
stores nothing: no attachment, no change to the case, no audit entry. The
agents' download needs a console login and gives only the files of the case
named in its path.
"""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from bot.domain.models import AuditEntry, CaseAttachment, ServiceCase
from bot.domain.services import handoff, reconnection
from bot.infra.db import session_scope
from tests.e2e.test_reconnection import PNG, upload
from tests.harness.servers import Servers
from tests.harness.web_clients import Console, Widget
from tests.security.test_commands_in_chat import conversation_of

pytestmark = pytest.mark.asyncio

LIMIT = 5 * 1024 * 1024  # RECEIPT_MAX_BYTES of the test servers (the default)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# what the refusals say, by language
SAYS = {
    "no_chat": {"de": "keinem Chat zugeordnet", "tr": "hiçbir sohbetle eşleştirilemedi"},
    "no_case": {"de": "keinen offenen Antrag", "tr": "açık bir kesinti kaldırma"},
    "wrong_type": {"de": "JPEG oder PNG", "tr": "JPEG veya PNG"},
    "too_large": {"de": "zu groß", "tr": "çok büyük"},
    "too_many": {
        "de": "mehr kann ich hier nicht annehmen",
        "tr": "daha fazlasını kabul edemiyorum",
    },
}


async def chat_with_case(web: Servers, language: str) -> tuple[str, str, str]:
    """A web chat (its token, conversation) with an open reconnection case (its reference).

    The case is opened the way the bot opens it (the service, for Sabine
    Wagner, who is blocked), with its handoff case; what is attacked here is
    the upload, not the conversation before it.
    """
    async with Widget(web.app_url, language=language) as widget:
        token = widget.token
    conversation = conversation_of(web, widget)
    with session_scope(web.database_url) as session:
        case = reconnection.open_case(
            session,
            customer_number="10000027",
            language=language,
            channel="web",
            conversation_id=conversation,
            request_id=uuid.uuid4().hex,
        )
        opened = handoff.open_case(
            session,
            conversation_id=conversation,
            reason="reconnection",
            language=language,
            channel="web",
            customer_number="10000027",
            transcript=[],
            priority=True,
        )
        session.get(ServiceCase, case.id).handoff_case_id = opened.case_id
    assert token
    return token, conversation, case.reference


def stored(web: Servers) -> dict[str, object]:
    """Everything an upload could change: files, cases' data, audit entries."""
    with session_scope(web.database_url) as session:
        return {
            "files": session.scalar(select(func.count()).select_from(CaseAttachment)),
            "cases": sorted(
                (case.id, str(case.data)) for case in session.scalars(select(ServiceCase))
            ),
            "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
        }


def refused(answer: httpx.Response, status: int, code: str, language: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["status"] == "refused" and body["code"] == code
    assert SAYS[code][language] in body["text"]
    assert answer.headers["access-control-allow-origin"] == "*"


# --- who may send ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["de", "tr"])
async def test_without_a_token_nothing_is_stored(web: Servers, language: str) -> None:
    await chat_with_case(web, language)
    before = stored(web)
    answer = await upload(web.app_url, None, PNG, language=language)
    refused(answer, 401, "no_chat", language)
    for forged in ("Bearer", "Bearer " + "x" * 43, "Basic YWRtaW46YWRtaW4=", "x" * 43):
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.post(
                f"{web.app_url}/chat/receipt",
                params={"language": language},
                content=PNG,
                headers={"Authorization": forged},
            )
        refused(answer, 401, "no_chat", language)
    assert stored(web) == before


async def test_a_conversation_id_is_no_token(web: Servers) -> None:
    _, conversation, _ = await chat_with_case(web, "de")
    before = stored(web)
    refused(await upload(web.app_url, conversation, PNG), 401, "no_chat", "de")
    assert stored(web) == before


async def test_someone_elses_case_cannot_be_reached_from_another_chat(web: Servers) -> None:
    _, _, victims_reference = await chat_with_case(web, "de")
    async with Widget(web.app_url, language="tr") as attacker:
        token = attacker.token
    before = stored(web)
    # The attacker's own chat has no case; naming the victim's case changes nothing.
    answer = await upload(
        web.app_url, token, PNG, reference=victims_reference, case=victims_reference
    )
    refused(answer, 404, "no_case", "tr")
    assert stored(web) == before


async def test_an_ended_chats_token_opens_nothing(web: Servers) -> None:
    async with Widget(web.app_url) as widget:
        token = widget.token
        await widget.send(type="end")
        await widget.next("ended")
    before = stored(web)
    refused(await upload(web.app_url, token, PNG), 401, "no_chat", "de")
    assert stored(web) == before


# --- what may be sent --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "declared", "name"),
    [
        (b"<html><script>alert(document.cookie)</script></html>" + b" " * 64, "image/png", "x.png"),
        (b"MZ\x90\x00\x03" + b"\x00" * 200, "application/pdf", "beleg.pdf"),
        (b"GIF89a\x01\x00\x01\x00" + b"\x00" * 64, "image/gif", "beleg.gif"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>" + b" " * 64, "", "a.svg"),
        (b"", "image/png", "leer.png"),
    ],
)
@pytest.mark.parametrize("language", ["de", "tr"])
async def test_anything_but_an_image_or_pdf_is_refused_whatever_it_claims(
    web: Servers, content: bytes, declared: str, name: str, language: str
) -> None:
    token, _, _ = await chat_with_case(web, language)
    before = stored(web)
    answer = await upload(web.app_url, token, content, declared, filename=name)
    refused(answer, 415, "wrong_type", language)
    assert stored(web) == before


async def test_a_body_declared_too_large_is_refused_before_it_is_read(web: Servers) -> None:
    token, _, _ = await chat_with_case(web, "tr")
    before = stored(web)
    address = urlsplit(web.app_url)
    head = (
        f"POST /chat/receipt?filename=beleg.pdf HTTP/1.1\r\n"
        f"Host: {address.netloc}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: application/pdf\r\n"
        f"Content-Length: {50 * LIMIT}\r\n\r\n"
    ).encode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.sendall(head + PDF)  # 250 MB announced, a few bytes sent: the answer comes now
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = raw.recv(4096)
            assert chunk, "the server closed without answering"
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert b" 413 " in status_line, status_line
    assert stored(web) == before


async def test_a_body_that_grows_too_large_is_refused_once_it_passes_the_limit(
    web: Servers,
) -> None:
    token, _, _ = await chat_with_case(web, "de")
    before = stored(web)

    async def chunks():  # no Content-Length: sent chunked, one byte over the limit
        yield PDF
        left = LIMIT + 1 - len(PDF)
        while left > 0:
            size = min(left, 256 * 1024)
            yield b"\x00" * size
            left -= size

    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(
            f"{web.app_url}/chat/receipt",
            params={"filename": "riesig.pdf"},
            content=chunks(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/pdf"},
        )
    refused(answer, 413, "too_large", "de")
    assert "5 MB" in answer.json()["text"]
    assert stored(web) == before


async def test_a_case_takes_three_files_and_refuses_the_fourth(web: Servers) -> None:
    token, conversation, reference = await chat_with_case(web, "de")
    for number in range(reconnection.MAX_RECEIPTS):
        answer = await upload(
            web.app_url, token, PDF + b"%" + str(number).encode(), "application/pdf", filename="p"
        )
        assert answer.status_code == 201, answer.text
    before = stored(web)
    answer = await upload(web.app_url, token, PNG)
    refused(answer, 409, "too_many", "de")
    assert reference in answer.json()["text"]
    assert stored(web) == before


async def test_names_and_types_come_from_the_server_not_the_client(web: Servers) -> None:
    token, conversation, _ = await chat_with_case(web, "de")
    answer = await upload(
        web.app_url,
        token,
        PNG,
        "application/pdf",  # declared wrongly: the bytes say PNG
        filename="../../../etc/passwd\r\nX-Evil: 1.pdf",
    )
    assert answer.status_code == 201, answer.text
    with session_scope(web.database_url) as session:
        [file] = session.scalars(
            select(CaseAttachment)
            .join(ServiceCase)
            .where(ServiceCase.conversation_id == conversation)
        ).all()
        assert file.content_type == "image/png"
        assert file.filename == "passwd X-Evil 1.pdf.png"
        assert "/" not in file.filename and "\n" not in file.filename


# --- the agents' download ----------------------------------------------------------------------


async def test_the_download_needs_a_login_and_the_files_own_case(web: Servers) -> None:
    token, conversation, _ = await chat_with_case(web, "de")
    assert (await upload(web.app_url, token, PNG, filename="beleg.png")).status_code == 201
    await chat_with_case(web, "de")  # another customer's case, without files
    with session_scope(web.database_url) as session:
        case = session.scalars(
            select(ServiceCase).where(ServiceCase.conversation_id == conversation)
        ).one()
        file_id = case.attachments[0].id
        own_case = case.handoff_case_id
        other_case = session.scalars(
            select(ServiceCase.handoff_case_id)
            .where(ServiceCase.conversation_id != conversation)
            .order_by(ServiceCase.id.desc())
        ).first()
    path = f"/agent/api/cases/{own_case}/attachments/{file_id}"

    stranger = Console(web.app_url)
    assert stranger.get(path).status_code == 401

    agent = Console(web.app_url)
    assert agent.login("jonas", "demo-jonas-2026").status_code == 303
    assert agent.get(f"/agent/api/cases/{other_case}/attachments/{file_id}").status_code == 404
    assert agent.get(f"/agent/api/cases/{own_case}/attachments/{file_id + 999}").status_code == 404
    download = agent.get(path)
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"beleg.png\"; filename*=UTF-8''beleg.png"
    )
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in download.headers["content-security-policy"]
