"""Request and answer bodies of the flash sale."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from liebian.customers.addresses import AddressIn
from liebian.flashsale.rules import MAX_LIMIT, MAX_STOCK, SlotState
from liebian.kit.money import MAX_FEN
from liebian.kit.web import MAX_ID

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
EntryStatus = Literal["queued", "ordered", "failed", "returned"]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku_id: int = Field(ge=1, le=MAX_ID)
    title: Title | None = None
    price_fen: int = Field(ge=1, le=MAX_FEN, description="the flash-sale price, below the SKU's price")
    stock: int = Field(ge=1, le=MAX_STOCK, description="units set aside from the SKU for this slot")
    per_customer_limit: int = Field(ge=1, le=MAX_LIMIT, description="units per customer over the slot")
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class CampaignPatch(BaseModel):
    """Title and end while the slot has not ended; price, limit and start only before it starts."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    price_fen: int | None = Field(default=None, ge=1, le=MAX_FEN, description="only before the slot starts")
    per_customer_limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT, description="only before it starts")
    starts_at: AwareDatetime | None = Field(default=None, description="only before the slot starts")
    ends_at: AwareDatetime | None = None


class CampaignOut(BaseModel):
    id: int
    product_id: int
    sku_id: int
    title: str | None
    price_fen: int
    stock: int
    remaining: int = Field(description="units not yet taken (queued entries hold theirs)")
    per_customer_limit: int
    starts_at: datetime
    ends_at: datetime
    status: Literal["active", "ended"]
    state: SlotState
    seconds_to_start: int
    seconds_to_end: int


class ConsoleCampaignOut(CampaignOut):
    sold: int = Field(description="units in live orders")
    returned: int = Field(description="units given back to the SKU when the slot ended")
    created_at: datetime
    ended_at: datetime | None


class CampaignStats(BaseModel):
    orders: int
    returned_orders: int
    failed_entries: int
    buyers: int


class ConsoleCampaignDetail(ConsoleCampaignOut):
    stats: CampaignStats


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    total: int
    limit: int
    offset: int


class ConsoleCampaignPage(BaseModel):
    items: list[ConsoleCampaignOut]
    total: int
    limit: int
    offset: int


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quantity: int = Field(default=1, ge=1, le=MAX_LIMIT)
    address: AddressIn
    payment_method: Literal["wechat"] = "wechat"


class EntryOut(BaseModel):
    id: str
    campaign_id: int
    status: EntryStatus
    quantity: int
    order_no: str | None = None
    failure_code: str | None = None
    order: dict[str, Any] | None = Field(default=None, description="the order, when it was placed by this call")
