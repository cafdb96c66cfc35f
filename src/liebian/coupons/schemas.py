from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from liebian.coupons.rules import MAX_PARTS
from liebian.kit.money import MAX_FEN
from liebian.kit.web import MAX_ID

MAX_QUANTITY = 10_000_000
MAX_SCOPE_ITEMS = 100
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
CategoryName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
TemplateState = Literal["active", "exhausted", "ended", "disabled"]
CouponState = Literal["available", "used", "expired"]
Kind = Literal["fixed", "percent", "threshold"]


class ScopeIn(BaseModel):
    """``{type: "shop"}``, ``{type: "category", categories: [ids or names]}``, ``{type: "product", product_ids}``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["shop", "category", "product"] = "shop"
    categories: list[Annotated[int, Field(ge=1, le=MAX_ID)] | CategoryName] | None = Field(
        default=None, min_length=1, max_length=MAX_SCOPE_ITEMS)
    product_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, min_length=1, max_length=MAX_SCOPE_ITEMS)


class ScopeOut(BaseModel):
    type: Literal["shop", "category", "product"]
    categories: list[int] | None = None  # category ids
    product_ids: list[int] | None = None


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    kind: Kind
    amount_fen: int | None = Field(default=None, ge=1, le=MAX_FEN, description="fixed and threshold coupons")
    percent_bps: int | None = Field(default=None, ge=1, le=9999,
                                    description="percent coupons: the share taken off (2000 = 20% off, 八折)")
    cap_fen: int | None = Field(default=None, ge=1, le=MAX_FEN, description="percent coupons: at most this much off")
    threshold_fen: int | None = Field(default=None, ge=0, le=MAX_FEN,
                                      description="eligible goods needed (满减; optional for the other kinds)")
    scope: ScopeIn | None = None
    stackable: bool = Field(default=False, description="may be used together with a group buy, bargain or flash sale")
    total_quantity: int = Field(ge=1, le=MAX_QUANTITY)
    per_customer_limit: int = Field(ge=1, le=100)
    valid_days: int | None = Field(default=None, ge=1, le=3650, description="valid for N days after the claim")
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = Field(default=None, description="valid until (and claimable until) this time")


class TemplateOut(BaseModel):
    id: int
    name: str
    kind: Kind
    amount_fen: int | None
    percent_bps: int | None
    cap_fen: int | None
    threshold_fen: int
    scope: ScopeOut
    stackable: bool
    total_quantity: int
    issued: int
    remaining: int
    per_customer_limit: int
    valid_days: int | None
    valid_from: datetime | None
    valid_to: datetime | None
    status: TemplateState
    created_at: datetime
    disabled_at: datetime | None


class TemplatePage(BaseModel):
    items: list[TemplateOut]
    total: int
    limit: int
    offset: int


class TemplatePatch(BaseModel):
    """What can change after coupons were claimed: those already claimed keep their own terms and dates."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    total_quantity: int | None = Field(default=None, ge=1, le=MAX_QUANTITY, description="never below what was issued")
    per_customer_limit: int | None = Field(default=None, ge=1, le=100)
    valid_to: AwareDatetime | None = Field(default=None, description=(
        "fixed-date templates only: claimable (and new coupons valid) until this time"))


class ConsoleTemplateOut(TemplateOut):
    used: int  # coupons of this template that paid part of an order


class ConsoleTemplatePage(BaseModel):
    """The console's list: every template with how many of its coupons were used."""

    items: list[ConsoleTemplateOut]
    total: int
    limit: int
    offset: int


class AvailableTemplate(BaseModel):
    """A template the customer can still claim."""

    id: int
    name: str
    kind: Kind
    amount_fen: int | None
    percent_bps: int | None
    cap_fen: int | None
    threshold_fen: int
    scope: ScopeOut
    stackable: bool
    remaining: int
    per_customer_limit: int
    claimed: int  # by this customer so far
    valid_days: int | None
    valid_from: datetime | None
    valid_to: datetime | None


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template_id: int = Field(ge=1, le=MAX_ID)


