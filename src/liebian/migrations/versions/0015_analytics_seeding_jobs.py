"""analytics_seeding_jobs: the console's "who to seed" selections run as background jobs with progress; an index
of attributions by share (the console's cascade tree reads a cascade's orders by its share ids).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = postgresql.TIMESTAMP(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    op.create_table('analytics_seeding_jobs',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('params', JSONB, nullable=False),
    sa.Column('progress_bps', sa.Integer(), server_default='0', nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('result', JSONB, nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('started_at', TS, nullable=True),
    sa.Column('finished_at', TS, nullable=True),
    sa.Column('heartbeat_at', TS, nullable=False),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')",
                       name=op.f('ck_analytics_seeding_jobs_status')),
    sa.CheckConstraint('progress_bps BETWEEN 0 AND 10000', name=op.f('ck_analytics_seeding_jobs_progress')),
    sa.CheckConstraint("(status = 'succeeded') = (result IS NOT NULL)", name=op.f('ck_analytics_seeding_jobs_result')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_seeding_jobs'))
    )
    op.create_index('ix_analytics_seeding_jobs_shop', 'analytics_seeding_jobs', ['shop_id', 'id'], unique=False)
    op.create_index('ix_analytics_seeding_jobs_unfinished', 'analytics_seeding_jobs', ['heartbeat_at'], unique=False,
                    postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.create_index('ix_fission_attributions_share', 'fission_attributions', ['share_id'], unique=False,
                    postgresql_where=sa.text('share_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_fission_attributions_share', table_name='fission_attributions',
                  postgresql_where=sa.text('share_id IS NOT NULL'))
    op.drop_index('ix_analytics_seeding_jobs_unfinished', table_name='analytics_seeding_jobs',
                  postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.drop_index('ix_analytics_seeding_jobs_shop', table_name='analytics_seeding_jobs')
    op.drop_table('analytics_seeding_jobs')
