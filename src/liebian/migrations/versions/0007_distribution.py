"""Distribution: settings, promoters, per-product commission rules, commissions and rebates (one per
(order line, beneficiary, level), one rebate per invitee), withdrawals.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 13:04:25.105469
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('distribution_commissions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('order_line_id', sa.BigInteger(), nullable=True),
    sa.Column('buyer_id', sa.BigInteger(), nullable=False),
    sa.Column('beneficiary_id', sa.BigInteger(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('base_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_base_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('rate_bps', sa.BigInteger(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('cancelled_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('reversed_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('accrued_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('settle_due_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('settled_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("(kind = 'commission' AND level IN (1, 2) AND order_line_id IS NOT NULL) OR (kind = 'rebate' AND level = 0 AND order_line_id IS NULL)", name=op.f('ck_distribution_commissions_shape')),
    sa.CheckConstraint("kind IN ('commission', 'rebate')", name=op.f('ck_distribution_commissions_kind')),
    sa.CheckConstraint("status IN ('pending', 'settled', 'cancelled')", name=op.f('ck_distribution_commissions_status')),
    sa.CheckConstraint('amount_fen > 0 AND cancelled_fen >= 0 AND reversed_fen >= 0 AND cancelled_fen + reversed_fen <= amount_fen', name=op.f('ck_distribution_commissions_amounts')),
    sa.CheckConstraint('refunded_base_fen >= 0 AND refunded_base_fen <= base_fen', name=op.f('ck_distribution_commissions_refunded_base')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distribution_commissions')),
    sa.UniqueConstraint('order_line_id', 'beneficiary_id', 'level', name='uq_distribution_commissions_line')
    )
    op.create_index('ix_distribution_commissions_beneficiary', 'distribution_commissions', ['shop_id', 'beneficiary_id', 'id'], unique=False)
    op.create_index('ix_distribution_commissions_due', 'distribution_commissions', ['settle_due_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))
    op.create_index('ix_distribution_commissions_order', 'distribution_commissions', ['order_id'], unique=False)
    op.create_index('uq_distribution_rebates_invitee', 'distribution_commissions', ['shop_id', 'buyer_id'], unique=True, postgresql_where=sa.text("kind = 'rebate'"))
    op.create_table('distribution_product_rules',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('level1', sa.BigInteger(), nullable=False),
    sa.Column('level2', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.CheckConstraint("mode IN ('rate', 'fixed', 'none')", name=op.f('ck_distribution_product_rules_mode')),
    sa.PrimaryKeyConstraint('shop_id', 'product_id', name=op.f('pk_distribution_product_rules'))
    )
    op.create_table('distribution_promoters',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('level', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('sales_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('invite_code', sa.String(length=12), nullable=False),
    sa.Column('applied_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('decided_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'active', 'rejected', 'disabled')", name=op.f('ck_distribution_promoters_status')),
    sa.CheckConstraint('sales_fen >= 0', name=op.f('ck_distribution_promoters_sales')),
    sa.PrimaryKeyConstraint('shop_id', 'customer_id', name=op.f('pk_distribution_promoters')),
    sa.UniqueConstraint('invite_code', name=op.f('uq_distribution_promoters_invite_code'))
    )
    op.create_index('ix_distribution_promoters_sales', 'distribution_promoters', ['shop_id', 'sales_fen'], unique=False)
    op.create_table('distribution_settings',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_distribution_settings'))
    )
    op.create_table('distribution_withdrawals',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('out_bill_no', sa.String(length=32), nullable=True),
    sa.Column('auto_approved', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('reject_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('decided_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('finished_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending_review', 'rejected', 'transferring', 'paid', 'failed')", name=op.f('ck_distribution_withdrawals_state')),
    sa.CheckConstraint('amount_fen > 0 AND fee_fen >= 0 AND fee_fen < amount_fen', name=op.f('ck_distribution_withdrawals_amounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distribution_withdrawals')),
    sa.UniqueConstraint('out_bill_no', name=op.f('uq_distribution_withdrawals_out_bill_no'))
    )
    op.create_index('ix_distribution_withdrawals_customer', 'distribution_withdrawals', ['shop_id', 'customer_id', 'created_at'], unique=False)
    op.create_index('ix_distribution_withdrawals_review', 'distribution_withdrawals', ['shop_id', 'state', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_distribution_withdrawals_review', table_name='distribution_withdrawals')
    op.drop_index('ix_distribution_withdrawals_customer', table_name='distribution_withdrawals')
    op.drop_table('distribution_withdrawals')
    op.drop_table('distribution_settings')
    op.drop_index('ix_distribution_promoters_sales', table_name='distribution_promoters')
    op.drop_table('distribution_promoters')
    op.drop_table('distribution_product_rules')
    op.drop_index('uq_distribution_rebates_invitee', table_name='distribution_commissions', postgresql_where=sa.text("kind = 'rebate'"))
    op.drop_index('ix_distribution_commissions_order', table_name='distribution_commissions')
    op.drop_index('ix_distribution_commissions_due', table_name='distribution_commissions', postgresql_where=sa.text("status = 'pending'"))
    op.drop_index('ix_distribution_commissions_beneficiary', table_name='distribution_commissions')
    op.drop_table('distribution_commissions')
