"""The FastAPI application (port 8000)."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import text

from bot.db import get_engine
from bot.settings import load_settings


def create_app() -> FastAPI:
    settings = load_settings()
    settings.check()
    app = FastAPI(title=f"{settings.utility_name}: customer service assistant")

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness plus a database round trip."""
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "environment": settings.environment}

    return app
