from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from liebian.campaigns.rules import KEY_PATTERN
from liebian.fission.rules import Channel, TargetType
from liebian.kit.money import MAX_FEN
from liebian.kit.web import MAX_ID

CampaignState = Literal["scheduled", "active", "ended"]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
# What a campaign may land on: a product's purchase page, the shop's home, a store page, a content post.
LandingType = Literal[TargetType.PRODUCT, TargetType.SHOP, TargetType.STORE, TargetType.POST]


class LandingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_type: LandingType
    target_id: int = Field(ge=0, le=MAX_ID, description="the product (store, post) id; 0 or the shop's id for shop")


class GeoIn(BaseModel):
    """The ad's audience: people within ``radius_m`` of one of the shop's stores (Moments ads' LBS targeting)."""

    model_config = ConfigDict(extra="forbid")
    store_id: int = Field(ge=1, le=MAX_ID)
    radius_m: int = Field(ge=100, le=50_000)


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    channel: Channel
    starts_on: date
    ends_on: date
    landing: LandingIn
    key: Key | None = Field(default=None, description="what the campaign's shares carry; default cmp-<id>")
    geo: GeoIn | None = None
    budget_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    note: Note | None = None
    code_label: Label | None = Field(default=None, description="the label of the first landing code")


class CampaignPatch(BaseModel):
    """The landing, channel and start cannot change: codes already printed or placed point at them."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    ends_on: date | None = None
    geo: GeoIn | None = None
    clear_geo: bool = False
    budget_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    note: Note | None = None


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Label | None = Field(default=None, description="e.g. the official-account article or menu entry")


class CodeOut(BaseModel):
    code: str
    label: str | None
    url: str
    scene: str
    qr_png_url: str
    qr_svg_url: str
    poster_png_url: str
    wxacode_png_url: str
    channel: str
    campaign: str | None
    created_at: datetime


class LandingOut(BaseModel):
    target_type: str
    target_id: int


class GeoOut(BaseModel):
    store_id: int
    radius_m: int


class CampaignOut(BaseModel):
    id: int
    key: str
    name: str
    channel: str
    status: CampaignState
    starts_on: date
    ends_on: date
    landing: LandingOut
    geo: GeoOut | None
    budget_fen: int | None
    spend_fen: int
    note: str | None
    created_at: datetime
    ended_at: datetime | None


class CampaignDetail(CampaignOut):
    codes: list[CodeOut]


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    total: int
    limit: int
    offset: int


class SpendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_fen: int = Field(ge=0, le=MAX_FEN)


class SpendOut(BaseModel):
    campaign_id: int
    date: date
    amount_fen: int
    source: str
    updated_at: datetime


class ImportOut(BaseModel):
    rows: int
    days: int
    campaigns: int
    total_fen: int


class ReportRow(BaseModel):
    """One campaign's or channel's figures over the range; definitions in the README (and reports.py)."""

    campaign_id: int | None
    campaign_key: str | None
    name: str | None
    channel: str
    visits: int
    unique_visitors: int
    new_customers: int
    first_orders: int
    orders: int
    paying_customers: int
    gross_fen: int
    refunded_fen: int
    gmv_fen: int
    spend_fen: int
    cac_fen: int | None
    roi_bps: int | None
    roi: str | None


class Report(BaseModel):
    from_: date = Field(alias="from")
    to: date
    group_by: Literal["campaign", "channel"]
    items: list[ReportRow]
    model_config = ConfigDict(populate_by_name=True)
