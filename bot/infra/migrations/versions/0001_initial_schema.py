"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23

Amounts are stored as scaled integers (cents; consumption in thousandths),
see bot.domain.columns.ScaledDecimal.
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_number', sa.String(length=8), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('postcode', sa.String(length=5), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('preferred_language', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_number')
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_phone'), ['phone'], unique=False)

    op.create_table('handoff_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('customer_number', sa.String(length=8), nullable=True),
    sa.Column('transcript', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )
    with op.batch_alter_table('handoff_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_cases_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handoff_cases_customer_number'), ['customer_number'], unique=False)

    op.create_table('contracts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('contract_number', sa.String(length=8), nullable=False),
    sa.Column('commodity', sa.String(length=20), nullable=False),
    sa.Column('tariff', sa.String(length=100), nullable=True),
    sa.Column('meter_number', sa.String(length=40), nullable=True),
    sa.Column('advance_amount', sa.BigInteger(), nullable=False),
    sa.Column('advance_due_day', sa.Integer(), nullable=False),
    sa.Column('recommended_advance', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract_number')
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contracts_customer_id'), ['customer_id'], unique=False)

    op.create_table('advance_payment_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=False),
    sa.Column('old_amount', sa.BigInteger(), nullable=False),
    sa.Column('new_amount', sa.BigInteger(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('conversation_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', name='uq_apc_request_id')
    )
    with op.batch_alter_table('advance_payment_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_advance_payment_changes_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_advance_payment_changes_conversation_id'), ['conversation_id'], unique=False)

    op.create_table('bills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('bill_number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('consumption', sa.BigInteger(), nullable=False),
    sa.Column('unit', sa.String(length=10), nullable=False),
    sa.Column('total_amount', sa.BigInteger(), nullable=False),
    sa.Column('advance_payments_made', sa.BigInteger(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bill_number')
    )
    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bills_contract_id'), ['contract_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('bills', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bills_contract_id'))

    op.drop_table('bills')
    with op.batch_alter_table('advance_payment_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_advance_payment_changes_conversation_id'))
        batch_op.drop_index(batch_op.f('ix_advance_payment_changes_contract_id'))

    op.drop_table('advance_payment_changes')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contracts_customer_id'))

    op.drop_table('contracts')
    with op.batch_alter_table('handoff_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_cases_customer_number'))
        batch_op.drop_index(batch_op.f('ix_handoff_cases_conversation_id'))

    op.drop_table('handoff_cases')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_phone'))

    op.drop_table('customers')

