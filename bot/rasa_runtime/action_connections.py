"""Keep-alive connections from Rasa to the action server.

Rasa 3.6 opens a new aiohttp session, and so a new TCP connection, for every
call of a custom action (`EndpointConfig.request` → `EndpointConfig.session`),
and several actions run in every turn. Both servers then pay for a connection
setup per call. `pooled_session` gives each endpoint one long-lived session
per event loop instead; its connections stay open between calls (for less time
than the action server keeps idle connections, so Rasa never reuses one the
server has just closed), and request bodies are encoded with ujson, which
Rasa already depends on. Requests, headers, authentication and timeouts are
Rasa's own: only where the connection comes from changes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import ujson
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

# aiohttp closes our idle connections after one to two times this; the action
# server keeps them much longer (SANIC_KEEP_ALIVE_TIMEOUT, bot/ops/launcher.py;
# Sanic's own default is 5 s), so it never closes one Rasa is about to use.
IDLE_SECONDS = 2.0
_sessions: dict[tuple[int, Any], aiohttp.ClientSession] = {}


def _dumps(value: Any) -> str:
    return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False)


class _Borrowed:
    """`async with` hands out the shared session and leaves it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *_: object) -> None:
        return None


def _key(endpoint: EndpointConfig) -> tuple[int, Any]:
    loop = asyncio.get_running_loop()
    auth = tuple(sorted(endpoint.basic_auth.items()))
    return id(loop), (endpoint.url, tuple(sorted(endpoint.headers.items())), auth)


def pooled_session(endpoint: EndpointConfig) -> _Borrowed:
    """The endpoint's shared session in this event loop (made on first use)."""
    key = _key(endpoint)
    session = _sessions.get(key)
    if session is None or session.closed:
        auth = None
        if endpoint.basic_auth:
            auth = aiohttp.BasicAuth(
                endpoint.basic_auth["username"], endpoint.basic_auth["password"]
            )
        session = aiohttp.ClientSession(
            headers=endpoint.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_SECONDS),
            json_serialize=_dumps,
        )
        _sessions[key] = session
    return _Borrowed(session)


async def close_sessions() -> None:
    """Close the sessions of the running event loop (at server stop)."""
    loop_id = id(asyncio.get_running_loop())
    for key in [key for key in _sessions if key[0] == loop_id]:
        await _sessions.pop(key).close()
