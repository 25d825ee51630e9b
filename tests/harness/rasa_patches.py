"""Putting Rasa back as it was after a test that installed our runtime patches."""

from __future__ import annotations

import pytest
import sqlalchemy.event
from sqlalchemy.engine import Engine

from bot.infra.db import write_ahead
from bot.rasa_runtime import server


def put_back_afterwards(
    patch: pytest.MonkeyPatch, replaced: tuple[tuple[object, str], ...] = server.REPLACED
) -> None:
    """Rasa's own attributes come back when `patch` is undone; each as its owner
    holds it, so a staticmethod or classmethod keeps its descriptor."""
    for owner, name in replaced:
        own = vars(owner)
        patch.setattr(owner, name, own[name] if name in own else getattr(owner, name))


def remove_listener() -> None:
    """The SQLAlchemy listener server.install() adds (SQLite's write-ahead log)."""
    if sqlalchemy.event.contains(Engine, "connect", write_ahead):
        sqlalchemy.event.remove(Engine, "connect", write_ahead)
