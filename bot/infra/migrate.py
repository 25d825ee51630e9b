"""Bring a database to the newest schema with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from bot.infra.db import ensure_database
from bot.infra.settings import get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return config


def upgrade(url: str | None = None) -> None:
    """Apply every migration not yet applied (safe to run again).

    A missing database is created first (a SQLite file's folder, or a
    PostgreSQL database if the role may create one).
    """
    target = url or get_settings().database_url
    if target.startswith("sqlite:///"):
        Path(target.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    ensure_database(target)
    command.upgrade(alembic_config(target), "head")


def downgrade_to_base(url: str) -> None:
    """Undo every migration (tests check that each one can be reverted)."""
    command.downgrade(alembic_config(url), "base")
