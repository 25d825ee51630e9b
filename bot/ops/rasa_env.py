"""Environment variables that endpoints.yml expects, derived from our settings.

Operators set DATABASE_URL-style URLs (TRACKER_STORE_URL, REDIS_URL); Rasa's
endpoint file wants the parts. This module is the one translation.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from bot.infra.settings import Settings


def rasa_environment(settings: Settings) -> dict[str, str]:
    """Variables for `rasa run` so endpoints.yml resolves without gaps."""
    redis = make_url(settings.redis_url) if settings.redis_url else None
    return {
        "ACTION_ENDPOINT_URL": f"{settings.action_server_base_url}/webhook",
        "TRACKER_STORE_URL": settings.tracker_store_url,
        "TRACKER_DIALECT": make_url(settings.tracker_store_url).get_backend_name(),
        # The in-memory lock store ignores host, port and db.
        "LOCK_STORE_TYPE": "redis" if redis else "in_memory",
        "LOCK_STORE_HOST": (redis.host if redis else None) or "127.0.0.1",
        "LOCK_STORE_PORT": str((redis.port if redis else None) or 6379),
        "LOCK_STORE_DB": (redis.database if redis else None) or "0",
    }
