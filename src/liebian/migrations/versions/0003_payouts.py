"""Payouts: transfer bills (withdrawals to WeChat balance).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:24:42.256004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('transfer_bills',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('out_bill_no', sa.String(length=32), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('remark', sa.String(length=32), nullable=False),
    sa.Column('user_name', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('package_info', sa.Text(), nullable=True),
    sa.Column('transfer_bill_no', sa.String(length=64), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_event_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('finished_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('next_check_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('requested', 'wait_user_confirm', 'processing', 'succeeded', 'failed', 'cancelled')", name=op.f('ck_transfer_bills_state')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_transfer_bills_amount_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_bills')),
    sa.UniqueConstraint('out_bill_no', name=op.f('uq_transfer_bills_out_bill_no'))
    )
    op.create_index('ix_transfer_bills_customer', 'transfer_bills', ['shop_id', 'customer_id'], unique=False)
    op.create_index('ix_transfer_bills_next_check', 'transfer_bills', ['next_check_at'], unique=False, postgresql_where=sa.text("state IN ('requested', 'wait_user_confirm', 'processing')"))


def downgrade() -> None:
    op.drop_index('ix_transfer_bills_next_check', table_name='transfer_bills', postgresql_where=sa.text("state IN ('requested', 'wait_user_confirm', 'processing')"))
    op.drop_index('ix_transfer_bills_customer', table_name='transfer_bills')
    op.drop_table('transfer_bills')
