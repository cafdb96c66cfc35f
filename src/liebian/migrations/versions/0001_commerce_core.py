"""commerce core

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram search over product text (works for Chinese substrings with ILIKE).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('categories',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sort', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('shop_id', 'name', name=op.f('uq_categories_shop_id_name'))
    )
    op.create_table('customers',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('unionid', sa.String(length=64), nullable=True),
    sa.Column('nickname', sa.String(length=64), nullable=False),
    sa.Column('avatar_url', sa.String(length=500), nullable=True),
    sa.Column('is_new', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('first_completed_order_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('last_login_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('shop_id', 'openid', name=op.f('uq_customers_shop_id_openid'))
    )
    op.create_table('kit_clock',
    sa.Column('id', sa.SmallInteger(), nullable=False),
    sa.Column('offset_seconds', sa.Double(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_kit_clock_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kit_clock'))
    )
    op.create_table('kit_idempotency_keys',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('scope', sa.String(length=100), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.SmallInteger(), nullable=True),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('shop_id', 'scope', 'key', name=op.f('pk_kit_idempotency_keys'))
    )
    op.create_table('kit_outbox',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=True),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('available_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('done_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('dead', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kit_outbox'))
    )
    op.create_index('ix_kit_outbox_due', 'kit_outbox', ['available_at'], unique=False, postgresql_where=sa.text('done_at IS NULL AND NOT dead'))
    op.create_index('uq_kit_outbox_topic_key', 'kit_outbox', ['topic', 'dedupe_key'], unique=True)
    op.create_table('ledger_transactions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('memo', sa.String(length=200), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transactions')),
    sa.UniqueConstraint('shop_id', 'kind', 'ref', name=op.f('uq_ledger_transactions_shop_id_kind_ref'))
    )
    op.create_table('orders',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('order_no', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_before_refund', sa.String(length=20), nullable=True),
    sa.Column('payment_method', sa.String(length=16), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('discount_fen', sa.BigInteger(), nullable=False),
    sa.Column('shipping_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('payable_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('address', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('promotion', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('share_code', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('out_trade_no', sa.String(length=32), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('payment_deadline', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('paid_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('shipped_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('carrier', sa.String(length=50), nullable=True),
    sa.Column('tracking_no', sa.String(length=64), nullable=True),
    sa.Column('auto_complete_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('completed_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('cancelled_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=50), nullable=True),
    sa.CheckConstraint("payment_method IN ('wechat', 'cod')", name=op.f('ck_orders_payment_method')),
    sa.CheckConstraint("status IN ('pending_payment', 'paid', 'shipped', 'completed', 'cancelled', 'refunding', 'refunded')", name=op.f('ck_orders_status')),
    sa.CheckConstraint('payable_fen >= 0 AND discount_fen >= 0 AND total_fen >= 0', name=op.f('ck_orders_amounts')),
    sa.CheckConstraint('refunded_fen >= 0 AND refunded_fen <= payable_fen', name=op.f('ck_orders_refund_cap')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('order_no', name=op.f('uq_orders_order_no'))
    )
    op.create_index('ix_orders_complete_due', 'orders', ['auto_complete_at'], unique=False, postgresql_where=sa.text("status = 'shipped'"))
    op.create_index('ix_orders_customer', 'orders', ['shop_id', 'customer_id', 'id'], unique=False)
    op.create_index('ix_orders_payment_due', 'orders', ['payment_deadline'], unique=False, postgresql_where=sa.text("status = 'pending_payment'"))
    op.create_index('ix_orders_shop_status', 'orders', ['shop_id', 'status', 'id'], unique=False)
    op.create_table('payment_events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=True),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('business_key', sa.String(length=64), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('received_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events')),
    sa.UniqueConstraint('provider', 'event_id', name=op.f('uq_payment_events_provider_event_id'))
    )
    op.create_table('payments',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('out_trade_no', sa.String(length=32), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=127), nullable=False),
    sa.Column('payer_openid', sa.String(length=64), nullable=True),
    sa.Column('provider_txn_id', sa.String(length=64), nullable=True),
    sa.Column('client_params', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('expires_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('paid_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('closed_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'paid', 'closed')", name=op.f('ck_payments_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payments_amount_positive')),
    sa.CheckConstraint('refunded_fen >= 0 AND refunded_fen <= amount_fen', name=op.f('ck_payments_refund_cap')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('out_trade_no', name=op.f('uq_payments_out_trade_no')),
    sa.UniqueConstraint('provider_txn_id', name=op.f('uq_payments_provider_txn_id'))
    )
    op.create_index('ix_payments_order', 'payments', ['order_id'], unique=False)
    op.create_table('products',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('category_id', sa.BigInteger(), nullable=True),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('images', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('status', sa.String(length=16), server_default='draft', nullable=False),
    sa.Column('max_per_order', sa.Integer(), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'published', 'unpublished', 'archived')", name=op.f('ck_products_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    op.execute("CREATE INDEX ix_products_search_trgm ON products USING gin ((title || ' ' || description) gin_trgm_ops)")
    op.create_index('ix_products_shop_status', 'products', ['shop_id', 'status', 'id'], unique=False)
    op.create_table('shops',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$'", name=op.f('ck_shops_slug_format')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shops')),
    sa.UniqueConstraint('slug', name=op.f('uq_shops_slug'))
    )
    op.create_table('staff',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('owner', 'operator')", name=op.f('ck_staff_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff'))
    )
    op.create_index(op.f('ix_staff_shop_id'), 'staff', ['shop_id'], unique=False)
    op.create_index('uq_staff_email', 'staff', [sa.literal_column('lower(email)')], unique=True)
    op.create_table('ledger_entries',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('transaction_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), server_default='CNY', nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('amount_fen <> 0', name=op.f('ck_ledger_entries_amount_nonzero')),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_ledger_entries_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries'))
    )
    op.create_index('ix_ledger_entries_account', 'ledger_entries', ['shop_id', 'account'], unique=False)
    op.create_index('ix_ledger_entries_order', 'ledger_entries', ['order_id'], unique=False)
    op.create_index('ix_ledger_entries_txn', 'ledger_entries', ['transaction_id'], unique=False)
    op.create_table('order_lines',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('specs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('image', sa.String(length=500), nullable=True),
    sa.Column('unit_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('discount_fen', sa.BigInteger(), nullable=False),
    sa.Column('payable_fen', sa.BigInteger(), nullable=False),
    sa.Column('refunded_fen', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_lines_quantity_positive')),
    sa.CheckConstraint('refunded_fen >= 0 AND refunded_fen <= payable_fen', name=op.f('ck_order_lines_refund_cap')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines'))
    )
    op.create_index('ix_order_lines_order', 'order_lines', ['order_id'], unique=False)
    op.create_table('payment_refunds',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('payment_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('refund_request_id', sa.BigInteger(), nullable=True),
    sa.Column('out_refund_no', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('provider_refund_id', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('succeeded_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'processing', 'succeeded', 'failed')", name=op.f('ck_payment_refunds_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_payment_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_refunds_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_refunds')),
    sa.UniqueConstraint('out_refund_no', name=op.f('uq_payment_refunds_out_refund_no')),
    sa.UniqueConstraint('refund_request_id', name=op.f('uq_payment_refunds_refund_request_id'))
    )
    op.create_index('ix_payment_refunds_payment', 'payment_refunds', ['payment_id'], unique=False)
    op.create_table('refund_requests',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('initiated_by', sa.String(length=16), nullable=False),
    sa.Column('reject_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('decided_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('succeeded_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'succeeded')", name=op.f('ck_refund_requests_status')),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_refund_requests_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refund_requests_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_requests'))
    )
    op.create_index('ix_refund_requests_shop_status', 'refund_requests', ['shop_id', 'status', 'id'], unique=False)
    op.create_index('uq_refund_requests_open', 'refund_requests', ['order_id'], unique=True, postgresql_where=sa.text("status IN ('pending', 'approved')"))
    op.create_table('skus',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('product_id', sa.BigInteger(), nullable=False),
    sa.Column('specs', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.BigInteger(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=True),
    sa.Column('archived', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.CheckConstraint('price_fen >= 0', name=op.f('ck_skus_price_not_negative')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_skus_stock_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_skus_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skus'))
    )
    op.create_index('ix_skus_product', 'skus', ['product_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_skus_product', table_name='skus')
    op.drop_table('skus')
    op.drop_index('uq_refund_requests_open', table_name='refund_requests', postgresql_where=sa.text("status IN ('pending', 'approved')"))
    op.drop_index('ix_refund_requests_shop_status', table_name='refund_requests')
    op.drop_table('refund_requests')
    op.drop_index('ix_payment_refunds_payment', table_name='payment_refunds')
    op.drop_table('payment_refunds')
    op.drop_index('ix_order_lines_order', table_name='order_lines')
    op.drop_table('order_lines')
    op.drop_index('ix_ledger_entries_txn', table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_order', table_name='ledger_entries')
    op.drop_index('ix_ledger_entries_account', table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index('uq_staff_email', table_name='staff')
    op.drop_index(op.f('ix_staff_shop_id'), table_name='staff')
    op.drop_table('staff')
    op.drop_table('shops')
    op.drop_index('ix_products_shop_status', table_name='products')
    op.drop_index('ix_products_search_trgm', table_name='products', postgresql_using='gin')
    op.drop_table('products')
    op.drop_index('ix_payments_order', table_name='payments')
    op.drop_table('payments')
    op.drop_table('payment_events')
    op.drop_index('ix_orders_shop_status', table_name='orders')
    op.drop_index('ix_orders_payment_due', table_name='orders', postgresql_where=sa.text("status = 'pending_payment'"))
    op.drop_index('ix_orders_customer', table_name='orders')
    op.drop_index('ix_orders_complete_due', table_name='orders', postgresql_where=sa.text("status = 'shipped'"))
    op.drop_table('orders')
    op.drop_table('ledger_transactions')
    op.drop_index('uq_kit_outbox_topic_key', table_name='kit_outbox')
    op.drop_index('ix_kit_outbox_due', table_name='kit_outbox', postgresql_where=sa.text('done_at IS NULL AND NOT dead'))
    op.drop_table('kit_outbox')
    op.drop_table('kit_idempotency_keys')
    op.drop_table('kit_clock')
    op.drop_table('customers')
    op.drop_table('categories')
