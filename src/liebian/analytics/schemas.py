"""Answers of the fission analytics: money in integer fen, rates in basis points with the same ratio as an
exact decimal string (``roi_bps`` / ``roi`` as in campaigns' reports), durations in whole seconds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from liebian.campaigns.schemas import Report as CampaignReport

GroupBy = Literal["channel", "campaign", "product", "promoter"]


class Range(BaseModel):
    from_: date = Field(alias="from")
    to: date
    model_config = ConfigDict(populate_by_name=True)


class Stage(BaseModel):
    """One funnel: shares → visits (unique visitors) → new customers → orders (buyers) → GMV."""

    shares: int
    visits: int
    unique_visitors: int
    new_customers: int
    orders: int
    buyers: int
    gmv_fen: int
    order_rate_bps: int | None  # orders per visit
    order_rate: str | None


class FunnelRow(BaseModel):
    key: str | None  # the channel, campaign key, product id or promoter id; None: no campaign, shop-owned ...
    first_hop: Stage
    cascade: Stage


class Funnel(Range):
    group_by: GroupBy
    total: FunnelRow
    items: list[FunnelRow]


class Generation(BaseModel):
    depth: int
    shares: int
    children: int
    k_bps: int | None
    k: str | None
    median_delay_seconds: int | None  # from the parent share to its children, for the children of this depth
    p90_delay_seconds: int | None


class KFactor(Range):
    cascades: int
    shares: int
    k_bps: int | None  # the mean number of re-shares per share (Harris' estimator over the generations)
    k: str | None
    reach_ceiling: str | None  # roots / (1 − K) when K < 1, two decimals
    median_cycle_seconds: int | None
    p90_cycle_seconds: int | None
    generations: list[Generation]


class Cascade(BaseModel):
    root_share_id: int
    promoter_id: int | None
    channel: str
    campaign: str | None
    product_id: int | None
    started_at: datetime
    size: int
    depth: int
    max_breadth: int
    virality: str | None  # the mean distance between two shares of the tree, four decimals
    visits: int
    orders: int
    gmv_fen: int


class CascadeSummary(BaseModel):
    cascades: int
    shares: int
    single_share_bps: int | None  # cascades that are one share (nobody re-shared)
    max_size: int
    max_depth: int
    mean_size: str | None
    mean_virality: str | None  # over cascades of at least two shares
    size_buckets: dict[str, int]


class Cascades(Range):
    order_by: Literal["size", "virality"]
    summary: CascadeSummary
    items: list[Cascade]


class TopShare(BaseModel):
    sharers: int
    gmv_fen: int
    share_bps: int | None
    share: str | None


class OneHop(BaseModel):
    m: int
    sharer_ids: list[int]
    direct_gmv_fen: int
    one_hop_gmv_fen: int  # orders through their shares and through re-shares of their shares
    share_bps: int | None


class Concentration(Range):
    sharers: int
    gmv_fen: int
    top_1_percent: TopShare
    top_10_percent: TopShare
    gini_bps: int | None
    gini: str | None
    lorenz: list[tuple[int, int]]  # (population bps, GMV bps), from the smallest sharers up, every 5%
    top_m: OneHop


class Team(BaseModel):
    promoter_id: int
    shares: int
    direct_gmv_fen: int
    team_shares: int  # their shares and every re-share below them
    team_gmv_fen: int


class Teams(Range):
    items: list[Team]


class Repeat(BaseModel):
    customers: int
    repeat_customers: int
    repeat_rate_bps: int | None
    repeat_rate: str | None


class Retention(Range):
    referred: Repeat
    not_referred: Repeat


class Cac(Range):
    by_channel: CampaignReport
    by_campaign: CampaignReport


class Report(Range):
    events: int
    funnel: Funnel
    kfactor: KFactor
    cascades: Cascades
    concentration: Concentration
    teams: Teams
    retention: Retention
    cac: Cac | None = None
