"""self-service part 2: known outages by postcode and commodity

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=40), nullable=True),
        sa.Column("postcode", sa.String(length=5), nullable=False),
        sa.Column("commodity", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("expected_end", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("note_de", sa.String(length=300), nullable=False),
        sa.Column("note_tr", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["updated_by"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("external_id"),
    )
    with op.batch_alter_table("known_outages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_known_outages_postcode"), ["postcode"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("known_outages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_known_outages_postcode"))
    op.drop_table("known_outages")
