"""customer_addresses: a customer's saved shipping addresses, at most one default per customer (the storefront's
checkout starts from it).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('customer_addresses',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('province', sa.String(length=30), nullable=False),
    sa.Column('city', sa.String(length=30), nullable=False),
    sa.Column('district', sa.String(length=30), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('postal_code', sa.String(length=10), nullable=True),
    sa.Column('is_default', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                            name=op.f('fk_customer_addresses_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_addresses'))
    )
    op.create_index('ix_customer_addresses_owner', 'customer_addresses', ['shop_id', 'customer_id', 'id'],
                    unique=False)
    op.create_index('uq_customer_addresses_default', 'customer_addresses', ['shop_id', 'customer_id'], unique=True,
                    postgresql_where=sa.text('is_default'))


def downgrade() -> None:
    op.drop_index('uq_customer_addresses_default', table_name='customer_addresses',
                  postgresql_where=sa.text('is_default'))
    op.drop_index('ix_customer_addresses_owner', table_name='customer_addresses')
    op.drop_table('customer_addresses')
