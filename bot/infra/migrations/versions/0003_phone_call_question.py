"""phone calls remember the question being asked (for keypad input)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("phone_calls") as batch:
        batch.add_column(sa.Column("requested_slot", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("phone_calls") as batch:
        batch.drop_column("requested_slot")
