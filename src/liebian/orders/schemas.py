from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, field_validator

from liebian.customers.addresses import AddressIn
from liebian.kit.money import MAX_FEN
from liebian.kit.web import MAX_ID


class LineIn(BaseModel):
    # Unknown fields (a client-side price, say) are ignored: prices come from the server only.
    model_config = ConfigDict(extra="ignore")
    sku_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Field(ge=1, le=9999)


class ContactIn(BaseModel):
    """Who collects a pickup order (no shipping address needed)."""

    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(pattern=r"^(\+?86)?1\d{10}$|^0\d{2,3}-?\d{7,8}$")

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class PromotionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(min_length=1, max_length=32)
    campaign_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    bargain_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class PlaceOrderIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    address: AddressIn | None = Field(default=None, description="required for delivery")
    fulfilment: Literal["delivery", "pickup"] = "delivery"
    store_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="the pickup store (pickup only)")
    contact: ContactIn | None = Field(default=None, description="pickup: who collects it (else the address's "
                                      "name and phone)")
    payment_method: Literal["wechat", "cod"] = "wechat"
    coupon_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    share_code: str | None = Field(default=None, min_length=1, max_length=64)
    promotion: PromotionIn | None = None
    note: str | None = Field(default=None, max_length=200)


class PaymentOut(BaseModel):
    out_trade_no: str | None
    provider: str | None = None
    status: str
    params: dict[str, Any] | None = None


class OrderLineOut(BaseModel):
    id: int
    sku_id: int
    product_id: int
    title: str
    specs: dict[str, Any]
    image: str | None
    unit_price_fen: int
    quantity: int
    total_fen: int
    discount_fen: int
    payable_fen: int
    refunded_fen: int


class OrderOut(BaseModel):
    order_no: str
    status: str
    payment_method: str
    payment_status: Literal["unpaid", "paid", "free"]
    lines: list[OrderLineOut]
    total_fen: int
    discount_fen: int
    shipping_fen: int
    payable_fen: int
    refunded_fen: int
    address: dict[str, Any] | None
    promotion: dict[str, Any] | None
    share_code: str | None
    note: str | None
    created_at: datetime
    payment_deadline: datetime | None
    paid_at: datetime | None
    shipped_at: datetime | None
    carrier: str | None
    tracking_no: str | None
    auto_complete_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    fulfilment_hold: str | None = None  # why a paid order waits before it can ship (its group is not full yet)
    fulfilment: Literal["delivery", "pickup"] = "delivery"
    store_id: int | None = None  # pickup: the store it is collected at
    pickup_no: int | None = None  # pickup: the queue number of that store on the order's Beijing day
    payment: PaymentOut | None = None
    customer_id: int | None = None
    # The address as stored, its phone sealed (liebian.orders.contact opens it for delivery), and the buyer:
    # never in an answer.
    _stored_address: dict[str, Any] | None = PrivateAttr(default=None)
    _buyer_id: int = PrivateAttr(default=0)


class OrderPage(BaseModel):
    items: list[OrderOut]
    total: int
    limit: int
    offset: int


class ShipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Stripped first: a blank carrier would be stored and only refused later by WeChat's shipping upload.
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    tracking_no: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$")


class RefundRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200)
    amount_fen: int | None = Field(default=None, ge=1, le=MAX_FEN)


class RefundRejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200)


class RefundRequestOut(BaseModel):
    id: int
    order_no: str
    amount_fen: int
    reason: str
    status: str
    initiated_by: str
    reject_reason: str | None
    created_at: datetime
    decided_at: datetime | None
    succeeded_at: datetime | None


class QuoteIn(PlaceOrderIn):
    """A cart as ``POST orders`` takes it (address and contact may be left out), and the coupons to try on it."""

    coupon_candidates: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=20, description="coupon ids: what each would take off, or why not")


class QuoteLineOut(BaseModel):
    sku_id: int
    product_id: int
    title: str
    specs: dict[str, Any]
    image: str | None
    stock: int
    unit_price_fen: int
    quantity: int
    total_fen: int
    discount_fen: int
    payable_fen: int


class QuotePromotionOut(BaseModel):
    kind: str
    unit_price_fen: int | None = None
    role: str | None = None  # group buy: "leader" or "member"


class CouponOptionOut(BaseModel):
    coupon_id: int
    usable: bool
    discount_fen: int  # what it would take off this cart (with the promotion's prices)
    code: str | None  # why not, as the problem ``POST orders`` would answer
    detail: str | None


class QuoteOut(BaseModel):
    lines: list[QuoteLineOut]
    total_fen: int
    discount_fen: int
    shipping_fen: int
    payable_fen: int
    coupon_discount_fen: int  # of ``coupon_id``, included in discount_fen
    promotion: QuotePromotionOut | None
    payment_methods: list[Literal["wechat", "cod"]]
    coupons: list[CouponOptionOut]
