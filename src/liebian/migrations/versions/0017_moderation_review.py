"""Moderation review of reported posts: how many reports the console reviewed (and kept the post), when; the
shop's comments by id for the console's moderation list.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('community_posts', sa.Column('reports_reviewed', sa.Integer(), server_default=sa.text('0'),
                                               nullable=False))
    op.add_column('community_posts', sa.Column('reviewed_at', postgresql.TIMESTAMP(timezone=True), nullable=True))
    op.create_check_constraint(op.f('ck_community_posts_reports_reviewed'), 'community_posts',
                               'reports_reviewed >= 0 AND reports_reviewed <= report_count')
    op.create_index('ix_community_comments_shop', 'community_comments', ['shop_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_community_comments_shop', table_name='community_comments')
    op.drop_constraint(op.f('ck_community_posts_reports_reviewed'), 'community_posts', type_='check')
    op.drop_column('community_posts', 'reviewed_at')
    op.drop_column('community_posts', 'reports_reviewed')
