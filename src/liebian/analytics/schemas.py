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
    nickname: str | None = None  # the root sharer's (the console's list names them; reports leave it empty)
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
    total: int  # the cascades listed from (of the channel asked for), for paging with offset
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


# --- the console's fission views -------------------------------------------------------------------

class GenerationK(BaseModel):
    depth: int
    shares: int
    children: int
    k_bps: int | None
    k: str | None


class KPoint(BaseModel):
    """K of the cascades whose root share was made in one period (re-shares counted up to the range's end)."""

    from_: date = Field(alias="from")
    to: date
    cascades: int
    shares: int
    k_bps: int | None
    k: str | None
    median_cycle_seconds: int | None
    generations: list[GenerationK]
    model_config = ConfigDict(populate_by_name=True)


class KSeries(Range):
    interval: Literal["day", "week"]
    channel: str | None
    points: list[KPoint]


class Kol(BaseModel):
    """A sharer's figures over the range: their own shares and what came through them, and their team's."""

    rank: int
    customer_id: int
    nickname: str | None
    shares: int  # made in the range
    visits: int  # through their shares, in the range
    unique_visitors: int  # reach: distinct people (or devices) who came through their shares
    new_customers: int
    orders: int  # attributed to their shares, paid in the range
    direct_gmv_fen: int
    gmv_share_bps: int | None  # of all sharers' direct GMV (the concentration's total)
    team_shares: int  # their shares and every re-share below them, over the cascades started in the range
    team_gmv_fen: int


class Kols(Range):
    order_by: Literal["gmv", "team_gmv", "reach"]
    total: int  # sharers
    gmv_fen: int
    items: list[Kol]


class TreeNode(BaseModel):
    share_id: int
    parent_share_id: int | None
    depth: int
    sharer_id: int | None  # None: a code of the shop's own (a campaign's landing)
    nickname: str | None
    channel: str
    created_at: datetime
    subtree_size: int | None  # None when the tree is cut (truncated)
    visits: int  # every visit through this share, whenever made
    unique_visitors: int
    orders: int  # paid orders attributed to this share
    gmv_fen: int  # their payable minus refunded


class CascadeTree(BaseModel):
    root_share_id: int
    channel: str
    campaign: str | None
    target_type: str
    target_id: int
    started_at: datetime
    size: int
    depth: int
    virality: str | None  # None for a single share, or when the tree is cut
    truncated: bool  # more than max_nodes shares: the first levels are shown, breadth first
    nodes: list[TreeNode]  # breadth first: every node's parent comes before it
