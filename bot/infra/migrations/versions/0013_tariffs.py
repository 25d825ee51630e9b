"""self-service part 2: the tariffs the utility offers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tariffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("commodity", sa.String(length=20), nullable=False),
        sa.Column("working_price", sa.BigInteger(), nullable=False),
        sa.Column("base_price", sa.BigInteger(), nullable=False),
        sa.Column("green", sa.Boolean(), nullable=False),
        sa.Column("minimum_term_months", sa.Integer(), nullable=False),
        sa.Column("offered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("tariffs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tariffs_commodity"), ["commodity"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tariffs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tariffs_commodity"))
    op.drop_table("tariffs")
