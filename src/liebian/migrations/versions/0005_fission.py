"""Fission: shares, visits, bindings and their history, attributions, analytics facts, mini-program codes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 11:00:50.759788
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('fission_attributions',
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=12), nullable=False),
    sa.Column('share_id', sa.BigInteger(), nullable=True),
    sa.Column('sharer_id', sa.BigInteger(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('campaign', sa.String(length=64), nullable=True),
    sa.Column('root_sharer_id', sa.BigInteger(), nullable=True),
    sa.Column('depth', sa.BigInteger(), nullable=True),
    sa.Column('bound_promoter_id', sa.BigInteger(), nullable=True),
    sa.Column('payable_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_fission_attributions'))
    )
    op.create_index('ix_fission_attributions_order_no', 'fission_attributions', ['shop_id', 'order_no'], unique=True)
    op.create_index('ix_fission_attributions_sharer', 'fission_attributions', ['shop_id', 'sharer_id'], unique=False)
    op.create_table('fission_binding_events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('promoter_id', sa.BigInteger(), nullable=False),
    sa.Column('previous_promoter_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('share_id', sa.BigInteger(), nullable=True),
    sa.Column('policy', sa.String(length=16), nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fission_binding_events'))
    )
    op.create_index('ix_fission_binding_events_customer', 'fission_binding_events', ['shop_id', 'customer_id', 'at'], unique=False)
    op.create_table('fission_bindings',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('promoter_id', sa.BigInteger(), nullable=False),
    sa.Column('share_id', sa.BigInteger(), nullable=True),
    sa.Column('bound_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('expires_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('protected_until', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('shop_id', 'customer_id', name=op.f('pk_fission_bindings'))
    )
    op.create_table('fission_facts',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('sharer_id', sa.BigInteger(), nullable=True),
    sa.Column('share_id', sa.BigInteger(), nullable=True),
    sa.Column('root_share_id', sa.BigInteger(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('target_type', sa.String(length=16), nullable=True),
    sa.Column('target_id', sa.BigInteger(), nullable=True),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fission_facts'))
    )
    op.create_index('ix_fission_facts_at_brin', 'fission_facts', ['at'], unique=False, postgresql_using='brin')
    op.create_index('ix_fission_facts_shop_at', 'fission_facts', ['shop_id', 'at'], unique=False)
    op.create_table('fission_shares',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('sharer_id', sa.BigInteger(), nullable=True),
    sa.Column('target_type', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('campaign', sa.String(length=64), nullable=True),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('root_id', sa.BigInteger(), nullable=True),
    sa.Column('depth', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.CheckConstraint('depth >= 0', name=op.f('ck_fission_shares_depth')),
    sa.ForeignKeyConstraint(['parent_id'], ['fission_shares.id'], name=op.f('fk_fission_shares_parent_id_fission_shares')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fission_shares')),
    sa.UniqueConstraint('code', name=op.f('uq_fission_shares_code'))
    )
    op.create_index('ix_fission_shares_root', 'fission_shares', ['root_id'], unique=False)
    op.create_index('ix_fission_shares_sharer', 'fission_shares', ['shop_id', 'sharer_id'], unique=False)
    op.create_table('fission_visits',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('share_id', sa.BigInteger(), nullable=False),
    sa.Column('sharer_id', sa.BigInteger(), nullable=True),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('scene', sa.BigInteger(), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.CheckConstraint('customer_id IS NOT NULL OR device_id IS NOT NULL', name=op.f('ck_fission_visits_someone')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fission_visits'))
    )
    op.create_index('ix_fission_visits_customer', 'fission_visits', ['shop_id', 'customer_id', 'created_at'], unique=False)
    op.create_index('ix_fission_visits_device', 'fission_visits', ['shop_id', 'device_id'], unique=False, postgresql_where=sa.text('customer_id IS NULL'))
    op.create_index('ix_fission_visits_share', 'fission_visits', ['share_id', 'created_at'], unique=False)
    op.create_table('fission_codes',
    sa.Column('share_id', sa.BigInteger(), nullable=False),
    sa.Column('png', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['share_id'], ['fission_shares.id'], name=op.f('fk_fission_codes_share_id_fission_shares')),
    sa.PrimaryKeyConstraint('share_id', name=op.f('pk_fission_codes'))
    )


def downgrade() -> None:
    op.drop_table('fission_codes')
    op.drop_index('ix_fission_visits_share', table_name='fission_visits')
    op.drop_index('ix_fission_visits_device', table_name='fission_visits', postgresql_where=sa.text('customer_id IS NULL'))
    op.drop_index('ix_fission_visits_customer', table_name='fission_visits')
    op.drop_table('fission_visits')
    op.drop_index('ix_fission_shares_sharer', table_name='fission_shares')
    op.drop_index('ix_fission_shares_root', table_name='fission_shares')
    op.drop_table('fission_shares')
    op.drop_index('ix_fission_facts_shop_at', table_name='fission_facts')
    op.drop_index('ix_fission_facts_at_brin', table_name='fission_facts', postgresql_using='brin')
    op.drop_table('fission_facts')
    op.drop_table('fission_bindings')
    op.drop_index('ix_fission_binding_events_customer', table_name='fission_binding_events')
    op.drop_table('fission_binding_events')
    op.drop_index('ix_fission_attributions_sharer', table_name='fission_attributions')
    op.drop_index('ix_fission_attributions_order_no', table_name='fission_attributions')
    op.drop_table('fission_attributions')
