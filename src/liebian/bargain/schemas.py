from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from liebian.bargain.rules import MAX_HELPERS, MIN_HELPERS
from liebian.kit.money import MAX_FEN
from liebian.kit.web import MAX_ID

MAX_STOCK = 10_000_000
MAX_DURATION_SECONDS = 30 * 24 * 3600
MAX_DAILY_CAP = 10_000
CampaignState = Literal["scheduled", "active", "ended", "closed"]
BargainState = Literal["active", "complete", "ordered", "expired"]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku_id: int = Field(ge=1, le=MAX_ID)
    title: Title | None = None
    start_price_fen: int = Field(ge=1, le=MAX_FEN, description="the price a bargain starts from (≤ the SKU's)")
    floor_price_fen: int = Field(ge=0, le=MAX_FEN, description="reached exactly by the last required helper")
    helpers_needed: int = Field(ge=MIN_HELPERS, le=MAX_HELPERS, description=(
        "friends who must each cut once to reach the floor; the initiator's opening cut comes on top"))
    duration_seconds: int = Field(ge=60, le=MAX_DURATION_SECONDS, description="how long each bargain runs")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    initiations_per_customer: int = Field(default=1, ge=1, le=1000, description="bargains one customer may start")
    helps_per_helper_per_day: int | None = Field(default=None, ge=1, le=MAX_DAILY_CAP, description=(
        "cuts one customer may make per day across all bargains of the shop (None: no cap)"))
    helps_per_device_per_day: int | None = Field(default=None, ge=1, le=MAX_DAILY_CAP, description=(
        "cuts from one device per day across the shop, whoever is logged in (None: no cap)"))
    buy_anytime: bool = Field(default=False, description="the initiator may buy at the current price before the floor")
    stock: int | None = Field(default=None, ge=1, le=MAX_STOCK, description="units set aside from the SKU")


class CampaignPatch(BaseModel):
    """What can change while bargains run: prices, helpers and duration stay (bargains started on them)."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    ends_at: AwareDatetime | None = None
    initiations_per_customer: int | None = Field(default=None, ge=1, le=1000)
    helps_per_helper_per_day: int | None = Field(default=None, ge=1, le=MAX_DAILY_CAP)
    helps_per_device_per_day: int | None = Field(default=None, ge=1, le=MAX_DAILY_CAP)
    buy_anytime: bool | None = Field(default=None, description="for bargains started from now on")
    add_stock: int | None = Field(default=None, ge=-MAX_STOCK, le=MAX_STOCK,
                                  description="move units between the SKU and the campaign (negative: back)")


class CampaignOut(BaseModel):
    id: int
    product_id: int
    sku_id: int
    title: str | None
    status: CampaignState
    start_price_fen: int
    floor_price_fen: int
    helpers_needed: int
    duration_seconds: int
    starts_at: datetime
    ends_at: datetime | None
    initiations_per_customer: int
    helps_per_helper_per_day: int | None
    helps_per_device_per_day: int | None
    buy_anytime: bool
    stock: int | None
    stock_left: int | None
    created_at: datetime
    closed_at: datetime | None


class CampaignStats(BaseModel):
    bargains: int
    active: int
    complete: int
    ordered: int
    expired: int
    helps: int


class CampaignDetail(CampaignOut):
    stats: CampaignStats


class CampaignPage(BaseModel):
    items: list[CampaignOut]
    total: int
    limit: int
    offset: int


class ConsoleCampaignPage(BaseModel):
    """The console's list: every campaign with its live bargain counters."""

    items: list[CampaignDetail]
    total: int
    limit: int
    offset: int


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    campaign_id: int = Field(ge=1, le=MAX_ID)


class PublicPerson(BaseModel):
    nickname: str  # masked
    avatar: str | None


class CutOut(BaseModel):
    """One cut on the bargain page: seq 0 is the initiator's opening cut."""

    seq: int
    is_initiator: bool
    nickname: str  # masked
    avatar: str | None
    cut_fen: int
    price_after_fen: int
    helped_at: datetime


class MyHelp(BaseModel):
    cut_fen: int
    price_after_fen: int
    seq: int


class BargainOut(BaseModel):
    """The bargain page a shared link opens: no login needed, nicknames masked, no personal data."""

    id: int
    campaign_id: int
    sku_id: int
    product_id: int
    title: str | None
    status: BargainState
    start_price_fen: int
    floor_price_fen: int
    current_price_fen: int
    helpers_needed: int
    help_count: int
    helpers_left: int
    buy_anytime: bool
    initiator: PublicPerson
    helps: list[CutOut]
    created_at: datetime
    expires_at: datetime
    seconds_left: int
    completed_at: datetime | None
    mine: bool  # the viewer started it
    can_buy: bool  # the viewer may order it now
    order_no: str | None  # shown to the initiator only
    my_help: MyHelp | None  # the viewer's own cut, if they helped


class HelpOut(BaseModel):
    """A friend's cut. A repeated tap answers the same (``already_helped``) and cuts nothing more."""

    bargain_id: int
    seq: int
    cut_fen: int
    current_price_fen: int  # the price right after this cut
    helpers_left: int
    complete: bool  # this cut reached the floor
    already_helped: bool


class BargainSummary(BaseModel):
    id: int
    campaign_id: int
    status: BargainState
    current_price_fen: int
    floor_price_fen: int
    helpers_needed: int
    help_count: int
    expires_at: datetime
    order_no: str | None


class ConsoleCut(BaseModel):
    seq: int
    customer_id: int
    nickname: str
    cut_fen: int
    price_after_fen: int
    helped_at: datetime


class ConsoleBargain(BaseModel):
    id: int
    campaign_id: int
    customer_id: int
    status: BargainState
    start_price_fen: int
    floor_price_fen: int
    current_price_fen: int
    helpers_needed: int
    help_count: int
    buy_anytime: bool
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    ordered_at: datetime | None
    closed_at: datetime | None
    order_no: str | None
    orders_cancelled: int


class ConsoleBargainDetail(ConsoleBargain):
    plan: list[int]  # every planned cut, the opening one first
    helps: list[ConsoleCut]


class ConsoleBargainPage(BaseModel):
    items: list[ConsoleBargain]
    total: int
    limit: int
    offset: int
