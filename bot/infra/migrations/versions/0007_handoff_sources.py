"""handoff sources: cases per source, so a flood of conversations cannot fill the queue

Anyone could open unlimited handoff cases by starting new conversations.
Each case now records its source (a digest of the client address or the
caller's number), and each source has a row that serialises its openings.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "handoff_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("last_case_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("handoff_cases") as batch:
        batch.add_column(sa.Column("source_key", sa.String(length=80), nullable=True))
        batch.create_index("ix_handoff_cases_source_key", ["source_key"])


def downgrade() -> None:
    with op.batch_alter_table("handoff_cases") as batch:
        batch.drop_index("ix_handoff_cases_source_key")
        batch.drop_column("source_key")
    op.drop_table("handoff_sources")
