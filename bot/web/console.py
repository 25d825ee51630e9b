"""The agent console: login, the queue, live takeover, dashboard (see docs/web-chat-protocol.md)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.services import agent_queue, agents, stats
from bot.services import chat as chats
from bot.services.agent_queue import CaseEnded, CaseTaken, NotYours
from bot.services.agents import ConsoleSession
from bot.services.errors import NotFound
from bot.settings import ROOT
from bot.text import clean_message
from bot.web.context import WebContext
from bot.web.rasa_client import BotUnavailable
from bot.web.security import (
    SESSION_COOKIE,
    clear_session_cookie,
    console_session,
    csrf_ok,
    login_csrf_ok,
    new_csrf_token,
    require_agent,
    require_agent_csrf,
    set_login_csrf_cookie,
    set_session_cookie,
)

logger = logging.getLogger(__name__)
router = APIRouter()
LoggedInAgent = Annotated[ConsoleSession, Depends(require_agent)]
ChangingAgent = Annotated[ConsoleSession, Depends(require_agent_csrf)]
JsonBody = Annotated[dict[str, Any], Body()]
templates = Jinja2Templates(directory=str(ROOT / "bot" / "web" / "templates"))
MAX_REPLY_CHARS = 2000
# A claimed case goes back to the queue when its agent's console is silent this long.
ABANDONED_AFTER = dt.timedelta(seconds=60)
CLOSING_ERRORS = {
    "disposition": "Unbekannter Abschluss.",
    "note": f"Bitte eine Notiz (höchstens {agent_queue.MAX_NOTE} Zeichen).",
}


def _web(request: Request | WebSocket) -> WebContext:
    return request.app.state.web


# --- pages ------------------------------------------------------------------------------


def _login_page(
    request: Request, *, error: str | None = None, username: str = "", status: int = 200
) -> HTMLResponse:
    web = _web(request)
    token = new_csrf_token()
    page = templates.TemplateResponse(
        request,
        "agent/login.html",
        {
            "utility_name": web.settings.utility_name,
            "csrf_token": token,
            "error": error,
            "username": username,
        },
        status_code=status,
    )
    set_login_csrf_cookie(page, web.settings, token)
    return page


@router.get("/agent/login", response_class=HTMLResponse, include_in_schema=False)
async def login_form(request: Request) -> Response:
    if await console_session(request) is not None:
        return RedirectResponse("/agent", status_code=303)
    return _login_page(request)


@router.post("/agent/login", response_class=HTMLResponse, include_in_schema=False)
async def login(request: Request) -> Response:
    web = _web(request)
    form = await request.form()
    username = str(form.get("username", ""))[:64].strip()
    password = str(form.get("password", ""))[:200]
    if not login_csrf_ok(request, form.get("csrf_token")):
        return _login_page(
            request,
            error="Die Anmeldeseite war abgelaufen. Bitte versuchen Sie es noch einmal.",
            username=username,
            status=403,
        )
    client = request.client.host if request.client else "unknown"
    attempts = f"login:{client}:{username.lower()}"
    if await web.login_limiter.blocked(attempts):
        return _login_page(
            request,
            error="Zu viele Anmeldeversuche. Bitte warten Sie einige Minuten.",
            username=username,
            status=429,
        )
    agent = await web.db(lambda s: agents.authenticate(s, username, password))
    if agent is None:
        await web.login_limiter.hit(attempts)  # only failures count
        logger.info("console login failed")
        return _login_page(
            request,
            error="Benutzername oder Passwort ist falsch.",
            username=username,
            status=401,
        )

    def start(session: Any) -> str:
        token, _ = agents.start_session(session, agent.id)
        agent_queue.audit(session, "login", agent_id=agent.id, case_id=None)
        return token

    token = await web.db(start)
    logger.info("console login agent=%s", agent.id)
    page = RedirectResponse("/agent", status_code=303)
    set_session_cookie(page, web.settings, token)
    return page


@router.post("/agent/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    web = _web(request)
    console = await console_session(request)
    form = await request.form()
    if console is not None:
        if not csrf_ok(console, form.get("csrf_token")):
            raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
        token = request.cookies.get(SESSION_COOKIE)

        def end(session: Any) -> None:
            agents.end_session(session, token)
            agent_queue.audit(session, "logout", agent_id=console.agent.id, case_id=None)

        await web.db(end)
    page = RedirectResponse("/agent/login", status_code=303)
    clear_session_cookie(page)
    return page


async def _page(request: Request, template: str) -> Response:
    console = await console_session(request)
    if console is None:
        return RedirectResponse("/agent/login", status_code=303)
    return templates.TemplateResponse(
        request,
        template,
        {
            "utility_name": _web(request).settings.utility_name,
            "csrf_token": console.csrf_token,
            "agent": console.agent,
        },
    )


@router.get("/agent", response_class=HTMLResponse, include_in_schema=False)
async def console_page(request: Request) -> Response:
    return await _page(request, "agent/console.html")


@router.get("/agent/dashboard", response_class=HTMLResponse, include_in_schema=False)
async def dashboard_page(request: Request) -> Response:
    return await _page(request, "agent/dashboard.html")


# --- API --------------------------------------------------------------------------------


@router.get("/agent/api/me")
async def me(console: LoggedInAgent) -> dict[str, str]:
    return {"username": console.agent.username, "first_name": console.agent.first_name}


@router.get("/agent/api/cases")
async def cases(request: Request, console: LoggedInAgent) -> list[dict]:
    return await _web(request).queue_for(console.agent.id)


async def _detail(web: WebContext, case_id: str, agent_id: int) -> dict[str, Any]:
    try:
        summary, transcript = await web.db(lambda s: agent_queue.case_detail(s, case_id))
    except NotFound:
        raise HTTPException(status_code=404, detail="no such case") from None
    return {
        **summary.as_json(agent_id, await web.is_live(summary.conversation_id)),
        "transcript": transcript,
    }


@router.get("/agent/api/cases/{case_id}")
async def case(case_id: str, request: Request, console: LoggedInAgent) -> dict[str, Any]:
    return await _detail(_web(request), case_id, console.agent.id)


@router.post("/agent/api/cases/{case_id}/claim")
async def claim(case_id: str, request: Request, console: ChangingAgent) -> dict[str, Any]:
    web = _web(request)
    agent = console.agent
    try:
        summary = await web.db(lambda s: agent_queue.claim(s, case_id, agent.id))
    except NotFound:
        raise HTTPException(status_code=404, detail="no such case") from None
    except CaseEnded:
        raise HTTPException(
            status_code=409, detail="Dieser Fall ist bereits abgeschlossen."
        ) from None
    except CaseTaken as taken:
        who = taken.first_name or "jemand anderes"
        raise HTTPException(
            status_code=409, detail=f"{who} bearbeitet diesen Fall bereits."
        ) from None
    await web.db(lambda s: agents.mark_seen(s, agent.id))
    chat = await web.db(lambda s: chats.by_conversation(s, summary.conversation_id))
    if chat is not None:
        await web.say(
            chat,
            "system",
            web.text("utter_agent_joined", chat.language, agent_name=agent.first_name),
        )
        await web.hub.to_chat(
            chat.conversation_id,
            {"type": "state", "state": "agent", "agent_name": agent.first_name},
        )
    logger.info("case claimed case=%s agent=%s", case_id, agent.id)
    await web.push_queue()
    return await _detail(web, case_id, agent.id)


@router.post("/agent/api/cases/{case_id}/messages", status_code=201)
async def reply(
    case_id: str,
    request: Request,
    body: JsonBody,
    console: ChangingAgent,
) -> dict[str, Any]:
    web = _web(request)
    agent = console.agent
    text = clean_message(body.get("text")) if isinstance(body.get("text"), str) else ""
    if not text or len(text) > MAX_REPLY_CHARS:
        raise HTTPException(status_code=422, detail=f"1 bis {MAX_REPLY_CHARS} Zeichen")
    case = await _owned(web, case_id, agent.id)
    chat = await web.db(lambda s: chats.by_conversation(s, case.conversation_id))
    if chat is None:
        raise HTTPException(status_code=409, detail="Nur Web-Chats können hier beantwortet werden.")
    message = await web.say(chat, "agent", text, agent_id=agent.id)
    await web.db(
        lambda s: agent_queue.audit(
            s, "reply", agent_id=agent.id, case_id=case_id, message=message.id
        )
    )
    await web.db(lambda s: agents.mark_seen(s, agent.id))
    return message.as_frame()


async def _owned(web: WebContext, case_id: str, agent_id: int) -> Any:
    try:
        return await web.db(lambda s: agent_queue.check_owner(s, case_id, agent_id))
    except NotFound:
        raise HTTPException(status_code=404, detail="no such case") from None
    except NotYours:
        raise HTTPException(
            status_code=409, detail="Dieser Fall ist nicht (mehr) Ihnen zugeordnet."
        ) from None


async def _back_to_bot(web: WebContext, conversation_id: str, response: str) -> None:
    """Resume the bot in a web chat; it greets the customer in their language."""
    chat = await web.db(lambda s: chats.by_conversation(s, conversation_id))
    if chat is None:
        return
    try:
        answer = await web.rasa.resume(conversation_id, response)
    except BotUnavailable:
        raise HTTPException(
            status_code=503, detail="Der Bot ist gerade nicht erreichbar."
        ) from None
    chat = await web.db(lambda s: chats.update(s, chat.id, state="bot"))
    for message in answer.messages:
        await web.say(chat, "bot", message["text"], buttons=message["buttons"])
    await web.hub.to_chat(conversation_id, {"type": "state", "state": "bot", "agent_name": None})


@router.post("/agent/api/cases/{case_id}/release")
async def release(case_id: str, request: Request, console: ChangingAgent) -> dict[str, Any]:
    web = _web(request)
    agent = console.agent
    case = await _owned(web, case_id, agent.id)
    if case.channel == "voice":
        raise HTTPException(
            status_code=409, detail="Telefonfälle werden mit einer Notiz abgeschlossen."
        )
    await _back_to_bot(web, case.conversation_id, "utter_agent_returned")
    summary = await web.db(lambda s: agent_queue.release(s, case_id, agent.id))
    logger.info("case returned to the bot case=%s agent=%s", case_id, agent.id)
    await web.push_queue()
    return summary.as_json(agent.id, await web.is_live(summary.conversation_id))


@router.post("/agent/api/cases/{case_id}/close")
async def close(
    case_id: str,
    request: Request,
    body: JsonBody,
    console: ChangingAgent,
) -> dict[str, Any]:
    web = _web(request)
    agent = console.agent
    disposition = body.get("disposition")
    try:  # checked before the customer is told anything
        note = agent_queue.closing_note(disposition, body.get("note"))
    except agent_queue.InvalidClosing as invalid:
        detail = CLOSING_ERRORS[invalid.field]
        raise HTTPException(status_code=422, detail=detail) from invalid
    case = await _owned(web, case_id, agent.id)
    if case.channel != "voice":
        await _back_to_bot(web, case.conversation_id, "utter_agent_closed")
    summary = await web.db(lambda s: agent_queue.close(s, case_id, agent.id, disposition, note))
    logger.info("case closed case=%s agent=%s disposition=%s", case_id, agent.id, disposition)
    await web.push_queue()
    return summary.as_json(agent.id, False)


@router.get("/agent/api/stats")
async def dashboard_figures(
    request: Request, console: LoggedInAgent, days: int = 14
) -> dict[str, Any]:
    web = _web(request)
    days = min(max(days, 1), 90)
    return await web.db(lambda s: stats.dashboard(s, web.settings.tracker_store_url, days=days))


# --- live updates -----------------------------------------------------------------------


def _same_origin(socket: WebSocket) -> bool:
    origin = socket.headers.get("origin")
    if not origin:
        return True  # not a browser
    return urlsplit(origin).netloc == socket.headers.get("host")


@router.websocket("/agent/ws")
async def console_socket(socket: WebSocket) -> None:
    web = _web(socket)
    console = await console_session(socket)
    if console is None or not _same_origin(socket):
        await socket.close(code=1008)
        return
    agent_id = console.agent.id
    await socket.accept()
    web.hub.join_console(socket, agent_id)
    try:
        await web.db(lambda s: agents.mark_seen(s, agent_id))
        await socket.send_json({"type": "queue", "cases": await web.queue_for(agent_id)})
        while True:
            frame = await socket.receive_json()
            if not isinstance(frame, dict):
                continue
            if frame.get("type") == "ping":
                await web.db(lambda s: agents.mark_seen(s, agent_id))
            elif frame.get("type") == "typing":
                await _agent_typing(web, console, frame)
    except (WebSocketDisconnect, ValueError):
        pass
    finally:
        web.hub.leave_console(socket)


async def _agent_typing(web: WebContext, console: ConsoleSession, frame: dict[str, Any]) -> None:
    case_id = frame.get("case_id")
    if not isinstance(case_id, str):
        return
    try:
        case = await web.db(lambda s: agent_queue.check_owner(s, case_id, console.agent.id))
    except (NotFound, NotYours):
        return
    await web.hub.to_chat(
        case.conversation_id,
        {
            "type": "typing",
            "from": "agent",
            "active": frame.get("active") is True,
            "agent_name": console.agent.first_name,
        },
    )


async def requeue_abandoned(web: WebContext) -> None:
    """Return cases of silent consoles to the queue and tell everyone."""
    returned = await web.db(lambda s: agent_queue.requeue_abandoned(s, ABANDONED_AFTER))
    if not returned:
        return
    for case in returned:
        logger.info("case back in the queue (console silent) case=%s", case.case_id)
        await web.hub.to_chat(
            case.conversation_id, {"type": "state", "state": "waiting", "agent_name": None}
        )
    await web.push_queue()
