"""Request and response bodies of content and community."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from liebian.community import rules
from liebian.coupons.rules import MAX_PARTS
from liebian.kit.web import MAX_ID

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=rules.MAX_TITLE)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^(https?://|/)\S+$")]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
JoinPolicy = Literal["open", "invite"]
Role = Literal["owner", "admin", "member"]


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    body: str = Field(default="", max_length=rules.MAX_POST_BODY)
    images: list[Url] = Field(default_factory=list, max_length=rules.MAX_IMAGES)
    video_url: Url | None = Field(default=None, description="a short-video link (视频号 or the shop's own host)")
    product_ids: list[Id] = Field(default_factory=list, max_length=rules.MAX_PRODUCTS,
                                  description="this shop's published products the post links to")


class Author(BaseModel):
    type: Literal["shop", "promoter"]
    id: int | None  # the promoter's customer id; None for the shop
    nickname: str  # the shop's name, or the promoter's nickname, masked


class PostOut(BaseModel):
    id: int
    author: Author
    title: str
    body: str
    images: list[str]
    video_url: str | None
    product_ids: list[int]
    share_code: str | None  # record views with POST visits {share_code}; orders through it are the post's
    like_count: int
    comment_count: int
    liked: bool | None = None  # whether the viewer likes it (logged in)
    hidden: bool = False  # only its author (and the console) ever sees a hidden post
    created_at: datetime


class ConsolePostOut(PostOut):
    report_count: int
    hidden_at: datetime | None
    reports_reviewed: int = 0  # reports the console already reviewed (it kept the post)
    reviewed_at: datetime | None = None
    awaiting_review: bool = False  # visible, with reports nobody reviewed yet


class PostPage(BaseModel):
    items: list[PostOut]
    next_before: int | None  # pass as ``before`` for the next page; None: no more


class ConsolePostPage(BaseModel):
    items: list[ConsolePostOut]
    total: int
    limit: int
    offset: int


class ConsoleCommentOut(BaseModel):
    """A comment as the console's moderation list shows it: who wrote it (unmasked) and on which post."""

    id: int
    post_id: int
    post_title: str
    customer_id: int
    nickname: str
    body: str
    hidden: bool
    created_at: datetime


class ConsoleCommentPage(BaseModel):
    items: list[ConsoleCommentOut]
    total: int
    limit: int
    offset: int


class LikeOut(BaseModel):
    post_id: int
    liked: bool
    like_count: int


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=rules.MAX_COMMENT)]


class CommentOut(BaseModel):
    id: int
    post_id: int
    nickname: str  # masked
    avatar: str | None
    mine: bool = False
    body: str
    hidden: bool = False
    created_at: datetime


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class ReportOut(BaseModel):
    post_id: int
    reason: str
    created_at: datetime


class ConsoleReportOut(ReportOut):
    customer_id: int


class BanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: Id
    reason: Reason | None = None


class BanOut(BaseModel):
    customer_id: int
    nickname: str
    reason: str | None
    banned_at: datetime


# --- communities --------------------------------------------------------------------------------------

class CommunityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    description: str = Field(default="", max_length=500)
    rules: str = Field(default="", max_length=2000, description="shown to everyone who joins")
    join: JoinPolicy = "invite"


class CommunityOut(BaseModel):
    id: int
    owner_type: Literal["shop", "promoter"]
    name: str
    description: str
    rules: str
    join: JoinPolicy
    member_count: int
    created_at: datetime
    my_role: Role | None = None  # the viewer's role; None: not a member
    invite_code: str | None = None  # only for its owner and admins (and the console)
    invite_url: str | None = None


class JoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invite_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]


class MemberOut(BaseModel):
    member_id: int  # the customer, to remove or promote them; never their openid or phone
    nickname: str  # masked
    avatar: str | None
    role: Role
    joined_at: datetime


class MemberPage(BaseModel):
    items: list[MemberOut]
    total: int
    limit: int
    offset: int


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "member"]


class AnnouncementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    body: str = Field(default="", max_length=rules.MAX_POST_BODY)
    pinned: bool = True


class AnnouncementOut(BaseModel):
    id: int
    title: str
    body: str
    pinned: bool
    by_shop: bool
    red_packet_code: str | None  # claim with POST red-packets/{code}/claim (members only)
    created_at: datetime


class CommunityRedPacketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title = "社群红包"
    total_fen: int = Field(ge=1, le=100_000_000)
    parts: int = Field(ge=1, le=MAX_PARTS)
    min_part_fen: int = Field(default=1, ge=1, le=100_000_000)
    claim_hours: int = Field(default=24, ge=1, le=30 * 24)
    coupon_valid_days: int = Field(default=7, ge=1, le=365)
    coupon_threshold_fen: int = Field(default=0, ge=0, le=100_000_000)


class TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    body: str = Field(default="", max_length=rules.MAX_POST_BODY)


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=rules.MAX_REPLY)]
    parent_id: Id | None = Field(default=None, description="the reply this answers; none: the topic itself")


class ReplyOut(BaseModel):
    id: int
    parent_id: int | None
    depth: int
    nickname: str
    avatar: str | None
    body: str
    created_at: datetime
    replies: list[ReplyOut] = Field(default_factory=list)


class TopicOut(BaseModel):
    id: int
    community_id: int
    nickname: str
    avatar: str | None
    title: str
    body: str
    reply_count: int
    created_at: datetime


class TopicDetail(TopicOut):
    replies: list[ReplyOut]  # threaded, at most two levels


class TopicPage(BaseModel):
    items: list[TopicOut]
    next_before: int | None
