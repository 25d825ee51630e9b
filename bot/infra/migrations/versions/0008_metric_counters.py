"""metric counters: /metrics reads a few rows instead of counting whole tables

Every scrape counted all handoff cases and all of Rasa's events. Handoffs
and fallbacks are now counted where they happen; the queue and calls in
progress are counted through indexes on their status.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("labels", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "labels", name="uq_metric_counter"),
    )
    # The handoffs counted so far carry over (a counter that starts again at 0 is a reset).
    op.execute(
        "INSERT INTO metric_counters (name, labels, value) "
        "SELECT 'handoffs', channel || '|' || reason, COUNT(*) FROM handoff_cases "
        "GROUP BY channel, reason"
    )
    with op.batch_alter_table("handoff_cases") as batch:
        batch.create_index("ix_handoff_cases_status", ["status"])
    with op.batch_alter_table("phone_calls") as batch:
        batch.create_index("ix_phone_calls_status", ["status"])


def downgrade() -> None:
    with op.batch_alter_table("phone_calls") as batch:
        batch.drop_index("ix_phone_calls_status")
    with op.batch_alter_table("handoff_cases") as batch:
        batch.drop_index("ix_handoff_cases_status")
    op.drop_table("metric_counters")
