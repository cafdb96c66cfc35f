"""A synthetic fission log generated in memory as NumPy arrays, for ``liebian bench analytics``.

Its shape follows what fission records look like: about 30% shares, 62% visits, 8% orders; sharer and
visitor activity heavy-tailed (a power law, so a few people share a lot); 45% of shares are roots and a
re-share hangs under a recent share, which makes most cascades a single share or a shallow tree and a few
deep ones; visits and orders hang off shares, orders off visits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from liebian.analytics.log import Log, Orders, Shares, Visits
from liebian.fission.rules import Channel

Ints = npt.NDArray[np.int64]
SECOND = 1_000_000
DAY = 86_400 * SECOND
CAMPAIGNS = [f"campaign-{i}" for i in range(20)]


@njit(cache=True)
def _roots_and_depths(parent: Any) -> Any:  # pragma: no cover - compiled
    root = np.arange(parent.size)
    depth = np.zeros(parent.size, np.int64)
    for i in range(parent.size):
        p = parent[i]
        if p >= 0:
            root[i] = root[p]
            depth[i] = depth[p] + 1
    return root, depth


def _heavy_tailed(rng: np.random.Generator, people: int, draws: int, power: float) -> Ints:
    """``draws`` picks among ``people`` following a power law: person ``x`` (from 0) is picked with density
    ∝ x^(1/power − 1), so the top 1% take 0.01^(1/power) of all picks (a third for power 4). Inverse-CDF
    sampling: one pass, no search over cumulative weights."""
    chosen: Ints = np.minimum((people * rng.random(draws) ** power).astype(np.int64), people - 1)
    return chosen


def _shares(rng: np.random.Generator, count: int, days: int) -> Shares:
    created = np.sort(rng.integers(0, days * DAY, count)).astype(np.int64)
    index = np.arange(count, dtype=np.int64)
    parent = index - 1 - rng.integers(0, 2000, count)
    parent[(rng.random(count) < 0.45) | (parent < 0)] = -1
    root, depth = _roots_and_depths(parent)
    sharer = _heavy_tailed(rng, max(1, count // 4), count, 4.0)
    is_root = parent < 0
    sharer[is_root & (rng.random(count) < 0.05)] = -1  # the shop's own codes (campaign landings)
    channel = rng.choice(len(Channel), count, p=_channel_weights()).astype(np.int64)
    campaign = np.where(sharer < 0, rng.integers(0, len(CAMPAIGNS), count), -1).astype(np.int64)
    target = _heavy_tailed(rng, 2000, count, 3.0) + 1
    parent_sharer = np.where(parent >= 0, sharer[np.maximum(parent, 0)], -1)
    return Shares(id=index, parent=parent, root=root, depth=depth, sharer=sharer, parent_sharer=parent_sharer,
                  created=created, in_range=np.ones(count, np.int64), root_created=created[root],
                  root_sharer=sharer[root], root_channel=channel[root], root_campaign=campaign[root],
                  root_target=target[root])


def _channel_weights() -> Ints:
    weights = np.array([40, 20, 15, 8, 4, 5, 3, 2, 2, 1], np.float64)[:len(Channel)]
    return weights / weights.sum()  # type: ignore[no-any-return]


def generate(events: int, *, seed: int = 1, days: int = 30) -> Log:
    rng = np.random.default_rng(seed)
    n_shares = max(1, events * 30 // 100)
    n_visits = max(1, events * 62 // 100)
    n_orders = max(1, events - n_shares - n_visits)
    shares = _shares(rng, n_shares, days)
    hi = days * DAY
    share = rng.integers(0, n_shares, n_visits).astype(np.int64)
    visitor = _heavy_tailed(rng, max(1, n_visits // 3), n_visits, 2.0)
    seen = np.minimum(shares.created[share] + rng.exponential(2 * 3600 * SECOND, n_visits).astype(np.int64), hi - 1)
    by_time = np.argsort(seen, kind="stable")  # the fact table is read in time order, as the database returns it
    share, visitor, seen = share[by_time], visitor[by_time], seen[by_time]
    visits = Visits(share=share, visitor=visitor, created=seen,
                    new=(rng.random(n_visits) < 0.3).astype(np.int64))
    through = rng.integers(0, n_visits, n_orders)
    referred = rng.random(n_orders) < 0.85
    orders = Orders(
        share=np.where(referred, share[through], -1).astype(np.int64),
        customer=np.where(referred, visitor[through], rng.integers(0, max(1, n_visits // 3), n_orders)),
        gmv_fen=np.round(rng.lognormal(np.log(8000), 1.0, n_orders)).astype(np.int64),
        paid=np.minimum(seen[through] + rng.exponential(3600 * SECOND, n_orders).astype(np.int64), hi - 1),
        referred=referred.astype(np.int64))
    by_time = np.argsort(orders.paid, kind="stable")
    orders = Orders(share=orders.share[by_time], customer=orders.customer[by_time], gmv_fen=orders.gmv_fen[by_time],
                    paid=orders.paid[by_time], referred=orders.referred[by_time])
    return Log(lo=0, hi=hi, shares=shares, visits=visits, orders=orders, channels=[c.value for c in Channel],
               campaigns=list(CAMPAIGNS))
