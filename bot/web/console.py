"""The agent console: login, the queue, live takeover, dashboard (see docs/web-chat-protocol.md)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.domain.errors import NotFound
from bot.domain.services import agent_queue, agents, reconnection, stats
from bot.domain.services.agent_queue import (
    CaseEnded,
    CaseTaken,
    FinishedMeanwhile,
    HeldByAnother,
    NotYours,
)
from bot.domain.services.agents import AgentInfo, ConsoleSession
from bot.infra.db import get_engine
from bot.infra.settings import ROOT
from bot.web import use_cases
from bot.web.context import WebContext
from bot.web.frame_budget import POLICY_VIOLATION, FrameBudget, Verdict
from bot.web.logins import Busy
from bot.web.rasa_client import BotUnavailable
from bot.web.schemas import CloseBody, ReplyBody
from bot.web.security import (
    SESSION_COOKIE,
    clear_session_cookie,
    console_session,
    csrf_ok,
    known_device,
    login_csrf_ok,
    new_csrf_token,
    require_agent,
    require_agent_csrf,
    set_device_cookie,
    set_login_csrf_cookie,
    set_session_cookie,
)

logger = logging.getLogger(__name__)
router = APIRouter()
LoggedInAgent = Annotated[ConsoleSession, Depends(require_agent)]
ChangingAgent = Annotated[ConsoleSession, Depends(require_agent_csrf)]
templates = Jinja2Templates(directory=str(ROOT / "bot" / "web" / "templates"))
# A claimed case goes back to the queue when its agent's console is silent this long.
ABANDONED_AFTER = dt.timedelta(seconds=60)


def web_of(request: Request | WebSocket) -> WebContext:
    return request.app.state.web


# --- pages ------------------------------------------------------------------------------


def _login_page(
    request: Request, *, error: str | None = None, username: str = "", status: int = 200
) -> HTMLResponse:
    web = web_of(request)
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
    web = web_of(request)
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
    # the address our proxies report (this machine and the proxies themselves name no client)
    address = web.client_of(request) or "local"
    device = known_device(request, web.settings, username)
    attempt = await web.logins.attempt(address, username, device)
    if attempt is None:
        return _login_page(
            request,
            error="Zu viele Anmeldeversuche. Bitte warten Sie einige Minuten.",
            username=username,
            status=429,
        )
    try:
        agent = await web.logins.check(web.db, username, password)
    except Busy:
        await attempt.give_back()  # not checked: does not count
        logger.warning("console login refused: too many logins at once")
        page = _login_page(
            request,
            error="Zu viele Anmeldungen gleichzeitig. Bitte versuchen Sie es gleich noch einmal.",
            username=username,
            status=503,
        )
        page.headers["Retry-After"] = "5"
        return page
    if agent is None:
        logger.info("console login failed")  # the attempt stays counted
        return _login_page(
            request,
            error="Benutzername oder Passwort ist falsch.",
            username=username,
            status=401,
        )
    await attempt.give_back()  # only failures count

    def start(session: Any) -> str:
        token, _ = agents.start_session(session, agent.id)
        agent_queue.audit(session, "login", agent_id=agent.id, case_id=None)
        return token

    token = await web.db(start)
    logger.info("console login agent=%s", agent.id)
    page = RedirectResponse("/agent", status_code=303)
    set_session_cookie(page, web.settings, token)
    set_device_cookie(page, web.settings, agent.username)
    return page


@router.post("/agent/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    web = web_of(request)
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


async def agent_page(request: Request, template: str) -> Response:
    console = await console_session(request)
    if console is None:
        return RedirectResponse("/agent/login", status_code=303)
    return templates.TemplateResponse(
        request,
        template,
        {
            "utility_name": web_of(request).settings.utility_name,
            "csrf_token": console.csrf_token,
            "agent": console.agent,
        },
    )


@router.get("/agent", response_class=HTMLResponse, include_in_schema=False)
async def console_page(request: Request) -> Response:
    return await agent_page(request, "agent/console.html")


@router.get("/agent/dashboard", response_class=HTMLResponse, include_in_schema=False)
async def dashboard_page(request: Request) -> Response:
    return await agent_page(request, "agent/dashboard.html")


# --- API --------------------------------------------------------------------------------


@router.get("/agent/api/me")
async def me(console: LoggedInAgent) -> dict[str, str]:
    return {"username": console.agent.username, "first_name": console.agent.first_name}


@router.get("/agent/api/cases")
async def cases(request: Request, console: LoggedInAgent) -> list[dict]:
    return await web_of(request).queue_for(console.agent.id)


async def _detail(web: WebContext, case_id: str, agent_id: int) -> dict[str, Any]:
    try:
        summary, transcript = await web.db(lambda s: agent_queue.case_detail(s, case_id))
    except NotFound:
        raise HTTPException(status_code=404, detail="no such case") from None
    files = await web.db(lambda s: reconnection.attachments_of(s, case_id))
    return {
        **summary.as_json(agent_id, await web.is_live(summary.conversation_id)),
        "transcript": transcript,
        # what the customer sent with the case (bot/web/receipts.py downloads them)
        "attachments": [file.as_json() for file in files],
    }


@router.get("/agent/api/cases/{case_id}")
async def case(case_id: str, request: Request, console: LoggedInAgent) -> dict[str, Any]:
    return await _detail(web_of(request), case_id, console.agent.id)


@router.post("/agent/api/cases/{case_id}/claim")
async def claim(case_id: str, request: Request, console: ChangingAgent) -> dict[str, Any]:
    web = web_of(request)
    agent = console.agent
    outcome = await web.db(lambda s: use_cases.claim(s, case_id, agent, web.text))
    logger.info("case claimed case=%s agent=%s", case_id, agent.id)
    if outcome.waited_seconds is not None:
        web.metrics.handoff_wait_seconds.observe(outcome.waited_seconds)
    await web.publish(outcome.broadcast)
    return await _detail(web, case_id, agent.id)


@router.post("/agent/api/cases/{case_id}/messages", status_code=201)
async def reply(
    case_id: str, request: Request, body: ReplyBody, console: ChangingAgent
) -> dict[str, Any]:
    web = web_of(request)
    replied = await web.db(lambda s: use_cases.reply(s, case_id, console.agent, body.text))
    await web.publish(replied.broadcast)
    return replied.message.as_frame()


async def _is_call(web: WebContext, case_id: str, agent_id: int) -> bool:
    """Whether the case this agent holds is a phone call (NotYours if the agent does not)."""
    case = await web.db(lambda s: agent_queue.check_owner(s, case_id, agent_id))
    return case.channel == "voice"


async def _bot_takes_back(
    web: WebContext, outcome: use_cases.Outcome, agent: AgentInfo, action: str, response: str
) -> None:
    """After a release or close committed: the bot takes the web chat back, then all are told.

    Only the request that changed the case gets here, so the customer hears the
    bot once. If the bot does not answer, the step is undone (the customer was
    told nothing) and the agent is asked to try again.
    """
    chat = outcome.chat
    if chat is not None:
        try:
            said = (await web.rasa.resume(chat.conversation_id, response)).messages
        except BotUnavailable:
            case_id = outcome.summary.case_id
            await web.db(lambda s: use_cases.take_back(s, case_id, agent, action))
            raise HTTPException(
                status_code=503, detail="Der Bot ist gerade nicht erreichbar."
            ) from None
        await web.db(lambda s: use_cases.greet(s, chat, said, outcome.broadcast))
    await web.publish(outcome.broadcast)


@router.post("/agent/api/cases/{case_id}/release")
async def release(case_id: str, request: Request, console: ChangingAgent) -> dict[str, Any]:
    web = web_of(request)
    agent = console.agent
    if await _is_call(web, case_id, agent.id):
        raise HTTPException(
            status_code=409, detail="Telefonfälle werden mit einer Notiz abgeschlossen."
        )
    outcome = await web.db(lambda s: use_cases.release(s, case_id, agent))
    await _bot_takes_back(web, outcome, agent, "release", "utter_agent_returned")
    logger.info("case returned to the bot case=%s agent=%s", case_id, agent.id)
    summary = outcome.summary
    return summary.as_json(agent.id, await web.is_live(summary.conversation_id))


@router.post("/agent/api/cases/{case_id}/close")
async def close(
    case_id: str, request: Request, body: CloseBody, console: ChangingAgent
) -> dict[str, Any]:
    web = web_of(request)
    agent = console.agent
    outcome = await web.db(
        lambda s: use_cases.close(s, case_id, agent, body.disposition, body.note)
    )
    await _bot_takes_back(web, outcome, agent, "close", "utter_agent_closed")
    logger.info("case closed case=%s agent=%s disposition=%s", case_id, agent.id, body.disposition)
    return outcome.summary.as_json(agent.id, False)


@router.get("/agent/api/stats")
async def dashboard_figures(
    request: Request, console: LoggedInAgent, days: int = 14
) -> dict[str, Any]:
    web = web_of(request)
    days = min(max(days, 1), 90)
    tracker_store = get_engine(web.settings.tracker_store_url)
    return await web.db(lambda s: stats.dashboard(s, tracker_store, days=days))


# --- live updates -----------------------------------------------------------------------


def _same_origin(socket: WebSocket) -> bool:
    origin = socket.headers.get("origin")
    if not origin:
        return True  # not a browser
    return urlsplit(origin).netloc == socket.headers.get("host")


@router.websocket("/agent/ws")
async def console_socket(socket: WebSocket) -> None:
    web = web_of(socket)
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
        budget = FrameBudget()
        while True:
            frame = await socket.receive_json()
            verdict = await budget.spend()
            if verdict is Verdict.CLOSE:
                logger.warning("console socket closed: a flood of frames agent=%s", agent_id)
                await socket.close(code=POLICY_VIOLATION)
                break
            if verdict is Verdict.DROP or not isinstance(frame, dict):
                continue
            # Logged out, expired or deactivated: the console hears nothing more
            # (the console pings every 15 s, so that is the longest it could).
            if await console_session(socket) is None:
                logger.info("console socket closed: the session ended agent=%s", agent_id)
                await socket.close(code=1008)
                break
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
    await web.publish(await web.db(lambda s: use_cases.requeue(s, ABANDONED_AFTER)))


# --- typed refusals of the steps → HTTP -----------------------------------------------

REFUSALS: dict[type[Exception], tuple[int, str]] = {
    NotFound: (404, "no such case"),
    CaseEnded: (409, "Dieser Fall ist bereits abgeschlossen."),
    FinishedMeanwhile: (
        409,
        "Dieser Fall wurde bereits abgeschlossen oder an den Bot zurückgegeben.",
    ),
    NotYours: (409, "Dieser Fall ist nicht (mehr) Ihnen zugeordnet."),
    use_cases.NotAWebChat: (409, "Nur Web-Chats können hier beantwortet werden."),
}


async def refusal(_request: Request, error: Exception) -> JSONResponse:
    """A step refused (installed on the app for the domain's errors)."""
    if isinstance(error, CaseTaken | HeldByAnother):
        return JSONResponse(
            {"detail": f"{error.first_name or 'jemand anderes'} bearbeitet diesen Fall bereits."},
            status_code=409,
        )
    for kind, (status, detail) in REFUSALS.items():
        if isinstance(error, kind):
            return JSONResponse({"detail": detail}, status_code=status)
    raise error
