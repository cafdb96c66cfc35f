"""Bargain (砍价): campaigns, bargains with their cut plans, the cuts, per-customer initiations and the
daily help counters behind the anti-abuse caps.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = postgresql.TIMESTAMP(timezone=True)
LIVE = "status IN ('active', 'complete', 'ordered')"


def upgrade() -> None:
    op.create_table('bargain_campaigns',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('sku_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=True),
    sa.Column('start_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('floor_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('helpers_needed', sa.SmallInteger(), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('starts_at', TS, nullable=False),
    sa.Column('ends_at', TS, nullable=True),
    sa.Column('initiations_per_customer', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('helps_per_helper_per_day', sa.Integer(), nullable=True),
    sa.Column('helps_per_device_per_day', sa.Integer(), nullable=True),
    sa.Column('buy_anytime', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('stock', sa.BigInteger(), nullable=True),
    sa.Column('stock_left', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=8), server_default='active', nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('closed_at', TS, nullable=True),
    sa.CheckConstraint("status IN ('active', 'closed', 'ended')", name=op.f('ck_bargain_campaigns_status')),
    sa.CheckConstraint('helpers_needed BETWEEN 1 AND 100', name=op.f('ck_bargain_campaigns_helpers_needed')),
    sa.CheckConstraint('floor_price_fen >= 0 AND start_price_fen - floor_price_fen >= helpers_needed + 1',
                       name=op.f('ck_bargain_campaigns_prices')),
    sa.CheckConstraint('initiations_per_customer >= 1', name=op.f('ck_bargain_campaigns_initiations')),
    sa.CheckConstraint('(helps_per_helper_per_day IS NULL OR helps_per_helper_per_day >= 1) AND '
                       '(helps_per_device_per_day IS NULL OR helps_per_device_per_day >= 1)',
                       name=op.f('ck_bargain_campaigns_help_caps')),
    sa.CheckConstraint('stock_left IS NULL OR (stock_left >= 0 AND stock_left <= stock)',
                       name=op.f('ck_bargain_campaigns_stock_left')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bargain_campaigns'))
    )
    op.create_index('ix_bargain_campaigns_shop', 'bargain_campaigns', ['shop_id', 'id'], unique=False)
    op.create_index('ix_bargain_campaigns_ending', 'bargain_campaigns', ['ends_at'], unique=False,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_table('bargain_bargains',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('start_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('floor_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('current_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('helpers_needed', sa.SmallInteger(), nullable=False),
    sa.Column('help_count', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('cuts', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('buy_anytime', sa.Boolean(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('expires_at', TS, nullable=False),
    sa.Column('completed_at', TS, nullable=True),
    sa.Column('ordered_at', TS, nullable=True),
    sa.Column('closed_at', TS, nullable=True),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('order_no', sa.String(length=32), nullable=True),
    sa.Column('orders_cancelled', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint("status IN ('active', 'complete', 'ordered', 'expired')",
                       name=op.f('ck_bargain_bargains_status')),
    sa.CheckConstraint('current_price_fen >= floor_price_fen AND current_price_fen < start_price_fen',
                       name=op.f('ck_bargain_bargains_never_below_floor')),
    sa.CheckConstraint('help_count >= 0 AND help_count <= helpers_needed',
                       name=op.f('ck_bargain_bargains_never_over_helped')),
    sa.CheckConstraint('(help_count = helpers_needed) = (current_price_fen = floor_price_fen)',
                       name=op.f('ck_bargain_bargains_floor_at_last')),
    sa.CheckConstraint('cardinality(cuts) = helpers_needed + 1', name=op.f('ck_bargain_bargains_plan_length')),
    sa.CheckConstraint("status <> 'complete' OR help_count = helpers_needed",
                       name=op.f('ck_bargain_bargains_complete_when_helped')),
    sa.CheckConstraint("order_id IS NULL OR status = 'ordered'", name=op.f('ck_bargain_bargains_order_when_ordered')),
    sa.ForeignKeyConstraint(['campaign_id'], ['bargain_campaigns.id'],
                            name=op.f('fk_bargain_bargains_campaign_id_bargain_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bargain_bargains'))
    )
    op.create_index('uq_bargain_bargains_live', 'bargain_bargains', ['campaign_id', 'customer_id'], unique=True,
                    postgresql_where=sa.text(LIVE))
    op.create_index('uq_bargain_bargains_order', 'bargain_bargains', ['order_id'], unique=True,
                    postgresql_where=sa.text('order_id IS NOT NULL'))
    op.create_index('ix_bargain_bargains_due', 'bargain_bargains', ['expires_at'], unique=False,
                    postgresql_where=sa.text("status IN ('active', 'complete')"))
    op.create_index('ix_bargain_bargains_shop', 'bargain_bargains', ['shop_id', 'campaign_id', 'id'], unique=False)
    op.create_index('ix_bargain_bargains_customer', 'bargain_bargains', ['shop_id', 'customer_id', 'id'],
                    unique=False)
    op.create_table('bargain_helps',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('bargain_id', sa.BigInteger(), nullable=False),
    sa.Column('helper_customer_id', sa.BigInteger(), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('seq', sa.SmallInteger(), nullable=False),
    sa.Column('cut_fen', sa.BigInteger(), nullable=False),
    sa.Column('price_after_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.CheckConstraint('seq >= 0 AND cut_fen >= 1 AND price_after_fen >= 0', name=op.f('ck_bargain_helps_amounts')),
    sa.ForeignKeyConstraint(['bargain_id'], ['bargain_bargains.id'],
                            name=op.f('fk_bargain_helps_bargain_id_bargain_bargains')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bargain_helps'))
    )
    op.create_index('uq_bargain_helps_once', 'bargain_helps', ['bargain_id', 'helper_customer_id'], unique=True)
    op.create_index('uq_bargain_helps_seq', 'bargain_helps', ['bargain_id', 'seq'], unique=True)
    op.create_index('ix_bargain_helps_helper', 'bargain_helps', ['shop_id', 'helper_customer_id', 'id'], unique=False)
    op.create_table('bargain_initiations',
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('started', sa.Integer(), nullable=False),
    sa.CheckConstraint('started >= 0', name=op.f('ck_bargain_initiations_started_not_negative')),
    sa.PrimaryKeyConstraint('campaign_id', 'customer_id', name=op.f('pk_bargain_initiations'))
    )
    op.create_table('bargain_help_quotas',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('helper', 'device')", name=op.f('ck_bargain_help_quotas_kind')),
    sa.CheckConstraint('used >= 0', name=op.f('ck_bargain_help_quotas_used_not_negative')),
    sa.PrimaryKeyConstraint('shop_id', 'day', 'kind', 'subject', name=op.f('pk_bargain_help_quotas'))
    )
    op.create_index('ix_bargain_help_quotas_day', 'bargain_help_quotas', ['day'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_bargain_help_quotas_day', table_name='bargain_help_quotas')
    op.drop_table('bargain_help_quotas')
    op.drop_table('bargain_initiations')
    op.drop_index('ix_bargain_helps_helper', table_name='bargain_helps')
    op.drop_index('uq_bargain_helps_seq', table_name='bargain_helps')
    op.drop_index('uq_bargain_helps_once', table_name='bargain_helps')
    op.drop_table('bargain_helps')
    op.drop_index('ix_bargain_bargains_customer', table_name='bargain_bargains')
    op.drop_index('ix_bargain_bargains_shop', table_name='bargain_bargains')
    op.drop_index('ix_bargain_bargains_due', table_name='bargain_bargains',
                  postgresql_where=sa.text("status IN ('active', 'complete')"))
    op.drop_index('uq_bargain_bargains_order', table_name='bargain_bargains',
                  postgresql_where=sa.text('order_id IS NOT NULL'))
    op.drop_index('uq_bargain_bargains_live', table_name='bargain_bargains', postgresql_where=sa.text(LIVE))
    op.drop_table('bargain_bargains')
    op.drop_index('ix_bargain_campaigns_ending', table_name='bargain_campaigns',
                  postgresql_where=sa.text("status = 'active'"))
    op.drop_index('ix_bargain_campaigns_shop', table_name='bargain_campaigns')
    op.drop_table('bargain_campaigns')
