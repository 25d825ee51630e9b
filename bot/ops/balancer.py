"""A small round-robin reverse proxy in front of several Rasa instances.

    uvicorn bot.ops.balancer:create_app --factory --port $RASA_PORT

The Rasa instances share the tracker store (PostgreSQL) and the lock store
(Redis), so any instance can answer any turn of any conversation. Requests go
to the instances in turn; one that cannot be reached (refused: stopped or
restarting; or no connection within the connect timeout: a hung host) is
skipped, which is safe because the request never reached it, and is tried
last for a few seconds. A request that reached an instance is never sent
twice. A body over `BALANCER_MAX_BODY_BYTES` gets 413 without being read
further. `GET /_balancer/health` says which instances answer. In a cluster, a
Kubernetes Service or any load balancer does this job (see deploy/).

The balancer is the Rasa side's public entry point (the edge proxy forwards
to it), so it passes on only the channels' webhooks and Rasa's `/` (its
health): Rasa's HTTP API (`/conversations`, `/model`, `/status`, ...) gets 404
here; operators reach it on an instance's own port, on this host only.
"""

from __future__ import annotations

import itertools
import logging
import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.infra.settings import get_settings

logger = logging.getLogger(__name__)
# Headers that belong to one connection, not to the request.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
TIMEOUT = httpx.Timeout(60.0, connect=2.0)
# The request never reached the instance: safe to send to the next one.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# An instance that could not be reached is tried last for this long.
UNREACHABLE_SECONDS = 5.0
# What is passed on besides `/`: the REST and phone webhooks, and the web app's
# channel (its shared secret is checked by Rasa; the web app reaches Rasa here).
CHANNEL_PATHS = ("/webhooks/rest/", "/webhooks/voice/", "/webhooks/web/")


def passed_on(path: str) -> bool:
    """Whether a request for `path` goes to Rasa (a channel's webhook, or `/`)."""
    if any(segment in (".", "..") for segment in path.split("/")):
        return False  # an instance would resolve them: /webhooks/rest/../../status
    return path == "/" or path.startswith(CHANNEL_PATHS)


class BodyTooLarge(Exception):
    """The request's body is over the limit."""


class Balancer:
    def __init__(self, upstreams: list[str], max_body_bytes: int = 1_048_576) -> None:
        if not upstreams:
            raise ValueError("the balancer needs at least one upstream")
        self.upstreams = upstreams
        self.max_body_bytes = max_body_bytes
        self._turn = itertools.cycle(range(len(upstreams)))
        self._unreachable_until: dict[str, float] = {}
        self.client = httpx.AsyncClient(timeout=TIMEOUT)

    def _order(self) -> list[str]:
        """This request's order: round robin, instances just found unreachable last."""
        first = next(self._turn)
        order = self.upstreams[first:] + self.upstreams[:first]
        now = time.monotonic()
        return sorted(order, key=lambda u: self._unreachable_until.get(u, 0.0) > now)

    async def _body(self, request: Request) -> bytes:
        """The request's body, read no further than the limit (BodyTooLarge beyond)."""
        declared = request.headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            raise BodyTooLarge
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise BodyTooLarge
        return bytes(body)

    async def forward(self, request: Request) -> Response:
        if not passed_on(request.url.path):
            return JSONResponse({"error": "not found"}, 404)
        try:
            body = await self._body(request)
        except BodyTooLarge:
            return JSONResponse({"error": "request body too large"}, 413)
        headers = [
            (k, v)
            for k, v in request.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "x-forwarded-for"
        ]
        # The instances count requests per client: tell them who the client is,
        # after what a proxy in front of us said (only ours are believed there).
        forwarded = request.headers.get("x-forwarded-for")
        peer = request.client.host if request.client else "unknown"
        headers.append(("x-forwarded-for", f"{forwarded}, {peer}" if forwarded else peer))
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        for upstream in self._order():
            try:
                answer = await self.client.request(
                    request.method, upstream + target, content=body, headers=headers
                )
            except NOT_SENT as error:
                self._unreachable_until[upstream] = time.monotonic() + UNREACHABLE_SECONDS
                logger.warning(
                    "rasa instance %s not reachable (%s); trying the next",
                    upstream,
                    type(error).__name__,
                )
                continue
            except httpx.HTTPError as error:
                logger.error("rasa instance %s failed: %s", upstream, type(error).__name__)
                return JSONResponse({"error": "the Rasa instance did not answer"}, 502)
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            kept.pop("content-encoding", None)  # httpx has decoded the body
            return Response(answer.content, status_code=answer.status_code, headers=kept)
        return JSONResponse({"error": "no Rasa instance is reachable"}, 503)

    async def health(self, _request: Request) -> Response:
        states = {}
        for upstream in self.upstreams:
            try:
                answer = await self.client.get(upstream + "/", timeout=2.0)
                states[upstream] = "up" if answer.status_code == 200 else "failing"
            except httpx.HTTPError:
                states[upstream] = "down"
        healthy = any(state == "up" for state in states.values())
        return JSONResponse(
            {"status": "ok" if healthy else "down", "instances": states},
            status_code=200 if healthy else 503,
        )


def create_app() -> Starlette:
    settings = get_settings()
    balancer = Balancer(settings.upstreams, settings.balancer_max_body_bytes)
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/_balancer/health", balancer.health, methods=["GET"]),
            Route("/{path:path}", balancer.forward, methods=methods),
        ],
        on_shutdown=[balancer.client.aclose],
    )
