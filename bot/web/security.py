"""Console logins: the session cookie, CSRF tokens, and who may do what.

- The session cookie is `HttpOnly`, `SameSite=Strict`, and `Secure` outside
  development; it carries a random token whose hash is in `agent_sessions`.
- Every state-changing request must carry the session's CSRF token: forms in
  a `csrf_token` field, scripts in the `X-CSRF-Token` header. The login form,
  which has no session yet, uses a double-submit cookie.
"""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request, WebSocket
from starlette.responses import Response

from bot.domain.services import agents
from bot.domain.services.agents import ConsoleSession
from bot.infra.settings import Settings

SESSION_COOKIE = "stadtwerk_agent"
LOGIN_CSRF_COOKIE = "stadtwerk_login_csrf"
CSRF_HEADER = "X-CSRF-Token"


def _secure(settings: Settings) -> bool:
    return settings.app_env != "development"


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=agents.SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=_secure(settings),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def set_login_csrf_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_secure(settings),
        path="/agent",
    )


def login_csrf_ok(request: Request, submitted: object) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return (
        bool(expected)
        and isinstance(submitted, str)
        and secrets.compare_digest(expected.encode(), submitted.encode())
    )


def csrf_ok(console: ConsoleSession, submitted: object) -> bool:
    return isinstance(submitted, str) and secrets.compare_digest(
        console.csrf_token.encode(), submitted.encode()
    )


async def console_session(connection: Request | WebSocket) -> ConsoleSession | None:
    web = connection.app.state.web
    token = connection.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await web.db(lambda s: agents.session_of(s, token))


async def require_agent(request: Request) -> ConsoleSession:
    """API dependency: 401 without a login."""
    console = await console_session(request)
    if console is None:
        raise HTTPException(status_code=401, detail="login required")
    return console


async def require_agent_csrf(request: Request) -> ConsoleSession:
    """API dependency for changes: a login and the session's CSRF header."""
    console = await require_agent(request)
    if not csrf_ok(console, request.headers.get(CSRF_HEADER)):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    return console
