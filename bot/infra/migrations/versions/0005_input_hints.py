"""input hints: phone calls and web chat messages keep what the bot's question expects

The phone channel read the dialogue's `requested_slot` to know what keypad
digits mean; it now keeps the reply's input hint (bot/protocol.py), and the
web chat stores it with the bot's message so a reloaded widget offers the
same keyboard.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("phone_calls") as batch:
        batch.add_column(sa.Column("expects", sa.JSON(), nullable=True))
        batch.drop_column("requested_slot")
    with op.batch_alter_table("chat_messages") as batch:
        batch.add_column(sa.Column("expects", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_column("expects")
    with op.batch_alter_table("phone_calls") as batch:
        batch.add_column(sa.Column("requested_slot", sa.String(length=40), nullable=True))
        batch.drop_column("expects")
