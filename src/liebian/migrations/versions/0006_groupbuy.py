"""Group buying: campaigns, groups, members and per-customer units; the orders' generic fulfilment hold;
subscribe-message templates for group outcomes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:46:52.925883
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('groupbuy_campaigns',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('sku_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=True),
    sa.Column('group_size', sa.SmallInteger(), nullable=False),
    sa.Column('min_size', sa.SmallInteger(), nullable=False),
    sa.Column('group_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('leader_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('ladder', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('starts_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('ends_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('stock', sa.BigInteger(), nullable=True),
    sa.Column('stock_left', sa.BigInteger(), nullable=True),
    sa.Column('per_customer_limit', sa.Integer(), nullable=True),
    sa.Column('new_customers_only', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('auto_complete_percent', sa.SmallInteger(), nullable=True),
    sa.Column('status', sa.String(length=8), server_default='active', nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('closed_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'closed', 'ended')", name=op.f('ck_groupbuy_campaigns_status')),
    sa.CheckConstraint('auto_complete_percent IS NULL OR auto_complete_percent BETWEEN 1 AND 99', name=op.f('ck_groupbuy_campaigns_auto_complete_percent')),
    sa.CheckConstraint('group_price_fen > 0 AND (leader_price_fen IS NULL OR leader_price_fen BETWEEN 0 AND group_price_fen)', name=op.f('ck_groupbuy_campaigns_prices')),
    sa.CheckConstraint('group_size BETWEEN 2 AND 100 AND min_size BETWEEN 2 AND group_size', name=op.f('ck_groupbuy_campaigns_sizes')),
    sa.CheckConstraint('stock_left IS NULL OR stock_left >= 0', name=op.f('ck_groupbuy_campaigns_stock_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groupbuy_campaigns'))
    )
    op.create_index('ix_groupbuy_campaigns_ending', 'groupbuy_campaigns', ['ends_at'], unique=False, postgresql_where=sa.text("status = 'active'"))
    op.create_index('ix_groupbuy_campaigns_product', 'groupbuy_campaigns', ['shop_id', 'product_id'], unique=False)
    op.create_index('ix_groupbuy_campaigns_shop', 'groupbuy_campaigns', ['shop_id', 'id'], unique=False)
    op.create_table('groupbuy_usage',
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.CheckConstraint('units >= 0', name=op.f('ck_groupbuy_usage_units_not_negative')),
    sa.PrimaryKeyConstraint('campaign_id', 'customer_id', name=op.f('pk_groupbuy_usage'))
    )
    op.create_table('groupbuy_groups',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('size', sa.SmallInteger(), nullable=False),
    sa.Column('min_size', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('slots_taken', sa.SmallInteger(), nullable=False),
    sa.Column('paid_count', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('leader_customer_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('opened_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('expires_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('closed_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('failure_reason', sa.String(length=16), nullable=True),
    sa.Column('final_unit_price_fen', sa.BigInteger(), nullable=True),
    sa.Column('completed_by_shop', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('shop_paid_slots', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'open', 'succeeded', 'failed')", name=op.f('ck_groupbuy_groups_status')),
    sa.CheckConstraint('paid_count >= 0 AND paid_count <= slots_taken', name=op.f('ck_groupbuy_groups_paid_within_taken')),
    sa.CheckConstraint('shop_paid_slots >= 0', name=op.f('ck_groupbuy_groups_shop_paid_slots')),
    sa.CheckConstraint('slots_taken >= 0 AND slots_taken <= size', name=op.f('ck_groupbuy_groups_never_overfilled')),
    sa.ForeignKeyConstraint(['campaign_id'], ['groupbuy_campaigns.id'], name=op.f('fk_groupbuy_groups_campaign_id_groupbuy_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groupbuy_groups'))
    )
    op.create_index('ix_groupbuy_groups_due', 'groupbuy_groups', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'open'"))
    op.create_index('ix_groupbuy_groups_joinable', 'groupbuy_groups', ['campaign_id', 'expires_at'], unique=False, postgresql_where=sa.text("status = 'open'"))
    op.create_index('ix_groupbuy_groups_shop', 'groupbuy_groups', ['shop_id', 'campaign_id', 'id'], unique=False)
    op.create_table('groupbuy_members',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('is_leader', sa.Boolean(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('joined_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('paid_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('left_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('held', 'paid', 'released', 'refunded')", name=op.f('ck_groupbuy_members_status')),
    sa.CheckConstraint('quantity > 0 AND unit_price_fen >= 0 AND paid_fen >= 0', name=op.f('ck_groupbuy_members_amounts')),
    sa.CheckConstraint('refunded_fen >= 0 AND refunded_fen <= paid_fen', name=op.f('ck_groupbuy_members_refund_cap')),
    sa.ForeignKeyConstraint(['group_id'], ['groupbuy_groups.id'], name=op.f('fk_groupbuy_members_group_id_groupbuy_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groupbuy_members'))
    )
    op.create_index('ix_groupbuy_members_customer', 'groupbuy_members', ['shop_id', 'customer_id', 'id'], unique=False)
    op.create_index('ix_groupbuy_members_group', 'groupbuy_members', ['group_id', 'id'], unique=False)
    op.create_index('uq_groupbuy_members_once', 'groupbuy_members', ['group_id', 'customer_id'], unique=True, postgresql_where=sa.text("status IN ('held', 'paid')"))
    op.create_index('uq_groupbuy_members_order', 'groupbuy_members', ['order_id'], unique=True)
    op.add_column('orders', sa.Column('fulfilment_hold', sa.String(length=32), nullable=True))
    # Autogenerate does not compare CHECK constraints: the new subscribe-message events, by hand.
    op.drop_constraint(op.f('ck_subscribe_templates_event'), 'subscribe_templates', type_='check')
    op.create_check_constraint(op.f('ck_subscribe_templates_event'), 'subscribe_templates', "event IN ('order_paid', "
                               "'order_shipped', 'order_refunded', 'group_succeeded', 'group_failed')")


def downgrade() -> None:
    op.execute("DELETE FROM subscribe_templates WHERE event IN ('group_succeeded', 'group_failed')")
    op.drop_constraint(op.f('ck_subscribe_templates_event'), 'subscribe_templates', type_='check')
    op.create_check_constraint(op.f('ck_subscribe_templates_event'), 'subscribe_templates',
                               "event IN ('order_paid', 'order_shipped', 'order_refunded')")
    op.drop_column('orders', 'fulfilment_hold')
    op.drop_index('uq_groupbuy_members_order', table_name='groupbuy_members')
    op.drop_index('uq_groupbuy_members_once', table_name='groupbuy_members', postgresql_where=sa.text("status IN ('held', 'paid')"))
    op.drop_index('ix_groupbuy_members_group', table_name='groupbuy_members')
    op.drop_index('ix_groupbuy_members_customer', table_name='groupbuy_members')
    op.drop_table('groupbuy_members')
    op.drop_index('ix_groupbuy_groups_shop', table_name='groupbuy_groups')
    op.drop_index('ix_groupbuy_groups_joinable', table_name='groupbuy_groups', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_groupbuy_groups_due', table_name='groupbuy_groups', postgresql_where=sa.text("status = 'open'"))
    op.drop_table('groupbuy_groups')
    op.drop_table('groupbuy_usage')
    op.drop_index('ix_groupbuy_campaigns_shop', table_name='groupbuy_campaigns')
    op.drop_index('ix_groupbuy_campaigns_product', table_name='groupbuy_campaigns')
    op.drop_index('ix_groupbuy_campaigns_ending', table_name='groupbuy_campaigns', postgresql_where=sa.text("status = 'active'"))
    op.drop_table('groupbuy_campaigns')
