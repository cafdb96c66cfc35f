"""Mini-program services: customer phones (encrypted), subscribe templates, grants and messages, shipping reports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:43:34.089529
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customer_phones',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('phone_ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('phone_hash', sa.LargeBinary(), nullable=False),
    sa.Column('phone_masked', sa.String(length=24), nullable=False),
    sa.Column('key_version', sa.SmallInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('bound_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('shop_id', 'customer_id', name=op.f('pk_customer_phones'))
    )
    op.create_index('ix_customer_phones_lookup', 'customer_phones', ['shop_id', 'phone_hash'], unique=False)
    op.create_table('shipping_reports',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('carrier', sa.String(length=50), nullable=False),
    sa.Column('express_company', sa.String(length=50), nullable=False),
    sa.Column('tracking_no', sa.String(length=64), nullable=False),
    sa.Column('item_desc', sa.String(length=120), nullable=False),
    sa.Column('receiver_contact', sa.String(length=24), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('uploads', sa.SmallInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('uploaded_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'uploaded', 'failed')", name=op.f('ck_shipping_reports_status')),
    sa.CheckConstraint('uploads BETWEEN 0 AND 2', name=op.f('ck_shipping_reports_uploads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipping_reports')),
    sa.UniqueConstraint('order_id', name=op.f('uq_shipping_reports_order_id')),
    sa.UniqueConstraint('shop_id', 'order_no', name=op.f('uq_shipping_reports_shop_id_order_no'))
    )
    op.create_table('subscribe_grants',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.CheckConstraint('remaining >= 0', name=op.f('ck_subscribe_grants_remaining_not_negative')),
    sa.PrimaryKeyConstraint('shop_id', 'customer_id', 'template_id', name=op.f('pk_subscribe_grants'))
    )
    op.create_table('subscribe_messages',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('page', sa.String(length=256), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('finished_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sent', 'refused', 'failed')", name=op.f('ck_subscribe_messages_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribe_messages')),
    sa.UniqueConstraint('shop_id', 'event', 'ref', name=op.f('uq_subscribe_messages_shop_id_event_ref'))
    )
    op.create_index('ix_subscribe_messages_customer', 'subscribe_messages', ['shop_id', 'customer_id', 'id'], unique=False)
    op.create_table('subscribe_templates',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('fields', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('page', sa.String(length=128), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.CheckConstraint("event IN ('order_paid', 'order_shipped', 'order_refunded')", name=op.f('ck_subscribe_templates_event')),
    sa.PrimaryKeyConstraint('shop_id', 'event', name=op.f('pk_subscribe_templates'))
    )


def downgrade() -> None:
    op.drop_table('subscribe_templates')
    op.drop_index('ix_subscribe_messages_customer', table_name='subscribe_messages')
    op.drop_table('subscribe_messages')
    op.drop_table('subscribe_grants')
    op.drop_table('shipping_reports')
    op.drop_index('ix_customer_phones_lookup', table_name='customer_phones')
    op.drop_table('customer_phones')
