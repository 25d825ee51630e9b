"""The endpoints file the launcher gives Rasa, written from our settings.

The committed endpoints.yml holds the local development defaults, so Rasa's
own commands (`rasa shell`, `rasa test`, ...) work from the repository root
without any environment. The launcher instead writes the endpoints from the
settings: the action server (ACTION_SERVER_URL or ACTION_PORT) with the
shared secret (RASA_AUTH_TOKEN), the tracker store (TRACKER_STORE_URL) and
the lock store (REDIS_URL, or in memory), and keeps every other section of
endpoints.yml (the response generator). The file is private (mode 0600: it
holds the secret and database passwords), only its path is on Rasa's command
line, and it is deleted when the process that wrote it exits (a process that
replaced itself with Rasa, `--process rasa`, leaves it to Rasa).
"""

from __future__ import annotations

import atexit
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from bot.infra.settings import ROOT, Settings

COMMITTED = ROOT / "endpoints.yml"
# the header the action server checks (bot/rasa_runtime/action_server.py)
SECRET_HEADER = "X-Action-Secret"
# one file per distinct content, for as long as this process runs
_written: dict[str, Path] = {}


def endpoints(settings: Settings) -> dict[str, Any]:
    """endpoints.yml's sections, with the action server, tracker and lock store of `settings`."""
    document = yaml.safe_load(COMMITTED.read_text(encoding="utf-8"))
    document["action_endpoint"] = {
        "url": f"{settings.action_server_base_url}/webhook",
        "headers": {SECRET_HEADER: settings.rasa_auth_token},
    }
    document["tracker_store"] = {
        "type": "SQL",
        "dialect": make_url(settings.tracker_store_url).get_backend_name(),
        # Rasa uses a complete SQLAlchemy URL as it is
        "url": settings.tracker_store_url,
    }
    document["lock_store"] = _lock_store(settings.redis_url)
    return document


def _lock_store(redis_url: str) -> dict[str, Any]:
    """Rasa's Redis lock store wants the URL's parts; no Redis: locks in memory."""
    if not redis_url:
        return {"type": "in_memory"}
    redis = make_url(redis_url)
    store: dict[str, Any] = {
        "type": "redis",
        "url": redis.host or "127.0.0.1",
        "port": redis.port or 6379,
        "db": int(redis.database or 0),
    }
    if redis.username:
        store["username"] = redis.username
    if redis.password:
        store["password"] = redis.password
    if redis.drivername == "rediss":
        store["use_ssl"] = True
    return store


def write_endpoints(settings: Settings) -> Path:
    """A private file with `endpoints(settings)`, for Rasa's `--endpoints`."""
    text = yaml.safe_dump(endpoints(settings), sort_keys=False, allow_unicode=True)
    path = _written.get(text)
    if path is not None and path.exists():
        return path
    # mkstemp: a name nobody can guess or take first, readable by this user only
    handle, name = tempfile.mkstemp(prefix="stadtwerk-endpoints-", suffix=".yml")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    path = Path(name)
    _written[text] = path
    atexit.register(path.unlink, missing_ok=True)
    return path
