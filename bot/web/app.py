"""The FastAPI application (port 8000): web chat, agent console, dashboard, health.

uvicorn bot.web.app:create_app --factory
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from bot.domain.errors import DomainError
from bot.domain.languages import or_default
from bot.infra.metrics import CONTENT_TYPE, REFUSAL, may_scrape
from bot.infra.settings import ROOT, get_settings
from bot.web import chat, console, receipts, schemas, service_desk, use_cases
from bot.web.context import WebContext
from bot.web.rasa_client import RasaClient

logger = logging.getLogger(__name__)
REQUEUE_CHECK_SECONDS = 10.0
# How soon a case the bot opened over REST or the phone shows in open consoles.
NEW_CASES_CHECK_SECONDS = 2.0
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# The console is never framed; the widget's script is meant to be embedded elsewhere.
CONSOLE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
}


async def _requeue_loop(web: WebContext) -> None:
    while True:
        await asyncio.sleep(REQUEUE_CHECK_SECONDS)
        try:
            await console.requeue_abandoned(web)
        except Exception:  # noqa: BLE001 - try again next round
            logger.exception("returning abandoned cases to the queue failed")


async def _new_cases_loop(web: WebContext) -> None:
    while True:
        try:
            await web.announce_new_cases()
        except Exception:  # noqa: BLE001 - try again next round
            logger.exception("telling the consoles of new cases failed")
        await asyncio.sleep(NEW_CASES_CHECK_SECONDS)


def create_app() -> FastAPI:
    settings = get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        web = WebContext(settings=settings, rasa=RasaClient(settings))
        app.state.web = web
        await web.start()
        loops = [
            asyncio.create_task(_requeue_loop(web)),
            asyncio.create_task(_new_cases_loop(web)),
        ]
        try:
            yield
        finally:
            for loop in loops:
                loop.cancel()
            await web.close()

    app = FastAPI(title=f"{settings.utility_name}: customer service assistant", lifespan=lifespan)
    app.mount("/static", StaticFiles(directory=ROOT / "bot" / "web" / "static"), name="static")
    app.include_router(chat.router)
    app.include_router(console.router)
    app.include_router(receipts.router)
    app.include_router(service_desk.router)
    app.add_exception_handler(DomainError, console.refusal)
    app.add_exception_handler(use_cases.NotAWebChat, console.refusal)
    app.add_exception_handler(RequestValidationError, schemas.validation_error)

    @app.middleware("http")
    async def security_headers(request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        answer = await call_next(request)
        answer.headers.update(SECURITY_HEADERS)
        if request.url.path.startswith("/agent"):
            answer.headers.update(CONSOLE_HEADERS)
        return answer

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def demo_page(request: Request, lang: str = "de") -> Response:
        """A Stadtwerk home page with the chat widget, as a utility would embed it."""
        return console.templates.TemplateResponse(
            request,
            "demo.html",
            {
                "utility_name": settings.utility_name,
                "page_language": or_default(lang),
            },
        )

    @app.get("/health")
    async def health() -> dict[str, str]:
        """Liveness: the process answers. Nothing else, so an outage of the database
        (or Redis, or Rasa) never restarts the app and drops every WebSocket; /ready
        tells whether it can serve."""
        return {"status": "ok", "environment": settings.app_env}

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics (no personal data), for Prometheus only (bot/infra/metrics.py)."""
        web = app.state.web
        if not may_scrape(settings, web.client_of(request), request.headers.get("authorization")):
            return JSONResponse(REFUSAL, status_code=403)
        body = await asyncio.to_thread(web.metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE)

    @app.get("/ready")
    async def ready(request: Request) -> Response:
        """Readiness: the database, Rasa and (if configured) Redis all answer."""
        checks = await app.state.web.readiness()
        ok = all(state == "ok" for state in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "not ready", "checks": checks},
            status_code=200 if ok else 503,
        )

    return app
