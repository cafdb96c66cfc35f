"""community tables: posts, likes, comments, reports, bans, rate counters, communities, members, announcements,
topics, replies; red packets not tied to an order (a community's festival packet).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = postgresql.TIMESTAMP(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())
PACKET_SOURCE = ("source IN ('order', 'community') AND CASE WHEN source = 'order' THEN offer_id IS NOT NULL AND "
                 "order_id IS NOT NULL AND order_no IS NOT NULL AND customer_id IS NOT NULL AND source_id IS NULL "
                 "ELSE order_id IS NULL AND source_id IS NOT NULL END")


def _posts() -> None:
    op.create_table('community_posts',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('author_type', sa.String(length=10), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=True),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('images', JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('video_url', sa.String(length=500), nullable=True),
    sa.Column('product_ids', postgresql.ARRAY(sa.BigInteger()), server_default=sa.text("'{}'::bigint[]"),
              nullable=False),
    sa.Column('share_id', sa.BigInteger(), nullable=True),
    sa.Column('share_code', sa.String(length=16), nullable=True),
    sa.Column('like_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('comment_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('report_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('hidden', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('hidden_at', TS, nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.CheckConstraint("author_type IN ('shop', 'promoter')", name=op.f('ck_community_posts_author_type')),
    sa.CheckConstraint("(author_type = 'shop') = (author_id IS NULL)", name=op.f('ck_community_posts_author')),
    sa.CheckConstraint('char_length(title) BETWEEN 1 AND 60 AND char_length(body) <= 2000',
                       name=op.f('ck_community_posts_lengths')),
    sa.CheckConstraint('like_count >= 0 AND comment_count >= 0 AND report_count >= 0',
                       name=op.f('ck_community_posts_counters')),
    sa.CheckConstraint('hidden = (hidden_at IS NOT NULL)', name=op.f('ck_community_posts_hidden_at')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_posts'))
    )
    op.create_index('ix_community_posts_feed', 'community_posts', ['shop_id', 'id'], unique=False,
                    postgresql_where=sa.text('NOT hidden'))
    op.create_index('ix_community_posts_author', 'community_posts', ['shop_id', 'author_id', 'id'], unique=False)
    op.create_index('ix_community_posts_products', 'community_posts', ['product_ids'], unique=False,
                    postgresql_using='gin')
    op.create_index('ix_community_posts_reported', 'community_posts', ['shop_id', 'report_count'], unique=False,
                    postgresql_where=sa.text('report_count > 0'))
    op.create_table('community_post_likes',
    sa.Column('post_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'],
                            name=op.f('fk_community_post_likes_post_id_community_posts')),
    sa.PrimaryKeyConstraint('post_id', 'customer_id', name=op.f('pk_community_post_likes'))
    )
    op.create_table('community_comments',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('post_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('body', sa.String(length=500), nullable=False),
    sa.Column('hidden', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.CheckConstraint('char_length(body) BETWEEN 1 AND 500', name=op.f('ck_community_comments_body')),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'],
                            name=op.f('fk_community_comments_post_id_community_posts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_comments'))
    )
    op.create_index('ix_community_comments_post', 'community_comments', ['post_id', 'id'], unique=False)
    op.create_table('community_post_reports',
    sa.Column('post_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['community_posts.id'],
                            name=op.f('fk_community_post_reports_post_id_community_posts')),
    sa.PrimaryKeyConstraint('post_id', 'customer_id', name=op.f('pk_community_post_reports'))
    )
    op.create_table('community_bans',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('banned_at', TS, nullable=False),
    sa.PrimaryKeyConstraint('shop_id', 'customer_id', name=op.f('pk_community_bans'))
    )
    op.create_table('community_rate_counters',
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('span', sa.String(length=8), nullable=False),
    sa.Column('started_at', TS, nullable=False),
    sa.Column('cap', sa.Integer(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.CheckConstraint("action IN ('post', 'comment', 'topic', 'reply')",
                       name=op.f('ck_community_rate_counters_action')),
    sa.CheckConstraint("span IN ('minute', 'day')", name=op.f('ck_community_rate_counters_span')),
    sa.CheckConstraint('hits >= 1 AND hits <= cap', name=op.f('ck_community_rate_counters_within_cap')),
    sa.PrimaryKeyConstraint('shop_id', 'customer_id', 'action', 'span', 'started_at',
                            name=op.f('pk_community_rate_counters'))
    )
    op.create_index('ix_community_rate_counters_started', 'community_rate_counters', ['started_at'], unique=False)


def _communities() -> None:
    op.create_table('community_communities',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('owner_type', sa.String(length=10), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('description', sa.String(length=500), server_default='', nullable=False),
    sa.Column('rules', sa.Text(), server_default='', nullable=False),
    sa.Column('join_policy', sa.String(length=8), nullable=False),
    sa.Column('invite_code', sa.String(length=16), nullable=False),
    sa.Column('member_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.CheckConstraint("owner_type IN ('shop', 'promoter')", name=op.f('ck_community_communities_owner_type')),
    sa.CheckConstraint("(owner_type = 'shop') = (owner_id IS NULL)", name=op.f('ck_community_communities_owner')),
    sa.CheckConstraint("join_policy IN ('open', 'invite')", name=op.f('ck_community_communities_join_policy')),
    sa.CheckConstraint('member_count >= 0', name=op.f('ck_community_communities_member_count')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_communities'))
    )
    op.create_index('uq_community_communities_invite', 'community_communities', ['invite_code'], unique=True)
    op.create_index('ix_community_communities_shop', 'community_communities', ['shop_id', 'id'], unique=False)
    op.create_table('community_members',
    sa.Column('community_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('joined_at', TS, nullable=False),
    sa.Column('removed_at', TS, nullable=True),
    sa.CheckConstraint("role IN ('owner', 'admin', 'member')", name=op.f('ck_community_members_role')),
    sa.CheckConstraint("status IN ('active', 'removed')", name=op.f('ck_community_members_status')),
    sa.ForeignKeyConstraint(['community_id'], ['community_communities.id'],
                            name=op.f('fk_community_members_community_id_community_communities')),
    sa.PrimaryKeyConstraint('community_id', 'customer_id', name=op.f('pk_community_members'))
    )
    op.create_index('ix_community_members_list', 'community_members', ['community_id', 'joined_at'], unique=False,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_index('ix_community_members_customer', 'community_members', ['shop_id', 'customer_id'], unique=False)
    op.create_table('community_announcements',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('community_id', sa.BigInteger(), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=True),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('pinned', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('red_packet_id', sa.BigInteger(), nullable=True),
    sa.Column('red_packet_code', sa.String(length=16), nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community_communities.id'],
                            name=op.f('fk_community_announcements_community_id_community_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_announcements'))
    )
    op.create_index('ix_community_announcements_list', 'community_announcements', ['community_id', 'pinned', 'id'],
                    unique=False)
    op.create_table('community_topics',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('community_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('reply_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('hidden', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.CheckConstraint('reply_count >= 0', name=op.f('ck_community_topics_reply_count')),
    sa.ForeignKeyConstraint(['community_id'], ['community_communities.id'],
                            name=op.f('fk_community_topics_community_id_community_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_topics'))
    )
    op.create_index('ix_community_topics_list', 'community_topics', ['community_id', 'id'], unique=False,
                    postgresql_where=sa.text('NOT hidden'))
    op.create_table('community_replies',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('shop_id', sa.BigInteger(), nullable=False),
    sa.Column('topic_id', sa.BigInteger(), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('depth', sa.SmallInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('body', sa.String(length=1000), nullable=False),
    sa.Column('hidden', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.CheckConstraint('depth BETWEEN 1 AND 2', name=op.f('ck_community_replies_depth')),
    sa.CheckConstraint('(depth = 1) = (parent_id IS NULL)', name=op.f('ck_community_replies_parent')),
    sa.ForeignKeyConstraint(['topic_id'], ['community_topics.id'],
                            name=op.f('fk_community_replies_topic_id_community_topics')),
    sa.ForeignKeyConstraint(['parent_id'], ['community_replies.id'],
                            name=op.f('fk_community_replies_parent_id_community_replies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_replies'))
    )
    op.create_index('ix_community_replies_topic', 'community_replies', ['topic_id', 'id'], unique=False)


def _packets_without_orders() -> None:
    op.add_column('coupon_red_packets', sa.Column('source', sa.String(length=10), server_default='order',
                                                  nullable=False))
    op.add_column('coupon_red_packets', sa.Column('source_id', sa.BigInteger(), nullable=True))
    op.add_column('coupon_red_packets', sa.Column('title', sa.String(length=60), nullable=True))
    for column in ('offer_id', 'order_id', 'order_no', 'customer_id'):
        op.alter_column('coupon_red_packets', column, nullable=True)
    op.create_check_constraint(op.f('ck_coupon_red_packets_source'), 'coupon_red_packets', PACKET_SOURCE)
    op.create_index('ix_coupon_red_packets_source', 'coupon_red_packets', ['shop_id', 'source', 'source_id'],
                    unique=False, postgresql_where=sa.text("source <> 'order'"))


def upgrade() -> None:
    _posts()
    _communities()
    _packets_without_orders()


def downgrade() -> None:
    # Packets not tied to an order cannot exist in the older schema; their claimed coupons stay with their holders.
    op.execute("DELETE FROM coupon_red_packet_parts WHERE packet_id IN "
               "(SELECT id FROM coupon_red_packets WHERE source <> 'order')")
    op.execute("DELETE FROM coupon_red_packets WHERE source <> 'order'")
    op.drop_index('ix_coupon_red_packets_source', table_name='coupon_red_packets',
                  postgresql_where=sa.text("source <> 'order'"))
    op.drop_constraint(op.f('ck_coupon_red_packets_source'), 'coupon_red_packets', type_='check')
    for column in ('offer_id', 'order_id', 'order_no', 'customer_id'):
        op.alter_column('coupon_red_packets', column, nullable=False)
    op.drop_column('coupon_red_packets', 'title')
    op.drop_column('coupon_red_packets', 'source_id')
    op.drop_column('coupon_red_packets', 'source')
    for table in ('community_replies', 'community_topics', 'community_announcements', 'community_members',
                  'community_communities', 'community_rate_counters', 'community_bans', 'community_post_reports',
                  'community_comments', 'community_post_likes', 'community_posts'):
        op.drop_table(table)  # their indexes go with them
