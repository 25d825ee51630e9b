"""self-service part 1: meter readings, SEPA mandates, supply blocks, payment arrangements, cases

Readings and mandates may come from the billing system (import) or from the
assistant; payment arrangements carry their instalments; service cases
(moves, reconnections) keep their structured details and the files sent with
them. Customers get their payment method, handoff cases a priority.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment_arrangements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("deferred_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
        sa.UniqueConstraint("request_id", name="uq_payment_arrangements_request_id"),
    )
    with op.batch_alter_table("payment_arrangements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_arrangements_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_arrangements_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "sepa_mandates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("mandate_reference", sa.String(length=35), nullable=False),
        sa.Column("iban", sa.String(length=34), nullable=False),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("bank_name", sa.String(length=140), nullable=True),
        sa.Column("account_holder", sa.String(length=70), nullable=False),
        sa.Column("creditor_id", sa.String(length=35), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mandate_reference"),
        sa.UniqueConstraint("request_id", name="uq_sepa_mandates_request_id"),
    )
    with op.batch_alter_table("sepa_mandates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sepa_mandates_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sepa_mandates_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sepa_mandates_status"), ["status"], unique=False)

    op.create_table(
        "service_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("priority", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("handoff_case_id", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
        sa.UniqueConstraint("request_id", name="uq_service_cases_request_id"),
    )
    with op.batch_alter_table("service_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_cases_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_cases_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_service_cases_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_cases_status"), ["status"], unique=False)

    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("content_type", sa.String(length=50), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["service_cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_attachments_case_id"), ["case_id"], unique=False)

    op.create_table(
        "meter_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("meter_number", sa.String(length=40), nullable=True),
        sa.Column("read_on", sa.Date(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("plausibility", sa.String(length=20), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", name="uq_meter_readings_request_id"),
    )
    with op.batch_alter_table("meter_readings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meter_readings_contract_id"), ["contract_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_meter_readings_conversation_id"), ["conversation_id"], unique=False
        )

    op.create_table(
        "payment_instalments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("arrangement_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["arrangement_id"],
            ["payment_arrangements.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payment_instalments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_instalments_arrangement_id"), ["arrangement_id"], unique=False
        )

    op.create_table(
        "supply_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("announced_on", sa.Date(), nullable=True),
        sa.Column("blocked_on", sa.Date(), nullable=True),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supply_blocks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_blocks_contract_id"), ["contract_id"], unique=False
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "payment_method", sa.String(length=20), server_default="transfer", nullable=False
            )
        )

    with op.batch_alter_table("handoff_cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("handoff_cases", schema=None) as batch_op:
        batch_op.drop_column("priority")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("payment_method")

    with op.batch_alter_table("supply_blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_blocks_contract_id"))

    op.drop_table("supply_blocks")
    with op.batch_alter_table("payment_instalments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_instalments_arrangement_id"))

    op.drop_table("payment_instalments")
    with op.batch_alter_table("meter_readings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_readings_conversation_id"))
        batch_op.drop_index(batch_op.f("ix_meter_readings_contract_id"))

    op.drop_table("meter_readings")
    with op.batch_alter_table("case_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_attachments_case_id"))

    op.drop_table("case_attachments")
    with op.batch_alter_table("service_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_cases_status"))
        batch_op.drop_index(batch_op.f("ix_service_cases_kind"))
        batch_op.drop_index(batch_op.f("ix_service_cases_customer_id"))
        batch_op.drop_index(batch_op.f("ix_service_cases_conversation_id"))

    op.drop_table("service_cases")
    with op.batch_alter_table("sepa_mandates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sepa_mandates_status"))
        batch_op.drop_index(batch_op.f("ix_sepa_mandates_customer_id"))
        batch_op.drop_index(batch_op.f("ix_sepa_mandates_conversation_id"))

    op.drop_table("sepa_mandates")
    with op.batch_alter_table("payment_arrangements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_arrangements_customer_id"))
        batch_op.drop_index(batch_op.f("ix_payment_arrangements_conversation_id"))

    op.drop_table("payment_arrangements")
