"""Console logins: the session cookie, CSRF tokens, and who may do what.

- The session cookie is `HttpOnly`, `SameSite=Strict`, and `Secure` outside
  development; it carries a random token whose hash is in `agent_sessions`.
- Every state-changing request must carry the session's CSRF token: forms in
  a `csrf_token` field, scripts in the `X-CSRF-Token` header. The login form,
  which has no session yet, uses a double-submit cookie.
- A successful login leaves a device cookie in the browser: the agent's name,
  a random device id and the day it was issued, signed with a key derived from
  RASA_AUTH_TOKEN (every web process has it; a new token makes old cookies
  unknown, which only costs the agents their shortcut). A browser that shows
  it is the agent's own: strangers' failed logins do not lock it out
  (bot/web/logins.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from fastapi import HTTPException, Request, WebSocket
from starlette.responses import Response

from bot.domain.services import agents
from bot.domain.services.agents import ConsoleSession
from bot.infra.settings import Settings

SESSION_COOKIE = "stadtwerk_agent"
LOGIN_CSRF_COOKIE = "stadtwerk_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
DEVICE_COOKIE = "stadtwerk_device"
DEVICE_DAYS = 180
_DEVICE_KEY_LABEL = b"stadtwerk console: device cookie"


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


def _device_signature(settings: Settings, body: str) -> str:
    key = hmac.new(settings.rasa_auth_token.encode(), _DEVICE_KEY_LABEL, hashlib.sha256).digest()
    return _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def set_device_cookie(response: Response, settings: Settings, username: str) -> None:
    """Mark this browser as one `username` logs in with."""
    name = _b64(username.strip().lower().encode())
    body = f"{name}.{secrets.token_urlsafe(16)}.{int(time.time())}"
    response.set_cookie(
        DEVICE_COOKIE,
        f"{body}.{_device_signature(settings, body)}",
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        samesite="strict",
        secure=_secure(settings),
        path="/agent/login",
    )


def known_device(request: Request, settings: Settings, username: str) -> str | None:
    """The device id if this browser carries our device cookie for `username`,
    issued within DEVICE_DAYS; else None."""
    value = request.cookies.get(DEVICE_COOKIE, "")
    parts = value.split(".") if len(value) <= 300 else []
    if len(parts) != 4:
        return None
    name, device, issued, signature = parts
    expected = _device_signature(settings, f"{name}.{device}.{issued}")
    if not secrets.compare_digest(signature.encode(), expected.encode()):
        return None
    if name != _b64(username.strip().lower().encode()) or not issued.isdigit():
        return None
    if time.time() - int(issued) > DEVICE_DAYS * 86400:
        return None
    return device


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
