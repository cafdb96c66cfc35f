"""Indexes for the analytics' and campaign reports' time-range reads: a shop's shares, visits and paid orders
by time (without them each report scans those tables for every shop).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 16:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_fission_shares_created', 'fission_shares', ['shop_id', 'created_at'])
    op.create_index('ix_fission_visits_created', 'fission_visits', ['shop_id', 'created_at'])
    op.create_index('ix_orders_paid', 'orders', ['shop_id', 'paid_at'], postgresql_where=sa.text('paid_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_orders_paid', table_name='orders', postgresql_where=sa.text('paid_at IS NOT NULL'))
    op.drop_index('ix_fission_visits_created', table_name='fission_visits')
    op.drop_index('ix_fission_shares_created', table_name='fission_shares')
