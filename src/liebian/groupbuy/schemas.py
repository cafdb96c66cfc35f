from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from liebian.groupbuy.rules import MAX_GROUP_SIZE, MAX_LADDER_TIERS, MIN_GROUP_SIZE
from liebian.kit.money import MAX_FEN
from liebian.kit.web import MAX_ID

MAX_STOCK = 10_000_000
MAX_DURATION_SECONDS = 30 * 24 * 3600
CampaignState = Literal["scheduled", "active", "ended", "closed"]
GroupState = Literal["pending", "open", "succeeded", "failed"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(ge=MIN_GROUP_SIZE, le=MAX_GROUP_SIZE)
    price_fen: int = Field(ge=0, le=MAX_FEN)


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku_id: int = Field(ge=1, le=MAX_ID)
    title: Title | None = None
    group_size: int = Field(ge=MIN_GROUP_SIZE, le=MAX_GROUP_SIZE)
    group_price_fen: int = Field(ge=1, le=MAX_FEN)
    leader_price_fen: int | None = Field(default=None, ge=0, le=MAX_FEN, description="0: free for the leader")
    ladder: list[TierIn] | None = Field(default=None, max_length=MAX_LADDER_TIERS, description=(
        "price tiers by final group size; the first tier's price is the group price, the last tier's size "
        "the group size; members are refunded the difference when the group closes at a lower tier"))
    duration_seconds: int = Field(ge=60, le=MAX_DURATION_SECONDS)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    stock: int | None = Field(default=None, ge=1, le=MAX_STOCK, description="units set aside from the SKU")
    per_customer_limit: int | None = Field(default=None, ge=1, le=9999, description="units per customer")
    new_customers_only: bool = Field(default=False, description="joiners must be new customers (老带新)")
    auto_complete_percent: int | None = Field(default=None, ge=1, le=99, description=(
        "at the deadline, a group at least this full succeeds; the shop pays the missing places"))


class CampaignPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    ends_at: AwareDatetime | None = None
    per_customer_limit: int | None = Field(default=None, ge=1, le=9999)
    new_customers_only: bool | None = None
    auto_complete_percent: int | None = Field(default=None, ge=1, le=99)
    add_stock: int | None = Field(default=None, ge=-MAX_STOCK, le=MAX_STOCK,
                                  description="move units between the SKU and the campaign (negative: back)")


class TierOut(BaseModel):
    size: int
    price_fen: int


class CampaignOut(BaseModel):
    id: int
    product_id: int
    sku_id: int
    title: str | None
    status: CampaignState
    group_size: int
    min_size: int
    group_price_fen: int
    leader_price_fen: int | None
    free_for_leader: bool
    ladder: list[TierOut] | None
    duration_seconds: int
    starts_at: datetime
    ends_at: datetime | None
    stock: int | None
    stock_left: int | None
    per_customer_limit: int | None
    new_customers_only: bool
    auto_complete_percent: int | None
    created_at: datetime
    closed_at: datetime | None


class CampaignStats(BaseModel):
    groups: int
    pending: int
    open: int
    succeeded: int
    failed: int
    completed_by_shop: int
    members_paid: int
    members_refunded: int


class CampaignDetail(CampaignOut):
    stats: CampaignStats


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    total: int
    limit: int
    offset: int


class ConsoleCampaignPage(BaseModel):
    """The console's list: every campaign with its live group counters."""

    items: list[CampaignDetail]
    total: int
    limit: int
    offset: int


class PublicMember(BaseModel):
    nickname: str  # masked
    avatar: str | None
    is_leader: bool


class GroupViewer(BaseModel):
    """The signed-in viewer's place in the group: their own seat, or why they cannot join it now."""

    is_member: bool
    is_leader: bool
    member_status: Literal["held", "paid"] | None  # held: their order is waiting for payment
    order_no: str | None  # their own order in this group
    can_join: bool
    refusal: str | None  # the problem code a join would meet now (e.g. already_in_group, group_full)
    refusal_detail: str | None


class GroupOut(BaseModel):
    """The group page: who joined (masked), how many places are left, and the countdown."""

    id: int
    campaign_id: int
    status: GroupState
    size: int
    members: list[PublicMember]
    slots_left: int
    paying: int  # places held by buyers who are paying now
    expires_at: datetime | None
    seconds_left: int | None
    completed_by_shop: bool
    shop_paid_slots: int
    group_price_fen: int
    leader_price_fen: int | None
    final_unit_price_fen: int | None
    ladder: list[TierOut] | None
    sku_id: int
    product_id: int
    viewer: GroupViewer | None = None  # only for a signed-in customer of the shop


class OpenGroupOut(BaseModel):
    id: int
    leader: PublicMember
    size: int
    slots_left: int
    expires_at: datetime
    seconds_left: int


class ConsoleMember(BaseModel):
    customer_id: int
    nickname: str
    order_no: str
    is_leader: bool
    status: Literal["held", "paid", "released", "refunded"]
    quantity: int
    unit_price_fen: int
    paid_fen: int
    refunded_fen: int
    joined_at: datetime
    paid_at: datetime | None
    left_at: datetime | None


class ConsoleGroup(BaseModel):
    id: int
    campaign_id: int
    status: GroupState
    size: int
    min_size: int
    slots_taken: int
    paid_count: int
    leader_customer_id: int
    created_at: datetime
    opened_at: datetime | None
    expires_at: datetime | None
    closed_at: datetime | None
    failure_reason: str | None
    final_unit_price_fen: int | None
    completed_by_shop: bool
    shop_paid_slots: int
    refunded_members: int


class ConsoleGroupDetail(ConsoleGroup):
    members: list[ConsoleMember]


class ConsoleGroupPage(BaseModel):
    items: list[ConsoleGroup]
    total: int
    limit: int
    offset: int
