"""Receipts: a customer uploads a proof of payment in the web chat; agents download it.

`POST /chat/receipt?filename=<name>&language=<de|tr>` with the chat's token
as `Authorization: Bearer <token>` (the token the widget keeps and sends in
its `hello`) and the file itself as the body. The file goes to the open
reconnection case of that chat's conversation, and only there: nothing in
the request can name another case. Refused, politely in the customer's
language and with nothing stored: no or an unknown token (401), no open
case (404), too many files for the case (409), a body larger than
RECEIPT_MAX_BYTES (413, from `Content-Length` before anything is read, or
once the body read so far passes the limit), anything but JPEG, PNG or PDF
by its first bytes (415), too many uploads at once (429). A stored file is
confirmed by a bot message in the chat. No cookie is involved, so any page
that embeds the widget may send (CORS `*`).

`GET /agent/api/cases/{case_id}/attachments/{attachment_id}` gives a logged-in
agent a file of the case's service cases, as a download; each download is
audited. The case view lists them (`attachments` in the case detail).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from bot.domain import uploads
from bot.domain.errors import NotFound
from bot.domain.languages import or_default
from bot.domain.services import chat as chats
from bot.domain.services import reconnection
from bot.domain.services.agents import ConsoleSession
from bot.web.context import WebContext
from bot.web.security import require_agent

logger = logging.getLogger(__name__)
router = APIRouter()
LoggedInAgent = Annotated[ConsoleSession, Depends(require_agent)]

UPLOAD_PATH = "/chat/receipt"
# Bearer tokens, not cookies: any page embedding the widget may send and read the answer.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}
REFUSALS = {
    "no_chat": (401, "utter_receipt_no_chat"),
    "no_case": (404, "utter_receipt_no_case"),
    "too_many": (409, "utter_receipt_too_many"),
    "too_large": (413, "utter_receipt_too_large"),
    "wrong_type": (415, "utter_receipt_wrong_type"),
    "rate_limited": (429, "utter_input_rate_limited"),
}


def _web(request: Request) -> WebContext:
    return request.app.state.web


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    return int(raw) if raw is not None and raw.isdigit() else None


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The body, read as it arrives; None as soon as it passes `limit` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _refused(web: WebContext, code: str, language: str, **values: object) -> JSONResponse:
    status, response = REFUSALS[code]
    text = web.text(response, language, **values)
    return JSONResponse({"status": "refused", "code": code, "text": text}, status, headers=CORS)


@router.options(UPLOAD_PATH, include_in_schema=False)
async def upload_preflight() -> Response:
    return Response(status_code=204, headers=CORS)


@router.post(UPLOAD_PATH)
async def upload_receipt(request: Request) -> JSONResponse:
    web = _web(request)
    settings = web.settings
    language = or_default(request.query_params.get("language"))
    token = _bearer(request)
    idle = dt.timedelta(hours=settings.chat_idle_hours)
    chat = await web.db(lambda s: chats.resume(s, token, idle)) if token else None
    if chat is None:
        return _refused(web, "no_chat", language)
    language = chat.language
    max_size = uploads.size_label(settings.receipt_max_bytes, language)
    declared = _declared_length(request)
    if declared is not None and declared > settings.receipt_max_bytes:
        logger.info("receipt refused: too large conversation=%s", chat.conversation_id)
        return _refused(web, "too_large", language, max_size=max_size)
    case = await web.db(lambda s: reconnection.open_case_of(s, chat.conversation_id))
    if case is None:
        logger.info("receipt refused: no open case conversation=%s", chat.conversation_id)
        return _refused(web, "no_case", language)
    if not await web.limiter.allow(f"receipt:{chat.id}"):
        return _refused(web, "rate_limited", language)
    content = await _body_within(request, settings.receipt_max_bytes)
    if content is None:
        logger.info("receipt refused: too large conversation=%s", chat.conversation_id)
        return _refused(web, "too_large", language, max_size=max_size)
    kind = uploads.sniff(content)
    if kind is None:
        logger.info("receipt refused: not an image or PDF conversation=%s", chat.conversation_id)
        return _refused(web, "wrong_type", language)
    filename = uploads.safe_filename(request.query_params.get("filename"), kind)
    try:
        stored = await web.db(
            lambda s: reconnection.attach_receipt(
                s,
                conversation_id=chat.conversation_id,
                filename=filename,
                kind=kind,
                content=content,
            )
        )
    except reconnection.NoOpenCase:
        return _refused(web, "no_case", language)
    except reconnection.TooManyReceipts:
        return _refused(
            web, "too_many", language, reference=case.reference, count=reconnection.MAX_RECEIPTS
        )
    logger.info(
        "receipt %s type=%s size=%d conversation=%s",
        "stored" if stored.created else "already stored",
        kind.content_type,
        stored.size,
        chat.conversation_id,
    )
    response = "utter_receipt_stored" if stored.created else "utter_receipt_already_stored"
    text = web.text(response, language, filename=stored.filename, reference=stored.reference)
    # The confirmation asks for another file while the case takes more.
    await web.say(chat, "bot", text, expects={"kind": "file"} if stored.more_allowed else None)
    return JSONResponse(
        {
            "status": "stored" if stored.created else "already_stored",
            "text": text,
            "reference": stored.reference,
            "filename": stored.filename,
        },
        201 if stored.created else 200,
        headers=CORS,
    )


def _disposition(filename: str) -> str:
    """`attachment` with the name for every browser (RFC 6266: ASCII and UTF-8)."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


@router.get("/agent/api/cases/{case_id}/attachments/{attachment_id}")
async def download_attachment(
    case_id: str, attachment_id: int, request: Request, console: LoggedInAgent
) -> Response:
    web = _web(request)
    agent_id = console.agent.id
    try:
        info, content = await web.db(
            lambda s: reconnection.download(s, case_id, attachment_id, agent_id)
        )
    except NotFound:
        raise HTTPException(status_code=404, detail="no such file") from None
    logger.info("attachment downloaded case=%s attachment=%s agent=%s", case_id, info.id, agent_id)
    return Response(
        content,
        media_type=info.content_type,
        headers={"Content-Disposition": _disposition(info.filename)},
    )
