"""campaigns tables: ad and placement campaigns, their landing codes, daily spend, each shop's search code.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('campaigns',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('landing_type', sa.String(length=16), nullable=False),
    sa.Column('landing_id', sa.BigInteger(), nullable=False),
    sa.Column('geo_store_id', sa.BigInteger(), nullable=True),
    sa.Column('geo_radius_m', sa.Integer(), nullable=True),
    sa.Column('budget_fen', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=8), server_default='active', nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('ended_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'ended')", name=op.f('ck_campaigns_status')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_campaigns_dates')),
    sa.CheckConstraint('budget_fen IS NULL OR budget_fen >= 0', name=op.f('ck_campaigns_budget')),
    sa.CheckConstraint('(geo_store_id IS NULL) = (geo_radius_m IS NULL) AND (geo_radius_m IS NULL OR '
                       'geo_radius_m BETWEEN 100 AND 50000)', name=op.f('ck_campaigns_geo')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_index('uq_campaigns_key', 'campaigns', ['shop_id', 'key'], unique=True)
    op.create_index('ix_campaigns_shop', 'campaigns', ['shop_id', 'id'], unique=False)
    op.create_table('campaign_codes',
    sa.Column('share_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_codes_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('share_id', name=op.f('pk_campaign_codes'))
    )
    op.create_index('ix_campaign_codes_campaign', 'campaign_codes', ['campaign_id', 'share_id'], unique=False)
    op.create_index('uq_campaign_codes_label', 'campaign_codes', ['campaign_id', 'label'], unique=True)
    op.create_table('campaign_spend',
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_campaign_spend_amount_not_negative')),
    sa.CheckConstraint("source IN ('manual', 'import')", name=op.f('ck_campaign_spend_source')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_spend_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('campaign_id', 'day', name=op.f('pk_campaign_spend'))
    )
    op.create_index('ix_campaign_spend_shop_day', 'campaign_spend', ['shop_id', 'day'], unique=False)
    op.create_table('campaign_search_codes',
    sa.Column('shop_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('share_id', sa.BigInteger(), nullable=True),
    sa.Column('code', sa.String(length=16), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('shop_id', name=op.f('pk_campaign_search_codes'))
    )


def downgrade() -> None:
    op.drop_table('campaign_search_codes')
    op.drop_index('ix_campaign_spend_shop_day', table_name='campaign_spend')
    op.drop_table('campaign_spend')
    op.drop_index('uq_campaign_codes_label', table_name='campaign_codes')
    op.drop_index('ix_campaign_codes_campaign', table_name='campaign_codes')
    op.drop_table('campaign_codes')
    op.drop_index('ix_campaigns_shop', table_name='campaigns')
    op.drop_index('uq_campaigns_key', table_name='campaigns')
    op.drop_table('campaigns')
