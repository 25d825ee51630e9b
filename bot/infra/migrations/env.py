"""Alembic environment: the URL comes from bot.infra.settings (DATABASE_URL)."""

from __future__ import annotations

from alembic import context

from bot.domain.models import Base
from bot.infra.db import make_engine
from bot.infra.settings import get_settings

config = context.config
url = config.get_main_option("sqlalchemy.url") or get_settings().database_url

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url, statement_timeout=False)  # a schema change may take long
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