class CouponOut(BaseModel):
    id: int
    template_id: int | None
    red_packet_id: int | None
    name: str
    kind: Kind
    amount_fen: int | None
    percent_bps: int | None
    cap_fen: int | None
    threshold_fen: int
    scope: ScopeOut
    stackable: bool
    status: CouponState
    valid_from: datetime
    valid_to: datetime
    claimed_at: datetime
    used_at: datetime | None
    order_no: str | None


class CouponPage(BaseModel):
    items: list[CouponOut]
    total: int
    limit: int
    offset: int


# --- red packets -------------------------------------------------------------------------------------

class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    total_fen: int = Field(ge=1, le=100_000_000)
    parts: int = Field(ge=1, le=MAX_PARTS)
    min_part_fen: int = Field(default=1, ge=1, le=100_000_000)
    min_order_fen: int = Field(default=0, ge=0, le=MAX_FEN, description="orders paying at least this earn a packet")
    claim_hours: int = Field(default=24, ge=1, le=30 * 24, description="friends can claim for this long")
    coupon_valid_days: int = Field(default=7, ge=1, le=365)
    coupon_threshold_fen: int = Field(default=0, ge=0, le=MAX_FEN, description="each part's coupon needs this spend")
    daily_claims_per_customer: int = Field(default=5, ge=1, le=1000)
    daily_claims_per_device: int = Field(default=5, ge=1, le=1000)
    enabled: bool = True


class OfferPatch(BaseModel):
    """Any of the offer's fields; packets already granted keep the terms they were granted on."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    name: Name | None = None
    total_fen: int | None = Field(default=None, ge=1, le=100_000_000)
    parts: int | None = Field(default=None, ge=1, le=MAX_PARTS)
    min_part_fen: int | None = Field(default=None, ge=1, le=100_000_000)
    min_order_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    claim_hours: int | None = Field(default=None, ge=1, le=30 * 24)
    coupon_valid_days: int | None = Field(default=None, ge=1, le=365)
    coupon_threshold_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    daily_claims_per_customer: int | None = Field(default=None, ge=1, le=1000)
    daily_claims_per_device: int | None = Field(default=None, ge=1, le=1000)


class OfferOut(BaseModel):
    id: int
    name: str | None
    total_fen: int
    parts: int
    min_part_fen: int
    min_order_fen: int
    claim_hours: int
    coupon_valid_days: int
    coupon_threshold_fen: int
    daily_claims_per_customer: int
    daily_claims_per_device: int
    enabled: bool
    created_at: datetime
    updated_at: datetime


class ConsoleOfferOut(OfferOut):
    """An offer with what it granted: packets sent to buyers, parts their friends claimed."""

    packets: int
    granted_fen: int
    parts_total: int
    parts_claimed: int
    claimed_fen: int


class PacketClaimOut(BaseModel):
    nickname: str  # masked
    avatar: str | None
    amount_fen: int
    claimed_at: datetime
    is_luckiest: bool


class RedPacketOut(BaseModel):
    """The page a shared link opens: no login needed, nicknames masked, no personal data."""

    id: int  # the share target (``POST shares {target_type: "red_packet", target_id: id}``)
    code: str
    status: Literal["open", "finished", "expired"]
    total_fen: int
    parts: int
    parts_claimed: int
    claimed_fen: int
    coupon_valid_days: int
    coupon_threshold_fen: int
    created_at: datetime
    expires_at: datetime
    seconds_left: int
    claims: list[PacketClaimOut]
    my_amount_fen: int | None = None  # what the viewer claimed, when logged in


class MyRedPacket(RedPacketOut):
    order_no: str


class PacketClaimResult(BaseModel):
    """What this customer got: one part, as a fixed-amount coupon."""

    amount_fen: int
    coupon: CouponOut
    packet: RedPacketOut
