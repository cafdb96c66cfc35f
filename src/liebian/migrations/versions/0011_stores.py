"""stores tables: stores (GiST earth index for nearby search), table codes, per-day pickup counters; the
pickup fields of orders.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # earthdistance (ll_to_earth, earth_box, earth_distance) is built on cube; both are contrib extensions.
    op.execute("CREATE EXTENSION IF NOT EXISTS cube")
    op.execute("CREATE EXTENSION IF NOT EXISTS earthdistance")
    op.create_table('stores',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('lat', sa.Double(), nullable=False),
    sa.Column('lng', sa.Double(), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('hours', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('pickup', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('status', sa.String(length=8), server_default='open', nullable=False),
    sa.Column('share_code', sa.String(length=64), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('closed_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_stores_status')),
    sa.CheckConstraint('lat BETWEEN -90 AND 90 AND lng BETWEEN -180 AND 180', name=op.f('ck_stores_coordinates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stores'))
    )
    op.create_index('ix_stores_shop', 'stores', ['shop_id', 'id'], unique=False)
    op.create_index('ix_stores_earth', 'stores', [sa.text('ll_to_earth(lat, lng)')], unique=False,
                    postgresql_using='gist', postgresql_where=sa.text("status = 'open'"))
    op.create_table('store_tables',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('store_id', sa.BigInteger(), nullable=False),
    sa.Column('label', sa.String(length=30), nullable=False),
    sa.Column('share_code', sa.String(length=64), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_store_tables_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_tables'))
    )
    op.create_index('uq_store_tables_label', 'store_tables', ['store_id', 'label'], unique=True)
    op.create_table('store_pickup_counters',
    sa.Column('store_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.CheckConstraint('last > 0', name=op.f('ck_store_pickup_counters_last_positive')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_store_pickup_counters_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', 'day', name=op.f('pk_store_pickup_counters'))
    )
    # Pickup orders: the store is named on the order, with its queue number for the Beijing day.
    op.add_column('orders', sa.Column('fulfilment', sa.String(length=8), server_default='delivery', nullable=False))
    op.add_column('orders', sa.Column('store_id', sa.BigInteger(), nullable=True))
    op.add_column('orders', sa.Column('pickup_day', sa.Date(), nullable=True))
    op.add_column('orders', sa.Column('pickup_no', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_orders_store_id_stores'), 'orders', 'stores', ['store_id'], ['id'])
    op.create_check_constraint(
        op.f('ck_orders_fulfilment'), 'orders',
        "fulfilment IN ('delivery', 'pickup') AND (fulfilment = 'pickup') = (store_id IS NOT NULL) "
        "AND (pickup_no IS NULL) = (pickup_day IS NULL) AND (pickup_no IS NULL OR store_id IS NOT NULL)")
    op.create_index('uq_orders_pickup_no', 'orders', ['store_id', 'pickup_day', 'pickup_no'], unique=True,
                    postgresql_where=sa.text('pickup_no IS NOT NULL'))
    op.create_index('ix_orders_store', 'orders', ['store_id', 'id'], unique=False,
                    postgresql_where=sa.text('store_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_orders_store', table_name='orders', postgresql_where=sa.text('store_id IS NOT NULL'))
    op.drop_index('uq_orders_pickup_no', table_name='orders', postgresql_where=sa.text('pickup_no IS NOT NULL'))
    op.drop_constraint(op.f('ck_orders_fulfilment'), 'orders', type_='check')
    op.drop_constraint(op.f('fk_orders_store_id_stores'), 'orders', type_='foreignkey')
    op.drop_column('orders', 'pickup_no')
    op.drop_column('orders', 'pickup_day')
    op.drop_column('orders', 'store_id')
    op.drop_column('orders', 'fulfilment')
    op.drop_table('store_pickup_counters')
    op.drop_index('uq_store_tables_label', table_name='store_tables')
    op.drop_table('store_tables')
    op.drop_index('ix_stores_earth', table_name='stores', postgresql_where=sa.text("status = 'open'"))
    op.drop_index('ix_stores_shop', table_name='stores')
    op.drop_table('stores')
    # The extensions stay: dropping them could break other users of the database.
