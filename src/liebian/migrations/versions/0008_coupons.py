"""Coupons: templates, per-customer holdings, coupons; share red packets: offers, packets, parts, daily caps.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = postgresql.TIMESTAMP(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())
TERMS = ("(kind = 'fixed' AND amount_fen > 0) OR (kind = 'threshold' AND amount_fen > 0 AND threshold_fen > 0) "
         "OR (kind = 'percent' AND percent_bps BETWEEN 1 AND 9999 AND (cap_fen IS NULL OR cap_fen > 0))")
KINDS = "kind IN ('fixed', 'percent', 'threshold')"
SCOPES = "scope_type IN ('shop', 'category', 'product')"


def _terms_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=True),
        sa.Column('percent_bps', sa.Integer(), nullable=True),
        sa.Column('cap_fen', sa.BigInteger(), nullable=True),
        sa.Column('threshold_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    ]


def upgrade() -> None:
    op.create_table('coupon_templates',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    *_terms_columns(),
    sa.Column('scope_type', sa.String(length=10), server_default='shop', nullable=False),
    sa.Column('scope_ids', JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('stackable', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('total_quantity', sa.BigInteger(), nullable=False),
    sa.Column('issued', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('per_customer_limit', sa.Integer(), nullable=False),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('valid_from', TS, nullable=True),
    sa.Column('valid_to', TS, nullable=True),
    sa.Column('status', sa.String(length=10), server_default='active', nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('disabled_at', TS, nullable=True),
    sa.CheckConstraint(KINDS, name=op.f('ck_coupon_templates_kind')),
    sa.CheckConstraint(SCOPES, name=op.f('ck_coupon_templates_scope_type')),
    sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f('ck_coupon_templates_status')),
    sa.CheckConstraint(TERMS, name=op.f('ck_coupon_templates_terms')),
    sa.CheckConstraint('threshold_fen >= 0', name=op.f('ck_coupon_templates_threshold')),
    sa.CheckConstraint('total_quantity > 0 AND issued >= 0 AND issued <= total_quantity',
                       name=op.f('ck_coupon_templates_never_over_issued')),
    sa.CheckConstraint('per_customer_limit >= 1', name=op.f('ck_coupon_templates_per_customer_limit')),
    sa.CheckConstraint('(valid_days IS NOT NULL AND valid_days > 0) OR (valid_to IS NOT NULL AND '
                       '(valid_from IS NULL OR valid_from < valid_to))', name=op.f('ck_coupon_templates_validity')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_templates'))
    )
    op.create_index('ix_coupon_templates_shop', 'coupon_templates', ['shop_id', 'id'], unique=False)
    op.create_table('coupon_holdings',
    sa.Column('template_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('claimed', sa.Integer(), nullable=False),
    sa.CheckConstraint('claimed >= 0', name=op.f('ck_coupon_holdings_claimed_not_negative')),
    sa.PrimaryKeyConstraint('template_id', 'customer_id', name=op.f('pk_coupon_holdings'))
    )
    op.create_table('coupons',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('template_id', sa.BigInteger(), nullable=True),
    sa.Column('red_packet_id', sa.BigInteger(), nullable=True),
    sa.Column('part_no', sa.SmallInteger(), nullable=True),
    *_terms_columns(),
    sa.Column('scope_type', sa.String(length=10), nullable=False),
    sa.Column('scope_ids', JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('stackable', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('valid_from', TS, nullable=False),
    sa.Column('valid_to', TS, nullable=False),
    sa.Column('claimed_at', TS, nullable=False),
    sa.Column('used_at', TS, nullable=True),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('order_no', sa.String(length=32), nullable=True),
    sa.CheckConstraint("status IN ('available', 'used')", name=op.f('ck_coupons_status')),
    sa.CheckConstraint(KINDS, name=op.f('ck_coupons_kind')),
    sa.CheckConstraint(SCOPES, name=op.f('ck_coupons_scope_type')),
    sa.CheckConstraint(TERMS, name=op.f('ck_coupons_terms')),
    sa.CheckConstraint("(status = 'used') = (order_id IS NOT NULL)", name=op.f('ck_coupons_used_by_an_order')),
    sa.CheckConstraint('(template_id IS NULL) <> (red_packet_id IS NULL)', name=op.f('ck_coupons_one_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupons'))
    )
    op.create_index('ix_coupons_customer', 'coupons', ['shop_id', 'customer_id', 'id'], unique=False)
    op.create_index('ix_coupons_order', 'coupons', ['order_id'], unique=False,
                    postgresql_where=sa.text('order_id IS NOT NULL'))
    op.create_index('ix_coupons_template', 'coupons', ['template_id'], unique=False,
                    postgresql_where=sa.text('template_id IS NOT NULL'))
    op.create_index('uq_coupons_red_packet_part', 'coupons', ['red_packet_id', 'part_no'], unique=True,
                    postgresql_where=sa.text('red_packet_id IS NOT NULL'))
    op.create_table('coupon_red_packet_offers',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=True),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('parts', sa.SmallInteger(), nullable=False),
    sa.Column('min_part_fen', sa.BigInteger(), nullable=False),
    sa.Column('min_order_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('claim_hours', sa.Integer(), nullable=False),
    sa.Column('coupon_valid_days', sa.Integer(), nullable=False),
    sa.Column('coupon_threshold_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('daily_claims_per_customer', sa.Integer(), nullable=False),
    sa.Column('daily_claims_per_device', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.CheckConstraint('parts BETWEEN 1 AND 100 AND min_part_fen >= 1 AND total_fen >= parts * min_part_fen',
                       name=op.f('ck_coupon_red_packet_offers_split')),
    sa.CheckConstraint('min_order_fen >= 0 AND coupon_threshold_fen >= 0',
                       name=op.f('ck_coupon_red_packet_offers_thresholds')),
    sa.CheckConstraint('claim_hours >= 1 AND coupon_valid_days >= 1', name=op.f('ck_coupon_red_packet_offers_durations')),
    sa.CheckConstraint('daily_claims_per_customer >= 1 AND daily_claims_per_device >= 1',
                       name=op.f('ck_coupon_red_packet_offers_caps')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_red_packet_offers'))
    )
    op.create_index('ix_coupon_red_packet_offers_shop', 'coupon_red_packet_offers', ['shop_id', 'id'], unique=False)
    op.create_table('coupon_red_packets',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('offer_id', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('parts', sa.SmallInteger(), nullable=False),
    sa.Column('min_part_fen', sa.BigInteger(), nullable=False),
    sa.Column('coupon_valid_days', sa.Integer(), nullable=False),
    sa.Column('coupon_threshold_fen', sa.BigInteger(), nullable=False),
    sa.Column('daily_claims_per_customer', sa.Integer(), nullable=False),
    sa.Column('daily_claims_per_device', sa.Integer(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('expires_at', TS, nullable=False),
    sa.CheckConstraint('parts BETWEEN 1 AND 100 AND total_fen >= parts', name=op.f('ck_coupon_red_packets_split')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_red_packets'))
    )
    op.create_index('ix_coupon_red_packets_owner', 'coupon_red_packets', ['shop_id', 'customer_id', 'id'],
                    unique=False)
    op.create_index('uq_coupon_red_packets_code', 'coupon_red_packets', ['code'], unique=True)
    op.create_index('uq_coupon_red_packets_order', 'coupon_red_packets', ['order_id'], unique=True)
    op.create_table('coupon_red_packet_parts',
    sa.Column('packet_id', sa.BigInteger(), nullable=False),
    sa.Column('part_no', sa.SmallInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', TS, nullable=True),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_coupon_red_packet_parts_amount_positive')),
    sa.CheckConstraint('(customer_id IS NULL) = (claimed_at IS NULL)',
                       name=op.f('ck_coupon_red_packet_parts_claimed_together')),
    sa.ForeignKeyConstraint(['packet_id'], ['coupon_red_packets.id'],
                            name=op.f('fk_coupon_red_packet_parts_packet_id_coupon_red_packets')),
    sa.PrimaryKeyConstraint('packet_id', 'part_no', name=op.f('pk_coupon_red_packet_parts'))
    )
    op.create_index('uq_coupon_red_packet_parts_customer', 'coupon_red_packet_parts', ['packet_id', 'customer_id'],
                    unique=True)
    op.create_index('uq_coupon_red_packet_parts_device', 'coupon_red_packet_parts', ['packet_id', 'device_id'],
                    unique=True)
    op.create_table('coupon_daily_claims',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('claims', sa.Integer(), nullable=False),
    sa.CheckConstraint('claims >= 0', name=op.f('ck_coupon_daily_claims_claims_not_negative')),
    sa.PrimaryKeyConstraint('shop_id', 'subject', 'day', name=op.f('pk_coupon_daily_claims'))
    )


def downgrade() -> None:
    op.drop_table('coupon_daily_claims')
    op.drop_index('uq_coupon_red_packet_parts_device', table_name='coupon_red_packet_parts')
    op.drop_index('uq_coupon_red_packet_parts_customer', table_name='coupon_red_packet_parts')
    op.drop_table('coupon_red_packet_parts')
    op.drop_index('uq_coupon_red_packets_order', table_name='coupon_red_packets')
    op.drop_index('uq_coupon_red_packets_code', table_name='coupon_red_packets')
    op.drop_index('ix_coupon_red_packets_owner', table_name='coupon_red_packets')
    op.drop_table('coupon_red_packets')
    op.drop_index('ix_coupon_red_packet_offers_shop', table_name='coupon_red_packet_offers')
    op.drop_table('coupon_red_packet_offers')
    op.drop_index('uq_coupons_red_packet_part', table_name='coupons', postgresql_where=sa.text('red_packet_id IS NOT NULL'))
    op.drop_index('ix_coupons_template', table_name='coupons', postgresql_where=sa.text('template_id IS NOT NULL'))
    op.drop_index('ix_coupons_order', table_name='coupons', postgresql_where=sa.text('order_id IS NOT NULL'))
    op.drop_index('ix_coupons_customer', table_name='coupons')
    op.drop_table('coupons')
    op.drop_table('coupon_holdings')
    op.drop_index('ix_coupon_templates_shop', table_name='coupon_templates')
    op.drop_table('coupon_templates')
