"""Payment reconciler: when to next ask WeChat Pay about an unconfirmed payment or refund.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:13:41.367281
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('payment_refunds', sa.Column('next_check_at', postgresql.TIMESTAMP(timezone=True), nullable=True))
    op.create_index('ix_payment_refunds_next_check', 'payment_refunds', ['next_check_at'], unique=False, postgresql_where=sa.text("status = 'processing'"))
    op.add_column('payments', sa.Column('next_check_at', postgresql.TIMESTAMP(timezone=True), nullable=True))
    op.create_index('ix_payments_next_check', 'payments', ['next_check_at'], unique=False, postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    op.drop_index('ix_payments_next_check', table_name='payments', postgresql_where=sa.text("status = 'pending'"))
    op.drop_column('payments', 'next_check_at')
    op.drop_index('ix_payment_refunds_next_check', table_name='payment_refunds', postgresql_where=sa.text("status = 'processing'"))
    op.drop_column('payment_refunds', 'next_check_at')
