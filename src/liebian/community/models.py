"""Tables of content and community (owned by this module).

Counters (likes, comments, members, replies, rate-limit hits) move only by guarded single-statement writes in
the same statement as the row they count; ``community.queries.violations`` checks that they agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from liebian.kit.db import Base

AUTHOR_TYPES = ("shop", "promoter")
JOIN_POLICIES = ("open", "invite")
ROLES = ("owner", "admin", "member")
MEMBER_STATUSES = ("active", "removed")
ACTIONS = ("post", "comment", "topic", "reply")
WINDOWS = ("minute", "day")


class Post(Base):
    """A post (图文 or a short-video link) by the shop or a promoter, linking products of the shop.

    ``share_id``/``share_code`` is the author's share of target ``post`` on channel ``community``: views and
    orders through the post are attributed to it, and its sharer (the author) is who viewers may be bound to.
    """

    __tablename__ = "community_posts"
    __table_args__ = (
        CheckConstraint(f"author_type IN {AUTHOR_TYPES!r}", name="author_type"),
        CheckConstraint("(author_type = 'shop') = (author_id IS NULL)", name="author"),
        CheckConstraint("char_length(title) BETWEEN 1 AND 60 AND char_length(body) <= 2000", name="lengths"),
        CheckConstraint("like_count >= 0 AND comment_count >= 0 AND report_count >= 0", name="counters"),
        CheckConstraint("hidden = (hidden_at IS NOT NULL)", name="hidden_at"),
        CheckConstraint("reports_reviewed >= 0 AND reports_reviewed <= report_count", name="reports_reviewed"),
        Index("ix_community_posts_feed", "shop_id", "id", postgresql_where=text("NOT hidden")),
        Index("ix_community_posts_author", "shop_id", "author_id", "id"),
        Index("ix_community_posts_products", "product_ids", postgresql_using="gin"),
        Index("ix_community_posts_reported", "shop_id", "report_count", postgresql_where=text("report_count > 0")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    author_type: Mapped[str] = mapped_column(String(10), nullable=False)
    author_id: Mapped[int | None] = mapped_column(nullable=True)  # a promoter (customer); None for the shop
    title: Mapped[str] = mapped_column(String(60), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    images: Mapped[list[Any]] = mapped_column(nullable=False, server_default=text("'[]'::jsonb"))
    video_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    product_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger()), nullable=False,
                                                   server_default=text("'{}'::bigint[]"))
    share_id: Mapped[int | None] = mapped_column(nullable=True)
    share_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    like_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    comment_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))  # visible ones
    report_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # The console kept the post after its first ``reports_reviewed`` reports: it awaits review again only when
    # more come in (``report_count > reports_reviewed``).
    reports_reviewed: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    reviewed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    hidden: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    hidden_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class PostLike(Base):
    """Once per customer per post: the primary key decides, so a double tap cannot count twice."""

    __tablename__ = "community_post_likes"

    post_id: Mapped[int] = mapped_column(ForeignKey("community_posts.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Comment(Base):
    __tablename__ = "community_comments"
    __table_args__ = (
        CheckConstraint("char_length(body) BETWEEN 1 AND 500", name="body"),
        Index("ix_community_comments_post", "post_id", "id"),
        Index("ix_community_comments_shop", "shop_id", "id"),  # the console's moderation list
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    post_id: Mapped[int] = mapped_column(ForeignKey("community_posts.id"), nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    body: Mapped[str] = mapped_column(String(500), nullable=False)
    hidden: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class PostReport(Base):
    """Once per customer per post."""

    __tablename__ = "community_post_reports"

    post_id: Mapped[int] = mapped_column(ForeignKey("community_posts.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Ban(Base):
    """A customer the shop banned from posting, commenting and discussing in its community."""

    __tablename__ = "community_bans"

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    banned_at: Mapped[datetime] = mapped_column(nullable=False)


class RateCounter(Base):
    """Writes per customer, action and window (the minute, or the Shanghai day): a guarded upsert keeps
    ``hits <= cap``; old windows are swept."""

    __tablename__ = "community_rate_counters"
    __table_args__ = (
        CheckConstraint(f"action IN {ACTIONS!r}", name="action"),
        CheckConstraint(f"span IN {WINDOWS!r}", name="span"),
        CheckConstraint("hits >= 1 AND hits <= cap", name="within_cap"),
        Index("ix_community_rate_counters_started", "started_at"),
    )

    shop_id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(8), primary_key=True)
    span: Mapped[str] = mapped_column(String(8), primary_key=True)  # the window: minute or day
    started_at: Mapped[datetime] = mapped_column(primary_key=True)
    cap: Mapped[int] = mapped_column(Integer, nullable=False)
    hits: Mapped[int] = mapped_column(Integer, nullable=False)


class Community(Base):
    """A community (社群 / 圈子) owned by the shop or by a promoter."""

    __tablename__ = "community_communities"
    __table_args__ = (
        CheckConstraint(f"owner_type IN {AUTHOR_TYPES!r}", name="owner_type"),
        CheckConstraint("(owner_type = 'shop') = (owner_id IS NULL)", name="owner"),
        CheckConstraint(f"join_policy IN {JOIN_POLICIES!r}", name="join_policy"),
        CheckConstraint("member_count >= 0", name="member_count"),
        Index("uq_community_communities_invite", "invite_code", unique=True),
        Index("ix_community_communities_shop", "shop_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    owner_type: Mapped[str] = mapped_column(String(10), nullable=False)
    owner_id: Mapped[int | None] = mapped_column(nullable=True)
    name: Mapped[str] = mapped_column(String(40), nullable=False)
    description: Mapped[str] = mapped_column(String(500), nullable=False, server_default="")
    rules: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    join_policy: Mapped[str] = mapped_column(String(8), nullable=False)
    invite_code: Mapped[str] = mapped_column(String(16), nullable=False)
    member_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Member(Base):
    """``active`` members count in ``member_count``; a ``removed`` member cannot join again."""

    __tablename__ = "community_members"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="role"),
        CheckConstraint(f"status IN {MEMBER_STATUSES!r}", name="status"),
        Index("ix_community_members_list", "community_id", "joined_at", postgresql_where=text("status = 'active'")),
        Index("ix_community_members_customer", "shop_id", "customer_id"),
    )

    community_id: Mapped[int] = mapped_column(ForeignKey("community_communities.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    role: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False)
    joined_at: Mapped[datetime] = mapped_column(nullable=False)
    removed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Announcement(Base):
    """An owner's or admin's (or the shop's) notice; pinned ones first. A community red packet is one."""

    __tablename__ = "community_announcements"
    __table_args__ = (
        Index("ix_community_announcements_list", "community_id", "pinned", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    community_id: Mapped[int] = mapped_column(ForeignKey("community_communities.id"), nullable=False)
    author_id: Mapped[int | None] = mapped_column(nullable=True)  # None: the shop
    title: Mapped[str] = mapped_column(String(60), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    pinned: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    red_packet_id: Mapped[int | None] = mapped_column(nullable=True)
    red_packet_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Topic(Base):
    __tablename__ = "community_topics"
    __table_args__ = (
        CheckConstraint("reply_count >= 0", name="reply_count"),
        Index("ix_community_topics_list", "community_id", "id", postgresql_where=text("NOT hidden")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    community_id: Mapped[int] = mapped_column(ForeignKey("community_communities.id"), nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    title: Mapped[str] = mapped_column(String(60), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    reply_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))  # visible ones
    hidden: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Reply(Base):
    """A reply to a topic (depth 1) or to a reply (depth 2, the deepest)."""

    __tablename__ = "community_replies"
    __table_args__ = (
        CheckConstraint("depth BETWEEN 1 AND 2", name="depth"),
        CheckConstraint("(depth = 1) = (parent_id IS NULL)", name="parent"),
        Index("ix_community_replies_topic", "topic_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shop_id: Mapped[int] = mapped_column(nullable=False)
    topic_id: Mapped[int] = mapped_column(ForeignKey("community_topics.id"), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("community_replies.id"), nullable=True)
    depth: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    customer_id: Mapped[int] = mapped_column(nullable=False)
    body: Mapped[str] = mapped_column(String(1000), nullable=False)
    hidden: Mapped[bool] = mapped_column(nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(nullable=False)
