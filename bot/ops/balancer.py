"""A small round-robin reverse proxy in front of several Rasa instances.

    uvicorn bot.ops.balancer:create_app --factory --port $RASA_PORT

The Rasa instances share the tracker store (PostgreSQL) and the lock store
(Redis), so any instance can answer any turn of any conversation. Requests go
to the instances in turn; one that refuses the connection (stopped,
restarting) is skipped, which is safe because the request never reached it.
A request that reached an instance is never sent twice. `GET /_balancer/health`
says which instances answer. In a cluster, a Kubernetes Service or any load
balancer does this job (see deploy/).
"""

from __future__ import annotations

import itertools
import logging

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


class Balancer:
    def __init__(self, upstreams: list[str]) -> None:
        if not upstreams:
            raise ValueError("the balancer needs at least one upstream")
        self.upstreams = upstreams
        self._turn = itertools.cycle(range(len(upstreams)))
        self.client = httpx.AsyncClient(timeout=TIMEOUT)

    def _order(self) -> list[str]:
        first = next(self._turn)
        return self.upstreams[first:] + self.upstreams[:first]

    async def forward(self, request: Request) -> Response:
        body = await request.body()
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
            except httpx.ConnectError:
                logger.warning("rasa instance %s refused the connection; trying the next", upstream)
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
    balancer = Balancer(settings.upstreams)
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/_balancer/health", balancer.health, methods=["GET"]),
            Route("/{path:path}", balancer.forward, methods=methods),
        ],
        on_shutdown=[balancer.client.aclose],
    )
