"""The fission log as columns: what the analytics computations read, whether it came from PostgreSQL
(:mod:`liebian.analytics.loading`) or from the in-memory generator of the benchmark
(:mod:`liebian.analytics.synthetic`).

Every column is a NumPy ``int64`` array (``-1`` stands for "none"), every time a count of microseconds on one
clock (PostgreSQL's binary timestamps: microseconds since 2000-01-01 UTC). Shares are sorted by id, and a
re-share is always created after its parent, so its id (and index) is larger: a walk from the last index to
the first visits every child before its parent (a reverse topological order, with no sort).

A cascade's node is a **share** (a row of ``fission_shares``), not a person: the share tree is exact (each
re-share names its parent), while one person may share several times inside one cascade, and a share is the
unit of exposure that visits and orders hang off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Ints = npt.NDArray[np.int64]
else:
    Ints = object


EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL's binary timestamps count from here


def micros(at: datetime) -> int:
    """An instant as PostgreSQL's binary timestamp: microseconds since 2000-01-01 UTC."""
    return (at - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


@dataclass
class Shares:
    """Every share created in the range, plus the older shares that a visit or an order of the range came
    through (``in_range`` tells them apart). ``root_*`` are the attributes of the cascade's root share, which
    name the cascade's channel, campaign, product and initiating promoter."""

    id: Ints
    parent: Ints  # the parent share's id, -1 for a root
    root: Ints  # the root share's id (the share's own id for a root)
    depth: Ints
    sharer: Ints  # -1: a shop-owned code
    parent_sharer: Ints
    created: Ints
    in_range: Ints  # 1 when created inside the range
    root_created: Ints
    root_sharer: Ints
    root_channel: Ints  # an index into ``Log.channels``
    root_campaign: Ints  # an index into ``Log.campaigns``, -1 for none
    root_target: Ints  # a product id, -1 for other targets (the shop, a group ...)


@dataclass
class Visits:
    share: Ints
    visitor: Ints  # a dense visitor number (a customer or an anonymous device)
    created: Ints
    new: Ints  # 1 when this is the visitor's first visit in the shop ever, made before any paid order


@dataclass
class Orders:
    """Every order of the shop paid in the range (attributed or not)."""

    share: Ints  # -1 when no share brought it
    customer: Ints
    gmv_fen: Ints  # paid minus refunded
    paid: Ints
    referred: Ints  # 1 when fission attributed it to a share or a promoter


@dataclass
class Log:
    lo: int  # the range [lo, hi), microseconds
    hi: int
    shares: Shares
    visits: Visits
    orders: Orders
    channels: list[str] = field(default_factory=list)
    campaigns: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)  # index lookups computed once per log

    @property
    def events(self) -> int:
        return int(self.shares.id.size + self.visits.share.size + self.orders.share.size)
