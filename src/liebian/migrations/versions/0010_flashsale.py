"""flashsale tables: campaigns (time slots that never overlap on one SKU), buyers' units, entries.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The slot exclusion constraint compares sku_id with = inside a GiST index (trusted extension, PG 13+).
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table('flashsale_campaigns',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('sku_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=True),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.BigInteger(), nullable=False),
    sa.Column('sold', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('returned', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('per_customer_limit', sa.Integer(), nullable=False),
    sa.Column('starts_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('ends_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=8), server_default='active', nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('ended_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'ended')", name=op.f('ck_flashsale_campaigns_status')),
    sa.CheckConstraint('price_fen > 0', name=op.f('ck_flashsale_campaigns_price')),
    sa.CheckConstraint('stock > 0 AND per_customer_limit >= 1', name=op.f('ck_flashsale_campaigns_stock_and_limit')),
    sa.CheckConstraint('sold >= 0 AND sold <= stock', name=op.f('ck_flashsale_campaigns_never_oversold')),
    sa.CheckConstraint('returned >= 0 AND sold + returned <= stock', name=op.f('ck_flashsale_campaigns_returned_within_stock')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_flashsale_campaigns_window')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flashsale_campaigns')),
    postgresql.ExcludeConstraint((sa.column('sku_id'), '='), (sa.text('tstzrange(starts_at, ends_at)'), '&&'),
                                 name='slots_do_not_overlap', using='gist', where=sa.text("status = 'active'")),
    )
    op.create_index('ix_flashsale_campaigns_shop', 'flashsale_campaigns', ['shop_id', 'starts_at', 'id'], unique=False)
    op.create_index('ix_flashsale_campaigns_ending', 'flashsale_campaigns', ['ends_at'], unique=False,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_table('flashsale_buyers',
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('bought', sa.Integer(), nullable=False),
    sa.CheckConstraint('bought >= 0', name=op.f('ck_flashsale_buyers_bought_not_negative')),
    sa.PrimaryKeyConstraint('campaign_id', 'customer_id', name=op.f('pk_flashsale_buyers'))
    )
    op.create_table('flashsale_entries',
    sa.Column('id', sa.String(length=48), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('queued', sa.Boolean(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('order_no', sa.String(length=32), nullable=True),
    sa.Column('failure_code', sa.String(length=40), nullable=True),
    sa.Column('entered_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('decided_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('ordered', 'failed', 'returned')", name=op.f('ck_flashsale_entries_status')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_flashsale_entries_quantity')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flashsale_entries'))
    )
    op.create_index('uq_flashsale_entries_order', 'flashsale_entries', ['order_id'], unique=True,
                    postgresql_where=sa.text('order_id IS NOT NULL'))
    op.create_index('ix_flashsale_entries_campaign', 'flashsale_entries', ['campaign_id', 'status'], unique=False)
    op.create_index('ix_flashsale_entries_customer', 'flashsale_entries', ['shop_id', 'customer_id', 'entered_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_table('flashsale_entries')
    op.drop_table('flashsale_buyers')
    op.drop_index('ix_flashsale_campaigns_ending', table_name='flashsale_campaigns',
                  postgresql_where=sa.text("status = 'active'"))
    op.drop_index('ix_flashsale_campaigns_shop', table_name='flashsale_campaigns')
    op.drop_table('flashsale_campaigns')
