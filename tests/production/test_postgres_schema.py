"""The Alembic migrations on PostgreSQL: the same schema as the models, both ways."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from bot.domain.models import Base
from bot.infra.db import drop_database
from bot.infra.migrate import downgrade_to_base, upgrade
from tests.production.conftest import new_database


@pytest.fixture
def empty_database(postgres_server: str) -> Iterator[str]:
    url = new_database(postgres_server, "schema")
    yield url
    drop_database(url)


def test_migrated_postgres_schema_matches_the_models(empty_database: str) -> None:
    upgrade(empty_database)
    upgrade(empty_database)  # idempotent
    engine = create_engine(empty_database)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_migrations_go_down_again(empty_database: str) -> None:
    upgrade(empty_database)
    downgrade_to_base(empty_database)
    engine = create_engine(empty_database)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
